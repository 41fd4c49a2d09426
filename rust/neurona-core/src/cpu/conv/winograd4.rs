//! 3x3 stride-1 convolutions by Winograd's F(4x4, 3x3), for layers with enough channels: 36
//! GEMMs over transformed 6x6 tiles do the work of 144 multiplies per 4x4 output tile with 36
//! (F(2x2, 3x3) in `winograd.rs` needs 64), and every input value is transformed about 2.25
//! times instead of 4. Used for the forward pass, the input gradient (a 3x3 correlation of
//! grad_out with the flipped, transposed kernel) and the weight gradient
//! (`G^T [sum over tiles of (A dY A^T) . (B^T d B)] G`).
//!
//! Its rounding error is several times that of F(2x2) (the transforms' coefficients reach 8),
//! still well inside the `K * eps * sum|terms|` bound for a sum of `K = 9 * C` terms, so it
//! takes only layers of at least `MIN_CHANNELS` channels, where that bound is loose enough.
//!
//! Work is cut in tasks of whole samples (a count fixed by the shape), each processed in chunks
//! of tile rows: transform the chunk, run the 36 GEMMs, transform back. Weight-gradient tasks
//! keep private 36-plane accumulators (summed by one batched packed GEMM per chunk) that are
//! added in task order, so results are bitwise identical for any thread count.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::conv2d_forward::PAR_MIN_FLOPS;
use super::lanes::{lanes_variant, F32x8, Portable};
use super::params::Conv2dGeom;
use super::scratch::{stale, zeroed, Buf};
use super::winograd4_pairs::TILES;
use super::winograd4_transforms::{
    grad_out_transform, input_transform, output_transform, scratch_len, weight_grad_tile,
    weight_tile, Chunk,
};
use super::winograd_product::{accumulate_weight_sums, multiply_positions};
use super::winograd_transforms::row_stride;
use super::winograd_weights::{finish_weight_grad, transform_weights};

/// Channels needed on both sides (see the module doc on rounding).
const MIN_CHANNELS: usize = 16;
/// Tiles per forward / input-gradient chunk (the GEMMs' width): wide, so packing the 36
/// transformed kernels once per chunk stays small next to the products.
const TARGET_TILES: usize = 256;
/// Tiles per weight-gradient chunk: the length of its GEMMs' sums (256 measured a little
/// faster than 128 or 512 and 1024 on both F(4x4) benchmark layers).
const WEIGHT_TILES: usize = 256;
/// At most this many weight-gradient partials.
const MAX_WEIGHT_TASKS: usize = 16;

/// Whether `g` is a convolution these kernels handle (and it is worth it).
pub(crate) fn applies(g: &Conv2dGeom) -> bool {
    (
        g.kh, g.kw, g.stride_h, g.stride_w, g.dil_h, g.dil_w, g.groups,
    ) == (3, 3, 1, 1, 1, 1, 1)
        && g.pad_h <= 2
        && g.pad_w <= 2
        && g.c_in >= MIN_CHANNELS
        && g.c_out >= MIN_CHANNELS
        && pays_off(g.out_h, g.out_w)
}

/// Whether F(4x4) needs clearly fewer GEMM columns than F(2x2) (16 per tile) for an
/// `oh x ow` output. Its transforms cost more per column and waste lanes on rows of fewer
/// than 8 tiles, so it needs 40% fewer columns in general; planes exactly 4 tiles wide (13 to
/// 16 columns, e.g. 14x14) go two tile rows per vector (`winograd4_pairs`) and need 20% fewer
/// (14x14: 27% fewer; fwd+bwd of b64 32x14x14->64 measured 10.9 ms against F(2x2)'s 12.1).
fn pays_off(oh: usize, ow: usize) -> bool {
    let f4 = 36 * oh.div_ceil(4) * ow.div_ceil(4);
    let f2 = 16 * oh.div_ceil(2) * ow.div_ceil(2);
    if ow.div_ceil(4) == TILES {
        10 * f4 <= 8 * f2
    } else {
        10 * f4 <= 6 * f2
    }
}

/// A stride-1 3x3 correlation: `[batch, c_in, h, w]` padded by `pad` to `[batch, c_out, oh,
/// ow]`, covered by `th x tw` 4x4 output tiles.
#[derive(Clone, Copy)]
struct Problem {
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    pad: (usize, usize),
    oh: usize,
    ow: usize,
    th: usize,
    tw: usize,
}

impl Problem {
    fn new(
        batch: usize,
        c_in: usize,
        (h, w): (usize, usize),
        c_out: usize,
        pad: (usize, usize),
    ) -> Self {
        let (oh, ow) = (h + 2 * pad.0 - 2, w + 2 * pad.1 - 2);
        Problem {
            batch,
            c_in,
            h,
            w,
            c_out,
            pad,
            oh,
            ow,
            th: oh.div_ceil(4),
            tw: ow.div_ceil(4),
        }
    }
    fn min_len(&self) -> usize {
        if self.batch * self.c_in * self.c_out * self.oh * self.ow * 9 < PAR_MIN_FLOPS {
            usize::MAX
        } else {
            1
        }
    }
    /// Where tile row `r` of a task lives: (sample within the task, tile-row index).
    fn locate(&self, r: usize) -> (usize, usize) {
        (r / self.th, r % self.th)
    }
}

