//! The kernel transform `U[xi] = (G g G^T)[xi]` of every (output, input) channel pair, eight
//! kernels at a time, and the way back for the weight gradient (`finish_weight_grad`), shared
//! by both Winograd paths.
//!
//! The tile formulas (`weight_tile` in each transforms file) are written once over `Lanes`, so
//! the same expression runs on one `f32` (tests) or on eight kernels side by side (the
//! `Portable` lanes of `lanes.rs`). F(4x4)'s
//! coefficients (1/6, 1/12, 1/24) are divisions, which the compiler may not turn into
//! multiplications without changing the bits; one at a time they made this transform a
//! twentieth of a 14x14 layer's forward and backward.

use std::mem::MaybeUninit;
use std::ops::{Add, Div, Mul, Neg, Sub};

use rayon::prelude::*;

use super::lanes::{F32x8, Portable};
use super::scratch::{stale, Buf};
use super::uninit;

/// What the tile formulas need of a number: `f32` itself, or eight of them.
pub(crate) trait Lanes:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Neg<Output = Self>
    + Mul<f32, Output = Self>
    + Div<f32, Output = Self>
{
}

impl Lanes for f32 {}

impl Lanes for Portable {}

/// `U` for `P` positions, each stored transposed (`c_in x c_out` row-major, so the GEMM packs it
/// by contiguous copies): from `weight` `[c_out, c_in, 3, 3]`, or with `flip` from its transpose
/// rotated by 180 degrees (the input-gradient kernel, whose output channels are the forward's
/// input channels). `tile` is the path's `G g G^T` on eight kernels.
pub(crate) fn transform_weights<const P: usize>(
    weight: &[f32],
    (c_out, c_in): (usize, usize),
    flip: bool,
    tile: fn(&[Portable]) -> [Portable; P],
) -> Buf {
    let (rows, cols) = if flip { (c_out, c_in) } else { (c_in, c_out) };
    let n = rows * cols;
    let mut u = stale(P * n);
    // Eight consecutive destinations (row i, column j of every U[xi]) per step, so each of
    // the P results is one contiguous store.
    for d0 in (0..n).step_by(8) {
        let lanes = (n - d0).min(8);
        let mut g = [[0.0f32; 8]; 9];
        for l in 0..lanes {
            let (i, j) = ((d0 + l) / cols, (d0 + l) % cols);
            let (k, c) = if flip { (i, j) } else { (j, i) };
            let src = &weight[(k * c_in + c) * 9..(k * c_in + c + 1) * 9];
            for (t, gt) in g.iter_mut().enumerate() {
                gt[l] = if flip { src[8 - t] } else { src[t] };
            }
        }
        let g = g.map(|v| Portable::load(&v));
        let mut out = [0.0f32; 8];
        for (xi, v) in tile(&g).iter().enumerate() {
            v.store(&mut out);
            u[xi * n + d0..xi * n + d0 + lanes].copy_from_slice(&out[..lanes]);
        }
    }
    u
}

/// The weight gradient from the weight-gradient tasks' sums in the transformed domain:
/// `partials` holds one block of `s_len` floats per task (P planes of `kc = c_out * c_in`, then
/// whatever else the path sums, such as F(2x2)'s bias sums). The blocks are added into the first
/// in task order (threads split the elements, not the sum, so the result does not depend on
/// the thread count), then `back` (`G^T s G`) turns each (k, c) kernel's P sums into its 3x3
/// gradient in `grad_weight`. Returns the summed first block.
pub(crate) fn finish_weight_grad<'a, const P: usize>(
    partials: &'a mut [f32],
    (s_len, kc): (usize, usize),
    min_len: usize,
    grad_weight: &mut [MaybeUninit<f32>],
    back: fn(&[f32; P]) -> [f32; 9],
) -> &'a [f32] {
    let (total, rest) = partials.split_at_mut(s_len);
    total
        .par_chunks_mut(4096)
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(b, out)| {
            for part in rest.chunks_exact(s_len) {
                for (o, v) in out.iter_mut().zip(&part[b * 4096..]) {
                    *o += *v;
                }
            }
        });
    grad_weight
        .par_chunks_mut(9)
        .with_min_len(min_len.min(64))
        .enumerate()
        .for_each(|(j, out)| {
            let s: [f32; P] = std::array::from_fn(|xi| total[xi * kc + j]);
            uninit::copy(out, &back(&s));
        });
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::conv::{winograd4_transforms, winograd_transforms};

    /// Every entry of the eight-at-a-time transform against the scalar formula, bit for bit,
    /// for both paths, both orientations, and channel counts that leave a partial last step.
    #[test]
    fn matches_the_scalar_tile_formula_bitwise() {
        let (c_out, c_in) = (5, 3);
        let weight: Vec<f32> = (0..c_out * c_in * 9)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        for flip in [false, true] {
            let u4 = transform_weights(
                &weight,
                (c_out, c_in),
                flip,
                winograd4_transforms::weight_tile,
            );
            let u2 = transform_weights(
                &weight,
                (c_out, c_in),
                flip,
                winograd_transforms::weight_tile,
            );
            let (rows, cols) = if flip { (c_out, c_in) } else { (c_in, c_out) };
            for k in 0..c_out {
                for c in 0..c_in {
                    let src = &weight[(k * c_in + c) * 9..(k * c_in + c + 1) * 9];
                    let g: Vec<f32> = (0..9)
                        .map(|t| if flip { src[8 - t] } else { src[t] })
                        .collect();
                    let (i, j) = if flip { (k, c) } else { (c, k) };
                    let at = i * cols + j;
                    let t4 = winograd4_transforms::weight_tile::<f32>(&g);
                    let t2 = winograd_transforms::weight_tile::<f32>(&g);
                    for xi in 0..36 {
                        assert_eq!(u4[xi * rows * cols + at].to_bits(), t4[xi].to_bits());
                    }
                    for xi in 0..16 {
                        assert_eq!(u2[xi * rows * cols + at].to_bits(), t2[xi].to_bits());
                    }
                }
            }
        }
    }
}
