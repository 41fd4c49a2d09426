//! Matrix products on the GPU through cuBLAS: batched matmul with broadcast batch dimensions
//! (one strided-batched call when each operand's batch axes collapse to a single stride, which
//! covers contiguous batches and broadcast ones), and `linear` as matmul + bias + ReLU.

use super::elementwise::{binary, unary};
use crate::cuda::enabled::blas::{operand, sgemm, Batched, Operand};
use crate::cuda::enabled::storage::{common_gpu, wrap, zeros, CudaStorage, Reads};
use crate::ops::binary::BinaryOp;
use crate::ops::unary::Unary;
use crate::tensor::{broadcast_shapes, layout_fmt_shape as fmt_shape, DType, Layout, Tensor};
use crate::{bail, Result};

/// The single stride that walks `shape`'s flattened index through `strides`, if there is one.
fn batch_stride(shape: &[usize], strides: &[usize]) -> Option<usize> {
    let dims: Vec<(usize, usize)> = shape
        .iter()
        .zip(strides)
        .filter(|(d, _)| **d != 1)
        .map(|(d, s)| (*d, *s))
        .collect();
    let Some(&(_, inner)) = dims.last() else {
        return Some(0);
    };
    dims.windows(2)
        .all(|w| w[0].1 == w[1].1 * w[1].0)
        .then_some(inner)
}

/// An operand of the product ready for cuBLAS: the tensor (maybe a packed copy), how its
/// matrices are passed, and where they start.
struct Prepared {
    t: Tensor,
    op: Operand,
    off: usize,
    stride: usize,
}

fn prepare(t: &Tensor, batch: &[usize], rows: usize, cols: usize) -> Result<Prepared> {
    let mut full = batch.to_vec();
    full.extend_from_slice(&[rows, cols]);
    let l = t.layout().broadcast_to(&full)?;
    let nb = batch.len();
    let found = operand(rows, cols, l.strides[nb], l.strides[nb + 1])
        .zip(batch_stride(batch, &l.strides[..nb]));
    if let Some((op, stride)) = found {
        return Ok(Prepared {
            t: t.clone(),
            op,
            off: l.offset,
            stride,
        });
    }
    // Neither layout fits: pack the (broadcast) operand into a contiguous buffer.
    let packed = super::copy::contiguous(&t.with_layout(l))?;
    Ok(Prepared {
        t: packed,
        op: Operand {
            trans: false,
            ld: cols.max(1),
        },
        off: 0,
        stride: rows * cols,
    })
}

/// a (..., m, k) @ b (..., k, n), both at least 2-D float32 on one GPU; batch axes broadcast.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let g = common_gpu("matmul", &[a, b])?;
    if !a.device().is_cuda() || !b.device().is_cuda() || a.ndim() < 2 || b.ndim() < 2 {
        bail!(
            Runtime,
            "matmul: expected two CUDA tensors of at least 2 dimensions, got {} on {} and {} on {}",
            fmt_shape(a.shape()),
            a.device(),
            fmt_shape(b.shape()),
            b.device()
        );
    }
    if a.dtype() != DType::F32 || b.dtype() != DType::F32 {
        bail!(
            Type,
            "matmul: expected float32 tensors, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    let (na, nb) = (a.ndim(), b.ndim());
    let (m, k) = (a.shape()[na - 2], a.shape()[na - 1]);
    let (k2, n) = (b.shape()[nb - 2], b.shape()[nb - 1]);
    if k != k2 {
        bail!(
            Value,
            "matmul: shapes {} and {} cannot be multiplied ({k} != {k2})",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        );
    }
    let batch = broadcast_shapes(&a.shape()[..na - 2], &b.shape()[..nb - 2])?;
    let nbatch: usize = batch.iter().product();
    let mut shape = batch.clone();
    shape.extend_from_slice(&[m, n]);
    let total = nbatch * m * n;
    // Zeros cover k == 0 (an empty sum) and give empty outputs a buffer.
    let mut out = zeros::<f32>(&g, total)?;
    if total > 0 && k > 0 {
        let pa = prepare(a, &batch, m, k)?;
        let pb = prepare(b, &batch, k, n)?;
        let p = Batched {
            m,
            n,
            k,
            batch: nbatch,
            a: pa.op,
            a_off: pa.off,
            a_stride: pa.stride,
            b: pb.op,
            b_off: pb.off,
            b_stride: pb.stride,
        };
        let r = Reads::new(&[&pa.t, &pb.t]);
        sgemm(&g, &p, r.f32(0)?, r.f32(1)?, &mut out)?;
    }
    Ok(wrap(CudaStorage::F32(out), &shape))
}

/// x2 (rows, in) @ W^T + b, then ReLU when `relu`: a (rows, out) tensor with no graph node.
pub fn linear(x2: &Tensor, w: &Tensor, bias: Option<&Tensor>, relu: bool) -> Result<Tensor> {
    let wt = w.detach().with_layout(Layout {
        shape: vec![w.shape()[1], w.shape()[0]],
        strides: vec![w.layout().strides[1], w.layout().strides[0]],
        offset: w.layout().offset,
    });
    let mut y = matmul(&x2.detach(), &wt)?;
    if let Some(b) = bias {
        y = binary(&y, &b.detach(), BinaryOp::Add)?;
    }
    if relu {
        y = unary(&y, Unary::Relu)?;
    }
    Ok(y)
}
