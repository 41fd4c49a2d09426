//! Turning core errors and panics into Python exceptions, and running kernels without the GIL.
//!
//! Every call into the core goes through `run`: it releases the GIL, catches any panic (so a
//! bug becomes a RuntimeError naming it, never an abort or a PanicException), and maps each
//! core error kind to its Python class.

use neurona_core::Error;
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub fn to_py(e: Error) -> PyErr {
    match e {
        Error::Type(m) => PyTypeError::new_err(m),
        Error::Value(m) => PyValueError::new_err(m),
        Error::Index(m) => PyIndexError::new_err(m),
        Error::Runtime(m) => PyRuntimeError::new_err(m),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error in neurona's core (please report it): {what}")
}

/// Runs `f` with the GIL released, turning errors and panics into Python exceptions.
pub fn run<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> neurona_core::Result<T> + Send,
) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(e)),
        Err(p) => Err(PyRuntimeError::new_err(panic_message(p))),
    }
}

/// Like `run` but keeps the GIL (for work that touches Python objects), still catching panics.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(PyRuntimeError::new_err(panic_message(p))),
    }
}
