//! Finding the CUDA user-space libraries (cuBLAS, NVRTC). cudarc looks them up by name
//! (`libcublas.so`, `libcublas.so.13`, `.so.12`, ...) in the loader's default path; the pip
//! wheels (`nvidia-cublas-cu12`, `nvidia-cuda-nvrtc`, PyTorch's `nvidia/cu13`) install them in
//! site-packages instead, outside that path. When cudarc's lookup fails, this module loads the
//! library by full path from the known directories (those the Python layer passes in, then
//! LD_LIBRARY_PATH and /usr/local/cuda); glibc then resolves cudarc's load by name to the
//! already loaded library through its SONAME.

use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    Cublas,
    Nvrtc,
}

impl Lib {
    fn stem(self) -> &'static str {
        match self {
            Lib::Cublas => "cublas",
            Lib::Nvrtc => "nvrtc",
        }
    }
    fn present(self) -> bool {
        // SAFETY: these only dlopen the library by name and close it again.
        unsafe {
            match self {
                Lib::Cublas => cudarc::cublas::sys::is_culib_present(),
                Lib::Nvrtc => cudarc::nvrtc::sys::is_culib_present(),
            }
        }
    }
}

fn extra_dirs() -> &'static Mutex<Vec<PathBuf>> {
    static DIRS: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    DIRS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds directories to search for the CUDA libraries (the Python layer passes the `lib`
/// folders of installed `nvidia-*` wheels).
pub fn add_library_dirs(dirs: &[String]) {
    let mut d = extra_dirs().lock().unwrap_or_else(|e| e.into_inner());
    for s in dirs {
        let p = PathBuf::from(s);
        if !d.contains(&p) {
            d.push(p);
        }
    }
}

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = extra_dirs()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(p) = std::env::var_os("LD_LIBRARY_PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    for d in [
        "/usr/local/cuda/lib64",
        "/usr/local/cuda/targets/x86_64-linux/lib",
        "/usr/lib/x86_64-linux-gnu",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// Loads `dir/name` and keeps it loaded for the life of the process.
fn load_forever(path: &Path) -> bool {
    // SAFETY: loading a CUDA library runs only its initialisers, which have no preconditions.
    match unsafe { libloading::Library::new(path) } {
        Ok(lib) => {
            std::mem::forget(lib);
            true
        }
        Err(_) => false,
    }
}

fn try_dirs(lib: Lib) -> bool {
    // The versions cudarc (built for CUDA 13.0) asks for by name, newest first.
    for dir in search_dirs() {
        for major in ["13", "12"] {
            let file = dir.join(format!("lib{}.so.{major}", lib.stem()));
            if !file.exists() {
                continue;
            }
            if lib == Lib::Cublas {
                // cuBLAS needs cuBLASLt; the wheels find it through RUNPATH, other installs
                // may not, so load it first from the same folder.
                let lt = dir.join(format!("libcublasLt.so.{major}"));
                if lt.exists() {
                    load_forever(&lt);
                }
            }
            if load_forever(&file) && lib.present() {
                return true;
            }
        }
    }
    false
}

/// Makes sure cudarc can load `lib`, or says how to install it.
pub fn ensure_library(lib: Lib) -> Result<()> {
    static FOUND: [OnceLock<bool>; 2] = [OnceLock::new(), OnceLock::new()];
    let found = *FOUND[lib as usize].get_or_init(|| lib.present() || try_dirs(lib));
    if found {
        return Ok(());
    }
    let (what, pip) = match lib {
        Lib::Cublas => ("cuBLAS (libcublas.so.13 or .so.12)", "nvidia-cublas-cu12"),
        Lib::Nvrtc => ("NVRTC (libnvrtc.so.13 or .so.12)", "nvidia-cuda-nvrtc-cu12"),
    };
    Err(Error::Runtime(format!(
        "CUDA tensors need {what}, which could not be found: install the CUDA toolkit or \
         `pip install {pip}`, or add the folder holding it to LD_LIBRARY_PATH"
    )))
}
