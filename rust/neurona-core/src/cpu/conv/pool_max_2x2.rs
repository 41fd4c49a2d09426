//! max_pool2d with a 2x2 window, stride 2 and no padding — the pooling of nearly every CNN —
//! one input plane at a time, 8 outputs per AVX2 step where the CPU has it.
//!
//! The vector step makes the same comparisons in the same order as the general loop in
//! `pool_max.rs` (first maximum in row-major window order wins, a NaN wins and stops the
//! search), so both give the same outputs and indices. The windows do not overlap, so the
//! backward writes every input element exactly once (its gradient or zero) instead of zeroing
//! the plane and scattering into it.

use std::mem::MaybeUninit;

/// Writes the plane's outputs and arg-max indices (flat `y * w + x` in the input plane).
pub(crate) fn forward_plane(
    w: usize,
    x: &[f32],
    out: &mut [MaybeUninit<f32>],
    idx: &mut [MaybeUninit<u32>],
) {
    forward_plane_with(w, x, out, idx, true)
}

/// `forward_plane`, with the vector steps only where `simd` (tests compare both ways).
fn forward_plane_with(
    w: usize,
    x: &[f32],
    out: &mut [MaybeUninit<f32>],
    idx: &mut [MaybeUninit<u32>],
    simd: bool,
) {
    if simd && vector::forward_plane(w, x, out, idx) {
        return;
    }
    let out_w = w / 2;
    for (oy, (o, ix)) in out
        .chunks_exact_mut(out_w)
        .zip(idx.chunks_exact_mut(out_w))
        .enumerate()
    {
        let r0 = &x[2 * oy * w..(2 * oy + 1) * w];
        let r1 = &x[(2 * oy + 1) * w..(2 * oy + 2) * w];
        let base = 2 * oy * w;
        for ox in 0..out_w {
            let cand = [
                (r0[2 * ox], 0),
                (r0[2 * ox + 1], 1),
                (r1[2 * ox], w),
                (r1[2 * ox + 1], w + 1),
            ];
            let (mut best, mut arg) = cand[0];
            for &(v, off) in &cand[1..] {
                if takes(v, best) {
                    (best, arg) = (v, off);
                }
            }
            o[ox].write(best);
            ix[ox].write((base + 2 * ox + arg) as u32);
        }
    }
}

/// Whether candidate `v` replaces `best`: larger, or the first NaN (a NaN best is never
/// replaced, which is the general loop's "stop at the first NaN").
#[inline(always)]
fn takes(v: f32, best: f32) -> bool {
    v > best || (v.is_nan() && !best.is_nan())
}

/// Writes the whole input-gradient plane: each output's gradient at its arg-max, zero elsewhere
/// (also in the last row or column an odd size leaves outside every window). `0.0 + g` as in
/// the general zero-then-add route, so a -0.0 gradient lands as +0.0 there too.
pub(crate) fn backward_plane(
    h: usize,
    w: usize,
    grad_out: &[f32],
    idx: &[u32],
    gi: &mut [MaybeUninit<f32>],
) {
    backward_plane_with(h, w, grad_out, idx, gi, true)
}

/// `backward_plane`, with the vector steps only where `simd`.
fn backward_plane_with(
    h: usize,
    w: usize,
    grad_out: &[f32],
    idx: &[u32],
    gi: &mut [MaybeUninit<f32>],
    simd: bool,
) {
    let (out_h, out_w) = (h / 2, w / 2);
    let vectorised = simd && vector::backward_plane(w, grad_out, idx, &mut gi[..2 * out_h * w]);
    for oy in (0..out_h).filter(|_| !vectorised) {
        let (g, ix) = (
            &grad_out[oy * out_w..(oy + 1) * out_w],
            &idx[oy * out_w..(oy + 1) * out_w],
        );
        let rows = &mut gi[2 * oy * w..(2 * oy + 2) * w];
        let (r0, r1) = rows.split_at_mut(w);
        let base = 2 * oy * w;
        for ox in 0..out_w {
            let rel = (ix[ox] as usize).wrapping_sub(base + 2 * ox);
            let at = |off: usize| if rel == off { 0.0 + g[ox] } else { 0.0 };
            r0[2 * ox].write(at(0));
            r0[2 * ox + 1].write(at(1));
            r1[2 * ox].write(at(w));
            r1[2 * ox + 1].write(at(w + 1));
        }
    }
    // After the rows: the vector steps may have stored scratch values into the odd column.
    if w % 2 == 1 {
        for y in 0..2 * out_h {
            gi[y * w + w - 1].write(0.0);
        }
    }
    for v in &mut gi[2 * out_h * w..] {
        v.write(0.0);
    }
}

