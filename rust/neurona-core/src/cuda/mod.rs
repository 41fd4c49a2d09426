//! The CUDA backend. With the `cuda` feature it holds device buffers and kernels (cudarc);
//! without it, `CudaStorage` cannot be constructed and every entry point reports "not compiled
//! with CUDA", so the rest of the crate builds and reads the same either way.

use crate::tensor::DType;
use crate::{Error, Result};

/// A buffer in GPU memory. Without the `cuda` feature this type has no values.
pub enum CudaStorage {}

impl CudaStorage {
    pub fn dtype(&self) -> DType {
        match *self {}
    }
    pub fn ordinal(&self) -> usize {
        match *self {}
    }
}

/// Whether a usable CUDA device is present. Always false without the `cuda` feature.
pub fn is_available() -> bool {
    false
}

/// Number of CUDA devices visible. Always 0 without the `cuda` feature.
pub fn device_count() -> usize {
    0
}

/// The error every CUDA request gets in a build without the `cuda` feature.
pub fn not_compiled() -> Error {
    Error::Runtime(
        "neurona was not compiled with CUDA: rebuild with the `cuda` feature \
         (maturin build --release --features cuda) to use device 'cuda'"
            .into(),
    )
}

/// Checks that device `ordinal` can be used.
pub fn check_device(_ordinal: usize) -> Result<()> {
    Err(not_compiled())
}
