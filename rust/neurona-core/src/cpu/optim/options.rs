//! Typed options shared by the optimizers (dfdx style: an enum says which variant of a rule is
//! in force, instead of a float whose zero means "off"), and the argument checks with PyTorch's
//! error wording.

use crate::error::Result;

/// The momentum rule of SGD.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Momentum {
    /// Plain gradient descent (PyTorch `momentum=0`).
    #[default]
    None,
    /// Heavy-ball momentum `buf = m * buf + (1 - dampening) * g; step along buf`.
    Classic(f64),
    /// Nesterov momentum: step along `g + m * buf` (PyTorch `nesterov=True`).
    Nesterov(f64),
}

impl Momentum {
    /// The momentum factor, 0 for [`Momentum::None`].
    pub fn factor(self) -> f64 {
        match self {
            Momentum::None => 0.0,
            Momentum::Classic(m) | Momentum::Nesterov(m) => m,
        }
    }
}

/// How weight decay enters the update.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum WeightDecay {
    #[default]
    None,
    /// L2 penalty folded into the gradient: `g += wd * p` (PyTorch's `weight_decay` for every
    /// optimizer but AdamW).
    L2(f64),
    /// Decoupled decay applied to the parameter before the update: `p *= 1 - lr * wd` (AdamW,
    /// Loshchilov & Hutter); available to every optimizer here.
    Decoupled(f64),
}

impl WeightDecay {
    /// The coefficient of the L2 term folded into the gradient (0 unless `L2`).
    pub(crate) fn l2(self) -> f32 {
        match self {
            WeightDecay::L2(wd) => wd as f32,
            _ => 0.0,
        }
    }

    /// The factor the parameter is multiplied by before the update (1 unless `Decoupled`),
    /// computed in f64 as PyTorch does with `param.mul_(1 - lr * weight_decay)`.
    pub(crate) fn decay_factor(self, lr: f64) -> f32 {
        match self {
            WeightDecay::Decoupled(wd) => (1.0 - lr * wd) as f32,
            _ => 1.0,
        }
    }

    pub(crate) fn validate(self) -> Result<()> {
        match self {
            WeightDecay::None => Ok(()),
            WeightDecay::L2(wd) | WeightDecay::Decoupled(wd) => {
                non_negative("weight_decay value", wd)
            }
        }
    }
}

/// `Invalid {what}: {v}` unless `v >= 0` (NaN fails too), PyTorch's wording.
pub(crate) fn non_negative(what: &str, v: f64) -> Result<()> {
    if v >= 0.0 {
        Ok(())
    } else {
        crate::bail!(Value, "Invalid {what}: {v}")
    }
}

/// `Invalid {what}: {v}` unless `lo <= v < hi` (or `<= hi` when `closed`).
pub(crate) fn in_range(what: &str, v: f64, lo: f64, hi: f64, closed: bool) -> Result<()> {
    let ok = v >= lo && if closed { v <= hi } else { v < hi };
    if ok {
        Ok(())
    } else {
        let close = if closed { ']' } else { ')' };
        crate::bail!(
            Value,
            "Invalid {what}: {v} (expected a value in [{lo}, {hi}{close})"
        )
    }
}

/// Asserts that the state slices match the parameter, the one precondition of every `step`.
#[inline]
pub(crate) fn assert_len(kernel: &str, what: &str, param_len: usize, len: usize) {
    assert_eq!(
        len, param_len,
        "{kernel}: {what} has {len} elements, the parameter {param_len}"
    );
}
