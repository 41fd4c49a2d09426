//! AVX2 packing for x86 kernels: the transposing case (rows contiguous in k: A row-major, or
//! B given as B^T) with 8 x 8 register transposes instead of scalar scatter. Everything else
//! goes to the generic `pack::pack_panels`. Used by the AVX2 and AVX-512 kernel sets, whose
//! functions enable AVX2.

use super::kernel::PackArgs;
use super::pack::{pack_general, pack_panels};
use std::arch::x86_64::*;

/// As `pack::pack_panels`, with the transposing case vectorised.
///
/// # Safety
/// As `pack::pack_panels`; the CPU has AVX2.
#[inline(always)]
pub(super) unsafe fn pack_panels_avx2<const W: usize>(p: &PackArgs, dst: *mut f32) {
    if p.s_k != 1 || p.s_outer == 1 {
        return pack_panels::<W>(p, dst);
    }
    let mut o = 0;
    let mut dst = dst;
    while o < p.len {
        let w = W.min(p.len - o);
        let src = p.src.add(o * p.s_outer);
        if w == W {
            transpose_panel::<W>(src, p.s_outer, p.kc, dst);
        } else {
            pack_general::<W>(src, w, p.kc, p.s_outer, 1, dst);
        }
        o += W;
        dst = dst.add(W * p.kc);
    }
}

/// A full panel of W rows, each contiguous in k: blocks of 8 rows x 8 steps go through an
/// 8 x 8 transpose; a last group of fewer than 8 rows loads zeros for the missing rows and
/// stores only its lanes, so nothing outside the panel is read or written. (Masked stores
/// would be shorter to write but are slow on AMD cores.)
#[inline(always)]
unsafe fn transpose_panel<const W: usize>(src: *const f32, s: usize, kc: usize, dst: *mut f32) {
    let mut i0 = 0;
    while i0 < W {
        let rows = (W - i0).min(8);
        let mut k0 = 0;
        while k0 + 8 <= kc {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, ri) in r.iter_mut().enumerate().take(rows) {
                *ri = _mm256_loadu_ps(src.add((i0 + i) * s + k0));
            }
            let t = transpose8(r);
            for (kk, tk) in t.iter().enumerate() {
                let d = dst.add((k0 + kk) * W + i0);
                if rows == 8 {
                    _mm256_storeu_ps(d, *tk);
                } else {
                    store_first(d, *tk, rows);
                }
            }
            k0 += 8;
        }
        for k in k0..kc {
            for i in 0..rows {
                *dst.add(k * W + i0 + i) = *src.add((i0 + i) * s + k);
            }
        }
        i0 += 8;
    }
}

/// Stores lanes 0..n (n < 8) of v at d.
#[inline(always)]
unsafe fn store_first(d: *mut f32, v: __m256, n: usize) {
    let (mut d, mut x, mut n) = (d, _mm256_castps256_ps128(v), n);
    if n >= 4 {
        _mm_storeu_ps(d, x);
        (d, x, n) = (d.add(4), _mm256_extractf128_ps::<1>(v), n - 4);
    }
    if n >= 2 {
        _mm_store_sd(d.cast::<f64>(), _mm_castps_pd(x));
        (d, x, n) = (d.add(2), _mm_movehl_ps(x, x), n - 2);
    }
    if n == 1 {
        _mm_store_ss(d, x);
    }
}

/// Rows r[0..8] of 8 floats in, columns out: out[k] = (r[0][k], ..., r[7][k]).
#[inline(always)]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // Per 128-bit half: columns 0..4 of rows 0..4 (u0..u3) and of rows 4..8 (u4..u7).
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}
