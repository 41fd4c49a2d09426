// Scratch tuning harness (not committed): single-thread GFLOP/s by on-CPU time.
use neurona_core::cpu::gemm::{sgemm, Epilogue, MatMut, MatRef};
use std::hint::black_box;

#[repr(C)]
struct Ts {
    s: i64,
    ns: i64,
}
extern "C" {
    fn clock_gettime(id: i32, ts: *mut Ts) -> i32;
}
fn oncpu_ns() -> u64 {
    let mut t = Ts { s: 0, ns: 0 };
    unsafe { clock_gettime(3, &mut t) }; // CLOCK_THREAD_CPUTIME_ID
    (t.s * 1_000_000_000 + t.ns) as u64
}

#[target_feature(enable = "avx2,fma")]
unsafe fn peak() -> f64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(0.0); 12];
    let x = _mm256_set1_ps(black_box(0.999));
    let y = _mm256_set1_ps(black_box(0.001));
    let n = 200_000_000u64;
    let c0 = oncpu_ns();
    for _ in 0..n / 12 {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, x, y);
        }
    }
    let t = (oncpu_ns() - c0) as f64 * 1e-9;
    black_box(acc);
    (n / 12 * 12) as f64 * 16.0 / t / 1e9
}

fn main() {
    if std::env::var_os("PEAK").is_some() {
        println!("peak GFLOP/s 1 core: {:.1}", unsafe { peak() });
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let mut shapes: Vec<(usize, usize, usize, bool, bool)> = vec![
        (64, 64, 64, false, false),
        (128, 128, 128, false, false),
        (256, 256, 256, false, false),
        (512, 512, 512, false, false),
        (1024, 1024, 1024, false, false),
        (128, 256, 784, false, false),
        (128, 128, 256, false, false),
        (256, 128, 128, true, false),
        (128, 256, 128, false, true),
        (784, 256, 128, true, false),
        (128, 784, 256, false, true),
    ];
    if let Ok(v) = std::env::var("SHAPES") {
        shapes = v
            .split(';')
            .map(|t| {
                let x: Vec<usize> = t.split(',').map(|s| s.parse().unwrap()).collect();
                (x[0], x[1], x[2], x[3] == 1, x[4] == 1)
            })
            .collect();
    }
    let threads: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    for (m, n, k, at, bt) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; m * n];
        let run = |c: &mut Vec<f32>| {
            let ar = if at {
                MatRef::row_major(&a, k, m).t()
            } else {
                MatRef::row_major(&a, m, k)
            };
            let br = if bt {
                MatRef::row_major(&b, n, k).t()
            } else {
                MatRef::row_major(&b, k, n)
            };
            sgemm(
                1.0,
                black_box(ar),
                black_box(br),
                0.0,
                MatMut::row_major(c, m, n),
                Epilogue::None,
            );
        };
        let fl = 2.0 * (m * n * k) as f64;
        let iters = ((2e8 / fl) as usize).max(2);
        let mut best_cpu = f64::MAX;
        let mut best_wall = f64::MAX;
        pool.install(|| {
            run(&mut c);
            for _ in 0..15 {
                let c0 = oncpu_ns();
                let t0 = std::time::Instant::now();
                for _ in 0..iters {
                    run(&mut c);
                }
                let w = t0.elapsed().as_secs_f64() / iters as f64;
                let cpu = (oncpu_ns() - c0) as f64 * 1e-9 / iters as f64;
                best_cpu = best_cpu.min(cpu);
                best_wall = best_wall.min(w);
            }
        });
        println!(
            "{m:5} {n:5} {k:5} {at:5} {bt:5}  cpu {:6.1}  wall {:6.1}",
            fl / best_cpu / 1e9,
            fl / best_wall / 1e9
        );
    }
}
