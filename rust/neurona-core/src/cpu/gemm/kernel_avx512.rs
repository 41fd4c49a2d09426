//! The AVX-512F micro-kernel: 12 x 32, i.e. 24 zmm accumulators (12 rows x 2 vectors of 16
//! columns), 2 zmm for the B row and broadcasts folded into the FMAs, out of 32 registers.

use super::kernel::{define_kernel_set, MicroKernel, Update};
use super::pack_x86::pack_panels_avx2;
use std::arch::x86_64::*;

const MR: usize = 12;
const NR: usize = 32;

pub(super) struct Avx512;

impl MicroKernel for Avx512 {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update) {
        tile_12x32(kc, a, b, c, rs_c, u)
    }

    #[inline(always)]
    unsafe fn prefetch_l2(p: *const f32) {
        _mm_prefetch::<_MM_HINT_T1>(p.cast());
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn tile_12x32(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rs_c: usize,
    u: &Update,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let b0 = _mm512_loadu_ps(b);
        let b1 = _mm512_loadu_ps(b.add(16));
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = _mm512_set1_ps(*a.add(i));
            row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
            row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    let alpha = _mm512_set1_ps(u.alpha);
    let beta = _mm512_set1_ps(u.beta);
    let zero = _mm512_setzero_ps();
    for (i, row) in acc.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            let p = c.add(i * rs_c + 16 * v);
            let mut y = _mm512_mul_ps(alpha, x);
            if u.load_c {
                y = _mm512_add_ps(y, _mm512_mul_ps(beta, _mm512_loadu_ps(p)));
            }
            if !u.bias.is_null() {
                y = _mm512_add_ps(y, _mm512_loadu_ps(u.bias.add(16 * v)));
            }
            if u.relu {
                // Not max(y, 0): that drops NaN. Keep y where !(y <= 0), NaN included.
                y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NLE_UQ>(y, zero), y);
            }
            _mm512_storeu_ps(p, y);
        }
    }
}

define_kernel_set!(
    "avx512",
    Avx512,
    MR,
    NR,
    pack_panels_avx2,
    "avx512f,avx2,fma"
);
