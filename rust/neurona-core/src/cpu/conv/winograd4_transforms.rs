//! The tile transforms of Winograd's F(4x4, 3x3) on chunks of tiles.
//!
//! A 4x4 output tile of a 3x3 correlation is `Y = A^T [(G g G^T) . (B^T d B)] A` for its 6x6
//! input tile `d` (tiles step by 4), with (Lavin & Gray, points 0, +-1, +-2)
//!
//! ```text
//! B^T = [4  0 -5  0 1 0]    G = [ 1/4     0    0 ]    A^T = [1 1  1 1  1 0]
//!       [0 -4 -4  1 1 0]        [-1/6 -1/6 -1/6 ]          [0 1 -1 2 -2 0]
//!       [0  4 -4 -1 1 0]        [-1/6  1/6 -1/6 ]          [0 1  1 4  4 0]
//!       [0 -2 -1  2 1 0]        [1/24 1/12  1/6 ]          [0 1 -1 8 -8 1]
//!       [0  2 -1 -2 1 0]        [1/24 -1/12 1/6 ]
//!       [0  4  0 -5 0 1]        [ 0     0    1  ]
//! ```
//!
//! and a tile's share of the weight gradient is `G^T [(A dY A^T) . (B^T d B)] G`.
//!
//! Transformed data lives in 36 planes (position `xi = 6 * i + j`), each a `channels x n`
//! matrix whose columns are the chunk's tiles, tile row after tile row (column `rr * tw + t`).
//! The input and output transforms work on groups of 8 consecutive tiles of one tile row
//! through `lanes.rs`, as F(2x2)'s do: each of a group's six input rows is loaded as two
//! 16-value windows (zero outside the plane) and split into its four column phases, and output
//! rows are interleaved back from them; a chunk's rows are `row_stride` apart, for a row's last
//! group may run (input) or read (output) up to 7 columns past it.
//! The gradient transform first gathers the tile elements it needs into arrays over
//! the columns, then runs its arithmetic as long loops over all columns (which vectorise even
//! when rows are only a few tiles wide). Multiplies by constants and adds are never fused by
//! Rust, so the plain and the AVX2 builds of these loops give bitwise the same results.

use std::mem::MaybeUninit;

use super::lanes::{store_first16, window16, F32x8, Window};
use super::winograd4_pairs as pairs;
use super::winograd_weights::Lanes;

/// Where the chunk's tile rows live: `nr` rows of `tw` tiles; `row(rr)` gives the offset of tile
/// row `rr`'s plane and its tile-row index.
#[derive(Clone, Copy)]
pub(crate) struct Chunk {
    pub nr: usize,
    pub tw: usize,
}

impl Chunk {
    pub fn cols(&self) -> usize {
        self.nr * self.tw
    }
}

/// Scratch floats the transforms need for chunks of up to `n` columns.
pub(crate) fn scratch_len(n: usize) -> usize {
    28 * n + 8
}

/// `A` (6x4) applied to four values.
#[inline(always)]
fn a(y: [f32; 4]) -> [f32; 6] {
    let [y0, y1, y2, y3] = y;
    let (s02, s13) = (y0 + y2, y1 + y3);
    let (q02, q13) = (y0 + 4.0 * y2, 2.0 * y1 + 8.0 * y3);
    [y0, s02 + s13, s02 - s13, q02 + q13, q02 - q13, y3]
}

/// `g[j][t] = src[4 t + j]` for `t < g[0].len()` (all four the same length): a 4x4 transpose
/// per group of four tiles (fixed sizes, so the compiler emits shuffles), then tile by tile.
#[inline(always)]
fn gather4(src: &[f32], [g0, g1, g2, g3]: [&mut [f32]; 4]) {
    let count = g0.len().min(src.len() / 4);
    let (g1, g2, g3) = (&mut g1[..count], &mut g2[..count], &mut g3[..count]);
    let blocks = count / 4;
    for b in 0..blocks {
        let s: &[f32; 16] = src[16 * b..16 * b + 16].try_into().expect("16 floats");
        let r = 4 * b..4 * b + 4;
        let o: [&mut [f32; 4]; 4] = [
            (&mut g0[r.clone()]).try_into().expect("4"),
            (&mut g1[r.clone()]).try_into().expect("4"),
            (&mut g2[r.clone()]).try_into().expect("4"),
            (&mut g3[r]).try_into().expect("4"),
        ];
        for (j, oj) in o.into_iter().enumerate() {
            *oj = [s[j], s[4 + j], s[8 + j], s[12 + j]];
        }
    }
    for t in 4 * blocks..count {
        let s: &[f32; 4] = src[4 * t..4 * t + 4].try_into().expect("4 floats");
        (g0[t], g1[t], g2[t], g3[t]) = (s[0], s[1], s[2], s[3]);
    }
}

