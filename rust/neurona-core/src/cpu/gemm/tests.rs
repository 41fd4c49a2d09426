//! Tests of the fast GEMM: every micro-kernel this CPU can run against a float64 reference
//! (random odd shapes, large shapes, transposed and general strides, alpha/beta, epilogues,
//! batches with broadcast operands), untouched memory around C, bitwise equality across
//! thread counts, and the input checks.
//!
//! Tolerance: the computed element is a chain of at most n = 2k + 2*nkb + 3 roundings (each
//! step of the dot product rounds at most twice, each of the nkb K blocks adds the alpha
//! product and the add into C, then the beta product, its add and the bias add), so by the
//! standard error analysis |computed - exact| <= gamma_n * (|alpha| sum_p |a_ip b_pj| +
//! |beta c_ij| + |bias_j|), gamma_n = n u / (1 - n u), u = 2^-24. The bound does not depend on
//! which kernel ran; kc >= 64 (see `blocking`) gives nkb <= ceil(k / 64).

use super::driver::{sgemm_batched_with, sgemm_with};
use super::isa::{kernels, Isa};
use super::kernel::KernelSet;
use super::{naive, Epilogue, MatMut, MatRef};

/// splitmix64: a small deterministic generator so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in lo..hi (hi exclusive).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo) as u64) as usize
    }
    /// Uniform in [-1, 1).
    fn val(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Every kernel set this CPU can run.
fn available() -> Vec<&'static KernelSet> {
    Isa::ALL.into_iter().filter_map(kernels).collect()
}

/// How a test matrix is laid out in its buffer.
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    /// Stored transposed: columns contiguous (what `MatRef::t` of a row-major matrix gives).
    ColMajor,
    /// Rows contiguous, padded to a longer row stride.
    Padded,
    /// Neither stride is 1.
    General,
}

const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::ColMajor,
    Layout::Padded,
    Layout::General,
];

/// A rows x cols matrix in a buffer with the given layout; elements not in the matrix hold
/// `gap` so that a kernel reading or writing outside the matrix is caught.
#[derive(Clone)]
struct Mat {
    buf: Vec<f32>,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl Mat {
    fn new(rng: &mut Rng, rows: usize, cols: usize, layout: Layout, gap: f32) -> Mat {
        let (rs, cs) = match layout {
            Layout::RowMajor => (cols, 1),
            Layout::ColMajor => (1, rows),
            Layout::Padded => (cols + 3, 1),
            Layout::General => (2, 2 * rows + 1),
        };
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        };
        let mut m = Mat {
            buf: vec![gap; len + 5],
            rows,
            cols,
            rs,
            cs,
        };
        for i in 0..rows {
            for j in 0..cols {
                m.buf[i * rs + j * cs] = rng.val();
            }
        }
        m
    }
    fn at(&self, i: usize, j: usize) -> f32 {
        self.buf[i * self.rs + j * self.cs]
    }
    fn r(&self) -> MatRef<'_> {
        MatRef {
            data: &self.buf,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }
    fn w(&mut self) -> MatMut<'_> {
        MatMut {
            data: &mut self.buf,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }
    /// Indices of the buffer that are not elements of the matrix.
    fn gaps(&self) -> Vec<usize> {
        let mut inside = vec![false; self.buf.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                inside[i * self.rs + j * self.cs] = true;
            }
        }
        (0..self.buf.len()).filter(|&x| !inside[x]).collect()
    }
}

#[derive(Clone, Copy, Debug)]
enum Epi {
    None,
    Bias,
    BiasRelu,
    Relu,
}

const EPIS: [Epi; 4] = [Epi::None, Epi::Bias, Epi::BiasRelu, Epi::Relu];

fn epilogue<'a>(e: Epi, bias: &'a [f32]) -> Epilogue<'a> {
    match e {
        Epi::None => Epilogue::None,
        Epi::Bias => Epilogue::Bias(bias),
        Epi::BiasRelu => Epilogue::BiasRelu(bias),
        Epi::Relu => Epilogue::Relu,
    }
}

/// Checks `c` (the result) against the float64 reference computed from `a`, `b`, the old C
/// `c0` and the bias, element by element with the bound of the module doc; the gaps of C's
/// buffer must be untouched.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn check(
    what: &str,
    alpha: f32,
    a: &Mat,
    b: &Mat,
    beta: f32,
    c0: &Mat,
    c: &Mat,
    e: Epi,
    bias: &[f32],
) {
    let k = a.cols;
    let rounds = (2 * k + 2 * k.div_ceil(64) + 3) as f64;
    let nu = rounds * f64::from(f32::EPSILON) / 2.0;
    let gamma = nu / (1.0 - nu);
    for i in 0..c.rows {
        for j in 0..c.cols {
            let (mut dot, mut mag) = (0.0f64, 0.0f64);
            for p in 0..k {
                let t = f64::from(a.at(i, p)) * f64::from(b.at(p, j));
                dot += t;
                mag += t.abs();
            }
            let mut v = f64::from(alpha) * dot;
            let mut scale = f64::from(alpha).abs() * mag;
            if beta != 0.0 {
                v += f64::from(beta) * f64::from(c0.at(i, j));
                scale += (f64::from(beta) * f64::from(c0.at(i, j))).abs();
            }
            if matches!(e, Epi::Bias | Epi::BiasRelu) {
                v += f64::from(bias[j]);
                scale += f64::from(bias[j]).abs();
            }
            if matches!(e, Epi::Relu | Epi::BiasRelu) {
                v = v.max(0.0);
            }
            let got = f64::from(c.at(i, j));
            let tol = gamma * scale;
            assert!(
                (got - v).abs() <= tol,
                "{what}: C[{i},{j}] = {got}, expected {v} (tolerance {tol:e}); m={} n={} k={k}",
                c.rows,
                c.cols
            );
        }
    }
    for x in c0.gaps() {
        assert_eq!(
            c.buf[x].to_bits(),
            c0.buf[x].to_bits(),
            "{what}: wrote outside C at {x}"
        );
    }
}

