//! A B operand that arrives row by row, in K order, and is multiplied K block by K block as
//! its rows come in, through a ring of a few packed blocks.
//!
//! Backpropagation through a recurrent layer on one thread produces the pre-activation
//! gradients dG a time step at a time, and the weight gradient is the product Z^T dG over all
//! steps (K = steps * batch). Packed whole (`RowWriter`), dG is megabytes written to memory
//! and read back by the product. Here only the K blocks not yet multiplied are kept (a ring of
//! `slots` blocks); each is multiplied as soon as its last row is in, while it is still in
//! cache. The K blocks are those of `PackedB` for the same depth and they are run in order,
//! the first with beta = 0 and the others adding (see `KBlocks`): the result is bitwise that
//! of `sgemm_packed_b` on the whole packed B.

use super::buffers::PackBuf;
use super::driver::{sgemm_packed_with, KBlocks};
use super::isa;
use super::kernel::KernelSet;
use super::packed_rows::write_row;
use super::plan::k_blocks;
use super::{Epilogue, MatMut, MatRef};
use crate::cpu::prefetch;

/// B (k x n) written in row order through `write`, multiplied through `multiply_ready`.
pub struct StreamedB {
    buf: PackBuf,
    ks: &'static KernelSet,
    k: usize,
    n: usize,
    nkb: usize,
    kc_step: usize,
    /// Blocks the ring holds.
    slots: usize,
    /// Rows written so far (rows 0..written).
    written: usize,
    /// K blocks multiplied so far (blocks 0..done).
    done: usize,
}

impl std::fmt::Debug for StreamedB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StreamedB({} x {}, {} of {} rows, {} slots)",
            self.k, self.n, self.written, self.k, self.slots
        )
    }
}

impl StreamedB {
    /// A k x n operand (k > 0) to be written at most `max_rows` rows per `write`, with
    /// `multiply_ready` called after each write.
    pub fn new(k: usize, n: usize, max_rows: usize) -> StreamedB {
        StreamedB::with_kernels(isa::active(), k, n, max_rows)
    }

    /// `new` for kernel set `ks` (the tests run every one).
    pub(super) fn with_kernels(
        ks: &'static KernelSet,
        k: usize,
        n: usize,
        max_rows: usize,
    ) -> StreamedB {
        assert!(k > 0, "StreamedB: k must be positive");
        let (nkb, kc_step) = k_blocks(ks, k);
        // Between two products at most one block is part-written, and one write reaches into
        // at most max_rows / kc_step + 1 more.
        let slots = (max_rows.max(1).div_ceil(kc_step) + 1).min(nkb);
        let buf = PackBuf::take(slots * kc_step * n.div_ceil(ks.nr) * ks.nr);
        StreamedB {
            buf,
            ks,
            k,
            n,
            nkb,
            kc_step,
            slots,
            written: 0,
            done: 0,
        }
    }

    /// Appends whole rows (row-major, n columns) after those already written. Panics if they
    /// run past k, or reach a block whose ring slot still holds one not yet multiplied.
    pub fn write(&mut self, src: &[f32]) {
        let (n, nr, kc_step) = (self.n, self.ks.nr, self.kc_step);
        if n == 0 {
            return;
        }
        assert_eq!(src.len() % n, 0, "StreamedB::write: not whole rows");
        let end = self.written + src.len() / n;
        assert!(end <= self.k, "StreamedB::write: past row {}", self.k);
        if end == self.written {
            return;
        }
        assert!(
            (end - 1) / kc_step < self.done + self.slots,
            "StreamedB::write: rows up to {end} with blocks before {} not multiplied",
            (end - 1) / kc_step + 1 - self.slots
        );
        let ptr = self.buf.ptr();
        for (r, row) in (self.written..end).zip(src.chunks_exact(n)) {
            let (base, step) = self.place(r);
            // SAFETY: see `place`.
            unsafe { write_row(row, nr, ptr.add(base), step, false) };
        }
        self.written = end;
    }

    /// Where row r's first NR-wide piece lies in the ring, and the distance between its
    /// pieces (one per panel): row r - pc of K block kb (from row pc) in slot kb % slots, the
    /// block's panels kc * NR apart. Every piece, base + q * step .. + NR for each panel q,
    /// lies inside the slot, since kc <= kc_step.
    fn place(&self, r: usize) -> (usize, usize) {
        let (nr, kc_step) = (self.ks.nr, self.kc_step);
        let kb = r / kc_step;
        let pc = kb * kc_step;
        let kc = kc_step.min(self.k - pc);
        let slot = (kb % self.slots) * kc_step * self.n.div_ceil(nr) * nr;
        (slot + (r - pc) * nr, kc * nr)
    }

    /// Asks for the cache lines the next `rows` rows will be written to, in a writable state
    /// (a hint, nothing else): the ring is larger than L2, so its lines come back from L3 and
    /// a write that misses on each of them stalls.
    pub fn prefetch_rows(&self, rows: usize) {
        let nr = self.ks.nr;
        for r in self.written..(self.written + rows).min(self.k) {
            let (base, step) = self.place(r);
            for q in 0..self.n.div_ceil(nr) {
                prefetch::for_write(self.buf.as_ptr().wrapping_add(base + q * step), nr);
            }
        }
    }

    /// C = alpha * A * B (first call) or C += alpha * A * B over the K blocks whose rows are
    /// all written and that were not multiplied yet. A is m x k, C is m x n: the whole
    /// product's operands, of which the blocks' columns of A are read. On the calling thread.
    pub fn multiply_ready(&mut self, alpha: f32, a: MatRef, c: MatMut) {
        let ready = if self.written == self.k {
            self.nkb
        } else {
            self.written / self.kc_step
        };
        if ready <= self.done {
            return;
        }
        let beta = if self.done == 0 { 0.0 } else { 1.0 };
        let blocks = KBlocks {
            range: self.done..ready,
            ring: Some(self.slots),
        };
        // SAFETY: the ring holds blocks done..ready, packed by `ks` with the K blocks of
        // `k_blocks(ks, k)`, each in slot kb % slots (no later write has reached them).
        unsafe {
            sgemm_packed_with(
                self.ks,
                false,
                alpha,
                a,
                (self.buf.as_ptr(), self.k, self.n),
                beta,
                c,
                Epilogue::None,
                blocks,
            )
        };
        self.done = ready;
    }

    /// Whether every block has been multiplied.
    pub fn finished(&self) -> bool {
        self.done == self.nkb
    }
}
