//! The `Tensor` type: a view (layout) onto shared storage, plus its place in the autograd graph.
//!
//! Tensors are cheap to clone (an `Arc`). Views (reshape, transpose, slicing, expand) share the
//! storage and differ only in layout. A tensor produced by a differentiable op while gradients
//! are enabled carries a `Node` naming its inputs and backward rule.

mod dtype;
mod gather;
mod layout;
mod storage;
mod tensor_impl;

pub use dtype::DType;
pub use layout::Layout;
pub use layout::{
    broadcast_shapes, contiguous_strides, fmt_shape as layout_fmt_shape, normalize_axis,
};
pub use storage::{Buffer, CpuStorage, Device, Storage};
pub use tensor_impl::{Element, Tensor};
