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
        let max = x.iter().fold(
            f32::NEG_INFINITY,
            |m, &v| if v > m || v.is_nan() { v } else { m },
        );
        let (mut sum, mut sum_x) = (0.0f64, 0.0f64);
        match g {
            Some(g) => {
                for (g, &v) in g.iter_mut().zip(x) {
                    let e = (v - max).exp();
                    *g = e;
                    sum += e as f64;
                    sum_x += v as f64;
                }
                let inv = (1.0 / sum) as f32;
                g.iter_mut().for_each(|v| *v *= inv);
            }
            None => {
                for &v in x {
                    sum += (v - max).exp() as f64;
                    sum_x += v as f64;
                }
            }
        }
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
mod tests {
    use super::*;

    fn data(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                let u = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
                (lo + (hi - lo) * u) as f32
            })
            .collect()
    }

    fn labels(n: usize, c: usize, seed: u64) -> Vec<i64> {
        data(n, seed, 0.0, c as f64)
            .iter()
            .map(|&v| (v as i64).min(c as i64 - 1))
            .collect()
    }

    /// Per-sample cross-entropy in f64 from PyTorch's documented formula:
    /// smoothed target q = (1 - eps) * t + eps / C, loss = -sum_c q_c log_softmax(x)_c.
    fn ce_ref(x: &[f64], c: usize, target: &[Vec<f64>], eps: f64) -> Vec<f64> {
        x.chunks(c)
            .zip(target)
            .map(|(row, t)| {
                let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                row.iter()
                    .zip(t)
                    .map(|(v, t)| -((1.0 - eps) * t + eps / c as f64) * (v - lse))
                    .sum()
            })
            .collect()
    }

    fn one_hot(l: &[i64], c: usize) -> Vec<Vec<f64>> {
        l.iter()
            .map(|&y| {
                (0..c)
                    .map(|k| if k as i64 == y { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect()
    }

    fn rows(p: &[f32], c: usize) -> Vec<Vec<f64>> {
        p.chunks(c)
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect()
    }

    fn widen(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| v as f64).collect()
    }

    fn close(what: &str, got: f64, want: f64, rtol: f64) {
        assert!(got.is_finite(), "{what}: {got}");
        assert!(
            (got - want).abs() <= rtol * want.abs().max(1.0),
            "{what}: {got} vs {want}"
        );
    }

    /// Reduced f64 reference: mean over scored samples, sum, or per sample.
    fn reduced(per: &[f64], scored: &[bool], r: Reduction) -> Vec<f64> {
        let s: f64 = per
            .iter()
            .zip(scored)
            .filter(|(_, &k)| k)
            .map(|(v, _)| v)
            .sum();
        match r {
            Reduction::None => per
                .iter()
                .zip(scored)
                .map(|(&v, &k)| if k { v } else { 0.0 })
                .collect(),
            Reduction::Sum => vec![s],
            Reduction::Mean => vec![s / scored.iter().filter(|&&k| k).count() as f64],
        }
    }

    #[test]
    fn loss_cross_entropy_matches_f64_reference() {
        let (n, c) = (9, 7);
        let mut x = data(n * c, 1, -4.0, 4.0);
        x[c..2 * c]
            .iter_mut()
            .enumerate()
            .for_each(|(k, v)| *v = if k % 2 == 0 { 1e4 } else { -1e4 });
        let mut y = labels(n, c, 2);
        y[3] = -100;
        let probs = data(n * c, 3, 0.0, 1.0);
        for eps in [0.0, 0.1, 1.0] {
            for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
                let opts = CrossEntropy {
                    reduction,
                    label_smoothing: eps,
                    ..CrossEntropy::default()
                };
                for use_probs in [false, true] {
                    let (target, t, scored) = if use_probs {
                        (Target::Probs(&probs), rows(&probs, c), vec![true; n])
                    } else {
                        (
                            Target::Classes(&y),
                            one_hot(&y, c),
                            y.iter().map(|&l| l != -100).collect(),
                        )
                    };
                    let mut losses = vec![f32::NAN; n];
                    let got =
                        cross_entropy(&x, n, c, target, &opts, &mut losses, None).expect("valid");
                    let want = reduced(&ce_ref(&widen(&x), c, &t, eps), &scored, reduction);
                    let what = format!("eps={eps} {reduction:?} probs={use_probs}");
                    match got {
                        Some(v) => close(&what, v as f64, want[0], 1e-5),
                        None => losses
                            .iter()
                            .zip(&want)
                            .for_each(|(&g, &w)| close(&what, g as f64, w, 1e-5)),
                    }
                }
            }
        }
    }

    /// The fused gradient against central differences of the f64 reference loss.
    #[test]
    fn loss_cross_entropy_gradient_matches_finite_differences() {
        let (n, c) = (5, 6);
        let x = data(n * c, 4, -3.0, 3.0);
        let mut y = labels(n, c, 5);
        y[1] = -100;
        let probs = data(n * c, 6, 0.0, 1.0); // unnormalised on purpose: sum(q) != 1
        for eps in [0.0, 0.25] {
            for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
                for use_probs in [false, true] {
                    let opts = CrossEntropy {
                        reduction,
                        label_smoothing: eps,
                        ..CrossEntropy::default()
                    };
                    let (target, t, scored) = if use_probs {
                        (Target::Probs(&probs), rows(&probs, c), vec![true; n])
                    } else {
                        (
                            Target::Classes(&y),
                            one_hot(&y, c),
                            y.iter().map(|&l| l != -100).collect(),
                        )
                    };
                    let mut losses = vec![0.0; n];
                    let mut grad = vec![f32::NAN; n * c];
                    cross_entropy(&x, n, c, target, &opts, &mut losses, Some(&mut grad))
                        .expect("valid");
                    // For None, d(sum of per-sample losses) checks every row's own gradient.
                    let f = |x: &[f64]| {
                        reduced(&ce_ref(x, c, &t, eps), &scored, reduction)
                            .iter()
                            .sum::<f64>()
                    };
                    let h = 1e-6;
                    for i in 0..n * c {
                        let (mut xp, mut xm) = (widen(&x), widen(&x));
                        xp[i] += h;
                        xm[i] -= h;
                        let fd = (f(&xp) - f(&xm)) / (2.0 * h);
                        let what = format!("eps={eps} {reduction:?} probs={use_probs} grad[{i}]");
                        assert!(
                            (grad[i] as f64 - fd).abs() <= 1e-5,
                            "{what}: {} vs {fd}",
                            grad[i]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn loss_cross_entropy_rejects_bad_labels_and_options() {
        let x = data(6, 7, -1.0, 1.0);
        let mut l = vec![0.0; 2];
        for bad in [3i64, -1, 99] {
            let err = cross_entropy(
                &x,
                2,
                3,
                Target::Classes(&[0, bad]),
                &CrossEntropy::default(),
                &mut l,
                None,
            );
            match err {
                Err(crate::Error::Index(m)) => assert!(
                    m.contains(&bad.to_string()) && m.contains("3 classes"),
                    "{m}"
                ),
                other => panic!("label {bad}: {other:?}"),
            }
        }
        let smooth = CrossEntropy {
            label_smoothing: 1.5,
            ..CrossEntropy::default()
        };
        assert!(matches!(
            cross_entropy(&x, 2, 3, Target::Classes(&[0, 1]), &smooth, &mut l, None),
            Err(crate::Error::Value(_))
        ));
        let opts = CrossEntropy::default();
        assert!(matches!(
            cross_entropy(&x, 2, 3, Target::Classes(&[0]), &opts, &mut l, None),
            Err(crate::Error::Value(_))
        ));
        assert!(matches!(
            cross_entropy(&x, 2, 3, Target::Probs(&x[..5]), &opts, &mut l, None),
            Err(crate::Error::Value(_))
        ));
        assert!(matches!(
            cross_entropy(&x, 3, 3, Target::Classes(&[0, 1, 2]), &opts, &mut l, None),
            Err(crate::Error::Value(_))
        ));
        assert!(matches!(
            nll_loss(&x, 2, 3, &[0, 5], &NllLoss::default(), &mut l, None),
            Err(crate::Error::Index(_))
        ));
    }

    #[test]
    fn loss_all_ignored_mean_is_nan_with_zero_gradient() {
        let x = data(6, 8, -1.0, 1.0);
        let (mut l, mut g) = (vec![1.0; 2], vec![1.0; 6]);
        let got = cross_entropy(
            &x,
            2,
            3,
            Target::Classes(&[-100, -100]),
            &CrossEntropy::default(),
            &mut l,
            Some(&mut g),
        );
        assert!(got.expect("valid").expect("mean").is_nan());
        assert!(g.iter().all(|&v| v == 0.0) && l.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn loss_nll_matches_definition_and_upstream_scales() {
        let (n, c) = (4, 5);
        let logp = data(n * c, 9, -5.0, 0.0);
        let y = [2i64, -100, 0, 4];
        let (mut l, mut g) = (vec![0.0; n], vec![f32::NAN; n * c]);
        let got =
            nll_loss(&logp, n, c, &y, &NllLoss::default(), &mut l, Some(&mut g)).expect("valid");
        let want = -(logp[2] as f64 + logp[2 * c] as f64 + logp[3 * c + 4] as f64) / 3.0;
        close("nll mean", got.expect("mean") as f64, want, 1e-6);
        for (i, &gi) in g.iter().enumerate() {
            let hot = [2, 2 * c, 3 * c + 4].contains(&i);
            assert_eq!(gi, if hot { -1.0 / 3.0 } else { 0.0 }, "grad[{i}]");
        }
        let opts = NllLoss {
            reduction: Reduction::None,
            ..NllLoss::default()
        };
        assert_eq!(
            nll_loss(&logp, n, c, &y, &opts, &mut l, Some(&mut g)).expect("valid"),
            None
        );
        assert_eq!(l, vec![-logp[2], 0.0, -logp[2 * c], -logp[3 * c + 4]]);
        apply_upstream(&mut g, c, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((g[2], g[2 * c], g[3 * c + 4]), (-1.0, -3.0, -4.0));
        apply_upstream(&mut g, c, &[0.5]);
        assert_eq!((g[2], g[2 * c], g[3 * c + 4]), (-0.5, -1.5, -2.0));
    }

    #[test]
    fn loss_bce_with_logits_matches_f64_and_finite_differences() {
        let mut x = data(40, 10, -6.0, 6.0);
        x[0] = 1e4;
        x[1] = -1e4;
        x[2] = 90.0;
        let y = data(40, 11, 0.0, 1.0);
        // Naive f64 definition: -(y ln s + (1 - y) ln(1 - s)), with s in f64 (fine below |x| = 30).
        let per = |x: f64, y: f64| {
            if x.abs() > 30.0 {
                x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
            } else {
                let s = 1.0 / (1.0 + (-x).exp());
                -(y * s.ln() + (1.0 - y) * (1.0 - s).ln())
            }
        };
        for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            let (mut l, mut g) = (vec![0.0; 40], vec![0.0; 40]);
            let got = bce_with_logits(&x, &y, reduction, &mut l, Some(&mut g)).expect("valid");
            let want: Vec<f64> = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| per(a as f64, b as f64))
                .collect();
            let all = vec![true; 40];
            let red = reduced(&want, &all, reduction);
            match got {
                Some(v) => close(&format!("bce {reduction:?}"), v as f64, red[0], 1e-5),
                None => l
                    .iter()
                    .zip(&want)
                    .for_each(|(&a, &b)| close("bce", a as f64, b, 1e-5)),
            }
            let scale = if reduction == Reduction::Mean {
                1.0 / 40.0
            } else {
                1.0
            };
            for i in 3..40 {
                let h = 1e-6;
                let fd = (per(x[i] as f64 + h, y[i] as f64) - per(x[i] as f64 - h, y[i] as f64))
                    / (2.0 * h);
                assert!(
                    (g[i] as f64 - fd * scale).abs() <= 1e-6,
                    "bce grad[{i}]: {} vs {}",
                    g[i],
                    fd * scale
                );
            }
            assert!((g[0] as f64 - (1.0 - y[0] as f64) * scale).abs() < 1e-6);
            assert!((g[1] as f64 + y[1] as f64 * scale).abs() < 1e-6);
        }
        let mut l = vec![0.0; 40];
        assert!(matches!(
            bce_with_logits(&x, &y[..39], Reduction::Mean, &mut l, None),
            Err(crate::Error::Value(_))
        ));
    }

    #[test]
    fn loss_bitwise_across_thread_counts() {
        let (n, c) = (3001, 13);
        let x = data(n * c, 12, -8.0, 8.0);
        let y = labels(n, c, 13);
        let p = data(n * c, 14, 0.0, 1.0);
        let bx = data(70_001, 15, -8.0, 8.0);
        let by = data(70_001, 16, 0.0, 1.0);
        let run = || {
            let mut out = Vec::new();
            for target in [Target::Classes(&y), Target::Probs(&p)] {
                let opts = CrossEntropy {
                    label_smoothing: 0.1,
                    ..CrossEntropy::default()
                };
                let (mut l, mut g) = (vec![0.0; n], vec![0.0; n * c]);
                let r =
                    cross_entropy(&x, n, c, target, &opts, &mut l, Some(&mut g)).expect("valid");
                out.push(r.expect("mean"));
                out.extend(l.iter().chain(&g));
            }
            let (mut l, mut g) = (vec![0.0; bx.len()], vec![0.0; bx.len()]);
            out.push(
                bce_with_logits(&bx, &by, Reduction::Sum, &mut l, Some(&mut g))
                    .expect("valid")
                    .expect("sum"),
            );
            out.extend(l.iter().chain(&g));
            out.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
        };
        let runs: Vec<Vec<u32>> = [1, 2, 3]
            .iter()
            .map(|&t| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .expect("pool")
                    .install(run)
            })
            .collect();
        assert_eq!(runs[0], runs[1], "1 vs 2 threads");
        assert_eq!(runs[0], runs[2], "1 vs 3 threads");
    }
}
