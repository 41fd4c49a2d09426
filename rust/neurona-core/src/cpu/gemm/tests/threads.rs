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

#[test]
fn wide_products_split_columns_and_tall_ones_rows() {
    use crate::cpu::gemm::plan::row_blocks;
    let k6x16 = (6, 16);
    // All rows in one block, C wider than tall: rows stay whole (columns are split).
    assert_eq!(row_blocks(161, 512, 1, k6x16, 2), 1);
    assert_eq!(row_blocks(128, 784, 1, k6x16, 3), 1);
    // One thread: whatever the rows need.
    assert_eq!(row_blocks(161, 512, 1, k6x16, 1), 1);
    assert_eq!(row_blocks(2000, 512, 7, k6x16, 1), 7);
    // Square or tall: two blocks per thread while they keep 4 panels, a multiple of threads.
    assert_eq!(row_blocks(512, 512, 1, k6x16, 2), 4);
    assert_eq!(row_blocks(784, 256, 1, k6x16, 2), 4);
    assert_eq!(row_blocks(2000, 4000, 7, k6x16, 2), 8);
    // Too few B panels to give every thread columns: rows are split as before.
    assert_eq!(row_blocks(64, 20, 1, k6x16, 2), 2);
    assert_eq!(row_blocks(40, 48, 1, k6x16, 4), 4);
}