/// Per-task buffers: transform scratch, transformed input, transformed output (or gradient),
/// rows `ld` apart.
struct Scratch {
    ld: usize,
    t: Buf,
    v: Buf,
    m: Buf,
}

/// Floats per transformed position plane of `channels` rows `ld` apart: one cache line more
/// than the rows need, so that a group's 36 loads or stores (one per plane, planes often a
/// multiple of 4 KiB apart otherwise) fall in different cache sets instead of thrashing a few.
fn plane_len(channels: usize, ld: usize) -> usize {
    channels * ld + 16
}

/// Taken `stale`: every column of `v` and `m` a kernel reads is written first (by a transform
/// or the beta-0 GEMM; the weight gradient's GEMMs sum over the chunk's columns only).
fn scratch(p: &Problem, rows: usize) -> Scratch {
    let ld = row_stride(rows * p.tw);
    Scratch {
        ld,
        t: zeroed(scratch_len(ld)),
        v: stale(36 * plane_len(p.c_in, ld)),
        m: stale(36 * plane_len(p.c_out, ld)),
    }
}

/// `out = correlate(x, kernel whose transform is u) + bias` for problem `p`.
fn correlate(
    p: &Problem,
    x: &[f32],
    u: &[f32],
    bias: Option<&[f32]>,
    out: &mut [MaybeUninit<f32>],
) {
    let tiles = p.th * p.tw;
    let spt = (TARGET_TILES / tiles).clamp(1, (p.batch / 8).max(1));
    let rpc = (TARGET_TILES / p.tw).max(1).min(spt * p.th);
    let (in_len, out_len) = (p.c_in * p.h * p.w, p.c_out * p.oh * p.ow);
    out.par_chunks_mut(spt * out_len)
        .zip(x.par_chunks(spt * in_len))
        .with_min_len(p.min_len())
        .for_each_init(
            || scratch(p, rpc),
            |sc, (out_t, x_t)| correlate_task(p, rpc, u, bias, sc, out_t, x_t),
        );
}

/// One task of `correlate`: all tile rows of the samples in `x_t`, chunk by chunk.
#[inline(always)]
fn correlate_chunks<S: F32x8>(
    p: &Problem,
    rpc: usize,
    u: &[f32],
    bias: Option<&[f32]>,
    sc: &mut Scratch,
    out_t: &mut [MaybeUninit<f32>],
    x_t: &[f32],
) {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let rows = out_t.len() / (p.c_out * plane_out) * p.th;
    let mut r0 = 0;
    while r0 < rows {
        let cc = Chunk {
            nr: rpc.min(rows - r0),
            tw: p.tw,
        };
        let (n, ld) = (cc.cols(), sc.ld);
        let (vk, mk) = (plane_len(p.c_in, ld), plane_len(p.c_out, ld));
        for c in 0..p.c_in {
            let row = |rr: usize| {
                let (s, ty) = p.locate(r0 + rr);
                ((s * p.c_in + c) * plane_in, ty)
            };
            input_transform::<S>(x_t, (p.h, p.w), p.pad, cc, row, &mut sc.v, c * ld, vk);
        }
        multiply_positions(36, u, &sc.v, &mut sc.m, (p.c_in, p.c_out, n), (ld, vk, mk));
        for k in 0..p.c_out {
            let bk = bias.map_or(0.0, |b| b[k]);
            let row = |rr: usize| {
                let (s, ty) = p.locate(r0 + rr);
                ((s * p.c_out + k) * plane_out, ty)
            };
            output_transform::<S>(&sc.m, k * ld, mk, cc, (p.oh, p.ow), bk, out_t, row);
        }
        r0 += cc.nr;
    }
}

lanes_variant!(fn correlate_task => correlate_chunks(p: &Problem, rpc: usize, u: &[f32], bias: Option<&[f32]>, sc: &mut Scratch, out_t: &mut [MaybeUninit<f32>], x_t: &[f32]));

/// conv2d forward for a geometry where `applies(g)`.
pub(crate) fn forward(
    g: &Conv2dGeom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    output: &mut [MaybeUninit<f32>],
) {
    let p = Problem::new(g.batch, g.c_in, (g.h, g.w), g.c_out, (g.pad_h, g.pad_w));
    let u = transform_weights(weight, (g.c_out, g.c_in), false, weight_tile::<Portable>);
    correlate(&p, input, &u, bias, output);
}

