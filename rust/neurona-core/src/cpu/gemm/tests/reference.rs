//! Every kernel set against the float64 reference: random odd shapes, large shapes, every
//! layout, alpha, beta and epilogue, and the edge cases of empty dimensions.

use super::*;
use crate::cpu::gemm::driver::sgemm_with;
use crate::cpu::gemm::{naive, Epilogue, MatMut, MatRef};

#[test]
fn gemm_random_odd_shapes_every_isa() {
    for ks in kernel_sets() {
        let mut rng = Rng(42);
        for _ in 0..300 {
            let (m, n, k) = (rng.range(1, 70), rng.range(1, 70), rng.range(1, 70));
            random_case(ks, &mut rng, m, n, k, None);
        }
    }
}

#[test]
fn gemm_large_shapes_every_isa() {
    // Several K blocks (1029), ragged tiles in every direction, and more than one column
    // block (n past the largest nc of 4096).
    // Run on 1 and 8 threads: with few rows, 8 threads also split the columns among tasks.
    let shapes = [
        (513, 257, 1029),
        (257, 513, 300),
        (64, 1029, 129),
        (7, 4200, 70),
        (300, 5, 700),
        (5, 2000, 100),
    ];
    for ks in kernel_sets() {
        for threads in [1, 8] {
            let mut rng = Rng(7);
            for &(m, n, k) in &shapes {
                in_pool(threads, || {
                    random_case(ks, &mut rng, m, n, k, Some(Epi::Bias))
                });
            }
        }
    }
}

