//! Storage: where a tensor's elements live. `Storage` is an enum over devices (candle's
//! pattern): `Cpu` holds a typed buffer; `Cuda` exists so the same code builds with or without
//! the `cuda` feature and reports "not compiled with CUDA" when asked for without it.
//!
//! A CPU buffer either owns a `Vec` or borrows memory owned by someone else (a NumPy array kept
//! alive by `owner`), which is how NumPy input is shared without a copy.

use crate::tensor::DType;
use std::any::Any;
use std::fmt;

/// Where a tensor lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// Elements of one dtype in host memory.
pub struct Buffer<T> {
    ptr: *mut T,
    len: usize,
    // Keeps the memory alive: the Vec itself, or a foreign owner (a NumPy array).
    _owner: Owner<T>,
}

enum Owner<T> {
    Vec(#[allow(dead_code)] Vec<T>),
    Foreign(#[allow(dead_code)] Box<dyn Any + Send + Sync>),
}

// SAFETY: the buffer is plain data; access is synchronised by the RwLock around Storage.
unsafe impl<T: Send> Send for Buffer<T> {}
unsafe impl<T: Sync> Sync for Buffer<T> {}

impl<T> Buffer<T> {
    /// Whether the memory is this buffer's own Vec (not borrowed from a NumPy array).
    pub fn owns_memory(&self) -> bool {
        matches!(self._owner, Owner::Vec(_))
    }

    pub fn from_vec(mut v: Vec<T>) -> Self {
        let ptr = v.as_mut_ptr();
        let len = v.len();
        Buffer {
            ptr,
            len,
            _owner: Owner::Vec(v),
        }
    }

    /// Borrows `len` elements at `ptr`, kept alive by `owner`.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` elements of `T`, suitably aligned, for
    /// as long as `owner` lives.
    pub unsafe fn from_foreign(ptr: *mut T, len: usize, owner: Box<dyn Any + Send + Sync>) -> Self {
        Buffer {
            ptr,
            len,
            _owner: Owner::Foreign(owner),
        }
    }

    pub fn as_slice(&self) -> &[T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: ptr/len describe live memory (see constructors).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }
}

/// Host memory of one of the supported dtypes.
pub enum CpuStorage {
    F32(Buffer<f32>),
    I64(Buffer<i64>),
    Bool(Buffer<bool>),
}

impl CpuStorage {
    /// Whether the memory is owned here (not borrowed from a NumPy array).
    pub fn owns_memory(&self) -> bool {
        match self {
            CpuStorage::F32(b) => b.owns_memory(),
            CpuStorage::I64(b) => b.owns_memory(),
            CpuStorage::Bool(b) => b.owns_memory(),
        }
    }

    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::I64(_) => DType::I64,
            CpuStorage::Bool(_) => DType::Bool,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            CpuStorage::F32(b) => b.len(),
            CpuStorage::I64(b) => b.len(),
            CpuStorage::Bool(b) => b.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Device memory. The CUDA arm carries the CUDA backend's buffer when compiled with `cuda`.
pub enum Storage {
    Cpu(CpuStorage),
    #[allow(dead_code)]
    Cuda(crate::cuda::CudaStorage),
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(c) => c.dtype(),
            Storage::Cuda(c) => c.dtype(),
        }
    }
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(c) => Device::Cuda(c.ordinal()),
        }
    }
}
