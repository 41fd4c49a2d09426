//! 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3): 16 GEMMs over transformed tiles do the
//! work of 36 multiplies per 2x2 output tile with 16, for the forward pass, the input gradient
//! (a 3x3 correlation of grad_out with the flipped, transposed kernel) and the weight gradient
//! (`G^T [sum over tiles of (A dY A^T) . (B^T d B)] G`).
//!
//! Work is cut in tasks of whole samples (a count fixed by the shape), each processed in chunks
//! of a few tile rows: transform the chunk, run the 16 GEMMs, transform back. Weight-gradient
//! tasks keep private 16-plane accumulators that are added in task order, so results are bitwise
//! identical for any thread count.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::conv2d_backward::lane_sum;
use super::conv2d_forward::PAR_MIN_FLOPS;
use super::lanes::{lanes_variant, F32x8, Portable};
use super::params::Conv2dGeom;
use super::scratch::{stale, Buf};
use super::uninit;
use super::winograd_product::{accumulate_weight_sums, multiply_positions};
use super::winograd_transforms::{
    grad_out_transform, input_transform, output_transform, row_stride, weight_grad_tile,
    weight_tile, ChunkCols,
};
use super::winograd_weights::{finish_weight_grad, transform_weights};

/// Below this many channels on either side the GEMMs are too thin to pay for the transforms.
const MIN_CHANNELS: usize = 8;
/// Tiles per chunk (at most; about the GEMMs' width): 16 * 64 * 128 floats of transformed data
/// per side.
const TARGET_TILES: usize = 128;
/// Tile columns per weight-gradient chunk: the length of its GEMMs' sums (long enough to
/// amortise packing, short enough that a chunk's transformed data stays near L2).
const WEIGHT_TILES: usize = 224;
/// At most this many weight-gradient partials (tasks of several samples each). Few, so a
/// task holds several chunks of `panel_rows` (b64 14x14: 112 rows, chunks of 32, 32, 32, 16).
const MAX_WEIGHT_TASKS: usize = 4;

/// Whether `g` is a convolution these kernels handle (and it is worth it).
pub(crate) fn applies(g: &Conv2dGeom) -> bool {
    (
        g.kh, g.kw, g.stride_h, g.stride_w, g.dil_h, g.dil_w, g.groups,
    ) == (3, 3, 1, 1, 1, 1, 1)
        && g.pad_h <= 2
        && g.pad_w <= 2
        && g.c_in >= MIN_CHANNELS
        && g.c_out >= MIN_CHANNELS
}

/// A stride-1 3x3 correlation: `[batch, c_in, h, w]` padded by (pad_h, pad_w) to `[batch,
/// c_out, oh, ow]`, covered by `th x tw` 2x2 output tiles.
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
            th: oh.div_ceil(2),
            tw: ow.div_ceil(2),
        }
    }
    /// Tile rows per chunk.
    fn rows_per_chunk(&self) -> usize {
        panel_rows(TARGET_TILES, self.tw)
    }
    fn flops(&self) -> usize {
        self.batch * self.c_in * self.c_out * self.oh * self.ow * 9
    }
    fn min_len(&self) -> usize {
        if self.flops() < PAR_MIN_FLOPS {
            usize::MAX
        } else {
            1
        }
    }
}

/// Tile rows of `tw` tiles per chunk of at most `max_tiles` (at least one row), preferring a
/// multiple of 16 tiles: it fills the GEMM's 16-column panels exactly (correlation), and sums
/// of such lengths ran markedly faster (weight gradient).
fn panel_rows(max_tiles: usize, tw: usize) -> usize {
    let max = (max_tiles / tw).max(1);
    (max.div_ceil(2)..=max)
        .rev()
        .find(|r| (r * tw).is_multiple_of(16))
        .unwrap_or(max)
}

/// Floats per transformed position plane of `channels` rows `ld` apart: one cache line more
/// than the rows need, so that a group's 16 loads or stores (one per plane, planes often a
/// multiple of 1 or 2 KiB apart otherwise) spread over the cache's sets.
fn plane_len(channels: usize, ld: usize) -> usize {
    channels * ld + 16
}

