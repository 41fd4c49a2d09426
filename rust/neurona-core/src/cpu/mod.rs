//! CPU kernels on raw slices: no Tensor type here, only lengths, shapes and strides, so each
//! kernel can be tested and benchmarked on its own. Threads come from rayon; every kernel splits
//! work by output index so results are bitwise identical for any thread count.

pub mod conv;
pub mod gemm;
pub mod loss;
pub mod optim;
pub mod rnn;
pub mod softmax;
