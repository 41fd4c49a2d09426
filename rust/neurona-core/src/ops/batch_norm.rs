//! Batch normalisation of `(N, C, *)` tensors as one differentiable op: per-channel statistics,
//! normalisation and the affine transform in one forward pass, and the closed-form backward
//! (`dx = w / sigma * (dy - mean(dy) - x_hat * mean(dy * x_hat))` with batch statistics, or
//! `dy * w / sigma` with given ones), instead of a graph of reductions and broadcasts.
//!
//! Statistics are summed in f64, one channel per task; outputs are written by (n, c) blocks.
//! Each value is computed by one task in a fixed order, so results do not depend on threads.
//! The running statistics are the caller's: training returns the batch mean and (biased)
//! variance for it to fold in.

use crate::autograd::BackwardOp;
use crate::parallel::install;
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Tensor};
use crate::{bail, Result};
use rayon::prelude::*;

/// Elements below which everything stays on the calling thread.
const PAR_MIN_LEN: usize = 1 << 15;

/// `(batch, channels, spatial)`: the tensor is `batch * channels` blocks of `spatial` values.
#[derive(Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    s: usize,
}

impl Geom {
    fn count(&self) -> usize {
        self.n * self.s
    }
    /// Calls `f(v)` for every value of channel `ch`, in a fixed order.
    fn channel(&self, x: &[f32], ch: usize, mut f: impl FnMut(usize, f32)) {
        for b in 0..self.n {
            let at = (b * self.c + ch) * self.s;
            for (i, &v) in x[at..at + self.s].iter().enumerate() {
                f(at + i, v);
            }
        }
    }
}

fn maybe_install<R: Send>(len: usize, f: impl FnOnce() -> R + Send) -> R {
    if len >= PAR_MIN_LEN {
        install(f)
    } else {
        f()
    }
}

/// Maps every channel to a value, in parallel for large inputs.
fn per_channel<T: Send>(g: Geom, len: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if len >= PAR_MIN_LEN {
        (0..g.c).into_par_iter().map(f).collect()
    } else {
        (0..g.c).map(f).collect()
    }
}

/// Fills `out` block by block: `f(channel, block index, out block)`.
fn per_block(g: Geom, out: &mut [f32], f: impl Fn(usize, usize, &mut [f32]) + Sync + Send) {
    let s = g.s.max(1);
    if out.len() >= PAR_MIN_LEN {
        out.par_chunks_mut(s)
            .enumerate()
            .for_each(|(b, o)| f(b % g.c, b, o));
    } else {
        out.chunks_mut(s)
            .enumerate()
            .for_each(|(b, o)| f(b % g.c, b, o));
    }
}

/// Mean and biased variance of each channel, in f64 (two passes, for accuracy).
fn stats(g: Geom, x: &[f32]) -> Vec<(f64, f64)> {
    let m = g.count() as f64;
    per_channel(g, x.len(), |ch| {
        let mut sum = 0.0f64;
        g.channel(x, ch, |_, v| sum += v as f64);
        let mean = sum / m;
        let mut sq = 0.0f64;
        g.channel(x, ch, |_, v| {
            let d = v as f64 - mean;
            sq += d * d;
        });
        (mean, sq / m)
    })
}

fn check_vec(t: Option<&Tensor>, c: usize, what: &str) -> Result<Option<Vec<f32>>> {
    let Some(t) = t else { return Ok(None) };
    if t.dtype() != DType::F32 || t.shape() != [c] {
        bail!(
            Value,
            "batch_norm: {what} must be a float32 tensor of shape ({c},), got {} of shape {}",
            t.dtype(),
            fmt_shape(t.shape())
        );
    }
    Ok(Some(t.to_vec::<f32>()?))
}

/// What the backward pass needs: the input, each channel's mean and 1/sigma, the scale.
struct BatchNormBackward {
    geom: Geom,
    mean: Vec<f64>,
    invstd: Vec<f64>,
    weight: Option<Vec<f32>>,
    batch_stats: bool,
}