/// Per-task scratch: transformed input and transformed output (or output gradient), sized for
/// the largest chunk, rows `ld` apart.
struct Scratch {
    ld: usize,
    v: Buf,
    m: Buf,
}

/// Taken `stale`: every column a kernel reads is written first (by a transform, the beta-0
/// GEMM, or the weight gradient's zeroing of its padding columns). The output transform's
/// junk lanes (past a row's last tile) may read stale values; they never reach an output.
fn scratch(p: &Problem, rows_per_chunk: usize) -> Scratch {
    let ld = row_stride(rows_per_chunk * p.tw);
    Scratch {
        ld,
        v: stale(16 * plane_len(p.c_in, ld)),
        m: stale(16 * plane_len(p.c_out, ld)),
    }
}

/// Where tile row `r` of a task lives: (sample within the task, tile-row index).
fn locate(p: &Problem, r: usize) -> (usize, usize) {
    (r / p.th, r % p.th)
}

/// Transforms the task's input tile rows `r0 .. r0 + cc.nr` into `v`, 16 planes of
/// `c_in x ld`.
#[inline(always)]
fn transform_input<S: F32x8>(
    p: &Problem,
    x: &[f32],
    r0: usize,
    cc: ChunkCols,
    ld: usize,
    v: &mut [f32],
) {
    let plane = p.h * p.w;
    for c in 0..p.c_in {
        let row = |rr: usize| {
            let (n, ty) = locate(p, r0 + rr);
            ((n * p.c_in + c) * plane, ty)
        };
        input_transform::<S>(
            x,
            (p.h, p.w),
            p.pad,
            cc,
            row,
            v,
            c * ld,
            plane_len(p.c_in, ld),
        );
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
    // Tasks of several chunks (for small planes several samples), so chunks are rarely cut
    // short by the end of a task; still at least 8 tasks where the batch allows.
    let spt = (4 * TARGET_TILES / (p.th * p.tw)).clamp(1, (p.batch / 8).max(1));
    let (in_len, out_len) = (p.c_in * p.h * p.w, p.c_out * p.oh * p.ow);
    out.par_chunks_mut(spt * out_len)
        .zip(x.par_chunks(spt * in_len))
        .with_min_len(p.min_len())
        .for_each_init(
            || scratch(p, p.rows_per_chunk().min(spt * p.th)),
            |sc, (out_t, x_t)| correlate_task(p, u, bias, sc, out_t, x_t),
        );
}

/// One task of `correlate`: all tile rows of the samples in `x_t`, chunk by chunk.
#[inline(always)]
fn correlate_chunks<S: F32x8>(
    p: &Problem,
    u: &[f32],
    bias: Option<&[f32]>,
    sc: &mut Scratch,
    out_t: &mut [MaybeUninit<f32>],
    x_t: &[f32],
) {
    let out_len = p.c_out * p.oh * p.ow;
    let rpc = p.rows_per_chunk();
    let rows = out_t.len() / out_len * p.th;
    let mut r0 = 0;
    while r0 < rows {
        let cc = ChunkCols {
            nr: rpc.min(rows - r0),
            tw: p.tw,
        };
        let ld = sc.ld;
        transform_input::<S>(p, x_t, r0, cc, ld, &mut sc.v);
        let planes = (ld, plane_len(p.c_in, ld), plane_len(p.c_out, ld));
        multiply_positions(
            16,
            u,
            &sc.v,
            &mut sc.m,
            (p.c_in, p.c_out, cc.cols()),
            planes,
        );
        let oplane = p.oh * p.ow;
        for k in 0..p.c_out {
            let bk = bias.map_or(0.0, |b| b[k]);
            let row = |rr: usize| {
                let (n, ty) = locate(p, r0 + rr);
                ((n * p.c_out + k) * oplane, ty)
            };
            let (m, base, plane) = (&sc.m, k * ld, plane_len(p.c_out, ld));
            output_transform::<S>(m, base, plane, cc, (p.oh, p.ow), bk, out_t, row);
        }
        r0 += cc.nr;
    }
}

lanes_variant!(fn correlate_task => correlate_chunks(p: &Problem, u: &[f32], bias: Option<&[f32]>, sc: &mut Scratch, out_t: &mut [MaybeUninit<f32>], x_t: &[f32]));

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

/// grad_weight of conv2d, accumulated per fixed chunk of samples, chunks added in order; and,
/// when asked, grad_bias from the same pass (the sum of every output-gradient tile is one of
/// its transformed values), which saves reading grad_out once more.
pub(crate) fn backward_weight(
    g: &Conv2dGeom,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [MaybeUninit<f32>],
    grad_bias: Option<&mut [MaybeUninit<f32>]>,
) {
    let p = Problem::new(g.batch, g.c_in, (g.h, g.w), g.c_out, (g.pad_h, g.pad_w));
    let (in_len, out_len) = (p.c_in * p.h * p.w, p.c_out * p.oh * p.ow);
    let chunk = p.batch.div_ceil(MAX_WEIGHT_TASKS).max(1);
    // A task's partial: 16 planes of c_out x c_in, then c_out bias sums.
    let s_len = 16 * p.c_out * p.c_in + p.c_out;
    // Written by each task's first chunk (`accumulate_weight_sums`; bias sums zeroed there),
    // so taken stale.
    let mut partials = stale(p.batch.div_ceil(chunk) * s_len);
    let p = &p;
    let rpc = weight_rows_per_chunk(p).min(chunk * p.th);
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
    let total = finish_weight_grad(
        &mut partials,
        (s_len, kc),
        p.min_len(),
        grad_weight,
        weight_grad_tile,
    );
    if let Some(gb) = grad_bias {
        uninit::copy(gb, &total[16 * kc..]);
    }
}

/// Tile rows per weight-gradient chunk: about `WEIGHT_TILES` columns, so the sums are long.
fn weight_rows_per_chunk(p: &Problem) -> usize {
    panel_rows(WEIGHT_TILES, p.tw)
}

/// One task of `backward_weight`: accumulates the transformed weight gradient of the samples in
/// `x_t` / `dy_t` into `s` (16 planes of `c_out x c_in`, then `c_out` bias sums).
#[inline(always)]
fn weight_chunks<S: F32x8>(
    p: &Problem,
    rpc: usize,
    sc: &mut Scratch,
    s: &mut [f32],
    x_t: &[f32],
    dy_t: &[f32],
) {
    let out_len = p.c_out * p.oh * p.ow;
    let rows = dy_t.len() / out_len * p.th;
    let oplane = p.oh * p.ow;
    let mut r0 = 0;
    while r0 < rows {
        let cc = ChunkCols {
            nr: rpc.min(rows - r0),
            tw: p.tw,
        };
        let (n, ld) = (cc.cols(), sc.ld);
        transform_input::<S>(p, x_t, r0, cc, ld, &mut sc.v);
        for k in 0..p.c_out {
            let row = |rr: usize| {
                let (n, ty) = locate(p, r0 + rr);
                ((n * p.c_out + k) * oplane, ty)
            };
            let (base, plane) = (k * ld, plane_len(p.c_out, ld));
            grad_out_transform::<S>(dy_t, (p.oh, p.ow), cc, row, &mut sc.m, base, plane);
        }
        let (sk, vk, dk) = (
            p.c_out * p.c_in,
            plane_len(p.c_in, ld),
            plane_len(p.c_out, ld),
        );
        // Position 5 (the middle of A dY A^T) is the sum of the tile's four values.
        if r0 == 0 {
            s[16 * sk..].fill(0.0);
        }
        for (k, b) in s[16 * sk..].iter_mut().enumerate() {
            *b += lane_sum(&sc.m[5 * dk + k * ld..5 * dk + k * ld + n]);
        }
        let dims = (p.c_in, p.c_out, n);
        accumulate_weight_sums(16, &sc.m, &sc.v, s, dims, (ld, dk, vk, sk), r0 == 0);
        r0 += cc.nr;
    }
}

lanes_variant!(fn weight_task => weight_chunks(p: &Problem, rpc: usize, sc: &mut Scratch, s: &mut [f32], x_t: &[f32], dy_t: &[f32]));
