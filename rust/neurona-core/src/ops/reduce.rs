//! Reductions over any set of axes, with keepdim: sum, mean, max, min, var, argmax/argmin.
//!
//! Sums (and mean, var) go to `cpu::reduce`, which reads any axis set in place, in f64, in an
//! order fixed by the shape. max/min/argmax bring the input to the form [outer, R, inner]
//! (R the reduced extent) so one kernel serves all axes; each output is found by one thread,
//! so results do not depend on the thread count.

use super::kernels::zip;
use crate::autograd::BackwardOp;
use crate::cuda::common::{ReduceKind, ZipKind};
use crate::parallel::fill_chunks;
use crate::tensor::{layout_fmt_shape as fmt_shape, normalize_axis, DType, Tensor};
use crate::{bail, Result};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Max,
    Min,
}

/// A reduction plan: the input seen as [outer, r, inner] (after an optional permuting copy).
struct Plan {
    x: Tensor,
    outer: usize,
    r: usize,
    inner: usize,
    out_shape: Vec<usize>,
    keep_shape: Vec<usize>,
}

fn normalize_axes(axes: &[isize], ndim: usize, what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = normalize_axis(a, ndim, what)?;
        if out.contains(&a) {
            bail!(
                Value,
                "{what}: dimension {a} appears more than once in the list of dimensions"
            );
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}

/// The result's shape with keepdim (1 on reduced axes) and without (reduced axes dropped).
fn reduced_shapes(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let reduced = |i: usize| axes.contains(&i);
    let keep_shape = (0..shape.len())
        .map(|i| if reduced(i) { 1 } else { shape[i] })
        .collect();
    let out_shape = (0..shape.len())
        .filter(|&i| !reduced(i))
        .map(|i| shape[i])
        .collect();
    (keep_shape, out_shape)
}

fn plan(x: &Tensor, axes: &[usize]) -> Result<Plan> {
    let shape = x.shape();
    let nd = shape.len();
    let reduced = |i: usize| axes.contains(&i);
    let (keep_shape, out_shape) = reduced_shapes(shape, axes);
    let r: usize = axes.iter().map(|&a| shape[a]).product();
    let contiguous_block = axes.is_empty() || axes.windows(2).all(|w| w[1] == w[0] + 1);
    let x = x.detach();
    if contiguous_block && !axes.is_empty() {
        let (a, b) = (axes[0], axes[axes.len() - 1]);
        let outer = shape[..a].iter().product();
        let inner = shape[b + 1..].iter().product();
        return Ok(Plan {
            x: x.contiguous()?,
            outer,
            r,
            inner,
            out_shape,
            keep_shape,
        });
    }
    // Move the reduced axes last, then each output owns one contiguous run of r elements.
    let mut perm: Vec<usize> = (0..nd).filter(|&i| !reduced(i)).collect();
    perm.extend_from_slice(axes);
    let x = x.permute(&perm)?.contiguous()?;
    let outer = out_shape.iter().product();
    Ok(Plan {
        x,
        outer,
        r,
        inner: 1,
        out_shape,
        keep_shape,
    })
}

fn run(p: &Plan, kind: Kind) -> Result<Vec<f32>> {
    let (outer, r, inner) = (p.outer, p.r, p.inner);
    p.x.with_slice(|xs: &[f32]| {
        let mut out = vec![0.0f32; outer * inner];
        fill_chunks(&mut out, |start, chunk| {
            let mut best = vec![0.0f32; chunk.len()];
            let mut k = 0;
            while k < chunk.len() {
                let o = (start + k) / inner;
                let j0 = (start + k) % inner;
                let len = (inner - j0).min(chunk.len() - k);
                let base = o * r * inner + j0;
                match kind {
                    Kind::Max | Kind::Min => {
                        let best = &mut best[k..k + len];
                        best.copy_from_slice(&xs[base..base + len]);
                        let is_max = kind == Kind::Max;
                        for ri in 1..r {
                            let row = &xs[base + ri * inner..base + ri * inner + len];
                            for (b, &v) in best.iter_mut().zip(row) {
                                // NaN wins and then stays, as in NumPy and PyTorch.
                                let better =
                                    v.is_nan() || (is_max && v > *b) || (!is_max && v < *b);
                                if better && !b.is_nan() {
                                    *b = v;
                                }
                            }
                        }
                        chunk[k..k + len].copy_from_slice(best);
                    }
                }
                k += len;
            }
        });
        out
    })
}

impl Tensor {
    fn check_reducible(&self, what: &str) -> Result<()> {
        if self.dtype() != DType::F32 {
            bail!(
                Type,
                "{what}: expected a float32 tensor, got {} (convert with .float())",
                self.dtype()
            );
        }
        Ok(())
    }

    /// Sum over `axes` (all axes when `axes` lists them all).
    pub fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let x = if self.dtype() == DType::F32 {
            self.clone()
        } else {
            self.to_dtype(DType::F32)?
        };
        let (keep_shape, out_shape) = reduced_shapes(x.shape(), axes);
        let shape = if keepdim { &keep_shape } else { &out_shape };
        let out = if x.device().is_cuda() {
            let p = plan(&x, axes)?;
            crate::cuda::ops::reduce(&p.x, (p.outer, p.r, p.inner), ReduceKind::Sum, shape)?
        } else {
            // Reads the input in place through its coalesced axes: no transposed copy.
            let mask: Vec<bool> = (0..x.ndim()).map(|i| axes.contains(&i)).collect();
            let xc = x.detach().contiguous()?;
            let sums = xc.with_slice(|xs: &[f32]| crate::cpu::reduce::sum(xs, x.shape(), &mask))?;
            Tensor::from_vec(sums, shape)?
        };
        Ok(Tensor::from_op(out, &[&x], SumBackward { keep_shape }))
    }

    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.axes_or_all(axes, "sum")?;
        self.sum_axes(&axes, keepdim)
    }

    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.check_reducible("mean")?;
        let axes = self.axes_or_all(axes, "mean")?;
        let n: usize = axes.iter().map(|&a| self.shape()[a]).product();
        if n == 0 {
            bail!(
                Value,
                "mean: cannot take the mean of zero elements (shape {})",
                fmt_shape(self.shape())
            );
        }
        self.sum_axes(&axes, keepdim)?.mul_scalar(1.0 / n as f32)
    }

    /// Variance with Bessel's `correction` (1 = unbiased, PyTorch's default).
    pub fn var(&self, axes: &[isize], correction: usize, keepdim: bool) -> Result<Tensor> {
        self.check_reducible("var")?;
        let ax = self.axes_or_all(axes, "var")?;
        let n: usize = ax.iter().map(|&a| self.shape()[a]).product();
        if n <= correction {
            bail!(
                Value,
                "var: need more than {correction} elements per reduction, got {n}"
            );
        }
        let mean = self.sum_axes(&ax, true)?.mul_scalar(1.0 / n as f32)?;
        let d = self.sub(&mean)?;
        d.mul(&d)?
            .sum_axes(&ax, keepdim)?
            .mul_scalar(1.0 / (n - correction) as f32)
    }

    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.extremum(axes, keepdim, Kind::Max, "max")
    }

    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.extremum(axes, keepdim, Kind::Min, "min")
    }

    fn extremum(&self, axes: &[isize], keepdim: bool, kind: Kind, what: &str) -> Result<Tensor> {
        self.check_reducible(what)?;
        let ax = self.axes_or_all(axes, what)?;
        if ax.iter().any(|&a| self.shape()[a] == 0) || self.numel() == 0 {
            bail!(
                Value,
                "{what}: cannot reduce an empty dimension (shape {})",
                fmt_shape(self.shape())
            );
        }
        let p = plan(self, &ax)?;
        let shape = if keepdim { &p.keep_shape } else { &p.out_shape };
        let out = if self.device().is_cuda() {
            let k = match kind {
                Kind::Max => ReduceKind::Max,
                _ => ReduceKind::Min,
            };
            crate::cuda::ops::reduce(&p.x, (p.outer, p.r, p.inner), k, shape)?
        } else {
            Tensor::from_vec(run(&p, kind)?, shape)?
        };
        let kept = out.reshape(&p.keep_shape)?;
        Ok(Tensor::from_op(
            out,
            &[self],
            ExtremumBackward {
                kept,
                keep_shape: p.keep_shape,
            },
        ))
    }

    /// Index of the largest (or smallest) element along `axis`, or over the flattened tensor
    /// when `axis` is None. The first occurrence wins ties.
    pub fn argext(&self, axis: Option<isize>, keepdim: bool, largest: bool) -> Result<Tensor> {
        self.check_reducible(if largest { "argmax" } else { "argmin" })?;
        let (x, ax) = match axis {
            None => (self.reshape(&[self.numel()])?, 0),
            Some(a) => (self.clone(), normalize_axis(a, self.ndim(), "argmax")?),
        };
        if x.ndim() == 0 {
            return Tensor::from_vec(vec![0i64], &[]);
        }
        if x.shape()[ax] == 0 {
            bail!(
                Value,
                "argmax: cannot take the argmax of an empty dimension"
            );
        }
        let p = plan(&x, &[ax])?;
        let (outer, r, inner) = (p.outer, p.r, p.inner);
        let shape = match (axis, keepdim) {
            (None, true) => vec![1; self.ndim()],
            (None, false) => vec![],
            (Some(_), true) => p.keep_shape.clone(),
            (Some(_), false) => p.out_shape.clone(),
        };
        if x.device().is_cuda() {
            let k = [ReduceKind::ArgMin, ReduceKind::ArgMax][largest as usize];
            return crate::cuda::ops::reduce(&p.x, (outer, r, inner), k, &shape);
        }
        let data = p.x.with_slice(|xs: &[f32]| {
            let mut out = vec![0i64; outer * inner];
            fill_chunks(&mut out, |start, chunk| {
                for (k, o) in chunk.iter_mut().enumerate() {
                    let (oi, j) = ((start + k) / inner, (start + k) % inner);
                    let base = oi * r * inner + j;
                    let mut best = xs[base];
                    let mut bi = 0;
                    for ri in 1..r {
                        let v = xs[base + ri * inner];
                        if best.is_nan() {
                            break;
                        }
                        if v.is_nan() || (largest && v > best) || (!largest && v < best) {
                            best = v;
                            bi = ri;
                        }
                    }
                    *o = bi as i64;
                }
            });
            out
        })?;
        Tensor::from_vec(data, &shape)
    }

    fn axes_or_all(&self, axes: &[isize], what: &str) -> Result<Vec<usize>> {
        if axes.is_empty() {
            Ok((0..self.ndim()).collect())
        } else {
            normalize_axes(axes, self.ndim(), what)
        }
    }
}

