//! Elementwise kernels shared by the op families: map one tensor, or zip two (or three) under
//! NumPy broadcasting, with fast paths for contiguous operands and scalars.

use crate::parallel::fill_chunks;
use crate::tensor::{broadcast_shapes, Element, Layout, Tensor};
use crate::Result;

/// out[i] = f(x[i]) over the elements of `x` in row-major order.
pub fn map<A: Element, O: Element + Default>(
    x: &Tensor,
    f: impl Fn(A) -> O + Sync + Send,
) -> Result<Tensor> {
    let out = x.with_slice(|xs: &[A]| {
        let mut out = vec![O::default(); xs.len()];
        fill_chunks(&mut out, |start, chunk| {
            let n = chunk.len();
            for (o, &v) in chunk.iter_mut().zip(&xs[start..start + n]) {
                *o = f(v);
            }
        });
        out
    })?;
    Tensor::from_vec(out, x.shape())
}

/// out[i] = f(a[i], b[i]) for same-shaped tensors (row-major order).
pub fn zip_same<A: Element, B: Element, O: Element + Default>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Result<Tensor> {
    debug_assert_eq!(a.shape(), b.shape());
    let out = a.with_slice(|xs: &[A]| {
        b.with_slice(|ys: &[B]| {
            let mut out = vec![O::default(); xs.len()];
            fill_chunks(&mut out, |s, chunk| {
                let n = chunk.len();
                for ((o, &x), &y) in chunk.iter_mut().zip(&xs[s..s + n]).zip(&ys[s..s + n]) {
                    *o = f(x, y);
                }
            });
            out
        })
    })??;
    Tensor::from_vec(out, a.shape())
}

/// out = f(a, b) with NumPy broadcasting.
pub fn zip<A: Element, B: Element, O: Element + Default>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    if a.shape() == b.shape() {
        return zip_same(a, b, f);
    }
    if b.numel() == 1 && a.shape() == shape.as_slice() {
        let y = b.to_vec::<B>()?[0];
        return map(a, |x: A| f(x, y));
    }
    if a.numel() == 1 && b.shape() == shape.as_slice() {
        let x = a.to_vec::<A>()?[0];
        return map(b, |y: B| f(x, y));
    }
    let la = a.layout().broadcast_to(&shape)?;
    let lb = b.layout().broadcast_to(&shape)?;
    let out = a.with_storage(|xs: &[A], _| {
        b.with_storage(|ys: &[B], _| {
            let mut out = vec![O::default(); shape.iter().product()];
            strided_zip(&mut out, &shape, xs, &la, ys, &lb, &f);
            out
        })
    })??;
    Tensor::from_vec(out, &shape)
}

/// Writes f(x, y) into `out` (row-major over `shape`), reading x and y through their layouts.
/// The last axis is the inner loop, so broadcasting a row (stride 0) or a column stays fast.
fn strided_zip<A: Copy, B: Copy, O: Copy + Send>(
    out: &mut [O],
    shape: &[usize],
    xs: &[A],
    la: &Layout,
    ys: &[B],
    lb: &Layout,
    f: &(impl Fn(A, B) -> O + Sync),
) {
    if out.is_empty() {
        return;
    }
    let nd = shape.len();
    let inner = shape[nd - 1];
    let (sa, sb) = (la.strides[nd - 1], lb.strides[nd - 1]);
    let outer_shape = &shape[..nd - 1];
    let oa = Layout {
        shape: outer_shape.to_vec(),
        strides: la.strides[..nd - 1].to_vec(),
        offset: la.offset,
    };
    let ob = Layout {
        shape: outer_shape.to_vec(),
        strides: lb.strides[..nd - 1].to_vec(),
        offset: lb.offset,
    };
    for ((row, a0), b0) in out.chunks_mut(inner).zip(oa.offsets()).zip(ob.offsets()) {
        for (j, o) in row.iter_mut().enumerate() {
            *o = f(xs[a0 + j * sa], ys[b0 + j * sb]);
        }
    }
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
