//! The ops that run on GPU tensors, called from the op files in `crate::ops` when an operand
//! lives on a GPU. Each returns a plain tensor (no graph node) unless it says otherwise: the
//! calling op attaches its own backward rule, so forward and backward logic stay shared with
//! the CPU. Operands on the CPU are accepted only as 0-d scalars, passed to kernels by value
//! (PyTorch's rule for `cuda_tensor * 2`).

mod copy;
mod dropout;
mod elementwise;
pub mod loss;
mod matmul;
pub mod optim;
mod optim_cfg;
mod reduce;
mod softmax;

pub use crate::cuda::common::{ReduceKind, ZipKind};
pub use copy::{contiguous, copy_, fresh_copy, full, scatter_into_zeros};
pub use dropout::dropout;
pub use elementwise::{binary, cast, compare, unary, unary_backward, where_, zip};
pub use loss::cross_entropy;
pub use matmul::{linear, matmul};
pub use optim_cfg::{adagrad_step, adam_step, rmsprop_step, sgd_step};
pub use reduce::reduce;
pub use softmax::softmax;

use crate::tensor::{Device, Tensor};
use crate::Result;

/// Launches kernel `$name` of module `$module` on `$g`'s stream with the given arguments (each
/// a reference: `&CudaSlice`, `&mut CudaSlice` or `&value`).
macro_rules! launch {
    ($g:expr, $module:ident, $name:literal, $cfg:expr, [$($arg:expr),* $(,)?]) => {{
        let f = $g.function($crate::cuda::enabled::kernels::Module::$module, $name)?;
        let mut b = $g.stream.launch_builder(&f);
        $( cudarc::driver::PushKernelArg::arg(&mut b, $arg); )*
        // SAFETY: the arguments match the kernel's signature in kernels/*.cu, and every buffer
        // is large enough for the geometry passed with it.
        unsafe { b.launch($cfg) }
            .map(|_| ())
            .map_err(|e| $crate::cuda::enabled::device::driver_error(concat!("launching ", $name), e))
    }};
}
pub(crate) use launch;

/// Operands on different devices: a 0-d CPU tensor beside a GPU tensor is allowed (it is passed
/// by value, or moved to the GPU when it needs a gradient, so the gradient flows back); any
/// other pairing is an error. Ok(Some(pair)) asks the caller to retry with the moved pair.
pub fn mixed_devices(a: &Tensor, b: &Tensor, what: &str) -> Result<Option<(Tensor, Tensor)>> {
    let scalar = |t: &Tensor| t.device() == Device::Cpu && t.ndim() == 0;
    match (a.device(), b.device()) {
        (Device::Cuda(i), Device::Cpu) if scalar(b) => Ok(b
            .requires_grad()
            .then(|| crate::cuda::to_device(b, Device::Cuda(i)).map(|b| (a.clone(), b)))
            .transpose()?),
        (Device::Cpu, Device::Cuda(i)) if scalar(a) => Ok(a
            .requires_grad()
            .then(|| crate::cuda::to_device(a, Device::Cuda(i)).map(|a| (a, b.clone())))
            .transpose()?),
        _ => Err(crate::cuda::device_mismatch(what, a, b)),
    }
}
