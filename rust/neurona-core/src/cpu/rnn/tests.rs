//! Tests of the sequence drivers (and through them the cell kernels): forward against the f64
//! reference, backward against finite differences of that reference, every mode in both
//! directions with and without biases, and bitwise equality across thread counts.

use super::reference::{self, RefInputs};
use super::sequence::column_sums;
use super::*;
use crate::rng::Rng;

const MODES: [Mode; 4] = [Mode::RnnTanh, Mode::RnnRelu, Mode::Lstm, Mode::Gru];

fn rand_vec(rng: &mut Rng, n: usize, scale: f32) -> Vec<f64> {
    // Drawn in f32 so the f32 kernels and the f64 reference see exactly the same numbers.
    (0..n)
        .map(|_| ((rng.uniform_f32() * 2.0 - 1.0) * scale) as f64)
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn make(
    mode: Mode,
    (t, n, i, h): (usize, usize, usize, usize),
    reverse: bool,
    bias: bool,
    seed: u64,
) -> RefInputs {
    let mut rng = Rng::seeded(seed);
    let g = mode.gates() * h;
    let w = 1.0 / (h as f32).sqrt();
    RefInputs {
        mode,
        steps: t,
        batch: n,
        input: i,
        hidden: h,
        reverse,
        x: rand_vec(&mut rng, t * n * i, 1.0),
        h0: rand_vec(&mut rng, n * h, 0.5),
        c0: rand_vec(&mut rng, n * h, 0.5),
        w_ih: rand_vec(&mut rng, g * i, w),
        w_hh: rand_vec(&mut rng, g * h, w),
        b_ih: bias.then(|| rand_vec(&mut rng, g, w)),
        b_hh: bias.then(|| rand_vec(&mut rng, g, w)),
    }
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

/// The f32 copies of a case's tensors, which a `Problem` borrows.
struct F32Case {
    x: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Option<Vec<f32>>,
    b_hh: Option<Vec<f32>>,
}

impl F32Case {
    fn new(r: &RefInputs) -> Self {
        F32Case {
            x: f32s(&r.x),
            h0: f32s(&r.h0),
            c0: f32s(&r.c0),
            w_ih: f32s(&r.w_ih),
            w_hh: f32s(&r.w_hh),
            b_ih: r.b_ih.as_deref().map(f32s),
            b_hh: r.b_hh.as_deref().map(f32s),
        }
    }

    fn problem<'a>(&'a self, r: &RefInputs) -> Problem<'a> {
        Problem {
            mode: r.mode,
            steps: r.steps,
            batch: r.batch,
            input: r.input,
            hidden: r.hidden,
            reverse: r.reverse,
            w_ih: &self.w_ih,
            w_hh: &self.w_hh,
            b_ih: self.b_ih.as_deref(),
            b_hh: self.b_hh.as_deref(),
        }
    }

    fn c0(&self, r: &RefInputs) -> Option<&[f32]> {
        (r.mode == Mode::Lstm).then_some(&self.c0[..])
    }

    fn forward(&self, r: &RefInputs) -> (Vec<f32>, Saved) {
        let p = self.problem(r);
        let mut y = vec![f32::NAN; p.out_rows() * r.batch * r.hidden];
        let saved = forward(&p, &self.x, &self.h0, self.c0(r), &mut y);
        (y, saved)
    }

    fn all_grads(&self, r: &RefInputs, dy: &[f32]) -> Grads {
        let (y, saved) = self.forward(r);
        let needs = Needs {
            x: true,
            h0: true,
            c0: true,
            w_ih: true,
            w_hh: true,
            b_ih: true,
            b_hh: true,
        };
        let p = self.problem(r);
        backward(&p, &self.x, &self.h0, self.c0(r), &y, &saved, dy, needs)
    }
}

fn assert_close(got: &[f32], want: &[f64], atol: f64, rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a as f64 - b).abs() <= atol + rtol * b.abs(),
            "{what}[{k}]: got {a}, want {b}"
        );
    }
}

fn cases() -> Vec<RefInputs> {
    let mut out = vec![];
    let mut seed = 1;
    for mode in MODES {
        for reverse in [false, true] {
            for bias in [true, false] {
                seed += 1;
                out.push(make(mode, (4, 3, 5, 4), reverse, bias, seed));
                // A hidden size with a full block of lanes and a partial one.
                let h = LANES + 3;
                out.push(make(mode, (3, 2, 3, h), reverse, bias, seed + 100));
            }
        }
    }
    out
}

#[test]
fn forward_matches_the_f64_reference() {
    for r in cases() {
        let (y, _) = F32Case::new(&r).forward(&r);
        let want = reference::forward(&r);
        let what = format!(
            "{:?} reverse={} bias={}",
            r.mode,
            r.reverse,
            r.b_ih.is_some()
        );
        assert_close(&y, &want, 2e-6, 2e-5, &what);
    }
}

