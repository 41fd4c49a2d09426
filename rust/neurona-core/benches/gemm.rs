//! GEMM throughput: square products and the products of one MLP training step at batch 128
//! (forward, and the backward dW = X^T dY and dX = dY W^T with transposes given as strides).
//!
//! `cargo bench -p neurona-core --bench gemm` runs criterion (throughput in elements/s is
//! FLOP/s: each iteration counts 2*m*n*k). With `NEURONA_GEMM_TABLE=1` it instead prints a
//! table of median GFLOP/s to set beside `benches/gemm_numpy_torch.py`: on 1 thread by wall
//! clock and by the thread's CPU time (which a busy shared machine disturbs much less), and
//! on the default rayon pool by wall clock, as the median and as the best of 41 short batches
//! (on a shared machine, the batches during which no other process held a core).

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use neurona_core::cpu::gemm::{isa_name, sgemm, Epilogue, MatMut, MatRef};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One benchmarked product: C (m x n) = op(A) (m x k) * op(B) (k x n).
struct Case {
    name: String,
    m: usize,
    n: usize,
    k: usize,
    /// A is stored k x m (row-major) and used transposed.
    a_t: bool,
    /// B is stored n x k (row-major) and used transposed.
    b_t: bool,
}

fn case(name: &str, m: usize, n: usize, k: usize, a_t: bool, b_t: bool) -> Case {
    Case {
        name: name.to_string(),
        m,
        n,
        k,
        a_t,
        b_t,
    }
}

fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = [64, 128, 256, 512, 1024, 2048]
        .iter()
        .map(|&n| case(&format!("square {n}"), n, n, n, false, false))
        .collect();
    // A 784-256-128 MLP at batch 128: X (128x784), W1 (784x256), H (128x256), W2 (256x128).
    // As `linear` and its backward run them (W stored out x in): y = X W^T, dW = dY^T X,
    // dX = dY W.
    v.push(case("op fwd1 X*W1^T", 128, 256, 784, false, true));
    v.push(case("op fwd2 H*W2^T", 128, 128, 256, false, true));
    v.push(case("op fwd3 H*W3^T", 128, 10, 128, false, true));
    v.push(case("op dW1 dY^T*X", 256, 784, 128, true, false));
    v.push(case("op dW2 dY^T*H", 128, 256, 128, true, false));
    v.push(case("op dW3 dY^T*H", 10, 128, 128, true, false));
    v.push(case("op dH2 dY*W2", 128, 256, 128, false, false));
    v.push(case("op dH3 dY*W3", 128, 128, 10, false, false));
    v.push(case("cnn fc", 128, 128, 3136, false, true));
    v.push(case("fwd1 X*W1", 128, 256, 784, false, false));
    v.push(case("fwd2 H*W2", 128, 128, 256, false, false));
    v.push(case("dW2 H^T*dY2", 256, 128, 128, true, false));
    v.push(case("dH dY2*W2^T", 128, 256, 128, false, true));
    v.push(case("dW1 X^T*dY1", 784, 256, 128, true, false));
    v.push(case("dX dY1*W1^T", 128, 784, 256, false, true));
    // One LSTM layer (input 32, hidden 128, batch 64, 50 steps): a step's h W_hh^T and
    // dgates W_hh, and the weight and bias gradients over all steps as one product.
    v.push(case("lstm step fwd", 64, 512, 160, false, true));
    v.push(case("lstm step bwd", 64, 128, 512, false, false));
    v.push(case("lstm [X H 1]^T dG", 161, 512, 3200, true, false));
    v.push(case("lstm x*Wih^T", 3200, 512, 32, false, true));
    v
}

struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

fn operands(c: &Case) -> Operands {
    let mut s = 1u32;
    let mut val = move || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 9) as f32 / (1 << 23) as f32 - 0.5
    };
    Operands {
        a: (0..c.m * c.k).map(|_| val()).collect(),
        b: (0..c.k * c.n).map(|_| val()).collect(),
        c: vec![0.0; c.m * c.n],
    }
}

fn run(case: &Case, ops: &mut Operands) {
    let a = if case.a_t {
        MatRef::row_major(&ops.a, case.k, case.m).t()
    } else {
        MatRef::row_major(&ops.a, case.m, case.k)
    };
    let b = if case.b_t {
        MatRef::row_major(&ops.b, case.n, case.k).t()
    } else {
        MatRef::row_major(&ops.b, case.k, case.n)
    };
    let c = MatMut::row_major(&mut ops.c, case.m, case.n);
    sgemm(1.0, black_box(a), black_box(b), 0.0, c, Epilogue::None);
    black_box(&ops.c);
}

fn flops(c: &Case) -> f64 {
    2.0 * (c.m * c.n * c.k) as f64
}

fn bench(cr: &mut Criterion) {
    let mut g = cr.benchmark_group(format!("sgemm_{}", isa_name()));
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(2));
    for c in cases() {
        let mut ops = operands(&c);
        g.throughput(Throughput::Elements(flops(&c) as u64));
        g.bench_function(BenchmarkId::from_parameter(&c.name), |bch| {
            bch.iter(|| run(&c, &mut ops))
        });
    }
    g.finish();
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Median seconds per call, by wall clock and by this thread's CPU time, over `reps` timed
/// batches of at least ~20 ms each.
fn median_secs(case: &Case, ops: &mut Operands, reps: usize) -> (f64, f64) {
    let t0 = Instant::now();
    run(case, ops);
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let iters = ((0.02 / once).ceil() as usize).clamp(1, 100_000);
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (t, c) = (Instant::now(), thread_cpu_secs());
        for _ in 0..iters {
            run(case, ops);
        }
        cpu.push((thread_cpu_secs() - c) / iters as f64);
        wall.push(t.elapsed().as_secs_f64() / iters as f64);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(wall), median(cpu))
}

/// The fastest of `reps` timed batches of ~2 ms, by wall clock: on a shared machine, the
/// batches when no other process held a core.
fn best_secs(case: &Case, ops: &mut Operands, reps: usize) -> f64 {
    let t0 = Instant::now();
    run(case, ops);
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let iters = ((0.002 / once).ceil() as usize).clamp(1, 100_000);
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                run(case, ops);
            }
            t.elapsed().as_secs_f64() / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn table() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("rayon pool");
    println!(
        "neurona sgemm ({}), median GFLOP/s; pool: {} threads",
        isa_name(),
        rayon::current_num_threads()
    );
    println!(
        "{:<18} {:>5} {:>5} {:>5} {:>9} {:>9} {:>9} {:>9}",
        "case", "m", "n", "k", "1T wall", "1T cpu", "pool wall", "pool best"
    );
    let only = std::env::var("NEURONA_GEMM_ONLY").unwrap_or_default();
    for c in cases()
        .into_iter()
        .filter(|c| c.name.contains(only.as_str()))
    {
        let mut ops = operands(&c);
        let (wall1, cpu1) = one.install(|| median_secs(&c, &mut ops, 11));
        let (wall, _) = median_secs(&c, &mut ops, 11);
        let best = best_secs(&c, &mut ops, 41);
        let g = |t: f64| flops(&c) / t / 1e9;
        println!(
            "{:<18} {:>5} {:>5} {:>5} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            c.name,
            c.m,
            c.n,
            c.k,
            g(wall1),
            g(cpu1),
            g(wall),
            g(best)
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    if std::env::var_os("NEURONA_GEMM_TABLE").is_some() {
        table();
    } else {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
