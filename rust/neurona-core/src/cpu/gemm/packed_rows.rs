//! A `PackedB` filled row by row by its producer instead of packed from a finished matrix.
//!
//! Backpropagation through a recurrent layer produces the pre-activation gradients dG one
//! time step at a time, and then needs them as the B operand of one large product (the
//! weight gradients Z^T dG, K = steps * batch). Packing dG afterwards reads and writes the
//! whole matrix again (megabytes, out of cache by then); writing each step's rows straight
//! into the packed layout while they are still in L1 costs a copy of data already at hand.
//! The layout, the K blocks and so the products are exactly those of `PackedB::new` on the
//! finished matrix.
//!
//! Several threads may fill one operand: `PackedB::row_writers` hands out writers for
//! disjoint sets of rows (rows whose index modulo a period falls in a given range, e.g. a
//! group of batch rows in every time step), so each element has one writer.
//!
//! A large operand (past `STREAM_MIN_BYTES`) is written with non-temporal stores on x86: its
//! cache lines would otherwise each be read from L3 or memory before being overwritten
//! whole, and its rows are read again only by the product after the whole pass.

use super::buffers::PackBuf;
use super::isa;
use super::kernel::KernelSet;
use super::plan::k_blocks;
use super::prepacked::PackedB;
use std::marker::PhantomData;
use std::ops::Range;

/// Packed operands at least this large are written with streaming stores (see the module
/// doc): well past L2, so the rows would leave the cache before the product reads them.
/// An LSTM's backward (6.5 MB here) measured ~1.5% faster with them on Zen 3.
const STREAM_MIN_BYTES: usize = 2 << 20;

impl PackedB {
    /// A k x n B operand in the packed layout whose rows are written afterwards through
    /// `row_writers`. Its values are unspecified (stale, never uninitialised) until every row
    /// has been written once.
    pub fn for_rows(k: usize, n: usize) -> PackedB {
        PackedB::for_rows_on(isa::active(), k, n)
    }

    /// `for_rows` for kernel set `ks` (the tests fill one for every set).
    pub(super) fn for_rows_on(ks: &'static KernelSet, k: usize, n: usize) -> PackedB {
        let buf = PackBuf::take(k * n.div_ceil(ks.nr) * ks.nr);
        PackedB::from_parts(buf, ks, k, n)
    }

    /// Writers for the rows r whose `r % period` lies in `parts[w]` (writer w). Panics if the
    /// parts overlap or reach past `period`.
    pub fn row_writers(&mut self, period: usize, parts: &[Range<usize>]) -> Vec<RowWriter<'_>> {
        let mut sorted: Vec<&Range<usize>> = parts.iter().collect();
        sorted.sort_by_key(|r| r.start);
        for w in sorted.windows(2) {
            assert!(w[0].end <= w[1].start, "row_writers: parts overlap");
        }
        assert!(
            parts.iter().all(|r| r.end <= period),
            "row_writers: a part reaches past the period"
        );
        let (_, kc_step) = k_blocks(self.ks(), self.rows());
        let (k, n, nr) = (self.rows(), self.cols(), self.ks().nr);
        let ptr = self.buf_mut().ptr();
        let stream = cfg!(target_arch = "x86_64")
            && k * n.div_ceil(nr) * nr * std::mem::size_of::<f32>() >= STREAM_MIN_BYTES;
        parts
            .iter()
            .map(|part| RowWriter {
                ptr,
                k,
                n,
                nr,
                kc_step: kc_step.max(1),
                stream,
                period,
                part: part.clone(),
                _buf: PhantomData,
            })
            .collect()
    }
}

/// Writes one set of rows of a `PackedB` (see `PackedB::row_writers`).
pub struct RowWriter<'a> {
    ptr: *mut f32,
    k: usize,
    n: usize,
    nr: usize,
    kc_step: usize,
    /// Write with non-temporal stores (see the module doc).
    stream: bool,
    period: usize,
    part: Range<usize>,
    _buf: PhantomData<&'a mut PackedB>,
}

// SAFETY: a writer only writes the elements of its own rows (checked in `write`), and the
// writers of one operand own disjoint sets of rows; the buffer outlives them ('a).
unsafe impl Send for RowWriter<'_> {}

