//! Convolution and pooling as differentiable ops on NCHW tensors: conv2d, max_pool2d,
//! avg_pool2d, adaptive_avg_pool2d. The forward and backward kernels live in `crate::cpu::conv`;
//! this file validates through their geometry types, runs them in neurona's pool, and records
//! each op's backward rule beside its forward. conv2d's output and gradients are allocated
//! without a zero fill: the kernels write every element of their (uninitialised) outputs.

use std::mem::MaybeUninit;

use crate::autograd::BackwardOp;
use crate::cpu::conv::{
    adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward, avg_pool2d_backward,
    avg_pool2d_forward, conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward,
    AdaptivePool2dGeom, Conv2dGeom, Conv2dGrads, Conv2dParams, Pool2dGeom,
};
use crate::parallel::install;
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Tensor};
use crate::{bail, Result};

fn nchw(t: &Tensor, what: &str, name: &str) -> Result<[usize; 4]> {
    if t.dtype() != DType::F32 {
        bail!(Type, "{what}: expected a float32 {name}, got {}", t.dtype());
    }
    match t.shape() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        s => bail!(
            Value,
            "{what}: expected a 4-D {name} (N, C, H, W), got shape {}",
            fmt_shape(s)
        ),
    }
}

/// Pads a 3-D (C, H, W) input to a batch of one, as PyTorch accepts unbatched input.
fn batched(x: &Tensor) -> Result<(Tensor, bool)> {
    if x.ndim() == 3 {
        Ok((x.unsqueeze(0)?, true))
    } else {
        Ok((x.clone(), false))
    }
}

/// Room for `n` floats, left uninitialised for a kernel that writes all of them.
fn unwritten(n: usize) -> Vec<f32> {
    Vec::with_capacity(n)
}

/// The first `n` floats of `v`'s spare capacity (`v` from `unwritten(n)`).
fn spare(v: &mut Vec<f32>, n: usize) -> &mut [MaybeUninit<f32>] {
    &mut v.spare_capacity_mut()[..n]
}

/// `v` with its `n` floats, once a kernel has written them.
///
/// # Safety
/// `v` has capacity `n` and all of its first `n` elements were written.
unsafe fn written(mut v: Vec<f32>, n: usize) -> Vec<f32> {
    debug_assert!(v.capacity() >= n);
    // SAFETY: the caller's contract.
    unsafe { v.set_len(n) };
    v
}

fn unbatch(y: Tensor, was_unbatched: bool) -> Result<Tensor> {
    if was_unbatched {
        y.squeeze(&[0])
    } else {
        Ok(y)
    }
}

impl Tensor {
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        p: Conv2dParams,
    ) -> Result<Tensor> {
        let (x, unb) = batched(self)?;
        let ishape = nchw(&x, "conv2d", "input")?;
        let wshape = nchw(weight, "conv2d", "weight")?;
        if let Some(b) = bias {
            if b.dtype() != DType::F32 || b.ndim() != 1 {
                bail!(
                    Value,
                    "conv2d: expected a 1-D float32 bias, got shape {} ({})",
                    fmt_shape(b.shape()),
                    b.dtype()
                );
            }
        }
        let g = Conv2dGeom::new(ishape, wshape, bias.map(|b| b.numel()), p)?;
        let (xc, wc) = (x.detach().contiguous()?, weight.detach().contiguous()?);
        let bias_v = bias.map(|b| b.to_vec::<f32>()).transpose()?;
        let n = g.output_len();
        let mut out = unwritten(n);
        xc.with_slice(|xs: &[f32]| {
            wc.with_slice(|ws: &[f32]| {
                let o = spare(&mut out, n);
                install(|| conv2d_forward(&g, xs, ws, bias_v.as_deref(), o))
            })
        })??;
        // SAFETY: capacity n, and conv2d_forward writes every element of its output.
        let out = unsafe { written(out, n) };
        let y = Tensor::from_vec(out, &g.output_shape())?;
        let mut inputs = vec![&x, weight];
        if let Some(b) = bias {
            inputs.push(b);
        }
        let y = Tensor::from_op(y, &inputs, Conv2dBackward { g, x: xc, w: wc });
        unbatch(y, unb)
    }

    /// Max pooling; padding pads with -inf. Backward routes each gradient to its window's
    /// arg-max (accumulating where overlapping windows share one).
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let (x, unb) = batched(self)?;
        let g = Pool2dGeom::new(nchw(&x, "max_pool2d", "input")?, kernel, stride, padding)?;
        let xc = x.detach().contiguous()?;
        let (out, idx) = xc.with_slice(|xs: &[f32]| install(|| max_pool2d_forward(&g, xs)))?;
        let y = Tensor::from_vec(out, &[g.batch, g.channels, g.out_h, g.out_w])?;
        unbatch(Tensor::from_op(y, &[&x], MaxPoolBackward { g, idx }), unb)
    }

    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        count_include_pad: bool,
    ) -> Result<Tensor> {
        let (x, unb) = batched(self)?;
        let g = Pool2dGeom::new(nchw(&x, "avg_pool2d", "input")?, kernel, stride, padding)?;
        let xc = x.detach().contiguous()?;
        let mut out = vec![0.0f32; g.output_len()];
        xc.with_slice(|xs: &[f32]| {
            install(|| avg_pool2d_forward(&g, count_include_pad, xs, &mut out))
        })?;
        let y = Tensor::from_vec(out, &[g.batch, g.channels, g.out_h, g.out_w])?;
        unbatch(
            Tensor::from_op(
                y,
                &[&x],
                AvgPoolBackward {
                    g,
                    count_include_pad,
                },
            ),
            unb,
        )
    }

    pub fn adaptive_avg_pool2d(&self, output_size: (usize, usize)) -> Result<Tensor> {
        let (x, unb) = batched(self)?;
        let g = AdaptivePool2dGeom::new(nchw(&x, "adaptive_avg_pool2d", "input")?, output_size)?;
        let xc = x.detach().contiguous()?;
        let mut out = vec![0.0f32; g.batch * g.channels * g.out_h * g.out_w];
        xc.with_slice(|xs: &[f32]| install(|| adaptive_avg_pool2d_forward(&g, xs, &mut out)))?;
        let y = Tensor::from_vec(out, &[g.batch, g.channels, g.out_h, g.out_w])?;
        unbatch(Tensor::from_op(y, &[&x], AdaptivePoolBackward { g }), unb)
    }
}

