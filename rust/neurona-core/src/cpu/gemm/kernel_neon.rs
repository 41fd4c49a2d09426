//! The aarch64 NEON micro-kernel: 8 x 12, i.e. 24 q-register accumulators (8 rows x 3 vectors
//! of 4 columns), 3 for the B row, out of 32. NEON is part of the aarch64 baseline, so this is
//! the default there. Compiled only on aarch64.

use super::kernel::{define_kernel_set, MicroKernel, Update};
use super::pack::pack_panels;
use std::arch::aarch64::*;

const MR: usize = 8;
const NR: usize = 12;

pub(super) struct Neon;

impl MicroKernel for Neon {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update) {
        tile_8x12(kc, a, b, c, rs_c, u)
    }
}

#[target_feature(enable = "neon")]
unsafe fn tile_8x12(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update) {
    let mut acc = [[vdupq_n_f32(0.0); 3]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let bv = [vld1q_f32(b), vld1q_f32(b.add(4)), vld1q_f32(b.add(8))];
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = *a.add(i);
            for (x, &bj) in row.iter_mut().zip(bv.iter()) {
                // x + bj * ai, fused.
                *x = vfmaq_n_f32(*x, bj, ai);
            }
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    let alpha = vdupq_n_f32(u.alpha);
    let beta = vdupq_n_f32(u.beta);
    let zero = vdupq_n_f32(0.0);
    for (i, row) in acc.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            let p = c.add(i * rs_c + 4 * v);
            let mut y = vmulq_f32(alpha, x);
            if u.load_c {
                y = vaddq_f32(y, vmulq_f32(beta, vld1q_f32(p)));
            }
            if !u.bias.is_null() {
                y = vaddq_f32(y, vld1q_f32(u.bias.add(4 * v)));
            }
            if u.relu {
                y = vmaxq_f32(y, zero);
            }
            vst1q_f32(p, y);
        }
    }
}

define_kernel_set!("neon", Neon, MR, NR, pack_panels, "neon");
