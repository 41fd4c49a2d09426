//! Forward cell kernels: one time step's gate nonlinearities and state update, fused into one
//! pass over the (batch, hidden) elements after the GEMMs have produced the pre-activations.
//!
//! Each kernel overwrites the pre-activations with the activated gates, which the backward
//! pass needs, so a step touches its gate memory once. All slices are row-major with `hidden`
//! (or `gates * hidden`) columns and the same number of batch rows.

use super::act::{relu, sigmoid_fma as sigmoid, tanh_fma as tanh, tanh_sig_fma};
use super::{for_blocks, rows_per_task, simd_kernel, LANES as W, LSTM_LANES as LW};
use rayon::prelude::*;

simd_kernel! {
    pub(super) fn rnn_rows(relu_act: bool, pre: &[f32], h: &mut [f32]) {
        let pre = &pre[..h.len()];
        if relu_act {
            for (h, &p) in h.iter_mut().zip(pre) {
                *h = relu(p);
            }
        } else {
            for (h, &p) in h.iter_mut().zip(pre) {
                *h = tanh(p);
            }
        }
    }
}

/// Elman RNN step: h = tanh(pre) or relu(pre), where `pre` (N, H) already holds
/// W_ih x + W_hh h_prev + both biases.
pub fn rnn_forward(hidden: usize, relu_act: bool, pre: &[f32], h: &mut [f32]) {
    assert_eq!(pre.len(), h.len(), "rnn_forward: buffers differ in length");
    if hidden == 0 || h.is_empty() {
        return;
    }
    let rows = rows_per_task(h.len() / hidden, hidden);
    if rows * hidden >= h.len() {
        return rnn_rows(relu_act, pre, h);
    }
    h.par_chunks_mut(rows * hidden)
        .zip(pre.par_chunks(rows * hidden))
        .for_each(|(h, pre)| rnn_rows(relu_act, pre, h));
}

/// The gates and the new cell state of one block. Split from the cell output
/// (`lstm_out_block`): the gates' four exp/divide chains are independent of each other, but
/// tanh(c) waits for all of them, so one pass doing both has a dependency chain about twice
/// as long as either half, more than the out-of-order window overlaps (the cells of a
/// 64 x 128 LSTM measured ~6% faster in two passes on Zen 3). Same operations per element.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_gates_block(
    cp: &[f32; LW],
    gi: &mut [f32; LW],
    gf: &mut [f32; LW],
    gg: &mut [f32; LW],
    go: &mut [f32; LW],
    c: &mut [f32; LW],
) {
    // tanh through sigmoid (see `act::tanh_sig_fma`): the step's five nonlinearities are
    // then five exp/divide sequences and nothing else, the bulk of a step's non-GEMM time.
    for j in 0..LW {
        let i = sigmoid(gi[j]);
        let f = sigmoid(gf[j]);
        let g = tanh_sig_fma(gg[j]);
        let o = sigmoid(go[j]);
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        c[j] = f.mul_add(cp[j], i * g);
    }
}

/// tanh(c) and h = o * tanh(c) of one block, after `lstm_gates_block`.
#[inline(always)]
fn lstm_out_block(go: &[f32; LW], c: &[f32; LW], h: &mut [f32; LW], tc: &mut [f32; LW]) {
    for j in 0..LW {
        let t = tanh_sig_fma(c[j]);
        tc[j] = t;
        h[j] = go[j] * t;
    }
}

simd_kernel! {
    pub(super) fn lstm_rows(
        hidden: usize,
        gates: &mut [f32],
        c_prev: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        tanh_c: &mut [f32],
    ) {
        let n = hidden;
        for ((((g, cp), h), c), tc) in gates
            .chunks_exact_mut(4 * n)
            .zip(c_prev.chunks_exact(n))
            .zip(h.chunks_exact_mut(n))
            .zip(c.chunks_exact_mut(n))
            .zip(tanh_c.chunks_exact_mut(n))
        {
            let (gi, rest) = g.split_at_mut(n);
            let (gf, rest) = rest.split_at_mut(n);
            let (gg, go) = rest.split_at_mut(n);
            for_blocks!(LW; lstm_gates_block, [cp], [gi, gf, gg, go, c]);
            let (go, c) = (&*go, &*c);
            for_blocks!(LW; lstm_out_block, [go, c], [h, tc]);
        }
    }
}

