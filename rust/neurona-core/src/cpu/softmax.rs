//! Softmax and log-softmax over one axis, forward and backward, on contiguous f32 data.
//!
//! A tensor reduced along `axis` is seen as `[outer, n, inner]` ([`AxisShape`]): `n` is the
//! axis length, `outer` the product of the dims before it, `inner` of those after. Element
//! `(o, k, j)` lives at `(o * n + k) * inner + j`, so any axis works without a transpose: with
//! `inner == 1` each row is contiguous; otherwise the kernels sweep the `[n, inner]` block row by
//! row, reducing `inner` columns at once.
//!
//! API (all slices have `shape.len()` elements, outputs are fully overwritten):
//! - [`softmax`]`(x, y, shape)`: `y = exp(x - max) / sum exp(x - max)`.
//! - [`log_softmax`]`(x, y, shape)`: `y = x - max - ln(sum exp(x - max))`.
//! - [`softmax_backward`]`(y, gy, gx, shape)`: `gx = y * (gy - sum(gy * y))`, from the output.
//! - [`log_softmax_backward`]`(y, gy, gx, shape)`: `gx = gy - exp(y) * sum(gy)`, from the output.
//!
//! Stability: the max is subtracted before `exp` and sums run in f64, so inputs of +-1e4 give
//! finite results (exact zeros where the probability underflows). NaN in a slice makes its
//! whole slice NaN; a slice of all `-inf` gives NaN, as in PyTorch.
//!
//! Threads: blocks of whole `[n, inner]` slices go to rayon tasks when the tensor has at least
//! [`PAR_MIN_LEN`] elements and `outer > 1`; each slice is reduced by one task in a fixed order,
//! so results are bitwise identical for any thread count.

use crate::error::Result;
use rayon::prelude::*;

/// Below this many elements everything runs on the calling thread.
pub const PAR_MIN_LEN: usize = 1 << 13;

/// The `[outer, n, inner]` view of a contiguous tensor around one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisShape {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
}

impl AxisShape {
    /// The view of `shape` around `axis` (already normalised to `0..shape.len()`).
    pub fn of(shape: &[usize], axis: usize) -> Result<Self> {
        if axis >= shape.len() {
            crate::bail!(
                Index,
                "axis {axis} is out of range for a tensor of {} dimensions",
                shape.len()
            );
        }
        Ok(AxisShape {
            outer: shape[..axis].iter().product(),
            n: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        })
    }