/// Splits `buf` into `K` consecutive arrays of `n` floats.
#[inline(always)]
fn arrays<const K: usize>(buf: &mut [f32], n: usize) -> [&mut [f32]; K] {
    let mut it = buf[..K * n].chunks_exact_mut(n);
    std::array::from_fn(|_| it.next().expect("K arrays"))
}

/// `B^T` applied to six vectors (lane-wise the same operations, in the same order, as `bt`).
#[inline(always)]
pub(crate) fn bt_lanes<S: F32x8>(d: [S; 6]) -> [S; 6] {
    let [d0, d1, d2, d3, d4, d5] = d;
    let (two, four, five) = (S::splat(2.0), S::splat(4.0), S::splat(5.0));
    let (t1, t2) = (d4.sub(four.mul(d2)), d3.sub(four.mul(d1)));
    let (t3, t4) = (d4.sub(d2), two.mul(d3.sub(d1)));
    [
        four.mul(d0).sub(five.mul(d2)).add(d4),
        t1.add(t2),
        t1.sub(t2),
        t3.add(t4),
        t3.sub(t4),
        four.mul(d1).sub(five.mul(d3)).add(d5),
    ]
}

/// Columns `4 t + j` (`j < phases`) of a padded input row for the 8 tiles `t` of a group, from
/// 32 values of `x` at `start` (two windows, zero outside the row): `g[j]` holds phase `j`.
#[inline(always)]
fn phases<S: F32x8>(x: &[f32], start: isize, (w0, w1): (&Window<S>, &Window<S>)) -> [S; 4] {
    let (a, b) = window16::<S>(x, start, w0);
    let (c, d) = window16::<S>(x, start + 16, w1);
    // Even / odd columns, then even / odd of those: phases (0, 2) and (1, 3).
    let (eab, oab) = S::split(a, b);
    let (ecd, ocd) = S::split(c, d);
    let (g0, g2) = S::split(eab, ecd);
    let (g1, g3) = S::split(oab, ocd);
    [g0, g1, g2, g3]
}

/// Input transform `B^T d B` of one channel for a chunk, 8 tiles of a tile row at a time:
/// `row(rr)` gives the offset in `x` of tile row `rr`'s plane (`h x w`, padded by `pad`
/// zeros) and its tile-row index. Writes `v[base + xi * plane + col]` for the chunk's columns
/// (and junk up to 7 columns past them: `row_stride` leaves room).
///
/// Groups run last to first, so a row's last group, which may spill into the next row's
/// first columns, is overwritten by it.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn input_transform_rows<S: F32x8>(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    cc: Chunk,
    row: impl Fn(usize) -> (usize, usize),
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    for t0 in (0..cc.tw).step_by(8).rev() {
        // Padded column 4 t of tile t is input column 4 t - pad_w.
        let s = (4 * t0) as isize - pad_w as isize;
        let (w0, w1) = (
            Window::<S>::over_row(s, w),
            Window::<S>::over_row(s + 16, w),
        );
        let (w4, w5) = (Window::<S>::over_row(s + 4, w), Window::over_row(s + 20, w));
        // Consecutive tile rows of a plane share two input rows: the last two of one are the
        // first two of the next, transformed once.
        let mut next = (usize::MAX, usize::MAX);
        let mut shared = [[S::zero(); 6]; 2];
        for rr in 0..cc.nr {
            let (x0, ty) = row(rr);
            // B^T across each of the six rows: hh[i][j].
            let mut hh = [[S::zero(); 6]; 6];
            let first = if (x0, ty) == next {
                (hh[0], hh[1]) = (shared[0], shared[1]);
                2
            } else {
                0
            };
            for (i, hi) in hh.iter_mut().enumerate().skip(first) {
                let pr = 4 * ty + i;
                if pr < pad_h || pr - pad_h >= h {
                    continue;
                }
                let start = (x0 + (pr - pad_h) * w) as isize + s;
                let [g0, g1, g2, g3] = phases(x, start, (&w0, &w1));
                // Columns 4 t + 4 and 4 t + 5: phases 0 and 1 of the next tile.
                let [g4, g5, _, _] = phases(x, start + 4, (&w4, &w5));
                *hi = bt_lanes([g0, g1, g2, g3, g4, g5]);
            }
            shared = [hh[4], hh[5]];
            next = (x0, ty + 1);
            // B^T down each column j: position 6 k + j.
            let col = base + rr * cc.tw + t0;
            for j in 0..6 {
                let r = bt_lanes(std::array::from_fn(|i| hh[i][j]));
                for (k, val) in r.into_iter().enumerate() {
                    val.store(&mut v[col + (6 * k + j) * plane..]);
                }
            }
        }
    }
}

