//! The contract between the ISA-neutral driver and the per-ISA micro-kernels.
//!
//! A micro-kernel multiplies one packed MR x kc panel of A by one packed kc x NR panel of B and
//! merges the MR x NR result into C (`Update`). The macro-kernel here walks a packed block tile
//! by tile; tiles that are cut by the matrix edge, or a C whose columns are not contiguous, go
//! through a small stack tile so that every element is computed by the very same vector code,
//! which keeps results independent of how the output is split between threads.
//!
//! Each ISA file instantiates the generic packing and macro-kernel inside functions compiled
//! for its target features (`define_kernel_set!`) and exposes them as one `KernelSet`.

use std::ptr;

/// How an MR x NR tile of accumulators `acc` becomes C:
/// `c = alpha * acc (+ beta * c if load_c) (+ bias[j]) (then max(., 0) if relu)`.
/// Multiplies and adds stay separate (no fused multiply-add) so that vector and scalar code
/// round identically.
#[derive(Clone, Copy, Debug)]
pub(super) struct Update {
    pub alpha: f32,
    pub beta: f32,
    pub load_c: bool,
    /// Points at the bias of the tile's first column, or null for no bias.
    pub bias: *const f32,
    pub relu: bool,
}

/// An MR x NR register micro-kernel.
pub(super) trait MicroKernel {
    const MR: usize;
    const NR: usize;
    /// `a`: MR x kc panel, MR values per step of p; `b`: kc x NR panel, NR values per step.
    /// Writes the full MR x NR tile at `c` (row stride `rs_c`, unit column stride).
    ///
    /// # Safety
    /// The panels hold kc steps; the tile (and the bias, if any, for NR columns) is valid
    /// memory; the CPU has the kernel's features.
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rs_c: usize, u: &Update);

    /// Computes only the first `mr` (< MR) rows of the tile, straight into C, as `tile` would
    /// compute them. Returns false if the kernel has no such variant: the caller then goes
    /// through a stack tile.
    ///
    /// # Safety
    /// As `tile`, for the first `mr` rows of C.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_rows(
        _mr: usize,
        _kc: usize,
        _a: *const f32,
        _b: *const f32,
        _c: *mut f32,
        _rs_c: usize,
        _u: &Update,
    ) -> bool {
        false
    }

    /// Whether `tile_strided` is implemented (the driver then may skip packing A).
    const STRIDED: bool = false;

    /// The first `mr` (1..=MR) rows of a tile as `tile_rows` computes them, with the same
    /// operations in the same order, but reading A where it lies: element (i, p) of the panel
    /// at `a[i * rs_a + p * cs_a]`. Returns false if the kernel has no such variant.
    ///
    /// # Safety
    /// As `tile_rows`; every element (i, p), i < mr, p < kc, of A is readable.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_strided(
        _mr: usize,
        _kc: usize,
        _a: *const f32,
        _a_strides: (usize, usize),
        _b: *const f32,
        _c: *mut f32,
        _rs_c: usize,
        _u: &Update,
    ) -> bool {
        false
    }

    /// Hints that the cache line at `p` is needed soon (into L2); no-op by default.
    #[inline(always)]
    unsafe fn prefetch_l2(_p: *const f32) {}
}

/// Where a panel-packing call reads from: `len` rows of panels' long side (M for A, N for B),
/// each `kc` long; element (o, p) is at `src[o * s_outer + p * s_k]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct PackArgs {
    pub src: *const f32,
    pub len: usize,
    pub kc: usize,
    pub s_outer: usize,
    pub s_k: usize,
}

/// One call of the macro-kernel: a packed `mc x kc` block of A against `nc` packed columns of
/// B, written into the `mc x nc` region of C at `c`.
#[derive(Clone, Copy, Debug)]
pub(super) struct MacroArgs {
    pub mc: usize,
    pub nc: usize,
    pub kc: usize,
    pub a: *const f32,
    pub b: *const f32,
    pub c: *mut f32,
    pub rs_c: usize,
    pub cs_c: usize,
    pub upd: Update,
    /// Prefetch each next B panel while the current one is in use: set when the packed B of
    /// one K block is larger than L2, so its panels come from L3.
    pub prefetch_b: bool,
}

/// The functions of one ISA, compiled with its target features.
pub(super) struct KernelSet {
    pub name: &'static str,
    pub mr: usize,
    pub nr: usize,
    /// Packs A into MR-wide panels.
    pub pack_a: unsafe fn(&PackArgs, *mut f32),
    /// Packs B into NR-wide panels.
    pub pack_b: unsafe fn(&PackArgs, *mut f32),
    pub macro_kernel: unsafe fn(&MacroArgs),
    /// The macro-kernel reading A unpacked (`MacroArgs::a` points at A's element (0, 0) of
    /// the block, with the given (row, column) strides); usable only when `direct` is set.
    pub macro_kernel_direct: unsafe fn(&MacroArgs, (usize, usize)),
    /// Whether the micro-kernel can read A unpacked (`MicroKernel::STRIDED`).
    pub direct: bool,
}

/// The largest MR * NR of any kernel (AVX-512: 12 x 32); sizes the edge tile on the stack.
pub(super) const MAX_TILE: usize = 12 * 32;
pub(super) const MAX_NR: usize = 32;

