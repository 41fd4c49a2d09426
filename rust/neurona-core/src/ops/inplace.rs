//! In-place updates on a tensor's storage through its layout: copy_ (assignment into a view,
//! as in `x[0] = 5`), fill_, and arithmetic-assign. They are for data that is not in the graph
//! (parameters under no_grad, buffers): a leaf that requires grad refuses them while grad is on.

use super::kernels::copy_into;
use crate::autograd::is_grad_enabled;
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Tensor};
use crate::{bail, Result};

impl Tensor {
    fn check_inplace(&self, what: &str) -> Result<()> {
        if is_grad_enabled() && self.requires_grad() {
            if self.is_leaf() {
                bail!(
                    Runtime,
                    "{what}: a leaf tensor that requires grad is being used in an in-place \
                     operation; wrap it in `with neurona.no_grad():`"
                );
            }
            bail!(
                Runtime,
                "{what}: in-place operations on tensors that are part of the autograd graph are \
                 not supported; use the out-of-place form"
            );
        }
        Ok(())
    }

    /// Writes `src` (broadcast to this tensor's shape) into this tensor's elements.
    pub fn copy_(&self, src: &Tensor) -> Result<()> {
        self.check_inplace("copy_")?;
        if crate::cuda::involved(&[self, src]) {
            return crate::cuda::ops::copy_(self, src);
        }
        let src = src.detach().expand(self.shape()).map_err(|_| {
            crate::Error::Value(format!(
                "copy_: cannot assign a tensor of shape {} to a tensor of shape {}",
                fmt_shape(src.shape()),
                fmt_shape(self.shape())
            ))
        })?;
        let src = src.to_dtype(self.dtype())?;
        macro_rules! go {
            ($t:ty) => {{
                let values = src.to_vec::<$t>()?;
                self.with_storage_mut(|dst: &mut [$t], layout| copy_into(dst, layout, &values))
            }};
        }
        match self.dtype() {
            DType::F32 => go!(f32),
            DType::I64 => go!(i64),
            DType::Bool => go!(bool),
        }
    }

    pub fn fill_(&self, v: f32) -> Result<()> {
        self.copy_(&Tensor::scalar(v))
    }

    /// self = self (op) other, computed out of place then written back (safe when other
    /// aliases self).
    pub fn binary_(&self, other: &Tensor, op: super::binary::BinaryOp) -> Result<()> {
        self.check_inplace("in-place arithmetic")?;
        let result = {
            let _g = crate::autograd::NoGradGuard::new();
            self.detach().binary(&other.detach(), op)?
        };
        if result.shape() != self.shape() {
            bail!(
                Value,
                "output with shape {} doesn't match the broadcast shape {}",
                fmt_shape(self.shape()),
                fmt_shape(result.shape())
            );
        }
        if result.dtype() != self.dtype() {
            bail!(
                Type,
                "result type {} can't be cast to the desired output type {}",
                result.dtype(),
                self.dtype()
            );
        }
        self.copy_(&result)
    }
}
