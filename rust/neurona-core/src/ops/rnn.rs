//! Recurrent layers as differentiable ops: one op per layer-direction over a whole sequence
//! (Elman RNN with tanh or relu, LSTM, GRU), with backpropagation through time as its
//! backward. The kernels live in `crate::cpu::rnn`; this file checks shapes, moves data in and
//! out of tensors, and records the graph node.
//!
//! The op returns ONE tensor of shape (T + 1 [+ 1 for LSTM], N, H): the hidden state at every
//! position, then h_n, then c_n (see `cpu::rnn::sequence`). Callers slice it; the slices'
//! gradients flow back into this single buffer, so the op has a single backward.

use crate::autograd::BackwardOp;
pub use crate::cpu::rnn::Mode as RnnMode;
use crate::cpu::rnn::{self, Needs, Problem, Saved};
use crate::parallel::install;
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Device, Tensor};
use crate::{bail, Result};

/// The tensors of one layer-direction. Shapes (G = gates * H): x (T, N, I), h0 (N, H),
/// c0 (N, H) for an LSTM only, w_ih (G, I), w_hh (G, H), b_ih and b_hh (G,).
#[derive(Clone, Copy)]
pub struct RnnInputs<'a> {
    pub x: &'a Tensor,
    pub h0: &'a Tensor,
    pub c0: Option<&'a Tensor>,
    pub w_ih: &'a Tensor,
    pub w_hh: &'a Tensor,
    pub b_ih: Option<&'a Tensor>,
    pub b_hh: Option<&'a Tensor>,
}

/// (T, N, I, H) after checking every shape against the others.
fn check(mode: RnnMode, a: &RnnInputs) -> Result<(usize, usize, usize, usize)> {
    let name = mode.name();
    let all = [
        Some(a.x),
        Some(a.h0),
        a.c0,
        Some(a.w_ih),
        Some(a.w_hh),
        a.b_ih,
        a.b_hh,
    ];
    for t in all.into_iter().flatten() {
        if t.dtype() != DType::F32 {
            bail!(Type, "{name}: expected float32 tensors, got {}", t.dtype());
        }
        if t.device() != Device::Cpu {
            bail!(
                Runtime,
                "{name}: expected tensors on the cpu, got one on {}",
                t.device()
            );
        }
    }
    let gates = mode.gates();
    let ws = a.w_hh.shape();
    if ws.len() != 2 || ws[0] != gates * ws[1] {
        bail!(
            Value,
            "{name}: weight_hh must have shape ({gates}*hidden_size, hidden_size), got {}",
            fmt_shape(ws)
        );
    }
    let h = ws[1];
    let g = gates * h;
    let wi = a.w_ih.shape();
    if wi.len() != 2 || wi[0] != g {
        bail!(
            Value,
            "{name}: weight_ih must have shape ({g}, input_size) for hidden_size {h}, got {}",
            fmt_shape(wi)
        );
    }
    let i = wi[1];
    let xs = a.x.shape();
    if xs.len() != 3 {
        bail!(
            Value,
            "{name}: expected input of 3 dimensions (seq_len, batch, input_size), got {} \
             dimensions (shape {})",
            xs.len(),
            fmt_shape(xs)
        );
    }
    let (t, n) = (xs[0], xs[1]);
    if t == 0 {
        bail!(
            Value,
            "{name}: expected a sequence of at least one time step, got input of shape {}",
            fmt_shape(xs)
        );
    }
    if xs[2] != i {
        bail!(
            Value,
            "{name}: input has {} features (shape {}) but the weights expect input_size {i}",
            xs[2],
            fmt_shape(xs)
        );
    }
    let state = [n, h];
    if a.h0.shape() != state {
        bail!(
            Value,
            "{name}: expected hidden state h0 of shape {}, got {}",
            fmt_shape(&state),
            fmt_shape(a.h0.shape())
        );
    }
    match (mode, a.c0) {
        (RnnMode::Lstm, None) => bail!(Value, "LSTM: the cell state c0 is missing"),
        (RnnMode::Lstm, Some(c0)) if c0.shape() != state => bail!(
            Value,
            "LSTM: expected cell state c0 of shape {}, got {}",
            fmt_shape(&state),
            fmt_shape(c0.shape())
        ),
        (RnnMode::Lstm, _) => {}
        (_, Some(_)) => bail!(Value, "{name}: only an LSTM takes a cell state c0"),
        (_, None) => {}
    }
    for (b, what) in [(a.b_ih, "bias_ih"), (a.b_hh, "bias_hh")] {
        if let Some(b) = b {
            if b.shape() != [g] {
                bail!(
                    Value,
                    "{name}: {what} must have shape ({g},), got {}",
                    fmt_shape(b.shape())
                );
            }
        }
    }
    Ok((t, n, i, h))
}