#[cfg(target_arch = "x86_64")]
mod vector {
    //! AVX2 steps of 8 outputs (16 input columns of two rows) over a whole plane; they return
    //! false without AVX2, and the scalar loop does the plane.
    //!
    //! A row's last step usually has fewer than 8 outputs. Masked loads and stores are slow on
    //! AMD, so that step loads and stores full vectors whenever they stay inside the plane; the
    //! extra lanes land on elements that a later store of this plane overwrites (the next row,
    //! or the odd column and last row the caller zeroes afterwards). Only at the plane's end,
    //! where a full vector would leave the slice, are they masked.

    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    pub(super) fn forward_plane(
        w: usize,
        x: &[f32],
        out: &mut [MaybeUninit<f32>],
        idx: &mut [MaybeUninit<u32>],
    ) -> bool {
        if !crate::cpu::simd::has_avx2_fma() {
            return false;
        }
        let out_w = w / 2;
        assert!(out_w > 0 && out.len() == idx.len() && out.len().is_multiple_of(out_w));
        assert!(
            x.len() >= 2 * w * (out.len() / out_w),
            "max_pool 2x2: short input plane"
        );
        // SAFETY: AVX2 checked above; every access is checked against the slice lengths.
        unsafe { forward_plane_avx2(w, x, out, idx) };
        true
    }

    /// `gi` is the plane's first `2 * (h / 2)` rows; the caller zeroes an odd last column.
    pub(super) fn backward_plane(
        w: usize,
        grad_out: &[f32],
        idx: &[u32],
        gi: &mut [MaybeUninit<f32>],
    ) -> bool {
        if !crate::cpu::simd::has_avx2_fma() {
            return false;
        }
        let out_w = w / 2;
        assert!(out_w > 0 && grad_out.len() == idx.len() && grad_out.len().is_multiple_of(out_w));
        assert_eq!(
            gi.len(),
            2 * w * (grad_out.len() / out_w),
            "max_pool 2x2 backward rows"
        );
        // SAFETY: AVX2 checked above; every access is checked against the slice lengths.
        unsafe { backward_plane_avx2(w, grad_out, idx, gi) };
        true
    }

