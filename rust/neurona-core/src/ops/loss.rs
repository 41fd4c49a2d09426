//! Fused losses as differentiable ops: cross-entropy from logits, NLL, binary cross-entropy
//! (on probabilities and on logits). Each forward is one kernel call that also leaves the
//! gradient of the loss with respect to the input (`crate::cpu::loss`), so the backward rule
//! only scales that saved gradient by the upstream one.
//!
//! Shapes here are the kernels' own: logits `[n, c]` with labels `[n]` (int64) or class
//! probabilities `[n, c]` (float32); BCE elementwise over any shape. The Python layer reshapes
//! PyTorch's other layouts (`(C,)`, `(N, C, d1, ...)`) to these. Targets are constants: the
//! Python layer uses a composed (differentiable) formula when a target requires grad.

use crate::autograd::BackwardOp;
use crate::cpu::loss::{self as kernels, CrossEntropy, NllLoss, Reduction, Target};
use crate::parallel::install;
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Tensor};
use crate::{bail, Result};

/// Runs a loss kernel over `len` input elements: inside neurona's pool only when the kernel
/// will use threads (from `PAR_MIN_LEN` elements on), since handing a small problem to the
/// pool costs more than computing it.
fn run_kernel<R: Send>(len: usize, f: impl FnOnce() -> R + Send) -> R {
    if len >= kernels::PAR_MIN_LEN {
        install(f)
    } else {
        f()
    }
}

/// Parses PyTorch's `reduction=` strings.
pub fn parse_reduction(s: &str) -> Result<Reduction> {
    Ok(match s {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        _ => bail!(
            Value,
            "{s} is not a valid value for reduction: expected 'mean', 'sum' or 'none'"
        ),
    })
}

/// The saved d(loss)/d(input) of a fused loss; backward multiplies it by the upstream gradient
/// (one value for a reduced loss, one per row of `row_len` elements for `reduction='none'`).
struct FusedLossBackward {
    name: &'static str,
    grad: Vec<f32>,
    shape: Vec<usize>,
    row_len: usize,
}

impl BackwardOp for FusedLossBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, g: &Tensor, _inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let mut grad = self.grad.clone();
        if !grad.is_empty() {
            let gy = g.to_vec::<f32>()?;
            let n = grad.len();
            run_kernel(n, || {
                kernels::apply_upstream(&mut grad, self.row_len.max(1), &gy)
            });
        }
        Ok(vec![Some(Tensor::from_vec(grad, &self.shape)?)])
    }
}

fn check_f32(t: &Tensor, op: &str, what: &str) -> Result<()> {
    if t.dtype() != DType::F32 {
        bail!(
            Type,
            "{op}: expected {what} of dtype float32, got {}",
            t.dtype()
        );
    }
    Ok(())
}

fn check_target_constant(target: &Tensor, op: &str) -> Result<()> {
    if target.requires_grad() {
        bail!(
            Value,
            "{op}: the fused kernel does not differentiate the target; detach it (or use the \
             composed formula)"
        );
    }
    Ok(())
}

/// Wraps the kernel's outputs into the result tensor and its graph node.
fn finish(
    input: &Tensor,
    name: &'static str,
    reduced: Option<f32>,
    losses: Vec<f32>,
    grad: Option<Vec<f32>>,
    row_len: usize,
    elementwise: bool,
) -> Result<Tensor> {
    let out = match reduced {
        Some(v) => Tensor::scalar(v),
        None if elementwise => Tensor::from_vec(losses, input.shape())?,
        None => {
            let n = losses.len();
            Tensor::from_vec(losses, &[n])?
        }
    };
    Ok(match grad {
        Some(grad) => Tensor::from_op(
            out,
            &[input],
            FusedLossBackward {
                name,
                grad,
                shape: input.shape().to_vec(),
                row_len,
            },
        ),
        None => out,
    })
}

/// Whether the forward should also compute the input gradient.
fn wants_grad(input: &Tensor) -> bool {
    input.requires_grad() && crate::autograd::is_grad_enabled()
}