/// The values of the small inputs, in row-major order. x and the weights, the large ones,
/// are read in place (`with_slice`): the weights alone are 4 (I + H + 2) H floats, copied
/// twice per step of training otherwise.
struct Values {
    h0: Vec<f32>,
    c0: Option<Vec<f32>>,
    b_ih: Option<Vec<f32>>,
    b_hh: Option<Vec<f32>>,
}

impl Values {
    fn read(a: &RnnInputs) -> Result<Self> {
        let opt = |t: Option<&Tensor>| t.map(|t| t.to_vec::<f32>()).transpose();
        Ok(Values {
            h0: a.h0.to_vec()?,
            c0: opt(a.c0)?,
            b_ih: opt(a.b_ih)?,
            b_hh: opt(a.b_hh)?,
        })
    }

    fn problem<'a>(
        &'a self,
        mode: RnnMode,
        reverse: bool,
        dims: (usize, usize, usize, usize),
        (w_ih, w_hh): (&'a [f32], &'a [f32]),
    ) -> Problem<'a> {
        let (steps, batch, input, hidden) = dims;
        Problem {
            mode,
            steps,
            batch,
            input,
            hidden,
            reverse,
            w_ih,
            w_hh,
            b_ih: self.b_ih.as_deref(),
            b_hh: self.b_hh.as_deref(),
        }
    }
}

/// Calls `f` with the weights' values, borrowed where they are contiguous.
fn with_weights<R>(a: &RnnInputs, f: impl FnOnce((&[f32], &[f32])) -> R) -> Result<R> {
    a.w_ih
        .with_slice(|w_ih: &[f32]| a.w_hh.with_slice(|w_hh: &[f32]| f((w_ih, w_hh))))?
}

impl Tensor {
    /// One recurrent layer-direction over a time-major sequence; `reverse` reads it from the
    /// last step to the first. Returns (T + 1 [+ 1], N, H): states by position, h_n, [c_n].
    pub fn rnn_layer(mode: RnnMode, reverse: bool, a: &RnnInputs) -> Result<Tensor> {
        let dims = check(mode, a)?;
        let (t, n, _, h) = dims;
        let v = Values::read(a)?;
        let (y, saved) = with_weights(a, |w| {
            let p = v.problem(mode, reverse, dims, w);
            let rows = p.out_rows();
            a.x.with_slice(|x: &[f32]| {
                install(|| {
                    let mut y = vec![0.0f32; rows * n * h];
                    let saved = rnn::forward(&p, x, &v.h0, v.c0.as_deref(), &mut y);
                    (y, saved)
                })
            })
        })??;
        let rows = t + 1 + usize::from(mode == RnnMode::Lstm);
        debug_assert_eq!(y.len(), rows * n * h);
        let y = Tensor::from_vec(y, &[rows, n, h])?;
        let inputs: Vec<&Tensor> = [
            Some(a.x),
            Some(a.h0),
            a.c0,
            Some(a.w_ih),
            Some(a.w_hh),
            a.b_ih,
            a.b_hh,
        ]
        .into_iter()
        .flatten()
        .collect();
        let op = RnnBackward {
            mode,
            reverse,
            dims,
            has: [a.c0.is_some(), a.b_ih.is_some(), a.b_hh.is_some()],
            y: y.clone(),
            saved,
        };
        Ok(Tensor::from_op(y, &inputs, op))
    }
}

