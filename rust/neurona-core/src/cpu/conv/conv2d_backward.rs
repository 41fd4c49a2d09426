//! conv2d backward as GEMMs: grad_input = col2im(W^T * grad_out), grad_weight = sum over the
//! batch of grad_out * cols^T, grad_bias = sum of grad_out over batch and positions. 3x3
//! stride-1 layers with enough channels use the Winograd kernels of `winograd4.rs` (F(4x4, 3x3))
//! or `winograd.rs` (F(2x2, 3x3)) instead.
//!
//! The batch is cut into chunks whose length depends on the batch size only. Each task owns one
//! chunk: it writes that chunk's grad_input slices and accumulates its samples' grad_weight into
//! a private partial in sample order; the partials are then added in chunk order. Nothing depends
//! on which thread ran what, so results are bitwise identical for any thread count.
//!
//! The gradient buffers come uninitialised (see `uninit.rs`): every path writes each element,
//! and the GEMM paths zero their own chunk first (the GEMMs and col2im add into it).

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::conv2d_forward::PAR_MIN_FLOPS;
use super::dot_gemm::gemm_abt_acc;
use super::im2col::{col2im_tile_add, im2col_tile, is_pointwise, tile_cols};
use super::params::Conv2dGeom;
use super::scratch::{stale, zeroed};
use super::uninit;
use super::{winograd, winograd4};
use crate::cpu::gemm::{sgemm, Epilogue, MatMut, MatRef};

/// Tiles at least this wide take the weight gradient as in-place dot products (`dot_gemm`).
const DOT_MIN_COLS: usize = 64;

/// Upper bound on the number of grad_weight partials (memory: this many weight-sized buffers).
const MAX_WEIGHT_CHUNKS: usize = 16;

/// The gradients a caller wants; `None` skips that computation. Each requested buffer is
/// overwritten (not accumulated into; it may start uninitialised): grad_input has the input's
/// length, grad_weight the weight's, grad_bias `C_out`.
#[derive(Debug, Default)]
pub struct Conv2dGrads<'a> {
    pub input: Option<&'a mut [MaybeUninit<f32>]>,
    pub weight: Option<&'a mut [MaybeUninit<f32>]>,
    pub bias: Option<&'a mut [MaybeUninit<f32>]>,
}

/// One task's share of the work: samples `n0 .. n0 + count` of the batch.
struct Chunk<'a> {
    n0: usize,
    count: usize,
    grad_input: Option<&'a mut [MaybeUninit<f32>]>,
    grad_weight: Option<&'a mut [MaybeUninit<f32>]>,
}

