//! 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3): 16 GEMMs over transformed tiles do the
//! work of 36 multiplies per 2x2 output tile with 16, for the forward pass, the input gradient
//! (a 3x3 correlation of grad_out with the flipped, transposed kernel) and the weight gradient
//! (`G^T [sum over tiles of (A dY A^T) . (B^T d B)] G`).
//!
//! Work is cut in tasks of whole samples (a count fixed by the shape), each processed in chunks
//! of a few tile rows: transform the chunk, run the 16 GEMMs, transform back. Weight-gradient
//! tasks keep private 16-plane accumulators that are added in task order, so results are bitwise
//! identical for any thread count.

use rayon::prelude::*;

use super::conv2d_forward::PAR_MIN_FLOPS;
use super::dot_gemm::gemm_abt_acc;
use super::params::Conv2dGeom;
use super::scratch::{stale, zeroed, Buf};
use super::simd::avx2_variant;
use super::winograd_product::multiply_positions;
use super::winograd_transforms::{
    grad_out_transform, grad_scratch_len, input_padded_len, input_scratch_len, input_transform,
    output_scratch_len, output_transform, weight_grad_tile, weight_tile, ChunkCols,
};

/// Below this many channels on either side the GEMMs are too thin to pay for the transforms.
const MIN_CHANNELS: usize = 8;
/// Tiles per chunk (about the GEMMs' width); 16 * 64 * 128 floats of transformed data per side.
const TARGET_TILES: usize = 128;
/// Tile columns per weight-gradient chunk: the length of its dot products (long, so the
/// transforms' per-call costs and the dot products' reductions are spread thin).
const WEIGHT_TILES: usize = 1024;
/// At most this many weight-gradient partials (tasks of several samples each).
const MAX_WEIGHT_TASKS: usize = 8;

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
        (TARGET_TILES / self.tw).max(1)
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

/// Per-task scratch: transform buffers, transformed input, and transformed output (or output
/// gradient), sized for the largest chunk.
struct Scratch {
    rows: Buf,
    padded: Buf,
    v: Buf,
    m: Buf,
}

/// `correlate` writes every column of `v` and `m` it reads (the input transform and a beta-0
/// GEMM), so it takes them `stale`; the weight gradient keeps them zeroed.
fn scratch(p: &Problem, rows_per_chunk: usize, correlate: bool) -> Scratch {
    let vm = if correlate { stale } else { zeroed };
    let cols = (rows_per_chunk * (p.tw + 1)).next_multiple_of(8);
    let rows = input_scratch_len(cols)
        .max(output_scratch_len(cols))
        .max(grad_scratch_len(cols));
    Scratch {
        rows: zeroed(rows),
        padded: zeroed(input_padded_len(cols)),
        v: vm(16 * p.c_in * cols),
        m: vm(16 * p.c_out * cols),
    }
}

/// Where tile row `r` of a task lives: (sample within the task, tile-row index).
fn locate(p: &Problem, r: usize) -> (usize, usize) {
    (r / p.th, r % p.th)
}

/// Transforms the task's input tile rows `r0 .. r0 + cc.nr` into `v`, 16 planes of
/// `c_in x cols` (`cols >= cc.cols()`; columns past `cc.cols()` are left alone).
#[inline(always)]
fn transform_input(
    p: &Problem,
    x: &[f32],
    r0: usize,
    (cc, cols): (ChunkCols, usize),
    rows: &mut [f32],
    padded: &mut [f32],
    v: &mut [f32],
) {
    let plane = p.h * p.w;
    for c in 0..p.c_in {
        let row = |rr: usize| {
            let (n, ty) = locate(p, r0 + rr);
            ((n * p.c_in + c) * plane, ty)
        };
        input_transform(
            x,
            (p.h, p.w),
            p.pad,
            cc,
            row,
            rows,
            padded,
            v,
            c * cols,
            p.c_in * cols,
        );
    }
}

