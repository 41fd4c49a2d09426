//! Matrix products: matmul (1-D, 2-D and batched with broadcast batch dimensions) and the
//! fused `linear` (x W^T + b, optionally followed by ReLU in the GEMM epilogue), with their
//! backward as GEMMs on transposed strides, so no transpose is ever materialised.

use super::sum_to_shape;
use crate::autograd::BackwardOp;
use crate::cpu::gemm::install_if_threaded;
use crate::cpu::gemm::{sgemm, sgemm_batched, Epilogue, MatMut, MatRef};
use crate::tensor::{broadcast_shapes, layout_fmt_shape as fmt_shape, DType, Layout, Tensor};
use crate::{bail, Result};

fn check_f32(t: &Tensor, what: &str) -> Result<()> {
    if t.dtype() != DType::F32 {
        bail!(Type, "{what}: expected float32 tensors, got {}", t.dtype());
    }
    Ok(())
}

/// a (..., m, k) @ b (..., k, n) with both at least 2-D; batch dimensions broadcast.
fn batched(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if crate::cuda::involved(&[a, b]) {
        return crate::cuda::ops::matmul(a, b);
    }
    let (na, nb) = (a.ndim(), b.ndim());
    let (m, k) = (a.shape()[na - 2], a.shape()[na - 1]);
    let (k2, n) = (b.shape()[nb - 2], b.shape()[nb - 1]);
    if k != k2 {
        bail!(
            Value,
            "matmul: shapes {} and {} cannot be multiplied ({k} != {k2})",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        );
    }
    let batch = broadcast_shapes(&a.shape()[..na - 2], &b.shape()[..nb - 2])?;
    let full = |t: &Tensor, r: usize, c: usize| -> Result<Layout> {
        let mut s = batch.clone();
        s.extend_from_slice(&[r, c]);
        t.layout().broadcast_to(&s)
    };
    let (la, lb) = (full(a, m, k)?, full(b, k, n)?);
    let nbatch: usize = batch.iter().product();
    let batch_offsets = |l: &Layout| -> Vec<usize> {
        let bl = Layout {
            shape: batch.clone(),
            strides: l.strides[..batch.len()].to_vec(),
            offset: l.offset,
        };
        bl.offsets().collect()
    };
    let (oa, ob) = (batch_offsets(&la), batch_offsets(&lb));
    let nd = batch.len();
    let mut out = vec![0.0f32; nbatch * m * n];
    let uniform = |o: &[usize]| -> Option<usize> {
        let s = if o.len() > 1 {
            o[1].checked_sub(o[0])?
        } else {
            0
        };
        o.windows(2)
            .all(|w| w[1] >= w[0] && w[1] - w[0] == s)
            .then_some(s)
    };
    a.with_storage(|xs: &[f32], _| {
        b.with_storage(|ys: &[f32], _| {
            let am = |t: usize| MatRef {
                data: &xs[oa[t]..],
                rows: m,
                cols: k,
                rs: la.strides[nd],
                cs: la.strides[nd + 1],
            };
            let bm = |t: usize| MatRef {
                data: &ys[ob[t]..],
                rows: k,
                cols: n,
                rs: lb.strides[nd],
                cs: lb.strides[nd + 1],
            };
            let work = nbatch.saturating_mul(m * n).saturating_mul(k.max(1));
            install_if_threaded(work, || match (uniform(&oa), uniform(&ob)) {
                // One call over the whole batch lets small items run in parallel.
                (Some(sa), Some(sb)) if nbatch > 0 => {
                    let cm = MatMut {
                        data: &mut out,
                        rows: m,
                        cols: n,
                        rs: n,
                        cs: 1,
                    };
                    sgemm_batched(
                        nbatch,
                        1.0,
                        am(0),
                        sa,
                        bm(0),
                        sb,
                        0.0,
                        cm,
                        m * n,
                        Epilogue::None,
                    );
                }
                _ => {
                    for (t, c) in out.chunks_mut((m * n).max(1)).enumerate().take(nbatch) {
                        sgemm(
                            1.0,
                            am(t),
                            bm(t),
                            0.0,
                            MatMut::row_major(c, m, n),
                            Epilogue::None,
                        );
                    }
                }
            })
        })
    })??;
    let mut shape = batch;
    shape.extend_from_slice(&[m, n]);
    Tensor::from_vec(out, &shape)
}

