//! The thread pool every kernel runs in, and `set_num_threads`.
//!
//! rayon's global pool cannot be resized, but users expect `set_num_threads(n)` at any time
//! (as in PyTorch), so neurona keeps its own pool behind a lock and swaps it. Heavy kernels run
//! inside `install`; small ones stay on the calling thread and never pay the hand-off.
//!
//! Also the helpers that share out the writes of one buffer: `fill_chunks` / `fill_strips`
//! (each element written by one call, so the thread count changes nothing) and `filled` /
//! `placed`, which build a new vector that way without zero-filling it first.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::mem::MaybeUninit;
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
    if out.len() < 2 * ELEMENTWISE_GRAIN || is_serial() {
        f(0, out);
        return;
    }
    fill_strips(out, ELEMENTWISE_GRAIN, |k, chunk| {
        f(k * ELEMENTWISE_GRAIN, chunk)
    });
}

/// Calls `f(k, strip)` on the consecutive strips of `len` elements of `out` (the last one
/// shorter), in parallel when `out` is large. Each element is written by one call.
pub fn fill_strips<T: Send>(out: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    use rayon::prelude::*;
    let len = len.max(1);
    if out.len() < 2 * ELEMENTWISE_GRAIN || out.len() <= len || is_serial() {
        out.chunks_mut(len).enumerate().for_each(|(k, s)| f(k, s));
        return;
    }
    install(|| {
        out.par_chunks_mut(len)
            .enumerate()
            .for_each(|(k, s)| f(k, s))
    });
}

/// A vector of `len` elements that `write(start, chunk)` initialises chunk by chunk, in
/// parallel when large, with no zero-fill pass before (for buffers of a few megabytes that
/// pass costs as much as the writes themselves). Every `write` must initialise its whole chunk.
fn build_uninit<T: Send>(
    len: usize,
    write: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync + Send,
) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    fill_chunks(&mut v.spare_capacity_mut()[..len], write);
    // SAFETY: fill_chunks hands every element of 0..len to exactly one `write`, and the two
    // callers below initialise each element they are given.
    unsafe { v.set_len(len) };
    v
}

/// `len` copies of `value`.
pub fn filled<T: Copy + Send + Sync>(len: usize, value: T) -> Vec<T> {
    build_uninit(len, |_, chunk| {
        for x in chunk {
            x.write(value);
        }
    })
}

/// `len` elements: `src` from position `at`, `T::default()` (zero) everywhere else. Panics if
/// `src` does not fit.
pub fn placed<T: Copy + Default + Send + Sync>(len: usize, at: usize, src: &[T]) -> Vec<T> {
    assert!(at + src.len() <= len, "placed: source past the end");
    build_uninit(len, |start, chunk| {
        // This chunk's part of the source run, clamped to the chunk.
        let lo = at.clamp(start, start + chunk.len()) - start;
        let hi = (at + src.len()).clamp(start, start + chunk.len()) - start;
        let (before, rest) = chunk.split_at_mut(lo);
        let (run, after) = rest.split_at_mut(hi - lo);
        for x in before.iter_mut().chain(after) {
            x.write(T::default());
        }
        // Where the run starts in `src` (past its end when the run is empty here).
        let from = (start + lo).saturating_sub(at).min(src.len());
        for (x, &v) in run.iter_mut().zip(&src[from..]) {
            x.write(v);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths around the chunk size (one chunk, a partial last chunk, many chunks) on one
    /// thread and on several.
    fn lengths() -> [usize; 6] {
        let g = ELEMENTWISE_GRAIN;
        [0, 7, 2 * g - 1, 2 * g, 5 * g + 3, 9 * g]
    }

    #[test]
    fn filled_writes_every_element() {
        for threads in [1, 3] {
            set_num_threads(threads);
            for len in lengths() {
                assert_eq!(filled(len, 2.5f32), vec![2.5f32; len], "len {len}");
            }
        }
        set_num_threads(1);
    }

    #[test]
    fn placed_puts_the_source_at_its_offset_and_zeros_around_it() {
        for threads in [1, 3] {
            set_num_threads(threads);
            for len in lengths() {
                // Runs at the start, the end, inside one chunk, across chunk boundaries.
                for (at, n) in [
                    (0, len),
                    (0, len / 2),
                    (len / 3, len / 3),
                    (len - len / 4, len / 4),
                ] {
                    let src: Vec<f32> = (0..n).map(|k| k as f32 + 1.0).collect();
                    let mut want = vec![0.0f32; len];
                    want[at..at + n].copy_from_slice(&src);
                    assert_eq!(placed(len, at, &src), want, "len {len}, run {at}+{n}");
                }
            }
        }
        set_num_threads(1);
    }

    #[test]
    #[should_panic(expected = "placed: source past the end")]
    fn placed_rejects_a_source_that_does_not_fit() {
        placed(4, 3, &[1.0f32, 2.0]);
    }
}