/// Backward of `conv2d_forward` for the same `g`, `input` and `weight`, given `grad_out`
/// (the output's shape).
pub fn conv2d_backward(
    g: &Conv2dGeom,
    input: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    grads: Conv2dGrads,
) {
    assert_eq!(input.len(), g.input_len(), "conv2d_backward: input length");
    assert_eq!(
        weight.len(),
        g.weight_len(),
        "conv2d_backward: weight length"
    );
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "conv2d_backward: grad_out length"
    );
    let Conv2dGrads {
        input: gin,
        weight: gw,
        bias: gb,
    } = grads;
    // The F(2x2) weight gradient sums grad_bias on the way (see `winograd::backward_weight`).
    let fused_bias = gw.is_some() && g.batch > 0 && !winograd4::applies(g) && winograd::applies(g);
    let mut gb = gb;
    if let Some(gb) = gb.as_deref_mut() {
        assert_eq!(gb.len(), g.c_out, "conv2d_backward: grad_bias length");
        if !fused_bias {
            grad_bias(g, grad_out, gb);
        }
    }
    if gin.is_none() && gw.is_none() {
        return;
    }
    if let Some(gi) = &gin {
        assert_eq!(
            gi.len(),
            g.input_len(),
            "conv2d_backward: grad_input length"
        );
    }
    if let Some(gw) = &gw {
        assert_eq!(
            gw.len(),
            g.weight_len(),
            "conv2d_backward: grad_weight length"
        );
    }
    let wlen = g.weight_len();
    let mut gw = gw;
    if g.batch == 0 {
        if let Some(gw) = gw {
            uninit::fill(gw, 0.0);
        }
        return;
    }
    if winograd4::applies(g) {
        if let Some(gi) = gin {
            winograd4::backward_input(g, weight, grad_out, gi);
        }
        if let Some(gw) = gw {
            winograd4::backward_weight(g, input, grad_out, gw);
        }
        return;
    }
    if winograd::applies(g) {
        if let Some(gi) = gin {
            winograd::backward_input(g, weight, grad_out, gi);
        }
        if let Some(gw) = gw {
            winograd::backward_weight(g, input, grad_out, gw, gb.filter(|_| fused_bias));
        }
        return;
    }
    // With grad_weight, a chunk holds several samples so the partials stay few; without it,
    // every sample is its own task.
    let chunk_len = if gw.is_some() {
        g.batch.div_ceil(MAX_WEIGHT_CHUNKS)
    } else {
        1
    };
    let n_chunks = g.batch.div_ceil(chunk_len);
    let use_partials = gw.is_some() && n_chunks > 1;
    let mut partials = zeroed(if use_partials { n_chunks * wlen } else { 0 });
    {
        let weight_targets: Vec<Option<&mut [MaybeUninit<f32>]>> = if use_partials {
            // SAFETY (the cast): the partials are initialised floats, viewed as `MaybeUninit`
            // only to share the chunks' type; nothing writes an uninitialised value into them.
            let parts = unsafe { &mut *(&mut *partials as *mut [f32] as *mut [MaybeUninit<f32>]) };
            parts.chunks_mut(wlen).map(Some).collect()
        } else {
            let mut v: Vec<Option<&mut [MaybeUninit<f32>]>> = (0..n_chunks).map(|_| None).collect();
            v[0] = gw.as_deref_mut();
            v
        };
        let input_targets: Vec<Option<&mut [MaybeUninit<f32>]>> = match gin {
            Some(s) => s
                .chunks_mut(chunk_len * g.c_in * g.in_plane())
                .map(Some)
                .collect(),
            None => (0..n_chunks).map(|_| None).collect(),
        };
        let chunks: Vec<Chunk> = weight_targets
            .into_iter()
            .zip(input_targets)
            .enumerate()
            .map(|(c, (grad_weight, grad_input))| Chunk {
                n0: c * chunk_len,
                count: chunk_len.min(g.batch - c * chunk_len),
                grad_input,
                grad_weight,
            })
            .collect();
        let tile = tile_cols(g);
        let scratch = if is_pointwise(g) { 0 } else { g.k_len() * tile };
        let min_len = if g.output_len() * g.k_len() < PAR_MIN_FLOPS {
            usize::MAX
        } else {
            1
        };
        chunks.into_par_iter().with_min_len(min_len).for_each(|ch| {
            let mut cols = stale(scratch);
            let mut gcols = stale(scratch);
            backward_chunk(g, input, weight, grad_out, ch, &mut cols, &mut gcols, tile);
        });
    }
    if let (true, Some(gw)) = (use_partials, gw) {
        // Partials are added in chunk order; threads split the weight elements, not the sum.
        gw.par_chunks_mut(1024).enumerate().for_each(|(b, out)| {
            let base = b * 1024;
            let out = uninit::copy(out, &partials[base..base + out.len()]);
            for part in partials.chunks_exact(wlen).skip(1) {
                for (o, v) in out.iter_mut().zip(&part[base..]) {
                    *o += *v;
                }
            }
        });
    }
}

