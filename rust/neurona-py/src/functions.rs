//! Module-level functions of `neurona._core`: creation, joining, random state, threads, grad
//! mode and device queries.

use crate::errors::run;
use crate::numpy_bridge;
use crate::py_tensor::{operand, wrap, PyTensor};
use neurona_core::{autograd, parallel, rng, Tensor};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

#[pyfunction]
pub fn from_numpy(obj: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
    crate::errors::guard(|| numpy_bridge::from_numpy(obj).map(wrap))
}

#[pyfunction]
pub fn full(py: Python<'_>, shape: Vec<usize>, value: f32) -> PyResult<PyTensor> {
    run(py, move || Ok(Tensor::full(&shape, value))).map(wrap)
}

#[pyfunction]
pub fn arange(
    py: Python<'_>,
    start: f64,
    end: f64,
    step: f64,
    integer: bool,
) -> PyResult<PyTensor> {
    run(py, move || {
        if integer {
            Tensor::arange_i64(start as i64, end as i64, step as i64)
        } else {
            Tensor::arange_f32(start, end, step)
        }
    })
    .map(wrap)
}

#[pyfunction]
pub fn linspace(py: Python<'_>, start: f64, end: f64, steps: usize) -> PyResult<PyTensor> {
    run(py, move || Tensor::linspace(start, end, steps)).map(wrap)
}

#[pyfunction]
pub fn eye(py: Python<'_>, n: usize, m: usize) -> PyResult<PyTensor> {
    run(py, move || Tensor::eye(n, m)).map(wrap)
}

#[pyfunction]
pub fn rand(py: Python<'_>, shape: Vec<usize>, low: f32, high: f32) -> PyResult<PyTensor> {
    run(py, move || Tensor::rand(&shape, low, high)).map(wrap)
}

#[pyfunction]
pub fn randn(py: Python<'_>, shape: Vec<usize>, mean: f32, std: f32) -> PyResult<PyTensor> {
    run(py, move || Tensor::randn(&shape, mean, std)).map(wrap)
}

#[pyfunction]
pub fn randint(py: Python<'_>, low: i64, high: i64, shape: Vec<usize>) -> PyResult<PyTensor> {
    run(py, move || Tensor::randint(low, high, &shape)).map(wrap)
}

#[pyfunction]
pub fn randperm(py: Python<'_>, n: usize) -> PyResult<PyTensor> {
    run(py, move || Tensor::randperm(n)).map(wrap)
}

fn inners(ts: &[PyRef<'_, PyTensor>]) -> Vec<Tensor> {
    ts.iter().map(|t| t.inner.clone()).collect()
}

#[pyfunction]
pub fn cat(py: Python<'_>, tensors: Vec<PyRef<'_, PyTensor>>, axis: isize) -> PyResult<PyTensor> {
    let ts = inners(&tensors);
    run(py, move || Tensor::cat(&ts, axis)).map(wrap)
}

#[pyfunction]
pub fn stack(py: Python<'_>, tensors: Vec<PyRef<'_, PyTensor>>, axis: isize) -> PyResult<PyTensor> {
    let ts = inners(&tensors);
    run(py, move || Tensor::stack(&ts, axis)).map(wrap)
}

#[pyfunction]
#[pyo3(name = "where_")]
pub fn where_(
    py: Python<'_>,
    cond: &PyTensor,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
) -> PyResult<PyTensor> {
    let (c, a, b) = (cond.inner.clone(), operand(a)?, operand(b)?);
    run(py, move || Tensor::where_(&c, &a, &b)).map(wrap)
}

#[pyfunction]
pub fn manual_seed(seed: u64) {
    rng::manual_seed(seed)
}

#[pyfunction]
pub fn get_rng_state(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &rng::get_state())
}

#[pyfunction]
pub fn set_rng_state(py: Python<'_>, state: Vec<u8>) -> PyResult<()> {
    run(py, move || rng::set_state(&state))
}

#[pyfunction]
pub fn set_num_threads(n: usize) -> PyResult<()> {
    if n == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "set_num_threads: expected a positive number of threads, got 0",
        ));
    }
    parallel::set_num_threads(n);
    Ok(())
}

#[pyfunction]
pub fn get_num_threads() -> usize {
    parallel::get_num_threads()
}

#[pyfunction]
pub fn set_grad_enabled(on: bool) {
    autograd::set_grad_enabled(on)
}

#[pyfunction]
pub fn is_grad_enabled() -> bool {
    autograd::is_grad_enabled()
}

#[pyfunction]
pub fn isa_name() -> &'static str {
    neurona_core::cpu::gemm::isa_name()
}
