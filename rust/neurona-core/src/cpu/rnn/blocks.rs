//! Splitting a sequence's batch rows among threads for the whole recurrence.
//!
//! Batch rows never meet in a recurrence: row r of every step reads only row r of the
//! previous state (and the shared weights). So instead of splitting each step's small
//! product among threads (a few synchronisations per step, hundreds per sequence), each
//! task takes a group of rows and runs the whole sequence on them alone, with serial
//! products against the shared packed weights: one join per sequence.
//!
//! Groups are whole blocks of `BLOCK_ROWS` rows. Each row's result is the same whatever
//! group it falls in: the cell kernels work row by row, and a product's value for a row
//! depends only on its K blocks, never on how the rows are split (tested in
//! `gemm::tests::prepacked`); so results are bitwise identical for any thread count.

use rayon::prelude::*;
use std::ops::Range;

/// Rows a group is a whole number of (but the last): a multiple of every micro-kernel's
/// panel height, so a group's products have no ragged tile but at the end of the batch.
pub const BLOCK_ROWS: usize = 16;

/// The groups of rows, one task each, for `batch` rows on `threads` threads: all rows on one
/// thread, else two groups per thread (at most one per block) so that rayon can move a group
/// off a core that another process holds; blocks shared out evenly, in row order.
pub fn row_groups(batch: usize, threads: usize) -> Vec<Range<usize>> {
    let blocks = batch.div_ceil(BLOCK_ROWS).max(1);
    let groups = if threads > 1 { 2 * threads } else { 1 }.min(blocks);
    (0..groups)
        .map(|k| {
            let start = (k * blocks / groups * BLOCK_ROWS).min(batch);
            let end = ((k + 1) * blocks / groups * BLOCK_ROWS).min(batch);
            start..end
        })
        .collect()
}

/// `buf` (steps, batch, width) cut into each group's rows of each step: `[group][step]`.
/// An empty `buf` (a buffer the mode does not use) gives empty slices.
pub fn per_step<'a>(
    buf: &'a mut [f32],
    steps: usize,
    batch: usize,
    width: usize,
    groups: &[Range<usize>],
) -> Vec<Vec<&'a mut [f32]>> {
    let mut out: Vec<Vec<&'a mut [f32]>> =
        groups.iter().map(|_| Vec::with_capacity(steps)).collect();
    if buf.is_empty() || batch * width == 0 {
        for v in &mut out {
            v.resize_with(steps, Default::default);
        }
        return out;
    }
    debug_assert_eq!(buf.len(), steps * batch * width);
    for step in buf.chunks_exact_mut(batch * width) {
        let mut rest = step;
        for (v, r) in out.iter_mut().zip(groups) {
            let (mine, after) = rest.split_at_mut(r.len() * width);
            v.push(mine);
            rest = after;
        }
    }
    out
}

/// Runs `f` on every task, in parallel when there are several, and returns the results in
/// task order.
pub fn run<T: Send, R: Send>(tasks: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if tasks.len() <= 1 {
        return tasks.into_iter().map(f).collect();
    }
    tasks.into_par_iter().map(f).collect()
}

/// `v[read]` shared and `v[write]` mutable (read != write).
pub fn pair<'b>(v: &'b mut [&mut [f32]], read: usize, write: usize) -> (&'b [f32], &'b mut [f32]) {
    debug_assert_ne!(read, write);
    if read < write {
        let (a, b) = v.split_at_mut(write);
        (&*a[read], &mut *b[0])
    } else {
        let (a, b) = v.split_at_mut(read);
        (&*b[0], &mut *a[write])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_the_batch_in_whole_blocks() {
        for batch in [0, 1, 7, 16, 33, 64, 67, 200] {
            for threads in [1, 2, 3, 8] {
                let g = row_groups(batch, threads);
                assert_eq!(g[0].start, 0);
                assert_eq!(g.last().unwrap().end, batch);
                for w in g.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert_eq!(w[0].end % BLOCK_ROWS, 0, "{batch} rows, {threads} threads");
                }
                assert!(g.iter().all(|r| !r.is_empty()) || batch == 0);
                assert!(g.len() <= 2 * threads);
            }
        }
        assert_eq!(row_groups(64, 1), vec![0..64]);
        assert_eq!(row_groups(64, 2), vec![0..16, 16..32, 32..48, 48..64]);
        assert_eq!(row_groups(7, 3), vec![0..7]);
    }

    #[test]
    fn per_step_cuts_each_step_into_the_groups() {
        let mut buf: Vec<f32> = (0..3 * 5 * 2).map(|k| k as f32).collect();
        let groups = [0..2, 2..5];
        let v = per_step(&mut buf, 3, 5, 2, &groups);
        assert_eq!(v[0][1], &[10.0, 11.0, 12.0, 13.0]);
        assert_eq!(v[1][2].len(), 6);
        assert_eq!(v[1][2][0], 24.0);
        let mut empty: Vec<f32> = vec![];
        let e = per_step(&mut empty, 3, 5, 2, &groups);
        assert!(e
            .iter()
            .all(|g| g.len() == 3 && g.iter().all(|s| s.is_empty())));
    }
}
