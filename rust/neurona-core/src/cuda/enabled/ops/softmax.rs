//! softmax / log_softmax of a GPU tensor along one axis, fused into one kernel each way (the
//! CPU composes them from max, sub, exp, sum and log). Returns a tensor in the graph.

use super::launch;
use crate::autograd::BackwardOp;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{alloc, gpu_of, wrap, CudaStorage, Reads};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape.get(axis).copied().unwrap_or(1),
        shape[(axis + 1).min(shape.len())..].iter().product(),
    )
}

/// softmax (or log_softmax when `log`) of `x` along `axis` (already normalised).
pub fn softmax(x: &Tensor, axis: usize, log: bool) -> Result<Tensor> {
    if x.dtype() != DType::F32 {
        bail!(
            Type,
            "{}: expected a float32 tensor, got {}",
            if log { "log_softmax" } else { "softmax" },
            x.dtype()
        );
    }
    let xc = x.detach().contiguous()?;
    let y = forward(&xc, axis, log)?;
    Ok(Tensor::from_op(
        y.clone(),
        &[x],
        SoftmaxBackward { y, axis, log },
    ))
}

fn forward(x: &Tensor, axis: usize, log: bool) -> Result<Tensor> {
    let g = gpu_of(x)?;
    let (outer, r, inner) = split(x.shape(), axis);
    let n = x.numel();
    let mut out = alloc::<f32>(&g, n)?;
    if n > 0 {
        let (off, o64, r64, i64_) = (
            x.layout().offset as i64,
            outer as i64,
            r as i64,
            inner as i64,
        );
        let logm = log as i32;
        let rd = Reads::new(&[x]);
        if cfg::use_rows(r, inner) {
            launch!(
                g,
                Softmax,
                "softmax_rows",
                cfg::rows(outer),
                [rd.f32(0)?, &off, &mut out, &o64, &r64, &logm]
            )?;
        } else {
            launch!(
                g,
                Softmax,
                "softmax_cols",
                cfg::elems(outer * inner),
                [rd.f32(0)?, &off, &mut out, &o64, &r64, &i64_, &logm]
            )?;
        }
    }
    Ok(wrap(CudaStorage::F32(out), x.shape()))
}

struct SoftmaxBackward {
    y: Tensor,
    axis: usize,
    log: bool,
}

impl BackwardOp for SoftmaxBackward {
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn backward(&self, grad: &Tensor, _inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let gc = grad.detach().contiguous()?;
        let g = gpu_of(&gc)?;
        let shape = self.y.shape();
        let (outer, r, inner) = split(shape, self.axis);
        let n = self.y.numel();
        let mut out = alloc::<f32>(&g, n)?;
        if n > 0 {
            let (o64, r64, i64_) = (outer as i64, r as i64, inner as i64);
            let logm = self.log as i32;
            let rd = Reads::new(&[&self.y, &gc]);
            if cfg::use_rows(r, inner) {
                launch!(
                    g,
                    Softmax,
                    "softmax_grad_rows",
                    cfg::rows(outer),
                    [rd.f32(0)?, rd.f32(1)?, &mut out, &o64, &r64, &logm]
                )?;
            } else {
                launch!(
                    g,
                    Softmax,
                    "softmax_grad_cols",
                    cfg::elems(outer * inner),
                    [rd.f32(0)?, rd.f32(1)?, &mut out, &o64, &r64, &i64_, &logm]
                )?;
            }
        }
        Ok(vec![Some(wrap(CudaStorage::F32(out), shape))])
    }
}
