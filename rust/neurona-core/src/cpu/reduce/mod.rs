//! Sums of a contiguous f32 array over any set of axes, in f64, vectorised and threaded
//! without changing a bit with the thread count.
//!
//! The shape is first coalesced into runs of kept and reduced axes (size-1 axes dropped,
//! neighbours of the same kind merged), so no transposed copy is ever made:
//! - the innermost run is reduced (a full sum, a row sum, a conv bias gradient over N,H,W):
//!   each output adds contiguous segments; `lanes.rs` adds them in 16 independent f64 lanes
//!   (vectorises, not latency-bound) combined in a fixed order;
//! - the innermost run is kept (a column sum, a linear bias gradient over the batch): each
//!   output column accumulates its own f64, the loop runs across columns (vectorises).
//!
//! Determinism: the order of every addition depends on the shape only. Outputs with a large
//! reduction are split into pieces of a fixed size (not a per-thread share); pieces are
//! summed independently, possibly on different threads, and their partial sums are added in
//! piece order.

mod lanes;
#[cfg(test)]
mod tests;

use crate::cpu::simd::with_avx2;
use crate::parallel::{install, is_serial, ELEMENTWISE_GRAIN};
use rayon::prelude::*;

/// Elements in one piece of a split reduction (a fixed number: the split must not depend on
/// the thread count).
const PIECE: usize = 1 << 16;
/// With at least this many outputs there is parallelism enough across outputs: no splitting.
const MANY_OUTPUTS: usize = 1024;
/// Columns accumulated together when the innermost run is kept (f64 accumulators stay in L1).
const COLS: usize = 512;

/// One run of merged axes: its extent, its stride in the input, whether it is reduced.
#[derive(Clone, Copy, Debug)]
struct Run {
    len: usize,
    stride: usize,
    reduced: bool,
}

fn runs(shape: &[usize], reduced: &[bool]) -> Vec<Run> {
    let mut stride = 1;
    let mut out: Vec<Run> = Vec::new();
    for i in (0..shape.len()).rev() {
        let d = shape[i];
        if d != 1 {
            match out.last_mut() {
                // Row-major and contiguous: a run grows outwards with the same inner stride.
                Some(r) if r.reduced == reduced[i] => r.len *= d,
                _ => out.push(Run {
                    len: d,
                    stride,
                    reduced: reduced[i],
                }),
            }
        }
        stride *= d;
    }
    out.reverse();
    out
}

/// Offsets of every index combination of `runs`, row-major (the last run fastest).
fn offsets(runs: &[Run]) -> Vec<usize> {
    let mut offs = vec![0usize];
    for r in runs {
        offs = offs
            .iter()
            .flat_map(|&o| (0..r.len).map(move |i| o + i * r.stride))
            .collect();
    }
    offs
}

/// Sum of `xs` (contiguous, row-major over `shape`) over the axes flagged in `reduced`. The
/// result is row-major over the kept axes; a sum over no elements is 0.
pub fn sum(xs: &[f32], shape: &[usize], reduced: &[bool]) -> Vec<f32> {
    assert_eq!(shape.len(), reduced.len());
    assert_eq!(xs.len(), shape.iter().product::<usize>());
    let n_out: usize = shape
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| !r)
        .map(|(&d, _)| d)
        .product();
    if n_out == 0 {
        return Vec::new();
    }
    if xs.is_empty() {
        return vec![0.0; n_out];
    }
    let rs = runs(shape, reduced);
    let sums = match rs.last() {
        Some(last) if !last.reduced => {
            let (outer, inner) = rs.split_at(rs.len() - 1);
            let kept: Vec<Run> = outer.iter().copied().filter(|r| !r.reduced).collect();
            let red: Vec<Run> = outer.iter().copied().filter(|r| r.reduced).collect();
            columns(xs, &offsets(&kept), &offsets(&red), inner[0].len)
        }
        _ => {
            let (outer, seg) = match rs.split_last() {
                Some((last, outer)) => (outer, last.len),
                None => (&rs[..], 1),
            };
            let kept: Vec<Run> = outer.iter().copied().filter(|r| !r.reduced).collect();
            let red: Vec<Run> = outer.iter().copied().filter(|r| r.reduced).collect();
            segments(xs, &offsets(&kept), &offsets(&red), seg)
        }
    };
    sums.into_iter().map(|s| s as f32).collect()
}

