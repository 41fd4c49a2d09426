//! `neurona._core.cuda_*`: the CUDA queries and switches behind `neurona.cuda` and
//! `neurona.backends.cuda`. They work in every build: without the `cuda` feature they report
//! no device, and asking for one raises "not compiled with CUDA".

use crate::errors::{run, to_py};
use crate::py_tensor::{wrap, PyTensor};
use pyo3::prelude::*;
use pyo3::types::PyModule;

/// True when this build has the CUDA backend compiled in (the `cuda` cargo feature).
#[pyfunction]
pub fn cuda_compiled() -> bool {
    cfg!(feature = "cuda")
}

/// True when a CUDA driver and at least one device are present (never raises).
#[pyfunction]
pub fn cuda_is_available() -> bool {
    neurona_core::cuda::is_available()
}

#[pyfunction]
pub fn cuda_device_count() -> usize {
    neurona_core::cuda::device_count()
}

#[pyfunction]
pub fn cuda_device_name(py: Python<'_>, device: usize) -> PyResult<String> {
    run(py, move || neurona_core::cuda::device_name(device))
}

/// Waits for all queued work on the device (for timings).
#[pyfunction]
pub fn cuda_synchronize(py: Python<'_>, device: usize) -> PyResult<()> {
    run(py, move || neurona_core::cuda::synchronize(device))
}

/// Folders to search for cuBLAS and NVRTC (the `lib` folders of installed nvidia-* wheels).
#[pyfunction]
pub fn cuda_add_library_dirs(dirs: Vec<String>) {
    neurona_core::cuda::add_library_dirs(&dirs)
}

/// Compiles every CUDA kernel module with NVRTC (no GPU needed) and returns (name, PTX bytes)
/// for each: a check that the kernel sources and the NVRTC library work here.
#[pyfunction]
pub fn cuda_compile_kernels(py: Python<'_>) -> PyResult<Vec<(String, usize)>> {
    run(py, neurona_core::cuda::compile_kernels)
}

#[pyfunction]
pub fn set_allow_tf32(on: bool) {
    neurona_core::cuda::set_allow_tf32(on)
}

#[pyfunction]
pub fn get_allow_tf32() -> bool {
    neurona_core::cuda::allow_tf32()
}

/// Mean cross-entropy of GPU logits (N, C) against int64 targets (N,), fused with its
/// log-softmax (the GPU half of `nn.functional.cross_entropy`).
#[pyfunction]
pub fn cuda_cross_entropy(
    py: Python<'_>,
    logits: &PyTensor,
    target: &PyTensor,
    ignore_index: i64,
) -> PyResult<PyTensor> {
    let (x, t) = (logits.inner.clone(), target.inner.clone());
    run(py, move || {
        #[cfg(feature = "cuda")]
        {
            neurona_core::cuda::ops::loss::cross_entropy(&x, &t, ignore_index)
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (x, t, ignore_index);
            Err(neurona_core::cuda::not_compiled())
        }
    })
    .map(wrap)
}

/// One fused SGD step on a GPU parameter (PyTorch's update rule), in place.
#[pyfunction]
#[pyo3(signature = (param, grad, buf, first, lr, momentum, dampening, weight_decay, nesterov, maximize))]
#[allow(clippy::too_many_arguments)]
pub fn cuda_sgd_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    buf: Option<PyRef<'_, PyTensor>>,
    first: bool,
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    maximize: bool,
) -> PyResult<()> {
    let (p, g, b) = (
        param.inner.clone(),
        grad.inner.clone(),
        buf.map(|b| b.inner.clone()),
    );
    run(py, move || {
        #[cfg(feature = "cuda")]
        {
            use neurona_core::cuda::ops::optim::{sgd, Sgd};
            let o = Sgd {
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                maximize,
            };
            sgd(&p, &g, b.as_ref(), first, &o)
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (
                p,
                g,
                b,
                first,
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                maximize,
            );
            Err(neurona_core::cuda::not_compiled())
        }
    })
}

