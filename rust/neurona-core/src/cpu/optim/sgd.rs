//! Stochastic gradient descent with optional (Nesterov) momentum, dampening and weight decay,
//! following `torch/optim/sgd.py`:
//!
//! ```text
//! g = ±grad (+ wd * p for L2)
//! if momentum: buf = g on the first step, else buf = m * buf + (1 - dampening) * g
//!              g = g + m * buf (Nesterov) or g = buf (classic)
//! p = p - lr * g
//! ```

use super::options::{assert_len, non_negative, Momentum, WeightDecay};
use super::{for_each_chunk, Update};
use crate::error::Result;

/// SGD hyperparameters; `Default` is PyTorch's (`lr=1e-3`, no momentum, no decay).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    pub lr: f64,
    pub momentum: Momentum,
    pub dampening: f64,
    pub weight_decay: WeightDecay,
    pub maximize: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            lr: 1e-3,
            momentum: Momentum::None,
            dampening: 0.0,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    }
}

impl Sgd {
    /// Checks the hyperparameters as `torch.optim.SGD.__init__` does.
    pub fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("momentum value", self.momentum.factor())?;
        self.weight_decay.validate()?;
        if let Momentum::Nesterov(m) = self.momentum {
            if m <= 0.0 || self.dampening != 0.0 {
                crate::bail!(
                    Value,
                    "Nesterov momentum requires a momentum and zero dampening"
                );
            }
        }
        Ok(())
    }

    /// Whether `step` needs a momentum buffer.
    pub fn needs_buffer(&self) -> bool {
        self.momentum.factor() != 0.0
    }

    /// One update of `param` in place. `t` is the 1-based step count: at `t == 1` the momentum
    /// buffer is set to the gradient (its prior content is ignored), as PyTorch does when the
    /// buffer does not exist yet. `momentum_buffer` must be `Some` (same length as `param`) iff
    /// [`Sgd::needs_buffer`].
    ///
    /// Panics if the slice lengths disagree or the buffer's presence does not match the config.
    pub fn step(
        &self,
        t: u64,
        param: &mut [f32],
        grad: &[f32],
        momentum_buffer: Option<&mut [f32]>,
    ) {
        let n = param.len();
        assert_len("sgd", "grad", n, grad.len());
        assert!(t >= 1, "sgd: the step count starts at 1");
        assert_eq!(
            momentum_buffer.is_some(),
            self.needs_buffer(),
            "sgd: momentum buffer presence"
        );
        if let Some(b) = &momentum_buffer {
            assert_len("sgd", "momentum_buffer", n, b.len());
        }
        let k = Scalars {
            neg_lr: -self.lr as f32,
            sign: if self.maximize { -1.0 } else { 1.0 },
            l2: self.weight_decay.l2(),
            decay: self.weight_decay.decay_factor(self.lr),
            m: self.momentum.factor() as f32,
            one_minus_damp: (1.0 - self.dampening) as f32,
            nesterov: matches!(self.momentum, Momentum::Nesterov(_)),
            first: t == 1,
        };
        for_each_chunk(n, (param, grad, momentum_buffer), &k);
    }
}

struct Scalars {
    neg_lr: f32,
    sign: f32,
    l2: f32,
    decay: f32,
    m: f32,
    one_minus_damp: f32,
    nesterov: bool,
    first: bool,
}

