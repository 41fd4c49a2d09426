//! The CUDA backend, behind the cargo feature `cuda`. This file is the switch: with the feature
//! it re-exports `enabled` (cudarc: device buffers, cuBLAS, NVRTC kernels); without it,
//! `disabled` (a `CudaStorage` with no values and entry points that report "not compiled with
//! CUDA"), so the rest of the crate reads the same either way.
//!
//! The rest of the crate reaches the backend only through the names re-exported here: device
//! queries, `to_device`, and `ops::*` (the kernels an op calls when its operands live on a GPU).

pub mod common;
#[cfg(not(feature = "cuda"))]
mod disabled;
#[cfg(feature = "cuda")]
mod enabled;

#[cfg(not(feature = "cuda"))]
pub use disabled::*;
#[cfg(feature = "cuda")]
pub use enabled::*;

use crate::tensor::{Device, Tensor};
use crate::Error;
use std::sync::atomic::{AtomicBool, Ordering};

static ALLOW_TF32: AtomicBool = AtomicBool::new(false);

/// Lets cuBLAS use TF32 tensor cores for float32 matmul (about 10 mantissa bits instead of 23).
/// Off by default, as in PyTorch: `neurona.backends.cuda.matmul.allow_tf32 = True`.
pub fn set_allow_tf32(on: bool) {
    ALLOW_TF32.store(on, Ordering::Relaxed);
}

pub fn allow_tf32() -> bool {
    ALLOW_TF32.load(Ordering::Relaxed)
}

impl Device {
    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

/// True when any of `ts` lives on a GPU: the test at the top of an op that has a CUDA kernel.
pub fn involved(ts: &[&Tensor]) -> bool {
    ts.iter().any(|t| t.device().is_cuda())
}

/// A float32 tensor of `shape` filled with `v` on `device`.
pub fn full(shape: &[usize], v: f32, device: Device) -> crate::Result<Tensor> {
    if device.is_cuda() {
        ops::full(shape, v, device)
    } else {
        Ok(Tensor::full(shape, v))
    }
}

/// A new float32 buffer with `t`'s values on `t`'s device (a leaf's first gradient).
pub fn fresh_copy(t: &Tensor) -> crate::Result<Tensor> {
    if t.device().is_cuda() {
        ops::fresh_copy(t)
    } else {
        Tensor::from_vec(t.to_vec::<f32>()?, t.shape())
    }
}

/// The error every CUDA request gets in a build without the `cuda` feature.
pub fn not_compiled() -> Error {
    Error::Runtime(
        "neurona was not compiled with CUDA: rebuild with the `cuda` feature \
         (maturin build --release --features cuda) to use device 'cuda'"
            .into(),
    )
}

/// Parses "cpu", "cuda" or "cuda:N".
pub fn parse_device(s: &str) -> crate::Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        _ => match s.strip_prefix("cuda:").map(|o| o.parse::<usize>()) {
            Some(Ok(i)) => Ok(Device::Cuda(i)),
            Some(Err(_)) => Err(Error::Value(format!("invalid device '{s}'"))),
            None => Err(Error::Value(format!(
                "unknown device '{s}': expected 'cpu' or 'cuda[:N]'"
            ))),
        },
    }
}

/// The error of an op whose operands live on different devices.
pub fn device_mismatch(what: &str, a: &Tensor, b: &Tensor) -> Error {
    Error::Runtime(format!(
        "{what}: expected both tensors on the same device, got {} and {} (move one with \
         .to(device), .cuda() or .cpu())",
        a.device(),
        b.device()
    ))
}
