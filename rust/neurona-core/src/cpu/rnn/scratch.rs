//! Recycled buffers for the sequence drivers.
//!
//! A layer-direction needs a few large temporaries (the gates of every step, their
//! gradients: megabytes for a typical batch) on every forward and backward. Fresh allocations
//! of that size come straight from the kernel as zeroed pages, so each training step would pay
//! for faulting in and clearing them before the kernels overwrite every element anyway. The
//! drivers take them from this small pool instead and give them back when done.
//!
//! A taken buffer holds stale values: callers only take buffers they overwrite completely.

use std::sync::Mutex;

/// Buffers kept for reuse, at most.
const MAX_BUFFERS: usize = 16;
/// Elements kept for reuse across all buffers, at most (256 MiB of f32).
const MAX_ELEMENTS: usize = 64 << 20;

/// A set of spare buffers.
pub struct Pool(Mutex<Vec<Vec<f32>>>);

static POOL: Pool = Pool::new();

/// A buffer of exactly `len` elements with unspecified contents, from the shared pool.
pub fn take(len: usize) -> Vec<f32> {
    POOL.take(len)
}

/// Returns a buffer to the shared pool.
pub fn give(v: Vec<f32>) {
    POOL.give(v)
}

impl Pool {
    pub const fn new() -> Self {
        Pool(Mutex::new(Vec::new()))
    }

    /// A buffer of exactly `len` elements with unspecified contents (recycled when one fits).
    pub fn take(&self, len: usize) -> Vec<f32> {
        if len == 0 {
            return Vec::new();
        }
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // The smallest buffer that fits, so large ones stay for large requests.
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let mut v = pool.swap_remove(i);
                drop(pool);
                // Growing within capacity writes only the new tail; shrinking writes nothing.
                v.resize(len, 0.0);
                v
            }
            None => {
                drop(pool);
                vec![0.0; len]
            }
        }
    }

    /// Keeps a buffer for reuse (drops it instead when the pool is full).
    pub fn give(&self, v: Vec<f32>) {
        if v.capacity() == 0 || v.capacity() > MAX_ELEMENTS {
            return;
        }
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let held: usize = pool.iter().map(Vec::capacity).sum();
        if pool.len() < MAX_BUFFERS && held + v.capacity() <= MAX_ELEMENTS {
            pool.push(v);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_smallest_fit_first() {
        let pool = Pool::new();
        let (small, large) = (pool.take(100), pool.take(1000));
        let (ps, pl) = (small.as_ptr(), large.as_ptr());
        pool.give(large);
        pool.give(small);
        let a = pool.take(50);
        assert_eq!(
            (a.len(), a.as_ptr()),
            (50, ps),
            "the smallest fitting buffer"
        );
        let b = pool.take(800);
        assert_eq!((b.len(), b.as_ptr()), (800, pl));
        assert_eq!(pool.len(), 0);
        let c = pool.take(2000);
        assert_eq!(c.len(), 2000);
        assert!(pool.take(0).is_empty());
    }

    #[test]
    fn the_pool_is_bounded() {
        let pool = Pool::new();
        for _ in 0..MAX_BUFFERS + 5 {
            pool.give(vec![0.0; 8]);
        }
        assert_eq!(pool.len(), MAX_BUFFERS);
        pool.give(Vec::with_capacity(MAX_ELEMENTS + 1));
        assert_eq!(pool.len(), MAX_BUFFERS);
    }
}
