//! Bindings of the fused optimizer steps, gradient clipping, fused losses and batch norm
//! (`neurona.optim` and `neurona.nn.functional` call these). Each takes CoreTensors and plain
//! hyperparameters, builds the core's typed config, and runs the update with the GIL released.

use crate::errors::run;
use crate::py_tensor::{wrap, PyTensor};
use neurona_core::cpu::optim::{Adadelta, Adagrad, Adam, Momentum, RmsProp, Sgd, WeightDecay};
use neurona_core::ops::loss::parse_reduction;
use neurona_core::ops::optim_step;
use neurona_core::Tensor;
use pyo3::prelude::*;

fn inner(t: &PyTensor) -> Tensor {
    t.inner.clone()
}

fn inner_opt(t: Option<PyRef<'_, PyTensor>>) -> Option<Tensor> {
    t.map(|t| t.inner.clone())
}

/// PyTorch's float `weight_decay`, as the core's typed option.
fn decay(wd: f64, decoupled: bool) -> WeightDecay {
    if wd == 0.0 {
        WeightDecay::None
    } else if decoupled {
        WeightDecay::Decoupled(wd)
    } else {
        WeightDecay::L2(wd)
    }
}

#[pyfunction]
#[pyo3(signature = (param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize, step))]
#[allow(clippy::too_many_arguments)]
pub fn sgd_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    momentum_buffer: Option<PyRef<'_, PyTensor>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    maximize: bool,
    step: u64,
) -> PyResult<()> {
    let cfg = Sgd {
        lr,
        momentum: if nesterov {
            Momentum::Nesterov(momentum)
        } else if momentum == 0.0 {
            Momentum::None
        } else {
            Momentum::Classic(momentum)
        },
        dampening,
        weight_decay: decay(weight_decay, false),
        maximize,
    };
    let (p, g, b) = (inner(param), inner(grad), inner_opt(momentum_buffer));
    run(py, move || {
        optim_step::sgd_step(&cfg, step, &p, &g, b.as_ref())
    })
}

#[pyfunction]
#[pyo3(signature = (param, grad, state_sum, *, lr, lr_decay, weight_decay, eps, initial_accumulator_value, maximize, step))]
#[allow(clippy::too_many_arguments)]
pub fn adagrad_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    state_sum: &PyTensor,
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    eps: f64,
    initial_accumulator_value: f64,
    maximize: bool,
    step: u64,
) -> PyResult<()> {
    let cfg = Adagrad {
        lr,
        lr_decay,
        weight_decay: decay(weight_decay, false),
        eps,
        initial_accumulator_value,
        maximize,
    };
    let (p, g, s) = (inner(param), inner(grad), inner(state_sum));
    run(py, move || optim_step::adagrad_step(&cfg, step, &p, &g, &s))
}

#[pyfunction]
#[pyo3(signature = (param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize, step))]
#[allow(clippy::too_many_arguments)]
pub fn adadelta_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    square_avg: &PyTensor,
    acc_delta: &PyTensor,
    lr: f64,
    rho: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
    step: u64,
) -> PyResult<()> {
    let cfg = Adadelta {
        lr,
        rho,
        eps,
        weight_decay: decay(weight_decay, false),
        maximize,
    };
    let (p, g, sq, acc) = (
        inner(param),
        inner(grad),
        inner(square_avg),
        inner(acc_delta),
    );
    run(py, move || {
        optim_step::adadelta_step(&cfg, step, &p, &g, &sq, &acc)
    })
}

#[pyfunction]
#[pyo3(signature = (param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay, momentum, centered, maximize, step))]
#[allow(clippy::too_many_arguments)]
pub fn rmsprop_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    square_avg: &PyTensor,
    grad_avg: Option<PyRef<'_, PyTensor>>,
    momentum_buffer: Option<PyRef<'_, PyTensor>>,
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    maximize: bool,
    step: u64,
) -> PyResult<()> {
    let cfg = RmsProp {
        lr,
        alpha,
        eps,
        weight_decay: decay(weight_decay, false),
        momentum,
        centered,
        maximize,
    };
    let (p, g, sq) = (inner(param), inner(grad), inner(square_avg));
    let (ga, mb) = (inner_opt(grad_avg), inner_opt(momentum_buffer));
    run(py, move || {
        optim_step::rmsprop_step(&cfg, step, &p, &g, &sq, ga.as_ref(), mb.as_ref())
    })
}

#[pyfunction]
#[pyo3(signature = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step))]
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    py: Python<'_>,
    param: &PyTensor,
    grad: &PyTensor,
    exp_avg: &PyTensor,
    exp_avg_sq: &PyTensor,
    max_exp_avg_sq: Option<PyRef<'_, PyTensor>>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    amsgrad: bool,
    maximize: bool,
    step: u64,
) -> PyResult<()> {
    let cfg = Adam {
        lr,
        betas: (beta1, beta2),
        eps,
        weight_decay: decay(weight_decay, decoupled),
        amsgrad,
        maximize,
    };
    let (p, g, m, v) = (inner(param), inner(grad), inner(exp_avg), inner(exp_avg_sq));
    let vmax = inner_opt(max_exp_avg_sq);
    run(py, move || {
        optim_step::adam_step(&cfg, step, &p, &g, &m, &v, vmax.as_ref())
    })
}

