//! Elementwise functions of one tensor and their derivatives, side by side in one table:
//! neg, exp, log, sqrt, abs, relu, leaky_relu, sigmoid, tanh, softplus, gelu, sign, clamp.
//!
//! Backward is one fused pass: grad_in = grad_out * f'(x, y), where y = f(x) is saved so that
//! exp, sigmoid and tanh reuse their output instead of recomputing.

use super::kernels::{map, zip3_same, zip_same};
use crate::autograd::BackwardOp;
use crate::cpu::{elementwise as ew, vmath};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Softplus,
    Gelu,
    Sign,
    Clamp(Option<f32>, Option<f32>),
}

impl Unary {
    fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Exp => "exp",
            Unary::Log => "log",
            Unary::Sqrt => "sqrt",
            Unary::Abs => "abs",
            Unary::Relu => "relu",
            Unary::LeakyRelu(_) => "leaky_relu",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Softplus => "softplus",
            Unary::Gelu => "gelu",
            Unary::Sign => "sign",
            Unary::Clamp(..) => "clamp",
        }
    }

    #[inline(always)]
    fn forward(self, x: f32) -> f32 {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            // NaN propagates, as in PyTorch (`x > 0` would turn it into 0): one unordered
            // compare, so the loop still vectorises.
            Unary::Relu => {
                if x <= 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Unary::LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x
                }
            }
            // Branch-free Cephes forms (a couple of ulp): the loop vectorises, libm's does not.
            Unary::Sigmoid => vmath::sigmoid(x),
            Unary::Tanh => vmath::tanh(x),
            // PyTorch's threshold: above 20 softplus(x) == x to float precision.
            Unary::Softplus => {
                if x > 20.0 {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
            // 0.5 x (1 + erf(x/sqrt 2)) written with erfc, in f64: no cancellation in the
            // negative tail, where 1 + erf(.) loses every bit in f32.
            Unary::Gelu => {
                (0.5 * (x as f64) * erfc(-(x as f64) * std::f64::consts::FRAC_1_SQRT_2)) as f32
            }
            Unary::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Unary::Clamp(lo, hi) => {
                let mut v = x;
                if let Some(lo) = lo {
                    v = if v < lo { lo } else { v };
                }
                if let Some(hi) = hi {
                    v = if v > hi { hi } else { v };
                }
                v
            }
        }
    }

    /// f'(x), given also y = f(x).
    #[inline(always)]
    fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Unary::Neg => -1.0,
            Unary::Exp => y,
            Unary::Log => 1.0 / x,
            Unary::Sqrt => 0.5 / y,
            Unary::Abs => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            // PyTorch's threshold_backward masks where x <= 0: the gradient passes at NaN.
            Unary::Relu => (x > 0.0 || x.is_nan()) as i32 as f32,
            Unary::LeakyRelu(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Unary::Sigmoid => y * (1.0 - y),
            Unary::Tanh => 1.0 - y * y,
            Unary::Softplus => {
                if x > 20.0 {
                    1.0
                } else {
                    sigmoid(x)
                }
            }
            Unary::Gelu => {
                let xd = x as f64;
                let cdf = 0.5 * erfc(-xd * std::f64::consts::FRAC_1_SQRT_2);
                let pdf = (-0.5 * xd * xd).exp() / (2.0 * std::f64::consts::PI).sqrt();
                (cdf + xd * pdf) as f32
            }
            Unary::Sign => 0.0,
            // PyTorch passes the gradient where min <= x <= max.
            Unary::Clamp(lo, hi) => {
                let above = lo.is_none_or(|lo| x >= lo);
                let below = hi.is_none_or(|hi| x <= hi);
                (above && below) as i32 as f32
            }
        }
    }
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    // Two branches keep exp's argument non-positive: no overflow for large |x|.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The complementary error function 1 - erf(x) from the C math library, accurate in the tails
/// where 1 - erf(x) would cancel.
pub fn erfc(x: f64) -> f64 {
    extern "C" {
        #[link_name = "erfc"]
        fn c_erfc(x: f64) -> f64;
    }
    // SAFETY: a pure function of one double, defined for every input (NaN in, NaN out).
    unsafe { c_erfc(x) }
}

/// The error function from the C math library (glibc, macOS libSystem and the UCRT all export
/// `erf`; std already links it): correctly rounded to within an ulp in ~20 ns. The series and
/// continued fraction this replaced took up to 200 iterations, ~2 us per element.
pub fn erf(x: f64) -> f64 {
    extern "C" {
        #[link_name = "erf"]
        fn c_erf(x: f64) -> f64;
    }
    // SAFETY: a pure function of one double, defined for every input (NaN in, NaN out).
    unsafe { c_erf(x) }
}

/// `$go!(Unary::X)` for the op `$op` holds: each arm names its variant as a constant, so the
/// closure `$go` builds folds to that op's formula alone (one monomorphic loop per op).
macro_rules! monomorphic {
    ($op:expr, $go:ident) => {
        match $op {
            Unary::Neg => $go!(Unary::Neg),
            Unary::Exp => $go!(Unary::Exp),
            Unary::Log => $go!(Unary::Log),
            Unary::Sqrt => $go!(Unary::Sqrt),
            Unary::Abs => $go!(Unary::Abs),
            Unary::Relu => $go!(Unary::Relu),
            Unary::Sigmoid => $go!(Unary::Sigmoid),
            Unary::Tanh => $go!(Unary::Tanh),
            Unary::Softplus => $go!(Unary::Softplus),
            Unary::Gelu => $go!(Unary::Gelu),
            Unary::Sign => $go!(Unary::Sign),
            Unary::LeakyRelu(a) => $go!(Unary::LeakyRelu(a)),
            Unary::Clamp(lo, hi) => $go!(Unary::Clamp(lo, hi)),
        }
    };
}

