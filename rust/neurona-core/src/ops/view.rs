//! Views: reshape, permute/transpose, expand, squeeze/unsqueeze, slicing with steps, select.
//! Each shares storage with its input (reshape copies only when strides forbid a view), and
//! its backward maps the gradient back to the input's shape.

use super::kernels::scatter_into_zeros;
use super::sum_to_shape;
use crate::autograd::BackwardOp;
use crate::tensor::{layout_fmt_shape as fmt_shape, normalize_axis, DType, Layout, Tensor};
use crate::{bail, Result};

/// Passes the gradient through unchanged (contiguous(), dtype-preserving copies).
pub struct IdentityBackward;

impl BackwardOp for IdentityBackward {
    fn name(&self) -> &'static str {
        "contiguous"
    }
    fn backward(&self, g: &Tensor, _inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.clone())])
    }
}

struct ReshapeBackward;
impl BackwardOp for ReshapeBackward {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.reshape(inputs[0].shape())?)])
    }
}

struct PermuteBackward {
    inverse: Vec<usize>,
}
impl BackwardOp for PermuteBackward {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, g: &Tensor, _inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.permute(&self.inverse)?)])
    }
}

struct ExpandBackward;
impl BackwardOp for ExpandBackward {
    fn name(&self) -> &'static str {
        "expand"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(sum_to_shape(g, inputs[0].shape())?)])
    }
}

impl Tensor {
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.numel() {
            bail!(
                Value,
                "reshape: shape {} is invalid for input of size {} (shape {})",
                fmt_shape(shape),
                self.numel(),
                fmt_shape(self.shape())
            );
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let data = match self.layout().reshape_view(shape) {
            Some(l) => self.with_layout(l),
            None => self
                .detach()
                .contiguous()?
                .with_layout(Layout::contiguous(shape)),
        };
        Ok(Tensor::from_op(data, &[self], ReshapeBackward))
    }

    pub fn permute(&self, dims: &[usize]) -> Result<Tensor> {
        let l = self.layout().permute(dims)?;
        let mut inverse = vec![0; dims.len()];
        for (i, &d) in dims.iter().enumerate() {
            inverse[d] = i;
        }
        Ok(Tensor::from_op(
            self.with_layout(l),
            &[self],
            PermuteBackward { inverse },
        ))
    }

    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Tensor> {
        let n = self.ndim();
        let (a, b) = (
            normalize_axis(d0, n, "transpose")?,
            normalize_axis(d1, n, "transpose")?,
        );
        if n == 0 {
            return Ok(self.clone());
        }
        let mut dims: Vec<usize> = (0..n).collect();
        dims.swap(a, b);
        self.permute(&dims)
    }

