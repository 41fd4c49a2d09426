//! Creation: arange, linspace, eye, and random tensors from the global seeded generator
//! (rand, randn, randint, bernoulli masks for dropout).

use crate::rng::with_global;
use crate::tensor::Tensor;
use crate::{bail, Result};

impl Tensor {
    pub fn arange_f32(start: f64, end: f64, step: f64) -> Result<Tensor> {
        let n = arange_len(start, end, step)?;
        Tensor::from_vec(
            (0..n).map(|i| (start + i as f64 * step) as f32).collect(),
            &[n],
        )
    }

    pub fn arange_i64(start: i64, end: i64, step: i64) -> Result<Tensor> {
        let n = arange_len(start as f64, end as f64, step as f64)?;
        Tensor::from_vec((0..n as i64).map(|i| start + i * step).collect(), &[n])
    }

    pub fn linspace(start: f64, end: f64, steps: usize) -> Result<Tensor> {
        let v = match steps {
            0 => vec![],
            1 => vec![start as f32],
            _ => {
                let step = (end - start) / (steps - 1) as f64;
                // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
                (0..steps)
                    .map(|i| {
                        if i < steps / 2 {
                            (start + step * i as f64) as f32
                        } else {
                            (end - step * (steps - 1 - i) as f64) as f32
                        }
                    })
                    .collect()
            }
        };
        Tensor::from_vec(v, &[steps])
    }

    pub fn eye(n: usize, m: usize) -> Result<Tensor> {
        let mut v = vec![0.0f32; n * m];
        for i in 0..n.min(m) {
            v[i * m + i] = 1.0;
        }
        Tensor::from_vec(v, &[n, m])
    }

    /// Uniform on [low, high).
    pub fn rand(shape: &[usize], low: f32, high: f32) -> Result<Tensor> {
        let n = shape.iter().product();
        let v = with_global(|r| {
            (0..n)
                .map(|_| low + (high - low) * r.uniform_f32())
                .collect()
        });
        Tensor::from_vec(v, shape)
    }

    /// Normal with the given mean and standard deviation.
    pub fn randn(shape: &[usize], mean: f32, std: f32) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let v = with_global(|r| {
            let mut v = Vec::with_capacity(n + 1);
            while v.len() < n {
                let (a, b) = r.normal_pair();
                v.push(mean + std * a);
                v.push(mean + std * b);
            }
            v.truncate(n);
            v
        });
        Tensor::from_vec(v, shape)
    }

    /// Uniform integers in [low, high).
    pub fn randint(low: i64, high: i64, shape: &[usize]) -> Result<Tensor> {
        if high <= low {
            bail!(
                Value,
                "randint: expected low < high, got low={low}, high={high}"
            );
        }
        let n = shape.iter().product();
        let span = (high - low) as u64;
        let v = with_global(|r| (0..n).map(|_| low + r.below(span) as i64).collect());
        Tensor::from_vec(v, shape)
    }

    /// A random permutation of 0..n (Fisher-Yates on the global generator).
    pub fn randperm(n: usize) -> Result<Tensor> {
        let mut v: Vec<i64> = (0..n as i64).collect();
        with_global(|r| {
            for i in (1..n).rev() {
                let j = r.below(i as u64 + 1) as usize;
                v.swap(i, j);
            }
        });
        Tensor::from_vec(v, &[n])
    }

    /// Inverted dropout: zeroes each element with probability p and scales the rest by
    /// 1/(1-p), so the expectation is unchanged and evaluation needs no rescaling.
    pub fn dropout(&self, p: f32) -> Result<Tensor> {
        if !(0.0..=1.0).contains(&p) {
            bail!(
                Value,
                "dropout probability has to be between 0 and 1, but got {p}"
            );
        }
        if p == 0.0 {
            return Ok(self.clone());
        }
        if self.device().is_cuda() {
            return crate::cuda::ops::dropout(self, p);
        }
        let n = self.numel();
        let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
        let mask = with_global(|r| {
            (0..n)
                .map(|_| if r.uniform_f32() >= p { scale } else { 0.0 })
                .collect()
        });
        self.mul(&Tensor::from_vec(mask, self.shape())?)
    }
}

fn arange_len(start: f64, end: f64, step: f64) -> Result<usize> {
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        bail!(Value, "arange: step must be finite and nonzero, and the bounds finite (got start={start}, end={end}, step={step})");
    }
    if (end - start) * step < 0.0 {
        bail!(
            Value,
            "arange: upper bound and step are inconsistent (start={start}, end={end}, step={step})"
        );
    }
    Ok(((end - start) / step).ceil().max(0.0) as usize)
}
