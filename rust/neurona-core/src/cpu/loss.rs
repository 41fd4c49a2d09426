//! Fused loss kernels on f32 slices: each call computes the per-sample losses and, in the same
//! pass, the gradient of the reduced loss with respect to its input, so the backward pass is
//! only a scale by the upstream gradient ([`apply_upstream`]).
//!
//! API:
//! - [`cross_entropy`]`(logits, n, c, target, &CrossEntropy, losses, grad)`: softmax
//!   cross-entropy from logits `[n, c]`, with class labels ([`Target::Classes`], i64, with
//!   `ignore_index`) or class probabilities ([`Target::Probs`], `[n, c]`), and PyTorch's label
//!   smoothing: the target becomes `(1 - eps) * target + eps / c`.
//! - [`nll_loss`]`(logp, n, c, labels, &NllLoss, losses, grad)`: negative log-likelihood from
//!   log-probabilities `[n, c]`.
//! - [`bce_with_logits`]`(x, y, reduction, losses, grad)`: binary cross-entropy from logits, in
//!   the stable form `max(x, 0) - x * y + ln(1 + exp(-|x|))`, elementwise over any shape.
//!
//! Every kernel writes the unreduced losses into `losses` (one per sample, or per element for
//! BCE; 0 for ignored samples), fills `grad` (same shape as the input; pass `None` to skip it)
//! with d(result)/d(input) where the result is the reduced loss for `Mean`/`Sum` and each
//! sample's own loss for `None`, and returns `Some(reduced loss)` for `Mean`/`Sum`, `None` for
//! `Reduction::None`. `Mean` divides by the number of non-ignored samples (by `n` for
//! probabilities, by the element count for BCE): an all-ignored batch gives NaN and a zero
//! gradient, as in PyTorch.
//!
//! Errors (`crate::error::Error`): a label outside `[0, c)` that is not `ignore_index` is an
//! `Index` error naming the label and `c`; mismatched lengths and a label smoothing outside
//! [0, 1] are `Value` errors. The output buffers are the caller's: their lengths are asserted.
//!
//! Threads: rows go to rayon tasks above [`PAR_MIN_LEN`] elements; each row is computed by one
//! task and the reduction sums fixed blocks in a fixed order, so results are bitwise identical
//! for any thread count.

use super::softmax::vmath;
use crate::error::Result;
use rayon::prelude::*;

/// Below this many input elements everything runs on the calling thread.
pub const PAR_MIN_LEN: usize = 1 << 14;

/// How per-sample losses are combined, as PyTorch's `reduction=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    None,
    #[default]
    Mean,
    Sum,
}

/// What the logits are scored against.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// One class index per sample, `n` of them.
    Classes(&'a [i64]),
    /// A distribution (or any non-negative weights) over the classes per sample, `[n, c]`.
    Probs(&'a [f32]),
}

/// Options of [`cross_entropy`]; `Default` is PyTorch's (mean, no smoothing, ignore -100).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropy {
    pub reduction: Reduction,
    /// In [0, 1]: the weight moved from the target to the uniform distribution.
    pub label_smoothing: f64,
    /// A label value whose samples contribute nothing (labels only).
    pub ignore_index: Option<i64>,
}

impl Default for CrossEntropy {
    fn default() -> Self {
        CrossEntropy {
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
            ignore_index: Some(-100),
        }
    }
}

/// Options of [`nll_loss`]; `Default` is PyTorch's (mean, ignore -100).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NllLoss {
    pub reduction: Reduction,
    pub ignore_index: Option<i64>,
}

impl Default for NllLoss {
    fn default() -> Self {
        NllLoss {
            reduction: Reduction::Mean,
            ignore_index: Some(-100),
        }
    }
}

