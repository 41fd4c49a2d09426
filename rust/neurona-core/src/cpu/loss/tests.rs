//! Tests of the fused losses against f64 references and finite differences.

use super::*;

fn data(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let u = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
            (lo + (hi - lo) * u) as f32
        })
        .collect()
}

fn labels(n: usize, c: usize, seed: u64) -> Vec<i64> {
    data(n, seed, 0.0, c as f64)
        .iter()
        .map(|&v| (v as i64).min(c as i64 - 1))
        .collect()
}

/// Per-sample cross-entropy in f64 from PyTorch's documented formula:
/// smoothed target q = (1 - eps) * t + eps / C, loss = -sum_c q_c log_softmax(x)_c.
fn ce_ref(x: &[f64], c: usize, target: &[Vec<f64>], eps: f64) -> Vec<f64> {
    x.chunks(c)
        .zip(target)
        .map(|(row, t)| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            row.iter()
                .zip(t)
                .map(|(v, t)| -((1.0 - eps) * t + eps / c as f64) * (v - lse))
                .sum()
        })
        .collect()
}

fn one_hot(l: &[i64], c: usize) -> Vec<Vec<f64>> {
    l.iter()
        .map(|&y| {
            (0..c)
                .map(|k| if k as i64 == y { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

fn rows(p: &[f32], c: usize) -> Vec<Vec<f64>> {
    p.chunks(c)
        .map(|r| r.iter().map(|&v| v as f64).collect())
        .collect()
}

fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

fn close(what: &str, got: f64, want: f64, rtol: f64) {
    assert!(got.is_finite(), "{what}: {got}");
    assert!(
        (got - want).abs() <= rtol * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

/// Reduced f64 reference: mean over scored samples, sum, or per sample.
fn reduced(per: &[f64], scored: &[bool], r: Reduction) -> Vec<f64> {
    let s: f64 = per
        .iter()
        .zip(scored)
        .filter(|(_, &k)| k)
        .map(|(v, _)| v)
        .sum();
    match r {
        Reduction::None => per
            .iter()
            .zip(scored)
            .map(|(&v, &k)| if k { v } else { 0.0 })
            .collect(),
        Reduction::Sum => vec![s],
        Reduction::Mean => vec![s / scored.iter().filter(|&&k| k).count() as f64],
    }
}

#[test]
fn loss_cross_entropy_matches_f64_reference() {
    let (n, c) = (9, 7);
    let mut x = data(n * c, 1, -4.0, 4.0);
    x[c..2 * c]
        .iter_mut()
        .enumerate()
        .for_each(|(k, v)| *v = if k % 2 == 0 { 1e4 } else { -1e4 });
    let mut y = labels(n, c, 2);
    y[3] = -100;
    let probs = data(n * c, 3, 0.0, 1.0);
    for eps in [0.0, 0.1, 1.0] {
        for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            let opts = CrossEntropy {
                reduction,
                label_smoothing: eps,
                ..CrossEntropy::default()
            };
            for use_probs in [false, true] {
                let (target, t, scored) = if use_probs {
                    (Target::Probs(&probs), rows(&probs, c), vec![true; n])
                } else {
                    (
                        Target::Classes(&y),
                        one_hot(&y, c),
                        y.iter().map(|&l| l != -100).collect(),
                    )
                };
                let mut losses = vec![f32::NAN; n];
                let got = cross_entropy(&x, n, c, target, &opts, &mut losses, None).expect("valid");
                let want = reduced(&ce_ref(&widen(&x), c, &t, eps), &scored, reduction);
                let what = format!("eps={eps} {reduction:?} probs={use_probs}");
                match got {
                    Some(v) => close(&what, v as f64, want[0], 1e-5),
                    None => losses
                        .iter()
                        .zip(&want)
                        .for_each(|(&g, &w)| close(&what, g as f64, w, 1e-5)),
                }
            }
        }
    }
}

/// The fused gradient against central differences of the f64 reference loss.
#[test]
fn loss_cross_entropy_gradient_matches_finite_differences() {
    let (n, c) = (5, 6);
    let x = data(n * c, 4, -3.0, 3.0);
    let mut y = labels(n, c, 5);
    y[1] = -100;
    let probs = data(n * c, 6, 0.0, 1.0); // unnormalised on purpose: sum(q) != 1
    for eps in [0.0, 0.25] {
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            for use_probs in [false, true] {
                let opts = CrossEntropy {
                    reduction,
                    label_smoothing: eps,
                    ..CrossEntropy::default()
                };
                let (target, t, scored) = if use_probs {
                    (Target::Probs(&probs), rows(&probs, c), vec![true; n])
                } else {
                    (
                        Target::Classes(&y),
                        one_hot(&y, c),
                        y.iter().map(|&l| l != -100).collect(),
                    )
                };
                let mut losses = vec![0.0; n];
                let mut grad = vec![f32::NAN; n * c];
                cross_entropy(&x, n, c, target, &opts, &mut losses, Some(&mut grad))
                    .expect("valid");
                // For None, d(sum of per-sample losses) checks every row's own gradient.
                let f = |x: &[f64]| {
                    reduced(&ce_ref(x, c, &t, eps), &scored, reduction)
                        .iter()
                        .sum::<f64>()
                };
                let h = 1e-6;
                for i in 0..n * c {
                    let (mut xp, mut xm) = (widen(&x), widen(&x));
                    xp[i] += h;
                    xm[i] -= h;
                    let fd = (f(&xp) - f(&xm)) / (2.0 * h);
                    let what = format!("eps={eps} {reduction:?} probs={use_probs} grad[{i}]");
                    assert!(
                        (grad[i] as f64 - fd).abs() <= 1e-5,
                        "{what}: {} vs {fd}",
                        grad[i]
                    );
                }
            }
        }
    }
}

#[test]
fn loss_cross_entropy_rejects_bad_labels_and_options() {
    let x = data(6, 7, -1.0, 1.0);
    let mut l = vec![0.0; 2];
    for bad in [3i64, -1, 99] {
        let err = cross_entropy(
            &x,
            2,
            3,
            Target::Classes(&[0, bad]),
            &CrossEntropy::default(),
            &mut l,
            None,
        );
        match err {
            Err(crate::Error::Index(m)) => assert!(
                m.contains(&bad.to_string()) && m.contains("3 classes"),
                "{m}"
            ),
            other => panic!("label {bad}: {other:?}"),
        }
    }
    let smooth = CrossEntropy {
        label_smoothing: 1.5,
        ..CrossEntropy::default()
    };
    assert!(matches!(
        cross_entropy(&x, 2, 3, Target::Classes(&[0, 1]), &smooth, &mut l, None),
        Err(crate::Error::Value(_))
    ));
    let opts = CrossEntropy::default();
    assert!(matches!(
        cross_entropy(&x, 2, 3, Target::Classes(&[0]), &opts, &mut l, None),
        Err(crate::Error::Value(_))
    ));
    assert!(matches!(
        cross_entropy(&x, 2, 3, Target::Probs(&x[..5]), &opts, &mut l, None),
        Err(crate::Error::Value(_))
    ));
    assert!(matches!(
        cross_entropy(&x, 3, 3, Target::Classes(&[0, 1, 2]), &opts, &mut l, None),
        Err(crate::Error::Value(_))
    ));
    assert!(matches!(
        nll_loss(&x, 2, 3, &[0, 5], &NllLoss::default(), &mut l, None),
        Err(crate::Error::Index(_))
    ));
}

#[test]
fn loss_all_ignored_mean_is_nan_with_zero_gradient() {
    let x = data(6, 8, -1.0, 1.0);
    let (mut l, mut g) = (vec![1.0; 2], vec![1.0; 6]);
    let got = cross_entropy(
        &x,
        2,
        3,
        Target::Classes(&[-100, -100]),
        &CrossEntropy::default(),
        &mut l,
        Some(&mut g),
    );
    assert!(got.expect("valid").expect("mean").is_nan());
    assert!(g.iter().all(|&v| v == 0.0) && l.iter().all(|&v| v == 0.0));
}

#[test]
fn loss_nll_matches_definition_and_upstream_scales() {
    let (n, c) = (4, 5);
    let logp = data(n * c, 9, -5.0, 0.0);
    let y = [2i64, -100, 0, 4];
    let (mut l, mut g) = (vec![0.0; n], vec![f32::NAN; n * c]);
    let got = nll_loss(&logp, n, c, &y, &NllLoss::default(), &mut l, Some(&mut g)).expect("valid");
    let want = -(logp[2] as f64 + logp[2 * c] as f64 + logp[3 * c + 4] as f64) / 3.0;
    close("nll mean", got.expect("mean") as f64, want, 1e-6);
    for (i, &gi) in g.iter().enumerate() {
        let hot = [2, 2 * c, 3 * c + 4].contains(&i);
        assert_eq!(gi, if hot { -1.0 / 3.0 } else { 0.0 }, "grad[{i}]");
    }
    let opts = NllLoss {
        reduction: Reduction::None,
        ..NllLoss::default()
    };
    assert_eq!(
        nll_loss(&logp, n, c, &y, &opts, &mut l, Some(&mut g)).expect("valid"),
        None
    );
    assert_eq!(l, vec![-logp[2], 0.0, -logp[2 * c], -logp[3 * c + 4]]);
    apply_upstream(&mut g, c, &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!((g[2], g[2 * c], g[3 * c + 4]), (-1.0, -3.0, -4.0));
    apply_upstream(&mut g, c, &[0.5]);
    assert_eq!((g[2], g[2 * c], g[3 * c + 4]), (-0.5, -1.5, -2.0));
}

#[test]
fn loss_bce_with_logits_matches_f64_and_finite_differences() {
    let mut x = data(40, 10, -6.0, 6.0);
    x[0] = 1e4;
    x[1] = -1e4;
    x[2] = 90.0;
    let y = data(40, 11, 0.0, 1.0);
    // Naive f64 definition: -(y ln s + (1 - y) ln(1 - s)), with s in f64 (fine below |x| = 30).
    let per = |x: f64, y: f64| {
        if x.abs() > 30.0 {
            x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
        } else {
            let s = 1.0 / (1.0 + (-x).exp());
            -(y * s.ln() + (1.0 - y) * (1.0 - s).ln())
        }
    };
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let (mut l, mut g) = (vec![0.0; 40], vec![0.0; 40]);
        let got = bce_with_logits(&x, &y, reduction, &mut l, Some(&mut g)).expect("valid");
        let want: Vec<f64> = x
            .iter()
            .zip(&y)
            .map(|(&a, &b)| per(a as f64, b as f64))
            .collect();
        let all = vec![true; 40];
        let red = reduced(&want, &all, reduction);
        match got {
            Some(v) => close(&format!("bce {reduction:?}"), v as f64, red[0], 1e-5),
            None => l
                .iter()
                .zip(&want)
                .for_each(|(&a, &b)| close("bce", a as f64, b, 1e-5)),
        }
        let scale = if reduction == Reduction::Mean {
            1.0 / 40.0
        } else {
            1.0
        };
        for i in 3..40 {
            let h = 1e-6;
            let fd =
                (per(x[i] as f64 + h, y[i] as f64) - per(x[i] as f64 - h, y[i] as f64)) / (2.0 * h);
            assert!(
                (g[i] as f64 - fd * scale).abs() <= 1e-6,
                "bce grad[{i}]: {} vs {}",
                g[i],
                fd * scale
            );
        }
        assert!((g[0] as f64 - (1.0 - y[0] as f64) * scale).abs() < 1e-6);
        assert!((g[1] as f64 + y[1] as f64 * scale).abs() < 1e-6);
    }
    let mut l = vec![0.0; 40];
    assert!(matches!(
        bce_with_logits(&x, &y[..39], Reduction::Mean, &mut l, None),
        Err(crate::Error::Value(_))
    ));
}

#[test]
fn loss_bitwise_across_thread_counts() {
    let (n, c) = (3001, 13);
    let x = data(n * c, 12, -8.0, 8.0);
    let y = labels(n, c, 13);
    let p = data(n * c, 14, 0.0, 1.0);
    let bx = data(70_001, 15, -8.0, 8.0);
    let by = data(70_001, 16, 0.0, 1.0);
    let run = || {
        let mut out = Vec::new();
        for target in [Target::Classes(&y), Target::Probs(&p)] {
            let opts = CrossEntropy {
                label_smoothing: 0.1,
                ..CrossEntropy::default()
            };
            let (mut l, mut g) = (vec![0.0; n], vec![0.0; n * c]);
            let r = cross_entropy(&x, n, c, target, &opts, &mut l, Some(&mut g)).expect("valid");
            out.push(r.expect("mean"));
            out.extend(l.iter().chain(&g));
        }
        let (mut l, mut g) = (vec![0.0; bx.len()], vec![0.0; bx.len()]);
        out.push(
            bce_with_logits(&bx, &by, Reduction::Sum, &mut l, Some(&mut g))
                .expect("valid")
                .expect("sum"),
        );
        out.extend(l.iter().chain(&g));
        out.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
    };
    let runs: Vec<Vec<u32>> = [1, 2, 3]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("pool")
                .install(run)
        })
        .collect();
    assert_eq!(runs[0], runs[1], "1 vs 2 threads");
    assert_eq!(runs[0], runs[2], "1 vs 3 threads");
}
