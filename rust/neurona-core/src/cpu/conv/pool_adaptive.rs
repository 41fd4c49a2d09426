//! adaptive_avg_pool2d forward and backward with PyTorch's windows: output row `i` of `out_h`
//! averages input rows `floor(i * h / out_h) .. ceil((i + 1) * h / out_h)` (columns likewise).
//! Threads split the (sample, channel) planes.

use rayon::prelude::*;

use super::params::AdaptivePool2dGeom;
use super::pool_max::min_len;

/// Input range `[start, end)` averaged by output index `i` of `out` along an axis of `len`.
#[inline]
pub fn adaptive_window(i: usize, out: usize, len: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

/// Writes `output` (`[N, C, out_h, out_w]`), the mean of each adaptive window.
pub fn adaptive_avg_pool2d_forward(g: &AdaptivePool2dGeom, input: &[f32], output: &mut [f32]) {
    assert_eq!(
        input.len(),
        g.input_len(),
        "adaptive_avg_pool2d_forward: input length"
    );
    assert_eq!(
        output.len(),
        g.output_len(),
        "adaptive_avg_pool2d_forward: output length"
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
                let (y0, y1) = adaptive_window(oy, g.out_h, g.h);
                for ox in 0..g.out_w {
                    let (x0, x1) = adaptive_window(ox, g.out_w, g.w);
                    let mut s = 0.0f32;
                    for y in y0..y1 {
                        for v in &x[y * g.w + x0..y * g.w + x1] {
                            s += *v;
                        }
                    }
                    out[oy * g.out_w + ox] = s / ((y1 - y0) * (x1 - x0)) as f32;
                }
            }
        });
}

/// Overwrites `grad_input` with the gradient of `adaptive_avg_pool2d_forward`.
pub fn adaptive_avg_pool2d_backward(
    g: &AdaptivePool2dGeom,
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    assert_eq!(
        grad_out.len(),
        g.output_len(),
        "adaptive_avg_pool2d_backward: grad_out length"
    );
    assert_eq!(
        grad_input.len(),
        g.input_len(),
        "adaptive_avg_pool2d_backward: grad_input length"
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
                let (y0, y1) = adaptive_window(oy, g.out_h, g.h);
                for ox in 0..g.out_w {
                    let (x0, x1) = adaptive_window(ox, g.out_w, g.w);
                    let v = go[oy * g.out_w + ox] / ((y1 - y0) * (x1 - x0)) as f32;
                    for y in y0..y1 {
                        for d in &mut gi[y * g.w + x0..y * g.w + x1] {
                            *d += v;
                        }
                    }
                }
            }
        });
}
