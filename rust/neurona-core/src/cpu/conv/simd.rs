//! The CPU check behind the conv kernels' AVX2 + FMA copies.
//!
//! The crate is built for baseline x86-64 (SSE2), so the Winograd transforms would vectorise
//! only 4 wide; `lanes_variant!` (in `lanes.rs`) compiles them a second time with
//! `#[target_feature(enable = "avx2,fma")]` and calls that copy where [`has_avx2`] says so.

#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}
