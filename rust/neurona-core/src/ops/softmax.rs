//! softmax and log_softmax over one axis, numerically stable (the max is subtracted first, so
//! inputs of +-1e4 give finite results). Composed from differentiable ops; the max shift is
//! detached since softmax is invariant to it.

use crate::tensor::{normalize_axis, Tensor};
use crate::Result;

impl Tensor {
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        let ax = normalize_axis(axis, self.ndim(), "log_softmax")? as isize;
        if self.device().is_cuda() {
            return crate::cuda::ops::softmax(self, ax as usize, true);
        }
        let shift = self.detach().max(&[ax], true)?;
        let z = self.sub(&shift)?;
        let lse = z.exp()?.sum(&[ax], true)?.log()?;
        z.sub(&lse)
    }

    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        let ax = normalize_axis(axis, self.ndim(), "softmax")? as isize;
        if self.device().is_cuda() {
            return crate::cuda::ops::softmax(self, ax as usize, false);
        }
        let shift = self.detach().max(&[ax], true)?;
        let e = self.sub(&shift)?.exp()?;
        e.div(&e.sum(&[ax], true)?)
    }
}