/// Input transform `B^T d B` of one channel for a chunk (see `input_transform_rows`); planes
/// four tiles wide go two tile rows per group (`winograd4_pairs`), with the same results.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn input_transform<S: F32x8>(
    x: &[f32],
    hw: (usize, usize),
    pad: (usize, usize),
    cc: Chunk,
    row: impl Fn(usize) -> (usize, usize),
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    if cc.tw == pairs::TILES {
        pairs::input_transform::<S>(x, hw, pad, cc, row, v, base, plane)
    } else {
        input_transform_rows::<S>(x, hw, pad, cc, row, v, base, plane)
    }
}

/// Output transform `A^T M A` + bias of one channel for a chunk (see `output_transform_rows`);
/// planes four tiles wide go two tile rows per group (`winograd4_pairs`), with the same results.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn output_transform<S: F32x8>(
    m: &[f32],
    base: usize,
    plane: usize,
    cc: Chunk,
    ohw: (usize, usize),
    bias: f32,
    out: &mut [MaybeUninit<f32>],
    out_row: impl Fn(usize) -> (usize, usize),
) {
    if cc.tw == pairs::TILES {
        pairs::output_transform::<S>(m, base, plane, cc, ohw, bias, out, out_row)
    } else {
        output_transform_rows::<S>(m, base, plane, cc, ohw, bias, out, out_row)
    }
}

/// `A^T` applied to six vectors (lane-wise the same operations, in the same order, as `at`).
#[inline(always)]
pub(crate) fn at_lanes<S: F32x8>(m: [S; 6]) -> [S; 4] {
    let [m0, m1, m2, m3, m4, m5] = m;
    let (s12, d12, s34, d34) = (m1.add(m2), m1.sub(m2), m3.add(m4), m3.sub(m4));
    let (two, four, eight) = (S::splat(2.0), S::splat(4.0), S::splat(8.0));
    [
        m0.add(s12).add(s34),
        d12.add(two.mul(d34)),
        s12.add(four.mul(s34)),
        d12.add(eight.mul(d34)).add(m5),
    ]
}

