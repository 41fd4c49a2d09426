//! Adam and AdamW (optionally AMSGrad), following `torch/optim/adam.py` (non-capturable path;
//! AdamW is Adam with `WeightDecay::Decoupled`, as `torch/optim/adamw.py` now is):
//!
//! ```text
//! decoupled: p = p * (1 - lr * wd)          L2: g = ±grad + wd * p
//! m = lerp(m, g, 1 - beta1)
//! v = beta2 * v + (1 - beta2) * g * g
//! amsgrad: vmax = max(vmax, v), and vmax replaces v below
//! p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//! ```

use super::options::{assert_len, in_range, non_negative, WeightDecay};
use super::{for_each_chunk, lerp, Update};
use crate::error::Result;

/// Adam hyperparameters; `Default` is `torch.optim.Adam`'s, [`Adam::adamw`] is
/// `torch.optim.AdamW`'s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: WeightDecay,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            amsgrad: false,
            maximize: false,
        }
    }
}

/// Adam's state, zero-filled at the start, each slice as long as the parameter.
#[derive(Debug)]
pub struct AdamState<'a> {
    /// First moment (PyTorch `exp_avg`).
    pub exp_avg: &'a mut [f32],
    /// Second moment (PyTorch `exp_avg_sq`).
    pub exp_avg_sq: &'a mut [f32],
    /// Running max of the second moment: `Some` iff `amsgrad` (PyTorch `max_exp_avg_sq`).
    pub max_exp_avg_sq: Option<&'a mut [f32]>,
}

impl Adam {
    /// `torch.optim.AdamW`'s defaults: `lr=1e-3`, decoupled weight decay 1e-2.
    pub fn adamw() -> Self {
        Adam {
            weight_decay: WeightDecay::Decoupled(1e-2),
            ..Adam::default()
        }
    }

    /// Checks the hyperparameters as `torch.optim.Adam.__init__` does.
    pub fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("epsilon value", self.eps)?;
        in_range("beta parameter at index 0", self.betas.0, 0.0, 1.0, false)?;
        in_range("beta parameter at index 1", self.betas.1, 0.0, 1.0, false)?;
        self.weight_decay.validate()
    }

    /// One update of `param` in place; `t` is the 1-based step count used by the bias
    /// corrections.
    ///
    /// Panics if the slice lengths disagree, `t == 0`, or `max_exp_avg_sq` is present without
    /// `amsgrad` (or missing with it).
    pub fn step(&self, t: u64, param: &mut [f32], grad: &[f32], state: AdamState) {
        let n = param.len();
        assert_len("adam", "grad", n, grad.len());
        assert_len("adam", "exp_avg", n, state.exp_avg.len());
        assert_len("adam", "exp_avg_sq", n, state.exp_avg_sq.len());
        assert!(t >= 1, "adam: the step count starts at 1");
        assert_eq!(
            state.max_exp_avg_sq.is_some(),
            self.amsgrad,
            "adam: max_exp_avg_sq iff amsgrad"
        );
        if let Some(s) = &state.max_exp_avg_sq {
            assert_len("adam", "max_exp_avg_sq", n, s.len());
        }
        let (beta1, beta2) = self.betas;
        // Python's float `**`, i.e. C pow, as PyTorch evaluates `beta ** step`.
        let bias_correction1 = 1.0 - beta1.powf(t as f64);
        let bias_correction2 = 1.0 - beta2.powf(t as f64);
        let k = Scalars {
            neg_step_size: -(self.lr / bias_correction1) as f32,
            bc2_sqrt: bias_correction2.sqrt() as f32,
            sign: if self.maximize { -1.0 } else { 1.0 },
            l2: self.weight_decay.l2(),
            decay: self.weight_decay.decay_factor(self.lr),
            one_minus_beta1: (1.0 - beta1) as f32,
            beta2: beta2 as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
            eps: self.eps as f32,
        };
        let lanes = (
            param,
            grad,
            state.exp_avg,
            state.exp_avg_sq,
            state.max_exp_avg_sq,
        );
        for_each_chunk(n, lanes, &k);
    }
}

struct Scalars {
    neg_step_size: f32,
    bc2_sqrt: f32,
    sign: f32,
    l2: f32,
    decay: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
}

type Lanes5<'a> = (
    &'a mut [f32],
    &'a [f32],
    &'a mut [f32],
    &'a mut [f32],
    Option<&'a mut [f32]>,
);

impl<'a> Update<Lanes5<'a>> for Scalars {
    #[inline(always)]
    fn apply(&self, (p, g, m, v, vmax): Lanes5<'a>) {
        // Compiled for AVX2 where available: the update is ~20 flops and a sqrt per element.
        crate::cpu::simd::with_avx2(
            #[inline(always)]
            || match vmax {
                Some(vmax) => self.run::<true>(p, g, m, v, vmax),
                None => self.run::<false>(p, g, m, v, &mut []),
            },
        )
    }
}