#[test]
fn single_step_and_single_row_match_the_reference() {
    for mode in MODES {
        for dims in [(1, 1, 1, 1), (1, 2, 3, 5), (3, 1, 2, 7)] {
            let r = make(mode, dims, false, true, 99);
            let (y, _) = F32Case::new(&r).forward(&r);
            assert_close(
                &y,
                &reference::forward(&r),
                2e-6,
                2e-5,
                &format!("{mode:?} {dims:?}"),
            );
        }
    }
}

#[test]
fn zero_initial_state_matches_the_reference() {
    // From h0 = 0 the first step multiplies x alone (`sequence::forward`); with a non-zero h0
    // everything else is the same, so a wrong first step shows up here only.
    for r in cases() {
        let mut r = r;
        r.h0.iter_mut().for_each(|v| *v = 0.0);
        let case = F32Case::new(&r);
        let (y, _) = case.forward(&r);
        let what = format!(
            "{:?} reverse={} bias={}",
            r.mode,
            r.reverse,
            r.b_ih.is_some()
        );
        assert_close(&y, &reference::forward(&r), 2e-6, 2e-5, &what);
        // The weight gradients read the same Z rows (zeros in the first step's h_prev).
        let w: Vec<f64> = (0..y.len()).map(|k| ((k % 7) as f64 - 3.0) * 0.1).collect();
        let grads = case.all_grads(&r, &f32s(&w));
        let want = numerical(&mut r, &w, |r| &mut r.w_hh);
        assert_close(
            grads.w_hh.as_deref().expect("w_hh"),
            &want,
            1e-4,
            1e-3,
            &what,
        );
    }
}

/// d(sum(w * y))/d(v) for one input vector of the reference, by central differences in f64.
fn numerical(r: &mut RefInputs, w: &[f64], pick: fn(&mut RefInputs) -> &mut Vec<f64>) -> Vec<f64> {
    let eps = 1e-6;
    let len = pick(r).len();
    let objective = |r: &RefInputs| -> f64 {
        reference::forward(r)
            .iter()
            .zip(w)
            .map(|(a, b)| a * b)
            .sum()
    };
    (0..len)
        .map(|k| {
            let orig = pick(r)[k];
            pick(r)[k] = orig + eps;
            let plus = objective(r);
            pick(r)[k] = orig - eps;
            let minus = objective(r);
            pick(r)[k] = orig;
            (plus - minus) / (2.0 * eps)
        })
        .collect()
}

#[test]
fn backward_matches_finite_differences() {
    for mut r in cases() {
        let f = F32Case::new(&r);
        let rows = r.steps + 1 + usize::from(r.mode == Mode::Lstm);
        let mut rng = Rng::seeded(7);
        let w = rand_vec(&mut rng, rows * r.batch * r.hidden, 1.0);
        let grads = f.all_grads(&r, &f32s(&w));
        let what = format!(
            "{:?} reverse={} bias={}",
            r.mode,
            r.reverse,
            r.b_ih.is_some()
        );
        let (atol, rtol) = (2e-5, 1e-4);
        let check = |got: &Option<Vec<f32>>, want: Vec<f64>, name: &str| {
            let got = got
                .as_ref()
                .unwrap_or_else(|| panic!("{what}: no {name} gradient"));
            assert_close(got, &want, atol, rtol, &format!("{what} d{name}"));
        };
        check(&grads.x, numerical(&mut r, &w, |r| &mut r.x), "x");
        check(&grads.h0, numerical(&mut r, &w, |r| &mut r.h0), "h0");
        check(&grads.w_ih, numerical(&mut r, &w, |r| &mut r.w_ih), "w_ih");
        check(&grads.w_hh, numerical(&mut r, &w, |r| &mut r.w_hh), "w_hh");
        if r.mode == Mode::Lstm {
            check(&grads.c0, numerical(&mut r, &w, |r| &mut r.c0), "c0");
        }
        if r.b_ih.is_some() {
            let pick_bih: fn(&mut RefInputs) -> &mut Vec<f64> =
                |r| r.b_ih.as_mut().expect("has bias");
            let pick_bhh: fn(&mut RefInputs) -> &mut Vec<f64> =
                |r| r.b_hh.as_mut().expect("has bias");
            check(&grads.b_ih, numerical(&mut r, &w, pick_bih), "b_ih");
            check(&grads.b_hh, numerical(&mut r, &w, pick_bhh), "b_hh");
        }
    }
}

#[test]
fn only_requested_gradients_are_computed() {
    let r = make(Mode::Lstm, (3, 2, 3, 4), false, true, 5);
    let f = F32Case::new(&r);
    let (y, saved) = f.forward(&r);
    let dy = vec![1.0f32; y.len()];
    let needs = Needs {
        w_hh: true,
        ..Needs::default()
    };
    let p = f.problem(&r);
    let g = backward(&p, &f.x, &f.h0, f.c0(&r), &y, &saved, &dy, needs);
    assert!(g.w_hh.is_some());
    assert!(g.x.is_none() && g.h0.is_none() && g.c0.is_none() && g.w_ih.is_none());
    assert!(g.b_ih.is_none() && g.b_hh.is_none());
    // The same dW_hh as when everything is asked for.
    assert_eq!(g.w_hh, f.all_grads(&r, &dy).w_hh);
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a local pool")
        .install(f)
}

