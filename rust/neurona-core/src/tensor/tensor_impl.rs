//! `Tensor` itself: construction from data, access to elements, and the autograd fields
//! (requires_grad, grad, the graph node). Operations live in `crate::ops`, one family a file.

use super::layout::{contiguous_strides, fmt_shape, Layout};
use super::storage::{Buffer, CpuStorage, Device, Storage};
use super::DType;
use crate::autograd::{self, BackwardOp, Node};
use crate::{bail, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// An n-dimensional array with optional gradient tracking. Cloning shares everything.
#[derive(Clone)]
pub struct Tensor(Arc<Inner>);

pub struct Inner {
    storage: Arc<RwLock<Storage>>,
    layout: Layout,
    dtype: DType,
    device: Device,
    requires_grad: AtomicBool,
    retain_grad: AtomicBool,
    grad: Mutex<Option<Tensor>>,
    node: Option<Arc<Node>>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor(shape={}, dtype={})",
            fmt_shape(self.shape()),
            self.dtype()
        )
    }
}

/// Element types a tensor can be built from.
pub trait Element: Copy + Send + Sync + 'static {
    const DTYPE: DType;
    fn into_storage(v: Vec<Self>) -> CpuStorage;
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn into_storage(v: Vec<Self>) -> CpuStorage {
                CpuStorage::$variant(Buffer::from_vec(v))
            }
            fn slice(s: &CpuStorage) -> Option<&[Self]> {
                match s {
                    CpuStorage::$variant(b) => Some(b.as_slice()),
                    _ => None,
                }
            }
            fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]> {
                match s {
                    CpuStorage::$variant(b) => Some(b.as_mut_slice()),
                    _ => None,
                }
            }
        }
    };
}
element!(f32, F32);
element!(i64, I64);
element!(bool, Bool);

// Dropping a long graph recursively (tensor -> node -> input tensor -> node ...) would
// overflow the stack after some ten thousand ops, so graphs are torn down with an explicit
// stack: each node that is uniquely owned hands its inputs' nodes to the loop.
impl Drop for Inner {
    fn drop(&mut self) {
        let mut pending: Vec<Arc<Node>> = self.node.take().into_iter().collect();
        while let Some(node) = pending.pop() {
            let Ok(mut node) = Arc::try_unwrap(node) else {
                continue;
            };
            for input in node.inputs.drain(..) {
                if let Ok(mut inner) = Arc::try_unwrap(input.0) {
                    pending.extend(inner.node.take());
                }
            }
        }
    }
}

