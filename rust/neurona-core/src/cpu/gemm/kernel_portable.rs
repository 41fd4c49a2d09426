//! The portable micro-kernel: plain Rust on fixed-size arrays, which the compiler vectorises
//! with whatever the target's baseline offers. Used where no faster kernel applies. Generic
//! over the tile shape so the tests can also drive the driver and packing with the tile
//! shapes of kernels this machine cannot run (AVX-512's 12 x 32, NEON's 8 x 12).

use super::kernel::{define_kernel_set, MicroKernel, Update};
use super::pack::pack_panels;

/// An MR x NR tile of scalar code.
pub(super) struct Portable<const MR: usize, const NR: usize>;

impl<const MR: usize, const NR: usize> MicroKernel for Portable<MR, NR> {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline(always)]
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update) {
        let mut acc = [[0.0f32; NR]; MR];
        for p in 0..kc {
            // Whole rows as arrays (unaligned reads): lets the compiler keep `acc` in
            // registers and vectorise over j.
            let av = a.add(p * MR).cast::<[f32; MR]>().read_unaligned();
            let bv = b.add(p * NR).cast::<[f32; NR]>().read_unaligned();
            for (row, &ai) in acc.iter_mut().zip(av.iter()) {
                for (x, &bj) in row.iter_mut().zip(bv.iter()) {
                    *x += ai * bj;
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
                    // Not v.max(0.0), which drops NaN (ReLU keeps it, as in PyTorch).
                    v = if v <= 0.0 { 0.0 } else { v };
                }
                *cr.add(j) = v;
            }
        }
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
        if mr == 0 || mr > MR {
            return false;
        }
        Self::tile_with(mr, kc, |i, p| *a.add(i * rs_a + p * cs_a), b, c, rs_c, u);
        true
    }
}

impl<const MR: usize, const NR: usize> Portable<MR, NR> {
    /// The accumulation and merge of `tile`, rows 0..mr, with A's element (i, p) read by
    /// `a_at(i, p)`: the packed and the unpacked path share this code, so they agree bitwise.
    #[inline(always)]
    unsafe fn tile_with(
        mr: usize,
        kc: usize,
        a_at: impl Fn(usize, usize) -> f32,
        b: *const f32,
        c: *mut f32,
        rs_c: usize,
        u: &Update,
    ) {
        let mut acc = [[0.0f32; NR]; MR];
        for p in 0..kc {
            let bv = b.add(p * NR).cast::<[f32; NR]>().read_unaligned();
            for (i, row) in acc.iter_mut().enumerate().take(mr) {
                let ai = a_at(i, p);
                for (x, &bj) in row.iter_mut().zip(bv.iter()) {
                    *x += ai * bj;
                }
            }
        }
        for (i, row) in acc.iter().enumerate().take(mr) {
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
                    // Not v.max(0.0), which drops NaN (ReLU keeps it, as in PyTorch).
                    v = if v <= 0.0 { 0.0 } else { v };
                }
                *cr.add(j) = v;
            }
        }
    }
}

define_kernel_set!("portable", Portable<4, 8>, 4, 8, pack_panels);