/// map with the op's formula inlined: one monomorphic, vectorizable loop per op (the match
/// on the op runs once per call; `forward` is `inline(always)` so each arm folds to its own
/// formula).
fn forward_f32(x: &Tensor, op: Unary) -> Result<Tensor> {
    if x.device().is_cuda() {
        return crate::cuda::ops::unary(x, op);
    }
    macro_rules! go {
        ($variant:expr) => {
            map(x, move |v: f32| $variant.forward(v))
        };
    }
    match op {
        // libm's expf is an opaque call per element: the polynomial vectorises. (An inlined
        // closure, not the fn item: a fn item is called through a shim compiled for SSE2.)
        #[allow(clippy::redundant_closure)]
        Unary::Exp => {
            let out = x.with_slice(|xs: &[f32]| {
                ew::map_chunks(
                    xs,
                    #[inline(always)]
                    |xs, out| vmath::exp_into(xs, out),
                )
            })?;
            Tensor::from_vec(out, x.shape())
        }
        // (the nested match's Exp arm is never taken here)
        other => monomorphic!(other, go),
    }
}

/// grad_in = grad_out * f'(x, y) in one fused pass, one monomorphic loop per op.
fn backward_f32(x: &Tensor, y: &Tensor, g: &Tensor, op: Unary) -> Result<Tensor> {
    if op == Unary::Relu {
        // relu's mask reads the same from y = relu(x) as from x (y <= 0 exactly where x <= 0,
        // NaN where x is NaN): two input streams instead of three on a memory-bound pass.
        return zip_same(y, g, |y: f32, g: f32| g * Unary::Relu.derivative(y, y));
    }
    macro_rules! go {
        ($variant:expr) => {
            zip3_same(x, y, g, move |x: f32, y: f32, g: f32| {
                g * $variant.derivative(x, y)
            })
        };
    }
    monomorphic!(op, go)
}

impl Tensor {
    pub fn unary(&self, op: Unary) -> Result<Tensor> {
        match (op, self.dtype()) {
            (_, DType::F32) => {}
            (Unary::Neg | Unary::Abs | Unary::Sign, DType::I64) => {
                if self.device().is_cuda() {
                    return crate::cuda::ops::unary(self, op);
                }
                return map(self, move |x: i64| match op {
                    Unary::Neg => x.wrapping_neg(),
                    Unary::Abs => x.wrapping_abs(),
                    _ => x.signum(),
                });
            }
            _ => bail!(
                Type,
                "{}: expected a float32 tensor, got {}",
                op.name(),
                self.dtype()
            ),
        }
        let out = forward_f32(self, op)?;
        Ok(Tensor::from_op(
            out.clone(),
            &[self],
            UnaryBackward { op, out },
        ))
    }

    pub fn neg(&self) -> Result<Tensor> {
        self.unary(Unary::Neg)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(Unary::Exp)
    }
    pub fn log(&self) -> Result<Tensor> {
        self.unary(Unary::Log)
    }
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(Unary::Relu)
    }
}

struct UnaryBackward {
    op: Unary,
    out: Tensor,
}

impl BackwardOp for UnaryBackward {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let op = self.op;
        let x = &inputs[0];
        if crate::cuda::involved(&[x, g]) {
            let gi = crate::cuda::ops::unary_backward(x, &self.out, g, op)?;
            return Ok(vec![Some(gi)]);
        }
        let gi = backward_f32(x, &self.out, g, op)?;
        Ok(vec![Some(gi)])
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor::Tensor;

    /// erf against reference values (Python's math.erf), the tails and NaN.
    #[test]
    fn erf_matches_reference_values() {
        let cases = [
            (0.0, 0.0),
            (1e-3, 0.0011283787909692365),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (-3.0, -0.9999779095030014),
            (6.0, 1.0),
            (f64::INFINITY, 1.0),
            (f64::NEG_INFINITY, -1.0),
        ];
        for (x, want) in cases {
            let got = super::erf(x);
            assert!(
                (got - want).abs() <= 2e-16 * want.abs().max(1e-300),
                "erf({x}) = {got}"
            );
        }
        assert!(super::erf(f64::NAN).is_nan());
        // erfc keeps its relative accuracy deep in the tail (math.erfc(10)).
        let got = super::erfc(10.0);
        assert!(
            (got / 2.088487583762545e-45 - 1.0).abs() < 1e-14,
            "erfc(10) = {got}"
        );
    }

    /// relu(NaN) is NaN, as in PyTorch, on the vectorised body and the scalar tail alike; the
    /// gradient passes where `x <= 0` fails (PyTorch's threshold_backward), NaN included.
    #[test]
    fn relu_propagates_nan() {
        let pattern = [f32::NAN, -1.0, 0.0, -0.0, 2.0];
        let x: Vec<f32> = pattern.iter().copied().cycle().take(35).collect();
        let t = Tensor::from_vec(x.clone(), &[35]).unwrap();
        t.set_requires_grad(true).unwrap();
        let y = t.relu().unwrap();
        let ones = Tensor::from_vec(vec![1.0f32; 35], &[35]).unwrap();
        crate::autograd::backward(&y, Some(ones), false).unwrap();
        let (y, g) = (
            y.to_vec::<f32>().unwrap(),
            t.grad().unwrap().to_vec::<f32>().unwrap(),
        );
        for i in 0..35 {
            if x[i].is_nan() {
                assert!(y[i].is_nan() && g[i] == 1.0, "at {i}: {} {}", y[i], g[i]);
            } else {
                assert_eq!(y[i], x[i].max(0.0), "at {i}");
                assert_eq!(g[i], (x[i] > 0.0) as i32 as f32, "at {i}");
            }
        }
    }
}