struct SumBackward {
    keep_shape: Vec<usize>,
}
impl BackwardOp for SumBackward {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let g = g.reshape(&self.keep_shape)?;
        Ok(vec![Some(g.expand(inputs[0].shape())?.contiguous()?)])
    }
}

/// max/min backward: the gradient goes to the elements equal to the extremum, split evenly
/// among ties (PyTorch's amax/amin rule).
struct ExtremumBackward {
    kept: Tensor,
    keep_shape: Vec<usize>,
}
impl BackwardOp for ExtremumBackward {
    fn name(&self) -> &'static str {
        "max"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let mask = if crate::cuda::involved(&[x, &self.kept]) {
            crate::cuda::ops::zip(x, &self.kept, ZipKind::EqMask)?
        } else {
            zip(x, &self.kept, |a: f32, m: f32| (a == m) as i32 as f32)?
        };
        let axes: Vec<usize> = (0..x.ndim())
            .filter(|&i| self.keep_shape[i] == 1 && x.shape()[i] != 1)
            .collect();
        let count = if axes.is_empty() {
            mask.clone()
        } else {
            mask.sum_axes(&axes, true)?
        };
        let g = g.reshape(&self.keep_shape)?;
        Ok(vec![Some(mask.mul(&g.div(&count)?)?)])
    }
}