impl Tensor {
    /// Softmax cross-entropy of logits `[n, c]` against int64 labels `[n]` or float32 class
    /// probabilities `[n, c]`, with label smoothing and (labels only) an ignored label value.
    /// Returns a 0-d tensor, or the `[n]` per-sample losses for `Reduction::None`.
    pub fn cross_entropy_loss(
        &self,
        target: &Tensor,
        reduction: Reduction,
        label_smoothing: f64,
        ignore_index: Option<i64>,
    ) -> Result<Tensor> {
        const OP: &str = "cross_entropy";
        check_f32(self, OP, "logits")?;
        check_target_constant(target, OP)?;
        if self.ndim() != 2 {
            bail!(
                Value,
                "{OP}: expected logits of shape (N, C), got {}",
                fmt_shape(self.shape())
            );
        }
        let (n, c) = (self.shape()[0], self.shape()[1]);
        let probs = match target.dtype() {
            DType::I64 if target.shape() == [n] => false,
            DType::F32 if target.shape() == self.shape() => true,
            DType::I64 | DType::F32 => bail!(
                Value,
                "{OP}: logits of shape {} need int64 class labels of shape ({n},) or float32 \
                 probabilities of shape {}, got {} target of shape {}",
                fmt_shape(self.shape()),
                fmt_shape(self.shape()),
                target.dtype(),
                fmt_shape(target.shape())
            ),
            DType::Bool => bail!(
                Type,
                "{OP}: expected int64 labels or float32 probabilities as target, got bool"
            ),
        };
        if self.device().is_cuda() || target.device().is_cuda() {
            if probs || reduction != Reduction::Mean || label_smoothing != 0.0 {
                bail!(
                    Runtime,
                    "{OP} on CUDA supports class labels with reduction='mean' and no label \
                     smoothing so far"
                );
            }
            return crate::cuda::ops::cross_entropy(self, target, ignore_index.unwrap_or(i64::MIN));
        }
        let opts = CrossEntropy {
            reduction,
            label_smoothing,
            ignore_index,
        };
        let with_grad = wants_grad(self);
        let mut losses = vec![0.0f32; n];
        let mut grad = with_grad.then(|| vec![0.0f32; n * c]);
        let reduced = self.with_slice(|x: &[f32]| -> Result<Option<f32>> {
            if probs {
                target.with_slice(|t: &[f32]| {
                    run_kernel(x.len(), || {
                        kernels::cross_entropy(
                            x,
                            n,
                            c,
                            Target::Probs(t),
                            &opts,
                            &mut losses,
                            grad.as_deref_mut(),
                        )
                    })
                })?
            } else {
                target.with_slice(|t: &[i64]| {
                    run_kernel(x.len(), || {
                        kernels::cross_entropy(
                            x,
                            n,
                            c,
                            Target::Classes(t),
                            &opts,
                            &mut losses,
                            grad.as_deref_mut(),
                        )
                    })
                })?
            }
        })??;
        finish(self, "cross_entropy", reduced, losses, grad, c, false)
    }

    /// Negative log-likelihood of log-probabilities `[n, c]` against int64 labels `[n]`.
    pub fn nll_loss(
        &self,
        target: &Tensor,
        reduction: Reduction,
        ignore_index: Option<i64>,
    ) -> Result<Tensor> {
        const OP: &str = "nll_loss";
        check_f32(self, OP, "log-probabilities")?;
        if self.ndim() != 2 {
            bail!(
                Value,
                "{OP}: expected log-probabilities of shape (N, C), got {}",
                fmt_shape(self.shape())
            );
        }
        let (n, c) = (self.shape()[0], self.shape()[1]);
        if target.dtype() != DType::I64 || target.shape() != [n] {
            bail!(
                Value,
                "{OP}: input of shape {} needs int64 class labels of shape ({n},), got {} \
                 target of shape {}",
                fmt_shape(self.shape()),
                target.dtype(),
                fmt_shape(target.shape())
            );
        }
        let opts = NllLoss {
            reduction,
            ignore_index,
        };
        let mut losses = vec![0.0f32; n];
        let mut grad = wants_grad(self).then(|| vec![0.0f32; n * c]);
        let reduced = self.with_slice(|x: &[f32]| {
            target.with_slice(|t: &[i64]| {
                run_kernel(x.len(), || {
                    kernels::nll_loss(x, n, c, t, &opts, &mut losses, grad.as_deref_mut())
                })
            })
        })???;
        finish(self, "nll_loss", reduced, losses, grad, c, false)
    }