#[test]
fn gemm_every_layout_alpha_beta_epilogue() {
    for ks in kernel_sets() {
        let mut rng = Rng(3);
        for la in LAYOUTS {
            for lb in LAYOUTS {
                for lc in LAYOUTS {
                    for (alpha, beta) in [(1.0, 0.0), (-1.5, 1.0), (0.5, -2.0)] {
                        for e in EPIS {
                            let (m, n, k) = (rng.range(1, 40), rng.range(1, 40), rng.range(1, 90));
                            let a = Mat::new(&mut rng, m, k, la, f32::NAN);
                            let b = Mat::new(&mut rng, k, n, lb, f32::NAN);
                            let c0 = Mat::new(&mut rng, m, n, lc, 5.0);
                            let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
                            let mut c = c0.clone();
                            let ep = epilogue(e, &bias);
                            sgemm_with(ks, alpha, a.r(), b.r(), beta, c.w(), ep);
                            let what = format!("{} {la:?}/{lb:?}/{lc:?} {e:?}", ks.name);
                            check(&what, alpha, &a, &b, beta, &c0, &c, e, &bias);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_beta_zero_does_not_read_nan_in_c() {
    for ks in kernel_sets() {
        let mut rng = Rng(11);
        let (m, n, k) = (37, 45, 29);
        let a = Mat::new(&mut rng, m, k, Layout::RowMajor, 0.0);
        let b = Mat::new(&mut rng, k, n, Layout::RowMajor, 0.0);
        let mut c = Mat::new(&mut rng, m, n, Layout::RowMajor, 0.0);
        c.buf.iter_mut().for_each(|x| *x = f32::NAN);
        let c0 = c.clone();
        sgemm_with(ks, 1.0, a.r(), b.r(), 0.0, c.w(), Epilogue::None);
        assert!(
            c.buf[..m * n].iter().all(|x| x.is_finite()),
            "{}: NaN leaked",
            ks.name
        );
        check(ks.name, 1.0, &a, &b, 0.0, &c0, &c, Epi::None, &[]);
    }
}

#[test]
fn gemm_empty_k_scales_c_and_applies_epilogue() {
    for ks in kernel_sets() {
        let mut rng = Rng(5);
        let a = Mat::new(&mut rng, 9, 0, Layout::RowMajor, 0.0);
        let b = Mat::new(&mut rng, 0, 19, Layout::RowMajor, 0.0);
        for (beta, e) in [(0.0, Epi::Bias), (0.5, Epi::BiasRelu), (2.0, Epi::None)] {
            let c0 = Mat::new(&mut rng, 9, 19, Layout::Padded, 1.0);
            let bias: Vec<f32> = (0..19).map(|_| rng.val()).collect();
            let mut c = c0.clone();
            sgemm_with(ks, 3.0, a.r(), b.r(), beta, c.w(), epilogue(e, &bias));
            check(ks.name, 3.0, &a, &b, beta, &c0, &c, e, &bias);
        }
    }
}

#[test]
fn gemm_empty_m_or_n_is_a_no_op() {
    for ks in kernel_sets() {
        let mut c = vec![1.0f32; 4];
        let a = vec![1.0f32; 8];
        sgemm_with(
            ks,
            1.0,
            MatRef::row_major(&a, 0, 4),
            MatRef::row_major(&a, 4, 2),
            0.0,
            MatMut::row_major(&mut c, 0, 2),
            Epilogue::Relu,
        );
        assert_eq!(c, vec![1.0; 4]);
    }
}

#[test]
fn gemm_public_entry_matches_naive_reference_closely() {
    // The public `sgemm` (whichever kernel is active) against the kept naive kernel.
    let mut rng = Rng(9);
    let (m, n, k) = (33, 65, 47);
    let a = Mat::new(&mut rng, m, k, Layout::RowMajor, 0.0);
    let b = Mat::new(&mut rng, k, n, Layout::ColMajor, 0.0);
    let c0 = Mat::new(&mut rng, m, n, Layout::RowMajor, 0.0);
    let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
    let (mut fast, mut slow) = (c0.clone(), c0.clone());
    crate::cpu::gemm::sgemm(0.5, a.r(), b.r(), 1.5, fast.w(), Epilogue::BiasRelu(&bias));
    naive::sgemm(0.5, a.r(), b.r(), 1.5, slow.w(), Epilogue::BiasRelu(&bias));
    check("sgemm", 0.5, &a, &b, 1.5, &c0, &fast, Epi::BiasRelu, &bias);
    check("naive", 0.5, &a, &b, 1.5, &c0, &slow, Epi::BiasRelu, &bias);
    assert!(["avx512", "avx2", "neon", "portable"].contains(&crate::cpu::gemm::isa_name()));
}

#[test]
fn gemm_relu_epilogue_keeps_nan_and_zeroes_negatives_on_every_kernel() {
    // ReLU(NaN) is NaN, as in PyTorch: a max with zero would silently turn it into 0.
    for (m, n, k) in [(13, 37, 9), (7, 300, 64)] {
        let mut a: Vec<f32> = (0..m * k).map(|i| ((i % 7) as f32 - 3.0) * 0.25).collect();
        a[2 * k + 1] = f32::NAN; // poisons row 2 of the product
        let b: Vec<f32> = (0..k * n).map(|i| ((i % 5) as f32 - 2.0) * 0.5).collect();
        let bias: Vec<f32> = (0..n)
            .map(|j| if j % 2 == 0 { -100.0 } else { 100.0 })
            .collect();
        for ks in kernel_sets() {
            let mut c = vec![0.0f32; m * n];
            sgemm_with(
                ks,
                1.0,
                MatRef::row_major(&a, m, k),
                MatRef::row_major(&b, k, n),
                0.0,
                MatMut::row_major(&mut c, m, n),
                Epilogue::BiasRelu(&bias),
            );
            for i in 0..m {
                for j in 0..n {
                    let v = c[i * n + j];
                    if i == 2 {
                        assert!(
                            v.is_nan(),
                            "{}: row 2 col {j} gave {v}, expected NaN",
                            ks.name
                        );
                    } else if j % 2 == 0 {
                        assert_eq!(
                            v.to_bits(),
                            0.0f32.to_bits(),
                            "{}: ({i},{j}) = {v}",
                            ks.name
                        );
                    } else {
                        assert!(v > 0.0, "{}: ({i},{j}) = {v}", ks.name);
                    }
                }
            }
        }
    }
}
