//! The thread pool every kernel runs in, and `set_num_threads`.
//!
//! rayon's global pool cannot be resized, but users expect `set_num_threads(n)` at any time
//! (as in PyTorch), so neurona keeps its own pool behind a lock and swaps it. Heavy kernels run
//! inside `install`; small ones stay on the calling thread and never pay the hand-off.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Arc, OnceLock, RwLock};

fn slot() -> &'static RwLock<Option<Arc<ThreadPool>>> {
    static POOL: OnceLock<RwLock<Option<Arc<ThreadPool>>>> = OnceLock::new();
    POOL.get_or_init(|| RwLock::new(None))
}

fn default_threads() -> usize {
    std::env::var("NEURONA_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

fn build(n: usize) -> Arc<ThreadPool> {
    let pool = ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("neurona-{i}"))
        .build()
        .or_else(|_| ThreadPoolBuilder::new().num_threads(1).build())
        .expect("cannot start even a single worker thread");
    Arc::new(pool)
}

fn pool() -> Arc<ThreadPool> {
    if let Some(p) = slot().read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return p.clone();
    }
    let mut guard = slot().write().unwrap_or_else(|e| e.into_inner());
    guard
        .get_or_insert_with(|| build(default_threads()))
        .clone()
}

/// Sets the number of threads kernels use from now on (n >= 1).
pub fn set_num_threads(n: usize) {
    let n = n.max(1);
    let mut guard = slot().write().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().map(|p| p.current_num_threads()) != Some(n) {
        *guard = Some(build(n));
    }
}

/// The number of threads kernels use.
pub fn get_num_threads() -> usize {
    pool().current_num_threads()
}

/// Runs `f` inside neurona's pool, so rayon parallel iterators in it use that pool. Inside a
/// worker already (nested kernels), runs `f` directly.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    pool().install(f)
}

/// Whether kernels run on one thread: then they run on the caller's thread, which saves
/// handing each kernel to the pool's single worker and waiting for it (a wake-up and a sleep).
pub fn is_serial() -> bool {
    rayon::current_thread_index().is_none() && get_num_threads() == 1
}

/// Elements below which an elementwise kernel is not worth splitting across threads.
pub const ELEMENTWISE_GRAIN: usize = 1 << 15;

/// Fills `out` by calling `f(start, chunk)` on consecutive chunks, in parallel when large.
/// Each element is written by exactly one call, so the result does not depend on threads.
pub fn fill_chunks<T: Send>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync + Send) {
    use rayon::prelude::*;
    if out.len() < 2 * ELEMENTWISE_GRAIN || is_serial() {
        f(0, out);
        return;
    }
    install(|| {
        out.par_chunks_mut(ELEMENTWISE_GRAIN)
            .enumerate()
            .for_each(|(i, chunk)| f(i * ELEMENTWISE_GRAIN, chunk));
    });
}
