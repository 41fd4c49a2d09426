//! Copies a strided view into a new row-major Vec, run by run instead of element by element.
//!
//! Gradients arrive as views more often than not: `sum`'s backward expands a scalar to the
//! input's shape (every stride 0), and transposes or channel slices leave a contiguous last axis.
//! The generic odometer (`Layout::offsets`) costs several instructions per element; here axes
//! that sit back to back in storage are merged first, so the innermost run is as long as
//! possible, and each run is one `memcpy` (stride 1), one fill (stride 0) or a strided loop.

use super::layout::Layout;

/// The elements of `l` over `data` in row-major order.
pub(crate) fn gather<T: Copy + Send + Sync>(data: &[T], l: &Layout) -> Vec<T> {
    let numel = l.numel();
    if numel == 0 {
        return Vec::new();
    }
    // Merge axis i into i + 1 when stepping i is the same as finishing a run of i + 1
    // (this covers runs of stride-0 axes too); size-1 axes drop out.
    let mut dims: Vec<(usize, usize)> = Vec::with_capacity(l.ndim());
    for (&n, &s) in l.shape.iter().zip(&l.strides) {
        if n == 1 {
            continue;
        }
        match dims.last_mut() {
            Some((pn, ps)) if *ps == s * n => {
                *pn *= n;
                *ps = s;
            }
            _ => dims.push((n, s)),
        }
    }
    let (run, step) = dims.pop().unwrap_or((1, 1));
    if dims.is_empty() && step == 0 {
        // One value everywhere (a scalar expanded: the gradient of a full sum, a loss):
        // megabytes of one value, written on several threads.
        return crate::parallel::filled(run, data[l.offset]);
    }
    let mut out = Vec::with_capacity(numel);
    let mut index = vec![0usize; dims.len()];
    let mut base = l.offset;
    loop {
        match step {
            1 => out.extend_from_slice(&data[base..base + run]),
            0 => out.resize(out.len() + run, data[base]),
            _ => out.extend((0..run).map(|i| data[base + i * step])),
        }
        // Next outer index (odometer over the merged outer axes).
        let mut d = dims.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            index[d] += 1;
            base += dims[d].1;
            if index[d] < dims[d].0 {
                break;
            }
            base -= dims[d].1 * dims[d].0;
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(data: &[f32], l: &Layout) -> Vec<f32> {
        l.offsets().map(|o| data[o]).collect()
    }

    #[test]
    fn matches_the_odometer_on_views() {
        let data: Vec<f32> = (0..400).map(|v| v as f32).collect();
        let cases = [
            Layout {
                shape: vec![2, 3, 4],
                strides: vec![0, 0, 0],
                offset: 7,
            },
            Layout {
                shape: vec![4, 3],
                strides: vec![1, 4],
                offset: 0,
            },
            Layout {
                shape: vec![2, 1, 3, 5],
                strides: vec![60, 99, 5, 1],
                offset: 3,
            },
            Layout {
                shape: vec![3, 4, 2],
                strides: vec![8, 0, 1],
                offset: 1,
            },
            Layout {
                shape: vec![3, 5],
                strides: vec![20, 2],
                offset: 2,
            },
            Layout {
                shape: vec![5, 2],
                strides: vec![0, 1],
                offset: 10,
            },
            Layout {
                shape: vec![],
                strides: vec![],
                offset: 11,
            },
            Layout {
                shape: vec![2, 0, 3],
                strides: vec![3, 3, 1],
                offset: 0,
            },
        ];
        for l in &cases {
            assert_eq!(gather(&data, l), slow(&data, l), "{l:?}");
        }
    }
}