/// Output transform `A^T M A` + bias of one channel for a chunk, 8 tiles of a tile row at a
/// time: reads `m[base + xi * plane + col]` (and, harmlessly, up to 7 columns past the chunk,
/// which `row_stride` leaves room for); `out_row(rr)` gives the offset of tile row `rr`'s
/// output plane (`oh x ow`) and its tile-row index. Writes only inside the plane's rows.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn output_transform_rows<S: F32x8>(
    m: &[f32],
    base: usize,
    plane: usize,
    cc: Chunk,
    (oh, ow): (usize, usize),
    bias: f32,
    out: &mut [MaybeUninit<f32>],
    out_row: impl Fn(usize) -> (usize, usize),
) {
    let b = S::splat(bias);
    for rr in 0..cc.nr {
        let (o0, ty) = out_row(rr);
        for t0 in (0..cc.tw).step_by(8) {
            let col = base + rr * cc.tw + t0;
            // A^T across each row i: hh[i][q].
            let hh: [[S; 4]; 6] = std::array::from_fn(|i| {
                at_lanes(std::array::from_fn(|j| {
                    S::load(&m[col + (6 * i + j) * plane..])
                }))
            });
            let valid = (ow - 4 * t0).min(32);
            // A^T down each column q, then the bias: rows[p][q].
            let cols: [[S; 4]; 4] =
                std::array::from_fn(|q| at_lanes(std::array::from_fn(|i| hh[i][q])));
            let rows: [[S; 4]; 4] = std::array::from_fn(|p| std::array::from_fn(|q| cols[q][p]));
            for (p, row) in rows.into_iter().enumerate() {
                let y = 4 * ty + p;
                if y >= oh {
                    break;
                }
                let [y0, y1, y2, y3] = row.map(|v| v.add(b));
                // Interleave the four phases back into 32 consecutive columns.
                let (a, bb) = S::zip(y0, y2);
                let (c, d) = S::zip(y1, y3);
                let (v0, v1) = S::zip(a, c);
                let (v2, v3) = S::zip(bb, d);
                let dst = &mut out[o0 + y * ow + 4 * t0..o0 + y * ow + 4 * t0 + valid];
                let (first, second) = dst.split_at_mut(valid.min(16));
                store_first16(first, v0, v1);
                store_first16(second, v2, v3);
            }
        }
    }
}

/// Output-gradient transform `A dY A^T` of one channel for a chunk (`dY` zero past the plane's
/// `oh x ow` edges): writes `d[base + xi * plane + col]` for the chunk's columns.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn grad_out_transform<S: F32x8>(
    dy: &[f32],
    (oh, ow): (usize, usize),
    cc: Chunk,
    dy_row: impl Fn(usize) -> (usize, usize),
    scratch: &mut [f32],
    d: &mut [f32],
    base: usize,
    plane: usize,
) {
    if cc.tw == pairs::TILES {
        return pairs::grad_out_transform::<S>(dy, (oh, ow), cc, dy_row, d, base, plane);
    }
    grad_out_transform_rows(dy, (oh, ow), cc, dy_row, scratch, d, base, plane)
}

/// `grad_out_transform` for any plane: gathers the tile elements into arrays over the
/// columns, then runs the arithmetic as long loops over them.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn grad_out_transform_rows(
    dy: &[f32],
    (oh, ow): (usize, usize),
    cc: Chunk,
    dy_row: impl Fn(usize) -> (usize, usize),
    scratch: &mut [f32],
    d: &mut [f32],
    base: usize,
    plane: usize,
) {
    let (n, tw) = (cc.cols(), cc.tw);
    let (gbuf, rest) = scratch.split_at_mut(4 * n);
    let hbuf = &mut rest[..24 * n];
    let mut g = arrays::<4>(gbuf, n);
    let mut hh = arrays::<24>(hbuf, n);
    for p in 0..4 {
        for rr in 0..cc.nr {
            let (d0, ty) = dy_row(rr);
            let y = 4 * ty + p;
            let seg = rr * tw..(rr + 1) * tw;
            if y >= oh {
                for gq in g.iter_mut() {
                    gq[seg.clone()].fill(0.0);
                }
                continue;
            }
            let drow = &dy[d0 + y * ow..d0 + (y + 1) * ow];
            // Whole tiles straight from the row, the last partial one through a zeroed copy.
            let whole = ow / 4;
            let [g0, g1, g2, g3] = &mut g;
            let (g0, g1, g2, g3) = (
                &mut g0[seg.clone()],
                &mut g1[seg.clone()],
                &mut g2[seg.clone()],
                &mut g3[seg],
            );
            gather4(&drow[..4 * whole], [&mut *g0, &mut *g1, &mut *g2, &mut *g3]);
            if whole < tw {
                let mut last = [0.0f32; 4];
                last[..ow - 4 * whole].copy_from_slice(&drow[4 * whole..]);
                for (gq, v) in [g0, g1, g2, g3].into_iter().zip(last) {
                    gq[whole] = v;
                }
            }
        }
        // A across row p: hh[6 p + k].
        let (g0, g1, g2, g3) = (&g[0][..n], &g[1][..n], &g[2][..n], &g[3][..n]);
        let [h0, h1, h2, h3, h4, h5] = &mut hh[6 * p..6 * p + 6] else {
            unreachable!()
        };
        let (h0, h1, h2, h3, h4, h5) = (
            &mut h0[..n],
            &mut h1[..n],
            &mut h2[..n],
            &mut h3[..n],
            &mut h4[..n],
            &mut h5[..n],
        );
        for t in 0..n {
            let r = a([g0[t], g1[t], g2[t], g3[t]]);
            h0[t] = r[0];
            h1[t] = r[1];
            h2[t] = r[2];
            h3[t] = r[3];
            h4[t] = r[4];
            h5[t] = r[5];
        }
    }
    // A down each column k: d[6 i + k] from hh[6 p + k], p = 0..4.
    for k in 0..6 {
        let hs: [&[f32]; 4] = std::array::from_fn(|p| &hh[6 * p + k][..n]);
        let outs: [&mut [f32]; 6] = {
            let mut it = d[base..].chunks_mut(plane);
            let mut all: [Option<&mut [f32]>; 36] = std::array::from_fn(|_| it.next());
            std::array::from_fn(|i| &mut all[6 * i + k].take().expect("36 planes")[..n])
        };
        for t in 0..n {
            let r = a([hs[0][t], hs[1][t], hs[2][t], hs[3][t]]);
            for i in 0..6 {
                outs[i][t] = r[i];
            }
        }
    }
}

