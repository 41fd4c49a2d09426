//! Vectorisable math shared by the CPU kernels: branch-free Cephes `exp`, `sigmoid`, `tanh`
//! (defined beside the recurrent cells, which were their first user), plus a full-range `exp`
//! for the elementwise op.
//!
//! Kernels outside `rnn/` and `softmax/` should reach this math through here, so the next
//! move of the definitions touches one file.

pub use super::rnn::act::{exp as exp_clamped, sigmoid, tanh};

/// Below this |x| the clamped polynomial `exp` is within a few ulp of the true value;
/// outside (overflow to inf, subnormal results) and for NaN, libm takes over.
const EXP_EXACT_RANGE: f32 = 87.0;

/// `out[i] = e^xs[i]` over the whole f32 range: the vectorised polynomial, then a scalar
/// fix-up of the rare elements outside [-87, 87] (inf, subnormals) and NaN.
#[inline(always)]
pub fn exp_into(xs: &[f32], out: &mut [std::mem::MaybeUninit<f32>]) {
    const BLOCK: usize = 256;
    for (xb, ob) in xs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
        for (o, &x) in ob.iter_mut().zip(xb) {
            o.write(exp_clamped(x));
        }
        // A non-short-circuiting fold vectorises; `any` would test one element at a time.
        if xb.iter().fold(false, |bad, &x| bad | outside(x)) {
            for (o, &x) in ob.iter_mut().zip(xb) {
                if outside(x) {
                    o.write(x.exp());
                }
            }
        }
    }
}

/// Outside the polynomial's range, or NaN.
#[inline(always)]
fn outside(x: f32) -> bool {
    x.abs() > EXP_EXACT_RANGE || x.is_nan()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;

    fn exp_vec(xs: &[f32]) -> Vec<f32> {
        let mut out = vec![MaybeUninit::uninit(); xs.len()];
        exp_into(xs, &mut out);
        // SAFETY: exp_into wrote every element.
        out.into_iter()
            .map(|v| unsafe { v.assume_init() })
            .collect()
    }

    #[test]
    fn exp_covers_the_whole_range() {
        let xs = [
            -1e30,
            -200.0,
            -100.0,
            -90.0,
            -87.5,
            -87.0,
            -1.0,
            0.0,
            1e-8,
            1.0,
            87.0,
            88.5,
            89.0,
            1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let got = exp_vec(&xs);
        for (&x, &g) in xs.iter().zip(&got) {
            let want = (x as f64).exp();
            if want > f32::MAX as f64 {
                assert_eq!(g, f32::INFINITY, "exp({x})");
            } else {
                let err = (g as f64 - want).abs() / want.max(f32::MIN_POSITIVE as f64 * 1e-6);
                assert!(
                    err < 1e-6 || (g as f64 - want).abs() < 1e-44,
                    "exp({x}) = {g}"
                );
            }
        }
        assert_eq!(exp_vec(&[0.0])[0], 1.0);
    }

    #[test]
    fn exp_keeps_nan_at_any_position() {
        for n in 1..70 {
            for at in [0, n / 2, n - 1] {
                let mut xs: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - 3.0).collect();
                xs[at] = f32::NAN;
                let got = exp_vec(&xs);
                for (i, (&x, &g)) in xs.iter().zip(&got).enumerate() {
                    if i == at {
                        assert!(g.is_nan());
                    } else {
                        assert!(((g as f64 - (x as f64).exp()) / (x as f64).exp()).abs() < 1e-6);
                    }
                }
            }
        }
    }
}