    /// Total number of elements.
    pub fn len(&self) -> usize {
        self.outer * self.n * self.inner
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Softmax of `x` into `y` along the axis of `shape`.
pub fn softmax(x: &[f32], y: &mut [f32], shape: AxisShape) {
    forward(x, y, shape, false);
}

/// Log-softmax of `x` into `y` along the axis of `shape`.
pub fn log_softmax(x: &[f32], y: &mut [f32], shape: AxisShape) {
    forward(x, y, shape, true);
}

/// Gradient of softmax: `gx = y * (gy - sum(gy * y))`, with `y` the forward output.
pub fn softmax_backward(y: &[f32], gy: &[f32], gx: &mut [f32], shape: AxisShape) {
    backward(y, gy, gx, shape, false);
}

/// Gradient of log-softmax: `gx = gy - exp(y) * sum(gy)`, with `y` the forward output.
pub fn log_softmax_backward(y: &[f32], gy: &[f32], gx: &mut [f32], shape: AxisShape) {
    backward(y, gy, gx, shape, true);
}

/// Calls `f(start, out_block)` for every `[n, inner]` block of `out`, `start` being the block's
/// offset (to slice the inputs alike); blocks are grouped into rayon tasks when the tensor is
/// large enough.
fn for_blocks<F>(shape: AxisShape, out: &mut [f32], f: F)
where
    F: Fn(usize, &mut [f32]) + Sync,
{
    let block = shape.n * shape.inner;
    if block == 0 || shape.outer == 0 {
        return;
    }
    if shape.len() < PAR_MIN_LEN || shape.outer == 1 {
        out.chunks_mut(block)
            .enumerate()
            .for_each(|(o, y)| f(o * block, y));
    } else {
        // Enough blocks per task that each carries ~PAR_MIN_LEN / 2 elements of work.
        let per_task = (PAR_MIN_LEN / 2).div_ceil(block).max(1);
        out.par_chunks_mut(block * per_task)
            .enumerate()
            .for_each(|(t, ys)| {
                for (o, y) in ys.chunks_mut(block).enumerate() {
                    f((t * per_task + o) * block, y);
                }
            });
    }
}

fn forward(x: &[f32], y: &mut [f32], shape: AxisShape, log: bool) {
    assert_eq!(
        x.len(),
        shape.len(),
        "softmax: input length vs shape {shape:?}"
    );
    assert_eq!(
        y.len(),
        shape.len(),
        "softmax: output length vs shape {shape:?}"
    );
    let AxisShape { n, inner, .. } = shape;
    for_blocks(shape, y, |start, y| {
        let x = &x[start..start + n * inner];
        if inner == 1 {
            forward_row(x, y, log);
        } else {
            forward_block(x, y, inner, log);
        }
    });
}

/// One contiguous row; the AVX2 build of the same body where the CPU has it (same bits).
fn forward_row(x: &[f32], y: &mut [f32], log: bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { forward_row_avx2(x, y, log) };
        return;
    }
    forward_row_body(x, y, log);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn forward_row_avx2(x: &[f32], y: &mut [f32], log: bool) {
    forward_row_body(x, y, log);
}

#[inline(always)]
fn forward_row_body(x: &[f32], y: &mut [f32], log: bool) {
    let max = vmath::max_nan(x);
    for (y, &v) in y.iter_mut().zip(x) {
        *y = v - max;
    }
    vmath::exp_slice(y);
    let sum = vmath::sum_f64(y);
    if log {
        let lse = sum.ln() as f32;
        for (y, &v) in y.iter_mut().zip(x) {
            *y = (v - max) - lse;
        }
    } else {
        let inv = (1.0 / sum) as f32;
        y.iter_mut().for_each(|y| *y *= inv);
    }
}

fn forward_block(x: &[f32], y: &mut [f32], inner: usize, log: bool) {
    let mut max = vec![f32::NEG_INFINITY; inner];
    for row in x.chunks_exact(inner) {
        for (m, &v) in max.iter_mut().zip(row) {
            *m = vmath::max2(*m, v);
        }
    }
    let mut sum = vec![0.0f64; inner];
    for (xr, yr) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
        for ((y, &v), &m) in yr.iter_mut().zip(xr).zip(&max) {
            *y = v - m;
        }
        vmath::exp_inplace(yr);
        for (s, &e) in sum.iter_mut().zip(yr.iter()) {
            *s += e as f64;
        }
    }
    if log {
        let lse: Vec<f32> = sum.iter().map(|s| s.ln() as f32).collect();
        for (xr, yr) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
            for (((y, &v), &m), &l) in yr.iter_mut().zip(xr).zip(&max).zip(&lse) {
                *y = (v - m) - l;
            }
        }
    } else {
        let inv: Vec<f32> = sum.iter().map(|s| (1.0 / s) as f32).collect();
        for yr in y.chunks_exact_mut(inner) {
            yr.iter_mut().zip(&inv).for_each(|(y, &i)| *y *= i);
        }
    }
}

fn backward(y: &[f32], gy: &[f32], gx: &mut [f32], shape: AxisShape, log: bool) {
    assert_eq!(
        y.len(),
        shape.len(),
        "softmax_backward: output length vs shape {shape:?}"
    );
    assert_eq!(
        gy.len(),
        shape.len(),
        "softmax_backward: gradient length vs shape {shape:?}"
    );
    assert_eq!(
        gx.len(),
        shape.len(),
        "softmax_backward: input-gradient length vs shape {shape:?}"
    );
    let AxisShape { n, inner, .. } = shape;
    for_blocks(shape, gx, |start, gx| {
        let range = start..start + n * inner;
        let (y, gy) = (&y[range.clone()], &gy[range]);
        if inner == 1 {
            backward_row(y, gy, gx, log);
            return;
        }
        // Per column of the block: s = sum(gy * y) (softmax) or sum(gy) (log-softmax).
        let mut s = vec![0.0f64; inner];
        for (yr, gr) in y.chunks_exact(inner).zip(gy.chunks_exact(inner)) {
            for ((s, &y), &g) in s.iter_mut().zip(yr).zip(gr) {
                *s += if log { g as f64 } else { g as f64 * y as f64 };
            }
        }
        let s: Vec<f32> = s.iter().map(|&v| v as f32).collect();
        for ((yr, gr), xr) in y
            .chunks_exact(inner)
            .zip(gy.chunks_exact(inner))
            .zip(gx.chunks_exact_mut(inner))
        {
            if log {
                xr.copy_from_slice(yr);
                vmath::exp_inplace(xr);
                for ((gx, &g), &s) in xr.iter_mut().zip(gr).zip(&s) {
                    *gx = g - *gx * s;
                }
            } else {
                for (((gx, &y), &g), &s) in xr.iter_mut().zip(yr).zip(gr).zip(&s) {
                    *gx = y * (g - s);
                }
            }
        }
    });
}

