//! The stacked operand of the Elman RNN and LSTM: Z (T*N, I + H + 1) holds, for each step
//! and batch row r, the row [x_t, h_prev, 1], where x_t is the input the step reads and h_prev
//! the state it starts from (h0 for the first step processed).
//!
//! Forward, each step is then ONE product [x_t, h_prev] [W_ih, W_hh]^T + b, with the stacked
//! weights packed once: no separate input projection writing every step's gates to memory
//! and reading them back. Backward, Z^T dG (I + H + 1, G) over all steps at once is
//! [dW_ih^T; dW_hh^T; db^T]: both weight gradients and the bias gradient in one large product
//! (K = T*N), with dG written into its packed layout as backward produces it (see
//! `gemm::RowWriter`), no column-sum pass. The forward keeps Z for backward; the driver
//! writes each new state into it.
//!
//! Z's blocks of N rows are in the order backward produces the steps' gradients, the last
//! step first (`block_of_step`): the K order of the weight-gradient product is then the
//! order its rows arrive in, so on one thread each K block can be multiplied as soon as it is
//! complete (`GradStream`), with the same result as the product over the whole packed dG.
//!
//! A GRU does not use it: its hidden product must stay apart (r * (W_hn h + b_hn)).

use super::sequence::Problem;
use crate::cpu::gemm::{sgemm_packed_b, Epilogue, MatMut, MatRef, PackedB, StreamedB};

/// Columns of Z: I + H + 1.
pub fn width(p: &Problem) -> usize {
    p.input + p.hidden + 1
}

/// The block of N rows of Z (and of the packed dG) that holds step s: backward's order.
pub fn block_of_step(p: &Problem, s: usize) -> usize {
    p.steps - 1 - s
}

/// Writes x, the constant 1 column, and h0 as the previous state of the first step; the
/// other previous-state slots are written by the driver as the states are computed.
pub fn fill(p: &Problem, x: &[f32], h0: &[f32], z: &mut [f32]) {
    let (i, h, n) = (p.input, p.hidden, p.batch);
    let w = width(p);
    // Strips of whole rows, on several threads when Z is large (megabytes for long sequences).
    const ROWS: usize = 256;
    crate::parallel::fill_strips(z, ROWS * w, |k, strip| {
        for (j, row) in (k * ROWS..).zip(strip.chunks_exact_mut(w)) {
            // Row j of Z is batch row j % n of the step stored in block j / n.
            let s = block_of_step(p, j / n);
            let at = (p.pos_of_step(s) * n + j % n) * i;
            row[..i].copy_from_slice(&x[at..at + i]);
            row[i + h] = 1.0;
        }
    });
    let first = &mut z[block_of_step(p, 0) * n * w..][..n * w];
    for (row, s) in first.chunks_exact_mut(w).zip(h0.chunks_exact(h)) {
        row[i..i + h].copy_from_slice(s);
    }
    debug_assert_eq!(z.len(), p.steps * n * w);
}

/// [W_ih, W_hh] (G, I + H) row-major, the B operand (transposed) of every forward step.
pub fn weights(p: &Problem) -> Vec<f32> {
    let (i, h) = (p.input, p.hidden);
    let mut w = Vec::with_capacity(p.g() * (i + h));
    for (wi, wh) in p.w_ih.chunks_exact(i.max(1)).zip(p.w_hh.chunks_exact(h)) {
        w.extend_from_slice(&wi[..i]);
        w.extend_from_slice(wh);
    }
    if i == 0 {
        w.clear();
        w.extend_from_slice(p.w_hh);
    }
    w
}

