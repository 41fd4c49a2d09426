//! conv2d forward and backward against the naive f64 references, the course's worked example,
//! central finite differences, and bitwise equality across rayon thread counts.

use std::mem::MaybeUninit;

use super::reference::{assert_close, conv_backward_ref, conv_forward_ref, Rng};
use crate::cpu::conv::{conv2d_backward, conv2d_forward, Conv2dGeom, Conv2dGrads, Conv2dParams};

/// (input [N, C, H, W], weight [C_out, C_in/groups, KH, KW], stride, padding, dilation, groups,
/// with bias): odd sizes, every parameter off its default somewhere, tiles split mid-row.
#[allow(clippy::type_complexity)]
const CASES: &[(
    [usize; 4],
    [usize; 4],
    (usize, usize),
    (usize, usize),
    (usize, usize),
    usize,
    bool,
)] = &[
    ([2, 3, 7, 9], [4, 3, 3, 3], (1, 1), (1, 1), (1, 1), 1, true),
    (
        [3, 1, 28, 28],
        [32, 1, 3, 3],
        (1, 1),
        (1, 1),
        (1, 1),
        1,
        true,
    ),
    ([3, 4, 11, 8], [6, 2, 3, 2], (2, 1), (1, 0), (1, 1), 2, true),
    (
        [2, 6, 10, 13],
        [6, 1, 3, 3],
        (1, 2),
        (2, 1),
        (2, 1),
        6,
        true,
    ),
    ([2, 4, 8, 8], [8, 1, 3, 3], (1, 1), (1, 1), (1, 1), 4, false),
    (
        [2, 6, 9, 9],
        [12, 2, 1, 1],
        (1, 1),
        (0, 0),
        (1, 1),
        3,
        false,
    ),
    ([2, 4, 9, 9], [8, 4, 1, 1], (2, 2), (0, 0), (1, 1), 1, true),
    ([1, 3, 5, 5], [2, 3, 5, 5], (1, 1), (0, 0), (1, 1), 1, true),
    ([2, 2, 4, 6], [3, 2, 3, 3], (3, 3), (1, 1), (2, 2), 1, true),
    (
        [2, 64, 12, 12],
        [16, 64, 3, 3],
        (1, 1),
        (1, 1),
        (1, 1),
        1,
        true,
    ),
    (
        [1, 32, 13, 11],
        [24, 32, 3, 3],
        (1, 1),
        (1, 1),
        (1, 1),
        1,
        false,
    ),
    ([5, 3, 17, 6], [5, 3, 5, 2], (3, 2), (2, 1), (1, 3), 1, true),
    ([9, 2, 6, 7], [4, 2, 2, 3], (1, 1), (0, 1), (1, 1), 1, true),
    // 3x3 stride 1 with >= 8 channels: the Winograd path, every padding it takes.
    ([3, 8, 9, 10], [8, 8, 3, 3], (1, 1), (0, 0), (1, 1), 1, true),
    ([2, 9, 5, 7], [10, 9, 3, 3], (1, 1), (2, 2), (1, 1), 1, true),
    (
        [2, 12, 8, 7],
        [9, 12, 3, 3],
        (1, 1),
        (0, 2),
        (1, 1),
        1,
        false,
    ),
    ([17, 8, 6, 5], [8, 8, 3, 3], (1, 1), (1, 1), (1, 1), 1, true),
    // Rows wide enough for the blocked (de)interleaving in the transforms, plus a remainder.
    ([2, 8, 9, 21], [8, 8, 3, 3], (1, 1), (1, 1), (1, 1), 1, true),
    (
        [2, 10, 7, 36],
        [9, 10, 3, 3],
        (1, 1),
        (0, 0),
        (1, 1),
        1,
        true,
    ),
    // 3x3 stride 1 with >= 16 channels: F(4x4, 3x3), every padding, partial tiles, chunks that
    // span samples (wide rows), many samples per task.
    (
        [3, 16, 9, 10],
        [16, 16, 3, 3],
        (1, 1),
        (0, 0),
        (1, 1),
        1,
        true,
    ),
    (
        [2, 17, 5, 7],
        [18, 17, 3, 3],
        (1, 1),
        (2, 2),
        (1, 1),
        1,
        true,
    ),
    (
        [2, 16, 12, 9],
        [20, 16, 3, 3],
        (1, 1),
        (0, 2),
        (1, 1),
        1,
        false,
    ),
    // F(4x4) on a small plane (6 tiles a sample): weight-gradient tasks of many samples, the
    // last one short; every tile touches the padding.
    (
        [131, 16, 8, 9],
        [16, 16, 3, 3],
        (1, 1),
        (1, 2),
        (1, 1),
        1,
        true,
    ),
    // F(4x4) on planes 4 tiles wide (two tile rows per vector, `winograd4_pairs`): 14x14,
    // an odd number of tile rows per sample (pairs straddle samples), 13 and 16 wide.
    (
        [3, 16, 14, 14],
        [16, 16, 3, 3],
        (1, 1),
        (1, 1),
        (1, 1),
        1,
        true,
    ),
    (
        [3, 16, 9, 14],
        [17, 16, 3, 3],
        (1, 1),
        (1, 1),
        (1, 1),
        1,
        true,
    ),
    (
        [2, 16, 15, 15],
        [16, 16, 3, 3],
        (1, 1),
        (0, 0),
        (1, 1),
        1,
        false,
    ),
    (
        [2, 18, 14, 12],
        [16, 18, 3, 3],
        (1, 1),
        (0, 2),
        (1, 1),
        1,
        true,
    ),
    // 16 channels on a plane 4x4 tiles cover badly: F(2x2) (see `winograd4::pays_off`).
    (
        [2, 16, 8, 7],
        [20, 16, 3, 3],
        (1, 1),
        (0, 2),
        (1, 1),
        1,
        false,
    ),
    (
        [3, 16, 7, 45],
        [16, 16, 3, 3],
        (1, 1),
        (1, 1),
        (1, 1),
        1,
        true,
    ),
    (
        [19, 16, 6, 5],
        [16, 16, 3, 3],
        (1, 1),
        (2, 1),
        (1, 1),
        1,
        true,
    ),
];

