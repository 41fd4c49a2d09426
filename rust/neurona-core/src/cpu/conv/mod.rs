//! Convolution and pooling kernels on raw `f32` slices in contiguous NCHW layout.
//!
//! Every operation has the same shape of API: validate once, then call kernels.
//!
//! 1. Build a geometry from the user's shapes; this is the only place that checks them and it
//!    returns `Error::Value` with a message naming expected vs given:
//!    - [`Conv2dGeom::new`]`(input [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW],
//!      bias_len, Conv2dParams { stride, padding, dilation, groups })`;
//!      [`same_padding`] resolves `padding='same'` (`'valid'` is padding 0);
//!    - [`Pool2dGeom::new`]`(input, kernel, stride, padding)` for max and average pooling;
//!    - [`AdaptivePool2dGeom::new`]`(input, output_size)`.
//! 2. Call the kernels with that geometry and slices of exactly the lengths it reports
//!    (`input_len()`, `weight_len()`, `output_len()`; a wrong length panics, as it is a bug in
//!    the caller, not a user error). Outputs and gradients are overwritten, never accumulated
//!    into: the autograd layer adds them to `.grad` itself.
//!    - [`conv2d_forward`]`(g, input, weight, bias, output)`;
//!    - [`conv2d_backward`]`(g, input, weight, grad_out, Conv2dGrads { input, weight, bias })`,
//!      each gradient computed only when its buffer is given;
//!    - [`max_pool2d_forward`]`(g, input) -> (output, indices)` with `indices` the flat
//!      `y * w + x` arg-max inside each input plane, and
//!      [`max_pool2d_backward`]`(g, grad_out, indices) -> grad_input` (both return new Vecs);
//!    - [`avg_pool2d_forward`] / [`avg_pool2d_backward`] with `count_include_pad`;
//!    - [`adaptive_avg_pool2d_forward`] / [`adaptive_avg_pool2d_backward`].
//!
//! Algorithms: 3x3 stride-1 undilated ungrouped convolutions (padding 0..=2) use Winograd for
//! the forward pass and both gradients: F(4x4, 3x3) with at least 16 channels in and out where
//! its tiles cover the plane well (`winograd4.rs`; planes 4 tiles wide, such as 14x14, two tile
//! rows per vector in `winograd4_pairs.rs`), else F(2x2, 3x3) with at least 8 (`winograd.rs`);
//! the transforms work 8 tiles at a time through `lanes.rs`; both sum their weight gradients with the batched packed
//! GEMM. Everything else is im2col on cache-sized column tiles times the weights through
//! `crate::cpu::gemm` (1x1 stride-1 layers skip the copy; wide tiles take their weight
//! gradient as in-place dot products, `dot_gemm.rs`). Results are float-rounding-close to the direct sum, within the
//! usual `K * eps * sum|terms|` bound the tests check.
//!
//! Kernels run on rayon's current pool (the caller `install`s one to choose the thread count),
//! keep small problems on one thread, and give bitwise identical results for any thread count.

mod conv2d_backward;
mod conv2d_forward;
mod dot_gemm;
mod im2col;
mod lanes;
mod params;
mod pool_adaptive;
mod pool_avg;
mod pool_max;
mod pool_max_2x2;
pub(crate) mod scratch;
mod simd;
mod uninit;
mod winograd;
mod winograd4;
mod winograd4_pairs;
mod winograd4_transforms;
mod winograd_product;
mod winograd_transforms;
mod winograd_weights;

#[cfg(test)]
mod tests;

pub use conv2d_backward::{conv2d_backward, Conv2dGrads};
pub use conv2d_forward::conv2d_forward;
pub use params::{same_padding, AdaptivePool2dGeom, Conv2dGeom, Conv2dParams, Pool2dGeom};
pub use pool_adaptive::{
    adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward, adaptive_window,
};
pub use pool_avg::{avg_pool2d_backward, avg_pool2d_forward};
pub use pool_max::{max_pool2d_backward, max_pool2d_forward};
