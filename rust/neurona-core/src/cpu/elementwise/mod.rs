//! Elementwise kernels on raw slices: map one slice, zip two or three, and zip two operands
//! under broadcasting (`broadcast.rs`).
//!
//! Each takes the op as a closure and is monomorphised per op, so the op's arithmetic is
//! inlined into a plain loop; the loop runs compiled for AVX2+FMA when the CPU has them
//! (`simd::with_avx2`), so it vectorises 8 wide. Outputs are allocated without zero-filling
//! (every element is written exactly once) and split across threads by output index only, so
//! results are bitwise identical for any thread count.

mod broadcast;

pub use broadcast::broadcast_zip;

use super::simd::with_avx2;
use crate::parallel::fill_chunks;
use std::mem::MaybeUninit;

/// A new Vec of `n` elements, each written by `fill(start, chunk)` (called on consecutive
/// chunks, in parallel when large). `fill` must write every element of its chunk.
#[inline(always)]
pub fn new_filled<O: Copy + Send>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<O>]) + Sync + Send,
) -> Vec<O> {
    let mut v: Vec<O> = Vec::with_capacity(n);
    fill_chunks(&mut v.spare_capacity_mut()[..n], fill);
    // SAFETY: the capacity is n and fill wrote all n elements (the contract above).
    unsafe { v.set_len(n) };
    v
}

/// out[i] = f(xs[i]).
pub fn map<A: Copy + Sync, O: Copy + Send>(xs: &[A], f: impl Fn(A) -> O + Sync + Send) -> Vec<O> {
    new_filled(xs.len(), |s, chunk| {
        with_avx2(
            #[inline(always)]
            || {
                let n = chunk.len();
                for (o, &x) in chunk.iter_mut().zip(&xs[s..s + n]) {
                    o.write(f(x));
                }
            },
        )
    })
}

/// out[i] = f(xs[i], ys[i]) (same lengths).
pub fn zip<A: Copy + Sync, B: Copy + Sync, O: Copy + Send>(
    xs: &[A],
    ys: &[B],
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Vec<O> {
    assert_eq!(xs.len(), ys.len(), "zip of unequal lengths");
    new_filled(xs.len(), |s, chunk| {
        with_avx2(
            #[inline(always)]
            || {
                let n = chunk.len();
                for ((o, &x), &y) in chunk.iter_mut().zip(&xs[s..s + n]).zip(&ys[s..s + n]) {
                    o.write(f(x, y));
                }
            },
        )
    })
}

/// out[i] = f(xs[i], ys[i], zs[i]) (same lengths): fused backward rules such as
/// grad_in = grad_out * f'(x, y).
pub fn zip3<A: Copy + Sync, B: Copy + Sync, C: Copy + Sync, O: Copy + Send>(
    xs: &[A],
    ys: &[B],
    zs: &[C],
    f: impl Fn(A, B, C) -> O + Sync + Send,
) -> Vec<O> {
    assert!(
        xs.len() == ys.len() && ys.len() == zs.len(),
        "zip3 of unequal lengths"
    );
    new_filled(xs.len(), |s, chunk| {
        with_avx2(
            #[inline(always)]
            || {
                let n = chunk.len();
                let (xs, ys, zs) = (&xs[s..s + n], &ys[s..s + n], &zs[s..s + n]);
                for (i, o) in chunk.iter_mut().enumerate() {
                    o.write(f(xs[i], ys[i], zs[i]));
                }
            },
        )
    })
}

/// A slice kernel that writes a whole chunk itself (e.g. the blocked full-range exp), run
/// with the same allocation, threading and ISA dispatch as `map`.
pub fn map_chunks<A: Copy + Sync, O: Copy + Send>(
    xs: &[A],
    f: impl Fn(&[A], &mut [MaybeUninit<O>]) + Sync + Send,
) -> Vec<O> {
    new_filled(xs.len(), |s, chunk| {
        with_avx2(
            #[inline(always)]
            || {
                let n = chunk.len();
                f(&xs[s..s + n], chunk)
            },
        )
    })
}

#[cfg(test)]
mod tests;
