//! Optimizer steps on tensors: check a parameter, its gradient and its state tensors, then run
//! one fused update kernel (`crate::cpu::optim`) over their storage in place. Also the
//! gradient-clipping pieces (norms, scale, clamp) on tensors.
//!
//! The parameter and the state tensors are written through `Tensor::with_storage_mut`, so they
//! must be contiguous float32 CPU tensors with their own storage; the gradient is only read
//! (gathered first when it is a strided view). Updates bypass autograd: they are the optimizer's
//! business, as `torch.no_grad()` around PyTorch's update is.

use crate::cpu::optim::PAR_MIN_LEN;
use crate::cpu::optim::{
    clip, Adadelta, AdadeltaState, Adagrad, Adam, AdamState, RmsProp, RmsPropState, Sgd,
};
use crate::parallel::install;
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Device, Tensor};
use crate::{bail, Result};

/// Runs an update over `len` elements: inside neurona's pool only when the kernel will use
/// threads (from `PAR_MIN_LEN` elements on, with more than one thread); otherwise on the
/// calling thread, without the hand-off to the pool (~17 us of wake-ups each).
fn run_kernel<R: Send>(len: usize, f: impl FnOnce() -> R + Send) -> R {
    if len >= PAR_MIN_LEN && crate::parallel::get_num_threads() > 1 {
        install(f)
    } else {
        f()
    }
}

/// Checks one tensor that will be written in place.
fn check_writable(t: &Tensor, op: &str, what: &str, shape: &[usize]) -> Result<()> {
    if t.dtype() != DType::F32 {
        bail!(Type, "{op}: {what} must be float32, got {}", t.dtype());
    }
    if t.device() != Device::Cpu {
        bail!(
            Runtime,
            "{op}: {what} is on {}, this update runs on the cpu",
            t.device()
        );
    }
    if t.shape() != shape {
        bail!(
            Value,
            "{op}: {what} has shape {}, the parameter {}",
            fmt_shape(t.shape()),
            fmt_shape(shape)
        );
    }
    if !t.is_contiguous() {
        bail!(
            Value,
            "{op}: {what} must be contiguous to be updated in place (shape {}, strides {:?})",
            fmt_shape(t.shape()),
            t.layout().strides
        );
    }
    Ok(())
}

/// Checks the parameter, the gradient and the state tensors, and that no two share storage
/// (each is locked separately while the kernel runs).
fn check_all(op: &str, param: &Tensor, grad: &Tensor, states: &[(&str, &Tensor)]) -> Result<()> {
    let shape = param.shape();
    check_writable(param, op, "the parameter", shape)?;
    if grad.dtype() != DType::F32 || grad.shape() != shape {
        bail!(
            Value,
            "{op}: the gradient ({} of shape {}) must be float32 with the parameter's shape {}",
            grad.dtype(),
            fmt_shape(grad.shape()),
            fmt_shape(shape)
        );
    }
    for (what, s) in states {
        check_writable(s, op, what, shape)?;
    }
    let mut all: Vec<(&str, &Tensor)> = vec![("the parameter", param), ("the gradient", grad)];
    all.extend_from_slice(states);
    for (i, (wa, a)) in all.iter().enumerate() {
        for (wb, b) in &all[i + 1..] {
            if a.same_storage(b) {
                bail!(
                    Value,
                    "{op}: {wa} and {wb} share memory; each needs its own storage"
                );
            }
        }
    }
    Ok(())
}

/// Runs `f` on the contiguous elements of `t`, mutably.
fn with_mut<R>(t: &Tensor, f: impl FnOnce(&mut [f32]) -> R) -> Result<R> {
    let n = t.numel();
    t.with_storage_mut(|s: &mut [f32], l| f(&mut s[l.offset..l.offset + n]))
}

/// `with_mut` for an optional tensor.
fn with_mut_opt<R>(t: Option<&Tensor>, f: impl FnOnce(Option<&mut [f32]>) -> R) -> Result<R> {
    match t {
        None => Ok(f(None)),
        Some(t) => with_mut(t, |s| f(Some(s))),
    }
}

/// Runs `f(param, grad)` with the parameter writable and the gradient readable.
fn with_param<R: Send>(
    param: &Tensor,
    grad: &Tensor,
    f: impl FnOnce(&mut [f32], &[f32]) -> Result<R> + Send,
) -> Result<R> {
    grad.with_slice(|g: &[f32]| with_mut(param, |p| run_kernel(g.len(), || f(p, g))))??
}

fn named<'a>(what: &'a str, t: Option<&'a Tensor>) -> Option<(&'a str, &'a Tensor)> {
    t.map(|t| (what, t))
}