/// grad_input of conv2d: grad_out correlated with the flipped kernel, padded by 2 - pad.
pub(crate) fn backward_input(
    g: &Conv2dGeom,
    weight: &[f32],
    grad_out: &[f32],
    grad_input: &mut [MaybeUninit<f32>],
) {
    let p = Problem::new(
        g.batch,
        g.c_out,
        (g.out_h, g.out_w),
        g.c_in,
        (2 - g.pad_h, 2 - g.pad_w),
    );
    let u = transform_weights(weight, (g.c_out, g.c_in), true, weight_tile::<Portable>);
    correlate(&p, grad_out, &u, None, grad_input);
}

/// grad_weight of conv2d, accumulated per fixed chunk of samples, chunks added in order.
pub(crate) fn backward_weight(
    g: &Conv2dGeom,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [MaybeUninit<f32>],
) {
    let p = Problem::new(g.batch, g.c_in, (g.h, g.w), g.c_out, (g.pad_h, g.pad_w));
    let (in_len, out_len) = (p.c_in * p.h * p.w, p.c_out * p.oh * p.ow);
    // Samples per task: enough that a task's GEMM sums run over a whole `WEIGHT_TILES`
    // (small planes have few tiles per sample), and at most `MAX_WEIGHT_TASKS` tasks.
    let chunk = p
        .batch
        .div_ceil(MAX_WEIGHT_TASKS)
        .max(WEIGHT_TILES.div_ceil(p.th * p.tw))
        .clamp(1, p.batch.max(1));
    let s_len = 36 * p.c_out * p.c_in;
    // Written by each task's first chunk (`accumulate_weight_sums`), so taken stale.
    let mut partials = stale(p.batch.div_ceil(chunk) * s_len);
    let p = &p;
    let rpc = (WEIGHT_TILES / p.tw).max(1).min(chunk * p.th);
    partials
        .par_chunks_mut(s_len)
        .zip(
            input
                .par_chunks(chunk * in_len)
                .zip(grad_out.par_chunks(chunk * out_len)),
        )
        .with_min_len(p.min_len())
        .for_each_init(
            || scratch(p, rpc),
            |sc, (s, (x_t, dy_t))| weight_task(p, rpc, sc, s, x_t, dy_t),
        );
    let kc = p.c_out * p.c_in;
    finish_weight_grad(
        &mut partials,
        (s_len, kc),
        p.min_len(),
        grad_weight,
        weight_grad_tile,
    );
}

/// One task of `backward_weight`: accumulates the transformed weight gradient of the samples in
/// `x_t` / `dy_t` into `s` (36 planes of `c_out x c_in`).
#[inline(always)]
fn weight_chunks<S: F32x8>(
    p: &Problem,
    rpc: usize,
    sc: &mut Scratch,
    s: &mut [f32],
    x_t: &[f32],
    dy_t: &[f32],
) {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let rows = dy_t.len() / (p.c_out * plane_out) * p.th;
    let mut r0 = 0;
    while r0 < rows {
        let cc = Chunk {
            nr: rpc.min(rows - r0),
            tw: p.tw,
        };
        let (n, ld) = (cc.cols(), sc.ld);
        let (vk, dk) = (plane_len(p.c_in, ld), plane_len(p.c_out, ld));
        let sk = p.c_out * p.c_in;
        for c in 0..p.c_in {
            let row = |rr: usize| {
                let (s, ty) = p.locate(r0 + rr);
                ((s * p.c_in + c) * plane_in, ty)
            };
            input_transform::<S>(x_t, (p.h, p.w), p.pad, cc, row, &mut sc.v, c * ld, vk);
        }
        for k in 0..p.c_out {
            let row = |rr: usize| {
                let (s, ty) = p.locate(r0 + rr);
                ((s * p.c_out + k) * plane_out, ty)
            };
            grad_out_transform::<S>(
                dy_t,
                (p.oh, p.ow),
                cc,
                row,
                &mut sc.t,
                &mut sc.m,
                k * ld,
                dk,
            );
        }
        let dims = (p.c_in, p.c_out, n);
        accumulate_weight_sums(36, &sc.m, &sc.v, s, dims, (ld, dk, vk, sk), r0 == 0);
        r0 += cc.nr;
    }
}

lanes_variant!(fn weight_task => weight_chunks(p: &Problem, rpc: usize, sc: &mut Scratch, s: &mut [f32], x_t: &[f32], dy_t: &[f32]));

#[cfg(test)]
mod tests {
    use super::pays_off;

    #[test]
    fn planes_four_tiles_wide_take_f4x4() {
        // The benchmark's 14x14 and the test shapes' 13-16 wide planes (pairs of tile rows).
        for (oh, ow) in [(14, 14), (9, 14), (13, 13), (12, 14), (16, 16)] {
            assert!(pays_off(oh, ow), "{oh}x{ow}");
        }
        // Rows of 2 tiles waste most lanes: F(2x2).
        assert!(!pays_off(14, 7));
        assert!(!pays_off(6, 5));
    }
}
