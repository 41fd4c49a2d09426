//! Compiles hot loops a second time for AVX2 + FMA and picks that copy when the CPU has them.
//!
//! The crate is built for baseline x86-64 (SSE2), so the transforms, im2col and pooling loops
//! would vectorise only 4 wide. `avx2_variant!` wraps an `#[inline(always)]` function in one
//! that calls a `#[target_feature(enable = "avx2,fma")]` copy when the CPU supports it; the
//! body (and every `#[inline(always)]` helper it calls) is compiled into that copy with 8-wide
//! vectors. These loops only add, subtract, copy and compare, and Rust never fuses a multiply
//! and an add by itself, so both copies give bitwise the same results.

#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// `avx2_variant!(fn name => body(arg: Type, ...));` defines `fn name(arg: Type, ...)` calling
/// `body` compiled for AVX2 + FMA where available, else `body` as built.
macro_rules! avx2_variant {
    ($(#[$m:meta])* $vis:vis fn $name:ident => $body:ident ($($arg:ident : $ty:ty),* $(,)?)) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn fast($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if $crate::cpu::conv::simd::has_avx2() {
                    // SAFETY: the CPU supports the features `fast` is compiled for.
                    return unsafe { fast($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use avx2_variant;
