//! The GPU path of `crate::ops::optim_step`: maps the CPU optimizers' configurations
//! (`crate::cpu::optim`) onto the fused GPU kernels of `optim.rs`, so `optim.SGD(...).step()`
//! runs on the device when the parameters live there. Decoupled weight decay on optimizers
//! whose kernel has none (SGD, RMSprop, Adagrad) is applied first as `p *= 1 - lr * wd`, which
//! is how the CPU kernels apply it.

use super::optim;
use crate::cpu::optim::{Adagrad, Adam, Momentum, RmsProp, Sgd, WeightDecay};
use crate::ops::binary::BinaryOp;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// (L2 coefficient, decoupled coefficient) of a weight-decay setting.
fn decay(w: WeightDecay) -> (f32, f32) {
    match w {
        WeightDecay::None => (0.0, 0.0),
        WeightDecay::L2(c) => (c as f32, 0.0),
        WeightDecay::Decoupled(c) => (0.0, c as f32),
    }
}

/// p *= 1 - lr * wd (no graph: the optimizer's update).
fn shrink(p: &Tensor, lr: f64, wd: f32) -> Result<()> {
    if wd == 0.0 {
        return Ok(());
    }
    let _g = crate::autograd::NoGradGuard::new();
    p.binary_(
        &Tensor::scalar((1.0 - lr * wd as f64) as f32),
        BinaryOp::Mul,
    )
}

pub fn sgd_step(cfg: &Sgd, t: u64, p: &Tensor, g: &Tensor, buf: Option<&Tensor>) -> Result<()> {
    let (momentum, nesterov) = match cfg.momentum {
        Momentum::None => (0.0, false),
        Momentum::Classic(m) => (m as f32, false),
        Momentum::Nesterov(m) => (m as f32, true),
    };
    let (l2, dec) = decay(cfg.weight_decay);
    shrink(p, cfg.lr, dec)?;
    let o = optim::Sgd {
        lr: cfg.lr as f32,
        momentum,
        dampening: cfg.dampening as f32,
        weight_decay: l2,
        nesterov,
        maximize: cfg.maximize,
    };
    optim::sgd(p, g, buf, t == 1, &o)
}

#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    cfg: &Adam,
    t: u64,
    p: &Tensor,
    g: &Tensor,
    m: &Tensor,
    v: &Tensor,
    vmax: Option<&Tensor>,
) -> Result<()> {
    let (l2, dec) = decay(cfg.weight_decay);
    let o = optim::Adam {
        lr: cfg.lr as f32,
        beta1: cfg.betas.0 as f32,
        beta2: cfg.betas.1 as f32,
        eps: cfg.eps as f32,
        weight_decay: if dec != 0.0 { dec } else { l2 },
        decoupled: dec != 0.0,
        amsgrad: cfg.amsgrad,
        maximize: cfg.maximize,
    };
    optim::adam(p, g, m, v, vmax, t, &o)
}

pub fn rmsprop_step(
    cfg: &RmsProp,
    p: &Tensor,
    g: &Tensor,
    square_avg: &Tensor,
    grad_avg: Option<&Tensor>,
    buf: Option<&Tensor>,
) -> Result<()> {
    if cfg.centered || grad_avg.is_some() {
        bail!(
            Runtime,
            "rmsprop: centered=True is not implemented on CUDA yet (the parameter is on {})",
            p.device()
        );
    }
    let (l2, dec) = decay(cfg.weight_decay);
    shrink(p, cfg.lr, dec)?;
    let o = optim::RmsProp {
        lr: cfg.lr as f32,
        alpha: cfg.alpha as f32,
        eps: cfg.eps as f32,
        weight_decay: l2,
        momentum: cfg.momentum as f32,
        maximize: cfg.maximize,
    };
    optim::rmsprop(p, g, square_avg, buf, &o)
}

pub fn adagrad_step(cfg: &Adagrad, t: u64, p: &Tensor, g: &Tensor, sum: &Tensor) -> Result<()> {
    let (l2, dec) = decay(cfg.weight_decay);
    shrink(p, cfg.lr, dec)?;
    let o = optim::Adagrad {
        lr: cfg.lr as f32,
        lr_decay: cfg.lr_decay as f32,
        eps: cfg.eps as f32,
        weight_decay: l2,
        maximize: cfg.maximize,
    };
    optim::adagrad(p, g, sum, t, &o)
}
