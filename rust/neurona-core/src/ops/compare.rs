//! Comparisons (==, !=, <, <=, >, >=) and `where`: masks and selection. Comparisons carry no
//! gradient; `where` routes the gradient to the branch each element came from.

use super::kernels::{zip, zip_same};
use super::sum_to_shape;
use crate::autograd::BackwardOp;
use crate::tensor::{broadcast_shapes, DType, Tensor};
use crate::{bail, Result};

#[derive(Clone, Copy, Debug)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Tensor {
    pub fn compare(&self, other: &Tensor, op: CmpOp) -> Result<Tensor> {
        if crate::cuda::involved(&[self, other]) {
            return crate::cuda::ops::compare(self, other, op);
        }
        let f = move |o: std::cmp::Ordering, unordered: bool| -> bool {
            use std::cmp::Ordering::*;
            if unordered {
                return matches!(op, CmpOp::Ne);
            }
            match op {
                CmpOp::Eq => o == Equal,
                CmpOp::Ne => o != Equal,
                CmpOp::Lt => o == Less,
                CmpOp::Le => o != Greater,
                CmpOp::Gt => o == Greater,
                CmpOp::Ge => o != Less,
            }
        };
        if self.dtype() != DType::F32 && other.dtype() != DType::F32 {
            let (a, b) = (self.to_dtype(DType::I64)?, other.to_dtype(DType::I64)?);
            return zip(&a, &b, move |x: i64, y: i64| f(x.cmp(&y), false));
        }
        let (a, b) = (
            self.to_dtype(DType::F32)?.detach(),
            other.to_dtype(DType::F32)?.detach(),
        );
        zip(&a, &b, move |x: f32, y: f32| match x.partial_cmp(&y) {
            Some(o) => f(o, false),
            None => f(std::cmp::Ordering::Equal, true),
        })
    }

    /// Elements of `a` where `cond` is true, else of `b`, all three broadcast together.
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if cond.dtype() != DType::Bool {
            bail!(
                Type,
                "where: expected a bool condition, got dtype {}",
                cond.dtype()
            );
        }
        if crate::cuda::involved(&[cond, a, b]) {
            return crate::cuda::ops::where_(cond, a, b);
        }
        let (a, b) = (a.to_dtype(DType::F32)?, b.to_dtype(DType::F32)?);
        let shape = broadcast_shapes(&broadcast_shapes(cond.shape(), a.shape())?, b.shape())?;
        let c = cond.expand(&shape)?.contiguous()?;
        let (ae, be) = (
            a.expand(&shape)?.detach().contiguous()?,
            b.expand(&shape)?.detach().contiguous()?,
        );
        let picked_a = zip_same(&c, &ae, |c: bool, x: f32| if c { x } else { 0.0 })?;
        let out = zip_same(
            &picked_a,
            &zip_same(&c, &be, |c: bool, y: f32| if c { 0.0 } else { y })?,
            |x: f32, y: f32| x + y,
        )?;
        Ok(Tensor::from_op(out, &[&a, &b], WhereBackward { cond: c }))
    }
}

struct WhereBackward {
    cond: Tensor,
}

impl BackwardOp for WhereBackward {
    fn name(&self) -> &'static str {
        "where"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let g = g.contiguous()?;
        let mut out = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            if !input.requires_grad() {
                out.push(None);
                continue;
            }
            let take_a = i == 0;
            let gi = zip_same(
                &self.cond,
                &g,
                move |c: bool, v: f32| if c == take_a { v } else { 0.0 },
            )?;
            out.push(Some(sum_to_shape(&gi, input.shape())?));
        }
        Ok(out)
    }
}
