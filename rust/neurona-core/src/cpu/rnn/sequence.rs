//! One recurrent layer-direction over a whole sequence: the forward pass and
//! backpropagation through time, on slices.
//!
//! Forward: the products over all steps at once come first (a GRU's input projection; the
//! stacked operand of the others, see `stacked`), with the step weights packed once per
//! sequence. Then the recurrence runs per group of batch rows (`blocks`, `recurrence`): each
//! thread takes its rows through every step alone, one serial product and one fused cell
//! kernel per step, with no synchronisation between steps. Backward likewise walks the steps
//! in reverse per group (fused backward cell kernel, one product for the gradient reaching
//! h_{t-1}); the weight and input gradients are then a handful of products over all steps,
//! split among threads by output tile (on one thread, the Elman RNN's and LSTM's weight
//! gradient is multiplied K block by K block during the walk instead, see `stacked`).
//!
//! Output layout `y`: (T + 1 [+ 1 for LSTM], N, H). Rows 0..T are the hidden states by
//! sequence position (for a reverse direction, position t holds the state after reading
//! x_t ... x_{T-1}, as in PyTorch), row T is the final hidden state h_n, and for an LSTM row
//! T + 1 is the final cell state c_n. One buffer carries every output so the op has a single
//! gradient; callers slice it.

use super::blocks;
use super::recurrence::{
    backward_rows, forward_rows, BackwardRows, BackwardShared, DgOut, ForwardRows, ForwardShared,
};
use super::scratch;
use super::stacked;
use super::Mode;
use crate::cpu::gemm::{sgemm, Epilogue, MatMut, MatRef, PackedB};
use rayon::prelude::*;

/// Shapes, direction and weights of one layer-direction. Weights are row-major:
/// `w_ih` (G, I), `w_hh` (G, H), biases (G,), with G = gates * hidden.
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a> {
    pub mode: Mode,
    pub steps: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
    pub reverse: bool,
    pub w_ih: &'a [f32],
    pub w_hh: &'a [f32],
    pub b_ih: Option<&'a [f32]>,
    pub b_hh: Option<&'a [f32]>,
}

impl Problem<'_> {
    /// Width of the stacked gates, G.
    pub fn g(&self) -> usize {
        self.mode.gates() * self.hidden
    }

    /// Rows of N x H in the output buffer: T states, h_n, and c_n for an LSTM.
    pub fn out_rows(&self) -> usize {
        self.steps + 1 + usize::from(self.mode == Mode::Lstm)
    }

    /// The sequence position processed at step s.
    pub fn pos_of_step(&self, s: usize) -> usize {
        self.pos(s)
    }

    fn pos(&self, s: usize) -> usize {
        if self.reverse {
            self.steps - 1 - s
        } else {
            s
        }
    }

    fn check(&self, x: &[f32], h0: &[f32], c0: Option<&[f32]>) {
        let (nh, g) = (self.batch * self.hidden, self.g());
        assert_eq!(
            x.len(),
            self.steps * self.batch * self.input,
            "rnn: x length"
        );
        assert_eq!(h0.len(), nh, "rnn: h0 length");
        assert_eq!(
            c0.map(<[f32]>::len),
            (self.mode == Mode::Lstm).then_some(nh),
            "rnn: c0"
        );
        assert_eq!(self.w_ih.len(), g * self.input, "rnn: w_ih length");
        assert_eq!(self.w_hh.len(), g * self.hidden, "rnn: w_hh length");
        for b in [self.b_ih, self.b_hh].into_iter().flatten() {
            assert_eq!(b.len(), g, "rnn: bias length");
        }
    }
}

