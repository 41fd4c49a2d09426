//! The tile transforms of Winograd's F(2x2, 3x3) on chunks of tile rows, 8 tiles at a time.
//!
//! With `B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]`, `G = [[1,0,0],[.5,.5,.5],
//! [.5,-.5,.5],[0,0,1]]` and `A^T = [[1,1,1,0],[0,1,-1,-1]]`, a 2x2 output tile of a 3x3
//! correlation is `Y = A^T [(G g G^T) . (B^T d B)] A` for its 4x4 input tile `d` (tiles step by
//! 2), and the tile's share of the weight gradient is `G^T [(A dY A^T) . (B^T d B)] G`.
//!
//! Transformed data lives in 16 planes (position `xi = 4 * i + j` of the 4x4 tile), each a
//! `channels x cols` matrix (row stride `ld`) whose columns are tiles, so the 16 products are
//! GEMMs. A chunk of `nr` tile rows of `tw` tiles uses `nr * tw` columns, tile `t` of row `rr`
//! in column `rr * tw + t`: no column is wasted, however narrow the rows.
//!
//! Every transform works on groups of 8 consecutive tiles of one tile row: the input rows a
//! group covers are loaded as short windows (zero outside the plane), split into even and odd
//! columns, and combined lane-wise, so each group is a few dozen 8-wide vector operations. A
//! row's last group may run past the row: its extra lanes land in the next row's columns (which
//! are written later) or in up to `LANES - 1` columns past the chunk, which `row_stride`
//! leaves room for. Output rows are stored 16 values at a time the same way, never past the
//! end of their plane. Only additions and subtractions (no fused multiply-adds), so the
//! portable and AVX2 builds of these loops give the same bits.

use std::mem::MaybeUninit;

use super::lanes::{store_first16, window16, F32x8, Window};
use super::winograd_weights::Lanes;

/// Tiles per group (one AVX2 vector of floats).
const LANES: usize = 8;

/// `nr` tile rows of `tw` tiles: the column layout of one chunk.
#[derive(Clone, Copy)]
pub(crate) struct ChunkCols {
    pub nr: usize,
    pub tw: usize,
}

impl ChunkCols {
    pub fn cols(&self) -> usize {
        self.nr * self.tw
    }
}

/// Row stride of transformed buffers for chunks of up to `cols` columns: room for the
/// `LANES - 1` columns a transform may write (and the output transform read) past the chunk,
/// and for rounding the weight gradient's dot products up to whole vectors.
pub(crate) fn row_stride(cols: usize) -> usize {
    (cols + LANES).next_multiple_of(LANES)
}

/// The lanes of a 16-value window starting `s` columns into a row of `w` that hold row values.
#[inline(always)]
pub(crate) fn valid_lanes(s: isize, w: usize) -> (usize, usize) {
    let lo = (-s).max(0) as usize;
    let hi = (w as isize - s).clamp(0, 16) as usize;
    (lo.min(hi), hi)
}

/// Writes `vals[xi]` to `buf[base + xi * plane + col ..][..LANES]`.
#[inline(always)]
fn store16<S: F32x8>(buf: &mut [f32], base: usize, plane: usize, col: usize, vals: [S; 16]) {
    for (xi, val) in vals.into_iter().enumerate() {
        val.store(&mut buf[base + xi * plane + col..]);
    }
}

/// The even and odd columns of padded input row `pr` for a group: (e, o) from a window at
/// column `s`, the next tile's (e1, o1) from one at `s + 2`; zero outside the plane.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn input_row<S: F32x8>(
    x: &[f32],
    x0: usize,
    pr: usize,
    (h, w): (usize, usize),
    pad_h: usize,
    s: isize,
    (w0, w1): (&Window<S>, &Window<S>),
) -> [S; 4] {
    if pr < pad_h || pr - pad_h >= h {
        return [S::zero(); 4];
    }
    let start = (x0 + (pr - pad_h) * w) as isize + s;
    let (a, b) = window16::<S>(x, start, w0);
    let (e, o) = S::split(a, b);
    let (a, b) = window16::<S>(x, start + 2, w1);
    let (e1, o1) = S::split(a, b);
    [e, o, e1, o1]
}

