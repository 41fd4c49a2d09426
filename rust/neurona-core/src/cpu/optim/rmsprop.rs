//! RMSprop (optionally centered, optionally with momentum), following `torch/optim/rmsprop.py`:
//!
//! ```text
//! g = ±grad (+ wd * p for L2)
//! v = alpha * v + (1 - alpha) * g * g
//! centered: ga = lerp(ga, g, 1 - alpha); avg = sqrt(v - ga * ga) + eps
//! else:     avg = sqrt(v) + eps
//! momentum > 0: buf = momentum * buf + g / avg; p = p - lr * buf
//! else:         p = p - lr * g / avg
//! ```
//!
//! One deliberate difference: in the centered variant, when rounding makes `v - ga * ga`
//! slightly negative (it is >= 0 in exact arithmetic), it is clamped to 0 where PyTorch would
//! produce NaN; a NaN already in the inputs still propagates.

use super::options::{assert_len, non_negative, WeightDecay};
use super::{for_each_chunk, lerp, Update};
use crate::error::Result;

/// RMSprop hyperparameters; `Default` is PyTorch's (`lr=1e-2`, `alpha=0.99`, `eps=1e-8`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: WeightDecay,
    /// Momentum factor; 0 disables the momentum buffer (PyTorch uses a float here too).
    pub momentum: f64,
    pub centered: bool,
    pub maximize: bool,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

/// RMSprop's state, zero-filled at the start, each slice as long as the parameter.
#[derive(Debug)]
pub struct RmsPropState<'a> {
    /// Running average of squared gradients (PyTorch `square_avg`).
    pub square_avg: &'a mut [f32],
    /// Running average of gradients: `Some` iff `centered` (PyTorch `grad_avg`).
    pub grad_avg: Option<&'a mut [f32]>,
    /// `Some` iff `momentum > 0` (PyTorch `momentum_buffer`).
    pub momentum_buffer: Option<&'a mut [f32]>,
}

impl RmsProp {
    /// Checks the hyperparameters as `torch.optim.RMSprop.__init__` does.
    pub fn validate(&self) -> Result<()> {
        non_negative("learning rate", self.lr)?;
        non_negative("epsilon value", self.eps)?;
        non_negative("momentum value", self.momentum)?;
        self.weight_decay.validate()?;
        non_negative("alpha value", self.alpha)
    }

    /// One update of `param` in place; `t` is the 1-based step count (unused by the rule).
    ///
    /// Panics if the slice lengths disagree, `t == 0`, or an optional state slice is present
    /// when the config does not use it (or missing when it does).
    pub fn step(&self, t: u64, param: &mut [f32], grad: &[f32], state: RmsPropState) {
        let n = param.len();
        assert_len("rmsprop", "grad", n, grad.len());
        assert_len("rmsprop", "square_avg", n, state.square_avg.len());
        assert!(t >= 1, "rmsprop: the step count starts at 1");
        assert_eq!(
            state.grad_avg.is_some(),
            self.centered,
            "rmsprop: grad_avg iff centered"
        );
        assert_eq!(
            state.momentum_buffer.is_some(),
            self.momentum > 0.0,
            "rmsprop: momentum_buffer iff momentum > 0"
        );
        if let Some(s) = &state.grad_avg {
            assert_len("rmsprop", "grad_avg", n, s.len());
        }
        if let Some(s) = &state.momentum_buffer {
            assert_len("rmsprop", "momentum_buffer", n, s.len());
        }
        let k = Scalars {
            neg_lr: -self.lr as f32,
            sign: if self.maximize { -1.0 } else { 1.0 },
            l2: self.weight_decay.l2(),
            decay: self.weight_decay.decay_factor(self.lr),
            alpha: self.alpha as f32,
            one_minus_alpha: (1.0 - self.alpha) as f32,
            eps: self.eps as f32,
            momentum: self.momentum as f32,
        };
        let lanes = (
            param,
            grad,
            state.square_avg,
            state.grad_avg,
            state.momentum_buffer,
        );
        for_each_chunk(n, lanes, &k);
    }
}

struct Scalars {
    neg_lr: f32,
    sign: f32,
    l2: f32,
    decay: f32,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    momentum: f32,
}

type Lanes5<'a> = (
    &'a mut [f32],
    &'a [f32],
    &'a mut [f32],
    Option<&'a mut [f32]>,
    Option<&'a mut [f32]>,
);

impl<'a> Update<Lanes5<'a>> for Scalars {
    #[inline(always)]
    fn apply(&self, (p, g, v, ga, b): Lanes5<'a>) {
        match (ga, b) {
            (None, None) => self.run::<false, false>(p, g, v, &mut [], &mut []),
            (Some(ga), None) => self.run::<true, false>(p, g, v, ga, &mut []),
            (None, Some(b)) => self.run::<false, true>(p, g, v, &mut [], b),
            (Some(ga), Some(b)) => self.run::<true, true>(p, g, v, ga, b),
        }
    }
}

