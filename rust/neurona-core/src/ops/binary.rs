//! Arithmetic between two tensors with NumPy broadcasting: add, sub, mul, div, pow, maximum,
//! minimum, each with its backward rule. Mixed dtypes promote as in PyTorch: any float operand
//! makes the result float32; int64 with int64 stays int64 (except true division).

use super::kernels::zip;
use super::sum_to_shape;
use crate::autograd::BackwardOp;
use crate::cuda::common::ZipKind;
use crate::tensor::{DType, Tensor};
use crate::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
}

impl BinaryOp {
    fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
        }
    }

    fn i64(self) -> Option<fn(i64, i64) -> i64> {
        Some(match self {
            BinaryOp::Add => |a, b| a.wrapping_add(b),
            BinaryOp::Sub => |a, b| a.wrapping_sub(b),
            BinaryOp::Mul => |a, b| a.wrapping_mul(b),
            BinaryOp::Maximum => |a, b| a.max(b),
            BinaryOp::Minimum => |a, b| a.min(b),
            BinaryOp::Div | BinaryOp::Pow => return None,
        })
    }
}

fn pow_f32(a: f32, b: f32) -> f32 {
    // Integer exponents of small size are common (x**2); powi is exact and faster.
    if b == 2.0 {
        a * a
    } else if b == 1.0 {
        a
    } else {
        a.powf(b)
    }
}

/// zip with the op's closure inlined (one monomorphic loop per op, so it vectorizes).
fn zip_f32(a: &Tensor, b: &Tensor, op: BinaryOp) -> Result<Tensor> {
    if crate::cuda::involved(&[a, b]) {
        return crate::cuda::ops::binary(a, b, op);
    }
    match op {
        BinaryOp::Add => zip(a, b, |x: f32, y: f32| x + y),
        BinaryOp::Sub => zip(a, b, |x: f32, y: f32| x - y),
        BinaryOp::Mul => zip(a, b, |x: f32, y: f32| x * y),
        BinaryOp::Div => zip(a, b, |x: f32, y: f32| x / y),
        BinaryOp::Pow => zip(a, b, pow_f32),
        BinaryOp::Maximum => zip(a, b, |x: f32, y: f32| {
            if x.is_nan() || y.is_nan() {
                f32::NAN
            } else {
                x.max(y)
            }
        }),
        BinaryOp::Minimum => zip(a, b, |x: f32, y: f32| {
            if x.is_nan() || y.is_nan() {
                f32::NAN
            } else {
                x.min(y)
            }
        }),
    }
}

/// Converts a tensor to float32 (a new tensor; the graph follows through `to_dtype`).
fn as_f32(t: &Tensor) -> Result<Tensor> {
    if t.dtype() == DType::F32 {
        Ok(t.clone())
    } else {
        t.to_dtype(DType::F32)
    }
}

impl Tensor {
    pub fn binary(&self, other: &Tensor, op: BinaryOp) -> Result<Tensor> {
        if self.device() != other.device() {
            // A 0-d CPU scalar may meet a GPU tensor; anything else is an error.
            if let Some((a, b)) = crate::cuda::ops::mixed_devices(self, other, op.name())? {
                return a.binary(&b, op);
            }
        }
        let both_int = self.dtype() != DType::F32 && other.dtype() != DType::F32;
        if both_int {
            if let Some(f) = op.i64() {
                let a = self.to_dtype(DType::I64)?;
                let b = other.to_dtype(DType::I64)?;
                if crate::cuda::involved(&[&a, &b]) {
                    return crate::cuda::ops::binary(&a, &b, op);
                }
                return zip(&a, &b, f);
            }
        }
        let (a, b) = (as_f32(self)?, as_f32(other)?);
        let out = zip_f32(&a, &b, op)?;
        Ok(Tensor::from_op(
            out.clone(),
            &[&a, &b],
            BinaryBackward { op, out },
        ))
    }

    pub fn add(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Add)
    }
    pub fn sub(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Sub)
    }
    pub fn mul(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Mul)
    }
    pub fn div(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Div)
    }
    pub fn pow(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Pow)
    }
    pub fn maximum(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Maximum)
    }
    pub fn minimum(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(o, BinaryOp::Minimum)
    }
    pub fn add_scalar(&self, v: f32) -> Result<Tensor> {
        self.add(&Tensor::scalar(v))
    }
    pub fn mul_scalar(&self, v: f32) -> Result<Tensor> {
        self.mul(&Tensor::scalar(v))
    }
}

struct BinaryBackward {
    op: BinaryOp,
    out: Tensor,
}

impl BackwardOp for BinaryBackward {
    fn name(&self) -> &'static str {
        self.op.name()
    }

    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let need = (a.requires_grad(), b.requires_grad());
        let (ga, gb) = match self.op {
            BinaryOp::Add => (g.clone(), g.clone()),
            BinaryOp::Sub => (g.clone(), g.neg()?),
            BinaryOp::Mul => (
                if need.0 { g.mul(b)? } else { g.clone() },
                if need.1 { g.mul(a)? } else { g.clone() },
            ),
            BinaryOp::Div => {
                let ga = g.div(b)?;
                // d(a/b)/db = -(a/b)/b
                let gb = if need.1 {
                    ga.mul(&self.out)?.neg()?
                } else {
                    g.clone()
                };
                (ga, gb)
            }
            BinaryOp::Pow => {
                // d(a^b)/da = b * a^(b-1); d(a^b)/db = a^b * ln a (0 where a == 0 and b > 0).
                let ga = if need.0 {
                    let bm1 = b.add_scalar(-1.0)?;
                    g.mul(&b.mul(&a.pow(&bm1)?)?)?
                } else {
                    g.clone()
                };
                let gb = if need.1 {
                    let ln = if crate::cuda::involved(&[a, b]) {
                        crate::cuda::ops::zip(a, b, crate::cuda::common::ZipKind::LnOrZero)?
                    } else {
                        zip(a, b, |x: f32, _y: f32| if x == 0.0 { 0.0 } else { x.ln() })?
                    };
                    g.mul(&self.out.mul(&ln)?)?
                } else {
                    g.clone()
                };
                (ga, gb)
            }
            BinaryOp::Maximum | BinaryOp::Minimum => {
                // The winner takes the gradient; a tie splits it evenly (as PyTorch does).
                let sign = if self.op == BinaryOp::Maximum {
                    1.0
                } else {
                    -1.0
                };
                let wa = if crate::cuda::involved(&[a, b]) {
                    let kind = if sign > 0.0 {
                        ZipKind::MaxWeight
                    } else {
                        ZipKind::MinWeight
                    };
                    crate::cuda::ops::zip(a, b, kind)?
                } else {
                    zip(a, b, move |x: f32, y: f32| {
                        let (x, y) = (sign * x, sign * y);
                        if x > y {
                            1.0
                        } else if x == y {
                            0.5
                        } else {
                            0.0f32
                        }
                    })?
                };
                let ga = g.mul(&wa)?;
                let gb = g.mul(&wa.neg()?.add_scalar(1.0)?)?;
                (ga, gb)
            }
        };
        Ok(vec![
            if need.0 {
                Some(sum_to_shape(&ga, a.shape())?)
            } else {
                None
            },
            if need.1 {
                Some(sum_to_shape(&gb, b.shape())?)
            } else {
                None
            },
        ])
    }
}