/// Input transform `B^T d B` of one channel for a chunk: `row(rr)` gives the offset in `x` of
/// tile row `rr`'s plane (`h x w`, padded by `pad` zeros) and its tile-row index. Writes
/// `v[base + xi * plane + col]` for the chunk's columns (and junk up to `LANES - 1` past them).
///
/// Groups run last to first, so a row's last group, which may spill into the next row's
/// first group, is overwritten by it. Consecutive tile rows share two input rows, which are
/// loaded once.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn input_transform<S: F32x8>(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    cc: ChunkCols,
    row: impl Fn(usize) -> (usize, usize),
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    for t0 in (0..cc.tw).step_by(LANES).rev() {
        // Padded column 2t of tile t is input column 2t - pad_w.
        let s = (2 * t0) as isize - pad_w as isize;
        let (w0, w1) = (Window::<S>::over_row(s, w), Window::<S>::over_row(s + 2, w));
        let wins = (&w0, &w1);
        let mut next = (usize::MAX, usize::MAX);
        let (mut d2, mut d3) = ([S::zero(); 4], [S::zero(); 4]);
        for rr in 0..cc.nr {
            let (x0, ty) = row(rr);
            let (d0, d1) = if (x0, ty) == next {
                (d2, d3)
            } else {
                (
                    input_row(x, x0, 2 * ty, (h, w), pad_h, s, wins),
                    input_row(x, x0, 2 * ty + 1, (h, w), pad_h, s, wins),
                )
            };
            d2 = input_row(x, x0, 2 * ty + 2, (h, w), pad_h, s, wins);
            d3 = input_row(x, x0, 2 * ty + 3, (h, w), pad_h, s, wins);
            next = (x0, ty + 1);
            // B^T down each of the four column kinds (e, o, e1, o1): (d0 - d2, d1 + d2,
            // d2 - d1, d1 - d3); then B across: tile t reads columns (e[t], o[t], e[t+1],
            // o[t+1]). (Loops, not closures: closures would not inherit the caller's target
            // features.)
            let mut vals = [S::zero(); 16];
            for i in 0..4 {
                let mut k = [S::zero(); 4];
                for (c, kc) in k.iter_mut().enumerate() {
                    *kc = match i {
                        0 => d0[c].sub(d2[c]),
                        1 => d1[c].add(d2[c]),
                        2 => d2[c].sub(d1[c]),
                        _ => d1[c].sub(d3[c]),
                    };
                }
                let [e, o, e1, o1] = k;
                vals[4 * i] = e.sub(e1);
                vals[4 * i + 1] = o.add(e1);
                vals[4 * i + 2] = e1.sub(o);
                vals[4 * i + 3] = o.sub(o1);
            }
            store16(v, base, plane, rr * cc.tw + t0, vals);
        }
    }
}

/// Output transform `A^T M A` + bias of one channel for a chunk; `out_row(rr)` gives the offset
/// in `out` of tile row `rr`'s output plane (`oh x ow`) and its tile-row index. Reads
/// `m[base + xi * plane + col]` (and, harmlessly, up to `LANES - 1` columns past the chunk).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn output_transform<S: F32x8>(
    m: &[f32],
    base: usize,
    plane: usize,
    cc: ChunkCols,
    (oh, ow): (usize, usize),
    bias: f32,
    out: &mut [MaybeUninit<f32>],
    out_row: impl Fn(usize) -> (usize, usize),
) {
    let one_group = cc.tw <= LANES;
    let b = S::splat(bias);
    for rr in 0..cc.nr {
        let (o0, ty) = out_row(rr);
        let dst = &mut out[o0..o0 + oh * ow];
        for t0 in (0..cc.tw).step_by(LANES) {
            let col = base + rr * cc.tw + t0;
            // A^T across each row i of the tile: h0 = m0 + m1 + m2, h1 = m1 - m2 - m3.
            let mut hh = [[S::zero(); 2]; 4];
            for (i, hi) in hh.iter_mut().enumerate() {
                let mut mm = [S::zero(); 4];
                for (j, v) in mm.iter_mut().enumerate() {
                    *v = S::load(&m[col + (4 * i + j) * plane..]);
                }
                let [m0, m1, m2, m3] = mm;
                *hi = [m0.add(m1).add(m2), m1.sub(m2).sub(m3)];
            }
            // A^T down: row 0 = h(0) + h(1) + h(2), row 1 = h(1) - h(2) - h(3), then the bias.
            let mut y = [[S::zero(); 2]; 2];
            for j in 0..2 {
                let (a, bb, c, d) = (hh[0][j], hh[1][j], hh[2][j], hh[3][j]);
                y[0][j] = a.add(bb).add(c).add(b);
                y[1][j] = bb.sub(c).sub(d).add(b);
            }
            let valid = (ow - 2 * t0).min(2 * LANES);
            for (r, [ya, yb]) in y.into_iter().enumerate() {
                let oy = 2 * ty + r;
                if oy >= oh {
                    continue;
                }
                let (lo, hi) = S::zip(ya, yb);
                let start = oy * ow + 2 * t0;
                // A full store that runs into the next row is fine while that row is stored
                // later, i.e. when rows have one group; never past the plane.
                if valid == 2 * LANES || (one_group && start + 2 * LANES <= dst.len()) {
                    lo.store_uninit(&mut dst[start..]);
                    hi.store_uninit(&mut dst[start + LANES..]);
                } else {
                    store_first16(&mut dst[start..start + valid], lo, hi);
                }
            }
        }
    }
}

