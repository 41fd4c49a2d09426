//! Gradient clipping on slices, the pieces of `torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`:
//!
//! - [`l2_norm_sq`] / [`max_abs`]: per-gradient norms (combine over parameters, take the root,
//!   then [`clip_coef`] gives the factor),
//! - [`scale`]: multiply a gradient by that factor in place,
//! - [`clamp`]: clip each element to `[-clip_value, clip_value]`.
//!
//! `l2_norm_sq` sums in f64 over fixed blocks of [`BLOCK`] elements and combines the block sums
//! pairwise in a fixed tree, so its value depends only on the data, never on the thread count.

use super::{for_each_chunk, split_threads, Update};
use rayon::prelude::*;

/// The fixed block of the deterministic sums.
pub const BLOCK: usize = 4096;

/// Sum of squares of `x`, in f64, with a summation order fixed by `x.len()` alone.
pub fn l2_norm_sq(x: &[f32]) -> f64 {
    let block = |b: &[f32]| b.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>();
    let sums: Vec<f64> = if split_threads(x.len()) {
        x.par_chunks(BLOCK).map(block).collect()
    } else {
        x.chunks(BLOCK).map(block).collect()
    };
    pairwise(&sums)
}

/// Largest |x_i| (the inf-norm), NaN if any element is NaN, 0 for an empty slice.
pub fn max_abs(x: &[f32]) -> f32 {
    let block = |b: &[f32]| {
        b.iter().fold(0.0f32, |m, &v| {
            if v.is_nan() || m.is_nan() {
                f32::NAN
            } else {
                m.max(v.abs())
            }
        })
    };
    if !split_threads(x.len()) {
        block(x)
    } else {
        // max is associative and commutative (NaN handled explicitly), so any split is exact.
        x.par_chunks(BLOCK).map(block).reduce(
            || 0.0,
            |a, b| {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else {
                    a.max(b)
                }
            },
        )
    }
}

/// Pairwise sum in a tree fixed by the length alone (split at len / 2).
fn pairwise(s: &[f64]) -> f64 {
    match s.len() {
        0 => 0.0,
        1 => s[0],
        n => pairwise(&s[..n / 2]) + pairwise(&s[n / 2..]),
    }
}

/// The factor `clip_grad_norm_` multiplies every gradient by: `max_norm / (total_norm + 1e-6)`
/// clamped to at most 1.
pub fn clip_coef(total_norm: f64, max_norm: f64) -> f32 {
    (max_norm / (total_norm + 1e-6)).min(1.0) as f32
}

/// `x *= s` in place.
pub fn scale(x: &mut [f32], s: f32) {
    for_each_chunk(x.len(), x, &Scale(s));
}

/// Clamps every element of `x` into `[lo, hi]` in place; NaN stays NaN (as `torch.clamp_`).
pub fn clamp(x: &mut [f32], lo: f32, hi: f32) {
    assert!(lo <= hi, "clamp: lo {lo} > hi {hi}");
    for_each_chunk(x.len(), x, &Clamp(lo, hi));
}

struct Scale(f32);

impl Update<&mut [f32]> for Scale {
    #[inline(always)]
    fn apply(&self, x: &mut [f32]) {
        x.iter_mut().for_each(|v| *v *= self.0);
    }
}

struct Clamp(f32, f32);

impl Update<&mut [f32]> for Clamp {
    #[inline(always)]
    fn apply(&self, x: &mut [f32]) {
        let Clamp(lo, hi) = *self;
        // Comparisons, not f32::clamp: no panic path, and NaN fails both tests so it stays NaN.
        x.iter_mut().for_each(|v| {
            if *v < lo {
                *v = lo;
            } else if *v > hi {
                *v = hi;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{same_in_pools, Rng, BIG};
    use super::*;

    #[test]
    fn optim_clip_l2_norm_sq_matches_f64_and_is_thread_independent() {
        let x = Rng::new(1).vec_f32(BIG, -3.0, 3.0);
        let want: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
        let got = l2_norm_sq(&x);
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
        same_in_pools("l2_norm_sq", || {
            let s = l2_norm_sq(&x);
            vec![s as f32, (s - s as f32 as f64) as f32]
        });
        assert_eq!(l2_norm_sq(&[]), 0.0);
        assert_eq!(l2_norm_sq(&[3.0, -4.0]), 25.0);
    }

    #[test]
    fn optim_clip_max_abs_scale_clamp() {
        let mut x = Rng::new(2).vec_f32(BIG, -3.0, 3.0);
        x[BIG / 2] = -7.5;
        assert_eq!(max_abs(&x), 7.5);
        x[5] = f32::NAN;
        assert!(max_abs(&x).is_nan());
        x[5] = 1.0;
        let before = x.clone();
        scale(&mut x, 0.25);
        assert!(x.iter().zip(&before).all(|(a, b)| *a == b * 0.25));
        clamp(&mut x, -0.5, 0.5);
        assert!(x
            .iter()
            .zip(&before)
            .all(|(a, b)| *a == (b * 0.25).clamp(-0.5, 0.5)));
        let mut y = [f32::NAN, 2.0];
        clamp(&mut y, -1.0, 1.0);
        assert!(y[0].is_nan() && y[1] == 1.0);
    }

    #[test]
    fn optim_clip_coef_clamps_to_one() {
        assert_eq!(clip_coef(0.5, 1.0), 1.0);
        assert!((clip_coef(4.0, 1.0) as f64 - 1.0 / (4.0 + 1e-6)).abs() < 1e-7);
    }

    #[test]
    fn optim_clip_scale_bitwise_across_thread_counts() {
        let x = Rng::new(3).vec_f32(BIG, -3.0, 3.0);
        same_in_pools("scale", || {
            let mut y = x.clone();
            scale(&mut y, 0.3);
            y
        });
    }
}