fn geom(i: usize) -> (Conv2dGeom, bool) {
    let (input, weight, stride, padding, dilation, groups, bias) = CASES[i];
    let p = Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    };
    (
        Conv2dGeom::new(input, weight, bias.then_some(weight[0]), p).unwrap(),
        bias,
    )
}

struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    go: Vec<f32>,
}

fn data(g: &Conv2dGeom, bias: bool, seed: u64) -> Data {
    let mut r = Rng::new(seed);
    Data {
        x: r.vec(g.input_len()),
        w: r.vec(g.weight_len()),
        b: bias.then(|| r.vec(g.c_out)),
        go: r.vec(g.output_len()),
    }
}

/// `n` NaNs, as a kernel's output buffer (which it may take uninitialised): a NaN left in the
/// result shows an element the kernel did not write.
fn nans(n: usize) -> Vec<MaybeUninit<f32>> {
    vec![MaybeUninit::new(f32::NAN); n]
}

fn read(v: &[MaybeUninit<f32>]) -> Vec<f32> {
    // SAFETY: every element was initialised (by `nans`, then by the kernel).
    v.iter().map(|e| unsafe { e.assume_init() }).collect()
}

fn forward(g: &Conv2dGeom, d: &Data) -> Vec<f32> {
    let mut out = nans(g.output_len());
    conv2d_forward(g, &d.x, &d.w, d.b.as_deref(), &mut out);
    read(&out)
}

fn backward(g: &Conv2dGeom, d: &Data) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut gi = nans(g.input_len());
    let mut gw = nans(g.weight_len());
    let mut gb = nans(g.c_out);
    let grads = Conv2dGrads {
        input: Some(&mut gi),
        weight: Some(&mut gw),
        bias: Some(&mut gb),
    };
    conv2d_backward(g, &d.x, &d.w, &d.go, grads);
    (read(&gi), read(&gw), read(&gb))
}

