//! The CUDA backend proper (feature `cuda`): devices and streams (`device`), where the CUDA
//! libraries are found (`libs`), GPU buffers (`storage`), host<->device copies (`transfer`),
//! cuBLAS (`blas`), NVRTC kernel sources (`kernels`), launch plumbing (`geom`, `launch`) and the
//! ops that run on GPU tensors (`ops`).

mod blas;
mod device;
mod geom;
mod kernels;
mod launch;
mod libs;
pub mod ops;
mod storage;
mod transfer;

pub use device::{check_device, device_count, device_name, is_available, synchronize};
pub use kernels::compile_all as compile_kernels;
pub use libs::add_library_dirs;
pub use storage::CudaStorage;
pub use transfer::to_device;
