//! `neurona._core.rnn_layer`: one recurrent layer-direction over a time-major sequence (the
//! op behind nn.RNN / nn.LSTM / nn.GRU and their cells). Converts the arguments, releases the
//! GIL and calls `Tensor::rnn_layer`.

use crate::errors::run;
use crate::py_tensor::{wrap, PyTensor};
use neurona_core::ops::rnn::{RnnInputs, RnnMode};
use neurona_core::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn parse_mode(mode: &str) -> PyResult<RnnMode> {
    Ok(match mode {
        "RNN_TANH" => RnnMode::RnnTanh,
        "RNN_RELU" => RnnMode::RnnRelu,
        "LSTM" => RnnMode::Lstm,
        "GRU" => RnnMode::Gru,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown recurrent mode '{mode}': expected 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'"
            )))
        }
    })
}

/// Returns one tensor (T + 1 [+ 1 for LSTM], N, H): the hidden state at every position, then
/// h_n, then (LSTM) c_n.
#[pyfunction]
#[pyo3(signature = (mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=false))]
#[allow(clippy::too_many_arguments)]
pub fn rnn_layer(
    py: Python<'_>,
    mode: &str,
    x: &PyTensor,
    h0: &PyTensor,
    c0: Option<PyRef<'_, PyTensor>>,
    w_ih: &PyTensor,
    w_hh: &PyTensor,
    b_ih: Option<PyRef<'_, PyTensor>>,
    b_hh: Option<PyRef<'_, PyTensor>>,
    reverse: bool,
) -> PyResult<PyTensor> {
    let mode = parse_mode(mode)?;
    let opt = |t: &Option<PyRef<'_, PyTensor>>| t.as_ref().map(|t| t.inner.clone());
    let (c0, b_ih, b_hh) = (opt(&c0), opt(&b_ih), opt(&b_hh));
    let (x, h0, w_ih, w_hh) = (
        x.inner.clone(),
        h0.inner.clone(),
        w_ih.inner.clone(),
        w_hh.inner.clone(),
    );
    run(py, move || {
        let inputs = RnnInputs {
            x: &x,
            h0: &h0,
            c0: c0.as_ref(),
            w_ih: &w_ih,
            w_hh: &w_hh,
            b_ih: b_ih.as_ref(),
            b_hh: b_hh.as_ref(),
        };
        Tensor::rnn_layer(mode, reverse, &inputs)
    })
    .map(wrap)
}
