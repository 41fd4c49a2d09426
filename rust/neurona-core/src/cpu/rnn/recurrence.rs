//! The time loops of one group of batch rows (see `blocks`): forward through the steps and
//! back through time, on one thread, with serial products against weights packed once for
//! every group. The products over all steps (input projection, weight and input gradients)
//! stay in `sequence`, as large products split among threads by output tile.

use super::blocks::pair;
use super::cells::{gru_rows, lstm_rows, rnn_rows};
use super::cells_backward as bwd;
use super::scratch;
use super::sequence::{Problem, Saved};
use super::stacked;
use super::Mode;
use crate::cpu::gemm::{sgemm_packed_b_serial, Epilogue, MatMut, MatRef, PackedB, RowWriter};
use crate::cpu::prefetch;
use std::ops::Range;

/// One group's slices of the forward buffers, `[step]` each (see `blocks::per_step`).
pub struct ForwardRows<'a> {
    pub rows: Range<usize>,
    pub z: Vec<&'a mut [f32]>,
    pub gates: Vec<&'a mut [f32]>,
    pub hs: Vec<&'a mut [f32]>,
    pub cells: Vec<&'a mut [f32]>,
    pub tanh_cells: Vec<&'a mut [f32]>,
    pub hn: Vec<&'a mut [f32]>,
}

/// What every group's forward shares: the packed step weights ([W_ih, W_hh]^T stacked for
/// Elman RNN and LSTM, W_hh^T for GRU) and the epilogues of the step products.
#[derive(Clone, Copy)]
pub struct ForwardShared<'a> {
    pub w_step: &'a PackedB,
    /// Elman RNN and LSTM starting from a zero state: W_ih^T alone, for the first step's
    /// product over x only (the h_prev columns of its Z rows are zeros; see `forward`).
    pub w_first: Option<&'a PackedB>,
    pub step_bias: Epilogue<'a>,
    pub hh_bias: Epilogue<'a>,
}

/// The forward recurrence of the group's rows, from their rows of `h0` (and `c0`).
pub fn forward_rows(
    p: &Problem,
    sh: ForwardShared,
    h0: &[f32],
    c0: Option<&[f32]>,
    v: ForwardRows,
) {
    let ForwardRows {
        rows,
        mut z,
        mut gates,
        mut hs,
        mut cells,
        mut tanh_cells,
        mut hn,
    } = v;
    let (m, h, g, i) = (rows.len(), p.hidden, p.g(), p.input);
    if m == 0 || h == 0 {
        return;
    }
    let (h0, c0) = (
        &h0[rows.start * h..rows.end * h],
        c0.map(|c| &c[rows.start * h..rows.end * h]),
    );
    let gru = p.mode == Mode::Gru;
    let zw = stacked::width(p);
    // GRU: this group's W_hh h + b_hh of the current step.
    let mut hh = scratch::take(if gru { m * g } else { 0 });
    for s in 0..p.steps {
        let pos = p.pos_of_step(s);
        if !gru {
            if s + 1 < p.steps {
                // The next step's Z rows are far out of cache by then, and the copy of the
                // new state into them would miss on every line.
                let next = &*z[stacked::block_of_step(p, s + 1)];
                prefetch::for_write(next.as_ptr(), next.len());
            }
            let (w, k) = match sh.w_first {
                Some(w) if s == 0 => (w, i),
                _ => (sh.w_step, i + h),
            };
            let a = MatRef {
                data: &*z[stacked::block_of_step(p, s)],
                rows: m,
                cols: k,
                rs: zw,
                cs: 1,
            };
            let c = MatMut::row_major(&mut *gates[pos], m, g);
            sgemm_packed_b_serial(1.0, a, w, 0.0, c, sh.step_bias);
        }
        let (h_prev, h_out) = match s {
            0 => (h0, &mut *hs[pos]),
            _ => pair(&mut hs, p.pos_of_step(s - 1), pos),
        };
        match p.mode {
            Mode::RnnTanh | Mode::RnnRelu => rnn_rows(p.mode == Mode::RnnRelu, gates[pos], h_out),
            Mode::Lstm => {
                let (c_prev, c_out) = match s {
                    0 => (c0.unwrap_or_default(), &mut *cells[pos]),
                    _ => pair(&mut cells, p.pos_of_step(s - 1), pos),
                };
                lstm_rows(h, gates[pos], c_prev, h_out, c_out, tanh_cells[pos]);
            }
            Mode::Gru => {
                let a = MatRef::row_major(h_prev, m, h);
                let c = MatMut::row_major(&mut hh, m, g);
                sgemm_packed_b_serial(1.0, a, sh.w_step, 0.0, c, sh.hh_bias);
                gru_rows(h, gates[pos], &hh, h_prev, h_out, hn[pos]);
            }
        }
        if !gru && s + 1 < p.steps {
            // The new state is the next step's h_prev in the stacked operand.
            let next = &mut *z[stacked::block_of_step(p, s + 1)];
            for (row, st) in next.chunks_exact_mut(zw).zip(h_out.chunks_exact(h)) {
                row[i..i + h].copy_from_slice(st);
            }
        }
    }
    scratch::give(hh);
}

/// One group's slices of the pre-activation gradients, `[step]` each: `dgh` is the GRU's
/// hidden part (empty slices otherwise). `dg_out` also receives the group's rows of every
/// step's `dgx`, for the weight-gradient product of Elman RNN and LSTM.
pub struct BackwardRows<'a, 'p> {
    pub rows: Range<usize>,
    pub dgx: Vec<&'a mut [f32]>,
    pub dgh: Vec<&'a mut [f32]>,
    pub dg_out: DgOut<'a, 'p>,
}

