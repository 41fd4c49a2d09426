//! Cross-entropy on the GPU, fused with its log-softmax (kernels/loss.cu): the mean over the
//! counted rows of lse(x_i) - x_i[t_i], rows whose target is `ignore_index` left out (PyTorch's
//! `F.cross_entropy(logits, target, ignore_index=...)` with reduction "mean").

use super::launch;
use crate::autograd::BackwardOp;
use crate::cuda::common::ReduceKind;
use crate::cuda::enabled::device::driver_error;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{alloc, common_gpu, wrap, zeros, CudaStorage, Reads};
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Tensor};
use crate::{bail, Result};

/// Mean cross-entropy of `logits` (N, C) float32 against class indices `target` (N,) int64,
/// both on one GPU. A 0-d tensor in the graph.
pub fn cross_entropy(logits: &Tensor, target: &Tensor, ignore_index: i64) -> Result<Tensor> {
    if logits.ndim() != 2 || target.ndim() != 1 || target.shape()[0] != logits.shape()[0] {
        bail!(
            Value,
            "cross_entropy: expected logits (N, C) and targets (N,), got {} and {}",
            fmt_shape(logits.shape()),
            fmt_shape(target.shape())
        );
    }
    if logits.dtype() != DType::F32 || target.dtype() != DType::I64 {
        bail!(
            Type,
            "cross_entropy: expected float32 logits and int64 targets, got {} and {}",
            logits.dtype(),
            target.dtype()
        );
    }
    let g = common_gpu("cross_entropy", &[logits, target])?;
    let (n, c) = (logits.shape()[0], logits.shape()[1]);
    if c == 0 {
        bail!(
            Value,
            "cross_entropy: logits have no classes (shape {})",
            fmt_shape(logits.shape())
        );
    }
    let x = logits.detach().contiguous()?;
    let t = target.detach().contiguous()?;
    let mut loss = alloc::<f32>(&g, n)?;
    let mut lse = alloc::<f32>(&g, n)?;
    let mut valid = alloc::<f32>(&g, n)?;
    let mut bad = zeros::<i32>(&g, 1)?;
    if n > 0 {
        let (xo, to, n64, c64) = (
            x.layout().offset as i64,
            t.layout().offset as i64,
            n as i64,
            c as i64,
        );
        let r = Reads::new(&[&x, &t]);
        launch!(
            g,
            Loss,
            "xent_fwd",
            cfg::rows(n),
            [
                r.f32(0)?,
                &xo,
                r.i64(1)?,
                &to,
                &mut loss,
                &mut lse,
                &mut valid,
                &mut bad,
                &n64,
                &c64,
                &ignore_index
            ]
        )?;
        let flag = g
            .stream
            .clone_dtoh(&bad)
            .map_err(|e| driver_error("cuMemcpyDtoH", e))?;
        if flag[0] != 0 {
            bail!(
                Index,
                "cross_entropy: a target is out of bounds for {c} classes (targets must be in \
                 [0, {c}) or equal ignore_index={ignore_index})"
            );
        }
    }
    let sum =
        |s: CudaStorage| super::reduce::reduce(&wrap(s, &[n]), (1, n, 1), ReduceKind::Sum, &[]);
    let total = sum(CudaStorage::F32(loss))?;
    let count = sum(CudaStorage::F32(valid))?;
    let mean = super::elementwise::binary(&total, &count, crate::ops::binary::BinaryOp::Div)?;
    let lse = wrap(CudaStorage::F32(lse), &[n]);
    Ok(Tensor::from_op(
        mean,
        &[logits],
        CrossEntropyBackward {
            x,
            t,
            lse,
            count,
            ignore_index,
        },
    ))
}

struct CrossEntropyBackward {
    x: Tensor,
    t: Tensor,
    lse: Tensor,
    count: Tensor,
    ignore_index: i64,
}

impl BackwardOp for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn backward(&self, grad: &Tensor, _inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let grad = crate::cuda::to_device(&grad.detach(), self.x.device())?;
        let g = common_gpu("cross_entropy backward", &[&self.x, &grad])?;
        let (n, c) = (self.x.shape()[0], self.x.shape()[1]);
        let mut gx = alloc::<f32>(&g, n * c)?;
        if n * c > 0 {
            let (xo, to) = (self.x.layout().offset as i64, self.t.layout().offset as i64);
            let (n64, c64) = (n as i64, c as i64);
            let gc = grad.contiguous()?;
            let r = Reads::new(&[&self.x, &self.t, &self.lse, &gc, &self.count]);
            launch!(
                g,
                Loss,
                "xent_bwd",
                cfg::elems(n * c),
                [
                    r.f32(0)?,
                    &xo,
                    r.i64(1)?,
                    &to,
                    r.f32(2)?,
                    r.f32(3)?,
                    r.f32(4)?,
                    &mut gx,
                    &n64,
                    &c64,
                    &self.ignore_index
                ]
            )?;
        }
        Ok(vec![Some(wrap(CudaStorage::F32(gx), &[n, c]))])
    }
}
