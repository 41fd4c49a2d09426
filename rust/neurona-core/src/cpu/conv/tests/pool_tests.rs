//! Pooling forward and backward against naive references: overlapping windows, padding,
//! count_include_pad both ways, adaptive windows that overlap or leave gaps, thread counts.

use super::reference::{
    adaptive_ref, assert_close_plain, avg_pool_backward_ref, avg_pool_ref, max_pool_ref, Rng,
};
use crate::cpu::conv::{
    adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward, adaptive_window,
    avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward,
    AdaptivePool2dGeom, Pool2dGeom,
};

/// (input, kernel, stride, padding): plain 2x2, overlapping 3x3/2, padded, rectangular, and a
/// stride larger than the kernel (inputs skipped).
#[allow(clippy::type_complexity)]
const CASES: &[([usize; 4], (usize, usize), (usize, usize), (usize, usize))] = &[
    ([2, 3, 8, 8], (2, 2), (2, 2), (0, 0)),
    ([2, 3, 9, 7], (3, 3), (2, 2), (1, 1)),
    ([1, 2, 10, 11], (3, 2), (1, 2), (1, 1)),
    ([3, 2, 7, 7], (5, 5), (1, 1), (2, 2)),
    ([2, 2, 9, 10], (2, 2), (3, 3), (0, 1)),
    ([64, 8, 28, 28], (2, 2), (2, 2), (0, 0)),
    // Plain 2x2 with vector steps, scalar tails, and an odd last row and column left out.
    ([2, 3, 9, 35], (2, 2), (2, 2), (0, 0)),
    ([1, 4, 6, 48], (2, 2), (2, 2), (0, 0)),
];

fn geom(i: usize) -> Pool2dGeom {
    let (input, k, s, p) = CASES[i];
    Pool2dGeom::new(input, k, s, p).unwrap()
}

fn max_run(g: &Pool2dGeom, x: &[f32], go: &[f32]) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let (out, idx) = max_pool2d_forward(g, x);
    let gi = max_pool2d_backward(g, go, &idx);
    (out, idx, gi)
}

#[test]
fn max_pool_matches_reference() {
    for i in 0..CASES.len() {
        let g = geom(i);
        let mut r = Rng::new(i as u64);
        // Quantised values make ties common, so the first-max rule is exercised.
        let x: Vec<f32> = r
            .vec(g.input_len())
            .iter()
            .map(|v| (v * 4.0).round())
            .collect();
        let go = r.vec(g.output_len());
        let (out, idx, gi) = max_run(&g, &x, &go);
        let (want_out, want_idx) = max_pool_ref(&g, &x);
        assert_eq!(out, want_out, "case {i} output");
        assert_eq!(idx, want_idx, "case {i} indices");
        // Backward: route every gradient to its arg-max, summing where windows share it.
        let mut want_gi = vec![0.0f64; g.input_len()];
        for (o, &j) in want_idx.iter().enumerate() {
            want_gi[o / g.out_plane() * g.in_plane() + j as usize] += go[o] as f64;
        }
        let windows_per_input = g.kh.div_ceil(g.stride_h) * g.kw.div_ceil(g.stride_w);
        assert_close_plain(
            &format!("case {i} grad_input"),
            &gi,
            &want_gi,
            1.0,
            windows_per_input,
        );
    }
}

#[test]
fn max_pool_overlapping_windows_accumulate_on_shared_max() {
    // A large value in the middle of a 5x5 plane lies in all nine 3x3 stride-1 windows, is the
    // max of each, and so collects all nine gradients.
    let g = Pool2dGeom::new([1, 1, 5, 5], (3, 3), (1, 1), (0, 0)).unwrap();
    let mut x = vec![0.0f32; 25];
    x[12] = 10.0;
    let go = vec![1.0f32; 9];
    let (out, idx, gi) = max_run(&g, &x, &go);
    assert!(out.iter().all(|&v| v == 10.0));
    assert!(idx.iter().all(|&j| j == 12));
    assert_eq!(gi[12], 9.0);
    assert_eq!(gi.iter().sum::<f32>(), 9.0);
}

