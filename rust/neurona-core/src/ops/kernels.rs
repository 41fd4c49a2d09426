//! Elementwise kernels shared by the op families: map one tensor, or zip two (or three) under
//! NumPy broadcasting. Tensors in, tensors out: the loops themselves are the slice kernels of
//! `cpu::elementwise` (vectorised, threaded by output index).

use crate::cpu::elementwise as ew;
use crate::tensor::{broadcast_shapes, Element, Layout, Tensor};
use crate::Result;

/// out[i] = f(x[i]) over the elements of `x` in row-major order.
pub fn map<A: Element, O: Element>(x: &Tensor, f: impl Fn(A) -> O + Sync + Send) -> Result<Tensor> {
    let out = x.with_slice(|xs: &[A]| ew::map(xs, f))?;
    Tensor::from_vec(out, x.shape())
}

/// out[i] = f(a[i], b[i]) for same-shaped tensors (row-major order).
pub fn zip_same<A: Element, B: Element, O: Element>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Result<Tensor> {
    debug_assert_eq!(a.shape(), b.shape());
    let out = a.with_slice(|xs: &[A]| b.with_slice(|ys: &[B]| ew::zip(xs, ys, f)))??;
    Tensor::from_vec(out, a.shape())
}

/// out[i] = f(a[i], b[i], c[i]) for same-shaped tensors (row-major order).
pub fn zip3_same<A: Element, B: Element, C: Element, O: Element>(
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(A, B, C) -> O + Sync + Send,
) -> Result<Tensor> {
    debug_assert!(a.shape() == b.shape() && b.shape() == c.shape());
    let out = a.with_slice(|xs: &[A]| {
        b.with_slice(|ys: &[B]| c.with_slice(|zs: &[C]| ew::zip3(xs, ys, zs, f)))
    })???;
    Tensor::from_vec(out, a.shape())
}

/// out = f(a, b) with NumPy broadcasting.
pub fn zip<A: Element, B: Element, O: Element>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    if a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous() {
        return zip_same(a, b, f);
    }
    // Everything else (a scalar, a bias row, a transposed operand) reads through strides:
    // no gathered copy of either operand.
    let la = a.layout().broadcast_to(&shape)?;
    let lb = b.layout().broadcast_to(&shape)?;
    let out = a.with_storage(|xs: &[A], _| {
        b.with_storage(|ys: &[B], _| {
            if shape.iter().product::<usize>() == 0 {
                return Vec::new();
            }
            ew::broadcast_zip(
                &shape,
                xs,
                la.offset,
                &la.strides,
                ys,
                lb.offset,
                &lb.strides,
                f,
            )
        })
    })??;
    Tensor::from_vec(out, &shape)
}

/// A new buffer of `len` zeros with the elements of `src` at the positions of `target` (the
/// backward of slicing; `cuda::ops::scatter_into_zeros` on the GPU). Where `target` is one
/// run of the buffer (a leading-axis slice, such as an RNN's outputs out of its state
/// buffer), every element is written once: zeros around the run, `src` in it.
pub fn scatter_into_zeros<T: Copy + Default + Send + Sync>(
    len: usize,
    target: &Layout,
    src: &[T],
) -> Vec<T> {
    if target.is_contiguous() {
        return crate::parallel::placed(len, target.offset, src);
    }
    let mut buf = vec![T::default(); len];
    copy_into(&mut buf, target, src);
    buf
}

/// Copies the elements of `src` (any layout) into the positions of `dst_layout` in `dst`.
pub fn copy_into<T: Copy>(dst: &mut [T], dst_layout: &Layout, src: &[T]) {
    if dst_layout.is_contiguous() {
        let o = dst_layout.offset;
        dst[o..o + src.len()].copy_from_slice(src);
        return;
    }
    for (o, &v) in dst_layout.offsets().zip(src) {
        dst[o] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both paths against writing element by element into zeros: a run of the buffer (rows
    /// 1..3 of a 4 x 3 tensor) and a strided target (its column 1).
    #[test]
    fn scatter_into_zeros_places_src_and_zeros_elsewhere() {
        let slow = |len: usize, t: &Layout, src: &[f32]| {
            let mut buf = vec![0.0f32; len];
            for (o, &v) in t.offsets().zip(src) {
                buf[o] = v;
            }
            buf
        };
        let run = Layout {
            shape: vec![2, 3],
            strides: vec![3, 1],
            offset: 3,
        };
        let column = Layout {
            shape: vec![4],
            strides: vec![3],
            offset: 1,
        };
        let src: Vec<f32> = (1..=6).map(|v| v as f32).collect();
        for t in [&run, &column] {
            let n = t.numel();
            assert_eq!(scatter_into_zeros(12, t, &src[..n]), slow(12, t, &src[..n]));
        }
    }
}