fn backward_row(y: &[f32], gy: &[f32], gx: &mut [f32], log: bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { backward_row_avx2(y, gy, gx, log) };
        return;
    }
    backward_row_body(y, gy, gx, log);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn backward_row_avx2(y: &[f32], gy: &[f32], gx: &mut [f32], log: bool) {
    backward_row_body(y, gy, gx, log);
}

#[inline(always)]
fn backward_row_body(y: &[f32], gy: &[f32], gx: &mut [f32], log: bool) {
    if log {
        let s = vmath::sum_f64(gy) as f32;
        // gx holds exp(y) first, then the gradient.
        gx.copy_from_slice(y);
        vmath::exp_slice(gx);
        for (gx, &g) in gx.iter_mut().zip(gy) {
            *gx = g - *gx * s;
        }
    } else {
        let s = vmath::dot_f64(gy, y) as f32;
        for ((gx, &y), &g) in gx.iter_mut().zip(y).zip(gy) {
            *gx = y * (g - s);
        }
    }
}

pub(crate) mod vmath;

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 for test data.
    fn data(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                let u = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
                (lo + (hi - lo) * u) as f32
            })
            .collect()
    }

    /// f64 (log-)softmax by explicit index arithmetic, written from the definition.
    fn reference(x: &[f64], s: AxisShape, log: bool) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for o in 0..s.outer {
            for j in 0..s.inner {
                let at = |k: usize| (o * s.n + k) * s.inner + j;
                let m = (0..s.n).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = (0..s.n).map(|k| (x[at(k)] - m).exp()).sum();
                for k in 0..s.n {
                    y[at(k)] = if log {
                        x[at(k)] - m - z.ln()
                    } else {
                        (x[at(k)] - m).exp() / z
                    };
                }
            }
        }
        y
    }

    fn widen(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| v as f64).collect()
    }

    fn check_forward(x: &[f32], s: AxisShape) {
        for log in [false, true] {
            let mut y = vec![f32::NAN; x.len()];
            if log {
                log_softmax(x, &mut y, s)
            } else {
                softmax(x, &mut y, s)
            }
            let want = reference(&widen(x), s, log);
            for (i, (&g, &w)) in y.iter().zip(&want).enumerate() {
                assert!(g.is_finite(), "{s:?} log={log}: y[{i}] = {g}");
                // Relative, with a floor for probabilities that underflow in f32.
                let tol = 1e-5 * w.abs().max(if log { 1.0 } else { 1e-30 });
                assert!(
                    (g as f64 - w).abs() <= tol,
                    "{s:?} log={log}: y[{i}] = {g}, want {w}"
                );
            }
        }
    }

    #[test]
    fn softmax_forward_matches_f64_on_every_axis() {
        let dims = [3usize, 5, 7];
        let x = data(105, 1, -5.0, 5.0);
        for axis in 0..3 {
            check_forward(&x, AxisShape::of(&dims, axis).expect("axis"));
        }
        check_forward(
            &data(1, 2, -1.0, 1.0),
            AxisShape {
                outer: 1,
                n: 1,
                inner: 1,
            },
        );
        check_forward(
            &data(300, 3, -20.0, 20.0),
            AxisShape {
                outer: 2,
                n: 150,
                inner: 1,
            },
        );
    }

    #[test]
    fn softmax_is_stable_for_huge_inputs() {
        // Values near +1e4 and near -1e4 in every slice: the -1e4 ones underflow to exactly 0
        // probability, the +1e4 ones share the mass; log-softmax stays finite (about -2e4).
        let mut x = data(4 * 6 * 3, 4, -3.0, 3.0);
        for (i, v) in x.iter_mut().enumerate() {
            *v += if i % 3 == 0 { -1e4 } else { 1e4 };
        }
        check_forward(
            &x,
            AxisShape {
                outer: 4,
                n: 18,
                inner: 1,
            },
        );
        check_forward(
            &x,
            AxisShape {
                outer: 4,
                n: 6,
                inner: 3,
            },
        );
        let mut y = vec![0.0; x.len()];
        softmax(
            &x,
            &mut y,
            AxisShape {
                outer: 4,
                n: 18,
                inner: 1,
            },
        );
        assert!(y.iter().step_by(3).all(|&p| p == 0.0));
    }

    #[test]
    fn softmax_axis_out_of_range_is_an_index_error() {
        assert!(matches!(
            AxisShape::of(&[2, 3], 2),
            Err(crate::Error::Index(_))
        ));
    }

    /// Backward against central differences of L(x) = sum(w * f(x)) on the f64 reference.
    #[test]
    fn softmax_backward_matches_finite_differences() {
        for (dims, axis) in [([2usize, 6, 1], 1), ([3, 4, 5], 1), ([4, 3, 2], 0)] {
            let s = AxisShape::of(&dims, axis).expect("axis");
            let x = data(s.len(), 5, -3.0, 3.0);
            let w = data(s.len(), 6, -1.0, 1.0);
            for log in [false, true] {
                let mut y = vec![0.0; x.len()];
                let mut gx = vec![0.0; x.len()];
                if log {
                    log_softmax(&x, &mut y, s);
                    log_softmax_backward(&y, &w, &mut gx, s);
                } else {
                    softmax(&x, &mut y, s);
                    softmax_backward(&y, &w, &mut gx, s);
                }
                let loss = |x: &[f64]| -> f64 {
                    reference(x, s, log)
                        .iter()
                        .zip(&w)
                        .map(|(a, &b)| a * b as f64)
                        .sum()
                };
                let h = 1e-5;
                for i in 0..x.len() {
                    let mut xp = widen(&x);
                    xp[i] += h;
                    let mut xm = widen(&x);
                    xm[i] -= h;
                    let fd = (loss(&xp) - loss(&xm)) / (2.0 * h);
                    let err = (gx[i] as f64 - fd).abs();
                    assert!(
                        err <= 1e-5 * fd.abs().max(1.0),
                        "{s:?} log={log}: gx[{i}] = {} vs {fd}",
                        gx[i]
                    );
                }
            }
        }
    }

    #[test]
    fn softmax_bitwise_across_thread_counts() {
        for s in [
            AxisShape {
                outer: 300,
                n: 101,
                inner: 1,
            },
            AxisShape {
                outer: 61,
                n: 37,
                inner: 13,
            },
        ] {
            assert!(s.len() > PAR_MIN_LEN * 2);
            let x = data(s.len(), 7, -8.0, 8.0);
            let gy = data(s.len(), 8, -1.0, 1.0);
            let runs: Vec<Vec<u32>> = [1, 2, 3]
                .iter()
                .map(|&t| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(t)
                        .build()
                        .expect("pool");
                    pool.install(|| {
                        let mut out = Vec::new();
                        for log in [false, true] {
                            let (mut y, mut gx) = (vec![0.0; s.len()], vec![0.0; s.len()]);
                            if log {
                                log_softmax(&x, &mut y, s);
                                log_softmax_backward(&y, &gy, &mut gx, s);
                            } else {
                                softmax(&x, &mut y, s);
                                softmax_backward(&y, &gy, &mut gx, s);
                            }
                            out.extend(y.iter().chain(&gx).map(|v| v.to_bits()));
                        }
                        out
                    })
                })
                .collect();
            assert_eq!(runs[0], runs[1], "{s:?}: 1 vs 2 threads");
            assert_eq!(runs[0], runs[2], "{s:?}: 1 vs 3 threads");
        }
    }

    #[test]
    fn softmax_vmath_exp_is_accurate() {
        let xs: Vec<f32> = (0..200_001).map(|i| -87.0 * i as f32 / 200_000.0).collect();
        let mut e = xs.clone();
        vmath::exp_inplace(&mut e);
        for (&x, &e) in xs.iter().zip(&e) {
            let want = (x as f64).exp();
            assert!(
                ((e as f64) - want).abs() <= 3e-7 * want,
                "exp({x}) = {e}, want {want}"
            );
        }
        let mut s = [0.0, -0.0, f32::NEG_INFINITY, f32::NAN, -100.0, -1e4];
        vmath::exp_inplace(&mut s);
        assert_eq!(&s[..3], &[1.0, 1.0, 0.0]);
        assert!(s[3].is_nan() && s[4] == 0.0 && s[5] == 0.0);
        // The dispatched (AVX2 where available) path gives the bits of the portable one.
        assert!(xs
            .iter()
            .zip(&e)
            .all(|(&x, &e)| vmath::exp1(x).to_bits() == e.to_bits()));
        assert!(vmath::max_nan(&[1.0, f32::NAN, 3.0]).is_nan());
        assert_eq!(
            vmath::max_nan(&(0..19).map(|i| (i % 7) as f32).collect::<Vec<_>>()),
            6.0
        );
    }
}