/// One SGD step; `momentum_buffer` iff the config has momentum (at `t == 1` it is overwritten
/// with the gradient, so it may hold anything).
pub fn sgd_step(
    cfg: &Sgd,
    t: u64,
    param: &Tensor,
    grad: &Tensor,
    momentum_buffer: Option<&Tensor>,
) -> Result<()> {
    cfg.validate()?;
    check_step(t, "sgd")?;
    if momentum_buffer.is_some() != cfg.needs_buffer() {
        bail!(
            Value,
            "sgd: a momentum buffer must be given exactly when momentum != 0"
        );
    }
    if param.device().is_cuda() {
        return crate::cuda::ops::sgd_step(cfg, t, param, grad, momentum_buffer);
    }
    let states: Vec<_> = named("momentum_buffer", momentum_buffer)
        .into_iter()
        .collect();
    check_all("sgd", param, grad, &states)?;
    with_param(param, grad, |p, g| {
        with_mut_opt(momentum_buffer, |b| cfg.step(t, p, g, b))
    })
}

/// One Adagrad step; `state_sum` starts filled with `initial_accumulator_value`.
pub fn adagrad_step(
    cfg: &Adagrad,
    t: u64,
    param: &Tensor,
    grad: &Tensor,
    state_sum: &Tensor,
) -> Result<()> {
    cfg.validate()?;
    check_step(t, "adagrad")?;
    if param.device().is_cuda() {
        return crate::cuda::ops::adagrad_step(cfg, t, param, grad, state_sum);
    }
    check_all("adagrad", param, grad, &[("sum", state_sum)])?;
    with_param(param, grad, |p, g| {
        with_mut(state_sum, |s| cfg.step(t, p, g, s))
    })
}

/// One Adadelta step.
pub fn adadelta_step(
    cfg: &Adadelta,
    t: u64,
    param: &Tensor,
    grad: &Tensor,
    square_avg: &Tensor,
    acc_delta: &Tensor,
) -> Result<()> {
    cfg.validate()?;
    check_step(t, "adadelta")?;
    check_all(
        "adadelta",
        param,
        grad,
        &[("square_avg", square_avg), ("acc_delta", acc_delta)],
    )?;
    with_param(param, grad, |p, g| {
        with_mut(square_avg, |sq| {
            with_mut(acc_delta, |acc| {
                cfg.step(
                    t,
                    p,
                    g,
                    AdadeltaState {
                        square_avg: sq,
                        acc_delta: acc,
                    },
                )
            })
        })?
    })
}

/// One RMSprop step; `grad_avg` iff centered, `momentum_buffer` iff momentum > 0.
pub fn rmsprop_step(
    cfg: &RmsProp,
    t: u64,
    param: &Tensor,
    grad: &Tensor,
    square_avg: &Tensor,
    grad_avg: Option<&Tensor>,
    momentum_buffer: Option<&Tensor>,
) -> Result<()> {
    cfg.validate()?;
    check_step(t, "rmsprop")?;
    if grad_avg.is_some() != cfg.centered || momentum_buffer.is_some() != (cfg.momentum > 0.0) {
        bail!(
            Value,
            "rmsprop: grad_avg must be given iff centered, momentum_buffer iff momentum > 0"
        );
    }
    if param.device().is_cuda() {
        let (ga, mb) = (grad_avg, momentum_buffer);
        return crate::cuda::ops::rmsprop_step(cfg, param, grad, square_avg, ga, mb);
    }
    let mut states = vec![("square_avg", square_avg)];
    states.extend(named("grad_avg", grad_avg));
    states.extend(named("momentum_buffer", momentum_buffer));
    check_all("rmsprop", param, grad, &states)?;
    with_param(param, grad, |p, g| {
        with_mut(square_avg, |sq| {
            with_mut_opt(grad_avg, |ga| {
                with_mut_opt(momentum_buffer, |mb| {
                    cfg.step(
                        t,
                        p,
                        g,
                        RmsPropState {
                            square_avg: sq,
                            grad_avg: ga,
                            momentum_buffer: mb,
                        },
                    )
                })
            })
        })??
    })
}