impl Tensor {
    /// Batch normalisation over every dimension but 1 of an `(N, C, *)` float32 tensor.
    ///
    /// With `running = None` the batch statistics normalise (training); otherwise the given
    /// `(mean, var)` of shape `(C,)` do. `weight` and `bias` (shape `(C,)`) are optional.
    /// Returns the output and, with batch statistics, each channel's mean and biased variance.
    pub fn batch_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        running: Option<(&Tensor, &Tensor)>,
        eps: f64,
    ) -> Result<(Tensor, Option<(Tensor, Tensor)>)> {
        if self.dtype() != DType::F32 || self.ndim() < 2 {
            bail!(
                Value,
                "batch_norm: expected a float32 input of shape (N, C, ...), got {} of shape {}",
                self.dtype(),
                fmt_shape(self.shape())
            );
        }
        if eps.is_nan() || eps < 0.0 {
            bail!(Value, "batch_norm: eps must be >= 0, got {eps}");
        }
        let (n, c) = (self.shape()[0], self.shape()[1]);
        let g = Geom {
            n,
            c,
            s: self.shape()[2..].iter().product(),
        };
        let w = check_vec(weight, c, "weight")?;
        let b = check_vec(bias, c, "bias")?;
        let given = match running {
            Some((m, v)) => Some((
                check_vec(Some(m), c, "running_mean")?.unwrap_or_default(),
                check_vec(Some(v), c, "running_var")?.unwrap_or_default(),
            )),
            None => {
                if g.count() <= 1 {
                    bail!(
                        Value,
                        "Expected more than 1 value per channel when training, got input size {}",
                        fmt_shape(self.shape())
                    );
                }
                None
            }
        };
        let (y, st) = self.with_slice(|x: &[f32]| {
            maybe_install(x.len(), || {
                let st: Vec<(f64, f64)> = match &given {
                    Some((m, v)) => m
                        .iter()
                        .zip(v)
                        .map(|(&m, &v)| (m as f64, v as f64))
                        .collect(),
                    None => stats(g, x),
                };
                let mut y = vec![0.0f32; x.len()];
                per_block(g, &mut y, |ch, blk, out| {
                    let (mean, var) = st[ch];
                    let invstd = 1.0 / (var + eps).sqrt();
                    let scale = w.as_ref().map_or(1.0, |w| w[ch] as f64) * invstd;
                    let shift = b.as_ref().map_or(0.0, |b| b[ch] as f64) - mean * scale;
                    let (scale, shift) = (scale as f32, shift as f32);
                    let src = &x[blk * g.s..(blk + 1) * g.s];
                    for (o, &v) in out.iter_mut().zip(src) {
                        *o = v * scale + shift;
                    }
                });
                (y, st)
            })
        })?;
        let out = Tensor::from_vec(y, self.shape())?;
        let batch = if given.is_none() {
            let mean: Vec<f32> = st.iter().map(|s| s.0 as f32).collect();
            let var: Vec<f32> = st.iter().map(|s| s.1 as f32).collect();
            Some((Tensor::from_vec(mean, &[c])?, Tensor::from_vec(var, &[c])?))
        } else {
            None
        };
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let op = BatchNormBackward {
            geom: g,
            mean: st.iter().map(|s| s.0).collect(),
            invstd: st.iter().map(|s| 1.0 / (s.1 + eps).sqrt()).collect(),
            weight: w,
            batch_stats: given.is_none(),
        };
        Ok((Tensor::from_op(out, &inputs, op), batch))
    }
}

