//! max_pool2d forward (output and arg-max) and backward (scatter to the arg-max).
//!
//! Windows are clipped to the input, which is the same as padding with -inf because padding is
//! at most half the kernel, so every window holds at least one input element. As in PyTorch the
//! first maximum in row-major window order wins, and a NaN wins over any number.
//! Threads split the (sample, channel) planes; each plane is done in a fixed order by one task.

use rayon::prelude::*;

use super::params::Pool2dGeom;

/// Elements below which a call stays on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 15;

/// The input rows (or columns) `[lo, hi)` covered by window `o`, clipped to `[0, len)`.
#[inline]
pub(crate) fn window(o: usize, stride: usize, pad: usize, k: usize, len: usize) -> (usize, usize) {
    let start = o * stride;
    let lo = start.saturating_sub(pad);
    let hi = (start + k).saturating_sub(pad).min(len);
    (lo, hi)
}

pub(crate) fn min_len(elems: usize) -> usize {
    if elems < PAR_MIN_ELEMS {
        usize::MAX
    } else {
        1
    }
}

/// Writes `output` (`[N, C, out_h, out_w]`) and `indices`, the flat offset `y * w + x` of each
/// output's maximum inside its own input plane (PyTorch's `return_indices=True` convention).
pub fn max_pool2d_forward(g: &Pool2dGeom, input: &[f32], output: &mut [f32], indices: &mut [u32]) {
    assert_eq!(
        input.len(),
        g.input_len(),
        "max_pool2d_forward: input length"
    );
    assert_eq!(
        output.len(),
        g.output_len(),
        "max_pool2d_forward: output length"
    );
    assert_eq!(
        indices.len(),
        g.output_len(),
        "max_pool2d_forward: indices length"
    );
    if output.is_empty() {
        return;
    }
    let (ip, op) = (g.in_plane(), g.out_plane());
    output
        .par_chunks_mut(op)
        .zip(indices.par_chunks_mut(op))
        .zip(input.par_chunks(ip))
        .with_min_len(min_len(g.input_len()))
        .for_each(|((out, idx), x)| max_plane(g, x, out, idx));
}

fn max_plane(g: &Pool2dGeom, x: &[f32], out: &mut [f32], idx: &mut [u32]) {
    if (g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w) == (2, 2, 2, 2, 0, 0) {
        return max_plane_2x2(g, x, out, idx);
    }
    let w = g.w;
    for oy in 0..g.out_h {
        let (y0, y1) = window(oy, g.stride_h, g.pad_h, g.kh, g.h);
        for ox in 0..g.out_w {
            let (x0, x1) = window(ox, g.stride_w, g.pad_w, g.kw, g.w);
            let mut best = f32::NEG_INFINITY;
            let mut arg = y0 * w + x0;
            'win: for y in y0..y1 {
                for (i, &v) in x[y * w + x0..y * w + x1].iter().enumerate() {
                    if v > best || v.is_nan() {
                        best = v;
                        arg = y * w + x0 + i;
                        if v.is_nan() {
                            break 'win;
                        }
                    }
                }
            }
            out[oy * g.out_w + ox] = best;
            idx[oy * g.out_w + ox] = arg as u32;
        }
    }
}

/// The common 2x2 stride-2 unpadded case: two input rows per output row, no window clipping.
/// Same comparisons in the same order as the general loop, so the same results.
fn max_plane_2x2(g: &Pool2dGeom, x: &[f32], out: &mut [f32], idx: &mut [u32]) {
    let w = g.w;
    for oy in 0..g.out_h {
        let r0 = &x[2 * oy * w..(2 * oy + 1) * w];
        let r1 = &x[(2 * oy + 1) * w..(2 * oy + 2) * w];
        let o = &mut out[oy * g.out_w..(oy + 1) * g.out_w];
        let ix = &mut idx[oy * g.out_w..(oy + 1) * g.out_w];
        let base = 2 * oy * w;
        for (ox, ((a, b), (o, ix))) in r0
            .chunks_exact(2)
            .zip(r1.chunks_exact(2))
            .zip(o.iter_mut().zip(ix))
            .enumerate()
        {
            let cand = [(a[0], 0), (a[1], 1), (b[0], w), (b[1], w + 1)];
            let (mut best, mut arg) = cand[0];
            if !best.is_nan() {
                for &(v, off) in &cand[1..] {
                    if v > best || v.is_nan() {
                        (best, arg) = (v, off);
                        if v.is_nan() {
                            break;
                        }
                    }
                }
            }
            *o = best;
            *ix = (base + 2 * ox + arg) as u32;
        }
    }
}

/// Overwrites `grad_input` with the gradient of max pooling: each `grad_out` element is added to
/// the input element its `indices` entry names (overlapping windows may pick the same one).
pub fn max_pool2d_backward(
    g: &Pool2dGeom,
    grad_out: &[f32],
    indices: &[u32],
    grad_input: &mut [f32],
) {
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "max_pool2d_backward: grad_out length"
    );
    assert_eq!(
        indices.len(),
        g.output_len(),
        "max_pool2d_backward: indices length"
    );
    assert_eq!(
        grad_input.len(),
        g.input_len(),
        "max_pool2d_backward: grad_input length"
    );
    route(g, grad_out, indices, grad_input);
}

/// Zeroes each input plane, then adds each `grad_out` element to the input element its index
/// names (plane by plane, so the scatter lands in the plane just zeroed, still in cache).
fn route(g: &Pool2dGeom, grad_out: &[f32], indices: &[u32], grad_input: &mut [f32]) {
    if grad_input.is_empty() {
        return;
    }
    let (ip, op) = (g.in_plane(), g.out_plane());
    grad_input
        .par_chunks_mut(ip)
        .zip(grad_out.par_chunks(op))
        .zip(indices.par_chunks(op))
        .with_min_len(min_len(g.input_len()))
        .for_each(|((gi, go), idx)| {
            gi.fill(0.0);
            for (&i, &v) in idx.iter().zip(go) {
                gi[i as usize] += v;
            }
        });
}
