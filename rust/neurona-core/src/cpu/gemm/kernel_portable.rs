//! The portable micro-kernel: plain Rust on fixed-size arrays, which the compiler vectorises
//! with whatever the target's baseline offers. Used where no faster kernel applies, and as a
//! second independent implementation in the tests.

use super::kernel::{define_kernel_set, MicroKernel, Update};
use super::pack::pack_panels;

const MR: usize = 4;
const NR: usize = 8;

pub(super) struct Portable;

impl MicroKernel for Portable {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update) {
        let mut acc = [[0.0f32; NR]; MR];
        for p in 0..kc {
            let ap = a.add(p * MR);
            let bp = b.add(p * NR);
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = *ap.add(i);
                for (j, x) in row.iter_mut().enumerate() {
                    *x += ai * *bp.add(j);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            let cr = c.add(i * rs_c);
            for (j, &x) in row.iter().enumerate() {
                let mut v = u.alpha * x;
                if u.load_c {
                    v += u.beta * *cr.add(j);
                }
                if !u.bias.is_null() {
                    v += *u.bias.add(j);
                }
                if u.relu {
                    v = v.max(0.0);
                }
                *cr.add(j) = v;
            }
        }
    }
}

define_kernel_set!("portable", Portable, MR, NR, pack_panels);
