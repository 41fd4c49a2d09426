//! The paths added for repeated and small products: B packed once (`PackedB`) against the
//! float64 reference and bitwise against `sgemm`, across thread counts; and the unpacked-A
//! macro-kernel bitwise against the packed one on edge tiles and strided C.

use super::*;
use crate::cpu::gemm::driver::sgemm_with;
use crate::cpu::gemm::kernel::{MacroArgs, PackArgs, Update};
use crate::cpu::gemm::prepacked::PackedB;
use crate::cpu::gemm::{Epilogue, MatMut, MatRef};

/// `sgemm_packed_b` on kernel set `ks` (B packed for it).
fn packed_product(
    ks: &'static KernelSet,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: MatMut,
    e: Epilogue,
) {
    let pb = PackedB::with_kernels(ks, b);
    assert_eq!((pb.rows(), pb.cols()), (b.rows, b.cols));
    // SAFETY: as `sgemm_packed_b`, on the set the operand was packed for.
    crate::cpu::gemm::sgemm_packed_b_on(alpha, a, &pb, beta, c, e);
}

#[test]
fn gemm_packed_b_matches_reference_and_sgemm_bitwise() {
    for ks in kernel_sets() {
        let mut rng = Rng(11);
        // Odd shapes, several K blocks (k past kc), wide and narrow C, and the recurrent
        // shapes (64 x 512 x 128 forward, 64 x 128 x 512 backward).
        let mut shapes: Vec<(usize, usize, usize)> = (0..60)
            .map(|_| (rng.range(1, 80), rng.range(1, 80), rng.range(1, 80)))
            .collect();
        shapes.extend([
            (64, 512, 128),
            (64, 128, 512),
            (7, 700, 1029),
            (130, 33, 900),
        ]);
        for (m, n, k) in shapes {
            let la = LAYOUTS[rng.range(0, 4)];
            let lb = LAYOUTS[rng.range(0, 4)];
            let lc = LAYOUTS[rng.range(0, 4)];
            let alpha = [1.0, -0.5][rng.range(0, 2)];
            let beta = [0.0, 1.0, 0.75][rng.range(0, 3)];
            let e = EPIS[rng.range(0, 4)];
            let a = Mat::new(&mut rng, m, k, la, f32::NAN);
            let b = Mat::new(&mut rng, k, n, lb, f32::NAN);
            let c0 = Mat::new(&mut rng, m, n, lc, -7.0);
            let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
            let mut c = c0.clone();
            packed_product(ks, alpha, a.r(), b.r(), beta, c.w(), epilogue(e, &bias));
            let what = format!("{} packed B {la:?}/{lb:?}/{lc:?} {m}x{n}x{k}", ks.name);
            check(&what, alpha, &a, &b, beta, &c0, &c, e, &bias);
            let mut c2 = c0.clone();
            sgemm_with(ks, alpha, a.r(), b.r(), beta, c2.w(), epilogue(e, &bias));
            assert!(bits(&c.buf) == bits(&c2.buf), "{what}: differs from sgemm");
        }
    }
}