/// `U[xi]` for the 16 positions, each stored transposed (`c_in x c_out` row-major, so the GEMM
/// packs it by contiguous copies): from `weight` `[c_out, c_in, 3, 3]`, or with `flip` from its
/// transpose rotated by 180 degrees (the input-gradient kernel, whose output channels are the
/// forward's input channels).
fn transform_weights(weight: &[f32], c_out: usize, c_in: usize, flip: bool) -> Buf {
    let (rows, cols) = if flip { (c_out, c_in) } else { (c_in, c_out) };
    let mut u = stale(16 * rows * cols);
    for k in 0..c_out {
        for c in 0..c_in {
            let g = &weight[(k * c_in + c) * 9..(k * c_in + c + 1) * 9];
            let t = if flip {
                let r: [f32; 9] = std::array::from_fn(|i| g[8 - i]);
                weight_tile(&r)
            } else {
                weight_tile(g)
            };
            let (i, j) = if flip { (k, c) } else { (c, k) };
            for (xi, &val) in t.iter().enumerate() {
                u[xi * rows * cols + i * cols + j] = val;
            }
        }
    }
    u
}

/// `out = correlate(x, kernel whose transform is u) + bias` for problem `p`.
fn correlate(p: &Problem, x: &[f32], u: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let spt = (TARGET_TILES / (p.th * p.tw)).clamp(1, (p.batch / 8).max(1));
    let (in_len, out_len) = (p.c_in * p.h * p.w, p.c_out * p.oh * p.ow);
    out.par_chunks_mut(spt * out_len)
        .zip(x.par_chunks(spt * in_len))
        .with_min_len(p.min_len())
        .for_each_init(
            || scratch(p, p.rows_per_chunk().min(spt * p.th), true),
            |sc, (out_t, x_t)| correlate_task(p, u, bias, sc, out_t, x_t),
        );
}

/// One task of `correlate`: all tile rows of the samples in `x_t`, chunk by chunk.
#[inline(always)]
fn correlate_chunks(
    p: &Problem,
    u: &[f32],
    bias: Option<&[f32]>,
    sc: &mut Scratch,
    out_t: &mut [f32],
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
        let cols = cc.cols();
        transform_input(
            p,
            x_t,
            r0,
            (cc, cc.cols()),
            &mut sc.rows,
            &mut sc.padded,
            &mut sc.v,
        );
        multiply_positions(16, u, &sc.v, &mut sc.m, (p.c_in, p.c_out, cols));
        let oplane = p.oh * p.ow;
        for k in 0..p.c_out {
            let bk = bias.map_or(0.0, |b| b[k]);
            let row = |rr: usize| {
                let (n, ty) = locate(p, r0 + rr);
                ((n * p.c_out + k) * oplane, ty)
            };
            let (m, base, plane) = (&sc.m, k * cols, p.c_out * cols);
            output_transform(
                m,
                base,
                plane,
                cc,
                (p.oh, p.ow),
                bk,
                &mut sc.rows,
                out_t,
                row,
            );
        }
        r0 += cc.nr;
    }
}

avx2_variant!(fn correlate_task => correlate_chunks(p: &Problem, u: &[f32], bias: Option<&[f32]>, sc: &mut Scratch, out_t: &mut [f32], x_t: &[f32]));

/// conv2d forward for a geometry where `applies(g)`.
pub(crate) fn forward(
    g: &Conv2dGeom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) {
    let p = Problem::new(g.batch, g.c_in, (g.h, g.w), g.c_out, (g.pad_h, g.pad_w));
    let u = transform_weights(weight, g.c_out, g.c_in, false);
    correlate(&p, input, &u, bias, output);
}

/// grad_input of conv2d: grad_out correlated with the flipped kernel, padded by 2 - pad.
pub(crate) fn backward_input(
    g: &Conv2dGeom,
    weight: &[f32],
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    let p = Problem::new(
        g.batch,
        g.c_out,
        (g.out_h, g.out_w),
        g.c_in,
        (2 - g.pad_h, 2 - g.pad_w),
    );
    let u = transform_weights(weight, g.c_out, g.c_in, true);
    correlate(&p, grad_out, &u, None, grad_input);
}

