//! Packing of A and B into the panel layout the micro-kernels read.
//!
//! One routine serves both operands: a panel is `W` consecutive rows of A (W = MR) or columns
//! of B (W = NR), stored as kc groups of W contiguous values, zero-padded to W at the edge so
//! the kernels never branch on the tile size. The source may have any strides; the two common
//! layouts get fast paths: the W values of one step are contiguous (`s_outer == 1`: A^T, B
//! row-major; copied source row by source row) or the kc values of one row are contiguous
//! (`s_k == 1`: A row-major, B^T; transposed in blocks).
//! Generic and `inline(always)` so each ISA file compiles it with its own vector width.

use super::kernel::PackArgs;
use std::ptr;

/// Steps of p transposed together in the `s_k == 1` path: W rows of this many contiguous
/// values each stay in L1 while they are scattered into the panel.
const K_BLOCK: usize = 8;

/// Packs `p.len` rows of length `p.kc` into `ceil(len / W)` panels of `W * kc` values at `dst`.
///
/// # Safety
/// Every element (o, k) with o < len, k < kc is readable at `src + o * s_outer + k * s_k`, and
/// `dst` has room for `ceil(len / W) * W * kc` values.
#[inline(always)]
pub(super) unsafe fn pack_panels<const W: usize>(p: &PackArgs, dst: *mut f32) {
    let mut o = 0;
    let mut dst = dst;
    if p.s_outer == 1 {
        // Full panels row by row of the source: one sequential read of each source row feeds
        // every panel. Panel by panel would stride through the source once per panel, one
        // cache line per step for only W values: for A's panels (W = MR = 6) of an LSTM's
        // Z^T dG (161 x 512 x 3200) that was latency-bound at ~0.4 ms of a 20 ms layer step,
        // and row by row made the whole layer ~0.35 ms faster (Zen 3, 1 thread); the MLP's
        // transposed-A products measured the same either way.
        let full = p.len / W;
        for k in 0..p.kc {
            let row = p.src.add(k * p.s_k);
            for q in 0..full {
                ptr::copy_nonoverlapping(row.add(q * W), dst.add(q * W * p.kc + k * W), W);
            }
        }
        o = full * W;
        dst = dst.add(full * W * p.kc);
    }
    // What is left: every panel when s_outer != 1, else only a last, partial panel.
    while o < p.len {
        let w = W.min(p.len - o);
        let src = p.src.add(o * p.s_outer);
        if w == W && p.s_k == 1 {
            pack_transposed::<W>(src, p.s_outer, p.kc, dst);
        } else {
            pack_general::<W>(src, w, p.kc, p.s_outer, p.s_k, dst);
        }
        o += W;
        dst = dst.add(W * p.kc);
    }
}

/// A full panel whose rows are contiguous in k: a blocked transpose.
#[inline(always)]
unsafe fn pack_transposed<const W: usize>(
    src: *const f32,
    s_outer: usize,
    kc: usize,
    dst: *mut f32,
) {
    let mut k0 = 0;
    while k0 + K_BLOCK <= kc {
        for i in 0..W {
            let row = src.add(i * s_outer + k0);
            for kk in 0..K_BLOCK {
                *dst.add((k0 + kk) * W + i) = *row.add(kk);
            }
        }
        k0 += K_BLOCK;
    }
    for i in 0..W {
        let row = src.add(i * s_outer);
        for k in k0..kc {
            *dst.add(k * W + i) = *row.add(k);
        }
    }
}

/// Any strides, `w <= W` live rows, the rest of the panel zero.
#[inline(always)]
pub(super) unsafe fn pack_general<const W: usize>(
    src: *const f32,
    w: usize,
    kc: usize,
    s_outer: usize,
    s_k: usize,
    dst: *mut f32,
) {
    for k in 0..kc {
        let d = dst.add(k * W);
        for i in 0..w {
            *d.add(i) = *src.add(i * s_outer + k * s_k);
        }
        for i in w..W {
            *d.add(i) = 0.0;
        }
    }
}
