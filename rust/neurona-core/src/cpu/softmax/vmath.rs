//! Vectorizable math on f32 slices for the softmax kernels (and the fused losses): a
//! polynomial `exp` and f64 sums over 8 fixed lanes. Every function gives the same bits on the
//! AVX2 path and the portable one (same IEEE operations in the same order, no FMA), so
//! results do not depend on which is taken.

const LANES: usize = 8;

/// `x = exp(x)` in place, for `x <= 0` (the kernels only exponentiate shifted values):
/// relative error within ~2 ulp, exact `exp(0) = 1`, `exp(-inf) = 0`, NaN stays NaN; results
/// below ~2^-126 flush towards 0 (x < -87.7 gives 0).
pub fn exp_inplace(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { exp_avx2(x) };
        return;
    }
    exp_slice(x);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exp_avx2(x: &mut [f32]) {
    exp_slice(x);
}

/// [`exp_inplace`] without the dispatch, to inline into a caller built for AVX2.
#[inline(always)]
pub fn exp_slice(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = exp1(*v));
}

/// Cephes' `expf`: x = n ln2 + r with |r| <= ln2 / 2, a degree-6 polynomial for e^r, and
/// 2^n assembled in the exponent bits. Branch-free so the loops vectorize.
#[inline(always)]
pub fn exp1(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer.
    const MAGIC: f32 = 12_582_912.0;
    // f32::clamp keeps NaN as NaN (f32::max/min would turn it into a bound).
    let xc = x.clamp(-88.0, 88.0);
    let t = xc * std::f32::consts::LOG2_E + MAGIC;
    let fx = t - MAGIC;
    let n = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let r = (xc - fx * 0.693_359_4) - fx * -2.121_944_4e-4;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * z + r + 1.0;
    // n is in [-127, 127] for the clamped input: n = -127 gives 0 (flush), else 2^n.
    y * f32::from_bits((n.wrapping_add(127) as u32) << 23)
}

/// Sum in f64 over 8 lanes in a fixed order (vectorizes; the order depends on the length
/// only).
#[inline(always)]
pub fn sum_f64(x: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v as f64;
        }
    }
    tail.iter().fold(fold_lanes(acc), |s, &v| s + v as f64)
}

/// Dot product in f64 over 8 lanes in a fixed order.
#[inline(always)]
pub fn dot_f64(x: &[f32], y: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (cx, cy) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let (tx, ty) = (cx.remainder(), cy.remainder());
    for (a, b) in cx.zip(cy) {
        for ((s, &u), &v) in acc.iter_mut().zip(a).zip(b) {
            *s += u as f64 * v as f64;
        }
    }
    tx.iter()
        .zip(ty)
        .fold(fold_lanes(acc), |s, (&u, &v)| s + u as f64 * v as f64)
}

#[inline(always)]
fn fold_lanes(a: [f64; LANES]) -> f64 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// NaN-propagating max of two values (f32::max would drop a NaN and hide it).
#[inline(always)]
pub fn max2(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

/// NaN-propagating max of a slice, `-inf` for an empty one. Max is order-independent, so
/// the 8 lanes change nothing but speed.
#[inline(always)]
pub fn max_nan(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = max2(*a, v);
        }
    }
    tail.iter().fold(
        acc.iter().fold(f32::NEG_INFINITY, |m, &v| max2(m, v)),
        |m, &v| max2(m, v),
    )
}