    /// Lanes `0..k` on (all ones), the rest off.
    #[inline(always)]
    unsafe fn first(k: usize) -> __m256i {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(k.min(8) as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    /// 8 floats at `p`, or only the first `k` (the rest zero, memory past them untouched).
    #[inline(always)]
    unsafe fn load(p: *const f32, k: usize) -> __m256 {
        if k >= 8 {
            _mm256_loadu_ps(p)
        } else {
            _mm256_maskload_ps(p, first(k))
        }
    }

    /// Stores 8 floats at `p`, or only the first `k`.
    #[inline(always)]
    unsafe fn store(p: *mut f32, k: usize, v: __m256) {
        if k >= 8 {
            _mm256_storeu_ps(p, v)
        } else {
            _mm256_maskstore_ps(p, first(k), v)
        }
    }

    /// Even and odd elements of the 16 floats at `p`, of which the first `m` may be read.
    #[inline(always)]
    unsafe fn deinterleave(p: *const f32, m: usize) -> (__m256, __m256) {
        let (lo, hi) = (load(p, m), load(p.add(8), m.saturating_sub(8)));
        let fix = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
        (
            fix(_mm256_shuffle_ps::<0x88>(lo, hi)),
            fix(_mm256_shuffle_ps::<0xDD>(lo, hi)),
        )
    }

    /// Stores `even` and `odd` interleaved as 16 floats at `p`, of which the first `m` may be
    /// written.
    #[inline(always)]
    unsafe fn interleave(p: *mut f32, m: usize, even: __m256, odd: __m256) {
        let (a, b) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
        store(p, m, _mm256_permute2f128_ps::<0x20>(a, b));
        if m > 8 {
            store(p.add(8), m - 8, _mm256_permute2f128_ps::<0x31>(a, b));
        }
    }

    /// The steps of a row of `out_w` outputs: the short last one first (the backward needs
    /// that order: its spill into the next row must come before that row's own stores), then
    /// the full ones.
    fn steps(out_w: usize) -> impl Iterator<Item = (usize, usize)> {
        let full = out_w / 8 * 8;
        let last = (full < out_w).then_some((full, out_w - full));
        last.into_iter()
            .chain((0..full).step_by(8).map(|ox| (ox, 8)))
    }

    // Index arithmetic is 32-bit two's complement, i.e. modulo 2^32 like the u32 indices.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_plane_avx2(
        w: usize,
        x: &[f32],
        out: &mut [MaybeUninit<f32>],
        idx: &mut [MaybeUninit<u32>],
    ) {
        let out_w = w / 2;
        let lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
        let offs = [1, w, w + 1].map(|o| _mm256_set1_epi32(o as u32 as i32));
        let (xp, op, ip) = (
            x.as_ptr(),
            out.as_mut_ptr().cast::<f32>(),
            idx.as_mut_ptr().cast::<f32>(),
        );
        for oy in 0..out.len() / out_w {
            let base = 2 * oy * w;
            for (ox, _) in steps(out_w) {
                let (i0, i1, o) = (base + 2 * ox, base + w + 2 * ox, oy * out_w + ox);
                let (a0, a1) = deinterleave(xp.add(i0), x.len() - i0);
                let (b0, b1) = deinterleave(xp.add(i1), x.len() - i1);
                let (mut best, mut arg) = (a0, _mm256_setzero_si256());
                for (v, off) in [(a1, offs[0]), (b0, offs[1]), (b1, offs[2])] {
                    let greater = _mm256_cmp_ps::<_CMP_GT_OQ>(v, best);
                    let first_nan = _mm256_and_ps(
                        _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
                        _mm256_cmp_ps::<_CMP_ORD_Q>(best, best),
                    );
                    let take = _mm256_or_ps(greater, first_nan);
                    best = _mm256_blendv_ps(best, v, take);
                    arg = _mm256_castps_si256(_mm256_blendv_ps(
                        _mm256_castsi256_ps(arg),
                        _mm256_castsi256_ps(off),
                        take,
                    ));
                }
                let start = _mm256_add_epi32(_mm256_set1_epi32(i0 as u32 as i32), lanes);
                let at = _mm256_castsi256_ps(_mm256_add_epi32(start, arg));
                store(op.add(o), out.len() - o, best);
                store(ip.add(o), out.len() - o, at);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn backward_plane_avx2(
        w: usize,
        grad_out: &[f32],
        idx: &[u32],
        gi: &mut [MaybeUninit<f32>],
    ) {
        let out_w = w / 2;
        let lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
        let offs = [0, 1, w, w + 1].map(|o| _mm256_set1_epi32(o as u32 as i32));
        let zero = _mm256_setzero_ps();
        let (gp, ip, out) = (
            grad_out.as_ptr(),
            idx.as_ptr().cast::<f32>(),
            gi.as_mut_ptr().cast::<f32>(),
        );
        let n = grad_out.len();
        for oy in 0..n / out_w {
            let base = 2 * oy * w;
            for (ox, _) in steps(out_w) {
                let (i0, i1, o) = (base + 2 * ox, base + w + 2 * ox, oy * out_w + ox);
                let grad = _mm256_add_ps(zero, load(gp.add(o), n - o));
                let at = _mm256_castps_si256(load(ip.add(o), n - o));
                let start = _mm256_add_epi32(_mm256_set1_epi32(i0 as u32 as i32), lanes);
                let rel = _mm256_sub_epi32(at, start);
                let [p00, p01, p10, p11] = offs.map(|off| {
                    _mm256_and_ps(grad, _mm256_castsi256_ps(_mm256_cmpeq_epi32(rel, off)))
                });
                interleave(out.add(i0), gi.len() - i0, p00, p01);
                interleave(out.add(i1), gi.len() - i1, p10, p11);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod vector {
    //! No vector steps off x86-64: the scalar loop does every plane.

    use std::mem::MaybeUninit;

    pub(super) fn forward_plane(
        _: usize,
        _: &[f32],
        _: &mut [MaybeUninit<f32>],
        _: &mut [MaybeUninit<u32>],
    ) -> bool {
        false
    }

    pub(super) fn backward_plane(
        _: usize,
        _: &[f32],
        _: &[u32],
        _: &mut [MaybeUninit<f32>],
    ) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    //! The vector steps against the scalar loop, bitwise, on NaNs, ties and signed zeros at
    //! every row width from 2 to 40 (full steps, masked last steps, odd widths).

    use super::*;

    fn run(
        h: usize,
        w: usize,
        x: &[f32],
        go: &[f32],
        simd: bool,
    ) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let n = (h / 2) * (w / 2);
        let mut out = vec![MaybeUninit::new(f32::NAN); n];
        let mut idx = vec![MaybeUninit::new(u32::MAX); n];
        forward_plane_with(w, x, &mut out, &mut idx, simd);
        // SAFETY (both): initialised at creation.
        let idx: Vec<u32> = idx.iter().map(|v| unsafe { v.assume_init() }).collect();
        let mut gi = vec![MaybeUninit::new(f32::NAN); h * w];
        backward_plane_with(h, w, go, &idx, &mut gi, simd);
        let bits = |v: &[MaybeUninit<f32>]| {
            v.iter()
                .map(|f| unsafe { f.assume_init() }.to_bits())
                .collect()
        };
        (bits(&out), idx, bits(&gi))
    }

    #[test]
    fn vector_steps_equal_the_scalar_loop() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let values = [
            f32::NAN,
            -0.0,
            0.0,
            1.0,
            -1.0,
            2.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for h in [2, 3, 5] {
            for w in 2..=40 {
                let x: Vec<f32> = (0..h * w).map(|_| values[next() as usize % 8]).collect();
                let go: Vec<f32> = (0..(h / 2) * (w / 2))
                    .map(|_| values[1 + next() as usize % 5])
                    .collect();
                assert_eq!(
                    run(h, w, &x, &go, true),
                    run(h, w, &x, &go, false),
                    "{h}x{w}"
                );
            }
        }
    }
}
