//! Fused optimizer updates for parameters on a GPU (kernels/optim.cu): one kernel per
//! parameter per step, updating the parameter and its state buffers in place. The formulas are
//! PyTorch's (torch.optim: SGD, Adam/AdamW, RMSprop, Adagrad). Parameters and state must be
//! contiguous float32 tensors on one GPU, the gradient of the parameter's shape (any layout).
//!
//! These are the GPU halves of the optimizers' `step()`; the Python optimizers call them when
//! a parameter lives on a GPU.

use super::launch;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{common_gpu, CudaStorage};
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Storage, Tensor};
use crate::{bail, Result};
use cudarc::driver::CudaSlice;
use std::sync::RwLockWriteGuard;

#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    pub maximize: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// AdamW: weight decay applied to the weights, not added to the gradient.
    pub decoupled: bool,
    pub amsgrad: bool,
    pub maximize: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct RmsProp {
    pub lr: f32,
    pub alpha: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub momentum: f32,
    pub maximize: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Adagrad {
    pub lr: f32,
    pub lr_decay: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub maximize: bool,
}

fn check(what: &str, p: &Tensor, others: &[&Tensor]) -> Result<()> {
    for t in std::iter::once(p).chain(others.iter().copied()) {
        if t.dtype() != DType::F32 || !t.device().is_cuda() {
            bail!(
                Type,
                "{what}: expected float32 CUDA tensors, got {} on {}",
                t.dtype(),
                t.device()
            );
        }
        if t.shape() != p.shape() {
            bail!(
                Value,
                "{what}: state of shape {} for a parameter of shape {}",
                fmt_shape(t.shape()),
                fmt_shape(p.shape())
            );
        }
        if !t.is_contiguous() || t.layout().offset != 0 {
            bail!(
                Value,
                "{what}: parameters and state must be contiguous, whole buffers"
            );
        }
    }
    for (i, a) in others.iter().enumerate() {
        if a.same_storage(p) || others[i + 1..].iter().any(|b| b.same_storage(a)) {
            bail!(
                Value,
                "{what}: parameter and state buffers must be distinct"
            );
        }
    }
    Ok(())
}

fn slice_mut<'a>(w: &'a mut RwLockWriteGuard<'_, Storage>) -> Result<&'a mut CudaSlice<f32>> {
    match &mut **w {
        Storage::Cuda(CudaStorage::F32(s)) => Ok(s),
        _ => bail!(Runtime, "internal: expected a float32 CUDA buffer"),
    }
}

/// The gradient as a contiguous buffer of the parameter's shape.
fn grad_of(what: &str, p: &Tensor, grad: &Tensor) -> Result<Tensor> {
    if grad.shape() != p.shape() || grad.dtype() != DType::F32 {
        bail!(
            Value,
            "{what}: gradient of shape {} ({}) for a parameter of shape {}",
            fmt_shape(grad.shape()),
            grad.dtype(),
            fmt_shape(p.shape())
        );
    }
    let g = crate::cuda::to_device(&grad.detach(), p.device())?;
    if g.is_contiguous() && !g.same_storage(p) {
        Ok(g)
    } else {
        super::copy::contiguous(&g)
    }
}

/// One SGD step; `buf` is the momentum buffer (needed when momentum != 0; `first` on the
/// step that creates it).
pub fn sgd(p: &Tensor, grad: &Tensor, buf: Option<&Tensor>, first: bool, o: &Sgd) -> Result<()> {
    let what = "SGD step";
    check(what, p, &buf.into_iter().collect::<Vec<_>>())?;
    let g = grad_of(what, p, grad)?;
    let gpu = common_gpu(what, &[p, &g])?;
    let n = p.numel();
    if n == 0 {
        return Ok(());
    }
    let (n64, maxi) = (n as i64, o.maximize as i32);
    let gr = g.storage_read();
    let Storage::Cuda(CudaStorage::F32(gs)) = &*gr else {
        bail!(Runtime, "internal: expected a float32 CUDA gradient")
    };
    let mut pw = p.storage_write();
    let ps = slice_mut(&mut pw)?;
    match buf {
        Some(b) if o.momentum != 0.0 => {
            let mut bw = b.storage_write();
            let bs = slice_mut(&mut bw)?;
            let (nest, fst) = (o.nesterov as i32, first as i32);
            launch!(
                gpu,
                Optim,
                "sgd_momentum_f32",
                cfg::elems(n),
                [
                    ps,
                    gs,
                    bs,
                    &n64,
                    &o.lr,
                    &o.weight_decay,
                    &o.momentum,
                    &o.dampening,
                    &nest,
                    &fst,
                    &maxi
                ]
            )
        }
        _ if o.momentum != 0.0 => bail!(Value, "{what}: momentum needs a buffer"),
        _ => launch!(
            gpu,
            Optim,
            "sgd_f32",
            cfg::elems(n),
            [ps, gs, &n64, &o.lr, &o.weight_decay, &maxi]
        ),
    }
}

/// One Adam/AdamW step number `step` (1 for the first), with moments `m`, `v` and, for
/// amsgrad, the running maximum `vmax`.
pub fn adam(
    p: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    vmax: Option<&Tensor>,
    step: u64,
    o: &Adam,
) -> Result<()> {
    let what = if o.decoupled {
        "AdamW step"
    } else {
        "Adam step"
    };
    let mut state = vec![m, v];
    state.extend(vmax);
    check(what, p, &state)?;
    if step == 0 {
        bail!(Value, "{what}: steps count from 1");
    }
    let g = grad_of(what, p, grad)?;
    let gpu = common_gpu(what, &[p, &g])?;
    let n = p.numel();
    if n == 0 {
        return Ok(());
    }
    let bc1 = (1.0 - (o.beta1 as f64).powf(step as f64)) as f32;
    let sbc2 = (1.0 - (o.beta2 as f64).powf(step as f64)).sqrt() as f32;
    let (n64, dec, maxi) = (n as i64, o.decoupled as i32, o.maximize as i32);
    let gr = g.storage_read();
    let Storage::Cuda(CudaStorage::F32(gs)) = &*gr else {
        bail!(Runtime, "internal: expected a float32 CUDA gradient")
    };
    let (mut pw, mut mw, mut vw) = (p.storage_write(), m.storage_write(), v.storage_write());
    let (ps, ms, vs) = (
        slice_mut(&mut pw)?,
        slice_mut(&mut mw)?,
        slice_mut(&mut vw)?,
    );
    match (o.amsgrad, vmax) {
        (true, Some(x)) => {
            let mut xw = x.storage_write();
            let xs = slice_mut(&mut xw)?;
            launch!(
                gpu,
                Optim,
                "adam_amsgrad_f32",
                cfg::elems(n),
                [
                    ps,
                    gs,
                    ms,
                    vs,
                    xs,
                    &n64,
                    &o.lr,
                    &o.beta1,
                    &o.beta2,
                    &o.eps,
                    &o.weight_decay,
                    &dec,
                    &bc1,
                    &sbc2,
                    &maxi
                ]
            )
        }
        (true, None) => bail!(Value, "{what}: amsgrad needs a max_exp_avg_sq buffer"),
        (false, _) => launch!(
            gpu,
            Optim,
            "adam_f32",
            cfg::elems(n),
            [
                ps,
                gs,
                ms,
                vs,
                &n64,
                &o.lr,
                &o.beta1,
                &o.beta2,
                &o.eps,
                &o.weight_decay,
                &dec,
                &bc1,
                &sbc2,
                &maxi
            ]
        ),
    }
}

/// One RMSprop step (not centered), with square average `v` and, when momentum != 0, `buf`.
pub fn rmsprop(
    p: &Tensor,
    grad: &Tensor,
    v: &Tensor,
    buf: Option<&Tensor>,
    o: &RmsProp,
) -> Result<()> {
    let what = "RMSprop step";
    let mut state = vec![v];
    state.extend(buf);
    check(what, p, &state)?;
    let g = grad_of(what, p, grad)?;
    let gpu = common_gpu(what, &[p, &g])?;
    let n = p.numel();
    if n == 0 {
        return Ok(());
    }
    let (n64, maxi) = (n as i64, o.maximize as i32);
    let gr = g.storage_read();
    let Storage::Cuda(CudaStorage::F32(gs)) = &*gr else {
        bail!(Runtime, "internal: expected a float32 CUDA gradient")
    };
    let (mut pw, mut vw) = (p.storage_write(), v.storage_write());
    let (ps, vs) = (slice_mut(&mut pw)?, slice_mut(&mut vw)?);
    match buf {
        Some(b) if o.momentum != 0.0 => {
            let mut bw = b.storage_write();
            let bs = slice_mut(&mut bw)?;
            launch!(
                gpu,
                Optim,
                "rmsprop_momentum_f32",
                cfg::elems(n),
                [
                    ps,
                    gs,
                    vs,
                    bs,
                    &n64,
                    &o.lr,
                    &o.alpha,
                    &o.eps,
                    &o.weight_decay,
                    &o.momentum,
                    &maxi
                ]
            )
        }
        _ if o.momentum != 0.0 => bail!(Value, "{what}: momentum needs a buffer"),
        _ => launch!(
            gpu,
            Optim,
            "rmsprop_f32",
            cfg::elems(n),
            [
                ps,
                gs,
                vs,
                &n64,
                &o.lr,
                &o.alpha,
                &o.eps,
                &o.weight_decay,
                &maxi
            ]
        ),
    }
}

/// One Adagrad step number `step` (from 1), with the running sum of squares `sum`.
pub fn adagrad(p: &Tensor, grad: &Tensor, sum: &Tensor, step: u64, o: &Adagrad) -> Result<()> {
    let what = "Adagrad step";
    check(what, p, &[sum])?;
    if step == 0 {
        bail!(Value, "{what}: steps count from 1");
    }
    let g = grad_of(what, p, grad)?;
    let gpu = common_gpu(what, &[p, &g])?;
    let n = p.numel();
    if n == 0 {
        return Ok(());
    }
    let clr = (o.lr as f64 / (1.0 + (step - 1) as f64 * o.lr_decay as f64)) as f32;
    let (n64, maxi) = (n as i64, o.maximize as i32);
    let gr = g.storage_read();
    let Storage::Cuda(CudaStorage::F32(gs)) = &*gr else {
        bail!(Runtime, "internal: expected a float32 CUDA gradient")
    };
    let (mut pw, mut sw) = (p.storage_write(), sum.storage_write());
    let (ps, ss) = (slice_mut(&mut pw)?, slice_mut(&mut sw)?);
    launch!(
        gpu,
        Optim,
        "adagrad_f32",
        cfg::elems(n),
        [ps, gs, ss, &n64, &clr, &o.eps, &o.weight_decay, &maxi]
    )
}
