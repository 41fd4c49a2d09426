//! Shared test fixtures for the optimizer tests: a deterministic PRNG, a fixed quadratic whose
//! gradient changes every step, a normwise comparison, and a runner over rayon pools of
//! different sizes.

/// SplitMix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    pub fn vec_f32(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi) as f32).collect()
    }
}

/// f(x) = sum_i a_i/2 (x_i - c_i)^2 + 0.1 x_i x_{i+1} (cyclic): a diagonally dominant quadratic
/// with a coupling so each coordinate's gradient depends on its neighbour.
pub struct Quadratic {
    pub a: Vec<f64>,
    pub c: Vec<f64>,
    pub x0: Vec<f32>,
}

impl Quadratic {
    pub fn new(n: usize, seed: u64) -> Self {
        let mut r = Rng::new(seed);
        let a = (0..n).map(|_| r.uniform(0.5, 2.0)).collect();
        let c = (0..n)
            .map(|_| {
                let m = r.uniform(1.0, 2.0);
                if r.next_u64() & 1 == 0 {
                    m
                } else {
                    -m
                }
            })
            .collect();
        let x0 = r.vec_f32(n, -2.0, 2.0);
        Quadratic { a, c, x0 }
    }

    /// The gradient at `x`, computed in f64 and rounded once to f32; the f32 kernel gets it as
    /// is and the f64 reference gets the same values widened, so the comparison isolates the
    /// update formula from the gradient's rounding.
    pub fn grad(&self, x: &[f32]) -> Vec<f32> {
        let n = x.len();
        (0..n)
            .map(|i| {
                let xi = x[i] as f64;
                let next = x[(i + 1) % n] as f64;
                let prev = x[(i + n - 1) % n] as f64;
                (self.a[i] * (xi - self.c[i]) + 0.1 * (next + prev)) as f32
            })
            .collect()
    }
}

pub fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Normwise relative error max|got - want| / max|want|, asserted below `rtol`.
pub fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (&g, &w)| m.max((g as f64 - w).abs()));
    assert!(
        got.iter().all(|v| v.is_finite()),
        "{what}: non-finite values"
    );
    assert!(
        scale > 0.0,
        "{what}: the reference is all zeros, the test proves nothing"
    );
    assert!(
        err <= rtol * scale,
        "{what}: max error {err:e} > {rtol:e} * {scale:e}"
    );
}

/// Runs `f` in local pools of 1, 2 and 3 threads and asserts the outputs are bitwise equal.
pub fn same_in_pools<F: Fn() -> Vec<f32> + Sync>(what: &str, f: F) {
    let runs: Vec<Vec<u32>> = [1, 2, 3]
        .iter()
        .map(|&t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("pool");
            pool.install(|| f().iter().map(|v| v.to_bits()).collect())
        })
        .collect();
    assert!(runs[0].iter().any(|&b| b != 0), "{what}: all-zero output");
    assert_eq!(runs[0], runs[1], "{what}: 1 vs 2 threads");
    assert_eq!(runs[0], runs[2], "{what}: 1 vs 3 threads");
}

/// Parameter length for the thread tests: above the parallel threshold, not a multiple of 64.
pub const BIG: usize = super::PAR_MIN_LEN * 3 + 17;