/// Runs `f(i, &mut items[i])` for every item, in parallel when `work` (elements read in all)
/// is large; each item is computed by one call, so the thread count changes nothing.
fn for_items<T: Send>(items: &mut [T], work: usize, f: impl Fn(usize, &mut T) + Sync + Send) {
    if work < 2 * ELEMENTWISE_GRAIN || items.len() < 2 || is_serial() {
        items.iter_mut().enumerate().for_each(|(i, t)| f(i, t));
        return;
    }
    let per_item = (work / items.len()).max(1);
    let min_len = (ELEMENTWISE_GRAIN / per_item).max(1);
    install(|| {
        items
            .par_iter_mut()
            .enumerate()
            .with_min_len(min_len)
            .for_each(|(i, t)| f(i, t))
    });
}

/// Innermost run reduced: out[o] = sum over k, t of xs[bases[o] + roffs[k] + t], t < seg.
fn segments(xs: &[f32], bases: &[usize], roffs: &[usize], seg: usize) -> Vec<f64> {
    let n_out = bases.len();
    let total = roffs.len() * seg;
    if n_out < MANY_OUTPUTS && seg > PIECE {
        return long_segments(xs, bases, roffs, seg);
    }
    // Split each output's reduction into fixed pieces of whole segments only when the
    // outputs are few; the piece boundaries depend on the shape alone.
    let segs_per_piece = if n_out >= MANY_OUTPUTS {
        roffs.len()
    } else {
        PIECE.div_ceil(seg).max(1)
    };
    let n_pieces = roffs.len().div_ceil(segs_per_piece).max(1);
    let mut partial = vec![0.0f64; n_out * n_pieces];
    for_items(&mut partial, n_out * total, |i, p| {
        let (o, piece) = (i / n_pieces, i % n_pieces);
        let ks = piece * segs_per_piece..((piece + 1) * segs_per_piece).min(roffs.len());
        let base = bases[o];
        *p = with_avx2(
            #[inline(always)]
            || lanes::sum_segments(xs, base, &roffs[ks], seg),
        );
    });
    add_pieces(partial, n_pieces)
}

/// `segments` for few outputs whose segments are each longer than a piece (a full sum of a
/// contiguous tensor is one segment): every segment is cut into pieces of PIECE elements.
fn long_segments(xs: &[f32], bases: &[usize], roffs: &[usize], seg: usize) -> Vec<f64> {
    let per_seg = seg.div_ceil(PIECE);
    let n_pieces = roffs.len() * per_seg;
    let mut partial = vec![0.0f64; bases.len() * n_pieces];
    for_items(&mut partial, bases.len() * roffs.len() * seg, |i, p| {
        let (o, piece) = (i / n_pieces, i % n_pieces);
        let (k, j) = (piece / per_seg, piece % per_seg);
        let start = bases[o] + roffs[k] + j * PIECE;
        let len = PIECE.min(seg - j * PIECE);
        *p = with_avx2(
            #[inline(always)]
            || lanes::sum_segments(xs, start, &[0], len),
        );
    });
    add_pieces(partial, n_pieces)
}

/// Each output's partial sums (`n_pieces` consecutive values) added in piece order.
fn add_pieces(partial: Vec<f64>, n_pieces: usize) -> Vec<f64> {
    if n_pieces == 1 {
        return partial;
    }
    partial
        .chunks(n_pieces)
        .map(|ps| ps.iter().fold(0.0, |a, &b| a + b))
        .collect()
}

/// Innermost run kept: out[o * inner + j] = sum over k of xs[bases[o] + roffs[k] + j].
fn columns(xs: &[f32], bases: &[usize], roffs: &[usize], inner: usize) -> Vec<f64> {
    let n_out = bases.len() * inner;
    let rows_per_piece = if n_out >= MANY_OUTPUTS {
        roffs.len()
    } else {
        PIECE.div_ceil(inner).max(1)
    };
    let n_pieces = roffs.len().div_ceil(rows_per_piece).max(1);
    // One item per (piece, outer index, block of COLS columns), laid out piece-major.
    let blocks = inner.div_ceil(COLS);
    let mut partial = vec![0.0f64; n_pieces * n_out];
    let mut items: Vec<&mut [f64]> = partial
        .chunks_mut(inner)
        .flat_map(|row| row.chunks_mut(COLS))
        .collect();
    for_items(&mut items, n_out * roffs.len(), |i, acc| {
        let (piece, rest) = (i / (bases.len() * blocks), i % (bases.len() * blocks));
        let (o, b) = (rest / blocks, rest % blocks);
        let ks = piece * rows_per_piece..((piece + 1) * rows_per_piece).min(roffs.len());
        let start = bases[o] + b * COLS;
        with_avx2(
            #[inline(always)]
            || lanes::add_rows(acc, xs, start, &roffs[ks]),
        );
    });
    drop(items);
    if n_pieces == 1 {
        return partial;
    }
    let mut out = partial[..n_out].to_vec();
    for p in partial[n_out..].chunks(n_out) {
        for (a, &b) in out.iter_mut().zip(p) {
            *a += b;
        }
    }
    out
}
