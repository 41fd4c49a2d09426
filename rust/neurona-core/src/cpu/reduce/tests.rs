//! The sums against a plain f64 definition on many shapes and axis sets, NaN, and bitwise
//! equality across thread counts.

use super::sum;

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1009) as f32 - 504.0) * 0.01)
        .collect()
}

/// Sums by decoding every index: the definition.
fn reference(xs: &[f32], shape: &[usize], reduced: &[bool]) -> Vec<f32> {
    let n_out: usize = shape
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| !r)
        .map(|(&d, _)| d)
        .product();
    let mut out = vec![0.0f64; n_out];
    for (flat, &v) in xs.iter().enumerate() {
        let (mut r, mut o, mut scale) = (flat, 0, 1);
        for d in (0..shape.len()).rev() {
            let i = r % shape[d];
            r /= shape[d];
            if !reduced[d] {
                o += i * scale;
                scale *= shape[d];
            }
        }
        out[o] += v as f64;
    }
    out.into_iter().map(|s| s as f32).collect()
}

fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

fn all_masks(nd: usize) -> impl Iterator<Item = Vec<bool>> {
    (0..1u32 << nd).map(move |m| (0..nd).map(|i| m >> i & 1 == 1).collect())
}

#[test]
fn every_axis_set_of_small_shapes() {
    let shapes: &[&[usize]] = &[
        &[],
        &[1],
        &[7],
        &[3, 5],
        &[1, 4],
        &[2, 3, 4],
        &[2, 1, 3, 17],
        &[3, 4, 5, 6],
        &[0, 3],
    ];
    for &shape in shapes {
        let xs = data(shape.iter().product());
        for mask in all_masks(shape.len()) {
            close(
                &sum(&xs, shape, &mask),
                &reference(&xs, shape, &mask),
                &format!("{shape:?} {mask:?}"),
            );
        }
    }
}

#[test]
fn odd_lengths_of_full_and_row_sums() {
    for n in 1..=70 {
        let xs = data(n);
        close(
            &sum(&xs, &[n], &[true]),
            &reference(&xs, &[n], &[true]),
            &format!("{n}"),
        );
        let ys = data(3 * n);
        for mask in [[false, true], [true, false]] {
            close(
                &sum(&ys, &[3, n], &mask),
                &reference(&ys, &[3, n], &mask),
                &format!("3x{n}"),
            );
        }
    }
}

#[test]
fn large_reductions_split_into_pieces() {
    // A full sum, a conv bias gradient (N, H, W of NCHW), column and row sums, all past PIECE.
    let cases: &[(&[usize], &[bool])] = &[
        (&[300_001], &[true]),
        (&[8, 6, 29, 31], &[true, false, true, true]),
        (&[70_000, 3], &[true, false]),
        (&[5, 70_001], &[false, true]),
        (&[2000, 700], &[true, false]),
    ];
    for &(shape, mask) in cases {
        let xs = data(shape.iter().product());
        close(
            &sum(&xs, shape, mask),
            &reference(&xs, shape, mask),
            &format!("{shape:?}"),
        );
    }
}

#[test]
fn nan_and_inf_propagate() {
    let mut xs = data(100_000);
    xs[77_777] = f32::NAN;
    assert!(sum(&xs, &[100_000], &[true])[0].is_nan());
    let got = sum(&xs, &[1000, 100], &[true, false]);
    assert!(got[77].is_nan() && !got[76].is_nan());
    xs[77_777] = f32::INFINITY;
    assert_eq!(sum(&xs, &[100_000], &[true])[0], f32::INFINITY);
}

#[test]
fn bitwise_equal_for_any_thread_count() {
    let cases: &[(&[usize], &[bool])] = &[
        (&[1_000_003], &[true]),
        (&[16, 32, 28, 28], &[true, false, true, true]),
        (&[1000, 1000], &[true, false]),
        (&[1000, 1000], &[false, true]),
        (&[3, 400_000], &[false, true]),
    ];
    for &(shape, mask) in cases {
        let xs = data(shape.iter().product());
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        crate::parallel::set_num_threads(1);
        let one = bits(sum(&xs, shape, mask));
        crate::parallel::set_num_threads(2);
        let two = bits(sum(&xs, shape, mask));
        crate::parallel::set_num_threads(5);
        let five = bits(sum(&xs, shape, mask));
        crate::parallel::set_num_threads(1);
        assert_eq!(one, two, "{shape:?}");
        assert_eq!(one, five, "{shape:?}");
    }
}