/// grad_weight of conv2d, accumulated per fixed chunk of samples, chunks added in order.
pub(crate) fn backward_weight(
    g: &Conv2dGeom,
    input: &[f32],
    grad_out: &[f32],
    grad_weight: &mut [f32],
) {
    let p = Problem::new(g.batch, g.c_in, (g.h, g.w), g.c_out, (g.pad_h, g.pad_w));
    let (in_len, out_len) = (p.c_in * p.h * p.w, p.c_out * p.oh * p.ow);
    let chunk = p.batch.div_ceil(MAX_WEIGHT_TASKS).max(1);
    let s_len = 16 * p.c_out * p.c_in;
    let mut partials = zeroed(p.batch.div_ceil(chunk) * s_len);
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
            || scratch(p, rpc, false),
            |sc, (s, (x_t, dy_t))| weight_task(p, rpc, sc, s, x_t, dy_t),
        );
    // Add the partials into the first in task order (threads split the elements, not the
    // sum), then transform back one (k, c) kernel at a time.
    let (total, rest) = partials.split_at_mut(s_len);
    total
        .par_chunks_mut(4096)
        .with_min_len(p.min_len())
        .enumerate()
        .for_each(|(b, out)| {
            for part in rest.chunks_exact(s_len) {
                for (o, v) in out.iter_mut().zip(&part[b * 4096..]) {
                    *o += *v;
                }
            }
        });
    let kc = p.c_out * p.c_in;
    grad_weight
        .par_chunks_mut(9)
        .with_min_len(p.min_len().min(64))
        .enumerate()
        .for_each(|(j, out)| {
            let s: [f32; 16] = std::array::from_fn(|xi| total[xi * kc + j]);
            out.copy_from_slice(&weight_grad_tile(&s));
        });
}

/// Tile rows per weight-gradient chunk: about `WEIGHT_TILES` columns, so the dot products are long.
fn weight_rows_per_chunk(p: &Problem) -> usize {
    (WEIGHT_TILES / (p.tw + 1)).max(1)
}

/// One task of `backward_weight`: accumulates the transformed weight gradient of the samples in
/// `x_t` / `dy_t` into `s` (16 planes of `c_out x c_in`).
#[inline(always)]
fn weight_chunks(
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
        let cols = cc.cols().next_multiple_of(8);
        transform_input(
            p,
            x_t,
            r0,
            (cc, cols),
            &mut sc.rows,
            &mut sc.padded,
            &mut sc.v,
        );
        for k in 0..p.c_out {
            let row = |rr: usize| {
                let (n, ty) = locate(p, r0 + rr);
                ((n * p.c_out + k) * oplane, ty)
            };
            let (base, plane) = (k * cols, p.c_out * cols);
            grad_out_transform(
                dy_t,
                (p.oh, p.ow),
                cc,
                row,
                &mut sc.rows,
                &mut sc.m,
                base,
                plane,
            );
        }
        let (sk, vk, dk) = (p.c_out * p.c_in, p.c_in * cols, p.c_out * cols);
        // Zero the padding columns (the dot products run over all `cols`).
        for (buf, ch) in [(&mut sc.v, p.c_in), (&mut sc.m, p.c_out)] {
            for row in buf[..16 * ch * cols].chunks_exact_mut(cols) {
                row[cc.cols()..].fill(0.0);
            }
        }
        // S[xi] += D[xi] V[xi]^T: both have the summed (tile) index contiguous.
        for xi in 0..16 {
            let (d, v) = (&sc.m[xi * dk..(xi + 1) * dk], &sc.v[xi * vk..(xi + 1) * vk]);
            let sx = &mut s[xi * sk..(xi + 1) * sk];
            gemm_abt_acc((p.c_out, p.c_in, cols), d, cols, v, cols, sx, p.c_in);
        }
        r0 += cc.nr;
    }
}

avx2_variant!(fn weight_task => weight_chunks(p: &Problem, rpc: usize, sc: &mut Scratch, s: &mut [f32], x_t: &[f32], dy_t: &[f32]));