fn read(lock: &RwLock<Storage>) -> RwLockReadGuard<'_, Storage> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write(lock: &RwLock<Storage>) -> RwLockWriteGuard<'_, Storage> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl Tensor {
    // ----- construction -------------------------------------------------------------------

    fn from_parts(storage: Arc<RwLock<Storage>>, layout: Layout, node: Option<Arc<Node>>) -> Self {
        let (dtype, device) = {
            let s = read(&storage);
            (s.dtype(), s.device())
        };
        let requires_grad = node.is_some();
        Tensor(Arc::new(Inner {
            storage,
            layout,
            dtype,
            device,
            requires_grad: AtomicBool::new(requires_grad),
            retain_grad: AtomicBool::new(false),
            grad: Mutex::new(None),
            node,
        }))
    }

    /// A contiguous tensor owning `data`. `data.len()` must equal the product of `shape`.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            bail!(
                Value,
                "cannot make a tensor of shape {} ({n} elements) from {} values",
                fmt_shape(shape),
                data.len()
            );
        }
        Ok(Self::from_storage(
            Storage::Cpu(T::into_storage(data)),
            Layout::contiguous(shape),
        ))
    }

    /// A tensor over given storage and layout, with no graph node.
    pub fn from_storage(storage: Storage, layout: Layout) -> Self {
        Self::from_parts(Arc::new(RwLock::new(storage)), layout, None)
    }

    pub fn scalar(v: f32) -> Self {
        Self::from_vec(vec![v], &[]).expect("one value for a 0-d tensor")
    }

    pub fn full(shape: &[usize], v: f32) -> Self {
        let n = shape.iter().product();
        // Zeros come from the allocator's zeroed memory; other values are written in parallel.
        let data = if v.to_bits() == 0 {
            vec![0.0; n]
        } else {
            crate::parallel::filled(n, v)
        };
        Self::from_vec(data, shape).expect("length matches shape")
    }

    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    /// The result of a differentiable op: attaches a graph node when gradients are enabled and
    /// some input requires them.
    pub fn from_op(data: Tensor, inputs: &[&Tensor], op: impl BackwardOp + 'static) -> Tensor {
        if !autograd::is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
            return data;
        }
        let node = Node::new(inputs.iter().map(|t| (*t).clone()).collect(), Box::new(op));
        Self::from_parts(
            data.0.storage.clone(),
            data.0.layout.clone(),
            Some(Arc::new(node)),
        )
    }

    /// A view of this tensor's storage with another layout (no copy, no graph node).
    pub fn with_layout(&self, layout: Layout) -> Tensor {
        Self::from_parts(self.0.storage.clone(), layout, None)
    }

    // ----- metadata ---------------------------------------------------------------------

    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn ndim(&self) -> usize {
        self.0.layout.ndim()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }
    pub fn device(&self) -> Device {
        self.0.device
    }
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }
    /// A stable identity for the tensor object (not its storage).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }
    pub fn storage_ptr(&self) -> usize {
        match &*read(&self.0.storage) {
            Storage::Cpu(CpuStorage::F32(b)) => b.as_ptr() as usize,
            Storage::Cpu(CpuStorage::I64(b)) => b.as_ptr() as usize,
            Storage::Cpu(CpuStorage::Bool(b)) => b.as_ptr() as usize,
            Storage::Cuda(_) => 0,
        }
    }

    // ----- autograd fields --------------------------------------------------------------

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }
    /// Sets requires_grad on a leaf. Non-leaf tensors get theirs from the graph.
    pub fn set_requires_grad(&self, on: bool) -> Result<()> {
        if self.0.node.is_some() && !on {
            bail!(
                Value,
                "you can only change requires_grad flags of leaf tensors; use detach() to get a \
                 tensor that does not require grad"
            );
        }
        if on && self.dtype() != DType::F32 {
            bail!(
                Type,
                "only floating point tensors can require gradients, got dtype {}",
                self.dtype()
            );
        }
        self.0.requires_grad.store(on, Ordering::Relaxed);
        Ok(())
    }
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }
    pub fn node(&self) -> Option<&Arc<Node>> {
        self.0.node.as_ref()
    }
    pub fn grad(&self) -> Option<Tensor> {
        self.0
            .grad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn set_grad(&self, g: Option<Tensor>) -> Result<()> {
        if let Some(g) = &g {
            if g.shape() != self.shape() {
                bail!(
                    Value,
                    "assigned grad has shape {}, but the tensor has shape {}",
                    fmt_shape(g.shape()),
                    fmt_shape(self.shape())
                );
            }
        }
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = g;
        Ok(())
    }
    pub fn retain_grad(&self) {
        self.0.retain_grad.store(true, Ordering::Relaxed);
    }
    pub fn retains_grad(&self) -> bool {
        self.0.retain_grad.load(Ordering::Relaxed)
    }
    /// The same data, cut from the graph.
    /// Whether this handle is the only way to reach its elements, so they may be taken over
    /// instead of copied: no other handle, tensor or view shares the storage (nor a NumPy
    /// array: the memory is owned), and the tensor is the whole buffer, contiguous, on the CPU.
    pub fn is_exclusive(&self) -> bool {
        if Arc::strong_count(&self.0) != 1
            || Arc::weak_count(&self.0) != 0
            || Arc::strong_count(&self.0.storage) != 1
            || Arc::weak_count(&self.0.storage) != 0
        {
            return false;
        }
        let l = &self.0.layout;
        let guard = read(&self.0.storage);
        match &*guard {
            Storage::Cpu(cpu) => {
                cpu.owns_memory() && l.offset == 0 && l.is_contiguous() && cpu.len() == l.numel()
            }
            _ => false,
        }
    }

    pub fn detach(&self) -> Tensor {
        Self::from_parts(self.0.storage.clone(), self.0.layout.clone(), None)
    }

    // ----- element access ---------------------------------------------------------------

    /// Checks the tensor is on the CPU and of dtype T.
    pub fn expect_cpu<T: Element>(&self, what: &str) -> Result<()> {
        if self.device() != Device::Cpu {
            bail!(
                Runtime,
                "{what}: expected a tensor on the cpu, got one on {}",
                self.device()
            );
        }
        if self.dtype() != T::DTYPE {
            bail!(
                Type,
                "{what}: expected a {} tensor, got {}",
                T::DTYPE,
                self.dtype()
            );
        }
        Ok(())
    }

    /// Calls `f` with the elements in row-major order as one slice: borrowed when the tensor
    /// is contiguous, gathered into a temporary otherwise.
    pub fn with_slice<T: Element, R>(&self, f: impl FnOnce(&[T]) -> R) -> Result<R> {
        self.expect_cpu::<T>("kernel input")?;
        let guard = read(&self.0.storage);
        let Storage::Cpu(cpu) = &*guard else {
            unreachable!("checked cpu above")
        };
        let data = T::slice(cpu).expect("dtype checked above");
        let l = &self.0.layout;
        if l.is_contiguous() {
            Ok(f(&data[l.offset..l.offset + l.numel()]))
        } else {
            let gathered: Vec<T> = super::gather::gather(data, l);
            drop(guard);
            Ok(f(&gathered))
        }
    }

    /// Calls `f` with the raw storage slice and the layout, for kernels that read strides.
    pub fn with_storage<T: Element, R>(&self, f: impl FnOnce(&[T], &Layout) -> R) -> Result<R> {
        self.expect_cpu::<T>("kernel input")?;
        let guard = read(&self.0.storage);
        let Storage::Cpu(cpu) = &*guard else {
            unreachable!("checked cpu above")
        };
        Ok(f(
            T::slice(cpu).expect("dtype checked above"),
            &self.0.layout,
        ))
    }

    /// Calls `f` with the raw storage slice (mutable) and the layout: in-place updates.
    pub fn with_storage_mut<T: Element, R>(
        &self,
        f: impl FnOnce(&mut [T], &Layout) -> R,
    ) -> Result<R> {
        self.expect_cpu::<T>("in-place update")?;
        let mut guard = write(&self.0.storage);
        let Storage::Cpu(cpu) = &mut *guard else {
            unreachable!("checked cpu above")
        };
        Ok(f(
            T::slice_mut(cpu).expect("dtype checked above"),
            &self.0.layout,
        ))
    }

    /// The storage (on any device) behind its read lock: the door through which a device
    /// backend (`crate::cuda`) reaches the buffers of several operands at once.
    pub fn storage_read(&self) -> RwLockReadGuard<'_, Storage> {
        read(&self.0.storage)
    }

    /// The storage behind its write lock, for a device backend's in-place updates.
    pub fn storage_write(&self) -> RwLockWriteGuard<'_, Storage> {
        write(&self.0.storage)
    }

    /// The elements in row-major order as a new Vec.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        // A view is gathered straight into the result (through `with_slice` it would be
        // gathered into a temporary and then copied again).
        self.with_storage(|data: &[T], l| {
            if l.is_contiguous() {
                data[l.offset..l.offset + l.numel()].to_vec()
            } else {
                super::gather::gather(data, l)
            }
        })
    }

    /// A contiguous tensor with the same values: itself when already contiguous.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let data = match self.dtype() {
            _ if self.device().is_cuda() => crate::cuda::ops::contiguous(self)?,
            DType::F32 => Tensor::from_vec(self.to_vec::<f32>()?, self.shape())?,
            DType::I64 => Tensor::from_vec(self.to_vec::<i64>()?, self.shape())?,
            DType::Bool => Tensor::from_vec(self.to_vec::<bool>()?, self.shape())?,
        };
        Ok(Tensor::from_op(
            data,
            &[self],
            crate::ops::view::IdentityBackward,
        ))
    }

    /// Row-major strides of this tensor's shape.
    pub fn contiguous_strides(&self) -> Vec<usize> {
        contiguous_strides(self.shape())
    }
}
