//! Packing buffers reused across calls: each thread keeps the buffers its products packed
//! into, so a steady stream of products (a training loop, the steps of a recurrent layer)
//! allocates, and faults in fresh pages, only while the sizes grow.

use std::cell::RefCell;

thread_local! {
    /// Packing buffers of this thread not in use. A stack, not one buffer, because a thread
    /// waiting inside rayon may pick up another task (or batch item) that needs its own.
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A packing buffer from this thread's pool, 64-byte aligned, returned to the pool on drop.
/// Memory is allocated only when no pooled buffer is large enough.
pub(super) struct PackBuf {
    v: Vec<f32>,
    off: usize,
}

impl PackBuf {
    /// Extra elements so the start can be moved to a 64-byte boundary.
    const SLACK: usize = 16;

    pub(super) fn take(len: usize) -> PackBuf {
        let need = len + Self::SLACK;
        let mut v = POOL
            .try_with(|pool| {
                let mut pool = pool.borrow_mut();
                // The smallest buffer that fits, else the largest (to grow).
                let fit = (0..pool.len())
                    .filter(|&i| pool[i].len() >= need)
                    .min_by_key(|&i| pool[i].len())
                    .or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].len()));
                fit.map(|i| pool.swap_remove(i))
            })
            .ok()
            .flatten()
            .unwrap_or_default();
        if v.len() < need {
            v = vec![0.0; need];
        }
        let off = v.as_ptr().align_offset(64);
        let off = if off < Self::SLACK { off } else { 0 };
        PackBuf { v, off }
    }

    pub(super) fn ptr(&mut self) -> *mut f32 {
        self.v[self.off..].as_mut_ptr()
    }

    pub(super) fn as_ptr(&self) -> *const f32 {
        self.v[self.off..].as_ptr()
    }
}

impl Drop for PackBuf {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.v);
        let _ = POOL.try_with(|pool| pool.borrow_mut().push(v));
    }
}