    /// Matrix transpose of a 2-D tensor (or the last two axes).
    pub fn t(&self) -> Result<Tensor> {
        if self.ndim() < 2 {
            return Ok(self.clone());
        }
        self.transpose(-2, -1)
    }

    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let l = self.layout().broadcast_to(shape)?;
        Ok(Tensor::from_op(
            self.with_layout(l),
            &[self],
            ExpandBackward,
        ))
    }

    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let n = self.ndim();
        let a = normalize_axis(axis, n + 1, "unsqueeze")?;
        let mut shape = self.shape().to_vec();
        shape.insert(a, 1);
        self.reshape(&shape)
    }

    /// Removes the given size-1 axes, or all of them when `axes` is empty.
    pub fn squeeze(&self, axes: &[isize]) -> Result<Tensor> {
        let n = self.ndim();
        let mut drop = vec![false; n];
        if axes.is_empty() {
            for (i, &d) in self.shape().iter().enumerate() {
                drop[i] = d == 1;
            }
        } else {
            for &a in axes {
                let a = normalize_axis(a, n, "squeeze")?;
                // PyTorch leaves axes that are not of size 1 alone.
                drop[a] = n > 0 && self.shape()[a] == 1;
            }
        }
        let shape: Vec<usize> = self
            .shape()
            .iter()
            .zip(&drop)
            .filter(|(_, &d)| !d)
            .map(|(&s, _)| s)
            .collect();
        self.reshape(&shape)
    }

    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        let n = self.ndim();
        if n == 0 {
            return self.reshape(&[1]);
        }
        let (s, e) = (
            normalize_axis(start, n, "flatten")?,
            normalize_axis(end, n, "flatten")?,
        );
        if s > e {
            bail!(
                Value,
                "flatten: start_dim {start} comes after end_dim {end}"
            );
        }
        let mut shape = self.shape()[..s].to_vec();
        shape.push(self.shape()[s..=e].iter().product());
        shape.extend_from_slice(&self.shape()[e + 1..]);
        self.reshape(&shape)
    }

    /// Slices every axis by (start, stop, step) after Python's rules (already clipped by the
    /// caller to 0 <= start <= stop <= len, step >= 1), and drops the axes in `drop` (integer
    /// indices, whose range is start..start+1).
    pub fn slice(&self, spec: &[(usize, usize, usize)], drop: &[bool]) -> Result<Tensor> {
        if spec.len() != self.ndim() || drop.len() != self.ndim() {
            bail!(
                Index,
                "too many indices for tensor of dimension {}",
                self.ndim()
            );
        }
        let src = self.layout();
        let mut shape = Vec::new();
        let mut strides = Vec::new();
        let mut offset = src.offset;
        for (i, &(start, stop, step)) in spec.iter().enumerate() {
            if step == 0 {
                bail!(Value, "slice step cannot be zero");
            }
            if start > stop || stop > src.shape[i] {
                bail!(
                    Index,
                    "slice {start}:{stop} is out of range for dimension {i} of size {}",
                    src.shape[i]
                );
            }
            offset += start * src.strides[i];
            if !drop[i] {
                shape.push((stop - start).div_ceil(step));
                strides.push(src.strides[i] * step);
            }
        }
        let view = self.with_layout(Layout {
            shape,
            strides,
            offset,
        });
        Ok(Tensor::from_op(
            view,
            &[self],
            SliceBackward {
                spec: spec.to_vec(),
                drop: drop.to_vec(),
            },
        ))
    }

    /// Converts to another dtype (a copy; float32 results stay in the graph).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        if self.device().is_cuda() {
            return crate::cuda::ops::cast(self, dtype);
        }
        use super::kernels::map;
        let out = match (self.dtype(), dtype) {
            (DType::F32, DType::I64) => map(self, |x: f32| x as i64)?,
            (DType::F32, DType::Bool) => map(self, |x: f32| x != 0.0)?,
            (DType::I64, DType::F32) => map(self, |x: i64| x as f32)?,
            (DType::I64, DType::Bool) => map(self, |x: i64| x != 0)?,
            (DType::Bool, DType::F32) => map(self, |x: bool| x as i32 as f32)?,
            (DType::Bool, DType::I64) => map(self, |x: bool| x as i64)?,
            _ => unreachable!("same dtype handled above"),
        };
        Ok(out)
    }
}

struct SliceBackward {
    spec: Vec<(usize, usize, usize)>,
    drop: Vec<bool>,
}
impl BackwardOp for SliceBackward {
    fn name(&self) -> &'static str {
        "slice"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let full = Layout::contiguous(x.shape());
        let mut shape = Vec::new();
        let mut strides = Vec::new();
        let mut offset = 0;
        for (i, &(start, stop, step)) in self.spec.iter().enumerate() {
            offset += start * full.strides[i];
            if !self.drop[i] {
                shape.push((stop - start).div_ceil(step));
                strides.push(full.strides[i] * step);
            }
        }
        let target = Layout {
            shape,
            strides,
            offset,
        };
        if g.device().is_cuda() {
            let gi = crate::cuda::ops::scatter_into_zeros(g, &target, x.shape())?;
            return Ok(vec![Some(gi)]);
        }
        let buf = g.with_slice(|gs: &[f32]| scatter_into_zeros(x.numel(), &target, gs))?;
        Ok(vec![Some(Tensor::from_vec(buf, x.shape())?)])
    }
}