#[repr(C, align(64))]
pub(super) struct Tile(pub(super) [f32; MAX_TILE]);

/// Walks the tiles of one block: B panels outside (a panel of B stays in L1 while the A
/// panels of the block stream from L2), A panels inside.
///
/// # Safety
/// As for `MicroKernel::tile`, for every tile of the region.
#[inline(always)]
pub(super) unsafe fn macro_kernel<K: MicroKernel>(m: &MacroArgs) {
    debug_assert!(K::MR * K::NR <= MAX_TILE && K::NR <= MAX_NR);
    let (mr_full, nr_full) = (K::MR, K::NR);
    let mut tile = Tile([0.0; MAX_TILE]);
    let mut bias_tile = [0.0f32; MAX_NR];
    let mut jr = 0;
    let mut b = m.b;
    while jr < m.nc {
        let nr = nr_full.min(m.nc - jr);
        let mut u = m.upd;
        if !u.bias.is_null() {
            u.bias = u.bias.add(jr);
            if nr < nr_full {
                ptr::copy_nonoverlapping(u.bias, bias_tile.as_mut_ptr(), nr);
                u.bias = bias_tile.as_ptr();
            }
        }
        let mut ir = 0;
        let mut a = m.a;
        // The next B panel, a slice of its cache lines per A panel.
        let next_b = b.wrapping_add(nr_full * m.kc);
        let lines = if m.prefetch_b && jr + nr_full < m.nc {
            nr_full * m.kc / 16
        } else {
            0
        };
        let per_ir = lines.div_ceil(m.mc.div_ceil(mr_full)).max(1);
        let mut line = 0;
        while ir < m.mc {
            let mr = mr_full.min(m.mc - ir);
            for _ in 0..per_ir.min(lines - line) {
                K::prefetch_l2(next_b.add(line * 16));
                line += 1;
            }
            let c = m.c.add(ir * m.rs_c + jr * m.cs_c);
            let direct = nr == nr_full && m.cs_c == 1;
            if direct && mr == mr_full {
                K::tile(m.kc, a, b, c, m.rs_c, &u);
            } else if !(direct && K::tile_rows(mr, m.kc, a, b, c, m.rs_c, &u)) {
                edge_tile::<K>(m, a, b, c, mr, nr, &u, &mut tile);
            }
            ir += mr_full;
            a = a.add(mr_full * m.kc);
        }
        jr += nr_full;
        b = b.add(nr_full * m.kc);
    }
}

/// A tile cut by the edge of C or with strided columns: run the full kernel on a stack tile
/// holding a copy of C, then copy the valid part back.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn edge_tile<K: MicroKernel>(
    m: &MacroArgs,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    mr: usize,
    nr: usize,
    u: &Update,
    tile: &mut Tile,
) {
    let t = tile.0.as_mut_ptr();
    if u.load_c {
        for i in 0..mr {
            for j in 0..nr {
                *t.add(i * K::NR + j) = *c.add(i * m.rs_c + j * m.cs_c);
            }
        }
    }
    K::tile(m.kc, a, b, t, K::NR, u);
    for i in 0..mr {
        for j in 0..nr {
            *c.add(i * m.rs_c + j * m.cs_c) = *t.add(i * K::NR + j);
        }
    }
}

/// Instantiates packing (`$pack`, generic over the panel width) and the macro-kernel for one
/// micro-kernel type inside functions compiled with the given target features, and defines
/// `KERNELS` from them.
macro_rules! define_kernel_set {
    ($name:literal, $kernel:ty, $mr:expr, $nr:expr, $pack:ident $(, $feat:literal)?) => {
        $(#[target_feature(enable = $feat)])?
        unsafe fn pack_a(p: &$crate::cpu::gemm::kernel::PackArgs, dst: *mut f32) {
            $pack::<{ $mr }>(p, dst)
        }
        $(#[target_feature(enable = $feat)])?
        unsafe fn pack_b(p: &$crate::cpu::gemm::kernel::PackArgs, dst: *mut f32) {
            $pack::<{ $nr }>(p, dst)
        }
        $(#[target_feature(enable = $feat)])?
        unsafe fn macro_kernel(m: &$crate::cpu::gemm::kernel::MacroArgs) {
            $crate::cpu::gemm::kernel::macro_kernel::<$kernel>(m)
        }
        $(#[target_feature(enable = $feat)])?
        unsafe fn macro_kernel_direct(
            m: &$crate::cpu::gemm::kernel::MacroArgs,
            a_strides: (usize, usize),
        ) {
            $crate::cpu::gemm::kernel_direct::macro_kernel_direct::<$kernel>(m, a_strides)
        }
        pub(in $crate::cpu::gemm) static KERNELS: $crate::cpu::gemm::kernel::KernelSet =
            $crate::cpu::gemm::kernel::KernelSet {
                name: $name,
                mr: $mr,
                nr: $nr,
                pack_a,
                pack_b,
                macro_kernel,
                macro_kernel_direct,
                direct: <$kernel as $crate::cpu::gemm::kernel::MicroKernel>::STRIDED,
            };
    };
}
pub(super) use define_kernel_set;
