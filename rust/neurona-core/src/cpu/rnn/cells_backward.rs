//! Backward cell kernels: one time step of backpropagation through time, fused. Given the
//! gradient reaching a step's outputs, each kernel writes the gradient of the step's gate
//! pre-activations (which the driver then pushes through W_hh and, for all steps at once,
//! into the weight gradients) and the parts of the previous state's gradient that do not go
//! through a GEMM.
//!
//! They read the activated gates the forward kernels left behind, so no nonlinearity is
//! evaluated twice. Layouts are those of `cells`.

use super::{for_blocks, rows_per_task, simd_kernel, LANES as W};
use crate::cpu::prefetch;
use rayon::prelude::*;

/// Rows ahead of the current one whose inputs the LSTM's backward cell prefetches. Backward
/// reads each step's saved gates, cell states and output gradient long after the forward
/// wrote them, mostly from L3 or memory; a row of gates is 2 KiB for 128 units, so the
/// hardware prefetchers, which stop at 4 KiB pages, restart every other row. Prefetching a
/// few rows ahead took ~1% off an LSTM's forward + backward on Zen 3 (64 x 128, one thread;
/// 2, 4 and 8 rows measured alike), and as non-temporal (NTA) prefetches another ~0.7%:
/// these inputs are read once, and kept out of L2 they leave W_hh there for the step's
/// product (with the inputs of a step held hot instead, the layer measured ~2.5% faster).
const PREFETCH_ROWS_AHEAD: usize = 4;

simd_kernel! {
    pub(super) fn rnn_rows(relu_act: bool, h: &[f32], dh: &[f32], dpre: &mut [f32]) {
        let (h, dh) = (&h[..dpre.len()], &dh[..dpre.len()]);
        if relu_act {
            for ((d, &h), &g) in dpre.iter_mut().zip(h).zip(dh) {
                *d = if h > 0.0 { g } else { 0.0 };
            }
        } else {
            for ((d, &h), &g) in dpre.iter_mut().zip(h).zip(dh) {
                *d = g * (1.0 - h * h);
            }
        }
    }
}