impl Scalars {
    #[inline(always)]
    fn run<const AMSGRAD: bool>(
        &self,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        vmax: &mut [f32],
    ) {
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        let vmax = if AMSGRAD { &mut vmax[..n] } else { vmax };
        let l2 = self.l2 != 0.0;
        for i in 0..n {
            let mut gi = self.sign * g[i];
            // Unconditional (x * 1.0 == x exactly): a conditional store would stop vectorization.
            p[i] *= self.decay;
            if l2 {
                gi += self.l2 * p[i];
            }
            m[i] = lerp(m[i], gi, self.one_minus_beta1);
            v[i] = v[i] * self.beta2 + self.one_minus_beta2 * gi * gi;
            let second = if AMSGRAD {
                // PyTorch's torch.maximum propagates NaN; f32::max would drop it.
                vmax[i] = if vmax[i] >= v[i] || vmax[i].is_nan() {
                    vmax[i]
                } else {
                    v[i]
                };
                vmax[i]
            } else {
                v[i]
            };
            let denom = second.sqrt() / self.bc2_sqrt + self.eps;
            p[i] += self.neg_step_size * (m[i] / denom);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_close, same_in_pools, widen, Quadratic, BIG};
    use super::*;

    struct RefState {
        m: Vec<f64>,
        v: Vec<f64>,
        vmax: Vec<f64>,
    }

    /// Adam / AdamW / AMSGrad in f64 from the published algorithms (Kingma & Ba 2015 with the
    /// bias-corrected moments; Loshchilov & Hutter 2019 for decoupled decay; Reddi et al. 2018
    /// for AMSGrad as PyTorch implements it: the max is over raw second moments).
    fn reference(c: &Adam, t: u64, p: &mut [f64], g: &[f64], s: &mut RefState) {
        let (b1, b2) = c.betas;
        for i in 0..p.len() {
            let mut gi = if c.maximize { -g[i] } else { g[i] };
            match c.weight_decay {
                WeightDecay::L2(wd) => gi += wd * p[i],
                WeightDecay::Decoupled(wd) => p[i] -= c.lr * wd * p[i],
                WeightDecay::None => {}
            }
            s.m[i] = b1 * s.m[i] + (1.0 - b1) * gi;
            s.v[i] = b2 * s.v[i] + (1.0 - b2) * gi * gi;
            s.vmax[i] = s.vmax[i].max(s.v[i]);
            let m_hat = s.m[i] / (1.0 - b1.powf(t as f64));
            let v_hat = if c.amsgrad { s.vmax[i] } else { s.v[i] } / (1.0 - b2.powf(t as f64));
            p[i] -= c.lr * m_hat / (v_hat.sqrt() + c.eps);
        }
    }

    fn trajectory(c: Adam, q: &Quadratic) {
        c.validate().expect("valid");
        let n = q.x0.len();
        let mut p = q.x0.clone();
        let (mut m, mut v, mut vmax) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut rp = widen(&p);
        let mut rs = RefState {
            m: vec![0.0; n],
            v: vec![0.0; n],
            vmax: vec![0.0; n],
        };
        for t in 1..=50 {
            let g = q.grad(&p);
            let state = AdamState {
                exp_avg: &mut m,
                exp_avg_sq: &mut v,
                max_exp_avg_sq: c.amsgrad.then_some(&mut vmax[..]),
            };
            c.step(t, &mut p, &g, state);
            reference(&c, t, &mut rp, &widen(&g), &mut rs);
        }
        assert_close(&format!("{c:?} param"), &p, &rp, 1e-5);
        assert_close(&format!("{c:?} exp_avg"), &m, &rs.m, 1e-5);
        assert_close(&format!("{c:?} exp_avg_sq"), &v, &rs.v, 1e-5);
        if c.amsgrad {
            assert_close(&format!("{c:?} max_exp_avg_sq"), &vmax, &rs.vmax, 1e-5);
        }
    }

    #[test]
    fn optim_adam_and_adamw_match_reference_for_every_option() {
        let q = Quadratic::new(31, 29);
        let decays = [
            WeightDecay::None,
            WeightDecay::L2(0.1),
            WeightDecay::Decoupled(0.1),
        ];
        for weight_decay in decays {
            for amsgrad in [false, true] {
                for maximize in [false, true] {
                    for betas in [(0.9, 0.999), (0.5, 0.9)] {
                        trajectory(
                            Adam {
                                lr: 0.05,
                                betas,
                                eps: 1e-8,
                                weight_decay,
                                amsgrad,
                                maximize,
                            },
                            &q,
                        );
                    }
                }
            }
        }
        trajectory(
            Adam {
                lr: 0.05,
                ..Adam::adamw()
            },
            &q,
        );
    }

    #[test]
    fn optim_adamw_defaults_are_torchs() {
        let c = Adam::adamw();
        assert_eq!((c.lr, c.betas, c.eps), (1e-3, (0.9, 0.999), 1e-8));
        assert_eq!(c.weight_decay, WeightDecay::Decoupled(1e-2));
    }

    #[test]
    fn optim_adam_validate_rejects_bad_options() {
        for c in [
            Adam {
                lr: -1.0,
                ..Adam::default()
            },
            Adam {
                eps: -1.0,
                ..Adam::default()
            },
            Adam {
                betas: (1.0, 0.999),
                ..Adam::default()
            },
            Adam {
                betas: (0.9, -0.1),
                ..Adam::default()
            },
            Adam {
                weight_decay: WeightDecay::Decoupled(-0.1),
                ..Adam::default()
            },
        ] {
            assert!(
                matches!(c.validate(), Err(crate::Error::Value(_))),
                "{c:?} accepted"
            );
        }
    }

    #[test]
    fn optim_adam_bitwise_across_thread_counts() {
        let q = Quadratic::new(BIG, 31);
        let c = Adam {
            amsgrad: true,
            ..Adam::adamw()
        };
        same_in_pools("adam", || {
            let n = q.x0.len();
            let mut p = q.x0.clone();
            let (mut m, mut v, mut vmax) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
            for t in 1..=3 {
                let g = q.grad(&p);
                let state = AdamState {
                    exp_avg: &mut m,
                    exp_avg_sq: &mut v,
                    max_exp_avg_sq: Some(&mut vmax),
                };
                c.step(t, &mut p, &g, state);
            }
            for s in [&m, &v, &vmax] {
                p.extend_from_slice(s);
            }
            p
        });
    }
}
