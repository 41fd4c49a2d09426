//! The stacked operand of the Elman RNN and LSTM: row (position t, batch row r) of
//! Z (T*N, I + H + 1) is [x_t, h_prev, 1], where h_prev is the state the step at position t
//! read (h0 for the first step processed).
//!
//! Forward, each step is then ONE product [x_t, h_prev] [W_ih, W_hh]^T + b, with the stacked
//! weights packed once: no separate input projection writing every step's gates to memory
//! and reading them back. Backward, Z^T dG (I + H + 1, G) over all steps at once is
//! [dW_ih^T; dW_hh^T; db^T]: both weight gradients and the bias gradient in one large product
//! (K = T*N), with dG written into its packed layout as backward produces it (see
//! `gemm::RowWriter`), no column-sum pass. The forward keeps Z for
//! backward; the driver writes each new state into it.
//!
//! A GRU does not use it: its hidden product must stay apart (r * (W_hn h + b_hn)).

use super::sequence::Problem;
use crate::cpu::gemm::{sgemm_packed_b, Epilogue, MatMut, MatRef, PackedB};

/// Columns of Z: I + H + 1.
pub fn width(p: &Problem) -> usize {
    p.input + p.hidden + 1
}

/// Writes x, the constant 1 column, and h0 as the previous state of the first step; the
/// other previous-state slots are written by `set_prev` as the states are computed.
pub fn fill(p: &Problem, x: &[f32], h0: &[f32], z: &mut [f32]) {
    let (i, h, n) = (p.input, p.hidden, p.batch);
    let w = width(p);
    // Strips of whole rows, on several threads when Z is large (megabytes for long sequences).
    const ROWS: usize = 256;
    crate::parallel::fill_strips(z, ROWS * w, |k, strip| {
        for (r, row) in strip.chunks_exact_mut(w).enumerate() {
            let at = (k * ROWS + r) * i;
            row[..i].copy_from_slice(&x[at..at + i]);
            row[i + h] = 1.0;
        }
    });
    set_prev(p, z, p.pos_of_step(0), h0);
    debug_assert_eq!(z.len(), p.steps * n * w);
}

/// Writes `state` (N, H) as the previous state of the step at position `pos`.
pub fn set_prev(p: &Problem, z: &mut [f32], pos: usize, state: &[f32]) {
    let (i, h, n) = (p.input, p.hidden, p.batch);
    let w = width(p);
    let block = &mut z[pos * n * w..(pos + 1) * n * w];
    for (row, s) in block.chunks_exact_mut(w).zip(state.chunks_exact(h)) {
        row[i..i + h].copy_from_slice(s);
    }
}

/// The step at position `pos` as a GEMM operand: N rows of [x_t, h_prev].
pub fn step_operand<'a>(p: &Problem, z: &'a [f32], pos: usize) -> MatRef<'a> {
    let w = width(p);
    let n = p.batch;
    MatRef {
        data: &z[pos * n * w..(pos + 1) * n * w],
        rows: n,
        cols: p.input + p.hidden,
        rs: w,
        cs: 1,
    }
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
/// (T*N, G), packed as they were produced (see `gemm::RowWriter`), as one product Z^T dg
/// and a transpose.
pub fn weight_grads(p: &Problem, z: &[f32], dg: &PackedB) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (i, h, g) = (p.input, p.hidden, p.g());
    let (w, rows) = (width(p), p.steps * p.batch);
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
