//! The CUDA C sources of neurona's kernels, one module per family, compiled by NVRTC at run
//! time (so the build needs no CUDA toolkit) the first time a device needs one of them.
//!
//! `common.cuh` is prepended to every module: it defines the integer types, the `Geom` strided
//! geometry that mirrors `super::geom::Geom`, and the grid-stride loop.

use super::device::guarded;
use super::libs::{ensure_library, Lib};
use crate::{Error, Result};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};

/// A kernel module (one NVRTC program).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    Elementwise = 0,
    Reduce = 1,
    Softmax = 2,
    Random = 3,
    Optim = 4,
    Loss = 5,
}

pub const COUNT: usize = 6;

const COMMON: &str = include_str!("common.cuh");

fn source(m: Module) -> (&'static str, &'static str) {
    match m {
        Module::Elementwise => ("elementwise.cu", include_str!("elementwise.cu")),
        Module::Reduce => ("reduce.cu", include_str!("reduce.cu")),
        Module::Softmax => ("softmax.cu", include_str!("softmax.cu")),
        Module::Random => ("random.cu", include_str!("random.cu")),
        Module::Optim => ("optim.cu", include_str!("optim.cu")),
        Module::Loss => ("loss.cu", include_str!("loss.cu")),
    }
}

/// Compiles every module (no GPU needed: NVRTC only), returning each one's name and PTX size:
/// a check that the CUDA sources and the NVRTC library work on this machine.
pub fn compile_all() -> Result<Vec<(String, usize)>> {
    use Module::*;
    [Elementwise, Reduce, Softmax, Random, Optim, Loss]
        .into_iter()
        .map(|m| Ok((source(m).0.to_string(), compile(m)?.to_src().len())))
        .collect()
}

/// Compiles module `m` to PTX (for the default virtual architecture, which the driver JIT
/// compiles for the actual GPU).
pub fn compile(m: Module) -> Result<Ptx> {
    ensure_library(Lib::Nvrtc)?;
    let (name, body) = source(m);
    let src = format!("{COMMON}\n{body}");
    guarded("NVRTC", || {
        let opts = CompileOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        compile_ptx_with_opts(src, opts)
            .map_err(|e| Error::Runtime(format!("NVRTC could not compile neurona's {name}: {e}")))
    })
}
