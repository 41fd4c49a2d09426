//! Layout: shape, strides (in elements) and offset of a view into storage, and the pure
//! index arithmetic on them: contiguity, broadcasting, transposes, reshape-as-view, slicing.

use crate::{bail, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub offset: usize,
}

/// Row-major strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d.max(1);
    }
    strides
}

/// Formats a shape the way Python prints a tuple: (3, 4), (5,), ().
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// NumPy broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => bail!(
                Value,
                "shapes {} and {} cannot be broadcast together (dimension {} is {} vs {})",
                fmt_shape(a),
                fmt_shape(b),
                i as isize - n as isize,
                da,
                db
            ),
        };
    }
    Ok(out)
}

/// Resolves a possibly negative axis against `ndim`.
pub fn normalize_axis(axis: isize, ndim: usize, what: &str) -> Result<usize> {
    let n = ndim as isize;
    // A 0-d tensor accepts axis 0 and -1, as in PyTorch.
    let bound = n.max(1);
    if axis < -bound || axis >= bound {
        bail!(
            Index,
            "{what}: dimension {axis} is out of range for a tensor of {ndim} dimensions \
             (expected to be in [{}, {}])",
            -bound,
            bound - 1
        );
    }
    Ok(if axis < 0 {
        (axis + bound) as usize
    } else {
        axis as usize
    })
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the elements are row-major and packed, so storage[offset..offset+numel] is
    /// the tensor in order.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// The layout as seen with NumPy broadcasting to `shape` (stride 0 on new or size-1 axes).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.ndim() {
            bail!(
                Value,
                "cannot broadcast a tensor of shape {} to shape {} (fewer dimensions)",
                fmt_shape(&self.shape),
                fmt_shape(shape)
            );
        }
        let lead = shape.len() - self.ndim();
        let mut strides = vec![0; shape.len()];
        for i in 0..self.ndim() {
            let (d, s) = (self.shape[i], self.strides[i]);
            let target = shape[lead + i];
            strides[lead + i] = if d == target {
                s
            } else if d == 1 {
                0
            } else {
                bail!(
                    Value,
                    "cannot broadcast a tensor of shape {} to shape {} (dimension {} is {}, expected 1 or {})",
                    fmt_shape(&self.shape),
                    fmt_shape(shape),
                    i,
                    d,
                    target
                );
            };
        }
        Ok(Layout {
            shape: shape.to_vec(),
            strides,
            offset: self.offset,
        })
    }

    pub fn permute(&self, dims: &[usize]) -> Result<Layout> {
        let n = self.ndim();
        let mut seen = vec![false; n];
        if dims.len() != n {
            bail!(
                Value,
                "permute: expected {n} dimensions, got {}",
                dims.len()
            );
        }
        for &d in dims {
            if d >= n || seen[d] {
                bail!(Value, "permute: {:?} is not a permutation of 0..{n}", dims);
            }
            seen[d] = true;
        }
        Ok(Layout {
            shape: dims.iter().map(|&d| self.shape[d]).collect(),
            strides: dims.iter().map(|&d| self.strides[d]).collect(),
            offset: self.offset,
        })
    }

    /// Reshape without copying, if the strides allow it (PyTorch's `view` rule); None otherwise.
    pub fn reshape_view(&self, shape: &[usize]) -> Option<Layout> {
        if self.is_contiguous() {
            return Some(Layout {
                shape: shape.to_vec(),
                strides: contiguous_strides(shape),
                offset: self.offset,
            });
        }
        // Group old dims into chunks that are each contiguous in memory, then split the new
        // shape over those chunks.
        let old: Vec<(usize, usize)> = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|(d, _)| **d != 1)
            .map(|(d, s)| (*d, *s))
            .collect();
        let mut new_strides = vec![0; shape.len()];
        let mut oi = 0;
        let mut ni = 0;
        while ni < shape.len() && shape[ni] == 1 {
            new_strides[ni] = 1;
            ni += 1;
        }
        while oi < old.len() {
            // Take a maximal chunk of old dims that is contiguous.
            let mut chunk_size = old[oi].0;
            let mut end = oi;
            while end + 1 < old.len() && old[end].1 == old[end + 1].0 * old[end + 1].1 {
                end += 1;
                chunk_size *= old[end].0;
            }
            let inner_stride = old[end].1;
            // Assign new dims whose product is chunk_size.
            let mut prod = 1;
            let start_ni = ni;
            while ni < shape.len() && prod < chunk_size {
                prod *= shape[ni];
                ni += 1;
            }
            while ni < shape.len() && shape[ni] == 1 {
                ni += 1;
            }
            if prod != chunk_size {
                return None;
            }
            let mut acc = inner_stride;
            for k in (start_ni..ni).rev() {
                new_strides[k] = acc;
                acc *= shape[k];
            }
            oi = end + 1;
        }
        if ni != shape.len() {
            return None;
        }
        Some(Layout {
            shape: shape.to_vec(),
            strides: new_strides,
            offset: self.offset,
        })
    }

    /// The storage offset of every element, in row-major order of the view.
    pub fn offsets(&self) -> StridedIter {
        StridedIter::new(self)
    }
}

/// Iterates storage offsets of a layout in row-major order.
pub struct StridedIter {
    shape: Vec<usize>,
    strides: Vec<usize>,
    index: Vec<usize>,
    next: usize,
    remaining: usize,
}

impl StridedIter {
    fn new(l: &Layout) -> Self {
        StridedIter {
            shape: l.shape.clone(),
            strides: l.strides.clone(),
            index: vec![0; l.ndim()],
            next: l.offset,
            remaining: l.numel(),
        }
    }
}

impl Iterator for StridedIter {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let cur = self.next;
        for d in (0..self.shape.len()).rev() {
            self.index[d] += 1;
            self.next += self.strides[d];
            if self.index[d] < self.shape[d] {
                break;
            }
            self.next -= self.strides[d] * self.shape[d];
            self.index[d] = 0;
        }
        Some(cur)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for StridedIter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast_shapes(&[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes(&[], &[2, 2]).unwrap(), vec![2, 2]);
        assert!(broadcast_shapes(&[3], &[4]).is_err());
    }

    #[test]
    fn strided_iter_of_transpose() {
        let l = Layout::contiguous(&[2, 3]).permute(&[1, 0]).unwrap();
        assert_eq!(l.offsets().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn reshape_view_of_transposed_fails_and_of_sliced_rows_works() {
        let t = Layout::contiguous(&[2, 3]).permute(&[1, 0]).unwrap();
        assert!(t.reshape_view(&[6]).is_none());
        // Rows 0..2 of a 4x3 matrix, every column: contiguous chunk, viewable as (6,).
        let rows = Layout {
            shape: vec![2, 3],
            strides: vec![3, 1],
            offset: 3,
        };
        assert_eq!(rows.reshape_view(&[6]).unwrap().strides, vec![1]);
        // Every other column: (4, 2) with strides (3, 2) can split the rows but not merge.
        let cols = Layout {
            shape: vec![4, 2],
            strides: vec![3, 2],
            offset: 0,
        };
        assert!(cols.reshape_view(&[8]).is_none());
        assert_eq!(
            cols.reshape_view(&[2, 2, 2]).unwrap().strides,
            vec![6, 3, 2]
        );
    }
}