#[test]
fn results_are_bitwise_identical_across_thread_counts() {
    // Batches below, at and off whole row blocks (each thread runs its rows through the
    // whole sequence); 67 rows of 256 also make the cell kernels of the one-step ops split.
    // 20 steps of 33 rows: the weight-gradient product has several K blocks, ending inside
    // steps (one thread multiplies them as they complete, several after the recurrence).
    assert!(rows_per_task(67, 256) < 67, "the case must split");
    for (t, n, h) in [
        (3, 1, 24),
        (3, 7, 24),
        (3, 33, 24),
        (3, 64, 40),
        (3, 67, 256),
        (20, 33, 24),
    ] {
        let dims = (t, n, 8, h);
        for mode in MODES {
            for reverse in [false, true] {
                let r = make(mode, dims, reverse, true, 11);
                let f = F32Case::new(&r);
                let rows = r.steps + 1 + usize::from(mode == Mode::Lstm);
                let mut rng = Rng::seeded(3);
                let dy = f32s(&rand_vec(&mut rng, rows * r.batch * r.hidden, 1.0));
                let run = || {
                    let (y, _) = f.forward(&r);
                    let g = f.all_grads(&r, &dy);
                    (y, g.x, g.h0, g.c0, g.w_ih, g.w_hh, g.b_ih, g.b_hh)
                };
                let one = in_pool(1, run);
                for threads in [2, 3] {
                    assert!(
                        one == in_pool(threads, run),
                        "{mode:?} reverse={reverse} batch={n}: {threads} threads differ from 1"
                    );
                }
            }
        }
    }
}

/// A training step's request (weights and biases, no input or initial-state gradients) takes
/// other paths (dG packed as produced, no per-step dG kept): the same bits as asking for
/// everything, at any thread count.
#[test]
fn weight_only_gradients_match_the_full_request_at_any_thread_count() {
    for n in [1, 7, 33, 64, 67] {
        for mode in MODES {
            let r = make(mode, (4, n, 8, 24), n % 2 == 1, true, 17);
            let f = F32Case::new(&r);
            let rows = r.steps + 1 + usize::from(mode == Mode::Lstm);
            let mut rng = Rng::seeded(4);
            let dy = f32s(&rand_vec(&mut rng, rows * r.batch * r.hidden, 1.0));
            let all = f.all_grads(&r, &dy);
            let want = (all.w_ih, all.w_hh, all.b_ih, all.b_hh);
            let run = || {
                let (y, saved) = f.forward(&r);
                let needs = Needs {
                    w_ih: true,
                    w_hh: true,
                    b_ih: true,
                    b_hh: true,
                    ..Needs::default()
                };
                let p = f.problem(&r);
                let g = backward(&p, &f.x, &f.h0, f.c0(&r), &y, &saved, &dy, needs);
                assert!(g.x.is_none() && g.h0.is_none() && g.c0.is_none());
                (g.w_ih, g.w_hh, g.b_ih, g.b_hh)
            };
            for threads in [1, 2, 3] {
                assert!(
                    in_pool(threads, run) == want,
                    "{mode:?} batch={n}: {threads} threads differ from the full request"
                );
            }
        }
    }
}

#[test]
fn column_sums_are_exact_and_thread_independent() {
    let (rows, cols) = (300, 250);
    let m: Vec<f32> = (0..rows * cols)
        .map(|k| ((k * 7919) % 1000) as f32 * 1e-3)
        .collect();
    let one = in_pool(1, || column_sums(&m, rows, cols));
    let two = in_pool(2, || column_sums(&m, rows, cols));
    assert_eq!(one, two);
    for j in [0, 63, 64, 249] {
        let want: f64 = (0..rows).map(|r| m[r * cols + j] as f64).sum();
        assert!((one[j] as f64 - want).abs() < 1e-3, "column {j}");
    }
}

#[test]
fn rows_per_task_keeps_small_steps_on_one_task() {
    assert_eq!(rows_per_task(64, 16), 64);
    assert_eq!(rows_per_task(1, 1 << 20), 1);
    let r = rows_per_task(256, 128);
    assert!(r < 256 && r * 128 >= CELL_GRAIN);
    assert_eq!(rows_per_task(0, 8), 1);
}

#[test]
fn transpose_matches_the_definition_on_any_thread_count() {
    // The weight-gradient shapes of an LSTM (large: split in strips) and small odd ones.
    for (rows, cols) in [(161, 512), (300, 301), (3, 5), (1, 40)] {
        let src: Vec<f32> = (0..rows * cols).map(|k| k as f32).collect();
        for threads in [1, 3] {
            crate::parallel::set_num_threads(threads);
            let mut dst = vec![-1.0f32; rows * cols];
            stacked::transpose_into(&src, rows, cols, &mut dst);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        dst[c * rows + r],
                        src[r * cols + c],
                        "{rows}x{cols} at ({r}, {c})"
                    );
                }
            }
        }
    }
    crate::parallel::set_num_threads(1);
}