/// LSTM step. `gates` (N, 4H) holds the pre-activations in PyTorch's order i, f, g, o and is
/// overwritten with the activations; writes c = f*c_prev + i*g, tanh(c) (kept for backward)
/// and h = o*tanh(c).
pub fn lstm_forward(
    hidden: usize,
    gates: &mut [f32],
    c_prev: &[f32],
    h: &mut [f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
) {
    let len = h.len();
    assert!(
        gates.len() == 4 * len && c_prev.len() == len && c.len() == len && tanh_c.len() == len,
        "lstm_forward: buffers differ in length"
    );
    if hidden == 0 || len == 0 {
        return;
    }
    let rows = rows_per_task(len / hidden, hidden);
    if rows * hidden >= len {
        return lstm_rows(hidden, gates, c_prev, h, c, tanh_c);
    }
    let w = rows * hidden;
    gates
        .par_chunks_mut(4 * w)
        .zip(c_prev.par_chunks(w))
        .zip(h.par_chunks_mut(w))
        .zip(c.par_chunks_mut(w))
        .zip(tanh_c.par_chunks_mut(w))
        .for_each(|((((g, cp), h), c), tc)| lstm_rows(hidden, g, cp, h, c, tc));
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_block(
    hr: &[f32; W],
    hz: &[f32; W],
    hhn: &[f32; W],
    hp: &[f32; W],
    gr: &mut [f32; W],
    gz: &mut [f32; W],
    gn: &mut [f32; W],
    h: &mut [f32; W],
    hn: &mut [f32; W],
) {
    for j in 0..W {
        let r = sigmoid(gr[j] + hr[j]);
        let z = sigmoid(gz[j] + hz[j]);
        let nv = tanh(r.mul_add(hhn[j], gn[j]));
        gr[j] = r;
        gz[j] = z;
        gn[j] = nv;
        hn[j] = hhn[j];
        // n + z*(h_prev - n) = (1-z)*n + z*h_prev, written as PyTorch's CPU cell does.
        h[j] = z.mul_add(hp[j] - nv, nv);
    }
}

simd_kernel! {
    pub(super) fn gru_rows(
        hidden: usize,
        gates: &mut [f32],
        hh: &[f32],
        h_prev: &[f32],
        h: &mut [f32],
        hn: &mut [f32],
    ) {
        let n = hidden;
        for ((((g, hh), hp), h), hn) in gates
            .chunks_exact_mut(3 * n)
            .zip(hh.chunks_exact(3 * n))
            .zip(h_prev.chunks_exact(n))
            .zip(h.chunks_exact_mut(n))
            .zip(hn.chunks_exact_mut(n))
        {
            let (gr, rest) = g.split_at_mut(n);
            let (gz, gn) = rest.split_at_mut(n);
            let (hr, rest) = hh.split_at(n);
            let (hz, hhn) = rest.split_at(n);
            for_blocks!(gru_block, [hr, hz, hhn, hp], [gr, gz, gn, h, hn]);
        }
    }
}

/// GRU step. `gates` (N, 3H) holds W_ih x + b_ih in the order r, z, n and is overwritten with
/// the activated r, z, n; `hh` (N, 3H) is W_hh h_prev + b_hh. Writes h and keeps the hidden
/// part of the new gate, W_hn h_prev + b_hn, in `hn` for backward.
pub fn gru_forward(
    hidden: usize,
    gates: &mut [f32],
    hh: &[f32],
    h_prev: &[f32],
    h: &mut [f32],
    hn: &mut [f32],
) {
    let len = h.len();
    assert!(
        gates.len() == 3 * len && hh.len() == 3 * len && h_prev.len() == len && hn.len() == len,
        "gru_forward: buffers differ in length"
    );
    if hidden == 0 || len == 0 {
        return;
    }
    let rows = rows_per_task(len / hidden, hidden);
    if rows * hidden >= len {
        return gru_rows(hidden, gates, hh, h_prev, h, hn);
    }
    let w = rows * hidden;
    gates
        .par_chunks_mut(3 * w)
        .zip(hh.par_chunks(3 * w))
        .zip(h_prev.par_chunks(w))
        .zip(h.par_chunks_mut(w))
        .zip(hn.par_chunks_mut(w))
        .for_each(|((((g, hh), hp), h), hn)| gru_rows(hidden, g, hh, hp, h, hn));
}