impl<'a> Update<(&'a mut [f32], &'a [f32], Option<&'a mut [f32]>)> for Scalars {
    #[inline(always)]
    fn apply(&self, (p, g, b): (&'a mut [f32], &'a [f32], Option<&'a mut [f32]>)) {
        self.run(p, g, b);
    }
}

impl Scalars {
    fn run(&self, p: &mut [f32], g: &[f32], buf: Option<&mut [f32]>) {
        let l2 = self.l2 != 0.0;
        match buf {
            None => {
                for (p, &g) in p.iter_mut().zip(g) {
                    let mut g = self.sign * g;
                    // Unconditional (x * 1.0 == x exactly): a conditional store would stop vectorization.
                    *p *= self.decay;
                    if l2 {
                        g += self.l2 * *p;
                    }
                    *p += self.neg_lr * g;
                }
            }
            Some(buf) => {
                for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    let mut g = self.sign * g;
                    // Unconditional (x * 1.0 == x exactly): a conditional store would stop vectorization.
                    *p *= self.decay;
                    if l2 {
                        g += self.l2 * *p;
                    }
                    *b = if self.first {
                        g
                    } else {
                        *b * self.m + self.one_minus_damp * g
                    };
                    let d = if self.nesterov { g + self.m * *b } else { *b };
                    *p += self.neg_lr * d;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_close, same_in_pools, widen, Quadratic, BIG};
    use super::*;

    /// SGD in f64 from the published algorithm (PyTorch docs), with `maximize` negating the
    /// gradient first as the implementation does.
    fn reference(c: &Sgd, t: u64, p: &mut [f64], g: &[f64], buf: &mut [f64]) {
        let (m, nesterov) = match c.momentum {
            Momentum::None => (0.0, false),
            Momentum::Classic(m) => (m, false),
            Momentum::Nesterov(m) => (m, true),
        };
        for i in 0..p.len() {
            let mut gi = if c.maximize { -g[i] } else { g[i] };
            match c.weight_decay {
                WeightDecay::L2(wd) => gi += wd * p[i],
                WeightDecay::Decoupled(wd) => p[i] *= 1.0 - c.lr * wd,
                WeightDecay::None => {}
            }
            if m != 0.0 {
                buf[i] = if t > 1 {
                    m * buf[i] + (1.0 - c.dampening) * gi
                } else {
                    gi
                };
                gi = if nesterov { gi + m * buf[i] } else { buf[i] };
            }
            p[i] -= c.lr * gi;
        }
    }

    fn trajectory(c: Sgd) {
        c.validate().expect("valid config");
        let q = Quadratic::new(37, 7);
        let mut p = q.x0.clone();
        let mut buf = vec![0.0f32; p.len()];
        let mut rp = widen(&p);
        let mut rbuf = vec![0.0f64; p.len()];
        for t in 1..=50 {
            let g = q.grad(&p);
            let b = if c.needs_buffer() {
                Some(&mut buf[..])
            } else {
                None
            };
            c.step(t, &mut p, &g, b);
            reference(&c, t, &mut rp, &widen(&g), &mut rbuf);
        }
        assert_close(&format!("{c:?} param"), &p, &rp, 1e-5);
        if c.needs_buffer() {
            assert_close(&format!("{c:?} buffer"), &buf, &rbuf, 1e-5);
        }
    }

    #[test]
    fn optim_sgd_matches_reference_for_every_option() {
        let momenta = [
            Momentum::None,
            Momentum::Classic(0.9),
            Momentum::Nesterov(0.8),
        ];
        let decays = [
            WeightDecay::None,
            WeightDecay::L2(0.05),
            WeightDecay::Decoupled(0.05),
        ];
        for momentum in momenta {
            for weight_decay in decays {
                for maximize in [false, true] {
                    for dampening in [0.0, 0.3] {
                        if matches!(momentum, Momentum::Nesterov(_)) && dampening != 0.0 {
                            continue; // rejected by validate, tested below
                        }
                        // maximize climbs the quadratic; a small lr keeps it finite over 50 steps
                        let lr = if maximize { 0.01 } else { 0.05 };
                        trajectory(Sgd {
                            lr,
                            momentum,
                            dampening,
                            weight_decay,
                            maximize,
                        });
                    }
                }
            }
        }
    }

    #[test]
    fn optim_sgd_first_step_sets_buffer_to_gradient() {
        let c = Sgd {
            lr: 0.1,
            momentum: Momentum::Classic(0.9),
            dampening: 0.5,
            ..Sgd::default()
        };
        let mut p = vec![1.0f32, -2.0];
        let mut buf = vec![123.0f32, -7.0]; // stale content must be ignored at t == 1
        c.step(1, &mut p, &[0.5, 0.25], Some(&mut buf));
        assert_eq!(buf, vec![0.5, 0.25]);
        assert_eq!(p, vec![1.0 - 0.1f32 * 0.5, -2.0 - 0.1f32 * 0.25]);
    }

    #[test]
    fn optim_sgd_validate_rejects_bad_options() {
        let bad = [
            Sgd {
                lr: -1.0,
                ..Sgd::default()
            },
            Sgd {
                momentum: Momentum::Classic(-0.1),
                ..Sgd::default()
            },
            Sgd {
                weight_decay: WeightDecay::L2(-1.0),
                ..Sgd::default()
            },
            Sgd {
                momentum: Momentum::Nesterov(0.9),
                dampening: 0.1,
                ..Sgd::default()
            },
            Sgd {
                momentum: Momentum::Nesterov(0.0),
                ..Sgd::default()
            },
        ];
        for c in bad {
            assert!(
                matches!(c.validate(), Err(crate::Error::Value(_))),
                "{c:?} accepted"
            );
        }
    }

    #[test]
    fn optim_sgd_bitwise_across_thread_counts() {
        let q = Quadratic::new(BIG, 11);
        let c = Sgd {
            lr: 0.05,
            momentum: Momentum::Nesterov(0.9),
            weight_decay: WeightDecay::L2(0.01),
            ..Sgd::default()
        };
        same_in_pools("sgd", || {
            let mut p = q.x0.clone();
            let mut buf = vec![0.0f32; p.len()];
            for t in 1..=3 {
                let g = q.grad(&p);
                c.step(t, &mut p, &g, Some(&mut buf));
            }
            p.extend_from_slice(&buf);
            p
        });
    }
}