/// Weight transform `G g G^T` of one 3x3 kernel (row-major) into 36 values (of one kernel, or
/// of eight side by side: see `winograd_weights`).
pub(crate) fn weight_tile<T: Lanes>(g: &[T]) -> [T; 36] {
    let expand = |a: T, b: T, c: T| {
        [
            a / 4.0,
            -(a + b + c) / 6.0,
            -(a - b + c) / 6.0,
            a / 24.0 + b / 12.0 + c / 6.0,
            a / 24.0 - b / 12.0 + c / 6.0,
            c,
        ]
    };
    let cols: [[T; 6]; 3] = std::array::from_fn(|j| expand(g[j], g[3 + j], g[6 + j]));
    let rows: [[T; 6]; 6] = std::array::from_fn(|i| expand(cols[0][i], cols[1][i], cols[2][i]));
    std::array::from_fn(|xi| rows[xi / 6][xi % 6])
}

/// Back from the transformed domain for gradients: `G^T s G` of 36 values into a 3x3 kernel.
pub(crate) fn weight_grad_tile(s: &[f32; 36]) -> [f32; 9] {
    // G^T applied to six values (the columns of G are the rows below).
    let reduce = |v: [f32; 6]| {
        [
            v[0] / 4.0 - (v[1] + v[2]) / 6.0 + (v[3] + v[4]) / 24.0,
            (v[2] - v[1]) / 6.0 + (v[3] - v[4]) / 12.0,
            -(v[1] + v[2]) / 6.0 + (v[3] + v[4]) / 6.0 + v[5],
        ]
    };
    let cols: [[f32; 3]; 6] =
        std::array::from_fn(|j| reduce(std::array::from_fn(|i| s[6 * i + j])));
    let mut g = [0.0f32; 9];
    for i in 0..3 {
        let r = reduce(std::array::from_fn(|j| cols[j][i]));
        g[3 * i..3 * i + 3].copy_from_slice(&r);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::{input_transform, output_transform, Chunk};
    use crate::cpu::conv::lanes::{F32x8, Portable};
    use crate::cpu::conv::winograd_transforms::row_stride;
    use std::mem::MaybeUninit;

    const BT: [[f64; 6]; 6] = [
        [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
        [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
        [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
        [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
        [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
        [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
    ];

    /// Rows several groups wide, narrow rows, odd sizes and every padding.
    const SHAPES: [(usize, usize, (usize, usize)); 5] = [
        (7, 45, (1, 1)),
        (14, 14, (1, 1)),
        (6, 36, (0, 0)),
        (5, 9, (2, 2)),
        (9, 40, (0, 2)),
    ];

    fn input(h: usize, w: usize) -> Vec<f32> {
        (0..2 * h * w)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
            .collect()
    }

    /// Input and output transforms on 2 planes (chunks spanning both): the valid columns of
    /// `v`, and the output of transforming `v` back (NaN where it was not written).
    fn run<S: F32x8>(h: usize, w: usize, pad: (usize, usize)) -> (Vec<f32>, Vec<f32>) {
        let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
        let (th, tw) = (oh.div_ceil(4), ow.div_ceil(4));
        let x = input(h, w);
        let cc = Chunk { nr: 2 * th, tw };
        let ld = row_stride(cc.cols());
        let loc = |rr: usize, len: usize| ((rr / th) * len, rr % th);
        let mut v = vec![f32::NAN; 36 * ld];
        input_transform::<S>(&x, (h, w), pad, cc, |rr| loc(rr, h * w), &mut v, 0, ld);
        let mut out = vec![MaybeUninit::new(f32::NAN); 2 * oh * ow];
        output_transform::<S>(&v, 0, ld, cc, (oh, ow), 0.25, &mut out, |rr| {
            loc(rr, oh * ow)
        });
        let n = cc.cols();
        let valid = v.chunks(ld).flat_map(|r| r[..n].to_vec()).collect();
        // SAFETY: initialised from the start.
        (
            valid,
            out.iter().map(|e| unsafe { e.assume_init() }).collect(),
        )
    }

    #[test]
    fn transforms_give_the_same_bits_portable_and_avx2() {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::conv::simd::has_avx2() {
            for (h, w, pad) in SHAPES {
                // SAFETY: the CPU has AVX2.
                let fast = unsafe { run_avx2(h, w, pad) };
                let slow = run::<Portable>(h, w, pad);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast.0), bits(&slow.0), "{h}x{w} input transform");
                assert_eq!(bits(&fast.1), bits(&slow.1), "{h}x{w} output transform");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(h: usize, w: usize, pad: (usize, usize)) -> (Vec<f32>, Vec<f32>) {
        run::<crate::cpu::conv::lanes::Avx2>(h, w, pad)
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn transforms_match_the_direct_formulas() {
        for (h, w, pad) in SHAPES {
            let (v, out) = run::<Portable>(h, w, pad);
            let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
            let (th, tw) = (oh.div_ceil(4), ow.div_ceil(4));
            let x = input(h, w);
            let px = |s: usize, r: isize, c: isize| -> f64 {
                if r < 0 || c < 0 || r >= h as isize || c >= w as isize {
                    0.0
                } else {
                    x[s * h * w + r as usize * w + c as usize] as f64
                }
            };
            let n = 2 * th * tw;
            for col in 0..n {
                let (s, ty, t) = (col / (th * tw), col % (th * tw) / tw, col % tw);
                for xi in 0..36 {
                    let (i, j) = (xi / 6, xi % 6);
                    let mut want = 0.0;
                    for a in 0..6 {
                        for b in 0..6 {
                            let r = (4 * ty + a) as isize - pad.0 as isize;
                            let c = (4 * t + b) as isize - pad.1 as isize;
                            want += BT[i][a] * px(s, r, c) * BT[j][b];
                        }
                    }
                    let got = v[xi * n + col] as f64;
                    assert!(
                        (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "{h}x{w} col {col} xi {xi}: {got} vs {want}"
                    );
                }
            }
            // Back through A^T (no product in between): A^T (B^T d B) A + 0.25 = P d P^T + 0.25
            // with P = A^T B^T, for the tile that holds each output.
            let at: [[f64; 6]; 4] = [
                [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
                [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
                [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
                [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
            ];
            let pm: [[f64; 6]; 4] = std::array::from_fn(|p| {
                std::array::from_fn(|a| (0..6).map(|i| at[p][i] * BT[i][a]).sum())
            });
            for (s, plane) in out.chunks(oh * ow).enumerate() {
                for (k, &got) in plane.iter().enumerate() {
                    let (y, c) = (k / ow, k % ow);
                    let (y0, c0) = ((y / 4 * 4) as isize, (c / 4 * 4) as isize);
                    let mut want = 0.25;
                    for a in 0..6 {
                        for b in 0..6 {
                            let r = y0 + a as isize - pad.0 as isize;
                            let cc = c0 + b as isize - pad.1 as isize;
                            want += pm[y % 4][a] * px(s, r, cc) * pm[c % 4][b];
                        }
                    }
                    assert!(
                        (got as f64 - want).abs() < 1e-3 * (1.0 + want.abs()),
                        "{h}x{w} out {s} {k}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
