//! map / zip / zip3 against plain loops, at lengths around every chunk and vector boundary.

use super::*;

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.125)
        .collect()
}

#[test]
fn map_zip_zip3_match_plain_loops_at_all_lengths() {
    let lens = (0..=70).chain([1 << 15, (1 << 16) + 3, 200_001]);
    for n in lens {
        let (x, y, z) = (
            data(n),
            data(n + 1)[1..].to_vec(),
            data(n + 2)[2..].to_vec(),
        );
        let m = map(&x, |v| v * 2.0 + 1.0);
        assert_eq!(
            m,
            x.iter().map(|v| v * 2.0 + 1.0).collect::<Vec<_>>(),
            "map {n}"
        );
        let z2 = zip(&x, &y, |a, b| a * b - a);
        let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a * b - a).collect();
        assert_eq!(z2, want, "zip {n}");
        let z3 = zip3(&x, &y, &z, |a, b, c| a * b + c);
        let want: Vec<f32> = (0..n).map(|i| x[i] * y[i] + z[i]).collect();
        assert_eq!(z3, want, "zip3 {n}");
        let mc = map_chunks(&x, |xs, out: &mut [MaybeUninit<f32>]| {
            for (o, &v) in out.iter_mut().zip(xs) {
                o.write(-v);
            }
        });
        assert_eq!(
            mc,
            x.iter().map(|v| -v).collect::<Vec<_>>(),
            "map_chunks {n}"
        );
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let x = data(300_007);
    let f = |v: f32| crate::cpu::vmath::tanh(v) * 3.0;
    crate::parallel::set_num_threads(1);
    let one = map(&x, f);
    crate::parallel::set_num_threads(3);
    let three = map(&x, f);
    crate::parallel::set_num_threads(1);
    assert_eq!(
        one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        three.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}