/// Where a group sends each step's dG for the weight-gradient product (see `stacked`).
pub enum DgOut<'a, 'p> {
    /// Not wanted (GRU, or no weight gradient asked for).
    None,
    /// The group's rows into the packed operand of one product after the recurrence.
    Packed(RowWriter<'a>),
    /// All rows of the batch (one group): multiplied K block by K block as they come.
    Stream(&'a mut stacked::GradStream<'p>),
}

/// Everything a group's backward reads: the forward's inputs, outputs and `Saved`, the
/// output gradient `dy` (all as whole buffers), and W_hh packed once.
#[derive(Clone, Copy)]
pub struct BackwardShared<'a> {
    pub h0: &'a [f32],
    pub c0: Option<&'a [f32]>,
    pub hs: &'a [f32],
    pub saved: &'a Saved,
    pub dy: &'a [f32],
    pub w_hh: &'a PackedB,
    /// Whether the gradient on h0 is wanted (the last product is skipped otherwise).
    pub need_h0: bool,
}

/// Backpropagation through time on the group's rows: fills its pre-activation gradients and
/// returns its rows of the gradients on h0 and (LSTM) c0.
pub fn backward_rows(p: &Problem, sh: BackwardShared, v: BackwardRows) -> (Vec<f32>, Vec<f32>) {
    let BackwardRows {
        rows,
        mut dgx,
        mut dgh,
        mut dg_out,
    } = v;
    let (t, n, h, g) = (p.steps, p.batch, p.hidden, p.g());
    let (m, nh) = (rows.len(), n * h);
    let lstm = p.mode == Mode::Lstm;
    let gru = p.mode == Mode::Gru;
    // Row `pos` (of N x H) of a whole buffer, this group's part; `gates` likewise with G.
    let part = |buf: &[f32], pos: usize| -> Range<usize> {
        debug_assert!(buf.len() >= (pos + 1) * nh);
        pos * nh + rows.start * h..pos * nh + rows.end * h
    };
    let gpart = |pos: usize| pos * n * g + rows.start * g..pos * n * g + rows.end * g;
    let mut dh = sh.dy[part(sh.dy, t)].to_vec();
    let mut dc = if lstm {
        sh.dy[part(sh.dy, t + 1)].to_vec()
    } else {
        Vec::new()
    };
    if m == 0 || h == 0 {
        return (dh, dc);
    }
    let own = rows.start * h..rows.end * h;
    let mut dh_prev = vec![0.0f32; m * h];
    // Where `dgx` is not kept (its slices are empty: no input gradient wanted, the weight
    // gradients take dG from `packed`), each step's dG lives in this buffer, which stays in
    // cache, instead of megabytes of memory written once and never read.
    let mut step_dg = scratch::take(if dgx.first().is_some_and(|d| d.is_empty()) {
        m * g
    } else {
        0
    });
    for s in (0..t).rev() {
        let pos = p.pos_of_step(s);
        let dg_t: &mut [f32] = if step_dg.is_empty() {
            &mut *dgx[pos]
        } else {
            &mut step_dg
        };
        if let DgOut::Stream(st) = &dg_out {
            // Ahead of the step's dG going into the ring (out of L2 by now), well before
            // its rows are written at the end of the step.
            st.prefetch_step();
        }
        let dy_t = &sh.dy[part(sh.dy, pos)];
        if !lstm {
            // (The LSTM's cell kernel adds the output's gradient itself.)
            for (d, &e) in dh.iter_mut().zip(dy_t) {
                *d += e;
            }
        }
        let h_prev = match s {
            0 => &sh.h0[own.clone()],
            _ => &sh.hs[part(sh.hs, p.pos_of_step(s - 1))],
        };
        let saved = sh.saved;
        match p.mode {
            Mode::RnnTanh | Mode::RnnRelu => {
                let relu = p.mode == Mode::RnnRelu;
                bwd::rnn_rows(relu, &sh.hs[part(sh.hs, pos)], &dh, dg_t);
            }
            Mode::Lstm => {
                let c_prev = match s {
                    0 => &sh.c0.unwrap_or_default()[own.clone()],
                    _ => &saved.cells[part(&saved.cells, p.pos_of_step(s - 1))],
                };
                bwd::lstm_rows(
                    h,
                    &saved.gates[gpart(pos)],
                    c_prev,
                    &saved.tanh_cells[part(&saved.tanh_cells, pos)],
                    &dh,
                    dy_t,
                    &mut dc,
                    dg_t,
                );
            }
            Mode::Gru => bwd::gru_rows(
                h,
                &saved.gates[gpart(pos)],
                &saved.hn[part(&saved.hn, pos)],
                h_prev,
                &dh,
                dg_t,
                dgh[pos],
                &mut dh_prev,
            ),
        }
        match &mut dg_out {
            DgOut::None => {}
            DgOut::Packed(w) => w.write(stacked::block_of_step(p, s) * n + rows.start, dg_t),
            DgOut::Stream(st) => st.push_step(dg_t),
        }
        if s > 0 || sh.need_h0 {
            // dh_prev (+)= dgh_t W_hh; a GRU's cell kernel wrote the direct path z * dh.
            let dgh_t: &[f32] = if gru { dgh[pos] } else { dg_t };
            let beta = if gru { 1.0 } else { 0.0 };
            let a = MatRef::row_major(dgh_t, m, g);
            let c = MatMut::row_major(&mut dh_prev, m, h);
            sgemm_packed_b_serial(1.0, a, sh.w_hh, beta, c, Epilogue::None);
        }
        std::mem::swap(&mut dh, &mut dh_prev);
    }
    scratch::give(step_dg);
    (dh, dc)
}