/// Softmax cross-entropy of `logits` (`[n, c]`, row-major) against `target`; see the module
/// doc for the outputs. `losses` has `n` elements, `grad` (if any) `n * c`.
pub fn cross_entropy(
    logits: &[f32],
    n: usize,
    c: usize,
    target: Target,
    opts: &CrossEntropy,
    losses: &mut [f32],
    grad: Option<&mut [f32]>,
) -> Result<Option<f32>> {
    check_matrix("cross_entropy", "logits", logits.len(), n, c)?;
    if !(0.0..=1.0).contains(&opts.label_smoothing) {
        crate::bail!(
            Value,
            "cross_entropy: label_smoothing must be in [0, 1], got {}",
            opts.label_smoothing
        );
    }
    assert_outputs(losses, &grad, n, n * c);
    let count = match target {
        Target::Classes(labels) => check_labels("cross_entropy", labels, n, c, opts.ignore_index)?,
        Target::Probs(p) => {
            check_matrix("cross_entropy", "target probabilities", p.len(), n, c)?;
            n
        }
    };
    let scale = grad_scale(opts.reduction, count);
    let eps = opts.label_smoothing;
    let k = CeRow {
        c,
        eps_over_c: eps / c as f64,
        keep: 1.0 - eps,
        scale,
    };
    for_rows(n, c, losses, grad, &|i, loss, g| {
        let x = &logits[i * c..(i + 1) * c];
        *loss = match target {
            Target::Classes(labels) => match class_of(labels[i], opts.ignore_index) {
                Some(y) => k.classes(x, y, g),
                None => {
                    if let Some(g) = g {
                        g.fill(0.0);
                    }
                    0.0
                }
            },
            Target::Probs(p) => k.probs(x, &p[i * c..(i + 1) * c], g),
        };
    });
    Ok(reduce(losses, opts.reduction, count))
}

/// Negative log-likelihood: `loss_i = -logp[i, label_i]`; see the module doc for the outputs.
pub fn nll_loss(
    logp: &[f32],
    n: usize,
    c: usize,
    labels: &[i64],
    opts: &NllLoss,
    losses: &mut [f32],
    grad: Option<&mut [f32]>,
) -> Result<Option<f32>> {
    check_matrix("nll_loss", "log-probabilities", logp.len(), n, c)?;
    assert_outputs(losses, &grad, n, n * c);
    let count = check_labels("nll_loss", labels, n, c, opts.ignore_index)?;
    let neg_scale = -grad_scale(opts.reduction, count) as f32;
    for_rows(n, c, losses, grad, &|i, loss, g| {
        let y = class_of(labels[i], opts.ignore_index);
        *loss = y.map_or(0.0, |y| -logp[i * c + y]);
        if let Some(g) = g {
            g.fill(0.0);
            if let Some(y) = y {
                g[y] = neg_scale;
            }
        }
    });
    Ok(reduce(losses, opts.reduction, count))
}

/// Binary cross-entropy with logits, elementwise: `loss = max(x, 0) - x * y + ln(1 + exp(-|x|))`
/// and `d loss / dx = sigmoid(x) - y`; see the module doc for the outputs.
pub fn bce_with_logits(
    x: &[f32],
    y: &[f32],
    reduction: Reduction,
    losses: &mut [f32],
    grad: Option<&mut [f32]>,
) -> Result<Option<f32>> {
    if y.len() != x.len() {
        crate::bail!(
            Value,
            "binary_cross_entropy_with_logits: target has {} elements, input has {}",
            y.len(),
            x.len()
        );
    }
    assert_outputs(losses, &grad, x.len(), x.len());
    let scale = grad_scale(reduction, x.len()) as f32;
    // Elementwise, so "rows" of 1024 elements only set the task granularity.
    const ROW: usize = 1024;
    let body = |r: usize, l: &mut [f32], g: Option<&mut [f32]>| {
        let at = r * ROW;
        let (x, y) = (&x[at..at + l.len()], &y[at..at + l.len()]);
        for (l, (&x, &y)) in l.iter_mut().zip(x.iter().zip(y)) {
            *l = x.max(0.0) - x * y + (-x.abs()).exp().ln_1p();
        }
        if let Some(g) = g {
            for (g, (&x, &y)) in g.iter_mut().zip(x.iter().zip(y)) {
                *g = (sigmoid(x) - y) * scale;
            }
        }
    };
    if x.len() < PAR_MIN_LEN {
        match grad {
            Some(g) => losses
                .chunks_mut(ROW)
                .zip(g.chunks_mut(ROW))
                .enumerate()
                .for_each(|(r, (l, g))| body(r, l, Some(g))),
            None => losses
                .chunks_mut(ROW)
                .enumerate()
                .for_each(|(r, l)| body(r, l, None)),
        }
    } else {
        match grad {
            Some(g) => losses
                .par_chunks_mut(ROW)
                .zip(g.par_chunks_mut(ROW))
                .enumerate()
                .for_each(|(r, (l, g))| body(r, l, Some(g))),
            None => losses
                .par_chunks_mut(ROW)
                .enumerate()
                .for_each(|(r, l)| body(r, l, None)),
        }
    }
    Ok(reduce(losses, reduction, x.len()))
}

