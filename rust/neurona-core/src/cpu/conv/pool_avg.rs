//! avg_pool2d forward and backward (floor mode, `count_include_pad` as in PyTorch).
//!
//! With `count_include_pad` the divisor is the window's size clipped to the padded input, which
//! in floor mode is always `kh * kw`; without it, the number of real input elements it covers.
//! Threads split the (sample, channel) planes.

use rayon::prelude::*;

use super::params::Pool2dGeom;
use super::pool_max::{min_len, window};

/// The divisor of output (oy, ox).
#[inline]
fn divisor(
    g: &Pool2dGeom,
    count_include_pad: bool,
    (y0, y1): (usize, usize),
    (x0, x1): (usize, usize),
) -> f32 {
    if count_include_pad {
        (g.kh * g.kw) as f32
    } else {
        ((y1 - y0) * (x1 - x0)) as f32
    }
}

/// Writes `output` (`[N, C, out_h, out_w]`), the mean of each window.
pub fn avg_pool2d_forward(
    g: &Pool2dGeom,
    count_include_pad: bool,
    input: &[f32],
    output: &mut [f32],
) {
    assert_eq!(
        input.len(),
        g.input_len(),
        "avg_pool2d_forward: input length"
    );
    assert_eq!(
        output.len(),
        g.output_len(),
        "avg_pool2d_forward: output length"
    );
    if output.is_empty() {
        return;
    }
    let (ip, op) = (g.in_plane(), g.out_plane());
    output
        .par_chunks_mut(op)
        .zip(input.par_chunks(ip))
        .with_min_len(min_len(g.input_len()))
        .for_each(|(out, x)| {
            for oy in 0..g.out_h {
                let wy = window(oy, g.stride_h, g.pad_h, g.kh, g.h);
                for ox in 0..g.out_w {
                    let wx = window(ox, g.stride_w, g.pad_w, g.kw, g.w);
                    let mut s = 0.0f32;
                    for y in wy.0..wy.1 {
                        for v in &x[y * g.w + wx.0..y * g.w + wx.1] {
                            s += *v;
                        }
                    }
                    out[oy * g.out_w + ox] = s / divisor(g, count_include_pad, wy, wx);
                }
            }
        });
}

/// Overwrites `grad_input` with the gradient of `avg_pool2d_forward`.
pub fn avg_pool2d_backward(
    g: &Pool2dGeom,
    count_include_pad: bool,
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "avg_pool2d_backward: grad_out length"
    );
    assert_eq!(
        grad_input.len(),
        g.input_len(),
        "avg_pool2d_backward: grad_input length"
    );
    if grad_input.is_empty() {
        return;
    }
    let (ip, op) = (g.in_plane(), g.out_plane());
    grad_input
        .par_chunks_mut(ip)
        .zip(grad_out.par_chunks(op))
        .with_min_len(min_len(g.input_len()))
        .for_each(|(gi, go)| {
            gi.fill(0.0);
            for oy in 0..g.out_h {
                let wy = window(oy, g.stride_h, g.pad_h, g.kh, g.h);
                for ox in 0..g.out_w {
                    let wx = window(ox, g.stride_w, g.pad_w, g.kw, g.w);
                    let v = go[oy * g.out_w + ox] / divisor(g, count_include_pad, wy, wx);
                    for y in wy.0..wy.1 {
                        for d in &mut gi[y * g.w + wx.0..y * g.w + wx.1] {
                            *d += v;
                        }
                    }
                }
            }
        });
}