/// The total 2-norm or inf-norm of several tensors (gradient clipping).
#[pyfunction]
pub fn total_norm(
    py: Python<'_>,
    tensors: Vec<PyRef<'_, PyTensor>>,
    norm_type: f64,
) -> PyResult<f64> {
    let ts: Vec<Tensor> = tensors.iter().map(|t| t.inner.clone()).collect();
    run(py, move || optim_step::total_norm(&ts, norm_type))
}

/// `t *= s` in place.
#[pyfunction]
pub fn scale_(py: Python<'_>, t: &PyTensor, s: f32) -> PyResult<()> {
    let t = inner(t);
    run(py, move || optim_step::scale_(&t, s))
}

/// Clamps `t` into `[lo, hi]` in place.
#[pyfunction]
pub fn clamp_(py: Python<'_>, t: &PyTensor, lo: f32, hi: f32) -> PyResult<()> {
    let t = inner(t);
    run(py, move || optim_step::clamp_(&t, lo, hi))
}

/// Fused softmax cross-entropy: logits (N, C), int64 labels (N,) or probabilities (N, C).
#[pyfunction]
#[pyo3(signature = (input, target, reduction, label_smoothing, ignore_index=None))]
pub fn cross_entropy(
    py: Python<'_>,
    input: &PyTensor,
    target: &PyTensor,
    reduction: &str,
    label_smoothing: f64,
    ignore_index: Option<i64>,
) -> PyResult<PyTensor> {
    let (x, y) = (inner(input), inner(target));
    let r = reduction.to_string();
    run(py, move || {
        x.cross_entropy_loss(&y, parse_reduction(&r)?, label_smoothing, ignore_index)
    })
    .map(wrap)
}

/// Fused negative log-likelihood: log-probabilities (N, C), int64 labels (N,).
#[pyfunction]
#[pyo3(signature = (input, target, reduction, ignore_index=None))]
pub fn nll_loss(
    py: Python<'_>,
    input: &PyTensor,
    target: &PyTensor,
    reduction: &str,
    ignore_index: Option<i64>,
) -> PyResult<PyTensor> {
    let (x, y) = (inner(input), inner(target));
    let r = reduction.to_string();
    run(py, move || {
        x.nll_loss(&y, parse_reduction(&r)?, ignore_index)
    })
    .map(wrap)
}

/// Fused binary cross-entropy from logits, elementwise.
#[pyfunction]
pub fn bce_with_logits(
    py: Python<'_>,
    input: &PyTensor,
    target: &PyTensor,
    reduction: &str,
) -> PyResult<PyTensor> {
    let (x, y) = (inner(input), inner(target));
    let r = reduction.to_string();
    run(py, move || x.bce_with_logits_loss(&y, parse_reduction(&r)?)).map(wrap)
}

/// Fused binary cross-entropy of probabilities, elementwise (logs clamped at -100).
#[pyfunction]
pub fn binary_cross_entropy(
    py: Python<'_>,
    input: &PyTensor,
    target: &PyTensor,
    reduction: &str,
) -> PyResult<PyTensor> {
    let (x, y) = (inner(input), inner(target));
    let r = reduction.to_string();
    run(py, move || x.bce_loss(&y, parse_reduction(&r)?)).map(wrap)
}

/// Fused batch normalisation of (N, C, *): returns the output and, when training, the batch
/// mean and biased variance per channel (the caller updates its running statistics).
#[pyfunction]
#[pyo3(signature = (input, weight, bias, running_mean, running_var, training, eps))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn batch_norm(
    py: Python<'_>,
    input: &PyTensor,
    weight: Option<PyRef<'_, PyTensor>>,
    bias: Option<PyRef<'_, PyTensor>>,
    running_mean: Option<PyRef<'_, PyTensor>>,
    running_var: Option<PyRef<'_, PyTensor>>,
    training: bool,
    eps: f64,
) -> PyResult<(PyTensor, Option<PyTensor>, Option<PyTensor>)> {
    let x = inner(input);
    let (w, b) = (inner_opt(weight), inner_opt(bias));
    let (rm, rv) = (inner_opt(running_mean), inner_opt(running_var));
    let (y, st) = run(py, move || {
        let running = match (training, &rm, &rv) {
            (true, _, _) => None,
            (false, Some(m), Some(v)) => Some((m, v)),
            (false, _, _) => neurona_core::bail!(
                Value,
                "batch_norm: running_mean and running_var are needed when not training"
            ),
        };
        x.batch_norm(w.as_ref(), b.as_ref(), running, eps)
    })?;
    Ok(match st {
        Some((m, v)) => (wrap(y), Some(wrap(m)), Some(wrap(v))),
        None => (wrap(y), None, None),
    })
}

/// Registers this file's functions on the `_core` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(sgd_step, m)?,
        wrap_pyfunction!(adagrad_step, m)?,
        wrap_pyfunction!(adadelta_step, m)?,
        wrap_pyfunction!(rmsprop_step, m)?,
        wrap_pyfunction!(adam_step, m)?,
        wrap_pyfunction!(total_norm, m)?,
        wrap_pyfunction!(scale_, m)?,
        wrap_pyfunction!(clamp_, m)?,
        wrap_pyfunction!(cross_entropy, m)?,
        wrap_pyfunction!(nll_loss, m)?,
        wrap_pyfunction!(bce_with_logits, m)?,
        wrap_pyfunction!(binary_cross_entropy, m)?,
        wrap_pyfunction!(batch_norm, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