/// What the forward pass leaves for backward, by sequence position: the activated gates
/// (T, N, G) (empty for Elman RNNs, whose derivative comes from h), and for an LSTM the cell
/// states and their tanh (T, N, H), for a GRU the hidden part of the new gate (T, N, H).
/// Dropping it gives the buffers back to the scratch pool.
#[derive(Debug, Default)]
pub struct Saved {
    pub gates: Vec<f32>,
    pub cells: Vec<f32>,
    pub tanh_cells: Vec<f32>,
    pub hn: Vec<f32>,
    /// Elman RNN and LSTM: the stacked [x_t, h_prev, 1] rows (see `stacked`).
    pub stacked: Vec<f32>,
}

impl Drop for Saved {
    fn drop(&mut self) {
        for v in [
            &mut self.gates,
            &mut self.cells,
            &mut self.tanh_cells,
            &mut self.hn,
            &mut self.stacked,
        ] {
            scratch::give(std::mem::take(v));
        }
    }
}

/// Runs the layer-direction forward over the sequence `x` (T, N, I) from `h0` (and `c0`),
/// writing `y` (see the module doc) and returning what backward needs.
pub fn forward(p: &Problem, x: &[f32], h0: &[f32], c0: Option<&[f32]>, y: &mut [f32]) -> Saved {
    p.check(x, h0, c0);
    let (t, n, h, g) = (p.steps, p.batch, p.hidden, p.g());
    let (nh, ng) = (n * h, n * g);
    assert_eq!(y.len(), p.out_rows() * nh, "rnn: y length");
    if t == 0 {
        return Saved::default();
    }

    // GRU keeps b_hh apart (its n block sits inside r * (...)); the others fold it in here.
    let bias: Option<Vec<f32>> = match (p.mode, p.b_ih, p.b_hh) {
        (Mode::Gru, b, _) => b.map(<[f32]>::to_vec),
        (_, Some(a), Some(b)) => Some(a.iter().zip(b).map(|(a, b)| a + b).collect()),
        (_, a, b) => a.or(b).map(<[f32]>::to_vec),
    };
    // Every buffer taken from the pool below is overwritten whole before it is read.
    let mut gates = scratch::take(t * ng);
    let gru = p.mode == Mode::Gru;
    // Elman RNN and LSTM: each step is one product over the stacked [x_t, h_prev] (see
    // `stacked`); GRU: the input projection of all steps at once, then W_hh h per step.
    let mut z = scratch::take(if gru { 0 } else { t * n * stacked::width(p) });
    let w_step = if gru {
        sgemm(
            1.0,
            MatRef::row_major(x, t * n, p.input),
            MatRef::row_major(p.w_ih, g, p.input).t(),
            0.0,
            MatMut::row_major(&mut gates, t * n, g),
            bias.as_deref().map_or(Epilogue::None, Epilogue::Bias),
        );
        // W_hh^T is the B operand of every step: packed once for the whole sequence.
        PackedB::new(MatRef::row_major(p.w_hh, g, h).t())
    } else {
        stacked::fill(p, x, h0, &mut z);
        let w = stacked::weights(p);
        PackedB::new(MatRef::row_major(&w, g, p.input + h).t())
    };
    let lstm = p.mode == Mode::Lstm;
    let (hs, tail) = y.split_at_mut(t * nh);
    let mut cells = scratch::take(if lstm { t * nh } else { 0 });
    let mut tanh_cells = scratch::take(cells.len());
    let mut hn = scratch::take(if gru { t * nh } else { 0 });

    // The recurrence: each group of batch rows runs every step on its own (see `blocks`).
    let groups = blocks::row_groups(n, rayon::current_num_threads());
    // From a zero state (the default), the first step's product needs only its x columns:
    // the h_prev ones add exact zeros (each product a*0 leaves the running sum as it is, up to
    // the sign of a zero): four fifths of that step's multiply-adds with 32 inputs and 128 units.
    let w_first = (!gru && p.input > 0 && h0.iter().all(|&v| v == 0.0))
        .then(|| PackedB::new(MatRef::row_major(p.w_ih, g, p.input).t()));
    let sh = ForwardShared {
        w_step: &w_step,
        w_first: w_first.as_ref(),
        step_bias: bias.as_deref().map_or(Epilogue::None, Epilogue::Bias),
        hh_bias: p.b_hh.map_or(Epilogue::None, Epilogue::Bias),
    };
    let zw = if gru { 0 } else { stacked::width(p) };
    let tasks: Vec<ForwardRows> = groups
        .iter()
        .zip(blocks::per_step(&mut z, t, n, zw, &groups))
        .zip(blocks::per_step(&mut gates, t, n, g, &groups))
        .zip(blocks::per_step(hs, t, n, h, &groups))
        .zip(blocks::per_step(&mut cells, t, n, h, &groups))
        .zip(blocks::per_step(&mut tanh_cells, t, n, h, &groups))
        .zip(blocks::per_step(&mut hn, t, n, h, &groups))
        .map(
            |((((((r, z), gates), hs), cells), tanh_cells), hn)| ForwardRows {
                rows: r.clone(),
                z,
                gates,
                hs,
                cells,
                tanh_cells,
                hn,
            },
        )
        .collect();
    blocks::run(tasks, |v| forward_rows(p, sh, h0, c0, v));

    let last = p.pos(t - 1);
    tail[..nh].copy_from_slice(&hs[last * nh..(last + 1) * nh]);
    if lstm {
        tail[nh..2 * nh].copy_from_slice(&cells[last * nh..(last + 1) * nh]);
    }
    if !matches!(p.mode, Mode::Lstm | Mode::Gru) {
        scratch::give(std::mem::take(&mut gates));
    }
    Saved {
        gates,
        cells,
        tanh_cells,
        hn,
        stacked: z,
    }
}

