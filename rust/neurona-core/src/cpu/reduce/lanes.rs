//! The inner loops of the sums, written so they vectorise: independent f64 lanes for a long
//! segment, one f64 per column for a block of columns. Each is `inline(always)` to be
//! compiled into its caller's AVX2 context.

/// Independent accumulators: enough for the adds' latency (4 AVX2 registers of 4 f64).
const LANES: usize = 16;

/// Sum over k (in order) and t < seg of xs[base + roffs[k] + t].
///
/// Whole groups of 16 consecutive elements of a segment go to 16 lanes, a segment's last
/// `seg % 16` elements to a separate f64; lanes are folded pairwise at the end. The order
/// depends only on `seg` and `roffs.len()`.
#[inline(always)]
pub fn sum_segments(xs: &[f32], base: usize, roffs: &[usize], seg: usize) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut tail = 0.0f64;
    for &r in roffs {
        let s = &xs[base + r..base + r + seg];
        let chunks = s.chunks_exact(LANES);
        let rest = chunks.remainder();
        for c in chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += v as f64;
            }
        }
        for &v in rest {
            tail += v as f64;
        }
    }
    fold(acc) + tail
}

/// Pairwise fold of the lanes, in a fixed order.
#[inline(always)]
fn fold(mut acc: [f64; LANES]) -> f64 {
    let mut w = LANES / 2;
    while w > 0 {
        for i in 0..w {
            acc[i] += acc[i + w];
        }
        w /= 2;
    }
    acc[0]
}

/// acc[j] += xs[start + r + j] for each r in roffs (in order), j < acc.len().
#[inline(always)]
pub fn add_rows(acc: &mut [f64], xs: &[f32], start: usize, roffs: &[usize]) {
    let n = acc.len();
    for &r in roffs {
        let row = &xs[start + r..start + r + n];
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v as f64;
        }
    }
}
