//! CPU kernels on raw slices: no Tensor type here, only lengths, shapes and strides, so each
//! kernel can be tested and benchmarked on its own. Threads come from rayon; every kernel splits
//! work by output index so results are bitwise identical for any thread count.

pub mod conv;
pub mod elementwise;
pub mod gemm;
pub mod loss;
pub mod optim;
pub mod prefetch;
pub mod reduce;
pub mod rnn;
pub mod simd;
pub mod softmax;
pub mod vmath;
