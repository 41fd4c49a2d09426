//! NumPy in and out, without copying where the layout allows.
//!
//! In: a C-contiguous float32, int64 or bool array is shared (the tensor keeps the array
//! alive); float64 is converted to float32; other dtypes are refused with a TypeError.
//! Out: `.numpy()` returns an array viewing the tensor's storage with the tensor's strides,
//! kept alive through its base object.

use neurona_core::tensor::{Buffer, CpuStorage, Layout, Storage};
use neurona_core::{DType, Device, Tensor};
use numpy::npyffi::{self, npy_intp, PY_ARRAY_API};
use numpy::{
    Element as NpElement, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use std::os::raw::c_void;

/// Keeps a tensor (and so its storage) alive for as long as a NumPy array views it.
#[pyclass(module = "neurona._core", frozen)]
pub struct StorageOwner {
    _tensor: Tensor,
}

/// Shares a C-contiguous array's memory, or copies it when it is not C-contiguous.
fn wrap<T: NpElement + Copy + Send + Sync + 'static>(
    arr: &Bound<'_, PyArrayDyn<T>>,
    make: fn(Buffer<T>) -> CpuStorage,
) -> PyResult<Tensor> {
    let shape = arr.shape().to_vec();
    // Share only memory we may write through and read as aligned Rust slices: a read-only
    // array (np.frombuffer over bytes) or a misaligned one is copied instead.
    let writeable = arr
        .getattr("flags")
        .and_then(|f| f.getattr("writeable"))
        .and_then(|w| w.extract::<bool>())
        .unwrap_or(false);
    let aligned = (arr.data() as usize).is_multiple_of(std::mem::align_of::<T>());
    if !arr.is_c_contiguous() || !writeable || !aligned {
        // Logical (row-major) order whatever the strides.
        let owned: Vec<T> = arr.readonly().as_array().iter().copied().collect();
        let storage = Storage::Cpu(make(Buffer::from_vec(owned)));
        return Ok(Tensor::from_storage(storage, Layout::contiguous(&shape)));
    }
    let len: usize = shape.iter().product();
    let owner: Py<PyAny> = arr.clone().into_any().unbind();
    // SAFETY: the array is C-contiguous with `len` elements at `data()`, and `owner` keeps the
    // array (and so its memory) alive as long as the buffer lives.
    let buffer = unsafe { Buffer::from_foreign(arr.data(), len, Box::new(owner)) };
    Ok(Tensor::from_storage(
        Storage::Cpu(make(buffer)),
        Layout::contiguous(&shape),
    ))
}

/// A tensor from any NumPy array of a supported dtype.
pub fn from_numpy(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "from_numpy: expected a numpy.ndarray, got {}",
            type_name(obj)
        ))
    })?;
    let dt = arr.dtype();
    let py = obj.py();
    if dt.is_equiv_to(&numpy::dtype::<f32>(py)) {
        wrap(arr.cast::<PyArrayDyn<f32>>()?, CpuStorage::F32)
    } else if dt.is_equiv_to(&numpy::dtype::<i64>(py)) {
        wrap(arr.cast::<PyArrayDyn<i64>>()?, CpuStorage::I64)
    } else if dt.is_equiv_to(&numpy::dtype::<bool>(py)) {
        wrap(arr.cast::<PyArrayDyn<bool>>()?, CpuStorage::Bool)
    } else if dt.is_equiv_to(&numpy::dtype::<f64>(py)) {
        let a = arr.cast::<PyArrayDyn<f64>>()?;
        let v: Vec<f32> = a.readonly().as_array().iter().map(|&x| x as f32).collect();
        let shape = a.shape().to_vec();
        Ok(Tensor::from_storage(
            Storage::Cpu(CpuStorage::F32(Buffer::from_vec(v))),
            Layout::contiguous(&shape),
        ))
    } else {
        Err(PyTypeError::new_err(format!(
            "unsupported NumPy dtype {}: neurona tensors hold float32 (float64 is converted), \
             int64 or bool; convert first, e.g. arr.astype(np.float32) or arr.astype(np.int64)",
            dt
        )))
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// A NumPy array viewing the tensor's storage (no copy).
pub fn to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    if t.device() != Device::Cpu {
        return Err(PyTypeError::new_err(format!(
            "can't convert a {} tensor to numpy: use .cpu() to copy it to host memory first",
            t.device()
        )));
    }
    let itemsize = t.dtype().size_in_bytes() as npy_intp;
    let mut dims: Vec<npy_intp> = t.shape().iter().map(|&d| d as npy_intp).collect();
    let mut strides: Vec<npy_intp> = t
        .layout()
        .strides
        .iter()
        .map(|&s| s as npy_intp * itemsize)
        .collect();
    let base = t.storage_ptr() as *mut u8;
    let data = if t.numel() == 0 {
        base
    } else {
        unsafe { base.add(t.layout().offset * itemsize as usize) }
    };
    let descr = match t.dtype() {
        DType::F32 => numpy::dtype::<f32>(py),
        DType::I64 => numpy::dtype::<i64>(py),
        DType::Bool => numpy::dtype::<bool>(py),
    };
    let owner = Bound::new(py, StorageOwner { _tensor: t.clone() })?;
    // SAFETY: `data` points into the tensor's live storage, valid for the given dims and
    // strides; the StorageOwner set as base keeps that storage alive while the array exists.
    unsafe {
        let ptr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type),
            descr.into_dtype_ptr(),
            dims.len() as i32,
            dims.as_mut_ptr(),
            strides.as_mut_ptr(),
            data as *mut c_void,
            npyffi::NPY_ARRAY_WRITEABLE,
            std::ptr::null_mut(),
        );
        if ptr.is_null() {
            return Err(PyErr::take(py)
                .unwrap_or_else(|| PyRuntimeError::new_err("numpy could not create the array")));
        }
        let owner_ptr = owner.into_ptr();
        if PY_ARRAY_API.PyArray_SetBaseObject(py, ptr as *mut npyffi::PyArrayObject, owner_ptr) != 0
        {
            pyo3::ffi::Py_DECREF(ptr);
            return Err(PyErr::take(py)
                .unwrap_or_else(|| PyRuntimeError::new_err("numpy could not set the base")));
        }
        Ok(Bound::from_owned_ptr(py, ptr))
    }
}