    /// Binary cross-entropy from logits, elementwise over any shape (target of the same shape),
    /// in the stable form `max(x, 0) - x y + ln(1 + exp(-|x|))`.
    pub fn bce_with_logits_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        const OP: &str = "binary_cross_entropy_with_logits";
        check_f32(self, OP, "logits")?;
        check_f32(target, OP, "target")?;
        check_target_constant(target, OP)?;
        check_same_shape(self, target, OP)?;
        let n = self.numel();
        let mut losses = vec![0.0f32; n];
        let mut grad = wants_grad(self).then(|| vec![0.0f32; n]);
        let reduced = self.with_slice(|x: &[f32]| {
            target.with_slice(|y: &[f32]| {
                run_kernel(x.len(), || {
                    kernels::bce_with_logits(x, y, reduction, &mut losses, grad.as_deref_mut())
                })
            })
        })???;
        finish(
            self,
            "binary_cross_entropy_with_logits",
            reduced,
            losses,
            grad,
            1,
            true,
        )
    }

    /// Binary cross-entropy of probabilities in [0, 1], elementwise, as PyTorch: each log is
    /// clamped to >= -100 (so 0 and 1 give finite losses) and the gradient is
    /// `(x - y) / max(x (1 - x), 1e-12)`.
    pub fn bce_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        const OP: &str = "binary_cross_entropy";
        check_f32(self, OP, "input")?;
        check_f32(target, OP, "target")?;
        check_target_constant(target, OP)?;
        check_same_shape(self, target, OP)?;
        let n = self.numel();
        let mut losses = vec![0.0f32; n];
        let mut grad = wants_grad(self).then(|| vec![0.0f32; n]);
        let reduced = self.with_slice(|x: &[f32]| {
            target.with_slice(|y: &[f32]| bce(x, y, reduction, &mut losses, grad.as_deref_mut()))
        })???;
        finish(self, "binary_cross_entropy", reduced, losses, grad, 1, true)
    }
}

fn check_same_shape(input: &Tensor, target: &Tensor, op: &str) -> Result<()> {
    if input.shape() != target.shape() {
        bail!(
            Value,
            "{op}: target size {} must be the same as input size {}",
            fmt_shape(target.shape()),
            fmt_shape(input.shape())
        );
    }
    Ok(())
}

/// The BCE kernel: per-element losses, the gradient of the reduced loss, the reduced value.
/// Sequential: it is memory-bound and the sum must be in a fixed order anyway.
fn bce(
    x: &[f32],
    y: &[f32],
    reduction: Reduction,
    losses: &mut [f32],
    grad: Option<&mut [f32]>,
) -> Result<Option<f32>> {
    if let Some((i, v)) = x
        .iter()
        .enumerate()
        .find(|(_, v)| !(**v >= 0.0 && **v <= 1.0))
    {
        bail!(
            Value,
            "binary_cross_entropy: all elements of input should be between 0 and 1, got {v} at \
             flat index {i} (apply sigmoid first, or use binary_cross_entropy_with_logits)"
        );
    }
    for ((l, &x), &y) in losses.iter_mut().zip(x).zip(y) {
        let lx = x.ln().max(-100.0);
        let l1x = (1.0 - x).ln().max(-100.0);
        *l = -(y * lx + (1.0 - y) * l1x);
    }
    let scale = match reduction {
        Reduction::Mean => 1.0 / x.len() as f32,
        _ => 1.0,
    };
    if let Some(g) = grad {
        for ((g, &x), &y) in g.iter_mut().zip(x).zip(y) {
            *g = scale * (x - y) / (x * (1.0 - x)).max(1e-12);
        }
    }
    Ok(match reduction {
        Reduction::None => None,
        Reduction::Sum => Some(losses.iter().map(|&v| v as f64).sum::<f64>() as f32),
        Reduction::Mean => {
            Some((losses.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64) as f32)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_backward_scales_saved_gradient() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0], &[2, 3]).unwrap();
        x.set_requires_grad(true).unwrap();
        let y = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
        let loss = x.cross_entropy_loss(&y, Reduction::Sum, 0.0, None).unwrap();
        crate::autograd::backward(&loss, Some(Tensor::scalar(2.0)), false).unwrap();
        let g = x.grad().unwrap().to_vec::<f32>().unwrap();
        // Row 0: 2 * (softmax - onehot(1)).
        let e: Vec<f64> = [1.0f64, 2.0, 0.5].iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        let want = [2.0 * e[0] / s, 2.0 * (e[1] / s - 1.0), 2.0 * e[2] / s];
        for (a, b) in g[..3].iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn bce_rejects_out_of_range_and_clamps_logs() {
        let y = Tensor::from_vec(vec![1.0f32, 0.0], &[2]).unwrap();
        let bad = Tensor::from_vec(vec![1.5f32, 0.2], &[2]).unwrap();
        assert!(matches!(
            bad.bce_loss(&y, Reduction::Mean),
            Err(crate::Error::Value(_))
        ));
        let x = Tensor::from_vec(vec![0.0f32, 1.0], &[2]).unwrap();
        let l = x
            .bce_loss(&y, Reduction::Sum)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(l, vec![200.0]);
    }

    #[test]
    fn reduction_none_keeps_elementwise_shape() {
        let x = Tensor::from_vec(vec![0.3f32; 6], &[2, 3]).unwrap();
        let y = Tensor::from_vec(vec![1.0f32; 6], &[2, 3]).unwrap();
        let l = x.bce_with_logits_loss(&y, Reduction::None).unwrap();
        assert_eq!(l.shape(), &[2, 3]);
    }
}