impl BackwardOp for BatchNormBackward {
    fn name(&self) -> &'static str {
        "batch_norm"
    }

    fn backward(&self, grad: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let g = self.geom;
        let x = &inputs[0];
        let has_w = self.weight.is_some();
        let want_x = x.requires_grad();
        let want_w = has_w && inputs[1].requires_grad();
        let bias_at = if has_w { 2 } else { 1 };
        let want_b = inputs.get(bias_at).is_some_and(|b| b.requires_grad());
        let m = g.count() as f64;
        let (dx, sums) = x.with_slice(|xs: &[f32]| {
            grad.with_slice(|dy: &[f32]| {
                maybe_install(xs.len(), || {
                    // Per channel: (sum dy, sum dy * x_hat).
                    let sums: Vec<(f64, f64)> = per_channel(g, xs.len(), |ch| {
                        let (mean, invstd) = (self.mean[ch], self.invstd[ch]);
                        let (mut s, mut sx) = (0.0f64, 0.0f64);
                        g.channel(xs, ch, |i, v| {
                            let d = dy[i] as f64;
                            s += d;
                            sx += d * (v as f64 - mean) * invstd;
                        });
                        (s, sx)
                    });
                    let dx = want_x.then(|| {
                        let mut dx = vec![0.0f32; xs.len()];
                        per_block(g, &mut dx, |ch, blk, out| {
                            let (mean, invstd) = (self.mean[ch], self.invstd[ch]);
                            let k = self.weight.as_ref().map_or(1.0, |w| w[ch] as f64) * invstd;
                            let at = blk * g.s;
                            let (src, gy) = (&xs[at..at + g.s], &dy[at..at + g.s]);
                            if self.batch_stats {
                                let (s, sx) = sums[ch];
                                let (mdy, mdyx) = (s / m, sx / m);
                                for ((o, &v), &d) in out.iter_mut().zip(src).zip(gy) {
                                    let xhat = (v as f64 - mean) * invstd;
                                    *o = (k * (d as f64 - mdy - xhat * mdyx)) as f32;
                                }
                            } else {
                                let k = k as f32;
                                for (o, &d) in out.iter_mut().zip(gy) {
                                    *o = d * k;
                                }
                            }
                        });
                        dx
                    });
                    (dx, sums)
                })
            })
        })??;
        let mut out = vec![dx.map(|d| Tensor::from_vec(d, x.shape())).transpose()?];
        if has_w {
            out.push(if want_w {
                let v: Vec<f32> = sums.iter().map(|s| s.1 as f32).collect();
                Some(Tensor::from_vec(v, &[g.c])?)
            } else {
                None
            });
        }
        if inputs.len() > bias_at {
            out.push(if want_b {
                let v: Vec<f32> = sums.iter().map(|s| s.0 as f32).collect();
                Some(Tensor::from_vec(v, &[g.c])?)
            } else {
                None
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_each_channel_and_returns_batch_stats() {
        // (N=2, C=2, S=2): channel 0 holds 1, 2, 5, 6; channel 1 holds 3, 4, 7, 8.
        let x = Tensor::from_vec((1..=8).map(|v| v as f32).collect(), &[2, 2, 2]).unwrap();
        let (y, st) = x.batch_norm(None, None, None, 0.0).unwrap();
        let (mean, var) = st.unwrap();
        assert_eq!(mean.to_vec::<f32>().unwrap(), vec![3.5, 5.5]);
        assert_eq!(var.to_vec::<f32>().unwrap(), vec![4.25, 4.25]);
        let y = y.to_vec::<f32>().unwrap();
        let s = 4.25f32.sqrt();
        assert!((y[0] - (1.0 - 3.5) / s).abs() < 1e-6);
        assert!((y[7] - (8.0 - 5.5) / s).abs() < 1e-6);
    }

    #[test]
    fn rejects_single_values_per_channel_in_training() {
        let x = Tensor::zeros(&[1, 3]);
        assert!(x.batch_norm(None, None, None, 1e-5).is_err());
        let (m, v) = (Tensor::zeros(&[3]), Tensor::full(&[3], 1.0));
        assert!(x.batch_norm(None, None, Some((&m, &v)), 1e-5).is_ok());
    }
}
