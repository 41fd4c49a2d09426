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
//!
//! This file holds the shared helpers; the tests are in the submodules.

mod batched;
mod checks;
mod prepacked;
mod reference;
mod streamed;
mod threads;

use super::driver::sgemm_with;
use super::isa::{kernels, Isa};
use super::kernel::KernelSet;
use super::{Epilogue, MatMut, MatRef};

/// splitmix64: a small deterministic generator so failures reproduce.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in lo..hi (hi exclusive).
    pub(super) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo) as u64) as usize
    }
    /// Uniform in [-1, 1).
    pub(super) fn val(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Every kernel set this CPU can run.
pub(super) fn available() -> Vec<&'static KernelSet> {
    Isa::ALL.into_iter().filter_map(kernels).collect()
}

/// Scalar kernels with the tile shapes of the AVX-512 (12 x 32, with its AVX2 packing on x86)
/// and NEON (8 x 12) kernels, so that the driver, edge tiles and packing for those shapes are
/// tested on a machine that cannot run the real ones.
mod stand_in {
    pub(super) mod avx512_shape {
        use crate::cpu::gemm::kernel::define_kernel_set;
        use crate::cpu::gemm::kernel_portable::Portable;
        #[cfg(target_arch = "x86_64")]
        use crate::cpu::gemm::pack_x86::pack_panels_avx2;
        #[cfg(target_arch = "x86_64")]
        define_kernel_set!("12x32 stand-in", Portable<12, 32>, 12, 32, pack_panels_avx2, "avx2");
        #[cfg(not(target_arch = "x86_64"))]
        use crate::cpu::gemm::pack::pack_panels;
        #[cfg(not(target_arch = "x86_64"))]
        define_kernel_set!("12x32 stand-in", Portable<12, 32>, 12, 32, pack_panels);
    }
    pub(super) mod neon_shape {
        use crate::cpu::gemm::kernel::define_kernel_set;
        use crate::cpu::gemm::kernel_portable::Portable;
        use crate::cpu::gemm::pack::pack_panels;
        define_kernel_set!("8x12 stand-in", Portable<8, 12>, 8, 12, pack_panels);
    }
}

/// The available kernel sets and the stand-ins this CPU can run.
pub(super) fn kernel_sets() -> Vec<&'static KernelSet> {
    let mut v = available();
    v.push(&stand_in::neon_shape::KERNELS);
    #[cfg(target_arch = "x86_64")]
    let wide = is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let wide = true;
    if wide {
        v.push(&stand_in::avx512_shape::KERNELS);
    }
    v
}

/// How a test matrix is laid out in its buffer.
#[derive(Clone, Copy, Debug)]
pub(super) enum Layout {
    RowMajor,
    /// Stored transposed: columns contiguous (what `MatRef::t` of a row-major matrix gives).
    ColMajor,
    /// Rows contiguous, padded to a longer row stride.
    Padded,
    /// Neither stride is 1.
    General,
}

pub(super) const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::ColMajor,
    Layout::Padded,
    Layout::General,
];

/// A rows x cols matrix in a buffer with the given layout; elements not in the matrix hold
/// `gap` so that a kernel reading or writing outside the matrix is caught.
#[derive(Clone)]
pub(super) struct Mat {
    pub(super) buf: Vec<f32>,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) rs: usize,
    pub(super) cs: usize,
}

impl Mat {
    pub(super) fn new(rng: &mut Rng, rows: usize, cols: usize, layout: Layout, gap: f32) -> Mat {
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
    pub(super) fn at(&self, i: usize, j: usize) -> f32 {
        self.buf[i * self.rs + j * self.cs]
    }
    pub(super) fn r(&self) -> MatRef<'_> {
        MatRef {
            data: &self.buf,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }
    pub(super) fn w(&mut self) -> MatMut<'_> {
        MatMut {
            data: &mut self.buf,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }
    /// Indices of the buffer that are not elements of the matrix.
    pub(super) fn gaps(&self) -> Vec<usize> {
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
pub(super) enum Epi {
    None,
    Bias,
    BiasRelu,
    Relu,
}

pub(super) const EPIS: [Epi; 4] = [Epi::None, Epi::Bias, Epi::BiasRelu, Epi::Relu];

pub(super) fn epilogue<'a>(e: Epi, bias: &'a [f32]) -> Epilogue<'a> {
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
pub(super) fn check(
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
                v = if v <= 0.0 { 0.0 } else { v };
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
pub(super) fn random_case(
    ks: &KernelSet,
    rng: &mut Rng,
    m: usize,
    n: usize,
    k: usize,
    e: Option<Epi>,
) {
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

pub(super) fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

pub(super) fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    pool.install(f)
}

/// A batch stored as one buffer: item t of a rows x cols matrix at t * stride.
pub(super) fn batch_buf(rng: &mut Rng, items: usize, rows: usize, cols: usize) -> Vec<f32> {
    (0..items * rows * cols).map(|_| rng.val()).collect()
}

pub(super) fn item(buf: &[f32], t: usize, rows: usize, cols: usize, stride: usize) -> Mat {
    let data = buf[t * stride..t * stride + rows * cols].to_vec();
    Mat {
        buf: data,
        rows,
        cols,
        rs: cols,
        cs: 1,
    }
}
