//! The CUDA backend, compiled only with the `cuda` feature. Without it, this module offers the
//! same names and reports "not compiled with CUDA", so callers build either way.

/// Whether a usable CUDA device is present. Always false without the `cuda` feature.
pub fn is_available() -> bool {
    false
}
