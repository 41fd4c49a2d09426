//! Branch-free `exp`, `sigmoid` and `tanh` for the cell kernels.
//!
//! libm's `expf`/`tanhf` are opaque calls, so a loop over a hidden row that calls them runs one
//! element at a time. These are written with only arithmetic, bit casts and selects so that,
//! inlined into a cell kernel, the loop vectorises. Accuracy is that of Cephes' single
//! precision routines (a couple of ulp; the `_fma` ones use their own, shorter polynomial of
//! the same accuracy), far below what training can notice; every function
//! here is pure and element-wise, so results do not depend on vector width or thread count.
//! The `_fma` variants fuse the multiply-adds, for kernels compiled with FMA.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer in the low mantissa
/// bits, which both rounds and converts without a (slow, saturating) float-to-int cast.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// Bit pattern of ROUND_MAGIC; `bits(x + MAGIC) - MAGIC_BITS` is round(x) as an integer.
const MAGIC_BITS: u32 = 0x4B40_0000;
/// ln 2 split in a part exact in few bits and the rest (Cody-Waite reduction).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// exp overflows past here; clamping keeps 2^n a normal float so the bit trick stays valid.
const EXP_MAX: f32 = 88.0;
const EXP_MIN: f32 = -87.0;

/// e^x (Cephes `expf`), for x clamped to [-87, 88].
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(EXP_MIN, EXP_MAX);
    let t = x * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let y = p * r * r + r + 1.0;
    // 2^n from n's integer bits: n + 127 in the exponent field.
    let scale = f32::from_bits(t.to_bits().wrapping_sub(MAGIC_BITS).wrapping_add(127) << 23);
    y * scale
}

/// 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh(x): an odd polynomial near zero (where 1 - 2/(e^2x + 1) would cancel), the exp form
/// elsewhere (Cephes `tanhf`).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut p = -5.704_988_7e-3_f32;
    p = p * z + 2.063_909e-2;
    p = p * z - 5.373_971_6e-2;
    p = p * z + 1.333_144_2e-1;
    p = p * z - 3.333_328e-1;
    let small = p * z * x + x;
    let big = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    let big = if x < 0.0 { -big } else { big };
    if a < 0.625 {
        small
    } else {
        big
    }
}

/// x for x > 0, else 0 (NaN passes through, as in PyTorch's relu).
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    if x > 0.0 || x.is_nan() {
        x
    } else {
        0.0
    }
}

/// e^r = 1 + r + r^2 P(r) for |r| <= ln2 / 2: P's coefficients, a degree-4 fit of the relative
/// error of e^r (at most 3e-9 in exact arithmetic; 0.7 ulp for `exp_fma` in f32).
const P0: f32 = 0.499_999_94;
const P1: f32 = 0.166_665_2;
const P2: f32 = 0.041_668_408;
const P3: f32 = 0.008_368_914;
const P4: f32 = 0.001_381_419_1;

/// e^x = s * (1 + y) for x clamped to [-87, 88]: (y, s), with s = 2^n a normal float, every
/// multiply-add fused. P is evaluated by Estrin's scheme, not Horner's: two short chains in
/// parallel instead of one of five dependent multiply-adds. The cell kernels that inline this
/// are bound by that latency, not by arithmetic (each vector's exp/divide chain is ~20
/// dependent operations): the shorter chain made a sigmoid ~25% faster on Zen 3.
#[inline(always)]
fn exp_parts_fma(x: f32) -> (f32, f32) {
    let x = x.clamp(EXP_MIN, EXP_MAX);
    let t = x.mul_add(LOG2E, ROUND_MAGIC);
    let n = t - ROUND_MAGIC;
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    let r2 = r * r;
    let lo = r.mul_add(P1, P0);
    let hi = r2.mul_add(P4, r.mul_add(P3, P2));
    let y = hi.mul_add(r2, lo).mul_add(r2, r);
    let s = f32::from_bits(t.to_bits().wrapping_sub(MAGIC_BITS).wrapping_add(127) << 23);
    (y, s)
}

/// e^x with fused multiply-adds (`mul_add`, one rounding each): for kernels compiled with FMA
/// (the cell kernels' `simd_kernel!` builds); elsewhere `mul_add` is a slow library call,
/// though it rounds the same, so every build still gives the same bits.
#[inline(always)]
pub fn exp_fma(x: f32) -> f32 {
    let (y, s) = exp_parts_fma(x);
    y.mul_add(s, s)
}

/// 1 / (1 + e^-x) on `exp_parts_fma`: the denominator is one fused s * y + (s + 1).
#[inline(always)]
pub fn sigmoid_fma(x: f32) -> f32 {
    let (y, s) = exp_parts_fma(-x);
    1.0 / y.mul_add(s, s + 1.0)
}