/// Which gradients the caller wants.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    pub x: bool,
    pub h0: bool,
    pub c0: bool,
    pub w_ih: bool,
    pub w_hh: bool,
    pub b_ih: bool,
    pub b_hh: bool,
}

/// Gradients, each present when asked for, in the shapes of the inputs.
#[derive(Clone, Debug, Default)]
pub struct Grads {
    pub x: Option<Vec<f32>>,
    pub h0: Option<Vec<f32>>,
    pub c0: Option<Vec<f32>>,
    pub w_ih: Option<Vec<f32>>,
    pub w_hh: Option<Vec<f32>>,
    pub b_ih: Option<Vec<f32>>,
    pub b_hh: Option<Vec<f32>>,
}

/// Backpropagation through time. `y` and `saved` come from `forward` with the same inputs;
/// `dy` is the gradient of the whole output buffer (T + 1 [+ 1], N, H).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &Problem,
    x: &[f32],
    h0: &[f32],
    c0: Option<&[f32]>,
    y: &[f32],
    saved: &Saved,
    dy: &[f32],
    needs: Needs,
) -> Grads {
    p.check(x, h0, c0);
    let (t, n, h, g, i) = (p.steps, p.batch, p.hidden, p.g(), p.input);
    let (nh, ng) = (n * h, n * g);
    assert_eq!(y.len(), p.out_rows() * nh, "rnn: y length");
    assert_eq!(dy.len(), y.len(), "rnn: dy length");
    let lstm = p.mode == Mode::Lstm;
    let gru = p.mode == Mode::Gru;
    let mut out = Grads::default();
    if t == 0 {
        return out;
    }

    let hs = &y[..t * nh];
    // Pool buffers, each group's part overwritten step by step before any read. The input
    // pre-activations' gradient of every step is kept only where something reads it later:
    // the input gradient, or a GRU's weight gradients (Elman RNN and LSTM get theirs from
    // the packed copy below).
    let mut dgx = scratch::take(if needs.x || gru { t * ng } else { 0 });
    // The hidden pre-activations' gradient differs from the input ones only for a GRU.
    let mut dgh_own = scratch::take(if gru { t * ng } else { 0 });
    // W_hh is the B operand of every step's dh_prev = dgh_t W_hh: packed once.
    let w_hh = PackedB::new(MatRef::row_major(p.w_hh, g, h));
    let sh = BackwardShared {
        h0,
        c0,
        hs,
        saved,
        dy,
        w_hh: &w_hh,
        need_h0: needs.h0,
    };
    let groups = blocks::row_groups(n, rayon::current_num_threads());
    // Elman RNN and LSTM: the weight-gradient product's B operand, dG, step by step. One
    // group (one thread) multiplies each K block as soon as it is complete; several write
    // their rows into one packed operand for one product afterwards. Same result.
    let want_w = (needs.w_ih || needs.w_hh || needs.b_ih || needs.b_hh) && !gru;
    let mut stream =
        (want_w && n > 0 && groups.len() == 1).then(|| stacked::GradStream::new(p, &saved.stacked));
    let mut packed_dg = (want_w && stream.is_none()).then(|| PackedB::for_rows(t * n, g));
    let mut dg_outs: Vec<DgOut> = match (packed_dg.as_mut(), stream.as_mut()) {
        (Some(pb), _) => pb
            .row_writers(n, &groups)
            .into_iter()
            .map(DgOut::Packed)
            .collect(),
        (_, Some(st)) => vec![DgOut::Stream(st)],
        _ => vec![],
    };
    dg_outs.resize_with(groups.len(), || DgOut::None);
    let tasks: Vec<BackwardRows> = groups
        .iter()
        .zip(blocks::per_step(&mut dgx, t, n, g, &groups))
        .zip(blocks::per_step(&mut dgh_own, t, n, g, &groups))
        .zip(dg_outs)
        .map(|(((r, dgx), dgh), dg_out)| BackwardRows {
            rows: r.clone(),
            dgx,
            dgh,
            dg_out,
        })
        .collect();
    let parts = blocks::run(tasks, |v| backward_rows(p, sh, v));
    let (dh, dc): (Vec<f32>, Vec<f32>) = (
        parts.iter().flat_map(|(a, _)| a.iter().copied()).collect(),
        parts.iter().flat_map(|(_, b)| b.iter().copied()).collect(),
    );
    if needs.h0 {
        out.h0 = Some(dh);
    }
    if needs.c0 && lstm {
        out.c0 = Some(dc);
    }

    if needs.x {
        let mut dx = vec![0.0f32; t * n * i];
        let w_ih = MatRef::row_major(p.w_ih, g, i);
        let dgx_m = MatRef::row_major(&dgx, t * n, g);
        sgemm(
            1.0,
            dgx_m,
            w_ih,
            0.0,
            MatMut::row_major(&mut dx, t * n, i),
            Epilogue::None,
        );
        out.x = Some(dx);
    }
    if gru {
        if needs.w_ih {
            out.w_ih = Some(weight_ih_grad(x, &dgx, t * n, i, g));
        }
        if needs.w_hh {
            out.w_hh = Some(weight_hh_grad(p, h0, hs, &dgh_own));
        }
        if needs.b_ih {
            out.b_ih = Some(column_sums(&dgx, t * n, g));
        }
        if needs.b_hh {
            out.b_hh = Some(column_sums(&dgh_own, t * n, g));
        }
    } else if let Some((dw_ih, dw_hh, db)) = match (stream, &packed_dg) {
        // One product for both weights and the bias (the pre-activations' gradient is the
        // same for the input and the hidden part here), streamed or after the walk.
        (Some(st), _) => Some(st.finish()),
        (None, Some(dg)) => Some(stacked::weight_grads(p, &saved.stacked, dg)),
        (None, None) => None,
    } {
        out.w_ih = needs.w_ih.then_some(dw_ih);
        out.w_hh = needs.w_hh.then_some(dw_hh);
        out.b_hh = needs.b_hh.then(|| db.clone());
        out.b_ih = needs.b_ih.then_some(db);
    }
    scratch::give(dgx);
    scratch::give(dgh_own);
    out
}

