//! softmax and log_softmax over one axis, each one fused kernel forward and one backward
//! (`crate::cpu::softmax`): the max is subtracted first, so inputs of +-1e4 stay finite.

use crate::autograd::BackwardOp;
use crate::cpu::softmax::{
    log_softmax, log_softmax_backward, softmax, softmax_backward, AxisShape,
};
use crate::parallel::install;
use crate::tensor::{normalize_axis, DType, Tensor};
use crate::{bail, Result};

impl Tensor {
    fn softmax_like(&self, axis: isize, log: bool) -> Result<Tensor> {
        let what = if log { "log_softmax" } else { "softmax" };
        if self.dtype() != DType::F32 {
            bail!(
                Type,
                "{what}: expected a float32 tensor, got {}",
                self.dtype()
            );
        }
        // A 0-d tensor is treated as one element along its only axis.
        let x = if self.ndim() == 0 {
            self.reshape(&[1])?
        } else {
            self.clone()
        };
        let ax = normalize_axis(axis, x.ndim(), what)?;
        if x.device().is_cuda() {
            return crate::cuda::ops::softmax(&x, ax, log)?.reshape(self.shape());
        }
        let shape = AxisShape::of(x.shape(), ax)?;
        let mut y = vec![0.0f32; x.numel()];
        x.with_slice(|xs: &[f32]| {
            install(|| {
                if log {
                    log_softmax(xs, &mut y, shape)
                } else {
                    softmax(xs, &mut y, shape)
                }
            })
        })?;
        let out = Tensor::from_vec(y, x.shape())?;
        let out = Tensor::from_op(out.clone(), &[&x], SoftmaxBackward { y: out, shape, log });
        if self.ndim() == 0 {
            out.reshape(&[])
        } else {
            Ok(out)
        }
    }

    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_like(axis, true)
    }

    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_like(axis, false)
    }
}

struct SoftmaxBackward {
    y: Tensor,
    shape: AxisShape,
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
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let mut gx = vec![0.0f32; self.y.numel()];
        self.y.with_slice(|ys: &[f32]| {
            g.with_slice(|gs: &[f32]| {
                install(|| {
                    if self.log {
                        log_softmax_backward(ys, gs, &mut gx, self.shape)
                    } else {
                        softmax_backward(ys, gs, &mut gx, self.shape)
                    }
                })
            })
        })??;
        Ok(vec![Some(Tensor::from_vec(gx, inputs[0].shape())?)])
    }
}