struct Conv2dBackward {
    g: Conv2dGeom,
    x: Tensor,
    w: Tensor,
}

impl BackwardOp for Conv2dBackward {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, grad: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let g = &self.g;
        let need_b = inputs.get(2).is_some_and(|b| b.requires_grad());
        let (ni, nw, nb) = (g.input_len(), g.weight_len(), g.c_out);
        let mut gi = inputs[0].requires_grad().then(|| unwritten(ni));
        let mut gw = inputs[1].requires_grad().then(|| unwritten(nw));
        let mut gb = need_b.then(|| unwritten(nb));
        let gy = grad.contiguous()?;
        self.x.with_slice(|xs: &[f32]| {
            self.w.with_slice(|ws: &[f32]| {
                gy.with_slice(|gs: &[f32]| {
                    let grads = Conv2dGrads {
                        input: gi.as_mut().map(|v| spare(v, ni)),
                        weight: gw.as_mut().map(|v| spare(v, nw)),
                        bias: gb.as_mut().map(|v| spare(v, nb)),
                    };
                    install(|| conv2d_backward(g, xs, ws, gs, grads))
                })
            })
        })???;
        // SAFETY: each has its capacity, and conv2d_backward writes every element of each
        // gradient it is given.
        let (gi, gw, gb) = unsafe {
            (
                gi.map(|v| written(v, ni)),
                gw.map(|v| written(v, nw)),
                gb.map(|v| written(v, nb)),
            )
        };
        let mut out = vec![
            gi.map(|v| Tensor::from_vec(v, inputs[0].shape()))
                .transpose()?,
            gw.map(|v| Tensor::from_vec(v, inputs[1].shape()))
                .transpose()?,
        ];
        if inputs.len() > 2 {
            out.push(gb.map(|v| Tensor::from_vec(v, &[g.c_out])).transpose()?);
        }
        Ok(out)
    }
}

struct MaxPoolBackward {
    g: Pool2dGeom,
    idx: Vec<u32>,
}

impl BackwardOp for MaxPoolBackward {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn backward(&self, grad: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let gi =
            grad.with_slice(|gs: &[f32]| install(|| max_pool2d_backward(&self.g, gs, &self.idx)))?;
        Ok(vec![Some(Tensor::from_vec(gi, inputs[0].shape())?)])
    }
}

struct AvgPoolBackward {
    g: Pool2dGeom,
    count_include_pad: bool,
}

impl BackwardOp for AvgPoolBackward {
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }
    fn backward(&self, grad: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let mut gi = vec![0.0f32; self.g.input_len()];
        grad.with_slice(|gs: &[f32]| {
            install(|| avg_pool2d_backward(&self.g, self.count_include_pad, gs, &mut gi))
        })?;
        Ok(vec![Some(Tensor::from_vec(gi, inputs[0].shape())?)])
    }
}

struct AdaptivePoolBackward {
    g: AdaptivePool2dGeom,
}

impl BackwardOp for AdaptivePoolBackward {
    fn name(&self) -> &'static str {
        "adaptive_avg_pool2d"
    }
    fn backward(&self, grad: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let mut gi = vec![0.0f32; inputs[0].numel()];
        grad.with_slice(|gs: &[f32]| {
            install(|| adaptive_avg_pool2d_backward(&self.g, gs, &mut gi))
        })?;
        Ok(vec![Some(Tensor::from_vec(gi, inputs[0].shape())?)])
    }
}
