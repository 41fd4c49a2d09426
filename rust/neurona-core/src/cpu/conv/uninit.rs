//! Writing conv outputs that start uninitialised.
//!
//! The conv kernels take their outputs and gradients as `&mut [MaybeUninit<f32>]`, so the op
//! layer can hand them fresh allocations without zero-filling megabytes that are overwritten
//! anyway. A `&mut [f32]` over memory not yet written would be undefined behaviour, so paths
//! that write straight from their arithmetic use `MaybeUninit::write` (or stores through the
//! raw pointer), and paths that accumulate or go through the GEMM first initialise their own
//! slice with [`fill`], which then hands back the ordinary `&mut [f32]`.

use std::mem::MaybeUninit;

/// Writes `v` to every element of `s` and returns it as the initialised slice it now is.
#[inline]
pub(crate) fn fill(s: &mut [MaybeUninit<f32>], v: f32) -> &mut [f32] {
    for e in s.iter_mut() {
        e.write(v);
    }
    // SAFETY: every element was just written, and `MaybeUninit<f32>` has `f32`'s layout.
    unsafe { &mut *(s as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// `dst[i] = src[i]` for every `i` (equal lengths); returns `dst` as the initialised slice.
#[inline]
pub(crate) fn copy<'a>(dst: &'a mut [MaybeUninit<f32>], src: &[f32]) -> &'a mut [f32] {
    assert_eq!(dst.len(), src.len(), "uninit::copy of unequal lengths");
    for (d, &v) in dst.iter_mut().zip(src) {
        d.write(v);
    }
    // SAFETY: every element was just written, and `MaybeUninit<f32>` has `f32`'s layout.
    unsafe { &mut *(dst as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

#[cfg(test)]
mod tests {
    use super::{copy, fill};
    use std::mem::MaybeUninit;

    #[test]
    fn fill_and_copy_write_every_element() {
        let mut v: Vec<MaybeUninit<f32>> = Vec::with_capacity(5);
        v.resize_with(5, MaybeUninit::uninit);
        let s = fill(&mut v, 2.5);
        assert_eq!(s, [2.5; 5]);
        assert_eq!(
            copy(&mut v, &[1.0, 2.0, 3.0, 4.0, 5.0]),
            [1.0, 2.0, 3.0, 4.0, 5.0]
        );
        // SAFETY: every element was written by `copy`.
        let got: Vec<f32> = v.iter().map(|e| unsafe { e.assume_init() }).collect();
        assert_eq!(got, [1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
