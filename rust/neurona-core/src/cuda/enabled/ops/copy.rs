//! Copies on the GPU: `contiguous` (gather a view into a new buffer), `copy_` (write into a
//! view, the in-place assignment), `scatter_into_zeros` (the backward of slicing) and fills.
//! One strided-copy kernel per dtype serves them all (kernels/elementwise.cu `copy_*`).

use super::launch;
use crate::cuda::enabled::device::Gpu;
use crate::cuda::enabled::geom::Geom;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{alloc, gpu_of, wrap, zeros, CudaStorage};
use crate::tensor::{layout_fmt_shape as fmt_shape, DType, Device, Layout, Storage, Tensor};
use crate::{bail, Result};

/// Copies `src` (read through `src_layout`) into `dst` at `dst_layout`, both over one shape.
fn strided_copy(
    g: &Gpu,
    src: &CudaStorage,
    src_layout: &Layout,
    dst: &mut CudaStorage,
    dst_layout: &Layout,
) -> Result<()> {
    let n = dst_layout.numel();
    if n == 0 {
        return Ok(());
    }
    let geom = Geom::new(&dst_layout.shape, &[src_layout, dst_layout])?;
    let n64 = n as i64;
    let c = cfg::elems(n);
    match (src, dst) {
        (CudaStorage::F32(s), CudaStorage::F32(d)) => {
            launch!(g, Elementwise, "copy_f32", c, [s, d, &geom, &n64])
        }
        (CudaStorage::I64(s), CudaStorage::I64(d)) => {
            launch!(g, Elementwise, "copy_i64", c, [s, d, &geom, &n64])
        }
        (CudaStorage::Bool(s), CudaStorage::Bool(d)) => {
            launch!(g, Elementwise, "copy_bool", c, [s, d, &geom, &n64])
        }
        _ => bail!(Runtime, "internal: strided copy between different dtypes"),
    }
}

fn empty_like(g: &Gpu, dtype: DType, n: usize) -> Result<CudaStorage> {
    Ok(match dtype {
        DType::F32 => CudaStorage::F32(alloc(g, n)?),
        DType::I64 => CudaStorage::I64(alloc(g, n)?),
        DType::Bool => CudaStorage::Bool(alloc(g, n)?),
    })
}

/// A contiguous copy of `x` in a new buffer (no graph node).
pub fn contiguous(x: &Tensor) -> Result<Tensor> {
    let g = gpu_of(x)?;
    let n = x.numel();
    let mut out = empty_like(&g, x.dtype(), n)?;
    {
        let r = x.storage_read();
        let Storage::Cuda(src) = &*r else {
            bail!(Runtime, "internal: contiguous on a CPU tensor")
        };
        strided_copy(
            &g,
            src,
            x.layout(),
            &mut out,
            &Layout::contiguous(x.shape()),
        )?;
    }
    Ok(wrap(out, x.shape()))
}

/// A new float32 buffer holding `t`'s values (what autograd stores as a leaf's first grad).
pub fn fresh_copy(t: &Tensor) -> Result<Tensor> {
    contiguous(t)
}

/// A tensor of `shape` filled with `v` on `device`.
pub fn full(shape: &[usize], v: f32, device: Device) -> Result<Tensor> {
    let Device::Cuda(i) = device else {
        return Ok(Tensor::full(shape, v));
    };
    let g = crate::cuda::enabled::device::gpu(i)?;
    let n: usize = shape.iter().product();
    let mut out = alloc::<f32>(&g, n)?;
    if n > 0 {
        let n64 = n as i64;
        launch!(
            g,
            Elementwise,
            "fill_f32",
            cfg::elems(n),
            [&mut out, &n64, &v]
        )?;
    }
    Ok(wrap(CudaStorage::F32(out), shape))
}

/// Writes `src` (broadcast to `dst`'s shape, converted to its dtype) into `dst`'s elements.
/// Either may be on the CPU: values cross devices as needed.
pub fn copy_(dst: &Tensor, src: &Tensor) -> Result<()> {
    let src = src.detach();
    if !dst.device().is_cuda() {
        let host = crate::cuda::to_device(&src, Device::Cpu)?;
        return dst.copy_(&host);
    }
    let mut src = crate::cuda::to_device(&src, dst.device())?;
    src = src.expand(dst.shape()).map_err(|_| {
        crate::Error::Value(format!(
            "copy_: cannot assign a tensor of shape {} to a tensor of shape {}",
            fmt_shape(src.shape()),
            fmt_shape(dst.shape())
        ))
    })?;
    src = src.to_dtype(dst.dtype())?;
    if src.same_storage(dst) {
        // Reading and writing one buffer (x[1:] = x[:-1]): copy the source out first.
        src = contiguous(&src)?;
    }
    let g = gpu_of(dst)?;
    let r = src.storage_read();
    let Storage::Cuda(s) = &*r else {
        bail!(Runtime, "internal: CUDA tensor with CPU storage")
    };
    // Not the storage read above (checked), so the two locks are on different buffers.
    let mut w = dst.storage_write();
    let Storage::Cuda(d) = &mut *w else {
        bail!(Runtime, "internal: CUDA tensor with CPU storage")
    };
    strided_copy(&g, s, src.layout(), d, dst.layout())
}

/// The gradient of a slice: zeros of `shape` with `g` written at the positions of `target` (a
/// layout over a contiguous tensor of `shape`).
pub fn scatter_into_zeros(g: &Tensor, target: &Layout, shape: &[usize]) -> Result<Tensor> {
    let gpu = gpu_of(g)?;
    let n: usize = shape.iter().product();
    let mut out = CudaStorage::F32(zeros::<f32>(&gpu, n)?);
    {
        let r = g.storage_read();
        let Storage::Cuda(src) = &*r else {
            bail!(Runtime, "internal: CUDA tensor with CPU storage")
        };
        let gl = g.layout().broadcast_to(&target.shape)?;
        strided_copy(&gpu, src, &gl, &mut out, target)?;
    }
    Ok(wrap(out, shape))
}