/// One Adam/AdamW step; `max_exp_avg_sq` iff amsgrad.
pub fn adam_step(
    cfg: &Adam,
    t: u64,
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    max_exp_avg_sq: Option<&Tensor>,
) -> Result<()> {
    cfg.validate()?;
    check_step(t, "adam")?;
    if max_exp_avg_sq.is_some() != cfg.amsgrad {
        bail!(
            Value,
            "adam: max_exp_avg_sq must be given exactly when amsgrad is on"
        );
    }
    if param.device().is_cuda() {
        let (m, v, vmax) = (exp_avg, exp_avg_sq, max_exp_avg_sq);
        return crate::cuda::ops::adam_step(cfg, t, param, grad, m, v, vmax);
    }
    let mut states = vec![("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)];
    states.extend(named("max_exp_avg_sq", max_exp_avg_sq));
    check_all("adam", param, grad, &states)?;
    with_param(param, grad, |p, g| {
        with_mut(exp_avg, |m| {
            with_mut(exp_avg_sq, |v| {
                with_mut_opt(max_exp_avg_sq, |vmax| {
                    cfg.step(
                        t,
                        p,
                        g,
                        AdamState {
                            exp_avg: m,
                            exp_avg_sq: v,
                            max_exp_avg_sq: vmax,
                        },
                    )
                })
            })
        })??
    })
}

fn check_step(t: u64, op: &str) -> Result<()> {
    if t == 0 {
        bail!(Value, "{op}: the step count starts at 1, got 0");
    }
    Ok(())
}

fn check_f32_cpu(t: &Tensor, op: &str) -> Result<()> {
    t.expect_cpu::<f32>(op)
}

/// The total norm of several tensors taken together: the 2-norm (`norm_type` 2) or the
/// largest absolute value (`norm_type` infinite), in f64 with a fixed summation order.
pub fn total_norm(tensors: &[Tensor], norm_type: f64) -> Result<f64> {
    let inf = norm_type.is_infinite() && norm_type > 0.0;
    if norm_type != 2.0 && !inf {
        bail!(
            Value,
            "total_norm: the fused norm supports norm_type 2 and inf, got {norm_type}"
        );
    }
    let mut acc = 0.0f64;
    for t in tensors {
        check_f32_cpu(t, "clip_grad_norm_")?;
        let part = t.with_slice(|x: &[f32]| {
            run_kernel(x.len(), || {
                if inf {
                    clip::max_abs(x) as f64
                } else {
                    clip::l2_norm_sq(x)
                }
            })
        })?;
        acc = if inf {
            if part.is_nan() || acc.is_nan() {
                f64::NAN
            } else {
                acc.max(part)
            }
        } else {
            acc + part
        };
    }
    Ok(if inf { acc } else { acc.sqrt() })
}

/// `t *= s` in place (a gradient being clipped).
pub fn scale_(t: &Tensor, s: f32) -> Result<()> {
    check_writable(t, "clip_grad_norm_", "the gradient", t.shape())?;
    with_mut(t, |x| run_kernel(x.len(), || clip::scale(x, s)))
}

/// Clamps `t` into `[lo, hi]` in place (`clip_grad_value_`).
pub fn clamp_(t: &Tensor, lo: f32, hi: f32) -> Result<()> {
    if lo.is_nan() || hi.is_nan() || lo > hi {
        bail!(
            Value,
            "clip_grad_value_: expected lo <= hi, got [{lo}, {hi}]"
        );
    }
    check_writable(t, "clip_grad_value_", "the gradient", t.shape())?;
    with_mut(t, |x| run_kernel(x.len(), || clip::clamp(x, lo, hi)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::optim::{Momentum, WeightDecay};

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    #[test]
    fn sgd_momentum_updates_param_and_buffer_in_place() {
        let (p, g, b) = (t(&[1.0, 2.0]), t(&[0.5, -1.0]), t(&[9.0, 9.0]));
        let cfg = Sgd {
            lr: 0.1,
            momentum: Momentum::Classic(0.9),
            weight_decay: WeightDecay::None,
            ..Sgd::default()
        };
        sgd_step(&cfg, 1, &p, &g, Some(&b)).unwrap();
        assert_eq!(b.to_vec::<f32>().unwrap(), vec![0.5, -1.0]);
        assert_eq!(p.to_vec::<f32>().unwrap(), vec![0.95, 2.1]);
    }

    #[test]
    fn rejects_shared_storage_and_bad_shapes() {
        let p = t(&[1.0, 2.0]);
        let cfg = Adagrad::default();
        assert!(adagrad_step(&cfg, 1, &p, &p.detach(), &t(&[0.0, 0.0])).is_err());
        assert!(adagrad_step(&cfg, 1, &p, &t(&[1.0, 1.0]), &t(&[0.0])).is_err());
        assert!(adagrad_step(&cfg, 0, &p, &t(&[1.0, 1.0]), &t(&[0.0, 0.0])).is_err());
    }

    #[test]
    fn norms_and_clamp() {
        let a = t(&[3.0, 0.0]);
        let b = t(&[-4.0]);
        assert_eq!(total_norm(&[a.clone(), b.clone()], 2.0).unwrap(), 5.0);
        assert_eq!(
            total_norm(&[a.clone(), b.clone()], f64::INFINITY).unwrap(),
            4.0
        );
        clamp_(&b, -1.0, 1.0).unwrap();
        assert_eq!(b.to_vec::<f32>().unwrap(), vec![-1.0]);
        scale_(&a, 0.5).unwrap();
        assert_eq!(a.to_vec::<f32>().unwrap(), vec![1.5, 0.0]);
    }
}
