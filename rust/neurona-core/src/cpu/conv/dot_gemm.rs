//! `C += A * B^T` where A (m x len) and B (n x len) have contiguous rows: every element of C is
//! a dot product of two contiguous rows.
//!
//! This is the shape of a weight gradient (a sum over positions), where both operands come out
//! of the transforms with the summed index contiguous. The packed `sgemm` would first transpose
//! both into panels, which costs about as much as the products when m and n are only 32..64;
//! reading the rows in place avoids that. Blocks of 4 rows of A by 3 rows of B keep 12 vector
//! accumulators of 8 lanes; each lane sums every 8th term, the lanes and the tail are then
//! added in a fixed order, so results do not depend on threads (nor on where a block falls).
//!
//! The lanes are added pairwise `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`: the order
//! of a horizontal-add tree, so the AVX2 path reduces eight accumulators at once with six
//! `hadd`s (a scalar reduction per accumulator cost as much as the dot products themselves
//! when rows are a few hundred long), and the portable path adds in the same order.

const MR: usize = 4;
const NR: usize = 3;
const LANES: usize = 8;

/// `c[i * ldc + j] += sum_t a[i * lda + t] * b[j * ldb + t]` for i < m, j < n, t < len.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_abt_acc(
    (m, n, len): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(a.len() >= (m - 1) * lda + len && b.len() >= (n - 1) * ldb + len);
    assert!(c.len() >= (m - 1) * ldc + n);
    #[cfg(target_arch = "x86_64")]
    if super::simd::has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA, and the asserts above keep every access in bounds.
        unsafe { avx2::gemm(m, n, len, a, lda, b, ldb, c, ldc) };
        return;
    }
    portable(m, n, len, a, lda, b, ldb, c, ldc);
}

/// Sums the lanes and the tail in the same order as the AVX2 path's horizontal reduction.
#[inline(always)]
fn reduce(l: [f32; LANES], tail: f32) -> f32 {
    (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))) + tail
}

#[allow(clippy::too_many_arguments)]
fn portable(
    m: usize,
    n: usize,
    len: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    let full = len / LANES * LANES;
    for i in 0..m {
        let ar = &a[i * lda..i * lda + len];
        for j in 0..n {
            let br = &b[j * ldb..j * ldb + len];
            let mut l = [0.0f32; LANES];
            for (ac, bc) in ar[..full]
                .chunks_exact(LANES)
                .zip(br[..full].chunks_exact(LANES))
            {
                for k in 0..LANES {
                    l[k] = ac[k].mul_add(bc[k], l[k]);
                }
            }
            let mut tail = 0.0f32;
            for t in full..len {
                tail = ar[t].mul_add(br[t], tail);
            }
            c[i * ldc + j] += reduce(l, tail);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LANES, MR, NR};
    use std::arch::x86_64::*;

    /// One block of `R` rows of A by `S` rows of B.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const R: usize, const S: usize>(
        len: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        let mut acc = [[_mm256_setzero_ps(); S]; R];
        let full = len / LANES * LANES;
        let mut t = 0;
        while t < full {
            let bv: [__m256; S] = std::array::from_fn(|j| _mm256_loadu_ps(b.add(j * ldb + t)));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm256_loadu_ps(a.add(i * lda + t));
                for (accv, &bvj) in row.iter_mut().zip(&bv) {
                    *accv = _mm256_fmadd_ps(av, bvj, *accv);
                }
            }
            t += LANES;
        }
        // Horizontal sums of all R * S accumulators, eight at a time (block (i, j) is entry
        // i * S + j), then the tails (only when len is not a multiple of 8) in scalar order.
        let mut sums = [0.0f32; 16];
        let flat: [__m256; 16] = std::array::from_fn(|q| {
            if q < R * S {
                acc[q / S][q % S]
            } else {
                _mm256_setzero_ps()
            }
        });
        for g in 0..(R * S).div_ceil(LANES) {
            let v = &flat[g * LANES..g * LANES + LANES];
            _mm256_storeu_ps(sums.as_mut_ptr().add(g * LANES), hsum8(v));
        }
        for i in 0..R {
            for j in 0..S {
                let mut tail = 0.0f32;
                for k in full..len {
                    tail = (*a.add(i * lda + k)).mul_add(*b.add(j * ldb + k), tail);
                }
                *c.add(i * ldc + j) += sums[i * S + j] + tail;
            }
        }
    }

    /// Lane q of the result is `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))` of `v[q]`
    /// (the portable `reduce` order, without the tail).
    #[inline(always)]
    unsafe fn hsum8(v: &[__m256]) -> __m256 {
        // hadd(x, y) = [x0+x1, x2+x3, y0+y1, y2+y3 | x4+x5, x6+x7, y4+y5, y6+y7].
        let t0 = _mm256_hadd_ps(v[0], v[1]);
        let t1 = _mm256_hadd_ps(v[2], v[3]);
        let t2 = _mm256_hadd_ps(v[4], v[5]);
        let t3 = _mm256_hadd_ps(v[6], v[7]);
        // u0 = [v0 (01+23), v1 .., v2 .., v3 .. | v0 (45+67), v1 .., v2 .., v3 ..].
        let u0 = _mm256_hadd_ps(t0, t1);
        let u1 = _mm256_hadd_ps(t2, t3);
        let lo = _mm256_permute2f128_ps(u0, u1, 0x20);
        let hi = _mm256_permute2f128_ps(u0, u1, 0x31);
        _mm256_add_ps(lo, hi)
    }

    /// # Safety
    /// AVX2 and FMA are available; every row read and C element written is in bounds.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm(
        m: usize,
        n: usize,
        len: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
    ) {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut i = 0;
        while i < m {
            let r = MR.min(m - i);
            let mut j = 0;
            while j < n {
                let s = NR.min(n - j);
                let (ap, bp, cp) = (a.add(i * lda), b.add(j * ldb), c.add(i * ldc + j));
                match (r, s) {
                    (4, 3) => block::<4, 3>(len, ap, lda, bp, ldb, cp, ldc),
                    (4, 2) => block::<4, 2>(len, ap, lda, bp, ldb, cp, ldc),
                    (4, 1) => block::<4, 1>(len, ap, lda, bp, ldb, cp, ldc),
                    (3, 3) => block::<3, 3>(len, ap, lda, bp, ldb, cp, ldc),
                    (3, 2) => block::<3, 2>(len, ap, lda, bp, ldb, cp, ldc),
                    (3, 1) => block::<3, 1>(len, ap, lda, bp, ldb, cp, ldc),
                    (2, 3) => block::<2, 3>(len, ap, lda, bp, ldb, cp, ldc),
                    (2, 2) => block::<2, 2>(len, ap, lda, bp, ldb, cp, ldc),
                    (2, 1) => block::<2, 1>(len, ap, lda, bp, ldb, cp, ldc),
                    (1, 3) => block::<1, 3>(len, ap, lda, bp, ldb, cp, ldc),
                    (1, 2) => block::<1, 2>(len, ap, lda, bp, ldb, cp, ldc),
                    _ => block::<1, 1>(len, ap, lda, bp, ldb, cp, ldc),
                }
                j += s;
            }
            i += r;
        }
    }
}