#[test]
fn max_pool_padding_is_minus_infinity() {
    // All inputs negative: zero padding would win, -inf padding never does.
    let g = Pool2dGeom::new([1, 1, 3, 3], (2, 2), (2, 2), (1, 1)).unwrap();
    let x: Vec<f32> = (1..=9).map(|v| -(v as f32)).collect();
    let (out, idx, _) = max_run(&g, &x, &[0.0; 4]);
    assert_eq!(out, [-1.0, -2.0, -4.0, -5.0]);
    assert_eq!(idx, [0, 1, 3, 4]);
}

/// First maximum in row-major window order, a NaN beating any number and the first NaN
/// winning: PyTorch's rule, written plainly for the 2x2 stride-2 windows.
fn max_2x2_with_nan_ref(h: usize, w: usize, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (mut out, mut idx) = (Vec::new(), Vec::new());
    for plane in x.chunks(h * w) {
        for oy in 0..h / 2 {
            for ox in 0..w / 2 {
                let cells = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(dy, dx)| {
                    let j = (2 * oy + dy) * w + 2 * ox + dx;
                    (plane[j], j)
                });
                let best = cells
                    .iter()
                    .find(|c| c.0.is_nan())
                    .copied()
                    .unwrap_or_else(|| {
                        cells
                            .iter()
                            .fold(cells[0], |b, &c| if c.0 > b.0 { c } else { b })
                    });
                out.push(best.0);
                idx.push(best.1 as u32);
            }
        }
    }
    (out, idx)
}

#[test]
fn max_pool_2x2_nan_ties_and_signed_zeros_match_the_rule_bitwise() {
    for (i, &(n, c, h, w)) in [(1, 1, 2, 16), (2, 3, 9, 35), (1, 2, 8, 50), (1, 1, 3, 5)]
        .iter()
        .enumerate()
    {
        let g = Pool2dGeom::new([n, c, h, w], (2, 2), (2, 2), (0, 0)).unwrap();
        let mut r = Rng::new(100 + i as u64);
        let x: Vec<f32> = r
            .vec(g.input_len())
            .iter()
            .map(|&v| match ((v + 1.0) * 8.0) as i32 {
                0 => f32::NAN,
                1 => -0.0,
                2 => 0.0,
                k => (k % 4) as f32 - 2.0,
            })
            .collect();
        let go: Vec<f32> = r
            .vec(g.output_len())
            .iter()
            .map(|&v| if v < -0.8 { -0.0 } else { v })
            .collect();
        let (out, idx, gi) = max_run(&g, &x, &go);
        let (want_out, want_idx) = max_2x2_with_nan_ref(h, w, &x);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&out), bits(&want_out), "case {i} output");
        assert_eq!(idx, want_idx, "case {i} indices");
        // Backward: zero, then 0.0 + grad at each arg-max (so a -0.0 gradient lands as +0.0).
        let mut want_gi = vec![0.0f32; g.input_len()];
        for (o, &j) in want_idx.iter().enumerate() {
            want_gi[o / g.out_plane() * g.in_plane() + j as usize] += go[o];
        }
        assert_eq!(bits(&gi), bits(&want_gi), "case {i} grad_input");
    }
}

#[test]
fn max_pool_propagates_nan() {
    let g = Pool2dGeom::new([1, 1, 2, 2], (2, 2), (2, 2), (0, 0)).unwrap();
    let (out, idx, _) = max_run(&g, &[1.0, f32::NAN, 3.0, 2.0], &[1.0]);
    assert!(out[0].is_nan());
    assert_eq!(idx, [1]);
}

#[test]
fn avg_pool_matches_reference() {
    for i in 0..CASES.len() {
        let g = geom(i);
        for include_pad in [true, false] {
            let mut r = Rng::new(50 + i as u64);
            let x = r.vec(g.input_len());
            let go = r.vec(g.output_len());
            let mut out = vec![f32::NAN; g.output_len()];
            avg_pool2d_forward(&g, include_pad, &x, &mut out);
            let terms = g.kh * g.kw;
            let what = format!("case {i} include_pad={include_pad}");
            assert_close_plain(
                &format!("{what} output"),
                &out,
                &avg_pool_ref(&g, include_pad, &x),
                1.0,
                terms,
            );
            let mut gi = vec![f32::NAN; g.input_len()];
            avg_pool2d_backward(&g, include_pad, &go, &mut gi);
            let want = avg_pool_backward_ref(&g, include_pad, &go);
            assert_close_plain(&format!("{what} grad_input"), &gi, &want, 1.0, terms);
        }
    }
}

