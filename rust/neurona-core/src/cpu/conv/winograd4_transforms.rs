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
//! Every transform first gathers the tile elements it needs into arrays over the columns, then
//! runs its arithmetic as long loops over all columns (which vectorise even when rows are only a
//! few tiles wide). Multiplies by constants and adds are never fused by Rust, so the plain and the
//! AVX2 builds of these loops give bitwise the same results.

use std::mem::MaybeUninit;

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
    46 * n + 8
}

/// `B^T` applied to six values.
#[inline(always)]
fn bt(d: [f32; 6]) -> [f32; 6] {
    let [d0, d1, d2, d3, d4, d5] = d;
    let (t1, t2) = (d4 - 4.0 * d2, d3 - 4.0 * d1);
    let (t3, t4) = (d4 - d2, 2.0 * (d3 - d1));
    [
        (4.0 * d0 - 5.0 * d2) + d4,
        t1 + t2,
        t1 - t2,
        t3 + t4,
        t3 - t4,
        (4.0 * d1 - 5.0 * d3) + d5,
    ]
}

/// `A^T` applied to six values.
#[inline(always)]
fn at(m: [f32; 6]) -> [f32; 4] {
    let [m0, m1, m2, m3, m4, m5] = m;
    let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
    [
        (m0 + s12) + s34,
        d12 + 2.0 * d34,
        s12 + 4.0 * s34,
        (d12 + 8.0 * d34) + m5,
    ]
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

/// `g[j][t] = src[4 t + j]` for the first two phases only.
#[inline(always)]
fn gather2(src: &[f32], [g0, g1]: [&mut [f32]; 2]) {
    for ((s, a), b) in src.chunks_exact(4).zip(g0.iter_mut()).zip(g1.iter_mut()) {
        (*a, *b) = (s[0], s[1]);
    }
}

/// `dst[4 t + q] = ys[q][t]` while `dst` lasts (its length need not be a multiple of 4): 4x4
/// transposes per group of four tiles, then tile by tile.
#[inline(always)]
fn scatter4([y0, y1, y2, y3]: [&[f32]; 4], dst: &mut [MaybeUninit<f32>]) {
    let whole = dst.len() / 4;
    let blocks = whole / 4;
    for b in 0..blocks {
        let d: &mut [MaybeUninit<f32>; 16] =
            (&mut dst[16 * b..16 * b + 16]).try_into().expect("16");
        let r = 4 * b..4 * b + 4;
        let y: [&[f32; 4]; 4] = [
            y0[r.clone()].try_into().expect("4"),
            y1[r.clone()].try_into().expect("4"),
            y2[r.clone()].try_into().expect("4"),
            y3[r].try_into().expect("4"),
        ];
        for k in 0..4 {
            for q in 0..4 {
                d[4 * k + q].write(y[q][k]);
            }
        }
    }
    for t in 4 * blocks..whole {
        let d: &mut [MaybeUninit<f32>; 4] = (&mut dst[4 * t..4 * t + 4]).try_into().expect("4");
        *d = [y0[t], y1[t], y2[t], y3[t]].map(MaybeUninit::new);
    }
    for (q, o) in dst[4 * whole..].iter_mut().enumerate() {
        o.write([y0, y1, y2, y3][q][whole]);
    }
}

/// `prow[c] = src[c - pad]` where that is inside `src`, else 0. Rows are short (a dozen floats
/// on a 14-wide plane), so this copies in fixed blocks of 8 and element by element rather than
/// through `memcpy` / `memset` calls, whose per-call cost would exceed the copy.
#[inline(always)]
fn padded_row(src: &[f32], pad: usize, prow: &mut [f32]) {
    let pad = pad.min(prow.len());
    for p in &mut prow[..pad] {
        *p = 0.0;
    }
    let body = &mut prow[pad..];
    let k = src.len().min(body.len());
    let blocks = k / 8;
    for b in 0..blocks {
        let d: &mut [f32; 8] = (&mut body[8 * b..8 * b + 8]).try_into().expect("8");
        *d = src[8 * b..8 * b + 8].try_into().expect("8");
    }
    for (d, &v) in body[8 * blocks..k].iter_mut().zip(&src[8 * blocks..k]) {
        *d = v;
    }
    for d in &mut body[k..] {
        *d = 0.0;
    }
}

/// Splits `buf` into `K` consecutive arrays of `n` floats.
#[inline(always)]
fn arrays<const K: usize>(buf: &mut [f32], n: usize) -> [&mut [f32]; K] {
    let mut it = buf[..K * n].chunks_exact_mut(n);
    std::array::from_fn(|_| it.next().expect("K arrays"))
}

/// Input transform `B^T d B` of one channel for a chunk: the input planes are `h x w`, padded by
/// `pad` zeros. Writes `v[base + xi * plane + col]` for the chunk's `cc.cols()` columns.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn input_transform(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    cc: Chunk,
    row: impl Fn(usize) -> (usize, usize),
    scratch: &mut [f32],
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    let (n, tw) = (cc.cols(), cc.tw);
    let (gh, rest) = scratch.split_at_mut(42 * n);
    let (g, hbuf) = gh.split_at_mut(6 * n);
    let mut g = arrays::<6>(g, n);
    let mut hh = arrays::<36>(hbuf, n);
    // Tiles `lo..hi` read only columns inside the input row (through column 4 t + 7, the
    // group `gather2` reads), straight from `x`. When some tiles reach into the padding (every
    // tile of a narrow plane may), the row is first copied into `prow` with its zeros around
    // it and all tiles are gathered from there: a short copy instead of element-wise bounds
    // checks for most of the row.
    let lo = pad_w.div_ceil(4).min(tw);
    let hi = if w + pad_w >= 8 {
        ((w + pad_w - 8) / 4 + 1).clamp(lo, tw)
    } else {
        lo
    };
    let direct = lo == 0 && hi == tw;
    let prow = &mut rest[..4 * tw + 4];
    for i in 0..6 {
        // Gather row i of every tile: g[j][col] = padded row (4 ty + i), column 4 t + j.
        for rr in 0..cc.nr {
            let (x0, ty) = row(rr);
            let r = 4 * ty + i;
            let seg = rr * tw..(rr + 1) * tw;
            let [g0, g1, g2, g3, g4, g5] = &mut g;
            if r < pad_h || r - pad_h >= h {
                for gj in [g0, g1, g2, g3, g4, g5] {
                    gj[seg.clone()].fill(0.0);
                }
                continue;
            }
            let src = &x[x0 + (r - pad_h) * w..x0 + (r - pad_h + 1) * w];
            let s: &[f32] = if direct {
                src
            } else {
                padded_row(src, pad_w, prow);
                prow
            };
            gather4(
                s,
                [
                    &mut g0[seg.clone()],
                    &mut g1[seg.clone()],
                    &mut g2[seg.clone()],
                    &mut g3[seg.clone()],
                ],
            );
            // Columns 4 t + 4 and 4 t + 5 are phases 0 and 1 of the next tile.
            gather2(&s[4..], [&mut g4[seg.clone()], &mut g5[seg]]);
        }
        // B^T across the row.
        let (g0, g1, g2, g3, g4, g5) = (
            &g[0][..n],
            &g[1][..n],
            &g[2][..n],
            &g[3][..n],
            &g[4][..n],
            &g[5][..n],
        );
        let [h0, h1, h2, h3, h4, h5] = &mut hh[6 * i..6 * i + 6] else {
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
            let r = bt([g0[t], g1[t], g2[t], g3[t], g4[t], g5[t]]);
            h0[t] = r[0];
            h1[t] = r[1];
            h2[t] = r[2];
            h3[t] = r[3];
            h4[t] = r[4];
            h5[t] = r[5];
        }
    }
    // B^T down each column j of the tile: v[6 k + j] from hh[6 i + j], i = 0..6.
    for j in 0..6 {
        let hs: [&[f32]; 6] = std::array::from_fn(|i| &hh[6 * i + j][..n]);
        let outs: [&mut [f32]; 6] = {
            let mut it = v[base..].chunks_mut(plane);
            let mut all: [Option<&mut [f32]>; 36] = std::array::from_fn(|_| it.next());
            std::array::from_fn(|k| &mut all[6 * k + j].take().expect("36 planes")[..n])
        };
        for t in 0..n {
            let r = bt([hs[0][t], hs[1][t], hs[2][t], hs[3][t], hs[4][t], hs[5][t]]);
            for k in 0..6 {
                outs[k][t] = r[k];
            }
        }
    }
}

