//! conv2d forward: per (sample, group, output-channel block), im2col tiles times the weight
//! matrix through `sgemm`, with the bias written into the output before the GEMM adds to it.
//! The output comes uninitialised (see `uninit.rs`): Winograd writes it directly, the GEMM path
//! initialises each task's block first (in cache, just before the GEMM reads it).
//! 3x3 stride-1 layers with enough channels go to Winograd's F(4x4, 3x3) or F(2x2, 3x3) instead.
//!
//! Threads split the output into disjoint (sample, channel-block) slices whose size depends only
//! on the problem's shape, and every output element is produced by one GEMM call, so the result
//! is bitwise identical for any rayon thread count.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::im2col::{im2col_tile, is_pointwise, tile_cols};
use super::params::Conv2dGeom;
use super::scratch::stale;
use super::uninit;
use super::{winograd, winograd4};
use crate::cpu::gemm::{sgemm, Epilogue, MatMut, MatRef};

/// Multiply-adds below which a whole call stays on the calling thread.
pub(crate) const PAR_MIN_FLOPS: usize = 1 << 18;

/// Output channels per task: a whole group when there are enough (sample, group) pairs to feed
/// the threads, else a divisor of it so a small batch still splits. Depends on the shape only.
fn channel_block(g: &Conv2dGeom) -> usize {
    let cog = g.c_out_g();
    if g.batch * g.groups >= 8 {
        return cog;
    }
    let target = cog.div_ceil(4).max(8).min(cog);
    (1..=target)
        .rev()
        .find(|d| cog.is_multiple_of(*d))
        .unwrap_or(1)
}

/// `output = conv2d(input, weight) + bias`, all contiguous NCHW (`g` gives the shapes). Every
/// element of `output` is written, so it may start uninitialised (a fresh `Vec`'s spare
/// capacity); its previous contents are never read.
pub fn conv2d_forward(
    g: &Conv2dGeom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    output: &mut [MaybeUninit<f32>],
) {
    assert_eq!(input.len(), g.input_len(), "conv2d_forward: input length");
    assert_eq!(
        weight.len(),
        g.weight_len(),
        "conv2d_forward: weight length"
    );
    assert_eq!(
        output.len(),
        g.output_len(),
        "conv2d_forward: output length"
    );
    if let Some(b) = bias {
        assert_eq!(b.len(), g.c_out, "conv2d_forward: bias length");
    }
    if output.is_empty() {
        return;
    }
    if winograd4::applies(g) {
        return winograd4::forward(g, input, weight, bias, output);
    }
    if winograd::applies(g) {
        return winograd::forward(g, input, weight, bias, output);
    }
    let p = g.out_plane();
    let cob = channel_block(g);
    let blocks_per_sample = g.c_out / cob;
    let tile = tile_cols(g);
    let scratch = if is_pointwise(g) { 0 } else { g.k_len() * tile };
    let min_len = if g.output_len() * g.k_len() < PAR_MIN_FLOPS {
        usize::MAX
    } else {
        1
    };

    output
        .par_chunks_mut(cob * p)
        .with_min_len(min_len)
        .enumerate()
        .for_each_init(
            || stale(scratch),
            |cols, (t, out)| {
                let n = t / blocks_per_sample;
                let co0 = (t % blocks_per_sample) * cob;
                let gi = co0 / g.c_out_g();
                let x_len = g.c_in_g() * g.in_plane();
                let x0 = (n * g.c_in + gi * g.c_in_g()) * g.in_plane();
                let x = &input[x0..x0 + x_len];
                let k = g.k_len();
                let w = MatRef::row_major(&weight[co0 * k..(co0 + cob) * k], cob, k);
                let b = bias.map(|b| &b[co0..co0 + cob]);
                forward_block(g, x, w, b, out, cols, tile);
            },
        );
}

/// One task: `out` (`cob x P`) = `w` (`cob x K`) times the im2col matrix of `x`, plus bias.
fn forward_block(
    g: &Conv2dGeom,
    x: &[f32],
    w: MatRef,
    bias: Option<&[f32]>,
    out: &mut [MaybeUninit<f32>],
    cols: &mut [f32],
    tile: usize,
) {
    let p = g.out_plane();
    let k = g.k_len();
    // The GEMM takes an initialised C even with beta 0: zeros, or the bias it adds to.
    let out = uninit::fill(out, 0.0);
    let beta = if let Some(b) = bias {
        for (row, &bv) in out.chunks_exact_mut(p).zip(b) {
            row.fill(bv);
        }
        1.0
    } else {
        0.0
    };
    if is_pointwise(g) {
        let c = MatMut::row_major(out, w.rows, p);
        sgemm(1.0, w, MatRef::row_major(x, k, p), beta, c, Epilogue::None);
        return;
    }
    let mut p0 = 0;
    while p0 < p {
        let nc = tile.min(p - p0);
        im2col_tile(g, x, p0, nc, cols);
        let b = MatRef::row_major(&cols[..k * nc], k, nc);
        let c = MatMut {
            data: &mut out[p0..],
            rows: w.rows,
            cols: nc,
            rs: p,
            cs: 1,
        };
        sgemm(1.0, w, b, beta, c, Epilogue::None);
        p0 += nc;
    }
}