/// The backward pass of every loss here: `grad *= gy`, where `gy` is the upstream gradient of
/// the result, one value for `Mean`/`Sum` or one per row (of `row_len` elements) for `None`.
///
/// Panics if `gy` has neither 1 nor `grad.len() / row_len` elements.
pub fn apply_upstream(grad: &mut [f32], row_len: usize, gy: &[f32]) {
    assert!(
        row_len > 0 && grad.chunks_exact(row_len).remainder().is_empty(),
        "apply_upstream: row length"
    );
    let rows = grad.len() / row_len;
    let scale_row = |(i, g): (usize, &mut [f32])| {
        let s = if gy.len() == 1 { gy[0] } else { gy[i] };
        g.iter_mut().for_each(|v| *v *= s);
    };
    assert!(
        gy.len() == 1 || gy.len() == rows,
        "apply_upstream: {} upstream values for {rows} rows",
        gy.len()
    );
    if grad.len() < PAR_MIN_LEN {
        grad.chunks_mut(row_len).enumerate().for_each(scale_row);
    } else {
        grad.par_chunks_mut(row_len).enumerate().for_each(scale_row);
    }
}

/// Per-row constants of the cross-entropy.
struct CeRow {
    c: usize,
    eps_over_c: f64,
    keep: f64,
    scale: f64,
}

impl CeRow {
    /// Loss for class `y`; the gradient `scale * (softmax - q)` with
    /// `q = keep * onehot(y) + eps / c`.
    fn classes(&self, x: &[f32], y: usize, mut g: Option<&mut [f32]>) -> f32 {
        let (lse, sum_x) = self.softmax_into(x, g.as_deref_mut());
        let nll = lse - x[y] as f64;
        // sum_c -logp_c = c * lse - sum_c x_c
        let smooth = self.c as f64 * lse - sum_x;
        if let Some(g) = g {
            let base = (self.eps_over_c * self.scale) as f32;
            let s = self.scale as f32;
            g.iter_mut().for_each(|v| *v = *v * s - base);
            g[y] -= (self.keep * self.scale) as f32;
        }
        (self.keep * nll + self.eps_over_c * smooth) as f32
    }

    /// Loss against probabilities `t`: `sum_c q_c (lse - x_c)` with `q = keep * t + eps / c`;
    /// the gradient `scale * (softmax * sum(q) - q)` (sum(q) is 1 only for normalised targets).
    fn probs(&self, x: &[f32], t: &[f32], mut g: Option<&mut [f32]>) -> f32 {
        let (lse, _) = self.softmax_into(x, g.as_deref_mut());
        let (mut loss, mut q_sum) = (0.0f64, 0.0f64);
        for (&x, &t) in x.iter().zip(t) {
            let q = self.keep * t as f64 + self.eps_over_c;
            loss += q * (lse - x as f64);
            q_sum += q;
        }
        if let Some(g) = g {
            let ps = (q_sum * self.scale) as f32;
            let (keep, base) = (
                (self.keep * self.scale) as f32,
                (self.eps_over_c * self.scale) as f32,
            );
            for (g, &t) in g.iter_mut().zip(t) {
                *g = *g * ps - (keep * t + base);
            }
        }
        loss as f32
    }

    /// Returns (log-sum-exp, sum of x) in f64 and, when `g` is given, leaves the softmax in it.
    fn softmax_into(&self, x: &[f32], g: Option<&mut [f32]>) -> (f64, f64) {
        let max = vmath::max_nan(x);
        let sum_x = vmath::sum_f64(x);
        // e = exp(x - max) into `e`, returning sum(e) in f64.
        let shifted = |x: &[f32], e: &mut [f32]| {
            for (e, &v) in e.iter_mut().zip(x) {
                *e = v - max;
            }
            vmath::exp_inplace(e);
            vmath::sum_f64(e)
        };
        let sum = match g {
            Some(g) => {
                let sum = shifted(x, g);
                let inv = (1.0 / sum) as f32;
                g.iter_mut().for_each(|v| *v *= inv);
                sum
            }
            // Without a gradient buffer, exponentiate through a stack buffer.
            None => {
                let mut buf = [0.0f32; 256];
                x.chunks(256)
                    .map(|xc| shifted(xc, &mut buf[..xc.len()]))
                    .sum()
            }
        };
        (max as f64 + sum.ln(), sum_x)
    }
}