/// Every task's work: grad_input and the grad_weight partial of its chunk of samples.
#[allow(clippy::too_many_arguments)]
fn backward_chunk(
    g: &Conv2dGeom,
    input: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    ch: Chunk,
    cols: &mut [f32],
    gcols: &mut [f32],
    tile: usize,
) {
    let (p, k, cog, cig) = (g.out_plane(), g.k_len(), g.c_out_g(), g.c_in_g());
    let plane = g.in_plane();
    let pointwise = is_pointwise(g);
    // Both are summed into (or, pointwise, written by a GEMM that takes an initialised C).
    let mut grad_weight = ch.grad_weight.map(|gw| uninit::fill(gw, 0.0));
    let mut grad_input = ch.grad_input.map(|gi| uninit::fill(gi, 0.0));
    for s in 0..ch.count {
        let n = ch.n0 + s;
        for grp in 0..g.groups {
            let x0 = (n * g.c_in + grp * cig) * plane;
            let x = &input[x0..x0 + cig * plane];
            let o0 = (n * g.c_out + grp * cog) * p;
            let go = &grad_out[o0..o0 + cog * p];
            let wg = MatRef::row_major(&weight[grp * cog * k..(grp + 1) * cog * k], cog, k);
            let mut gw_g = grad_weight
                .as_deref_mut()
                .map(|gw| MatMut::row_major(&mut gw[grp * cog * k..(grp + 1) * cog * k], cog, k));
            let gi0 = (s * g.c_in + grp * cig) * plane;
            let mut gin_g = grad_input
                .as_deref_mut()
                .map(|gi| &mut gi[gi0..gi0 + cig * plane]);
            if pointwise {
                let go_m = MatRef::row_major(go, cog, p);
                if let Some(c) = gw_g {
                    sgemm(
                        1.0,
                        go_m,
                        MatRef::row_major(x, k, p).t(),
                        1.0,
                        c,
                        Epilogue::None,
                    );
                }
                if let Some(gi) = gin_g {
                    sgemm(
                        1.0,
                        wg.t(),
                        go_m,
                        0.0,
                        MatMut::row_major(gi, k, p),
                        Epilogue::None,
                    );
                }
                continue;
            }
            let mut p0 = 0;
            while p0 < p {
                let nc = tile.min(p - p0);
                let go_t = MatRef {
                    data: &go[p0..],
                    rows: cog,
                    cols: nc,
                    rs: p,
                    cs: 1,
                };
                if let Some(c) = gw_g.as_mut().filter(|_| nc >= DOT_MIN_COLS) {
                    // Both operands have the summed (position) index contiguous: dot products
                    // in place beat packing a transposed copy of the tile.
                    im2col_tile(g, x, p0, nc, cols);
                    gemm_abt_acc((cog, k, nc), &go[p0..], p, cols, nc, c.data, k);
                } else if let Some(c) = gw_g.as_mut() {
                    im2col_tile(g, x, p0, nc, cols);
                    let cm = MatRef::row_major(&cols[..k * nc], k, nc).t();
                    let c = MatMut {
                        data: &mut *c.data,
                        rows: cog,
                        cols: k,
                        rs: k,
                        cs: 1,
                    };
                    sgemm(1.0, go_t, cm, 1.0, c, Epilogue::None);
                }
                if let Some(gi) = gin_g.as_deref_mut() {
                    let gc = MatMut::row_major(&mut gcols[..k * nc], k, nc);
                    sgemm(1.0, wg.t(), go_t, 0.0, gc, Epilogue::None);
                    col2im_tile_add(g, &gcols[..k * nc], p0, nc, gi);
                }
                p0 += nc;
            }
        }
    }
}

/// grad_bias[co] = sum over samples (in order) of the sum of grad_out's plane (co): threads split
/// the channels, and each plane is summed in eight fixed lanes, so the order never changes.
fn grad_bias(g: &Conv2dGeom, grad_out: &[f32], gb: &mut [MaybeUninit<f32>]) {
    let p = g.out_plane();
    let min_len = if g.output_len() < PAR_MIN_FLOPS {
        usize::MAX
    } else {
        1
    };
    gb.par_iter_mut()
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(co, out)| {
            let mut total = 0.0f32;
            for n in 0..g.batch {
                let o0 = (n * g.c_out + co) * p;
                total += lane_sum(&grad_out[o0..o0 + p]);
            }
            out.write(total);
        });
}

/// Sum with eight independent accumulators (vectorisable, fixed order), then a fixed tree.
pub(crate) fn lane_sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += *x;
        }
    }
    let mut tail = 0.0f32;
    for x in it.remainder() {
        tail += *x;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}
