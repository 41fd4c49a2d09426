//! Software prefetch hints over slices and raw ranges, a cache line (16 floats) at a time.
//!
//! Used where the hardware prefetchers come too late: data written long before (a recurrent
//! layer's saved gates, read back step by step in backward, crossing a 4 KiB page every
//! couple of rows) or a buffer about to be overwritten whose lines would otherwise each be
//! read from L3 before the write. A prefetch is only a hint: it never faults and changes no
//! value, so none of this can change a result. Elsewhere than x86_64 these do nothing.

/// Floats per 64-byte cache line.
const LINE: usize = 16;

/// Asks for the lines of `buf` to be brought close for one read, as non-temporal (NTA): on
/// Zen 3 they then do not displace what L2 holds for longer (see `rnn::cells_backward`).
#[inline(always)]
pub fn for_read_once(buf: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..buf.len()).step_by(LINE) {
        // SAFETY: a prefetch never faults; the address is inside `buf`.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_NTA};
            _mm_prefetch::<_MM_HINT_NTA>(buf.as_ptr().add(off).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = buf;
}

/// Asks for the lines of `len` floats from `p` in a writable state (exclusive, in L1). `p`
/// need not be valid: a prefetch never faults.
#[inline(always)]
pub fn for_write(p: *const f32, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..len).step_by(LINE) {
        // SAFETY: a prefetch is only a hint and never faults, whatever the address.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
            _mm_prefetch::<_MM_HINT_ET0>(p.wrapping_add(off).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}
