//! Host<->device copies: `to_device` (differentiable, as PyTorch's `.to`), which moves a
//! tensor's elements in row-major order into a new contiguous buffer on the target device.
//! Device-to-device moves between two GPUs go through the host.

use super::device::{driver_error, gpu, guarded};
use super::storage::{wrap, CudaStorage, Reads};
use crate::autograd::BackwardOp;
use crate::tensor::{DType, Device, Tensor};
use crate::Result;

/// A copy of `t` on `device` (itself when already there); in the graph when `t` is.
pub fn to_device(t: &Tensor, device: Device) -> Result<Tensor> {
    let from = t.device();
    if from == device {
        return Ok(t.clone());
    }
    let data = match (from, device) {
        (Device::Cpu, Device::Cuda(i)) => upload(&t.detach(), i)?,
        (Device::Cuda(_), Device::Cpu) => download(&t.detach())?,
        (Device::Cuda(_), Device::Cuda(j)) => upload(&download(&t.detach())?, j)?,
        (Device::Cpu, Device::Cpu) => unreachable!("same device handled above"),
    };
    Ok(Tensor::from_op(data, &[t], ToDeviceBackward { from }))
}

fn upload(t: &Tensor, ordinal: usize) -> Result<Tensor> {
    let g = gpu(ordinal)?;
    guarded("copying to the GPU", || {
        let err = |e| driver_error("cuMemcpyHtoD", e);
        let s = match t.dtype() {
            DType::F32 => {
                CudaStorage::F32(g.stream.clone_htod(&pad(t.to_vec::<f32>()?)).map_err(err)?)
            }
            DType::I64 => {
                CudaStorage::I64(g.stream.clone_htod(&pad(t.to_vec::<i64>()?)).map_err(err)?)
            }
            DType::Bool => {
                let bytes: Vec<u8> = t.to_vec::<bool>()?.into_iter().map(u8::from).collect();
                CudaStorage::Bool(g.stream.clone_htod(&pad(bytes)).map_err(err)?)
            }
        };
        Ok(wrap(s, t.shape()))
    })
}

/// Buffers are never empty (see `storage::alloc`).
fn pad<T: Default>(mut v: Vec<T>) -> Vec<T> {
    if v.is_empty() {
        v.push(T::default());
    }
    v
}

fn download(t: &Tensor) -> Result<Tensor> {
    if t.numel() == 0 {
        return match t.dtype() {
            DType::F32 => Tensor::from_vec(Vec::<f32>::new(), t.shape()),
            DType::I64 => Tensor::from_vec(Vec::<i64>::new(), t.shape()),
            DType::Bool => Tensor::from_vec(Vec::<bool>::new(), t.shape()),
        };
    }
    let t = t.contiguous()?;
    let g = super::storage::gpu_of(&t)?;
    let (off, n) = (t.layout().offset, t.numel());
    guarded("copying from the GPU", || {
        let err = |e| driver_error("cuMemcpyDtoH", e);
        let r = Reads::new(&[&t]);
        let out = match t.dtype() {
            DType::F32 => {
                let v = g
                    .stream
                    .clone_dtoh(&r.f32(0)?.slice(off..off + n))
                    .map_err(err)?;
                Tensor::from_vec(v, t.shape())?
            }
            DType::I64 => {
                let v = g
                    .stream
                    .clone_dtoh(&r.i64(0)?.slice(off..off + n))
                    .map_err(err)?;
                Tensor::from_vec(v, t.shape())?
            }
            DType::Bool => {
                let v = g
                    .stream
                    .clone_dtoh(&r.bool(0)?.slice(off..off + n))
                    .map_err(err)?;
                Tensor::from_vec(
                    v.into_iter().map(|b| b != 0).collect::<Vec<bool>>(),
                    t.shape(),
                )?
            }
        };
        // The copy into pageable memory has completed on return; wait for the stream anyway
        // so errors of earlier asynchronous kernels surface here rather than later.
        g.stream
            .synchronize()
            .map_err(|e| driver_error("a CUDA kernel (reported at synchronisation)", e))?;
        Ok(out)
    })
}

/// The gradient goes back to the device the input came from.
struct ToDeviceBackward {
    from: Device,
}

impl BackwardOp for ToDeviceBackward {
    fn name(&self) -> &'static str {
        "to_device"
    }
    fn backward(&self, g: &Tensor, _inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(to_device(&g.detach(), self.from)?)])
    }
}
