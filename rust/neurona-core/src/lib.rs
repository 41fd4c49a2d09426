//! neurona-core: tensors, CPU (and optional CUDA) kernels, autograd and optimizer updates.
//!
//! Pure Rust with no Python in it; the `neurona-py` crate binds it. The layout follows
//! `DESIGN.md`: `tensor` holds shapes, storage and the `Tensor` type, `cpu` the kernels on raw
//! slices, `ops` the differentiable operations (forward and backward side by side), `autograd`
//! the graph walk, and `cuda` the GPU backend behind the `cuda` feature.

pub mod autograd;
pub mod cpu;
pub mod cuda;
pub mod error;
pub mod ops;
pub mod parallel;
pub mod rng;
pub mod tensor;

pub use error::{Error, Result};
pub use tensor::{DType, Device, Tensor};
