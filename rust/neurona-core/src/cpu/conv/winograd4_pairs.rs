//! F(4x4, 3x3) input and output transforms for planes exactly four tiles wide (13 to 16
//! output columns, e.g. 14x14): two tile rows per group of 8 lanes.
//!
//! The general transforms (`winograd4_transforms.rs`) put 8 tiles of one tile row in a group; on
//! a 4-tile row half of every vector operation is wasted, which made F(4x4) lose to F(2x2) on
//! 14x14 planes despite needing 27% fewer GEMM flops. Here lanes 0..4 hold tile row `rr` and
//! lanes 4..8 tile row `rr + 1`: in the chunk's column layout (`rr * 4 + t`) that is just 8
//! consecutive columns, so the GEMMs and the other transforms see the same data. Rows are loaded
//! per half (`halves`), their columns split into the four phases `4 t + j` by a 4x4 transpose in
//! each half, and the arithmetic is `bt_lanes` / `at_lanes`, lane for lane the same operations
//! as the general transforms, so both give the same bits.

use std::mem::MaybeUninit;

use super::lanes::{store_first16, window16, F32x8, Window};
use super::winograd4_transforms::{at_lanes, bt_lanes, Chunk};

/// Tiles per tile row these transforms take.
pub(crate) const TILES: usize = 4;

/// Windows at `s` and `s + 4` of padded input row `i` of tile row `r` (`None`, or a padding
/// row, reads as zeros).
#[inline(always)]
fn load_row<S: F32x8>(
    x: &[f32],
    r: Option<(usize, usize)>,
    i: usize,
    (h, w, pad_h): (usize, usize, usize),
    s: isize,
    (w0, w4): (&Window<S>, &Window<S>),
) -> [S; 4] {
    let Some((x0, ty)) = r else {
        return [S::zero(); 4];
    };
    let pr = TILES * ty + i;
    if pr < pad_h || pr - pad_h >= h {
        return [S::zero(); 4];
    }
    let start = (x0 + (pr - pad_h) * w) as isize + s;
    let (a, b) = window16::<S>(x, start, w0);
    let (c, d) = window16::<S>(x, start + 4, w4);
    [a, b, c, d]
}

/// Phases 0..4 (`p`) and 4..6 (`q`, the next tile's phases 0 and 1) of padded input row `i` of
/// two tile rows, one per half. (Helper functions and loops, not closures, throughout the
/// transforms: closures would not inherit the caller's target features.)
#[inline(always)]
fn row_phases<S: F32x8>(
    x: &[f32],
    rows: [Option<(usize, usize)>; 2],
    i: usize,
    geom: (usize, usize, usize),
    s: isize,
    wins: (&Window<S>, &Window<S>),
) -> [S; 6] {
    let [a0, a1, a4, a5] = load_row(x, rows[0], i, geom, s, wins);
    let [b0, b1, b4, b5] = load_row(x, rows[1], i, geom, s, wins);
    // Columns 0-3, 4-7, 8-11, 12-15 of both rows, then per half transposed into phases.
    let (c0, c1) = S::halves(a0, b0);
    let (c2, c3) = S::halves(a1, b1);
    let [p0, p1, p2, p3] = S::transpose4([c0, c1, c2, c3]);
    let (d0, d1) = S::halves(a4, b4);
    let (d2, d3) = S::halves(a5, b5);
    let [q0, q1, _, _] = S::transpose4([d0, d1, d2, d3]);
    [p0, p1, p2, p3, q0, q1]
}

/// Column `j` of six rows of six.
#[inline(always)]
fn column<S: F32x8, const N: usize>(rows: &[[S; N]; 6], j: usize) -> [S; 6] {
    [
        rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j],
    ]
}

