//! Bitwise equality of results for 1, 2, 3 and 8 rayon threads.

use super::*;
use crate::cpu::gemm::driver::{sgemm_batched_with, sgemm_with};
use crate::cpu::gemm::{Epilogue, MatMut, MatRef};

#[test]
fn gemm_bitwise_identical_across_thread_counts() {
    // Shapes above the parallel threshold: many row blocks, few rows (split over columns),
    // transposed operands, several K blocks, and a batch.
    let shapes = [
        (300, 200, 150),
        (128, 256, 784),
        (13, 1000, 300),
        (784, 256, 128),
        (200, 90, 1100),
    ];
    for ks in kernel_sets() {
        let mut rng = Rng(77);
        for &(m, n, k) in &shapes {
            let a = Mat::new(&mut rng, m, k, Layout::ColMajor, 0.0);
            let b = Mat::new(&mut rng, k, n, Layout::RowMajor, 0.0);
            let c0 = Mat::new(&mut rng, m, n, Layout::RowMajor, 0.0);
            let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
            let run = |threads: usize| {
                let mut c = c0.clone();
                in_pool(threads, || {
                    sgemm_with(ks, 0.7, a.r(), b.r(), 0.3, c.w(), Epilogue::BiasRelu(&bias))
                });
                bits(&c.buf)
            };
            let one = run(1);
            for threads in [2, 3, 8] {
                assert!(
                    one == run(threads),
                    "{} {m}x{n}x{k}: {threads} threads differ from 1",
                    ks.name
                );
            }
        }
        let (batch, m, n, k) = (7, 70, 90, 130);
        let a = batch_buf(&mut rng, batch, m, k);
        let b = batch_buf(&mut rng, 1, k, n);
        let run = |threads: usize| {
            let mut c = vec![0.0f32; batch * m * n];
            in_pool(threads, || {
                let ar = MatRef::row_major(&a, m, k);
                let br = MatRef::row_major(&b, k, n);
                let cm = MatMut::row_major(&mut c, m, n);
                sgemm_batched_with(
                    ks,
                    batch,
                    1.0,
                    (ar, m * k),
                    (br, 0),
                    0.0,
                    (cm, m * n),
                    Epilogue::Relu,
                )
            });
            bits(&c)
        };
        let one = run(1);
        for threads in [2, 3, 8] {
            assert!(
                one == run(threads),
                "{} batched: {threads} threads differ from 1",
                ks.name
            );
        }
    }
}

#[test]
fn gemm_column_tasks_match_the_reference_and_every_thread_count() {
    // Few rows and A read unpacked: the product is split over columns only, each task packing
    // its own B panels (several K blocks, pieces of an L2 half, a ragged last panel). 7 and
    // 6 panels: 8 threads find too few panels and take the row-block path, which must agree.
    let shapes = [
        (128, 256, 784),
        (100, 250, 1100),
        (60, 100, 300),
        (37, 90, 2000),
        (168, 768, 128),
    ];
    for ks in kernel_sets() {
        let mut rng = Rng(91);
        for &(m, n, k) in &shapes {
            for (la, lb) in [
                (Layout::RowMajor, Layout::ColMajor),
                (Layout::ColMajor, Layout::RowMajor),
            ] {
                let a = Mat::new(&mut rng, m, k, la, 0.0);
                let b = Mat::new(&mut rng, k, n, lb, 0.0);
                let c0 = Mat::new(&mut rng, m, n, Layout::RowMajor, 0.0);
                let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
                let run = |threads: usize| {
                    let mut c = c0.clone();
                    in_pool(threads, || {
                        sgemm_with(ks, 0.7, a.r(), b.r(), 0.3, c.w(), Epilogue::BiasRelu(&bias))
                    });
                    c
                };
                let one = run(1);
                check(
                    "column tasks",
                    0.7,
                    &a,
                    &b,
                    0.3,
                    &c0,
                    &one,
                    Epi::BiasRelu,
                    &bias,
                );
                for threads in [2, 3, 8] {
                    assert!(
                        bits(&one.buf) == bits(&run(threads).buf),
                        "{} {m}x{n}x{k}: {threads} threads differ from 1",
                        ks.name
                    );
                }
            }
        }
    }
}