fn sigmoid(x: f32) -> f32 {
    // Two branches so exp never overflows: for large |x| the result saturates to 0 or 1.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `Some(y)` for a label to score, `None` for the ignored one (labels are checked already).
#[inline]
fn class_of(label: i64, ignore_index: Option<i64>) -> Option<usize> {
    if Some(label) == ignore_index {
        None
    } else {
        Some(label as usize)
    }
}

fn check_matrix(op: &str, what: &str, len: usize, n: usize, c: usize) -> Result<()> {
    if n.checked_mul(c) != Some(len) {
        crate::bail!(
            Value,
            "{op}: {what} have {len} elements, expected [{n}, {c}] = {}",
            n.saturating_mul(c)
        );
    }
    if c == 0 && n > 0 {
        crate::bail!(Value, "{op}: expected at least one class, got 0");
    }
    Ok(())
}

/// Checks every label against `[0, c)` (or `ignore_index`); returns how many are scored.
fn check_labels(
    op: &str,
    labels: &[i64],
    n: usize,
    c: usize,
    ignore_index: Option<i64>,
) -> Result<usize> {
    if labels.len() != n {
        crate::bail!(
            Value,
            "{op}: expected {n} target labels (one per sample), got {}",
            labels.len()
        );
    }
    let mut count = 0;
    for (i, &l) in labels.iter().enumerate() {
        if Some(l) == ignore_index {
            continue;
        }
        if l < 0 || l as u64 >= c as u64 {
            crate::bail!(
                Index,
                "{op}: target label {l} at sample {i} is out of range for {c} classes (expected 0 <= label < {c})"
            );
        }
        count += 1;
    }
    Ok(count)
}

fn assert_outputs(losses: &[f32], grad: &Option<&mut [f32]>, n_losses: usize, n_grad: usize) {
    assert_eq!(losses.len(), n_losses, "loss kernel: losses buffer length");
    if let Some(g) = grad {
        assert_eq!(g.len(), n_grad, "loss kernel: grad buffer length");
    }
}

/// d(reduced)/d(per-sample loss): 1/count for `Mean`, 1 otherwise.
fn grad_scale(reduction: Reduction, count: usize) -> f64 {
    match reduction {
        Reduction::Mean => 1.0 / count as f64,
        Reduction::Sum | Reduction::None => 1.0,
    }
}

/// Calls `f(i, &mut losses[i], grad row i)` for every row, over rayon tasks of whole rows when
/// the input has at least `PAR_MIN_LEN` elements.
fn for_rows<F>(n: usize, c: usize, losses: &mut [f32], grad: Option<&mut [f32]>, f: &F)
where
    F: Fn(usize, &mut f32, Option<&mut [f32]>) + Sync,
{
    if n == 0 {
        return;
    }
    let rows = (PAR_MIN_LEN / 4).div_ceil(c.max(1)).max(1);
    let task = |t: usize, l: &mut [f32], g: Option<&mut [f32]>| match g {
        Some(g) => l
            .iter_mut()
            .zip(g.chunks_mut(c.max(1)))
            .enumerate()
            .for_each(|(r, (l, g))| f(t * rows + r, l, Some(g))),
        None => l
            .iter_mut()
            .enumerate()
            .for_each(|(r, l)| f(t * rows + r, l, None)),
    };
    let par = n * c >= PAR_MIN_LEN;
    match grad {
        Some(g) if par => losses
            .par_chunks_mut(rows)
            .zip(g.par_chunks_mut(rows * c))
            .enumerate()
            .for_each(|(t, (l, g))| task(t, l, Some(g))),
        None if par => losses
            .par_chunks_mut(rows)
            .enumerate()
            .for_each(|(t, l)| task(t, l, None)),
        Some(g) => task(0, losses, Some(g)),
        None => task(0, losses, None),
    }
}

/// The reduced loss: `None` for `Reduction::None`, else the f64 sum of `losses` over fixed
/// blocks combined in order (divided by `count` for `Mean`), independent of the thread count.
fn reduce(losses: &[f32], reduction: Reduction, count: usize) -> Option<f32> {
    const BLOCK: usize = 4096;
    let block = |b: &[f32]| b.iter().map(|&v| v as f64).sum::<f64>();
    let total = || -> f64 {
        if losses.len() < PAR_MIN_LEN {
            losses.chunks(BLOCK).map(block).sum()
        } else {
            losses
                .par_chunks(BLOCK)
                .map(block)
                .collect::<Vec<f64>>()
                .iter()
                .sum()
        }
    };
    match reduction {
        Reduction::None => None,
        Reduction::Sum => Some(total() as f32),
        Reduction::Mean => Some((total() / count as f64) as f32),
    }
}

#[cfg(test)]
mod tests;
