//! Packing B for the whole depth of a product, split among threads, and the raw-pointer
//! wrappers the driver's rayon tasks share. Used by the driver and by pre-packed B.

use super::driver::PAR_PACK_MIN;
use super::kernel::{KernelSet, PackArgs};
use rayon::prelude::*;

/// A strided operand as raw parts, valid for the whole call (checked by `check_fits`).
#[derive(Clone, Copy)]
pub(super) struct Src {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

/// Raw parts shared by the rayon tasks of one call. Tasks read A, B and the packed B panel,
/// and write pairwise disjoint tiles of C (guaranteed by `disjoint`), so sharing is sound.
#[derive(Clone, Copy)]
pub(super) struct Shared<T>(pub(super) T);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}
impl<T: Copy> Shared<T> {
    // A method, not field access, so closures capture the whole Sync wrapper.
    pub(super) fn get(&self) -> T {
        self.0
    }
}

/// Packs B's columns jc..jc + ncur for all K blocks, split among threads by K block and
/// groups of NR panels.
pub(super) unsafe fn pack_b(
    ks: &KernelSet,
    b: Src,
    (jc, ncur): (usize, usize),
    (nkb, kc_step, k): (usize, usize, usize),
    dst: Shared<*mut f32>,
    threads: usize,
) {
    let nr = ks.nr;
    let npanels = ncur.div_ceil(nr);
    let b = Shared(b);
    let pack = |kb: usize, p0: usize, p1: usize| {
        let b = b.get();
        let pc = kb * kc_step;
        let kc = kc_step.min(k - pc);
        let args = PackArgs {
            src: b.ptr.wrapping_add(pc * b.rs + (jc + p0 * nr) * b.cs),
            len: (p1 * nr).min(ncur) - p0 * nr,
            kc,
            s_outer: b.cs,
            s_k: b.rs,
        };
        let at = pc * npanels * nr + p0 * nr * kc;
        // SAFETY: the caller's contract; dst holds k * npanels * NR values.
        unsafe { (ks.pack_b)(&args, dst.get().wrapping_add(at)) }
    };
    if threads > 1 && nkb * npanels > 1 && k * ncur >= PAR_PACK_MIN {
        // About four pieces per thread, each a group of panels of one K block.
        let chunk = (nkb * npanels).div_ceil(threads * 4).clamp(1, npanels);
        let groups = npanels.div_ceil(chunk);
        (0..nkb * groups).into_par_iter().for_each(|t| {
            let (kb, g) = (t / groups, t % groups);
            pack(kb, g * chunk, ((g + 1) * chunk).min(npanels));
        });
    } else {
        for kb in 0..nkb {
            pack(kb, 0, npanels);
        }
    }
}
