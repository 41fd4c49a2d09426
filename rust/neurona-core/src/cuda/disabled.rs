//! The CUDA backend of a build without the `cuda` feature: `CudaStorage` has no values, so no
//! tensor can live on a GPU, device queries say there is none, and every request for one
//! reports "not compiled with CUDA". The `ops` stubs keep the op files free of `cfg`s; they are
//! unreachable in practice because no operand can be on a GPU here.

use super::not_compiled;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// A buffer in GPU memory. Without the `cuda` feature this type has no values.
pub enum CudaStorage {}

impl CudaStorage {
    pub fn dtype(&self) -> DType {
        match *self {}
    }
    pub fn ordinal(&self) -> usize {
        match *self {}
    }
    pub fn len(&self) -> usize {
        match *self {}
    }
    pub fn is_empty(&self) -> bool {
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

pub fn device_name(_ordinal: usize) -> Result<String> {
    Err(not_compiled())
}

/// Checks that device `ordinal` can be used.
pub fn check_device(_ordinal: usize) -> Result<()> {
    Err(not_compiled())
}

/// Adds folders to search for the CUDA libraries; nothing to search for here.
pub fn add_library_dirs(_dirs: &[String]) {}

/// Compiles the CUDA kernel sources with NVRTC; there are none here.
pub fn compile_kernels() -> Result<Vec<(String, usize)>> {
    Err(not_compiled())
}

/// Waits for queued GPU work; nothing to wait for here.
pub fn synchronize(_ordinal: usize) -> Result<()> {
    Err(not_compiled())
}

/// A copy of `t` on `device` (differentiable). Only the CPU exists without the feature.
pub fn to_device(t: &Tensor, device: Device) -> Result<Tensor> {
    match device {
        Device::Cpu => Ok(t.clone()),
        Device::Cuda(_) => Err(not_compiled()),
    }
}

/// Stubs of the GPU kernels; see the module doc.
pub mod ops {
    use super::not_compiled;
    use crate::cpu::optim::{Adagrad, Adam, RmsProp, Sgd};
    use crate::ops::binary::BinaryOp;
    use crate::ops::compare::CmpOp;
    use crate::ops::unary::Unary;
    use crate::tensor::{DType, Device, Layout, Tensor};
    use crate::Result;

    pub use crate::cuda::common::{ReduceKind, ZipKind};

    pub fn mixed_devices(a: &Tensor, b: &Tensor, what: &str) -> Result<Option<(Tensor, Tensor)>> {
        Err(crate::cuda::device_mismatch(what, a, b))
    }
    pub fn unary(_x: &Tensor, _op: Unary) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn unary_backward(_x: &Tensor, _y: &Tensor, _g: &Tensor, _op: Unary) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn binary(_a: &Tensor, _b: &Tensor, _op: BinaryOp) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn zip(_a: &Tensor, _b: &Tensor, _kind: ZipKind) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn compare(_a: &Tensor, _b: &Tensor, _op: CmpOp) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn where_(_c: &Tensor, _a: &Tensor, _b: &Tensor) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn cast(_x: &Tensor, _dtype: DType) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn contiguous(_x: &Tensor) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn fresh_copy(_x: &Tensor) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn copy_(_dst: &Tensor, _src: &Tensor) -> Result<()> {
        Err(not_compiled())
    }
    pub fn scatter_into_zeros(_g: &Tensor, _target: &Layout, _shape: &[usize]) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn full(_shape: &[usize], _v: f32, _device: Device) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn reduce(
        _x: &Tensor,
        _dims: (usize, usize, usize),
        _kind: ReduceKind,
        _shape: &[usize],
    ) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn matmul(_a: &Tensor, _b: &Tensor) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn linear(_x: &Tensor, _w: &Tensor, _b: Option<&Tensor>, _relu: bool) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn softmax(_x: &Tensor, _axis: usize, _log: bool) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn dropout(_x: &Tensor, _p: f32) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn cross_entropy(_x: &Tensor, _t: &Tensor, _ignore_index: i64) -> Result<Tensor> {
        Err(not_compiled())
    }
    pub fn sgd_step(
        _c: &Sgd,
        _t: u64,
        _p: &Tensor,
        _g: &Tensor,
        _b: Option<&Tensor>,
    ) -> Result<()> {
        Err(not_compiled())
    }
    pub fn adam_step(
        _c: &Adam,
        _t: u64,
        _p: &Tensor,
        _g: &Tensor,
        _m: &Tensor,
        _v: &Tensor,
        _vmax: Option<&Tensor>,
    ) -> Result<()> {
        Err(not_compiled())
    }
    pub fn rmsprop_step(
        _c: &RmsProp,
        _p: &Tensor,
        _g: &Tensor,
        _v: &Tensor,
        _ga: Option<&Tensor>,
        _b: Option<&Tensor>,
    ) -> Result<()> {
        Err(not_compiled())
    }
    pub fn adagrad_step(
        _c: &Adagrad,
        _t: u64,
        _p: &Tensor,
        _g: &Tensor,
        _s: &Tensor,
    ) -> Result<()> {
        Err(not_compiled())
    }
}
