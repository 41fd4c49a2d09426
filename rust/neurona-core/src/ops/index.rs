//! Gathering and joining: index_select, gather, boolean masks (nonzero), cat and stack.
//! Backward rules scatter-add the gradient back in index order, which is deterministic.

use crate::autograd::BackwardOp;
use crate::tensor::{layout_fmt_shape as fmt_shape, normalize_axis, DType, Tensor};
use crate::{bail, Result};

fn check_indices(idx: &[i64], size: usize, what: &str) -> Result<Vec<usize>> {
    idx.iter()
        .map(|&i| {
            let j = if i < 0 { i + size as i64 } else { i };
            if j < 0 || j >= size as i64 {
                bail!(
                    Index,
                    "{what}: index {i} is out of bounds for dimension with size {size}"
                );
            }
            Ok(j as usize)
        })
        .collect()
}

/// Splits a contiguous shape around `axis` into (outer, size, inner).
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

impl Tensor {
    /// Picks entries along `axis` by a 1-D int64 index tensor.
    pub fn index_select(&self, axis: isize, index: &Tensor) -> Result<Tensor> {
        let ax = normalize_axis(axis, self.ndim(), "index_select")?;
        if index.dtype() != DType::I64 || index.ndim() > 1 {
            bail!(
                Type,
                "index_select: expected a 1-D int64 index, got dtype {} with shape {}",
                index.dtype(),
                fmt_shape(index.shape())
            );
        }
        if self.ndim() == 0 {
            bail!(Index, "index_select: cannot index a 0-d tensor");
        }
        let idx = check_indices(&index.to_vec::<i64>()?, self.shape()[ax], "index_select")?;
        let (outer, size, inner) = split(self.shape(), ax);
        let mut shape = self.shape().to_vec();
        shape[ax] = idx.len();
        macro_rules! pick {
            ($t:ty) => {{
                let out = self.with_slice(|xs: &[$t]| {
                    let mut out = Vec::with_capacity(outer * idx.len() * inner);
                    for o in 0..outer {
                        for &i in &idx {
                            let s = (o * size + i) * inner;
                            out.extend_from_slice(&xs[s..s + inner]);
                        }
                    }
                    out
                })?;
                Tensor::from_vec(out, &shape)?
            }};
        }
        let out = match self.dtype() {
            DType::F32 => pick!(f32),
            DType::I64 => pick!(i64),
            DType::Bool => pick!(bool),
        };
        Ok(Tensor::from_op(
            out,
            &[self],
            IndexSelectBackward { axis: ax, idx },
        ))
    }

    /// out[i][j][k] = self[i][index[i][j][k]][k] for axis 1 (and likewise for any axis).
    pub fn gather(&self, axis: isize, index: &Tensor) -> Result<Tensor> {
        let ax = normalize_axis(axis, self.ndim(), "gather")?;
        if index.dtype() != DType::I64 || index.ndim() != self.ndim() {
            bail!(
                Type,
                "gather: expected an int64 index with {} dimensions, got dtype {} with shape {}",
                self.ndim(),
                index.dtype(),
                fmt_shape(index.shape())
            );
        }
        for d in 0..self.ndim() {
            if d != ax && index.shape()[d] > self.shape()[d] {
                bail!(
                    Value,
                    "gather: index shape {} exceeds input shape {} in dimension {d}",
                    fmt_shape(index.shape()),
                    fmt_shape(self.shape())
                );
            }
        }
        self.check_f32_for("gather")?;
        let positions = self.gather_positions(ax, index)?;
        let out =
            self.with_slice(|xs: &[f32]| positions.iter().map(|&p| xs[p]).collect::<Vec<_>>())?;
        let out = Tensor::from_vec(out, index.shape())?;
        Ok(Tensor::from_op(out, &[self], ScatterBackward { positions }))
    }

    /// Flat positions in a contiguous copy of self that gather picks.
    fn gather_positions(&self, ax: usize, index: &Tensor) -> Result<Vec<usize>> {
        let idx = index.to_vec::<i64>()?;
        let strides = self.contiguous_strides();
        let ishape = index.shape();
        let size = self.shape()[ax];
        let mut pos = Vec::with_capacity(idx.len());
        let mut coord = vec![0usize; ishape.len()];
        for &v in &idx {
            let j = if v < 0 { v + size as i64 } else { v };
            if j < 0 || j >= size as i64 {
                bail!(
                    Index,
                    "gather: index {v} is out of bounds for dimension {ax} with size {size}"
                );
            }
            let mut p = 0;
            for d in 0..ishape.len() {
                p += strides[d] * if d == ax { j as usize } else { coord[d] };
            }
            pos.push(p);
            for d in (0..ishape.len()).rev() {
                coord[d] += 1;
                if coord[d] < ishape[d] {
                    break;
                }
                coord[d] = 0;
            }
        }
        Ok(pos)
    }

    fn check_f32_for(&self, what: &str) -> Result<()> {
        if self.dtype() != DType::F32 {
            bail!(
                Type,
                "{what}: expected a float32 tensor, got {}",
                self.dtype()
            );
        }
        Ok(())
    }

    /// Flat indices of the true elements of a bool tensor, as an int64 (count, ndim) tensor.
    pub fn nonzero(&self) -> Result<Tensor> {
        let mask = self.to_vec::<bool>()?;
        let strides = self.contiguous_strides();
        let count = mask.iter().filter(|&&m| m).count();
        // The coordinate of axis d is (flat / stride_d) % shape_d.
        let mut coords = Vec::with_capacity(count * self.ndim());
        for (flat, &m) in mask.iter().enumerate() {
            if m {
                for (&s, &d) in strides.iter().zip(self.shape()) {
                    coords.push(((flat / s) % d) as i64);
                }
            }
        }
        Tensor::from_vec(coords, &[count, self.ndim()])
    }