/// dW_hh = sum over steps of dgh_t^T h_{t-1}: one GEMM over every step whose previous state
/// is in `hs` (they are contiguous: positions shifted by one), plus the step that read h0.
///
/// Computed as its transpose, h_prev^T dgh (H x G), then transposed: with the states as A
/// (H rows, read unpacked) and the gate gradients as B (packed by plain row copies), neither
/// operand needs the slow narrow transposing pack that dgh^T as A would. Each element is the
/// same sum in the same order either way.
fn weight_hh_grad(p: &Problem, h0: &[f32], hs: &[f32], dgh: &[f32]) -> Vec<f32> {
    let (t, n, h, g) = (p.steps, p.batch, p.hidden, p.g());
    let (nh, ng) = (n * h, n * g);
    let mut dwt = scratch::take(h * g);
    let mut beta = 0.0;
    if t > 1 {
        // forward: steps 1..T read states 0..T-1; reverse: steps 0..T-1 read states 1..T.
        let (dg, prev) = if p.reverse {
            (&dgh[..(t - 1) * ng], &hs[nh..t * nh])
        } else {
            (&dgh[ng..t * ng], &hs[..(t - 1) * nh])
        };
        let a = MatRef::row_major(prev, (t - 1) * n, h).t();
        let b = MatRef::row_major(dg, (t - 1) * n, g);
        sgemm(
            1.0,
            a,
            b,
            0.0,
            MatMut::row_major(&mut dwt, h, g),
            Epilogue::None,
        );
        beta = 1.0;
    }
    let first = p.pos(0);
    let a = MatRef::row_major(h0, n, h).t();
    let b = MatRef::row_major(&dgh[first * ng..(first + 1) * ng], n, g);
    sgemm(
        1.0,
        a,
        b,
        beta,
        MatMut::row_major(&mut dwt, h, g),
        Epilogue::None,
    );
    let dw = transpose(&dwt, h, g);
    scratch::give(dwt);
    dw
}