/// One random case on kernel set `ks`: random layouts, alpha, beta and (unless given)
/// epilogue.
fn random_case(ks: &KernelSet, rng: &mut Rng, m: usize, n: usize, k: usize, e: Option<Epi>) {
    let la = LAYOUTS[rng.range(0, 4)];
    let lb = LAYOUTS[rng.range(0, 4)];
    let lc = LAYOUTS[rng.range(0, 4)];
    let alpha = [1.0, -0.5, 2.25][rng.range(0, 3)];
    let beta = [0.0, 1.0, 0.75][rng.range(0, 3)];
    let e = e.unwrap_or(EPIS[rng.range(0, 4)]);
    let a = Mat::new(rng, m, k, la, f32::NAN);
    let b = Mat::new(rng, k, n, lb, f32::NAN);
    let mut c0 = Mat::new(rng, m, n, lc, -7.0);
    if beta == 0.0 {
        // C must not be read when beta == 0.
        for i in 0..m {
            for j in 0..n {
                c0.buf[i * c0.rs + j * c0.cs] = f32::NAN;
            }
        }
    }
    let bias: Vec<f32> = (0..n).map(|_| rng.val()).collect();
    let mut c = c0.clone();
    sgemm_with(ks, alpha, a.r(), b.r(), beta, c.w(), epilogue(e, &bias));
    let what = format!(
        "{} {la:?}/{lb:?}/{lc:?} alpha={alpha} beta={beta} {e:?}",
        ks.name
    );
    check(&what, alpha, &a, &b, beta, &c0, &c, e, &bias);
}

#[test]
fn gemm_random_odd_shapes_every_isa() {
    for ks in available() {
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
    for ks in available() {
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
    for ks in available() {
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
    for ks in available() {
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
    for ks in available() {
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
    for ks in available() {
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
    super::sgemm(0.5, a.r(), b.r(), 1.5, fast.w(), Epilogue::BiasRelu(&bias));
    naive::sgemm(0.5, a.r(), b.r(), 1.5, slow.w(), Epilogue::BiasRelu(&bias));
    check("sgemm", 0.5, &a, &b, 1.5, &c0, &fast, Epi::BiasRelu, &bias);
    check("naive", 0.5, &a, &b, 1.5, &c0, &slow, Epi::BiasRelu, &bias);
    assert!(["avx512", "avx2", "neon", "portable"].contains(&super::isa_name()));
}

/// A batch stored as one buffer: item t of a rows x cols matrix at t * stride.
fn batch_buf(rng: &mut Rng, items: usize, rows: usize, cols: usize) -> Vec<f32> {
    (0..items * rows * cols).map(|_| rng.val()).collect()
}

fn item(buf: &[f32], t: usize, rows: usize, cols: usize, stride: usize) -> Mat {
    let data = buf[t * stride..t * stride + rows * cols].to_vec();
    Mat {
        buf: data,
        rows,
        cols,
        rs: cols,
        cs: 1,
    }
}

#[test]
fn gemm_batched_with_broadcast_operands() {
    for ks in available() {
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
    for ks in available() {
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

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    pool.install(f)
}

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
    for ks in available() {
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
#[should_panic(expected = "does not fit")]
fn gemm_rejects_a_slice_too_short_for_its_strides() {
    let a = vec![0.0f32; 11];
    let b = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    super::sgemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&b, 4, 3),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        Epilogue::None,
    );
}

#[test]
#[should_panic(expected = "inner dimensions")]
fn gemm_rejects_mismatched_shapes() {
    let a = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    super::sgemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&a, 3, 4),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        Epilogue::None,
    );
}

#[test]
#[should_panic(expected = "bias")]
fn gemm_rejects_a_short_bias() {
    let a = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    let bias = [0.0f32; 2];
    super::sgemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&a, 4, 3),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        Epilogue::Bias(&bias),
    );
}

#[test]
#[should_panic(expected = "does not fit")]
fn gemm_batched_rejects_a_batch_past_the_slice() {
    let a = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9 * 2];
    super::sgemm_batched(
        3,
        1.0,
        MatRef::row_major(&a, 3, 4),
        0,
        MatRef::row_major(&a, 4, 3),
        0,
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        9,
        Epilogue::None,
    );
}

#[test]
fn gemm_every_runnable_isa_is_tested() {
    let names: Vec<&str> = available().iter().map(|k| k.name).collect();
    assert!(names.contains(&"portable"));
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(names.contains(&"avx2"), avx2);
        assert_eq!(
            names.contains(&"avx512"),
            is_x86_feature_detected!("avx512f")
        );
    }
    #[cfg(target_arch = "aarch64")]
    assert!(names.contains(&"neon"));
}
