//! Runtime ISA dispatch for auto-vectorised loops.
//!
//! The crate is built for baseline x86-64 (SSE2) so one wheel runs everywhere; a plain loop
//! therefore vectorises only 4 floats wide. `with_avx2` runs a closure inside a function
//! compiled for AVX2+FMA when the CPU has them, so the loop inlined into it vectorises 8 wide.
//! Rust never contracts `a * b + c` into an FMA on its own, so both paths give the same bits:
//! results do not depend on the CPU's features, only on the arithmetic written.

/// Whether this CPU runs AVX2 and FMA (the check is cached by std: an atomic load).
#[inline(always)]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f` compiled for AVX2+FMA when available, else as is. Give it the innermost loop
/// (inside any rayon split): closures handed to other threads are not inlined into it.
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { call_avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn call_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
