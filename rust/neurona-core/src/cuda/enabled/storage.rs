//! GPU buffers: `CudaStorage` holds a cudarc `CudaSlice` of float32, int64 or bool (as bytes),
//! and the helpers ops use to reach their operands' buffers (read guards taken once per
//! distinct storage, so `x op x` locks once) and to wrap new buffers as tensors.

use super::device::{driver_error, gpu, Gpu};
use crate::tensor::{DType, Device, Layout, Storage, Tensor};
use crate::{bail, Result};
use cudarc::driver::{CudaSlice, DeviceRepr};
use std::sync::{Arc, RwLockReadGuard};

/// A buffer in GPU memory.
pub enum CudaStorage {
    F32(CudaSlice<f32>),
    I64(CudaSlice<i64>),
    /// Bools as bytes 0/1 (the layout NumPy and the CPU buffer use).
    Bool(CudaSlice<u8>),
}

impl CudaStorage {
    pub fn dtype(&self) -> DType {
        match self {
            CudaStorage::F32(_) => DType::F32,
            CudaStorage::I64(_) => DType::I64,
            CudaStorage::Bool(_) => DType::Bool,
        }
    }
    pub fn ordinal(&self) -> usize {
        match self {
            CudaStorage::F32(s) => s.ordinal(),
            CudaStorage::I64(s) => s.ordinal(),
            CudaStorage::Bool(s) => s.ordinal(),
        }
    }
    pub fn len(&self) -> usize {
        match self {
            CudaStorage::F32(s) => s.len(),
            CudaStorage::I64(s) => s.len(),
            CudaStorage::Bool(s) => s.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The GPU of a tensor known to live on one.
pub fn gpu_of(t: &Tensor) -> Result<Arc<Gpu>> {
    match t.device() {
        Device::Cuda(i) => gpu(i),
        Device::Cpu => bail!(
            Runtime,
            "expected a tensor on a CUDA device, got one on cpu"
        ),
    }
}

/// The GPU all CUDA operands share; CPU operands must be 0-d scalars (passed by value).
pub fn common_gpu(what: &str, ts: &[&Tensor]) -> Result<Arc<Gpu>> {
    let mut dev = None;
    for t in ts {
        match t.device() {
            Device::Cuda(i) => match dev {
                None => dev = Some(i),
                Some(j) if j != i => bail!(
                    Runtime,
                    "{what}: expected all tensors on the same device, got cuda:{j} and cuda:{i}"
                ),
                _ => {}
            },
            Device::Cpu if t.ndim() == 0 => {}
            Device::Cpu => bail!(
                Runtime,
                "{what}: expected all tensors on the same device, got cpu (shape {}) and a CUDA \
                 tensor; move it with .cuda() first",
                crate::tensor::layout_fmt_shape(t.shape())
            ),
        }
    }
    match dev {
        Some(i) => gpu(i),
        None => bail!(Runtime, "{what}: no operand lives on a CUDA device"),
    }
}

/// Uninitialised device memory for `n` elements (at least one, so empty tensors have a
/// buffer too). Every kernel that fills it writes all `n` elements.
pub fn alloc<T: DeviceRepr>(g: &Gpu, n: usize) -> Result<CudaSlice<T>> {
    // SAFETY: callers write every element before anyone reads it.
    unsafe { g.stream.alloc::<T>(n.max(1)) }.map_err(|e| driver_error("cuMemAllocAsync", e))
}

pub fn zeros<T: DeviceRepr + cudarc::driver::ValidAsZeroBits>(
    g: &Gpu,
    n: usize,
) -> Result<CudaSlice<T>> {
    g.stream
        .alloc_zeros::<T>(n.max(1))
        .map_err(|e| driver_error("cuMemsetD8Async", e))
}

/// A contiguous tensor of `shape` over a new buffer.
pub fn wrap(s: CudaStorage, shape: &[usize]) -> Tensor {
    Tensor::from_storage(Storage::Cuda(s), Layout::contiguous(shape))
}

/// Read guards over the storages of some tensors, one per distinct storage.
pub struct Reads<'a> {
    guards: Vec<RwLockReadGuard<'a, Storage>>,
    which: Vec<usize>,
    tensors: Vec<&'a Tensor>,
}

impl<'a> Reads<'a> {
    /// Locks the storage of each CUDA tensor in `ts` (CPU tensors are skipped: they are
    /// scalars passed by value).
    pub fn new(ts: &[&'a Tensor]) -> Reads<'a> {
        let mut guards = Vec::new();
        let mut owners: Vec<&Tensor> = Vec::new();
        let mut which = Vec::new();
        for t in ts {
            if !t.device().is_cuda() {
                which.push(usize::MAX);
                continue;
            }
            match owners.iter().position(|o| o.same_storage(t)) {
                Some(j) => which.push(j),
                None => {
                    owners.push(t);
                    guards.push(t.storage_read());
                    which.push(guards.len() - 1);
                }
            }
        }
        Reads {
            guards,
            which,
            tensors: ts.to_vec(),
        }
    }

    fn storage(&self, i: usize) -> Result<&CudaStorage> {
        match self.which[i] {
            usize::MAX => bail!(Runtime, "internal: operand {i} is not on a CUDA device"),
            j => match &*self.guards[j] {
                Storage::Cuda(c) => Ok(c),
                Storage::Cpu(_) => bail!(Runtime, "internal: operand {i} has CPU storage"),
            },
        }
    }

    fn wrong(&self, i: usize, want: DType) -> crate::Error {
        crate::Error::Type(format!(
            "CUDA kernel: expected a {want} tensor, got {}",
            self.tensors[i].dtype()
        ))
    }

    pub fn f32(&self, i: usize) -> Result<&CudaSlice<f32>> {
        match self.storage(i)? {
            CudaStorage::F32(s) => Ok(s),
            _ => Err(self.wrong(i, DType::F32)),
        }
    }
    pub fn i64(&self, i: usize) -> Result<&CudaSlice<i64>> {
        match self.storage(i)? {
            CudaStorage::I64(s) => Ok(s),
            _ => Err(self.wrong(i, DType::I64)),
        }
    }
    pub fn bool(&self, i: usize) -> Result<&CudaSlice<u8>> {
        match self.storage(i)? {
            CudaStorage::Bool(s) => Ok(s),
            _ => Err(self.wrong(i, DType::Bool)),
        }
    }
}