/// `input_transform` for `cc.tw == TILES`: the same outputs (and, for an odd last row, junk
/// in the 4 columns past the chunk, which `row_stride` leaves room for).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn input_transform<S: F32x8>(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    cc: Chunk,
    row: impl Fn(usize) -> (usize, usize),
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    debug_assert_eq!(cc.tw, TILES);
    let s = -(pad_w as isize);
    let (w0, w4) = (Window::<S>::over_row(s, w), Window::<S>::over_row(s + 4, w));
    for rr in (0..cc.nr).step_by(2) {
        let next = if rr + 1 < cc.nr {
            Some(row(rr + 1))
        } else {
            None
        };
        let rows = [Some(row(rr)), next];
        // B^T across each of the six rows, then down each column j: position 6 k + j.
        let (g, wins) = ((h, w, pad_h), (&w0, &w4));
        // (Arrays built element by element, not zeroed and then filled: the zeroing stayed
        // in as a `memset` call.)
        let hh = [
            bt_lanes(row_phases(x, rows, 0, g, s, wins)),
            bt_lanes(row_phases(x, rows, 1, g, s, wins)),
            bt_lanes(row_phases(x, rows, 2, g, s, wins)),
            bt_lanes(row_phases(x, rows, 3, g, s, wins)),
            bt_lanes(row_phases(x, rows, 4, g, s, wins)),
            bt_lanes(row_phases(x, rows, 5, g, s, wins)),
        ];
        let col = base + rr * TILES;
        for j in 0..6 {
            for (k, val) in bt_lanes(column(&hh, j)).into_iter().enumerate() {
                val.store(&mut v[col + (6 * k + j) * plane..]);
            }
        }
    }
}

/// Element `p` of each of the four `cols`, plus `b`.
#[inline(always)]
fn plus_bias<S: F32x8>(cols: &[[S; 4]; 4], p: usize, b: S) -> [S; 4] {
    [
        cols[0][p].add(b),
        cols[1][p].add(b),
        cols[2][p].add(b),
        cols[3][p].add(b),
    ]
}

/// Eight lanes from each of six planes: `m[at + j * plane..][..8]`.
#[inline(always)]
fn load6<S: F32x8>(m: &[f32], at: usize, plane: usize) -> [S; 6] {
    [
        S::load(&m[at..]),
        S::load(&m[at + plane..]),
        S::load(&m[at + 2 * plane..]),
        S::load(&m[at + 3 * plane..]),
        S::load(&m[at + 4 * plane..]),
        S::load(&m[at + 5 * plane..]),
    ]
}

/// `output_transform` for `cc.tw == TILES` (`ow` 13 to 16): the same outputs; reads the 4
/// columns past the chunk for an odd last row, writes nothing for it.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn output_transform<S: F32x8>(
    m: &[f32],
    base: usize,
    plane: usize,
    cc: Chunk,
    (oh, ow): (usize, usize),
    bias: f32,
    out: &mut [MaybeUninit<f32>],
    out_row: impl Fn(usize) -> (usize, usize),
) {
    debug_assert!(cc.tw == TILES && ow > 8 && ow <= 16);
    let b = S::splat(bias);
    for rr in (0..cc.nr).step_by(2) {
        let col = base + rr * TILES;
        let hh = [
            at_lanes(load6::<S>(m, col, plane)),
            at_lanes(load6::<S>(m, col + 6 * plane, plane)),
            at_lanes(load6::<S>(m, col + 12 * plane, plane)),
            at_lanes(load6::<S>(m, col + 18 * plane, plane)),
            at_lanes(load6::<S>(m, col + 24 * plane, plane)),
            at_lanes(load6::<S>(m, col + 30 * plane, plane)),
        ];
        let cols = [
            at_lanes(column(&hh, 0)),
            at_lanes(column(&hh, 1)),
            at_lanes(column(&hh, 2)),
            at_lanes(column(&hh, 3)),
        ];
        let next = if rr + 1 < cc.nr {
            Some(out_row(rr + 1))
        } else {
            None
        };
        let targets = [Some(out_row(rr)), next];
        for p in 0..4 {
            // Phase q of output row p, plus the bias; per half, tile t's four columns.
            let [t0, t1, t2, t3] = S::transpose4(plus_bias(&cols, p, b));
            let (a01, b01) = S::halves(t0, t1);
            let (a23, b23) = S::halves(t2, t3);
            for (target, vals) in targets.into_iter().zip([(a01, a23), (b01, b23)]) {
                let Some((o0, ty)) = target else { continue };
                let y = TILES * ty + p;
                if y < oh {
                    store_first16(&mut out[o0 + y * ow..o0 + (y + 1) * ow], vals.0, vals.1);
                }
            }
        }
    }
}

/// `A` (6x4) applied to four vectors (lane-wise the operations of `a` in the general
/// transforms, in the same order).
#[inline(always)]
fn a_lanes<S: F32x8>(y: [S; 4]) -> [S; 6] {
    let [y0, y1, y2, y3] = y;
    let (two, four, eight) = (S::splat(2.0), S::splat(4.0), S::splat(8.0));
    let (s02, s13) = (y0.add(y2), y1.add(y3));
    let (q02, q13) = (y0.add(four.mul(y2)), two.mul(y1).add(eight.mul(y3)));
    [
        y0,
        s02.add(s13),
        s02.sub(s13),
        q02.add(q13),
        q02.sub(q13),
        y3,
    ]
}

