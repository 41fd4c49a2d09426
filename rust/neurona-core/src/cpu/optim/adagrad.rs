//! Adagrad, following `torch/optim/adagrad.py` (dense gradients):
//!
//! ```text
//! g = ±grad (+ wd * p for L2)
//! clr = lr / (1 + (t - 1) * lr_decay)
//! sum = sum + g * g
//! p = p - clr * g / (sqrt(sum) + eps)
//! ```
//!
//! The caller allocates `state_sum` filled with `initial_accumulator_value`
//! ([`Adagrad::init_state`]).

use super::options::{assert_len, non_negative, WeightDecay};
use super::{for_each_chunk, Update};
use crate::error::Result;

/// Adagrad hyperparameters; `Default` is PyTorch's (`lr=1e-2`, `eps=1e-10`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adagrad {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: WeightDecay,
    pub eps: f64,
    pub initial_accumulator_value: f64,
    pub maximize: bool,
}

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: WeightDecay::None,
            eps: 1e-10,
            initial_accumulator_value: 0.0,
            maximize: false,
        }
    }
}

impl Adagrad {
    /// Checks the hyperparameters as `torch.optim.Adagrad.__init__` does.
    pub fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("lr_decay value", self.lr_decay)?;
        self.weight_decay.validate()?;
        non_negative(
            "initial_accumulator_value value",
            self.initial_accumulator_value,
        )?;
        non_negative("epsilon value", self.eps)
    }

    /// Fills a fresh accumulator with `initial_accumulator_value`.
    pub fn init_state(&self, state_sum: &mut [f32]) {
        state_sum.fill(self.initial_accumulator_value as f32);
    }

    /// One update of `param` in place; `t` is the 1-based step count.
    ///
    /// Panics if the slice lengths disagree or `t == 0`.
    pub fn step(&self, t: u64, param: &mut [f32], grad: &[f32], state_sum: &mut [f32]) {
        let n = param.len();
        assert_len("adagrad", "grad", n, grad.len());
        assert_len("adagrad", "state_sum", n, state_sum.len());
        assert!(t >= 1, "adagrad: the step count starts at 1");
        let clr = self.lr / (1.0 + (t - 1) as f64 * self.lr_decay);
        let k = Scalars {
            neg_clr: -clr as f32,
            sign: if self.maximize { -1.0 } else { 1.0 },
            l2: self.weight_decay.l2(),
            decay: self.weight_decay.decay_factor(self.lr),
            eps: self.eps as f32,
        };
        for_each_chunk(n, (param, grad, state_sum), &k);
    }
}

struct Scalars {
    neg_clr: f32,
    sign: f32,
    l2: f32,
    decay: f32,
    eps: f32,
}

impl<'a> Update<(&'a mut [f32], &'a [f32], &'a mut [f32])> for Scalars {
    #[inline(always)]
    fn apply(&self, (p, g, s): (&'a mut [f32], &'a [f32], &'a mut [f32])) {
        self.run(p, g, s);
    }
}

impl Scalars {
    fn run(&self, p: &mut [f32], g: &[f32], sum: &mut [f32]) {
        let l2 = self.l2 != 0.0;
        for ((p, &g), s) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
            let mut g = self.sign * g;
            // Unconditional (x * 1.0 == x exactly): a conditional store would stop vectorization.
            *p *= self.decay;
            if l2 {
                g += self.l2 * *p;
            }
            *s += g * g;
            let std = s.sqrt() + self.eps;
            *p += self.neg_clr * (g / std);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_close, same_in_pools, widen, Quadratic, BIG};
    use super::*;

    /// Adagrad in f64 from the published algorithm (Duchi et al.; PyTorch docs).
    fn reference(c: &Adagrad, t: u64, p: &mut [f64], g: &[f64], sum: &mut [f64]) {
        let gamma = c.lr / (1.0 + (t as f64 - 1.0) * c.lr_decay);
        for i in 0..p.len() {
            let mut gi = if c.maximize { -g[i] } else { g[i] };
            match c.weight_decay {
                WeightDecay::L2(wd) => gi += wd * p[i],
                WeightDecay::Decoupled(wd) => p[i] *= 1.0 - c.lr * wd,
                WeightDecay::None => {}
            }
            sum[i] += gi * gi;
            p[i] -= gamma * gi / (sum[i].sqrt() + c.eps);
        }
    }

    #[test]
    fn optim_adagrad_matches_reference_for_every_option() {
        let q = Quadratic::new(41, 3);
        let decays = [
            WeightDecay::None,
            WeightDecay::L2(0.1),
            WeightDecay::Decoupled(0.1),
        ];
        for weight_decay in decays {
            for (lr_decay, init, maximize) in
                [(0.0, 0.0, false), (0.05, 0.1, false), (0.01, 0.5, true)]
            {
                let c = Adagrad {
                    lr: 0.3,
                    lr_decay,
                    weight_decay,
                    eps: 1e-10,
                    initial_accumulator_value: init,
                    maximize,
                };
                c.validate().expect("valid");
                let mut p = q.x0.clone();
                let mut s = vec![0.0f32; p.len()];
                c.init_state(&mut s);
                let mut rp = widen(&p);
                let mut rs = vec![init; p.len()];
                for t in 1..=50 {
                    let g = q.grad(&p);
                    c.step(t, &mut p, &g, &mut s);
                    reference(&c, t, &mut rp, &widen(&g), &mut rs);
                }
                assert_close(&format!("{c:?} param"), &p, &rp, 1e-5);
                assert_close(&format!("{c:?} sum"), &s, &rs, 1e-5);
            }
        }
    }

    #[test]
    fn optim_adagrad_validate_rejects_bad_options() {
        for c in [
            Adagrad {
                lr: -0.1,
                ..Adagrad::default()
            },
            Adagrad {
                lr_decay: -0.1,
                ..Adagrad::default()
            },
            Adagrad {
                eps: -1.0,
                ..Adagrad::default()
            },
            Adagrad {
                initial_accumulator_value: -1.0,
                ..Adagrad::default()
            },
            Adagrad {
                weight_decay: WeightDecay::Decoupled(-1.0),
                ..Adagrad::default()
            },
        ] {
            assert!(
                matches!(c.validate(), Err(crate::Error::Value(_))),
                "{c:?} accepted"
            );
        }
    }

    #[test]
    fn optim_adagrad_bitwise_across_thread_counts() {
        let q = Quadratic::new(BIG, 5);
        let c = Adagrad {
            lr: 0.1,
            lr_decay: 0.01,
            weight_decay: WeightDecay::L2(0.01),
            ..Adagrad::default()
        };
        same_in_pools("adagrad", || {
            let mut p = q.x0.clone();
            let mut s = vec![0.0f32; p.len()];
            for t in 1..=3 {
                let g = q.grad(&p);
                c.step(t, &mut p, &g, &mut s);
            }
            p.extend_from_slice(&s);
            p
        });
    }
}
