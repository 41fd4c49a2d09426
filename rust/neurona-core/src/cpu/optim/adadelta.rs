//! Adadelta, following `torch/optim/adadelta.py`:
//!
//! ```text
//! g = ±grad (+ wd * p for L2)
//! v = rho * v + (1 - rho) * g * g
//! d = sqrt(u + eps) / sqrt(v + eps) * g
//! u = rho * u + (1 - rho) * d * d
//! p = p - lr * d
//! ```

use super::options::{assert_len, in_range, non_negative, WeightDecay};
use super::{for_each_chunk, Update};
use crate::error::Result;

/// Adadelta hyperparameters; `Default` is PyTorch's (`lr=1`, `rho=0.9`, `eps=1e-6`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adadelta {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: WeightDecay,
    pub maximize: bool,
}

impl Default for Adadelta {
    fn default() -> Self {
        Adadelta {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    }
}

/// Adadelta's two running averages, zero-filled at the start, each as long as the parameter.
#[derive(Debug)]
pub struct AdadeltaState<'a> {
    /// Running average of squared gradients (PyTorch `square_avg`).
    pub square_avg: &'a mut [f32],
    /// Running average of squared updates (PyTorch `acc_delta`).
    pub acc_delta: &'a mut [f32],
}

impl Adadelta {
    /// Checks the hyperparameters as `torch.optim.Adadelta.__init__` does.
    pub fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        in_range("rho value", self.rho, 0.0, 1.0, true)?;
        non_negative("epsilon value", self.eps)?;
        self.weight_decay.validate()
    }

    /// One update of `param` in place; `t` is the 1-based step count (Adadelta does not use it
    /// beyond the check, the argument keeps every optimizer's signature alike).
    ///
    /// Panics if the slice lengths disagree or `t == 0`.
    pub fn step(&self, t: u64, param: &mut [f32], grad: &[f32], state: AdadeltaState) {
        let n = param.len();
        assert_len("adadelta", "grad", n, grad.len());
        assert_len("adadelta", "square_avg", n, state.square_avg.len());
        assert_len("adadelta", "acc_delta", n, state.acc_delta.len());
        assert!(t >= 1, "adadelta: the step count starts at 1");
        let k = Scalars {
            neg_lr: -self.lr as f32,
            sign: if self.maximize { -1.0 } else { 1.0 },
            l2: self.weight_decay.l2(),
            decay: self.weight_decay.decay_factor(self.lr),
            rho: self.rho as f32,
            one_minus_rho: (1.0 - self.rho) as f32,
            eps: self.eps as f32,
        };
        let lanes = (param, grad, state.square_avg, state.acc_delta);
        for_each_chunk(n, lanes, &k);
    }
}

struct Scalars {
    neg_lr: f32,
    sign: f32,
    l2: f32,
    decay: f32,
    rho: f32,
    one_minus_rho: f32,
    eps: f32,
}

type Lanes4<'a> = (&'a mut [f32], &'a [f32], &'a mut [f32], &'a mut [f32]);

impl<'a> Update<Lanes4<'a>> for Scalars {
    #[inline(always)]
    fn apply(&self, (p, g, v, u): Lanes4<'a>) {
        self.run(p, g, v, u);
    }
}

