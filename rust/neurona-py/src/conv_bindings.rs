//! Bindings of the convolution and pooling ops: `_core.conv2d`, `max_pool2d`, `avg_pool2d`,
//! `adaptive_avg_pool2d`, called by `neurona.nn.functional` with (h, w) pairs already resolved.

use crate::errors::run;
use crate::py_tensor::{wrap, PyTensor};
use neurona_core::cpu::conv::Conv2dParams;
use pyo3::prelude::*;

type Pair = (usize, usize);

#[pyfunction]
#[pyo3(signature = (input, weight, bias, stride, padding, dilation, groups))]
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    py: Python<'_>,
    input: &PyTensor,
    weight: &PyTensor,
    bias: Option<PyRef<'_, PyTensor>>,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    groups: usize,
) -> PyResult<PyTensor> {
    let (x, w, b) = (
        input.inner.clone(),
        weight.inner.clone(),
        bias.map(|b| b.inner.clone()),
    );
    let p = Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    };
    run(py, move || x.conv2d(&w, b.as_ref(), p)).map(wrap)
}

#[pyfunction]
pub fn max_pool2d(
    py: Python<'_>,
    input: &PyTensor,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
) -> PyResult<PyTensor> {
    let x = input.inner.clone();
    run(py, move || x.max_pool2d(kernel, stride, padding)).map(wrap)
}

#[pyfunction]
pub fn avg_pool2d(
    py: Python<'_>,
    input: &PyTensor,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    count_include_pad: bool,
) -> PyResult<PyTensor> {
    let x = input.inner.clone();
    run(py, move || {
        x.avg_pool2d(kernel, stride, padding, count_include_pad)
    })
    .map(wrap)
}

#[pyfunction]
pub fn adaptive_avg_pool2d(
    py: Python<'_>,
    input: &PyTensor,
    output_size: Pair,
) -> PyResult<PyTensor> {
    let x = input.inner.clone();
    run(py, move || x.adaptive_avg_pool2d(output_size)).map(wrap)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(conv2d, m)?)?;
    m.add_function(wrap_pyfunction!(max_pool2d, m)?)?;
    m.add_function(wrap_pyfunction!(avg_pool2d, m)?)?;
    m.add_function(wrap_pyfunction!(adaptive_avg_pool2d, m)?)?;
    Ok(())
}