#[test]
fn avg_pool_count_include_pad_divides_by_kernel_area() {
    let g = Pool2dGeom::new([1, 1, 2, 2], (2, 2), (1, 1), (1, 1)).unwrap();
    let x = [4.0f32; 4];
    let mut out = vec![0.0; 9];
    avg_pool2d_forward(&g, true, &x, &mut out);
    assert_eq!(out, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    avg_pool2d_forward(&g, false, &x, &mut out);
    assert!(out.iter().all(|&v| v == 4.0));
}

#[test]
fn adaptive_windows_follow_pytorch() {
    // 10 -> 4: starts floor(i*10/4) = 0,2,5,7; ends ceil((i+1)*10/4) = 3,5,8,10 (overlapping).
    let w: Vec<_> = (0..4).map(|i| adaptive_window(i, 4, 10)).collect();
    assert_eq!(w, [(0, 3), (2, 5), (5, 8), (7, 10)]);
    // 3 -> 5: more outputs than inputs, windows repeat inputs.
    let w: Vec<_> = (0..5).map(|i| adaptive_window(i, 5, 3)).collect();
    assert_eq!(w, [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]);
}

#[test]
fn adaptive_avg_pool_matches_reference() {
    let cases = [
        ([2, 3, 10, 7], (4, 3)),
        ([1, 2, 3, 5], (5, 7)),
        ([3, 2, 9, 9], (1, 1)),
        ([2, 4, 14, 14], (7, 7)),
    ];
    for (i, (input, os)) in cases.into_iter().enumerate() {
        let g = AdaptivePool2dGeom::new(input, os).unwrap();
        let mut r = Rng::new(70 + i as u64);
        let x = r.vec(g.input_len());
        let go = r.vec(g.output_len());
        let mut out = vec![f32::NAN; g.output_len()];
        adaptive_avg_pool2d_forward(&g, &x, &mut out);
        let mut gi = vec![f32::NAN; g.input_len()];
        adaptive_avg_pool2d_backward(&g, &go, &mut gi);
        let (want_out, want_gi) = adaptive_ref(&g, &x, &go);
        let terms = g.h.div_ceil(g.out_h) * g.w.div_ceil(g.out_w) + 4;
        assert_close_plain(&format!("case {i} output"), &out, &want_out, 1.0, terms);
        assert_close_plain(&format!("case {i} grad_input"), &gi, &want_gi, 1.0, terms);
    }
}

#[test]
fn pooling_is_bitwise_identical_across_thread_counts() {
    let g = Pool2dGeom::new([16, 8, 30, 30], (3, 3), (2, 2), (1, 1)).unwrap();
    let ga = AdaptivePool2dGeom::new([16, 8, 30, 30], (7, 7)).unwrap();
    let mut r = Rng::new(99);
    let x = r.vec(g.input_len());
    let go = r.vec(g.output_len());
    let goa = r.vec(ga.output_len());
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        results.push(pool.install(|| {
            let (out, idx, gi) = max_run(&g, &x, &go);
            let mut avg = vec![0.0; g.output_len()];
            avg_pool2d_forward(&g, true, &x, &mut avg);
            let mut agi = vec![0.0; g.input_len()];
            avg_pool2d_backward(&g, true, &go, &mut agi);
            let mut ad = vec![0.0; ga.output_len()];
            adaptive_avg_pool2d_forward(&ga, &x, &mut ad);
            let mut adgi = vec![0.0; ga.input_len()];
            adaptive_avg_pool2d_backward(&ga, &goa, &mut adgi);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (
                bits(&out),
                idx,
                bits(&gi),
                bits(&avg),
                bits(&agi),
                bits(&ad),
                bits(&adgi),
            )
        }));
    }
    assert!(results[1..].iter().all(|r| *r == results[0]));
}