/// Output-gradient row `p` of tile row `r`, 16 columns (`None`, or a row past `oh`, reads as
/// zeros; columns past `ow` are zero through `win`).
#[inline(always)]
fn grad_load<S: F32x8>(
    dy: &[f32],
    r: Option<(usize, usize)>,
    p: usize,
    (oh, ow): (usize, usize),
    win: &Window<S>,
) -> (S, S) {
    match r {
        Some((d0, ty)) if TILES * ty + p < oh => {
            window16::<S>(dy, (d0 + (TILES * ty + p) * ow) as isize, win)
        }
        _ => (S::zero(), S::zero()),
    }
}

/// Phases 0..4 of output-gradient row `p` of two tile rows, one per half.
#[inline(always)]
fn grad_row<S: F32x8>(
    dy: &[f32],
    rows: [Option<(usize, usize)>; 2],
    p: usize,
    ohw: (usize, usize),
    win: &Window<S>,
) -> [S; 4] {
    let (a0, a1) = grad_load(dy, rows[0], p, ohw, win);
    let (b0, b1) = grad_load(dy, rows[1], p, ohw, win);
    let (c0, c1) = S::halves(a0, b0);
    let (c2, c3) = S::halves(a1, b1);
    S::transpose4([c0, c1, c2, c3])
}