impl Tensor {
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        check_f32(self, "matmul")?;
        check_f32(other, "matmul")?;
        if self.ndim() == 0 || other.ndim() == 0 {
            bail!(
                Value,
                "matmul: both arguments need at least 1 dimension, got shapes {} and {}",
                fmt_shape(self.shape()),
                fmt_shape(other.shape())
            );
        }
        // Vectors become matrices for the product, and the added axis is removed after.
        let a = if self.ndim() == 1 {
            self.unsqueeze(0)?
        } else {
            self.clone()
        };
        let b = if other.ndim() == 1 {
            other.unsqueeze(-1)?
        } else {
            other.clone()
        };
        if a.shape()[a.ndim() - 1] != b.shape()[b.ndim() - 2] {
            bail!(
                Value,
                "matmul: shapes {} and {} cannot be multiplied ({} != {})",
                fmt_shape(self.shape()),
                fmt_shape(other.shape()),
                a.shape()[a.ndim() - 1],
                b.shape()[b.ndim() - 2]
            );
        }
        let out = batched(&a.detach(), &b.detach())?;
        let out = Tensor::from_op(out, &[&a, &b], MatmulBackward);
        match (self.ndim(), other.ndim()) {
            (1, 1) => out.reshape(&[]),
            (1, _) => out.squeeze(&[-2]),
            (_, 1) => out.squeeze(&[-1]),
            _ => Ok(out),
        }
    }

    /// y = x W^T + b (then ReLU when `relu`), x of shape (..., in), W (out, in), b (out,).
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>, relu: bool) -> Result<Tensor> {
        for t in [Some(self), Some(weight), bias].into_iter().flatten() {
            check_f32(t, "linear")?;
        }
        if self.ndim() == 0 || weight.ndim() != 2 {
            bail!(
                Value,
                "linear: expected input (..., in_features) and weight (out_features, in_features), got {} and {}",
                fmt_shape(self.shape()),
                fmt_shape(weight.shape())
            );
        }
        let (out_f, in_f) = (weight.shape()[0], weight.shape()[1]);
        let k = self.shape()[self.ndim() - 1];
        if k != in_f {
            bail!(
                Value,
                "linear: input has {k} features (shape {}) but the weight expects {in_f} (shape {})",
                fmt_shape(self.shape()),
                fmt_shape(weight.shape())
            );
        }
        if let Some(b) = bias {
            if b.shape() != [out_f] {
                bail!(
                    Value,
                    "linear: bias must have shape ({out_f},), got {}",
                    fmt_shape(b.shape())
                );
            }
        }
        let rows = self.numel() / k.max(1);
        let x2 = self.detach().reshape(&[rows, k])?;
        if crate::cuda::involved(&[self, weight]) {
            let mut shape = self.shape().to_vec();
            *shape.last_mut().expect("ndim >= 1") = out_f;
            let y = crate::cuda::ops::linear(&x2, weight, bias, relu)?.reshape(&shape)?;
            let inputs: Vec<&Tensor> = [Some(self), Some(weight), bias]
                .into_iter()
                .flatten()
                .collect();
            return Ok(Tensor::from_op(
                y.clone(),
                &inputs,
                LinearBackward { relu, y },
            ));
        }
        let mut out = vec![0.0f32; rows * out_f];
        let bias_data = bias.map(|b| b.to_vec::<f32>()).transpose()?;
        x2.with_storage(|xs: &[f32], lx| {
            weight.with_storage(|ws: &[f32], lw| {
                let xm = MatRef {
                    data: &xs[lx.offset..],
                    rows,
                    cols: k,
                    rs: lx.strides[0],
                    cs: lx.strides[1],
                };
                // W^T through strides: (in, out) with rs = W's column stride.
                let wm = MatRef {
                    data: &ws[lw.offset..],
                    rows: k,
                    cols: out_f,
                    rs: lw.strides[1],
                    cs: lw.strides[0],
                };
                let ep = match (&bias_data, relu) {
                    (Some(b), true) => Epilogue::BiasRelu(b),
                    (Some(b), false) => Epilogue::Bias(b),
                    (None, true) => Epilogue::Relu,
                    (None, false) => Epilogue::None,
                };
                let work = rows.saturating_mul(out_f).saturating_mul(k.max(1));
                install_if_threaded(work, || {
                    sgemm(
                        1.0,
                        xm,
                        wm,
                        0.0,
                        MatMut::row_major(&mut out, rows, out_f),
                        ep,
                    )
                });
            })
        })??;
        let mut shape = self.shape().to_vec();
        *shape.last_mut().expect("ndim >= 1") = out_f;
        let y = Tensor::from_vec(out, &shape)?;
        let mut inputs = vec![self, weight];
        if let Some(b) = bias {
            inputs.push(b);
        }
        Ok(Tensor::from_op(
            y.clone(),
            &inputs,
            LinearBackward { relu, y },
        ))
    }
}

struct MatmulBackward;
impl BackwardOp for MatmulBackward {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let ga = if a.requires_grad() {
            Some(sum_to_shape(&g.matmul(&b.detach().t()?)?, a.shape())?)
        } else {
            None
        };
        let gb = if b.requires_grad() {
            Some(sum_to_shape(&a.detach().t()?.matmul(g)?, b.shape())?)
        } else {
            None
        };
        Ok(vec![ga, gb])
    }
}

struct LinearBackward {
    relu: bool,
    y: Tensor,
}
impl BackwardOp for LinearBackward {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let (x, w) = (&inputs[0], &inputs[1]);
        let out_f = w.shape()[0];
        let rows = g.numel() / out_f.max(1);
        let g = if self.relu && crate::cuda::involved(&[g]) {
            crate::cuda::ops::unary_backward(&self.y, &self.y, g, super::unary::Unary::Relu)?
        } else if self.relu {
            super::kernels::zip_same(g, &self.y, |g: f32, y: f32| if y <= 0.0 { 0.0 } else { g })?
        } else {
            g.clone()
        };
        let g2 = g.reshape(&[rows, out_f])?;
        let gx = if x.requires_grad() {
            Some(g.matmul(&w.detach())?)
        } else {
            None
        };
        let gw = if w.requires_grad() {
            let x2 = x.detach().reshape(&[rows, w.shape()[1]])?;
            Some(g2.t()?.matmul(&x2)?)
        } else {
            None
        };
        let mut out = vec![gx, gw];
        if let Some(b) = inputs.get(2) {
            out.push(if b.requires_grad() {
                Some(g2.sum_axes(&[0], false)?)
            } else {
                None
            });
        }
        Ok(out)
    }
}