    /// self[mask] for a bool mask matching the leading dimensions of self.
    pub fn masked_select_rows(&self, mask: &Tensor) -> Result<Tensor> {
        if mask.dtype() != DType::Bool {
            bail!(
                Type,
                "boolean index: expected a bool mask, got {}",
                mask.dtype()
            );
        }
        let k = mask.ndim();
        if k > self.ndim() || mask.shape() != &self.shape()[..k] {
            bail!(
                Index,
                "the shape of the mask {} does not match the shape of the indexed tensor {}",
                fmt_shape(mask.shape()),
                fmt_shape(self.shape())
            );
        }
        let lead: usize = mask.numel();
        let mut rest = vec![lead];
        rest.extend_from_slice(&self.shape()[k..]);
        let flat = self.reshape(&rest)?;
        let picks: Vec<i64> = mask
            .to_vec::<bool>()?
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| i as i64)
            .collect();
        let n = picks.len();
        flat.index_select(0, &Tensor::from_vec(picks, &[n])?)
    }

    /// Joins tensors along an existing axis.
    pub fn cat(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            bail!(Value, "cat: expected a non-empty list of tensors")
        };
        let ax = normalize_axis(axis, first.ndim(), "cat")?;
        if first.ndim() == 0 {
            bail!(
                Value,
                "cat: zero-dimensional tensors cannot be concatenated"
            );
        }
        let dtype = first.dtype();
        for (i, t) in tensors.iter().enumerate() {
            let same = t.ndim() == first.ndim()
                && (0..t.ndim()).all(|d| d == ax || t.shape()[d] == first.shape()[d]);
            if !same || t.dtype() != dtype {
                bail!(
                    Value,
                    "cat: tensor {i} has shape {} and dtype {}, expected shape {} (except in dimension {ax}) and dtype {}",
                    fmt_shape(t.shape()),
                    t.dtype(),
                    fmt_shape(first.shape()),
                    dtype
                );
            }
        }
        let mut shape = first.shape().to_vec();
        shape[ax] = tensors.iter().map(|t| t.shape()[ax]).sum();
        let (outer, _, inner) = split(&shape, ax);
        macro_rules! join {
            ($t:ty) => {{
                let mut out: Vec<$t> = Vec::with_capacity(shape.iter().product());
                let parts: Vec<Vec<$t>> = tensors
                    .iter()
                    .map(|t| t.to_vec::<$t>())
                    .collect::<Result<_>>()?;
                for o in 0..outer {
                    for (t, p) in tensors.iter().zip(&parts) {
                        let run = t.shape()[ax] * inner;
                        out.extend_from_slice(&p[o * run..(o + 1) * run]);
                    }
                }
                Tensor::from_vec(out, &shape)?
            }};
        }
        let out = match dtype {
            DType::F32 => join!(f32),
            DType::I64 => join!(i64),
            DType::Bool => join!(bool),
        };
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[ax]).collect();
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(Tensor::from_op(
            out,
            &inputs,
            CatBackward { axis: ax, sizes },
        ))
    }

    /// Joins tensors of equal shape along a new axis.
    pub fn stack(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            bail!(Value, "stack: expected a non-empty list of tensors")
        };
        for (i, t) in tensors.iter().enumerate() {
            if t.shape() != first.shape() {
                bail!(
                    Value,
                    "stack expects each tensor to be equal size, but got {} at entry 0 and {} at entry {i}",
                    fmt_shape(first.shape()),
                    fmt_shape(t.shape())
                );
            }
        }
        let ax = normalize_axis(axis, first.ndim() + 1, "stack")? as isize;
        let parts: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.unsqueeze(ax))
            .collect::<Result<_>>()?;
        Tensor::cat(&parts, ax)
    }
}

struct IndexSelectBackward {
    axis: usize,
    idx: Vec<usize>,
}
impl BackwardOp for IndexSelectBackward {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let (outer, size, inner) = split(x.shape(), self.axis);
        let n = self.idx.len();
        let mut out = vec![0.0f32; x.numel()];
        g.with_slice(|gs: &[f32]| {
            for o in 0..outer {
                for (k, &i) in self.idx.iter().enumerate() {
                    let src = &gs[(o * n + k) * inner..(o * n + k + 1) * inner];
                    let dst = &mut out[(o * size + i) * inner..(o * size + i + 1) * inner];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                }
            }
        })?;
        Ok(vec![Some(Tensor::from_vec(out, x.shape())?)])
    }
}

struct ScatterBackward {
    positions: Vec<usize>,
}
impl BackwardOp for ScatterBackward {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let mut out = vec![0.0f32; x.numel()];
        g.with_slice(|gs: &[f32]| {
            for (&p, &v) in self.positions.iter().zip(gs) {
                out[p] += v;
            }
        })?;
        Ok(vec![Some(Tensor::from_vec(out, x.shape())?)])
    }
}

struct CatBackward {
    axis: usize,
    sizes: Vec<usize>,
}
impl BackwardOp for CatBackward {
    fn name(&self) -> &'static str {
        "cat"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let mut start = 0;
        let mut out = Vec::new();
        for (t, &s) in inputs.iter().zip(&self.sizes) {
            if t.requires_grad() {
                let spec: Vec<(usize, usize, usize)> = g
                    .shape()
                    .iter()
                    .enumerate()
                    .map(|(d, &n)| {
                        if d == self.axis {
                            (start, start + s, 1)
                        } else {
                            (0, n, 1)
                        }
                    })
                    .collect();
                out.push(Some(g.slice(&spec, &vec![false; g.ndim()])?.contiguous()?));
            } else {
                out.push(None);
            }
            start += s;
        }
        Ok(out)
    }
}
