//! Per-thread reusable scratch buffers for the conv kernels.
//!
//! A Winograd or im2col call needs transform, column and partial-sum buffers of a few hundred
//! kilobytes to a few megabytes. Allocated fresh per call they cost more than they seem: glibc
//! returns a worker thread's large frees to the kernel (`madvise`), so every call faulted its
//! scratch back in page by page and zeroed it (about a sixth of a 32x14x14 layer's fwd+bwd).
//! Buffers here stay with the thread that used them and are handed out zeroed again (zeroing
//! memory that is already mapped and warm is cheap next to faulting it in), so results never
//! depend on what a buffer held before.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Buffers kept per thread.
const KEEP: usize = 8;
/// Larger buffers (in floats, 16 MiB) are freed as usual rather than kept.
const KEEP_MAX_LEN: usize = 4 << 20;

thread_local! {
    static FREE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// An `f32` buffer of `len` floats that goes back to its thread's free list when dropped. Its
/// Vec is always initialised to its whole capacity, so handing a kept buffer out again at a
/// larger length (within the capacity) writes nothing: through `Vec::truncate` and
/// `Vec::resize` it zero-filled the difference on every reuse.
pub(crate) struct Buf {
    v: Vec<f32>,
    len: usize,
}

/// A buffer of `len` zeros, reusing one of this thread's free buffers where one is big enough.
pub(crate) fn zeroed(len: usize) -> Buf {
    let mut b = stale(len);
    b.fill(0.0);
    b
}

/// A buffer of `len` floats holding whatever a previous user left (zeros where it had to grow),
/// for callers that write every element they later read: it skips `zeroed`'s fill.
pub(crate) fn stale(len: usize) -> Buf {
    let reused = FREE
        .try_with(|f| {
            let mut f = f.borrow_mut();
            // The smallest free buffer that fits, else the largest (it grows once).
            let fit = (0..f.len())
                .filter(|&i| f[i].capacity() >= len)
                .min_by_key(|&i| f[i].capacity());
            let pick = fit.or_else(|| (0..f.len()).max_by_key(|&i| f[i].capacity()));
            pick.map(|i| f.swap_remove(i))
        })
        .ok()
        .flatten();
    let mut v = reused.unwrap_or_default();
    if v.len() < len {
        v.resize(len, 0.0);
        v.resize(v.capacity(), 0.0);
    }
    Buf { v, len }
}

/// Fills every buffer on this thread's free list, to its capacity, with NaN (and adds a few
/// large ones), so a test can show a kernel never reads scratch it has not written.
#[cfg(test)]
pub(crate) fn poison() {
    FREE.with(|f| {
        let mut f = f.borrow_mut();
        while f.len() < KEEP {
            f.push(Vec::with_capacity(1 << 20));
        }
        for v in f.iter_mut() {
            let c = v.capacity();
            v.clear();
            v.resize(c, f32::NAN);
        }
    });
}

impl Drop for Buf {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.v);
        if v.capacity() == 0 || v.capacity() > KEEP_MAX_LEN {
            return;
        }
        // During thread teardown the list may be gone; the buffer is then simply freed.
        let _ = FREE.try_with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(v);
            }
        });
    }
}

impl Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.v[..self.len]
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.v[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::{stale, zeroed};

    #[test]
    fn reused_buffers_come_back_zeroed_and_sized() {
        for len in [1000, 10, 5000, 0, 1000] {
            let mut a = zeroed(len);
            assert_eq!(a.len(), len);
            assert!(a.iter().all(|&v| v == 0.0));
            a.fill(f32::NAN);
            let b = zeroed(len / 2 + 3);
            assert_eq!(b.len(), len / 2 + 3);
            assert!(b.iter().all(|&v| v == 0.0));
        }
        for len in [100, 3000, 50] {
            let mut a = stale(len);
            assert_eq!(a.len(), len);
            a.fill(1.5);
        }
    }
}