/// (dW_ih (G, I), dW_hh (G, H), db (G)) from Z and the pre-activation gradients `dg`
/// (T*N, G, rows in Z's order), packed as they were produced (see `gemm::RowWriter`), as one
/// product Z^T dg and a transpose.
pub fn weight_grads(p: &Problem, z: &[f32], dg: &PackedB) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (w, rows, g) = (width(p), p.steps * p.batch, p.g());
    assert_eq!((dg.rows(), dg.cols()), (rows, g), "weight_grads: dg shape");
    let mut out = super::scratch::take(w * g);
    sgemm_packed_b(
        1.0,
        MatRef::row_major(z, rows, w).t(),
        dg,
        0.0,
        MatMut::row_major(&mut out, w, g),
        Epilogue::None,
    );
    split_grads(p, out)
}

/// The weight-gradient product fed a step at a time, on the calling thread: `weight_grads`
/// with dG's rows going into a `StreamedB` as backward produces them (all N rows of a step
/// at once, steps in Z's order) and each K block multiplied as soon as it is complete. Same
/// K blocks in the same order: bitwise the result of `weight_grads`.
pub struct GradStream<'a> {
    p: Problem<'a>,
    z: &'a [f32],
    dg: StreamedB,
    /// Z^T dG (I + H + 1, G) so far.
    out: Vec<f32>,
}

impl<'a> GradStream<'a> {
    /// For the product over `z` (T*N > 0 rows, from the forward pass).
    pub fn new(p: &Problem<'a>, z: &'a [f32]) -> Self {
        let (w, rows, g) = (width(p), p.steps * p.batch, p.g());
        assert_eq!(z.len(), rows * w, "GradStream: z length");
        GradStream {
            p: *p,
            z,
            dg: StreamedB::new(rows, g, p.batch),
            out: super::scratch::take(w * g),
        }
    }

    /// Prefetches where the next step's dG will be written (see `StreamedB::prefetch_rows`).
    pub fn prefetch_step(&self) {
        self.dg.prefetch_rows(self.p.batch);
    }

    /// The next step's dG (N, G) in backward's order; multiplies whatever it completes.
    pub fn push_step(&mut self, dg: &[f32]) {
        let (w, rows, g) = (width(&self.p), self.p.steps * self.p.batch, self.p.g());
        assert_eq!(
            dg.len(),
            self.p.batch * g,
            "GradStream: not one step's rows"
        );
        self.dg.write(dg);
        let a = MatRef::row_major(self.z, rows, w).t();
        self.dg
            .multiply_ready(1.0, a, MatMut::row_major(&mut self.out, w, g));
    }

    /// The gradients, once every step is in. Panics before that.
    pub fn finish(self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        assert!(self.dg.finished(), "GradStream: steps missing");
        split_grads(&self.p, self.out)
    }
}

/// [dW_ih^T; dW_hh^T; db^T] (I + H + 1, G) cut and transposed into (dW_ih, dW_hh, db).
fn split_grads(p: &Problem, out: Vec<f32>) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (i, h, g) = (p.input, p.hidden, p.g());
    let mut dw_ih = vec![0.0f32; g * i];
    let mut dw_hh = vec![0.0f32; g * h];
    let db = out[(i + h) * g..].to_vec();
    transpose_into(&out[..i * g], i, g, &mut dw_ih);
    transpose_into(&out[i * g..(i + h) * g], h, g, &mut dw_hh);
    super::scratch::give(out);
    (dw_ih, dw_hh, db)
}

/// `dst` (cols, rows) = the transpose of `src` (rows, cols), in blocks that stay in L1; strips
/// of B rows of `dst` go to different threads when the matrix is large (a pure copy: the
/// thread count changes nothing).
pub fn transpose_into(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const B: usize = 32;
    debug_assert!(src.len() == rows * cols && dst.len() == rows * cols);
    if rows == 0 || cols == 0 {
        return;
    }
    // Columns c0 .. c0 + B of `src` into the strip of `dst` that holds them as rows.
    let strip = |c0: usize, out: &mut [f32]| {
        let cn = out.len() / rows;
        for r0 in (0..rows).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in 0..cn {
                    out[c * rows + r] = src[r * cols + c0 + c];
                }
            }
        }
    };
    crate::parallel::fill_strips(dst, B * rows, |k, out| strip(k * B, out));
}