struct RnnBackward {
    mode: RnnMode,
    reverse: bool,
    dims: (usize, usize, usize, usize),
    /// Whether c0, b_ih and b_hh were given (they are absent from `inputs` otherwise).
    has: [bool; 3],
    y: Tensor,
    saved: Saved,
}

impl BackwardOp for RnnBackward {
    fn name(&self) -> &'static str {
        match self.mode {
            RnnMode::RnnTanh | RnnMode::RnnRelu => "rnn",
            RnnMode::Lstm => "lstm",
            RnnMode::Gru => "gru",
        }
    }

    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        // Put the optional inputs back in their slots: x, h0, c0, w_ih, w_hh, b_ih, b_hh.
        let mut it = inputs.iter();
        let mut next = |present: bool| if present { it.next() } else { None };
        let slots: [Option<&Tensor>; 7] = [
            next(true),
            next(true),
            next(self.has[0]),
            next(true),
            next(true),
            next(self.has[1]),
            next(self.has[2]),
        ];
        let req = |k: usize| slots[k].is_some_and(Tensor::requires_grad);
        let (Some(x), Some(h0), Some(w_ih), Some(w_hh)) = (slots[0], slots[1], slots[3], slots[4])
        else {
            bail!(Runtime, "{}: backward got too few inputs", self.name());
        };
        let a = RnnInputs {
            x,
            h0,
            c0: slots[2],
            w_ih,
            w_hh,
            b_ih: slots[5],
            b_hh: slots[6],
        };
        let v = Values::read(&a)?;
        let needs = Needs {
            x: req(0),
            h0: req(1),
            c0: req(2),
            w_ih: req(3),
            w_hh: req(4),
            b_ih: req(5),
            b_hh: req(6),
        };
        // The large inputs are read in place (no copies of x, the weights, y and dy).
        let grads = with_weights(&a, |w| {
            let p = v.problem(self.mode, self.reverse, self.dims, w);
            x.with_slice(|xs: &[f32]| {
                g.with_slice(|dy: &[f32]| {
                    self.y.with_slice(|y: &[f32]| {
                        install(|| {
                            let c0 = v.c0.as_deref();
                            rnn::backward(&p, xs, &v.h0, c0, y, &self.saved, dy, needs)
                        })
                    })
                })
            })
        })????;
        let as_tensor = |d: Option<Vec<f32>>, like: Option<&Tensor>| -> Result<Option<Tensor>> {
            match (d, like) {
                (Some(d), Some(t)) => Ok(Some(Tensor::from_vec(d, t.shape())?)),
                _ => Ok(None),
            }
        };
        let all = [
            as_tensor(grads.x, slots[0])?,
            as_tensor(grads.h0, slots[1])?,
            as_tensor(grads.c0, slots[2])?,
            as_tensor(grads.w_ih, slots[3])?,
            as_tensor(grads.w_hh, slots[4])?,
            as_tensor(grads.b_ih, slots[5])?,
            as_tensor(grads.b_hh, slots[6])?,
        ];
        // Back to the order of `inputs`, skipping the slots that were not given.
        Ok(all
            .into_iter()
            .zip(slots)
            .filter(|(_, s)| s.is_some())
            .map(|(g, _)| g)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let mut r = crate::rng::Rng::seeded(seed);
        let v = (0..n).map(|_| r.uniform_f32() - 0.5).collect();
        Tensor::from_vec(v, shape).expect("shape")
    }

    fn err(r: Result<Tensor>) -> String {
        match r {
            Err(crate::Error::Value(m)) => m,
            Err(e) => panic!("expected a ValueError, got {e:?}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn output_has_states_then_final_states() {
        let (x, h0, c0) = (t(&[5, 2, 3], 1), t(&[2, 4], 2), t(&[2, 4], 3));
        let (wi, wh) = (t(&[16, 3], 4), t(&[16, 4], 5));
        let a = RnnInputs {
            x: &x,
            h0: &h0,
            c0: Some(&c0),
            w_ih: &wi,
            w_hh: &wh,
            b_ih: None,
            b_hh: None,
        };
        for reverse in [false, true] {
            let y = Tensor::rnn_layer(RnnMode::Lstm, reverse, &a).expect("runs");
            assert_eq!(y.shape(), [7, 2, 4]);
            let v = y.to_vec::<f32>().expect("f32");
            let last = if reverse { 0 } else { 4 };
            assert_eq!(
                v[5 * 8..6 * 8],
                v[last * 8..(last + 1) * 8],
                "h_n is the last state"
            );
        }
    }

    #[test]
    fn bad_shapes_name_expected_and_given() {
        let (x, h0) = (t(&[5, 2, 3], 1), t(&[2, 4], 2));
        let (wi, wh) = (t(&[12, 3], 4), t(&[12, 4], 5));
        let ok = RnnInputs {
            x: &x,
            h0: &h0,
            c0: None,
            w_ih: &wi,
            w_hh: &wh,
            b_ih: None,
            b_hh: None,
        };
        assert!(Tensor::rnn_layer(RnnMode::Gru, false, &ok).is_ok());
        let x7 = t(&[5, 2, 7], 1);
        let m = err(Tensor::rnn_layer(
            RnnMode::Gru,
            false,
            &RnnInputs { x: &x7, ..ok },
        ));
        assert!(
            m.contains("7 features") && m.contains("input_size 3"),
            "{m}"
        );
        let x2 = t(&[5, 3], 1);
        let m = err(Tensor::rnn_layer(
            RnnMode::Gru,
            false,
            &RnnInputs { x: &x2, ..ok },
        ));
        assert!(m.contains("3 dimensions") && m.contains("(5, 3)"), "{m}");
        let hb = t(&[3, 4], 1);
        let m = err(Tensor::rnn_layer(
            RnnMode::Gru,
            false,
            &RnnInputs { h0: &hb, ..ok },
        ));
        assert!(m.contains("(2, 4)") && m.contains("(3, 4)"), "{m}");
        let m = err(Tensor::rnn_layer(RnnMode::Lstm, false, &ok));
        assert!(m.contains("weight_hh"), "{m}");
        let b = t(&[11], 1);
        let m = err(Tensor::rnn_layer(
            RnnMode::Gru,
            false,
            &RnnInputs {
                b_hh: Some(&b),
                ..ok
            },
        ));
        assert!(
            m.contains("bias_hh") && m.contains("(12,)") && m.contains("(11,)"),
            "{m}"
        );
        let x0 = t(&[0, 2, 3], 1);
        let m = err(Tensor::rnn_layer(
            RnnMode::Gru,
            false,
            &RnnInputs { x: &x0, ..ok },
        ));
        assert!(m.contains("at least one time step"), "{m}");
    }

    #[test]
    fn gradients_reach_every_input_in_order() {
        let (x, h0) = (t(&[3, 2, 3], 1), t(&[2, 4], 2));
        let (wi, wh, bi, bh) = (t(&[12, 3], 4), t(&[12, 4], 5), t(&[12], 6), t(&[12], 7));
        for v in [&x, &h0, &wi, &wh, &bi, &bh] {
            v.set_requires_grad(true).expect("leaf");
        }
        let a = RnnInputs {
            x: &x,
            h0: &h0,
            c0: None,
            w_ih: &wi,
            w_hh: &wh,
            b_ih: Some(&bi),
            b_hh: Some(&bh),
        };
        let y = Tensor::rnn_layer(RnnMode::Gru, true, &a).expect("runs");
        let total = y.sum(&[], false).expect("sum");
        crate::autograd::backward(&total, None, false).expect("backward");
        for v in [&x, &h0, &wi, &wh, &bi, &bh] {
            let g = v.grad().expect("has a gradient");
            assert_eq!(g.shape(), v.shape());
        }
    }
}