/// Output transform `A^T M A` + bias of one channel for a chunk: reads
/// `m[base + xi * plane + col]`; `out_row(rr)` gives the offset of tile row `rr`'s output plane
/// (`oh x ow`) and its tile-row index.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn output_transform(
    m: &[f32],
    base: usize,
    plane: usize,
    cc: Chunk,
    (oh, ow): (usize, usize),
    bias: f32,
    scratch: &mut [f32],
    out: &mut [MaybeUninit<f32>],
    out_row: impl Fn(usize) -> (usize, usize),
) {
    let (n, tw) = (cc.cols(), cc.tw);
    let (hbuf, rest) = scratch.split_at_mut(24 * n);
    let ybuf = &mut rest[..16 * n];
    let mut hh = arrays::<24>(hbuf, n);
    let mut yy = arrays::<16>(ybuf, n);
    // A^T across each row i: hh[4 i + q] from m[6 i + j].
    for i in 0..6 {
        let ms: [&[f32]; 6] =
            std::array::from_fn(|j| &m[base + (6 * i + j) * plane..base + (6 * i + j) * plane + n]);
        let [h0, h1, h2, h3] = &mut hh[4 * i..4 * i + 4] else {
            unreachable!()
        };
        let (h0, h1, h2, h3) = (&mut h0[..n], &mut h1[..n], &mut h2[..n], &mut h3[..n]);
        for t in 0..n {
            let r = at([ms[0][t], ms[1][t], ms[2][t], ms[3][t], ms[4][t], ms[5][t]]);
            h0[t] = r[0];
            h1[t] = r[1];
            h2[t] = r[2];
            h3[t] = r[3];
        }
    }
    // A^T down each column q, then the bias: yy[4 p + q].
    for q in 0..4 {
        let hs: [&[f32]; 6] = std::array::from_fn(|i| &hh[4 * i + q][..n]);
        let [y0, y1, y2, y3] = {
            let mut all: [Option<&mut [f32]>; 16] = {
                let mut it = yy.iter_mut();
                std::array::from_fn(|_| it.next().map(|s| &mut **s))
            };
            std::array::from_fn(|p| &mut all[4 * p + q].take().expect("16 arrays")[..n])
        };
        for t in 0..n {
            let r = at([hs[0][t], hs[1][t], hs[2][t], hs[3][t], hs[4][t], hs[5][t]]);
            y0[t] = r[0] + bias;
            y1[t] = r[1] + bias;
            y2[t] = r[2] + bias;
            y3[t] = r[3] + bias;
        }
    }
    // Scatter: output (4 ty + p, 4 t + q) = yy[4 p + q][rr * tw + t], inside the plane only.
    for rr in 0..cc.nr {
        let (o0, ty) = out_row(rr);
        for p in 0..4 {
            let y = 4 * ty + p;
            if y >= oh {
                break;
            }
            let orow = &mut out[o0 + y * ow..o0 + (y + 1) * ow];
            let ys: [&[f32]; 4] = std::array::from_fn(|q| &yy[4 * p + q][rr * tw..(rr + 1) * tw]);
            scatter4(ys, orow);
        }
    }
}

/// Output-gradient transform `A dY A^T` of one channel for a chunk (`dY` zero past the plane's
/// `oh x ow` edges): writes `d[base + xi * plane + col]` for the chunk's columns.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn grad_out_transform(
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

/// Weight transform `G g G^T` of one 3x3 kernel (row-major) into 36 values.
pub(crate) fn weight_tile(g: &[f32]) -> [f32; 36] {
    let expand = |a: f32, b: f32, c: f32| {
        [
            a / 4.0,
            -(a + b + c) / 6.0,
            -(a - b + c) / 6.0,
            a / 24.0 + b / 12.0 + c / 6.0,
            a / 24.0 - b / 12.0 + c / 6.0,
            c,
        ]
    };
    let cols: [[f32; 6]; 3] = std::array::from_fn(|j| expand(g[j], g[3 + j], g[6 + j]));
    let mut u = [0.0f32; 36];
    for i in 0..6 {
        let r = expand(cols[0][i], cols[1][i], cols[2][i]);
        u[6 * i..6 * i + 6].copy_from_slice(&r);
    }
    u
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