/// Output-gradient transform `A dY A^T` of one channel for a chunk, where `A` maps a pair
/// (x0, x1) to (x0, x0 + x1, x0 - x1, -x1); `dy_row(rr)` gives the offset in `dy` of tile row
/// `rr`'s gradient plane (`oh x ow`, zero past its edges) and its tile-row index. Writes
/// `d[base + xi * plane + col]` for the chunk's columns (and zeros or junk up to `LANES - 1`
/// past them).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn grad_out_transform<S: F32x8>(
    dy: &[f32],
    (oh, ow): (usize, usize),
    cc: ChunkCols,
    dy_row: impl Fn(usize) -> (usize, usize),
    d: &mut [f32],
    base: usize,
    plane: usize,
) {
    for rr in 0..cc.nr {
        let (d0, ty) = dy_row(rr);
        for t0 in (0..cc.tw).step_by(LANES) {
            let s = 2 * t0;
            let win = Window::<S>::over_row(s as isize, ow);
            let mut eo = [[S::zero(); 2]; 2];
            for (q, pair) in eo.iter_mut().enumerate() {
                let r = 2 * ty + q;
                if r < oh {
                    let (a, b) = window16::<S>(dy, (d0 + r * ow + s) as isize, &win);
                    let (e, o) = S::split(a, b);
                    *pair = [e, o];
                }
            }
            let ([ea, oa], [eb, ob]) = (eo[0], eo[1]);
            // A down the rows gives, for the even and the odd column, (a, a + b, a - b, -b);
            // then A across each of those four rows: (e, o) -> (e, e + o, e - o, -o).
            let rows = [
                (ea, oa),
                (ea.add(eb), oa.add(ob)),
                (ea.sub(eb), oa.sub(ob)),
                (eb.neg(), ob.neg()),
            ];
            let mut vals = [S::zero(); 16];
            for (i, &(e, o)) in rows.iter().enumerate() {
                vals[4 * i] = e;
                vals[4 * i + 1] = e.add(o);
                vals[4 * i + 2] = e.sub(o);
                vals[4 * i + 3] = o.neg();
            }
            store16(d, base, plane, rr * cc.tw + t0, vals);
        }
    }
}

/// Weight transform `G g G^T` of one 3x3 kernel (row-major) into 16 values.
pub(crate) fn weight_tile<T: Lanes>(g: &[T]) -> [T; 16] {
    let expand = |a: T, b: T, c: T| [a, (a + b + c) * 0.5, (a - b + c) * 0.5, c];
    let cols: [[T; 4]; 3] = std::array::from_fn(|j| expand(g[j], g[3 + j], g[6 + j]));
    let rows: [[T; 4]; 4] = std::array::from_fn(|i| expand(cols[0][i], cols[1][i], cols[2][i]));
    std::array::from_fn(|xi| rows[xi / 4][xi % 4])
}