/// dW_ih = dgx^T x (G x I) over all steps, computed as x^T dgx and transposed (see
/// `weight_hh_grad`).
fn weight_ih_grad(x: &[f32], dgx: &[f32], rows: usize, i: usize, g: usize) -> Vec<f32> {
    let mut dwt = scratch::take(i * g);
    sgemm(
        1.0,
        MatRef::row_major(x, rows, i).t(),
        MatRef::row_major(dgx, rows, g),
        0.0,
        MatMut::row_major(&mut dwt, i, g),
        Epilogue::None,
    );
    let dw = transpose(&dwt, i, g);
    scratch::give(dwt);
    dw
}

/// The transpose of a (rows, cols) row-major matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * cols];
    stacked::transpose_into(m, rows, cols, &mut out);
    out
}

/// Columns below which one task sums all of them.
const COLUMN_BLOCK: usize = 64;

/// Sum over rows of a (rows, cols) row-major matrix. Each column block is summed by one task
/// in row order, so the result does not depend on the thread count.
pub fn column_sums(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(m.len(), rows * cols, "column_sums: length");
    let mut out = vec![0.0f32; cols];
    if cols == 0 {
        return out;
    }
    let sum_block = |start: usize, acc: &mut [f32]| {
        let w = acc.len();
        for r in m.chunks_exact(cols) {
            for (a, &v) in acc.iter_mut().zip(&r[start..start + w]) {
                *a += v;
            }
        }
    };
    if rows * cols < 2 * crate::parallel::ELEMENTWISE_GRAIN || cols <= COLUMN_BLOCK {
        sum_block(0, &mut out);
    } else {
        out.par_chunks_mut(COLUMN_BLOCK)
            .enumerate()
            .for_each(|(k, acc)| sum_block(k * COLUMN_BLOCK, acc));
    }
    out
}
