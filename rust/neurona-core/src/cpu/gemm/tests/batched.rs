//! `sgemm_batched`: broadcast operands, and outputs that overlap (run in order).

use super::*;
use crate::cpu::gemm::driver::{sgemm_batched_with, sgemm_with};
use crate::cpu::gemm::{Epilogue, MatMut, MatRef};

#[test]
fn gemm_batched_with_broadcast_operands() {
    for ks in kernel_sets() {
        let mut rng = Rng(21);
        // (batch, m, n, k, A broadcast, B broadcast); the last one is large enough to run
        // its items in parallel.
        let cases = [
            (5, 13, 17, 11, false, false),
            (4, 9, 33, 20, true, false),
            (6, 31, 7, 50, false, true),
            (16, 64, 48, 40, true, false),
        ];
        for &(batch, m, n, k, bcast_a, bcast_b) in &cases {
            let sa = if bcast_a { 0 } else { m * k };
            let sb = if bcast_b { 0 } else { k * n };
            let a = batch_buf(&mut rng, if bcast_a { 1 } else { batch }, m, k);
            // B^T storage: item t is n x k row-major, used transposed.
            let b = batch_buf(&mut rng, if bcast_b { 1 } else { batch }, n, k);
            let c0 = batch_buf(&mut rng, batch, m, n);
            let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
            let mut c = c0.clone();
            let ar = MatRef::row_major(&a, m, k);
            let br = MatRef::row_major(&b, n, k).t();
            let cm = MatMut::row_major(&mut c, m, n);
            sgemm_batched_with(
                ks,
                batch,
                0.5,
                (ar, sa),
                (br, sb),
                2.0,
                (cm, m * n),
                Epilogue::Bias(&bias),
            );
            for t in 0..batch {
                let at = item(&a, if bcast_a { 0 } else { t }, m, k, m * k);
                let bt = item(&b, if bcast_b { 0 } else { t }, n, k, n * k);
                let bt = Mat {
                    rows: k,
                    cols: n,
                    rs: 1,
                    cs: k,
                    ..bt
                };
                let c0t = item(&c0, t, m, n, m * n);
                let ct = item(&c, t, m, n, m * n);
                let what = format!("{} batched item {t} of {batch}", ks.name);
                check(&what, 0.5, &at, &bt, 2.0, &c0t, &ct, Epi::Bias, &bias);
            }
        }
    }
}

#[test]
fn gemm_batched_with_overlapping_outputs_runs_items_in_order() {
    // stride_c = 0: every item accumulates into the same C (beta = 1), one after another.
    for ks in kernel_sets() {
        let mut rng = Rng(8);
        let (batch, m, n, k) = (3, 20, 30, 40);
        let a = batch_buf(&mut rng, batch, m, k);
        let b = batch_buf(&mut rng, 1, k, n);
        let mut c = vec![0.0f32; m * n];
        let ar = MatRef::row_major(&a, m, k);
        let br = MatRef::row_major(&b, k, n);
        sgemm_batched_with(
            ks,
            batch,
            1.0,
            (ar, m * k),
            (br, 0),
            1.0,
            (MatMut::row_major(&mut c, m, n), 0),
            Epilogue::None,
        );
        // Expected: the sum over items, computed item by item by the same kernel.
        let mut expect = vec![0.0f32; m * n];
        for t in 0..batch {
            let at = MatRef::row_major(&a[t * m * k..], m, k);
            sgemm_with(
                ks,
                1.0,
                at,
                br,
                1.0,
                MatMut::row_major(&mut expect, m, n),
                Epilogue::None,
            );
        }
        assert_eq!(bits(&c), bits(&expect), "{}", ks.name);
    }
}