impl RowWriter<'_> {
    /// Writes rows `r0 .. r0 + src.len() / n` from `src` (row-major, n columns). Panics if a
    /// row is out of range or not this writer's, or `src` is not whole rows.
    pub fn write(&mut self, r0: usize, src: &[f32]) {
        let (n, nr) = (self.n, self.nr);
        if n == 0 {
            return;
        }
        assert_eq!(src.len() % n, 0, "RowWriter::write: not whole rows");
        let m = src.len() / n;
        assert!(r0 + m <= self.k, "RowWriter::write: rows out of range");
        let npanels = n.div_ceil(nr);
        for (i, row) in src.chunks_exact(n).enumerate() {
            let r = r0 + i;
            assert!(
                self.part.contains(&(r % self.period)),
                "RowWriter::write: row {r} belongs to another writer"
            );
            let pc = r / self.kc_step * self.kc_step;
            let kc = self.kc_step.min(self.k - pc);
            // Row r - pc of its K block: NR values in each panel, the panels kc * NR apart.
            let base = pc * npanels * nr + (r - pc) * nr;
            // SAFETY: base + q * kc * nr + nr <= (pc + kc) * npanels * nr <= k * npanels * nr,
            // the buffer's length, for every panel q; the row is this writer's alone.
            unsafe { write_row(row, nr, self.ptr.add(base), kc * nr, self.stream) };
        }
        #[cfg(target_arch = "x86_64")]
        if self.stream {
            // Streaming stores are weakly ordered: fence them before whatever tells the
            // product's threads that the rows are written (the join after the writers).
            // SAFETY: SSE is part of x86_64.
            unsafe { std::arch::x86_64::_mm_sfence() };
        }
    }
}

/// One row of B into its packed place: piece q (NR columns) to `dst + q * step`, the last
/// zero-padded (see `scatter_row`).
///
/// # Safety
/// `dst + q * step .. + nr` is writable for every piece q.
pub(super) unsafe fn write_row(row: &[f32], nr: usize, dst: *mut f32, step: usize, stream: bool) {
    match nr {
        8 => scatter_row::<8>(row, dst, step, stream),
        16 => scatter_row::<16>(row, dst, step, stream),
        32 => scatter_row::<32>(row, dst, step, stream),
        _ => scatter_row_any(row, nr, dst, step),
    }
}

/// One row cut into NR-wide pieces, piece q to `dst + q * step`, the last zero-padded to NR.
/// NR is a constant so each full piece is a few vector moves: with a run-time length each
/// piece was a call to `memcpy` (for an LSTM's backward, 10^5 calls of 64 bytes per
/// sequence, 4% of its time).
///
/// With `stream`, full pieces at 16-byte aligned addresses go out as non-temporal stores
/// (the caller fences them).
///
/// # Safety
/// `dst + q * step .. + NR` is writable for every piece q.
#[inline(always)]
unsafe fn scatter_row<const NR: usize>(row: &[f32], dst: *mut f32, step: usize, stream: bool) {
    let (full, rest) = row.as_chunks::<NR>();
    for (q, vals) in full.iter().enumerate() {
        let d = dst.add(q * step);
        #[cfg(target_arch = "x86_64")]
        if stream && NR & 3 == 0 && (d as usize) & 15 == 0 {
            use std::arch::x86_64::{_mm_loadu_ps, _mm_stream_ps};
            for j in (0..NR).step_by(4) {
                _mm_stream_ps(d.add(j), _mm_loadu_ps(vals.as_ptr().add(j)));
            }
            continue;
        }
        d.cast::<[f32; NR]>().write_unaligned(*vals);
    }
    if !rest.is_empty() {
        let mut last = [0.0f32; NR];
        last[..rest.len()].copy_from_slice(rest);
        dst.add(full.len() * step)
            .cast::<[f32; NR]>()
            .write_unaligned(last);
    }
}

/// `scatter_row` for a panel width known only at run time.
///
/// # Safety
/// As `scatter_row`.
unsafe fn scatter_row_any(row: &[f32], nr: usize, dst: *mut f32, step: usize) {
    for (q, vals) in row.chunks(nr).enumerate() {
        let d = dst.add(q * step);
        std::ptr::copy_nonoverlapping(vals.as_ptr(), d, vals.len());
        for j in vals.len()..nr {
            *d.add(j) = 0.0;
        }
    }
}