#[test]
fn conv_course_worked_example() {
    let image = [
        1., 1., 1., 0., 0., 0., 1., 1., 1., 0., 0., 0., 1., 1., 1., 0., 0., 1., 1., 0., 0., 1., 1.,
        0., 0.,
    ];
    let kernel = [1., 0., 1., 0., 1., 0., 1., 0., 1.];
    let g = Conv2dGeom::new([1, 1, 5, 5], [1, 1, 3, 3], None, Conv2dParams::default()).unwrap();
    assert_eq!(g.output_shape(), [1, 1, 3, 3]);
    let mut out = nans(9);
    conv2d_forward(&g, &image, &kernel, None, &mut out);
    assert_eq!(read(&out), [4., 3., 4., 2., 4., 3., 2., 3., 4.]);
}

#[test]
fn conv_forward_matches_reference() {
    for i in 0..CASES.len() {
        let (g, bias) = geom(i);
        let d = data(&g, bias, i as u64);
        let want = conv_forward_ref(&g, &d.x, &d.w, d.b.as_deref());
        assert_close(
            &format!("case {i} output"),
            &forward(&g, &d),
            &want,
            g.k_len() + 1,
        );
    }
}

#[test]
fn conv_backward_matches_reference() {
    for i in 0..CASES.len() {
        let (g, bias) = geom(i);
        let d = data(&g, bias, 100 + i as u64);
        let (gi, gw, gb) = backward(&g, &d);
        let (ri, rw, rb) = conv_backward_ref(&g, &d.x, &d.w, &d.go);
        assert_close(
            &format!("case {i} grad_input"),
            &gi,
            &ri,
            g.c_out_g() * g.kh * g.kw,
        );
        assert_close(
            &format!("case {i} grad_weight"),
            &gw,
            &rw,
            g.batch * g.out_plane(),
        );
        assert_close(
            &format!("case {i} grad_bias"),
            &gb,
            &rb,
            g.batch * g.out_plane(),
        );
    }
}

#[test]
fn conv_backward_computes_only_what_is_requested() {
    let (g, _) = geom(2);
    let d = data(&g, true, 7);
    let (gi_all, gw_all, gb_all) = backward(&g, &d);
    let mut gi = nans(g.input_len());
    conv2d_backward(
        &g,
        &d.x,
        &d.w,
        &d.go,
        Conv2dGrads {
            input: Some(&mut gi),
            ..Default::default()
        },
    );
    assert_eq!(read(&gi), gi_all);
    let mut gw = nans(g.weight_len());
    conv2d_backward(
        &g,
        &d.x,
        &d.w,
        &d.go,
        Conv2dGrads {
            weight: Some(&mut gw),
            ..Default::default()
        },
    );
    assert_eq!(read(&gw), gw_all);
    let mut gb = nans(g.c_out);
    conv2d_backward(
        &g,
        &d.x,
        &d.w,
        &d.go,
        Conv2dGrads {
            bias: Some(&mut gb),
            ..Default::default()
        },
    );
    assert_eq!(read(&gb), gb_all);
}

/// The scalar loss sum(go * conv(x, w, b)) in f64 over the kernel's f32 outputs.
fn loss(g: &Conv2dGeom, d: &Data) -> f64 {
    forward(g, d)
        .iter()
        .zip(&d.go)
        .map(|(&o, &r)| o as f64 * r as f64)
        .sum()
}

/// Central difference of `loss` along one element picked by `pick`.
fn central_diff(
    g: &Conv2dGeom,
    d: &mut Data,
    eps: f32,
    pick: impl Fn(&mut Data) -> &mut f32,
) -> f64 {
    let orig = *pick(d);
    *pick(d) = orig + eps;
    let up = loss(g, d);
    *pick(d) = orig - eps;
    let down = loss(g, d);
    *pick(d) = orig;
    (up - down) / (2.0 * eps as f64)
}