impl Scalars {
    fn run(&self, p: &mut [f32], g: &[f32], v: &mut [f32], u: &mut [f32]) {
        let l2 = self.l2 != 0.0;
        for (((p, &g), v), u) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(u.iter_mut()) {
            let mut g = self.sign * g;
            // Unconditional (x * 1.0 == x exactly): a conditional store would stop vectorization.
            *p *= self.decay;
            if l2 {
                g += self.l2 * *p;
            }
            *v = *v * self.rho + self.one_minus_rho * g * g;
            let std = (*v + self.eps).sqrt();
            let delta = (*u + self.eps).sqrt() / std * g;
            *u = *u * self.rho + self.one_minus_rho * delta * delta;
            *p += self.neg_lr * delta;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_close, same_in_pools, widen, Quadratic, BIG};
    use super::*;

    /// Adadelta in f64 from the published algorithm (Zeiler 2012; PyTorch docs).
    fn reference(c: &Adadelta, p: &mut [f64], g: &[f64], v: &mut [f64], u: &mut [f64]) {
        for i in 0..p.len() {
            let mut gi = if c.maximize { -g[i] } else { g[i] };
            match c.weight_decay {
                WeightDecay::L2(wd) => gi += wd * p[i],
                WeightDecay::Decoupled(wd) => p[i] *= 1.0 - c.lr * wd,
                WeightDecay::None => {}
            }
            v[i] = c.rho * v[i] + (1.0 - c.rho) * gi * gi;
            let dx = ((u[i] + c.eps) / (v[i] + c.eps)).sqrt() * gi;
            u[i] = c.rho * u[i] + (1.0 - c.rho) * dx * dx;
            p[i] -= c.lr * dx;
        }
    }

    #[test]
    fn optim_adadelta_matches_reference_for_every_option() {
        let q = Quadratic::new(29, 13);
        let decays = [
            WeightDecay::None,
            WeightDecay::L2(0.1),
            WeightDecay::Decoupled(0.1),
        ];
        for weight_decay in decays {
            for (rho, maximize) in [(0.9, false), (0.5, false), (0.95, true)] {
                let c = Adadelta {
                    lr: 1.0,
                    rho,
                    eps: 1e-6,
                    weight_decay,
                    maximize,
                };
                c.validate().expect("valid");
                let mut p = q.x0.clone();
                let (mut v, mut u) = (vec![0.0f32; p.len()], vec![0.0f32; p.len()]);
                let mut rp = widen(&p);
                let (mut rv, mut ru) = (vec![0.0; p.len()], vec![0.0; p.len()]);
                for t in 1..=50 {
                    let g = q.grad(&p);
                    c.step(
                        t,
                        &mut p,
                        &g,
                        AdadeltaState {
                            square_avg: &mut v,
                            acc_delta: &mut u,
                        },
                    );
                    reference(&c, &mut rp, &widen(&g), &mut rv, &mut ru);
                }
                assert_close(&format!("{c:?} param"), &p, &rp, 1e-5);
                assert_close(&format!("{c:?} square_avg"), &v, &rv, 1e-5);
                assert_close(&format!("{c:?} acc_delta"), &u, &ru, 1e-5);
            }
        }
    }

    #[test]
    fn optim_adadelta_validate_rejects_bad_options() {
        for c in [
            Adadelta {
                lr: -1.0,
                ..Adadelta::default()
            },
            Adadelta {
                rho: 1.5,
                ..Adadelta::default()
            },
            Adadelta {
                rho: -0.1,
                ..Adadelta::default()
            },
            Adadelta {
                eps: -1e-6,
                ..Adadelta::default()
            },
            Adadelta {
                weight_decay: WeightDecay::L2(-1.0),
                ..Adadelta::default()
            },
        ] {
            assert!(
                matches!(c.validate(), Err(crate::Error::Value(_))),
                "{c:?} accepted"
            );
        }
    }

    #[test]
    fn optim_adadelta_bitwise_across_thread_counts() {
        let q = Quadratic::new(BIG, 17);
        let c = Adadelta {
            weight_decay: WeightDecay::Decoupled(0.01),
            ..Adadelta::default()
        };
        same_in_pools("adadelta", || {
            let mut p = q.x0.clone();
            let (mut v, mut u) = (vec![0.0f32; p.len()], vec![0.0f32; p.len()]);
            for t in 1..=3 {
                let g = q.grad(&p);
                c.step(
                    t,
                    &mut p,
                    &g,
                    AdadeltaState {
                        square_avg: &mut v,
                        acc_delta: &mut u,
                    },
                );
            }
            p.extend_from_slice(&v);
            p.extend_from_slice(&u);
            p
        });
    }
}