/// One fused Adam (or AdamW, `decoupled`) step on a GPU parameter, in place.
#[pyfunction]
#[pyo3(signature = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize))]
#[allow(clippy::too_many_arguments)]
pub fn cuda_adam_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    exp_avg: &PyTensor,
    exp_avg_sq: &PyTensor,
    max_exp_avg_sq: Option<PyRef<'_, PyTensor>>,
    step: u64,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    decoupled: bool,
    amsgrad: bool,
    maximize: bool,
) -> PyResult<()> {
    let (p, g, m, v) = (
        param.inner.clone(),
        grad.inner.clone(),
        exp_avg.inner.clone(),
        exp_avg_sq.inner.clone(),
    );
    let vmax = max_exp_avg_sq.map(|t| t.inner.clone());
    run(py, move || {
        #[cfg(feature = "cuda")]
        {
            use neurona_core::cuda::ops::optim::{adam, Adam};
            let o = Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                decoupled,
                amsgrad,
                maximize,
            };
            adam(&p, &g, &m, &v, vmax.as_ref(), step, &o)
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (p, g, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay);
            let _ = (decoupled, amsgrad, maximize);
            Err(neurona_core::cuda::not_compiled())
        }
    })
}

/// One fused RMSprop step (not centered) on a GPU parameter, in place.
#[pyfunction]
#[pyo3(signature = (param, grad, square_avg, buf, lr, alpha, eps, weight_decay, momentum, maximize))]
#[allow(clippy::too_many_arguments)]
pub fn cuda_rmsprop_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    square_avg: &PyTensor,
    buf: Option<PyRef<'_, PyTensor>>,
    lr: f32,
    alpha: f32,
    eps: f32,
    weight_decay: f32,
    momentum: f32,
    maximize: bool,
) -> PyResult<()> {
    let (p, g, v) = (
        param.inner.clone(),
        grad.inner.clone(),
        square_avg.inner.clone(),
    );
    let b = buf.map(|b| b.inner.clone());
    run(py, move || {
        #[cfg(feature = "cuda")]
        {
            use neurona_core::cuda::ops::optim::{rmsprop, RmsProp};
            let o = RmsProp {
                lr,
                alpha,
                eps,
                weight_decay,
                momentum,
                maximize,
            };
            rmsprop(&p, &g, &v, b.as_ref(), &o)
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (p, g, v, b, lr, alpha, eps, weight_decay, momentum, maximize);
            Err(neurona_core::cuda::not_compiled())
        }
    })
}

/// One fused Adagrad step number `step` (from 1) on a GPU parameter, in place.
#[pyfunction]
#[pyo3(signature = (param, grad, state_sum, step, lr, lr_decay, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
pub fn cuda_adagrad_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    state_sum: &PyTensor,
    step: u64,
    lr: f32,
    lr_decay: f32,
    eps: f32,
    weight_decay: f32,
    maximize: bool,
) -> PyResult<()> {
    let (p, g, s) = (
        param.inner.clone(),
        grad.inner.clone(),
        state_sum.inner.clone(),
    );
    run(py, move || {
        #[cfg(feature = "cuda")]
        {
            use neurona_core::cuda::ops::optim::{adagrad, Adagrad};
            let o = Adagrad {
                lr,
                lr_decay,
                eps,
                weight_decay,
                maximize,
            };
            adagrad(&p, &g, &s, step, &o)
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (p, g, s, step, lr, lr_decay, eps, weight_decay, maximize);
            Err(neurona_core::cuda::not_compiled())
        }
    })
}

/// Parses "cpu" / "cuda" / "cuda:N" into a core device.
pub fn parse_device(s: &str) -> PyResult<neurona_core::Device> {
    neurona_core::cuda::parse_device(s).map_err(to_py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(cuda_compiled, m)?,
        wrap_pyfunction!(cuda_is_available, m)?,
        wrap_pyfunction!(cuda_device_count, m)?,
        wrap_pyfunction!(cuda_device_name, m)?,
        wrap_pyfunction!(cuda_synchronize, m)?,
        wrap_pyfunction!(cuda_add_library_dirs, m)?,
        wrap_pyfunction!(cuda_compile_kernels, m)?,
        wrap_pyfunction!(set_allow_tf32, m)?,
        wrap_pyfunction!(get_allow_tf32, m)?,
        wrap_pyfunction!(cuda_cross_entropy, m)?,
        wrap_pyfunction!(cuda_sgd_step, m)?,
        wrap_pyfunction!(cuda_adam_step, m)?,
        wrap_pyfunction!(cuda_rmsprop_step, m)?,
        wrap_pyfunction!(cuda_adagrad_step, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