/// `tanh` with fused multiply-adds (see `exp_fma`).
#[inline(always)]
pub fn tanh_fma(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut p = -5.704_988_7e-3_f32;
    p = p.mul_add(z, 2.063_909e-2);
    p = p.mul_add(z, -5.373_971_6e-2);
    p = p.mul_add(z, 1.333_144_2e-1);
    p = p.mul_add(z, -3.333_328e-1);
    let small = (p * z).mul_add(x, x);
    let big = 1.0 - 2.0 / (exp_fma(2.0 * a) + 1.0);
    let big = if x < 0.0 { -big } else { big };
    if a < 0.625 {
        small
    } else {
        big
    }
}

/// tanh(x) as 2 sigmoid(2x) - 1 on `sigmoid_fma`: one exp and one divide, against both the
/// polynomial and the exp branch of `tanh_fma`. Its error is absolute (a few 1e-8, from
/// rounding sigmoid near 1/2), not relative: fine where the value is then added to or
/// multiplied with O(1) terms, as in the LSTM's gates and cell output; not for tiny inputs
/// that must stay exact. Saturates to exactly +-1 and propagates NaN.
#[inline(always)]
pub fn tanh_sig_fma(x: f32) -> f32 {
    2.0f32.mul_add(sigmoid_fma(2.0 * x), -1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-40_000..=40_000).map(|i| i as f32 * 1e-3)
    }

    fn ulps(a: f32, b: f64) -> f64 {
        (a as f64 - b).abs() / (b.abs() * f32::EPSILON as f64).max(f32::MIN_POSITIVE as f64)
    }

    #[test]
    fn exp_is_within_a_few_ulp() {
        for x in grid().chain([-86.9, 87.9, 0.0, 1e-8]) {
            let e = ulps(exp(x), (x as f64).exp());
            assert!(e < 4.0, "exp({x}) off by {e} ulp");
        }
    }

    #[test]
    fn fused_versions_are_as_accurate() {
        // The whole clamped range of exp on a fine grid, then the cells' working range.
        let wide = (-870_000..=880_000).map(|i| i as f32 * 1e-4);
        for x in wide.chain(grid()).chain([-87.0, 88.0, 0.0, 1e-8]) {
            let e = ulps(exp_fma(x), (x as f64).exp());
            assert!(e < 1.5, "exp_fma({x}) off by {e} ulp");
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            let e = ulps(sigmoid_fma(x), s);
            assert!(e < 2.5 || s < 1e-30, "sigmoid_fma({x}) off by {e} ulp");
            let t = (x as f64).tanh();
            assert!(ulps(tanh_fma(x), t) < 6.0, "tanh_fma({x})");
        }
        assert_eq!(tanh_fma(50.0), 1.0);
        assert_eq!(tanh_fma(-50.0), -1.0);
        assert_eq!(tanh_fma(1e-10), 1e-10);
        assert_eq!(sigmoid_fma(200.0), 1.0);
        assert!(sigmoid_fma(f32::NAN).is_nan() && tanh_fma(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_through_sigmoid_is_within_its_absolute_error() {
        for x in grid().chain([0.0, 1e-8, -1e-8, 9.0, -9.0]) {
            let e = (tanh_sig_fma(x) as f64 - (x as f64).tanh()).abs();
            assert!(e < 2.5e-7, "tanh_sig_fma({x}) off by {e}");
        }
        assert_eq!(tanh_sig_fma(50.0), 1.0);
        assert_eq!(tanh_sig_fma(-50.0), -1.0);
        assert!(tanh_sig_fma(f32::NAN).is_nan());
    }

    #[test]
    fn exp_saturates_instead_of_overflowing() {
        assert!(exp(1000.0).is_finite() && exp(1000.0) > 1e38);
        assert!(exp(-1000.0) >= 0.0 && exp(-1000.0) < 1e-37);
    }

    #[test]
    fn sigmoid_and_tanh_match_f64() {
        for x in grid() {
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!((sigmoid(x) as f64 - s).abs() < 2e-7, "sigmoid({x})");
            assert!(
                ulps(sigmoid(x), s) < 6.0 || s < 1e-30,
                "sigmoid({x}) relative"
            );
            let t = (x as f64).tanh();
            assert!(ulps(tanh(x), t) < 6.0, "tanh({x}) = {} vs {t}", tanh(x));
        }
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-50.0), -1.0);
        assert!(sigmoid(-200.0) < 1e-37);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn tanh_is_odd_and_tiny_inputs_stay_exact() {
        for x in [1e-30f32, 1e-10, 1e-4, 0.3, 0.7, 2.0, 9.0] {
            assert_eq!(tanh(-x), -tanh(x));
        }
        assert_eq!(tanh(1e-10), 1e-10);
    }

    #[test]
    fn nan_propagates() {
        assert!(sigmoid(f32::NAN).is_nan());
        assert!(tanh(f32::NAN).is_nan());
        assert!(relu(f32::NAN).is_nan());
    }
}