/// Back from the transformed domain for gradients: `G^T s G` of 16 values into a 3x3 kernel.
pub(crate) fn weight_grad_tile(s: &[f32; 16]) -> [f32; 9] {
    let reduce =
        |a: f32, b: f32, c: f32, d: f32| [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d];
    let cols: [[f32; 3]; 4] = std::array::from_fn(|j| reduce(s[j], s[4 + j], s[8 + j], s[12 + j]));
    let mut g = [0.0f32; 9];
    for i in 0..3 {
        let r = reduce(cols[0][i], cols[1][i], cols[2][i], cols[3][i]);
        g[3 * i..3 * i + 3].copy_from_slice(&r);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::{grad_out_transform, input_transform, output_transform, row_stride, ChunkCols};
    use crate::cpu::conv::lanes::{F32x8, Portable};

    /// The three transforms on 2 planes of `h x w` (rows wide enough for several groups, odd
    /// sizes, chunks that span both planes): (v, output, d).
    fn run<S: F32x8>(h: usize, w: usize, pad: (usize, usize)) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
        let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
        let x: Vec<f32> = (0..2 * h * w)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
            .collect();
        let dy: Vec<f32> = (0..2 * oh * ow)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.02)
            .collect();
        let cc = ChunkCols { nr: 2 * th, tw };
        let ld = row_stride(cc.cols());
        let loc = |rr: usize, len: usize| ((rr / th) * len, rr % th);
        let mut v = vec![0.0f32; 16 * ld];
        input_transform::<S>(&x, (h, w), pad, cc, |rr| loc(rr, h * w), &mut v, 0, ld);
        // NaN-filled: a NaN left in the output would be an element the transform skipped.
        let mut out = vec![std::mem::MaybeUninit::new(f32::NAN); 2 * oh * ow];
        output_transform::<S>(&v, 0, ld, cc, (oh, ow), 0.25, &mut out, |rr| {
            loc(rr, oh * ow)
        });
        // SAFETY: initialised from the start.
        let out: Vec<f32> = out.iter().map(|e| unsafe { e.assume_init() }).collect();
        assert!(
            out.iter().all(|v| !v.is_nan()),
            "{h}x{w}: output not fully written"
        );
        let mut d = vec![0.0f32; 16 * ld];
        grad_out_transform::<S>(&dy, (oh, ow), cc, |rr| loc(rr, oh * ow), &mut d, 0, ld);
        let n = cc.cols();
        let valid =
            |b: Vec<f32>| -> Vec<f32> { b.chunks(ld).flat_map(|r| r[..n].to_vec()).collect() };
        (valid(v), out, valid(d))
    }

    const SHAPES: [(usize, usize, (usize, usize)); 4] = [
        (7, 21, (1, 1)),
        (6, 36, (0, 0)),
        (5, 9, (2, 2)),
        (8, 40, (0, 2)),
    ];

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
                assert_eq!(bits(&fast.2), bits(&slow.2), "{h}x{w} gradient transform");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(h: usize, w: usize, pad: (usize, usize)) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        run::<crate::cpu::conv::lanes::Avx2>(h, w, pad)
    }

    #[test]
    fn input_transform_matches_the_direct_formula() {
        for (h, w, pad) in SHAPES {
            let (v, _, _) = run::<Portable>(h, w, pad);
            let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
            let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
            let x: Vec<f32> = (0..2 * h * w)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
                .collect();
            let px = |s: usize, r: isize, c: isize| -> f64 {
                if r < 0 || c < 0 || r >= h as isize || c >= w as isize {
                    0.0
                } else {
                    x[s * h * w + r as usize * w + c as usize] as f64
                }
            };
            let bt = [
                [1.0, 0.0, -1.0, 0.0],
                [0.0, 1.0, 1.0, 0.0],
                [0.0, -1.0, 1.0, 0.0],
                [0.0, 1.0, 0.0, -1.0],
            ];
            let n = 2 * th * tw;
            for col in 0..n {
                let (s, ty, t) = (col / (th * tw), col % (th * tw) / tw, col % tw);
                for xi in 0..16 {
                    let (i, j) = (xi / 4, xi % 4);
                    let mut want = 0.0;
                    for a in 0..4 {
                        for b in 0..4 {
                            let r = (2 * ty + a) as isize - pad.0 as isize;
                            let c = (2 * t + b) as isize - pad.1 as isize;
                            want += bt[i][a] * px(s, r, c) * bt[j][b];
                        }
                    }
                    let got = v[xi * n + col] as f64;
                    assert!(
                        (got - want).abs() < 1e-5,
                        "{h}x{w} col {col} xi {xi}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
