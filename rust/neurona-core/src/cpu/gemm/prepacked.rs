//! A B operand packed once and multiplied many times.
//!
//! A recurrent layer multiplies the same weight matrix by a new state at every time step; a
//! plain `sgemm` would re-pack those weights (a full pass over them, as much memory traffic
//! as the product's own reads of B) at each step. `PackedB` packs B once, in the layout the
//! driver packs it into, and `sgemm_packed_b` runs products against it. The K blocks are the
//! ones `sgemm` uses for the same depth, so both give bitwise the same result, and as for
//! `sgemm` the result does not depend on the thread count.

use super::buffers::PackBuf;
use super::driver::{pack_b, sgemm_packed_with, KBlocks, Shared, Src, PAR_PACK_MIN};
use super::isa;
use super::kernel::KernelSet;
use super::plan::k_blocks;
use super::validate::check_fits;
use super::{Epilogue, MatMut, MatRef};

/// A k x n matrix B packed for the micro-kernel in use (see `sgemm_packed_b`).
pub struct PackedB {
    buf: PackBuf,
    ks: &'static KernelSet,
    k: usize,
    n: usize,
}

impl std::fmt::Debug for PackedB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedB({} x {}, {})", self.k, self.n, self.ks.name)
    }
}

impl PackedB {
    /// Packs `b` (k x n, any strides) for the active micro-kernel. Panics if the slice is too
    /// short for the shape and strides.
    pub fn new(b: MatRef) -> PackedB {
        PackedB::with_kernels(isa::active(), b)
    }

    /// Packs `b` for kernel set `ks` (the tests pack for every one).
    pub(super) fn with_kernels(ks: &'static KernelSet, b: MatRef) -> PackedB {
        check_fits("B", b.data.len(), (b.rows, b.cols, b.rs, b.cs), 1, 0);
        let (k, n) = (b.rows, b.cols);
        let (nkb, kc_step) = k_blocks(ks, k);
        let mut buf = PackBuf::take(k * n.div_ceil(ks.nr) * ks.nr);
        if n > 0 && k > 0 {
            let threads = if k * n >= PAR_PACK_MIN {
                super::driver::available_threads()
            } else {
                1
            };
            let src = Src {
                ptr: b.data.as_ptr(),
                rs: b.rs,
                cs: b.cs,
            };
            // SAFETY: check_fits proved B in bounds; the buffer holds k * npanels * NR values.
            unsafe {
                pack_b(
                    ks,
                    src,
                    (0, n),
                    (nkb, kc_step, k),
                    Shared(buf.ptr()),
                    threads,
                )
            };
        }
        PackedB { buf, ks, k, n }
    }

    /// A packed operand from its buffer (`packed_rows`).
    pub(super) fn from_parts(buf: PackBuf, ks: &'static KernelSet, k: usize, n: usize) -> Self {
        PackedB { buf, ks, k, n }
    }

    /// The kernel set the layout is for.
    pub(super) fn ks(&self) -> &'static KernelSet {
        self.ks
    }

    /// The packed values.
    pub(super) fn buf_mut(&mut self) -> &mut PackBuf {
        &mut self.buf
    }

    /// Rows of B (the depth of the products).
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns of B (and of C).
    pub fn cols(&self) -> usize {
        self.n
    }
}

/// C = alpha * A * B + beta * C, then the epilogue, with B packed beforehand: bitwise the same
/// as `sgemm` with the B that was packed. A is m x k with any strides, C is m x n.
///
/// Panics if the shapes disagree or a slice is too short for its strides.
pub fn sgemm_packed_b(
    alpha: f32,
    a: MatRef,
    b: &PackedB,
    beta: f32,
    c: MatMut,
    epilogue: Epilogue,
) {
    run_packed_b(true, alpha, a, b, beta, c, epilogue)
}

/// Both entry points: split over threads where `threads` and the size allow, else serial.
fn run_packed_b(
    threads: bool,
    alpha: f32,
    a: MatRef,
    b: &PackedB,
    beta: f32,
    c: MatMut,
    epilogue: Epilogue,
) {
    let (nkb, _) = k_blocks(b.ks, b.k);
    // SAFETY: `b.buf` holds B packed by `b.ks` for k x n.
    unsafe {
        sgemm_packed_with(
            b.ks,
            threads,
            alpha,
            a,
            (b.buf.as_ptr(), b.k, b.n),
            beta,
            c,
            epilogue,
            KBlocks::all(nkb),
        )
    }
}

/// `sgemm_packed_b` on the calling thread alone, for callers that already split their work
/// among threads (a recurrent layer's blocks of batch rows). Bitwise the same result: an
/// element's value depends on the K blocks only, never on how the rows or columns are split.
pub fn sgemm_packed_b_serial(
    alpha: f32,
    a: MatRef,
    b: &PackedB,
    beta: f32,
    c: MatMut,
    epilogue: Epilogue,
) {
    run_packed_b(false, alpha, a, b, beta, c, epilogue)
}

/// `sgemm_packed_b` on the kernel set `b` was packed for (the same function; named apart for
/// the tests, which pack for every kernel set).
#[cfg(test)]
pub(super) fn sgemm_packed_b_on(
    alpha: f32,
    a: MatRef,
    b: &PackedB,
    beta: f32,
    c: MatMut,
    epilogue: Epilogue,
) {
    sgemm_packed_b(alpha, a, b, beta, c, epilogue)
}