#[test]
fn conv_backward_matches_finite_differences() {
    // Each output moves by about eps * |weight| per step, and f32 rounds it to ~1e-7 of its
    // size; the tolerance below is far above that noise and far below a wrong gradient.
    let eps = 1e-2f32;
    for i in [0usize, 2, 3, 5, 8, 11, 14, 15, 17, 18] {
        let (g, bias) = geom(i);
        let mut d = data(&g, bias, 200 + i as u64);
        let (gi, gw, gb) = backward(&g, &d);
        let mut r = Rng::new(i as u64);
        let mut pick = |n: usize| ((r.next_f32() + 1.0) * 0.5 * n as f32) as usize % n;
        for _ in 0..12 {
            let j = pick(gi.len());
            let fd = central_diff(&g, &mut d, eps, |d| &mut d.x[j]);
            assert!(
                (fd - gi[j] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "case {i} grad_input[{j}]: fd {fd}, got {}",
                gi[j]
            );
            let j = pick(gw.len());
            let fd = central_diff(&g, &mut d, eps, |d| &mut d.w[j]);
            assert!(
                (fd - gw[j] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "case {i} grad_weight[{j}]: fd {fd}, got {}",
                gw[j]
            );
            if bias {
                let j = pick(gb.len());
                let fd = central_diff(&g, &mut d, eps, |d| &mut d.b.as_mut().unwrap()[j]);
                assert!(
                    (fd - gb[j] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                    "case {i} grad_bias[{j}]: fd {fd}, got {}",
                    gb[j]
                );
            }
        }
    }
}

#[test]
fn conv_is_bitwise_identical_across_thread_counts() {
    // Each thread count runs twice (reused scratch). Big enough to run in parallel; batch 37 leaves a short last chunk, batch 1 splits channels.
    let shapes = [
        ([37, 8, 17, 15], [12, 8, 3, 3], 1),
        ([1, 16, 30, 30], [32, 8, 3, 3], 2),
        ([6, 16, 20, 20], [16, 16, 1, 1], 1),
        ([37, 16, 13, 11], [20, 16, 3, 3], 1),
        ([131, 16, 8, 9], [16, 16, 3, 3], 1),
    ];
    for (s, (input, weight, groups)) in shapes.into_iter().enumerate() {
        let p = Conv2dParams {
            padding: (1, 1),
            groups,
            ..Default::default()
        };
        let g = Conv2dGeom::new(input, weight, Some(weight[0]), p).unwrap();
        let d = data(&g, true, 300 + s as u64);
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            results.push(pool.install(|| (forward(&g, &d), backward(&g, &d))));
            // Again on the same threads: their scratch buffers now hold the first run's data.
            results.push(pool.install(|| (forward(&g, &d), backward(&g, &d))));
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for r in &results[1..] {
            assert_eq!(bits(&r.0), bits(&results[0].0), "shape {s}: output");
            assert_eq!(
                bits(&r.1 .0),
                bits(&results[0].1 .0),
                "shape {s}: grad_input"
            );
            assert_eq!(
                bits(&r.1 .1),
                bits(&results[0].1 .1),
                "shape {s}: grad_weight"
            );
            assert_eq!(
                bits(&r.1 .2),
                bits(&results[0].1 .2),
                "shape {s}: grad_bias"
            );
        }
    }
}

#[test]
fn conv_never_reads_unwritten_scratch() {
    // Every case, on one thread, runs once, then again with that thread's scratch free list
    // (buffers `stale` hands out as they are) filled with NaN: the bits must not change.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for i in 0..CASES.len() {
        let (g, bias) = geom(i);
        let d = data(&g, bias, 500 + i as u64);
        let (a, b) = pool.install(|| {
            let a = (forward(&g, &d), backward(&g, &d));
            crate::cpu::conv::scratch::poison();
            (a, (forward(&g, &d), backward(&g, &d)))
        });
        assert_eq!(bits(&a.0), bits(&b.0), "case {i}: output");
        assert_eq!(bits(&a.1 .0), bits(&b.1 .0), "case {i}: grad_input");
        assert_eq!(bits(&a.1 .1), bits(&b.1 .1), "case {i}: grad_weight");
        assert_eq!(bits(&a.1 .2), bits(&b.1 .2), "case {i}: grad_bias");
    }
}

#[test]
fn conv_empty_batch_gives_empty_output_and_zero_weight_grad() {
    // The im2col path and the Winograd path (3x3, stride 1, >= 8 channels).
    for (input, weight) in [([0, 2, 5, 5], [3, 2, 3, 3]), ([0, 8, 5, 5], [8, 8, 3, 3])] {
        let g = Conv2dGeom::new(input, weight, Some(weight[0]), Conv2dParams::default()).unwrap();
        let d = data(&g, true, 9);
        assert!(forward(&g, &d).is_empty());
        let (gi, gw, gb) = backward(&g, &d);
        assert!(gi.is_empty());
        assert!(gw.iter().chain(&gb).all(|&v| v == 0.0));
    }
}
