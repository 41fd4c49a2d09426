//! `Geom`: how a kernel sees up to three operands through one shape (strides per operand, in
//! elements, 0 on broadcast axes, and a storage offset each). Before a launch, axes of size 1
//! are dropped and neighbouring axes that are contiguous for every operand are merged, so a
//! contiguous tensor is one axis and the kernel's index arithmetic is one multiply.

use crate::tensor::Layout;
use crate::{bail, Result};
use cudarc::driver::DeviceRepr;

pub const MAX_DIMS: usize = 8;

/// Mirrors `struct Geom` in kernels/common.cuh byte for byte (passed by value to kernels).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Geom {
    shape: [i64; MAX_DIMS],
    st: [[i64; MAX_DIMS]; 3],
    off: [i64; 3],
    ndim: i32,
    pad: i32,
}

// SAFETY: plain old data with the C layout the kernels declare.
unsafe impl DeviceRepr for Geom {}

impl Geom {
    /// The geometry of `layouts` (each with `shape` as its shape: broadcast first) over `shape`.
    pub fn new(shape: &[usize], layouts: &[&Layout]) -> Result<Geom> {
        let k = layouts.len();
        assert!((1..=3).contains(&k), "a Geom holds one to three operands");
        for l in layouts {
            assert_eq!(l.shape, shape, "operands are broadcast to the shape first");
        }
        // (size, strides) of the axes that matter, innermost first, merged where contiguous.
        let mut dims: Vec<(usize, [usize; 3])> = Vec::new();
        for d in (0..shape.len()).rev() {
            if shape[d] == 1 {
                continue;
            }
            let mut st = [0usize; 3];
            for (j, l) in layouts.iter().enumerate() {
                st[j] = l.strides[d];
            }
            if let Some(last) = dims.last_mut() {
                if (0..k).all(|j| st[j] == last.1[j] * last.0) {
                    last.0 *= shape[d];
                    continue;
                }
            }
            dims.push((shape[d], st));
        }
        if dims.len() > MAX_DIMS {
            bail!(
                Value,
                "CUDA kernels take at most {MAX_DIMS} non-mergeable dimensions, got a view \
                 with {} (call .contiguous() first)",
                dims.len()
            );
        }
        if dims.is_empty() {
            dims.push((1, [0; 3]));
        }
        let mut g = Geom {
            ndim: dims.len() as i32,
            ..Default::default()
        };
        for (i, (size, st)) in dims.iter().rev().enumerate() {
            g.shape[i] = *size as i64;
            for (row, &s) in g.st.iter_mut().zip(st).take(k) {
                row[i] = s as i64;
            }
        }
        for (j, l) in layouts.iter().enumerate() {
            g.off[j] = l.offset as i64;
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_operands_merge_into_one_axis() {
        let l = Layout::contiguous(&[2, 3, 4]);
        let g = Geom::new(&[2, 3, 4], &[&l, &l]).unwrap();
        assert_eq!(g.ndim, 1);
        assert_eq!(g.shape[0], 24);
        assert_eq!(g.st[0][0], 1);
        assert_eq!(g.st[1][0], 1);
    }

    #[test]
    fn broadcast_row_keeps_two_axes_with_a_zero_stride() {
        let a = Layout::contiguous(&[3, 4]);
        let b = Layout::contiguous(&[4]).broadcast_to(&[3, 4]).unwrap();
        let g = Geom::new(&[3, 4], &[&a, &b]).unwrap();
        assert_eq!(g.ndim, 2);
        assert_eq!(&g.shape[..2], &[3, 4]);
        assert_eq!(&g.st[0][..2], &[4, 1]);
        assert_eq!(&g.st[1][..2], &[0, 1]);
    }

    #[test]
    fn transposed_view_and_offsets() {
        let mut t = Layout::contiguous(&[2, 3]).permute(&[1, 0]).unwrap();
        t.offset = 5;
        let g = Geom::new(&[3, 2], &[&t]).unwrap();
        assert_eq!(g.ndim, 2);
        assert_eq!(&g.st[0][..2], &[1, 3]);
        assert_eq!(g.off[0], 5);
    }

    #[test]
    fn scalars_and_size_one_axes() {
        let s = Layout::contiguous(&[1, 1]);
        let g = Geom::new(&[1, 1], &[&s]).unwrap();
        assert_eq!((g.ndim, g.shape[0]), (1, 1));
    }
}