/// Elman RNN step backward: dpre = dh * act'(pre), with act' read from the output h
/// (1 - h^2 for tanh, [h > 0] for relu).
pub fn rnn_backward(hidden: usize, relu_act: bool, h: &[f32], dh: &[f32], dpre: &mut [f32]) {
    assert!(
        h.len() == dpre.len() && dh.len() == dpre.len(),
        "rnn_backward: buffers differ in length"
    );
    if hidden == 0 || dpre.is_empty() {
        return;
    }
    let rows = rows_per_task(dpre.len() / hidden, hidden);
    if rows * hidden >= dpre.len() {
        return rnn_rows(relu_act, h, dh, dpre);
    }
    let w = rows * hidden;
    dpre.par_chunks_mut(w)
        .zip(h.par_chunks(w))
        .zip(dh.par_chunks(w))
        .for_each(|((d, h), dh)| rnn_rows(relu_act, h, dh, d));
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_block(
    gi: &[f32; W],
    gf: &[f32; W],
    gg: &[f32; W],
    go: &[f32; W],
    cp: &[f32; W],
    tc: &[f32; W],
    dh: &[f32; W],
    dy: &[f32; W],
    dc: &mut [f32; W],
    di: &mut [f32; W],
    df: &mut [f32; W],
    dgg: &mut [f32; W],
    dgo: &mut [f32; W],
) {
    for j in 0..W {
        let (i, f, g, o, t) = (gi[j], gf[j], gg[j], go[j], tc[j]);
        // Gradient on h_t: through the next step, plus from the output at t.
        let dht = dh[j] + dy[j];
        // Gradient on c_t: from the next step's c, plus through h_t = o * tanh(c_t).
        let dct = dc[j] + dht * o * (1.0 - t * t);
        di[j] = dct * g * (i * (1.0 - i));
        df[j] = dct * cp[j] * (f * (1.0 - f));
        dgg[j] = dct * i * (1.0 - g * g);
        dgo[j] = dht * t * (o * (1.0 - o));
        dc[j] = dct * f;
    }
}

simd_kernel! {
    pub(super) fn lstm_rows(
        hidden: usize,
        gates: &[f32],
        c_prev: &[f32],
        tanh_c: &[f32],
        dh: &[f32],
        dy: &[f32],
        dc: &mut [f32],
        dgates: &mut [f32],
    ) {
        let n = hidden;
        let dy_all = dy;
        for (r, ((((((g, cp), tc), dh), dy), dc), dg)) in gates
            .chunks_exact(4 * n)
            .zip(c_prev.chunks_exact(n))
            .zip(tanh_c.chunks_exact(n))
            .zip(dh.chunks_exact(n))
            .zip(dy.chunks_exact(n))
            .zip(dc.chunks_exact_mut(n))
            .zip(dgates.chunks_exact_mut(4 * n))
            .enumerate()
        {
            let q = r + PREFETCH_ROWS_AHEAD;
            if (q + 1) * n <= c_prev.len() {
                prefetch::for_read_once(&gates[q * 4 * n..(q + 1) * 4 * n]);
                for buf in [c_prev, tanh_c, dy_all] {
                    prefetch::for_read_once(&buf[q * n..(q + 1) * n]);
                }
            }
            let (gi, rest) = g.split_at(n);
            let (gf, rest) = rest.split_at(n);
            let (gg, go) = rest.split_at(n);
            let (di, rest) = dg.split_at_mut(n);
            let (df, rest) = rest.split_at_mut(n);
            let (dgg, dgo) = rest.split_at_mut(n);
            for_blocks!(lstm_block, [gi, gf, gg, go, cp, tc, dh, dy], [dc, di, df, dgg, dgo]);
        }
    }
}

/// LSTM step backward. The gradient on h_t is `dh + dy` (from the next step and from the
/// output at t); `dc` holds the gradient on c_t that came from later steps and is overwritten
/// with the gradient on c_{t-1}. Writes the pre-activation gradients (N, 4H) in the gate
/// order i, f, g, o.
#[allow(clippy::too_many_arguments)]
pub fn lstm_backward(
    hidden: usize,
    gates: &[f32],
    c_prev: &[f32],
    tanh_c: &[f32],
    dh: &[f32],
    dy: &[f32],
    dc: &mut [f32],
    dgates: &mut [f32],
) {
    let len = dc.len();
    assert!(
        gates.len() == 4 * len
            && dgates.len() == 4 * len
            && c_prev.len() == len
            && tanh_c.len() == len
            && dh.len() == len
            && dy.len() == len,
        "lstm_backward: buffers differ in length"
    );
    if hidden == 0 || len == 0 {
        return;
    }
    let rows = rows_per_task(len / hidden, hidden);
    if rows * hidden >= len {
        return lstm_rows(hidden, gates, c_prev, tanh_c, dh, dy, dc, dgates);
    }
    let w = rows * hidden;
    dgates
        .par_chunks_mut(4 * w)
        .zip(dc.par_chunks_mut(w))
        .zip(gates.par_chunks(4 * w))
        .zip(c_prev.par_chunks(w))
        .zip(tanh_c.par_chunks(w))
        .zip(dh.par_chunks(w))
        .zip(dy.par_chunks(w))
        .for_each(|((((((dg, dc), g), cp), tc), dh), dy)| {
            lstm_rows(hidden, g, cp, tc, dh, dy, dc, dg)
        });
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_block(
    gr: &[f32; W],
    gz: &[f32; W],
    gn: &[f32; W],
    hn: &[f32; W],
    hp: &[f32; W],
    dh: &[f32; W],
    xr: &mut [f32; W],
    xz: &mut [f32; W],
    xn: &mut [f32; W],
    hr: &mut [f32; W],
    hz: &mut [f32; W],
    hhn: &mut [f32; W],
    dhp: &mut [f32; W],
) {
    for j in 0..W {
        let (r, z, nv, d) = (gr[j], gz[j], gn[j], dh[j]);
        // h = (1-z)*n + z*h_prev
        let dn_pre = d * (1.0 - z) * (1.0 - nv * nv);
        let dz_pre = d * (hp[j] - nv) * (z * (1.0 - z));
        // n = tanh(x_n + r * hn): r and hn meet in a product
        let dr_pre = dn_pre * hn[j] * (r * (1.0 - r));
        xr[j] = dr_pre;
        xz[j] = dz_pre;
        xn[j] = dn_pre;
        hr[j] = dr_pre;
        hz[j] = dz_pre;
        hhn[j] = dn_pre * r;
        dhp[j] = d * z;
    }
}

simd_kernel! {
    pub(super) fn gru_rows(
        hidden: usize,
        gates: &[f32],
        hn: &[f32],
        h_prev: &[f32],
        dh: &[f32],
        dgx: &mut [f32],
        dgh: &mut [f32],
        dh_prev: &mut [f32],
    ) {
        let n = hidden;
        for ((((((g, hn), hp), dh), dgx), dgh), dhp) in gates
            .chunks_exact(3 * n)
            .zip(hn.chunks_exact(n))
            .zip(h_prev.chunks_exact(n))
            .zip(dh.chunks_exact(n))
            .zip(dgx.chunks_exact_mut(3 * n))
            .zip(dgh.chunks_exact_mut(3 * n))
            .zip(dh_prev.chunks_exact_mut(n))
        {
            let (gr, rest) = g.split_at(n);
            let (gz, gn) = rest.split_at(n);
            let (xr, rest) = dgx.split_at_mut(n);
            let (xz, xn) = rest.split_at_mut(n);
            let (hr, rest) = dgh.split_at_mut(n);
            let (hz, hhn) = rest.split_at_mut(n);
            for_blocks!(gru_block, [gr, gz, gn, hn, hp, dh], [xr, xz, xn, hr, hz, hhn, dhp]);
        }
    }
}

/// GRU step backward. From the whole gradient `dh` on h_t, writes the gradients of the input
/// pre-activations `dgx` (N, 3H: r, z, n) and of the hidden pre-activations `dgh` (the same
/// except the n block, which the reset gate scales), and writes the direct path z * dh into
/// `dh_prev` (the driver then adds dgh W_hh to it).
#[allow(clippy::too_many_arguments)]
pub fn gru_backward(
    hidden: usize,
    gates: &[f32],
    hn: &[f32],
    h_prev: &[f32],
    dh: &[f32],
    dgx: &mut [f32],
    dgh: &mut [f32],
    dh_prev: &mut [f32],
) {
    let len = dh.len();
    assert!(
        gates.len() == 3 * len
            && dgx.len() == 3 * len
            && dgh.len() == 3 * len
            && hn.len() == len
            && h_prev.len() == len
            && dh_prev.len() == len,
        "gru_backward: buffers differ in length"
    );
    if hidden == 0 || len == 0 {
        return;
    }
    let rows = rows_per_task(len / hidden, hidden);
    if rows * hidden >= len {
        return gru_rows(hidden, gates, hn, h_prev, dh, dgx, dgh, dh_prev);
    }
    let w = rows * hidden;
    dgx.par_chunks_mut(3 * w)
        .zip(dgh.par_chunks_mut(3 * w))
        .zip(dh_prev.par_chunks_mut(w))
        .zip(gates.par_chunks(3 * w))
        .zip(hn.par_chunks(w))
        .zip(h_prev.par_chunks(w))
        .zip(dh.par_chunks(w))
        .for_each(|((((((dgx, dgh), dhp), g), hn), hp), dh)| {
            gru_rows(hidden, g, hn, hp, dh, dgx, dgh, dhp)
        });
}