/// `grad_out_transform` (`A dY A^T`, `dY` zero past the plane's `oh x ow` edges) for
/// `cc.tw == TILES`: the same outputs (and junk in the 4 columns past the chunk for an odd
/// last row).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn grad_out_transform<S: F32x8>(
    dy: &[f32],
    (oh, ow): (usize, usize),
    cc: Chunk,
    dy_row: impl Fn(usize) -> (usize, usize),
    d: &mut [f32],
    base: usize,
    plane: usize,
) {
    debug_assert!(cc.tw == TILES && ow > 8 && ow <= 16);
    let win = Window::<S>::new(0, ow);
    for rr in (0..cc.nr).step_by(2) {
        let next = if rr + 1 < cc.nr {
            Some(dy_row(rr + 1))
        } else {
            None
        };
        let rows = [Some(dy_row(rr)), next];
        // A across each of the four rows, then down each column k: position 6 i + k.
        let hh = [
            a_lanes(grad_row(dy, rows, 0, (oh, ow), &win)),
            a_lanes(grad_row(dy, rows, 1, (oh, ow), &win)),
            a_lanes(grad_row(dy, rows, 2, (oh, ow), &win)),
            a_lanes(grad_row(dy, rows, 3, (oh, ow), &win)),
        ];
        let col = base + rr * TILES;
        for k in 0..6 {
            let r = a_lanes([hh[0][k], hh[1][k], hh[2][k], hh[3][k]]);
            for (i, val) in r.into_iter().enumerate() {
                val.store(&mut d[col + (6 * i + k) * plane..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::winograd4_transforms::{
        grad_out_transform_rows, input_transform_rows, output_transform_rows,
    };
    use super::*;
    use crate::cpu::conv::lanes::Portable;
    use crate::cpu::conv::winograd_transforms::row_stride;

    /// Planes 13 to 16 wide, every padding, chunks of odd and even tile-row counts that start
    /// mid-plane and span planes.
    /// (h, w, padding, first tile row, tile rows) of a chunk.
    type Case = (usize, usize, (usize, usize), usize, usize);

    const CASES: [Case; 6] = [
        (14, 14, (1, 1), 0, 8),
        (14, 14, (1, 1), 1, 7),
        (13, 13, (1, 1), 2, 5),
        (16, 16, (1, 1), 0, 3),
        (18, 18, (0, 0), 3, 6),
        (11, 13, (2, 2), 1, 9),
    ];

    /// (transformed input, output) of the pair transforms and of the general ones, bit
    /// patterns, from NaN-filled buffers (so every unwritten value shows up as well).
    fn both<S: F32x8>(case: Case) -> [Vec<u32>; 4] {
        let (h, w, pad, r0, nr) = case;
        let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
        let th = oh.div_ceil(4);
        assert_eq!(ow.div_ceil(4), TILES);
        let planes = (r0 + nr).div_ceil(th);
        let x: Vec<f32> = (0..planes * h * w)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
            .collect();
        let cc = Chunk { nr, tw: TILES };
        let ld = row_stride(cc.cols());
        let loc = |rr: usize, len: usize| ((r0 + rr) / th * len, (r0 + rr) % th);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut v_pairs = vec![f32::NAN; 36 * ld];
        input_transform::<S>(
            &x,
            (h, w),
            pad,
            cc,
            |rr| loc(rr, h * w),
            &mut v_pairs,
            0,
            ld,
        );
        let mut v_rows = vec![f32::NAN; 36 * ld];
        input_transform_rows::<S>(&x, (h, w), pad, cc, |rr| loc(rr, h * w), &mut v_rows, 0, ld);
        let valid = |v: &[f32]| {
            bits(
                &v.chunks(ld)
                    .flat_map(|r| r[..cc.cols()].to_vec())
                    .collect::<Vec<_>>(),
            )
        };
        let outs: Vec<Vec<u32>> = [true, false]
            .into_iter()
            .map(|paired| {
                let mut out = vec![MaybeUninit::new(f32::NAN); planes * oh * ow];
                let row = |rr: usize| loc(rr, oh * ow);
                if paired {
                    output_transform::<S>(&v_rows, 0, ld, cc, (oh, ow), 0.25, &mut out, row);
                } else {
                    output_transform_rows::<S>(&v_rows, 0, ld, cc, (oh, ow), 0.25, &mut out, row);
                }
                // SAFETY: initialised from the start.
                bits(
                    &out.iter()
                        .map(|e| unsafe { e.assume_init() })
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        [
            valid(&v_pairs),
            valid(&v_rows),
            outs[0].clone(),
            outs[1].clone(),
        ]
    }

    #[test]
    fn pairs_give_the_bits_of_the_general_transforms() {
        for case in CASES {
            let [vp, vr, op, or] = both::<Portable>(case);
            assert_eq!(vp, vr, "{case:?} input transform");
            assert_eq!(op, or, "{case:?} output transform");
            #[cfg(target_arch = "x86_64")]
            if crate::cpu::conv::simd::has_avx2() {
                // SAFETY: the CPU has AVX2.
                let [ap, ar, bp, br] = unsafe { both_avx2(case) };
                assert_eq!((&ap, &bp), (&vp, &op), "{case:?} avx2 vs portable");
                assert_eq!((&ar, &br), (&vr, &or), "{case:?} avx2 general");
            }
        }
    }

    /// The output-gradient transform of the pairs and of the general path, bit patterns of
    /// the chunk's columns (NaN-filled first).
    fn grad_both<S: F32x8>(case: Case) -> [Vec<u32>; 2] {
        let (h, w, pad, r0, nr) = case;
        let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
        let th = oh.div_ceil(4);
        let planes = (r0 + nr).div_ceil(th);
        let dy: Vec<f32> = (0..planes * oh * ow)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.07)
            .collect();
        let cc = Chunk { nr, tw: TILES };
        let ld = row_stride(cc.cols());
        let row = |rr: usize| ((r0 + rr) / th * oh * ow, (r0 + rr) % th);
        let mut scratch = vec![0.0; 28 * ld + 8];
        let mut paired = vec![f32::NAN; 36 * ld];
        grad_out_transform::<S>(&dy, (oh, ow), cc, row, &mut paired, 0, ld);
        let mut rows = vec![f32::NAN; 36 * ld];
        grad_out_transform_rows(&dy, (oh, ow), cc, row, &mut scratch, &mut rows, 0, ld);
        [&paired, &rows].map(|v| {
            v.chunks(ld)
                .flat_map(|r| r[..cc.cols()].iter().map(|x| x.to_bits()))
                .collect()
        })
    }

    #[test]
    fn grad_pairs_give_the_bits_of_the_general_transform() {
        for case in CASES {
            let [p, r] = grad_both::<Portable>(case);
            assert_eq!(p, r, "{case:?}");
            #[cfg(target_arch = "x86_64")]
            if crate::cpu::conv::simd::has_avx2() {
                // SAFETY: the CPU has AVX2.
                let [ap, _] = unsafe { grad_both_avx2(case) };
                assert_eq!(ap, p, "{case:?} avx2");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn grad_both_avx2(case: Case) -> [Vec<u32>; 2] {
        grad_both::<crate::cpu::conv::lanes::Avx2>(case)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn both_avx2(case: Case) -> [Vec<u32>; 4] {
        both::<crate::cpu::conv::lanes::Avx2>(case)
    }
}
