//! The AVX2 + FMA micro-kernel: 6 x 16, i.e. 12 ymm accumulators (6 rows x 2 vectors of 8
//! columns), 2 ymm for the B row and 1 for the broadcast A value, out of 16 registers. The
//! same code with fewer rows serves the last, partial panel of rows (m = 128 leaves 2), so it
//! costs 2/6 of a full tile, not a full one; per element the arithmetic is the same.

use super::kernel::{define_kernel_set, MicroKernel, Update};
use super::pack_x86::pack_panels_avx2;
use std::arch::x86_64::*;

const MR: usize = 6;
const NR: usize = 16;

pub(super) struct Avx2;

impl MicroKernel for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update) {
        tile_rows::<MR>(kc, a, b, c, rs_c, u)
    }

    #[inline(always)]
    unsafe fn tile_rows(
        mr: usize,
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        rs_c: usize,
        u: &Update,
    ) -> bool {
        match mr {
            1 => tile_rows::<1>(kc, a, b, c, rs_c, u),
            2 => tile_rows::<2>(kc, a, b, c, rs_c, u),
            3 => tile_rows::<3>(kc, a, b, c, rs_c, u),
            4 => tile_rows::<4>(kc, a, b, c, rs_c, u),
            5 => tile_rows::<5>(kc, a, b, c, rs_c, u),
            _ => return false,
        }
        true
    }

    const STRIDED: bool = true;

    #[inline(always)]
    unsafe fn tile_strided(
        mr: usize,
        kc: usize,
        a: *const f32,
        (rs_a, cs_a): (usize, usize),
        b: *const f32,
        c: *mut f32,
        rs_c: usize,
        u: &Update,
    ) -> bool {
        match mr {
            1 => tile_strided::<1>(kc, a, rs_a, cs_a, b, c, rs_c, u),
            2 => tile_strided::<2>(kc, a, rs_a, cs_a, b, c, rs_c, u),
            3 => tile_strided::<3>(kc, a, rs_a, cs_a, b, c, rs_c, u),
            4 => tile_strided::<4>(kc, a, rs_a, cs_a, b, c, rs_c, u),
            5 => tile_strided::<5>(kc, a, rs_a, cs_a, b, c, rs_c, u),
            6 => tile_strided::<6>(kc, a, rs_a, cs_a, b, c, rs_c, u),
            _ => return false,
        }
        true
    }

    #[inline(always)]
    unsafe fn prefetch_l2(p: *const f32) {
        _mm_prefetch::<_MM_HINT_T1>(p.cast());
    }
}

/// The first R rows of a 6 x 16 tile (the A panel keeps its stride of MR per step).
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_rows<const R: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rs_c: usize,
    u: &Update,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let b0 = _mm256_loadu_ps(b);
        let b1 = _mm256_loadu_ps(b.add(8));
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = _mm256_broadcast_ss(&*a.add(i));
            row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
            row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    store(&acc, c, rs_c, u);
}

/// The first R rows of a tile with A unpacked: element (i, p) at `a[i * rs_a + p * cs_a]`.
/// The same FMAs in the same order as `tile_rows`, so the result is bitwise the same.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_strided<const R: usize>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    c: *mut f32,
    rs_c: usize,
    u: &Update,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    let mut rows = [a; R];
    for (i, r) in rows.iter_mut().enumerate() {
        *r = a.wrapping_add(i * rs_a);
    }
    let mut b = b;
    for p in 0..kc {
        let b0 = _mm256_loadu_ps(b);
        let b1 = _mm256_loadu_ps(b.add(8));
        for (row, r) in acc.iter_mut().zip(&rows) {
            let ai = _mm256_broadcast_ss(&*r.add(p * cs_a));
            row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
            row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
        }
        b = b.add(NR);
    }
    store(&acc, c, rs_c, u);
}

/// Merges R rows of accumulators into C (see `Update`).
#[inline(always)]
unsafe fn store<const R: usize>(acc: &[[__m256; 2]; R], c: *mut f32, rs_c: usize, u: &Update) {
    let alpha = _mm256_set1_ps(u.alpha);
    let beta = _mm256_set1_ps(u.beta);
    let zero = _mm256_setzero_ps();
    for (i, row) in acc.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            let p = c.add(i * rs_c + 8 * v);
            let mut y = _mm256_mul_ps(alpha, x);
            if u.load_c {
                y = _mm256_add_ps(y, _mm256_mul_ps(beta, _mm256_loadu_ps(p)));
            }
            if !u.bias.is_null() {
                y = _mm256_add_ps(y, _mm256_loadu_ps(u.bias.add(8 * v)));
            }
            if u.relu {
                // Not max(y, 0): that drops NaN. Zero where y <= 0 (ordered), keep y otherwise.
                y = _mm256_andnot_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(y, zero), y);
            }
            _mm256_storeu_ps(p, y);
        }
    }
}

define_kernel_set!("avx2", Avx2, MR, NR, pack_panels_avx2, "avx2,fma");
