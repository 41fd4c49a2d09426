//! GPU devices: probing the driver without panicking, and one lazily created `Gpu` per ordinal
//! (its primary context, the one stream all of neurona's work on it goes to, its cuBLAS handle
//! and its compiled kernel modules), cached for the life of the process.
//!
//! cudarc loads libcuda/libcublas/libnvrtc on first use and panics when a library is missing,
//! so each library is probed (dlopen) before cudarc touches it, and every call into cudarc that
//! could still panic (a missing symbol in an old driver) runs under `catch_unwind`.
//!
//! One stream per device keeps every op ordered after the ops that produced its inputs, with no
//! events: cudarc's per-buffer event tracking is switched off, which is sound because no buffer
//! is ever touched from a second stream.

use super::kernels::{self, Module};
use super::libs::{ensure_library, Lib};
use crate::{Error, Result};
use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream, DriverError};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// One GPU as neurona uses it.
pub struct Gpu {
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    blas: OnceLock<std::result::Result<Mutex<CudaBlas>, String>>,
    modules: [OnceLock<std::result::Result<Arc<CudaModule>, String>>; kernels::COUNT],
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
}

/// Runs `f`, turning a panic inside cudarc into an error that says what was being done.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Runtime(format!("CUDA failure in {what}: {msg}")))
        }
    }
}

/// A driver error as a user-facing message.
pub fn driver_error(what: &str, e: DriverError) -> Error {
    let detail = e
        .error_string()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Error::Runtime(format!("CUDA error in {what}: {e:?} {detail}"))
}

fn driver_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: only dlopens and closes the library.
    *PRESENT.get_or_init(|| unsafe { cudarc::driver::sys::is_culib_present() })
}

/// Number of CUDA devices; 0 when there is no driver or no device, never a panic.
pub fn device_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        if !driver_present() {
            return 0;
        }
        guarded("cuDeviceGetCount", || {
            CudaContext::device_count().map_err(|e| driver_error("cuDeviceGetCount", e))
        })
        .map(|n| n.max(0) as usize)
        .unwrap_or(0)
    })
}

pub fn is_available() -> bool {
    device_count() > 0
}

/// Checks that device `ordinal` exists, with a message that says why not.
pub fn check_device(ordinal: usize) -> Result<()> {
    if !driver_present() {
        return Err(Error::Runtime(
            "CUDA is not available: the NVIDIA driver (libcuda.so) could not be loaded; \
             neurona.cuda.is_available() is False on this machine"
                .into(),
        ));
    }
    let n = device_count();
    if ordinal >= n {
        return Err(Error::Runtime(format!(
            "CUDA device cuda:{ordinal} is not available: {n} CUDA device(s) found"
        )));
    }
    Ok(())
}

fn registry() -> &'static Mutex<HashMap<usize, Arc<Gpu>>> {
    static GPUS: OnceLock<Mutex<HashMap<usize, Arc<Gpu>>>> = OnceLock::new();
    GPUS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The GPU `ordinal`, created on first use.
pub fn gpu(ordinal: usize) -> Result<Arc<Gpu>> {
    let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = map.get(&ordinal) {
        return Ok(g.clone());
    }
    check_device(ordinal)?;
    let g = guarded("creating the CUDA context", || {
        let ctx = CudaContext::new(ordinal).map_err(|e| driver_error("cuCtxRetain", e))?;
        // SAFETY: every buffer of this context is used on `stream` only (see the module doc).
        unsafe { ctx.disable_event_tracking() };
        // An owned stream rather than the legacy default one: frees and copies then name
        // their context through the stream, whichever thread runs them, and neurona's work
        // does not serialise with other libraries' default-stream work.
        let stream = ctx
            .new_stream()
            .map_err(|e| driver_error("cuStreamCreate", e))?;
        Ok(Arc::new(Gpu {
            ctx,
            stream,
            blas: OnceLock::new(),
            modules: std::array::from_fn(|_| OnceLock::new()),
            functions: Mutex::new(HashMap::new()),
        }))
    })?;
    map.insert(ordinal, g.clone());
    Ok(g)
}

/// The name of device `ordinal`, e.g. "NVIDIA H100 80GB HBM3".
pub fn device_name(ordinal: usize) -> Result<String> {
    let g = gpu(ordinal)?;
    guarded("cuDeviceGetName", || {
        g.ctx.name().map_err(|e| driver_error("cuDeviceGetName", e))
    })
}

/// Waits until all queued work on device `ordinal` is done (for timing and tests).
pub fn synchronize(ordinal: usize) -> Result<()> {
    let g = gpu(ordinal)?;
    guarded("cuStreamSynchronize", || {
        g.stream
            .synchronize()
            .map_err(|e| driver_error("cuStreamSynchronize", e))
    })
}

impl Gpu {
    /// The cuBLAS handle, created on first use; the guard serialises math-mode changes.
    pub fn blas(&self) -> Result<MutexGuard<'_, CudaBlas>> {
        let slot = self.blas.get_or_init(|| {
            ensure_library(Lib::Cublas).map_err(|e| e.to_string())?;
            guarded("cublasCreate", || {
                CudaBlas::new(self.stream.clone())
                    .map(Mutex::new)
                    .map_err(|e| Error::Runtime(format!("cublasCreate failed: {e:?}")))
            })
            .map_err(|e| e.to_string())
        });
        match slot {
            Ok(m) => Ok(m.lock().unwrap_or_else(|e| e.into_inner())),
            Err(msg) => Err(Error::Runtime(msg.clone())),
        }
    }

    fn module(&self, m: Module) -> Result<Arc<CudaModule>> {
        let slot = self.modules[m as usize].get_or_init(|| {
            kernels::compile(m)
                .and_then(|ptx| {
                    guarded("loading a CUDA module", || {
                        self.ctx
                            .load_module(ptx)
                            .map_err(|e| driver_error("cuModuleLoadData", e))
                    })
                })
                .map_err(|e| e.to_string())
        });
        slot.clone().map_err(Error::Runtime)
    }

    /// Kernel `name` of module `m`, compiled and loaded on first use.
    pub fn function(&self, m: Module, name: &'static str) -> Result<CudaFunction> {
        let mut cache = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = cache.get(name) {
            return Ok(f.clone());
        }
        let module = self.module(m)?;
        let f = module
            .load_function(name)
            .map_err(|e| driver_error(&format!("loading kernel {name}"), e))?;
        cache.insert(name, f.clone());
        Ok(f)
    }
}
