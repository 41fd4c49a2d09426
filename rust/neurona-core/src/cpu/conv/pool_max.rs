//! max_pool2d forward (output and arg-max) and backward (scatter to the arg-max); the plain
//! 2x2 stride-2 case has its own vectorised plane loops in `pool_max_2x2.rs`.
//! Outputs are new Vecs whose every element is written once, so they are never zero-filled.
//!
//! Windows are clipped to the input, which is the same as padding with -inf because padding is
//! at most half the kernel, so every window holds at least one input element. As in PyTorch the
//! first maximum in row-major window order wins, and a NaN wins over any number.
//! Threads split the (sample, channel) planes; each plane is done in a fixed order by one task.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::params::Pool2dGeom;
use super::pool_max_2x2;

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

/// The pooled output (`[N, C, out_h, out_w]`) and `indices`, the flat offset `y * w + x` of each
/// output's maximum inside its own input plane (PyTorch's `return_indices=True` convention).
pub fn max_pool2d_forward(g: &Pool2dGeom, input: &[f32]) -> (Vec<f32>, Vec<u32>) {
    assert_eq!(
        input.len(),
        g.input_len(),
        "max_pool2d_forward: input length"
    );
    let n = g.output_len();
    let (mut out, mut idx) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (ip, op) = (g.in_plane(), g.out_plane());
    if n > 0 {
        out.spare_capacity_mut()[..n]
            .par_chunks_mut(op)
            .zip(idx.spare_capacity_mut()[..n].par_chunks_mut(op))
            .zip(input.par_chunks(ip))
            .with_min_len(min_len(g.input_len()))
            .for_each(|((out, idx), x)| max_plane(g, x, out, idx));
    }
    // SAFETY: both have capacity n, and every plane function writes all of its outputs.
    unsafe {
        out.set_len(n);
        idx.set_len(n);
    }
    (out, idx)
}

fn max_plane(
    g: &Pool2dGeom,
    x: &[f32],
    out: &mut [MaybeUninit<f32>],
    idx: &mut [MaybeUninit<u32>],
) {
    if is_plain_2x2(g) {
        return pool_max_2x2::forward_plane(g.w, x, out, idx);
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
            out[oy * g.out_w + ox].write(best);
            idx[oy * g.out_w + ox].write(arg as u32);
        }
    }
}

/// 2x2 windows at stride 2 without padding: each input in at most one window.
fn is_plain_2x2(g: &Pool2dGeom) -> bool {
    (g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w) == (2, 2, 2, 2, 0, 0)
}

/// The gradient of max pooling with respect to its input: each `grad_out` element is added to
/// the input element its `indices` entry names (overlapping windows may pick the same one).
pub fn max_pool2d_backward(g: &Pool2dGeom, grad_out: &[f32], indices: &[u32]) -> Vec<f32> {
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
    let n = g.input_len();
    let mut gi = Vec::with_capacity(n);
    let (ip, op) = (g.in_plane(), g.out_plane());
    if n > 0 {
        gi.spare_capacity_mut()[..n]
            .par_chunks_mut(ip)
            .zip(grad_out.par_chunks(op))
            .zip(indices.par_chunks(op))
            .with_min_len(min_len(n))
            .for_each(|((gi, go), idx)| route_plane(g, go, idx, gi));
    }
    // SAFETY: capacity n, and route_plane writes every element of each plane.
    unsafe { gi.set_len(n) };
    gi
}

/// Zeroes the input plane, then adds each `grad_out` element to the input element its index
/// names (plane by plane, so the scatter lands in the plane just zeroed, still in cache).
fn route_plane(g: &Pool2dGeom, go: &[f32], idx: &[u32], gi: &mut [MaybeUninit<f32>]) {
    if is_plain_2x2(g) {
        return pool_max_2x2::backward_plane(g.h, g.w, go, idx, gi);
    }
    for v in gi.iter_mut() {
        v.write(0.0);
    }
    // SAFETY: every element was just written; MaybeUninit<f32> has f32's layout.
    let gi = unsafe { &mut *(gi as *mut [MaybeUninit<f32>] as *mut [f32]) };
    for (&i, &v) in idx.iter().zip(go) {
        gi[i as usize] += v;
    }
}