impl Scalars {
    /// The const flags select the variant at compile time, so each loop carries only the state
    /// it touches (the unused slices are empty and never indexed).
    fn run<const CENTERED: bool, const MOMENTUM: bool>(
        &self,
        p: &mut [f32],
        g: &[f32],
        v: &mut [f32],
        ga: &mut [f32],
        buf: &mut [f32],
    ) {
        let n = p.len();
        let (g, v) = (&g[..n], &mut v[..n]);
        let ga = if CENTERED { &mut ga[..n] } else { ga };
        let buf = if MOMENTUM { &mut buf[..n] } else { buf };
        let l2 = self.l2 != 0.0;
        for i in 0..n {
            let mut gi = self.sign * g[i];
            // Unconditional (x * 1.0 == x exactly): a conditional store would stop vectorization.
            p[i] *= self.decay;
            if l2 {
                gi += self.l2 * p[i];
            }
            v[i] = v[i] * self.alpha + self.one_minus_alpha * gi * gi;
            let avg = if CENTERED {
                ga[i] = lerp(ga[i], gi, self.one_minus_alpha);
                let var = v[i] + -ga[i] * ga[i];
                (if var < 0.0 { 0.0 } else { var }).sqrt() + self.eps
            } else {
                v[i].sqrt() + self.eps
            };
            if MOMENTUM {
                buf[i] = buf[i] * self.momentum + gi / avg;
                p[i] += self.neg_lr * buf[i];
            } else {
                p[i] += self.neg_lr * (gi / avg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_close, same_in_pools, widen, Quadratic, BIG};
    use super::*;

    struct RefState {
        v: Vec<f64>,
        ga: Vec<f64>,
        buf: Vec<f64>,
    }

    /// RMSprop in f64 from the published algorithm (Hinton's lecture 6e; Graves 2013 for the
    /// centered form; PyTorch docs).
    fn reference(c: &RmsProp, p: &mut [f64], g: &[f64], s: &mut RefState) {
        for i in 0..p.len() {
            let mut gi = if c.maximize { -g[i] } else { g[i] };
            match c.weight_decay {
                WeightDecay::L2(wd) => gi += wd * p[i],
                WeightDecay::Decoupled(wd) => p[i] *= 1.0 - c.lr * wd,
                WeightDecay::None => {}
            }
            s.v[i] = c.alpha * s.v[i] + (1.0 - c.alpha) * gi * gi;
            let mut vt = s.v[i];
            if c.centered {
                s.ga[i] = c.alpha * s.ga[i] + (1.0 - c.alpha) * gi;
                vt -= s.ga[i] * s.ga[i];
            }
            if c.momentum > 0.0 {
                s.buf[i] = c.momentum * s.buf[i] + gi / (vt.sqrt() + c.eps);
                p[i] -= c.lr * s.buf[i];
            } else {
                p[i] -= c.lr * gi / (vt.sqrt() + c.eps);
            }
        }
    }

    #[test]
    fn optim_rmsprop_matches_reference_for_every_option() {
        let q = Quadratic::new(33, 19);
        let decays = [
            WeightDecay::None,
            WeightDecay::L2(0.1),
            WeightDecay::Decoupled(0.1),
        ];
        for weight_decay in decays {
            for centered in [false, true] {
                for momentum in [0.0, 0.7] {
                    for maximize in [false, true] {
                        let c = RmsProp {
                            lr: 0.01,
                            alpha: 0.9,
                            eps: 1e-8,
                            weight_decay,
                            momentum,
                            centered,
                            maximize,
                        };
                        c.validate().expect("valid");
                        let n = q.x0.len();
                        let mut p = q.x0.clone();
                        let (mut v, mut ga, mut buf) =
                            (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
                        let mut rp = widen(&p);
                        let mut rs = RefState {
                            v: vec![0.0; n],
                            ga: vec![0.0; n],
                            buf: vec![0.0; n],
                        };
                        for t in 1..=50 {
                            let g = q.grad(&p);
                            let state = RmsPropState {
                                square_avg: &mut v,
                                grad_avg: centered.then_some(&mut ga[..]),
                                momentum_buffer: (momentum > 0.0).then_some(&mut buf[..]),
                            };
                            c.step(t, &mut p, &g, state);
                            reference(&c, &mut rp, &widen(&g), &mut rs);
                        }
                        assert_close(&format!("{c:?} param"), &p, &rp, 1e-5);
                        assert_close(&format!("{c:?} square_avg"), &v, &rs.v, 1e-5);
                        if centered {
                            assert_close(&format!("{c:?} grad_avg"), &ga, &rs.ga, 1e-5);
                        }
                        if momentum > 0.0 {
                            assert_close(&format!("{c:?} buffer"), &buf, &rs.buf, 1e-5);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn optim_rmsprop_validate_rejects_bad_options() {
        for c in [
            RmsProp {
                lr: -1.0,
                ..RmsProp::default()
            },
            RmsProp {
                eps: -1.0,
                ..RmsProp::default()
            },
            RmsProp {
                momentum: -0.5,
                ..RmsProp::default()
            },
            RmsProp {
                alpha: -0.5,
                ..RmsProp::default()
            },
            RmsProp {
                weight_decay: WeightDecay::L2(f64::NAN),
                ..RmsProp::default()
            },
        ] {
            assert!(
                matches!(c.validate(), Err(crate::Error::Value(_))),
                "{c:?} accepted"
            );
        }
    }

    #[test]
    fn optim_rmsprop_bitwise_across_thread_counts() {
        let q = Quadratic::new(BIG, 23);
        let c = RmsProp {
            momentum: 0.9,
            centered: true,
            ..RmsProp::default()
        };
        same_in_pools("rmsprop", || {
            let n = q.x0.len();
            let mut p = q.x0.clone();
            let (mut v, mut ga, mut buf) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
            for t in 1..=3 {
                let g = q.grad(&p);
                let state = RmsPropState {
                    square_avg: &mut v,
                    grad_avg: Some(&mut ga),
                    momentum_buffer: Some(&mut buf),
                };
                c.step(t, &mut p, &g, state);
            }
            for s in [&v, &ga, &buf] {
                p.extend_from_slice(s);
            }
            p
        });
    }
}