#[test]
fn gemm_packed_b_bitwise_identical_across_thread_counts() {
    for ks in kernel_sets() {
        let mut rng = Rng(5);
        for &(m, n, k) in &[
            (64, 512, 128),
            (64, 128, 512),
            (300, 200, 150),
            (13, 1000, 300),
        ] {
            let a = Mat::new(&mut rng, m, k, Layout::RowMajor, 0.0);
            let b = Mat::new(&mut rng, k, n, Layout::ColMajor, 0.0);
            let c0 = Mat::new(&mut rng, m, n, Layout::RowMajor, 0.0);
            let run = |threads: usize| {
                let mut c = c0.clone();
                in_pool(threads, || {
                    packed_product(ks, 1.0, a.r(), b.r(), 1.0, c.w(), Epilogue::None)
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
    }
}

/// A row's result does not depend on which rows share its product: the recurrent layers run
/// each block of batch rows as its own serial product, and their results must not depend on
/// where the blocks start (edge tiles fall elsewhere) or on the thread count.
#[test]
fn gemm_packed_b_serial_rows_do_not_depend_on_the_row_split() {
    for ks in kernel_sets() {
        let mut rng = Rng(21);
        // The LSTM step shapes (stacked 160 deep, 512 wide; backward 512 deep, 128 wide), a
        // depth past kc, and row cuts at every residue of the panel heights.
        for &(m, n, k) in &[(64, 512, 160), (67, 128, 512), (33, 100, 1029)] {
            let a = Mat::new(&mut rng, m, k, Layout::RowMajor, 0.0);
            let b = Mat::new(&mut rng, k, n, Layout::ColMajor, 0.0);
            let c0 = Mat::new(&mut rng, m, n, Layout::RowMajor, 0.0);
            let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
            let pb = PackedB::with_kernels(ks, b.r());
            let mut whole = c0.clone();
            crate::cpu::gemm::sgemm_packed_b(
                1.0,
                a.r(),
                &pb,
                0.5,
                whole.w(),
                Epilogue::Bias(&bias),
            );
            for cut in [1, 5, 7, 13, 16, 32] {
                let mut c = c0.buf.clone();
                for r0 in (0..m).step_by(cut) {
                    let r1 = (r0 + cut).min(m);
                    crate::cpu::gemm::sgemm_packed_b_serial(
                        1.0,
                        MatRef::row_major(&a.buf[r0 * k..r1 * k], r1 - r0, k),
                        &pb,
                        0.5,
                        MatMut::row_major(&mut c[r0 * n..r1 * n], r1 - r0, n),
                        Epilogue::Bias(&bias),
                    );
                }
                assert!(
                    bits(&c) == bits(&whole.buf),
                    "{} {m}x{n}x{k}: blocks of {cut} rows differ from one product",
                    ks.name
                );
            }
        }
    }
}

#[test]
fn gemm_packed_b_checks_shapes() {
    let b = vec![0.0f32; 12];
    let pb = PackedB::new(MatRef::row_major(&b, 3, 4));
    let a = vec![0.0f32; 10];
    let mut c = vec![0.0f32; 8];
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::cpu::gemm::sgemm_packed_b(
            1.0,
            MatRef::row_major(&a, 2, 5),
            &pb,
            0.0,
            MatMut::row_major(&mut c, 2, 4),
            Epilogue::None,
        )
    }));
    assert!(r.is_err(), "inner dimensions 5 vs 3 must panic");
    // Empty products are fine.
    let pb0 = PackedB::new(MatRef::row_major(&[], 0, 4));
    let mut c = vec![1.0f32; 8];
    crate::cpu::gemm::sgemm_packed_b(
        1.0,
        MatRef::row_major(&[], 2, 0),
        &pb0,
        0.0,
        MatMut::row_major(&mut c, 2, 4),
        Epilogue::None,
    );
    assert!(c.iter().all(|&v| v == 0.0));
}

/// The unpacked-A macro-kernel against the packed one, bitwise: every row count of the last
/// panel, ragged columns, a strided C, alpha/beta and bias.
#[test]
fn gemm_direct_a_macro_kernel_matches_packed_bitwise() {
    for ks in kernel_sets().into_iter().filter(|ks| ks.direct) {
        let mut rng = Rng(3);
        for &(mc, nc, kc) in &[
            (1, 1, 1),
            (5, 17, 9),
            (13, 40, 64),
            (2 * ks.mr + 1, 3 * ks.nr - 1, 100),
        ] {
            for layout in [Layout::RowMajor, Layout::ColMajor, Layout::General] {
                for cs_c in [1, 2] {
                    let a = Mat::new(&mut rng, mc, kc, layout, f32::NAN);
                    let bsrc = Mat::new(&mut rng, kc, nc, Layout::RowMajor, 0.0);
                    let bias: Vec<f32> = (0..nc).map(|_| rng.val()).collect();
                    let npanels = nc.div_ceil(ks.nr);
                    let mut bp = vec![0.0f32; npanels * ks.nr * kc];
                    let mut ap = vec![0.0f32; mc.div_ceil(ks.mr) * ks.mr * kc];
                    let rs_c = nc * cs_c + 1;
                    let c0: Vec<f32> = (0..mc * rs_c).map(|_| rng.val()).collect();
                    let (mut c1, mut c2) = (c0.clone(), c0.clone());
                    let upd = Update {
                        alpha: 0.5,
                        beta: 0.75,
                        load_c: true,
                        bias: bias.as_ptr(),
                        relu: false,
                    };
                    // SAFETY: buffers sized for the panels; A, B and C hold every element read.
                    unsafe {
                        let pb = PackArgs {
                            src: bsrc.buf.as_ptr(),
                            len: nc,
                            kc,
                            s_outer: bsrc.cs,
                            s_k: bsrc.rs,
                        };
                        (ks.pack_b)(&pb, bp.as_mut_ptr());
                        let pa = PackArgs {
                            src: a.buf.as_ptr(),
                            len: mc,
                            kc,
                            s_outer: a.rs,
                            s_k: a.cs,
                        };
                        (ks.pack_a)(&pa, ap.as_mut_ptr());
                        let mut args = MacroArgs {
                            mc,
                            nc,
                            kc,
                            a: ap.as_ptr(),
                            b: bp.as_ptr(),
                            c: c1.as_mut_ptr(),
                            rs_c,
                            cs_c,
                            upd,
                            prefetch_b: true,
                        };
                        (ks.macro_kernel)(&args);
                        args.a = a.buf.as_ptr();
                        args.c = c2.as_mut_ptr();
                        (ks.macro_kernel_direct)(&args, (a.rs, a.cs));
                    }
                    assert!(
                        bits(&c1) == bits(&c2),
                        "{} {mc}x{nc}x{kc} {layout:?} cs_c={cs_c}: direct differs from packed",
                        ks.name
                    );
                }
            }
        }
    }
}

/// B written row by row through `RowWriter`s (several writers, rows in the order a recurrent
/// layer's groups produce them) gives bitwise the products of B packed whole: K blocks past
/// kc, a partial last panel, groups of rows of unequal sizes.
#[test]
fn gemm_packed_b_filled_by_rows_matches_packing_whole() {
    for ks in kernel_sets() {
        let mut rng = Rng(31);
        for &(steps, batch, n, parts) in &[
            (50, 64, 512, &[0..16, 16..32, 32..48, 48..64][..]),
            (9, 7, 21, &[0..3, 3..7][..]),
            (40, 33, 100, &[0..16, 16..33][..]),
        ] {
            let k = steps * batch;
            let b = Mat::new(&mut rng, k, n, Layout::RowMajor, 0.0);
            let a = Mat::new(&mut rng, 13, k, Layout::ColMajor, 0.0);
            let whole = PackedB::with_kernels(ks, b.r());
            let mut rows = PackedB::for_rows_on(ks, k, n);
            let mut writers = rows.row_writers(batch, parts);
            for t in (0..steps).rev() {
                for (w, part) in writers.iter_mut().zip(parts) {
                    let r0 = t * batch + part.start;
                    w.write(r0, &b.buf[r0 * n..(r0 + part.len()) * n]);
                }
            }
            drop(writers);
            let c0 = Mat::new(&mut rng, 13, n, Layout::RowMajor, 0.0);
            let (mut c1, mut c2) = (c0.clone(), c0.clone());
            crate::cpu::gemm::sgemm_packed_b_on(1.0, a.r(), &whole, 0.0, c1.w(), Epilogue::None);
            crate::cpu::gemm::sgemm_packed_b_on(1.0, a.r(), &rows, 0.0, c2.w(), Epilogue::None);
            assert!(
                bits(&c1.buf) == bits(&c2.buf),
                "{} {k}x{n}: rows written one by one differ",
                ks.name
            );
        }
    }
}

#[test]
#[should_panic(expected = "belongs to another writer")]
fn gemm_row_writer_refuses_rows_of_another_writer() {
    let mut pb = PackedB::for_rows(8, 4);
    let mut w = pb.row_writers(4, &[0..2, 2..4]);
    w[0].write(2, &[0.0; 4]);
}
