//! A plain f64 implementation of the recurrences, straight from their equations, that the
//! kernels are tested against (forward values, and gradients by finite differences of it).

use super::Mode;

pub struct RefInputs {
    pub mode: Mode,
    pub steps: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
    pub reverse: bool,
    pub x: Vec<f64>,
    pub h0: Vec<f64>,
    pub c0: Vec<f64>,
    pub w_ih: Vec<f64>,
    pub w_hh: Vec<f64>,
    pub b_ih: Option<Vec<f64>>,
    pub b_hh: Option<Vec<f64>>,
}

fn sig(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// W v + b for W (rows, cols) row-major.
fn affine(w: &[f64], b: Option<&Vec<f64>>, v: &[f64], rows: usize) -> Vec<f64> {
    let cols = v.len();
    (0..rows)
        .map(|r| {
            let dot: f64 = (0..cols).map(|k| w[r * cols + k] * v[k]).sum();
            dot + b.map_or(0.0, |b| b[r])
        })
        .collect()
}

/// The output buffer of `sequence::forward`: (T + 1 [+ 1], N, H).
pub fn forward(p: &RefInputs) -> Vec<f64> {
    let (t, n, i, h) = (p.steps, p.batch, p.input, p.hidden);
    let g = p.mode.gates() * h;
    let lstm = p.mode == Mode::Lstm;
    let rows = t + 1 + usize::from(lstm);
    let mut y = vec![0.0; rows * n * h];
    for b in 0..n {
        let mut hv = p.h0[b * h..(b + 1) * h].to_vec();
        let mut cv = if lstm {
            p.c0[b * h..(b + 1) * h].to_vec()
        } else {
            vec![]
        };
        for s in 0..t {
            let pos = if p.reverse { t - 1 - s } else { s };
            let xv = &p.x[(pos * n + b) * i..(pos * n + b + 1) * i];
            let gi = affine(&p.w_ih, p.b_ih.as_ref(), xv, g);
            let gh = affine(&p.w_hh, p.b_hh.as_ref(), &hv, g);
            hv = match p.mode {
                Mode::RnnTanh => (0..h).map(|j| (gi[j] + gh[j]).tanh()).collect(),
                Mode::RnnRelu => (0..h).map(|j| (gi[j] + gh[j]).max(0.0)).collect(),
                Mode::Lstm => {
                    let a = |k: usize, j: usize| gi[k * h + j] + gh[k * h + j];
                    let mut out = vec![0.0; h];
                    for j in 0..h {
                        let (ig, fg, gg, og) =
                            (sig(a(0, j)), sig(a(1, j)), a(2, j).tanh(), sig(a(3, j)));
                        cv[j] = fg * cv[j] + ig * gg;
                        out[j] = og * cv[j].tanh();
                    }
                    out
                }
                Mode::Gru => (0..h)
                    .map(|j| {
                        let r = sig(gi[j] + gh[j]);
                        let z = sig(gi[h + j] + gh[h + j]);
                        let nv = (gi[2 * h + j] + r * gh[2 * h + j]).tanh();
                        (1.0 - z) * nv + z * hv[j]
                    })
                    .collect(),
            };
            y[(pos * n + b) * h..(pos * n + b + 1) * h].copy_from_slice(&hv);
        }
        y[(t * n + b) * h..(t * n + b + 1) * h].copy_from_slice(&hv);
        if lstm {
            y[((t + 1) * n + b) * h..((t + 1) * n + b + 1) * h].copy_from_slice(&cv);
        }
    }
    y
}
