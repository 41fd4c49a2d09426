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
    let out_w = w / 2;
    for (oy, (o, ix)) in out
        .chunks_exact_mut(out_w)
        .zip(idx.chunks_exact_mut(out_w))
        .enumerate()
    {
        let r0 = &x[2 * oy * w..(2 * oy + 1) * w];
        let r1 = &x[(2 * oy + 1) * w..(2 * oy + 2) * w];
        let base = 2 * oy * w;
        let done = if simd {
            vector::forward_row(r0, r1, o, ix, base, w)
        } else {
            0
        };
        for ox in done..out_w {
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
    for oy in 0..out_h {
        let (g, ix) = (
            &grad_out[oy * out_w..(oy + 1) * out_w],
            &idx[oy * out_w..(oy + 1) * out_w],
        );
        let rows = &mut gi[2 * oy * w..(2 * oy + 2) * w];
        let (r0, r1) = rows.split_at_mut(w);
        let base = 2 * oy * w;
        let done = if simd {
            vector::backward_row(g, ix, r0, r1, base, w)
        } else {
            0
        };
        for ox in done..out_w {
            let rel = (ix[ox] as usize).wrapping_sub(base + 2 * ox);
            let at = |off: usize| if rel == off { 0.0 + g[ox] } else { 0.0 };
            r0[2 * ox].write(at(0));
            r0[2 * ox + 1].write(at(1));
            r1[2 * ox].write(at(w));
            r1[2 * ox + 1].write(at(w + 1));
        }
        if w % 2 == 1 {
            r0[w - 1].write(0.0);
            r1[w - 1].write(0.0);
        }
    }
    for v in &mut gi[2 * out_h * w..] {
        v.write(0.0);
    }
}

#[cfg(target_arch = "x86_64")]
mod vector {
    //! AVX2 steps of 8 outputs (16 input columns of two rows), the row's last step masked;
    //! they return how many outputs of the row they wrote (all, or none without AVX2), and the
    //! scalar loop finishes the rest.

    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    pub(super) fn forward_row(
        r0: &[f32],
        r1: &[f32],
        o: &mut [MaybeUninit<f32>],
        ix: &mut [MaybeUninit<u32>],
        base: usize,
        w: usize,
    ) -> usize {
        if !crate::cpu::simd::has_avx2_fma() {
            return 0;
        }
        // SAFETY: AVX2 checked above; the lengths are checked inside.
        unsafe { forward_row_avx2(r0, r1, o, ix, base, w) }
    }

    pub(super) fn backward_row(
        g: &[f32],
        ix: &[u32],
        r0: &mut [MaybeUninit<f32>],
        r1: &mut [MaybeUninit<f32>],
        base: usize,
        w: usize,
    ) -> usize {
        if !crate::cpu::simd::has_avx2_fma() {
            return 0;
        }
        // SAFETY: AVX2 checked above; the lengths are checked inside.
        unsafe { backward_row_avx2(g, ix, r0, r1, base, w) }
    }

    /// Lanes `0..k` on (all ones), the rest off.
    #[inline(always)]
    unsafe fn first(k: usize) -> __m256i {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(k as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    /// Even and odd elements of the `m <= 16` floats at `p` (lanes past `m` are zero; the
    /// masked load does not touch memory past `m`).
    #[inline(always)]
    unsafe fn deinterleave(p: *const f32, m: usize) -> (__m256, __m256) {
        let (lo, hi) = if m == 16 {
            (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
        } else {
            (
                _mm256_maskload_ps(p, first(m.min(8))),
                _mm256_maskload_ps(p.add(8), first(m.saturating_sub(8))),
            )
        };
        let fix = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)));
        (
            fix(_mm256_shuffle_ps::<0x88>(lo, hi)),
            fix(_mm256_shuffle_ps::<0xDD>(lo, hi)),
        )
    }

    /// Stores `even` and `odd` interleaved as the first `m <= 16` of 16 floats at `p`.
    #[inline(always)]
    unsafe fn interleave(p: *mut f32, even: __m256, odd: __m256, m: usize) {
        let (a, b) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
        let (lo, hi) = (
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        );
        if m == 16 {
            _mm256_storeu_ps(p, lo);
            _mm256_storeu_ps(p.add(8), hi);
        } else {
            _mm256_maskstore_ps(p, first(m.min(8)), lo);
            _mm256_maskstore_ps(p.add(8), first(m.saturating_sub(8)), hi);
        }
    }

    /// All outputs of a row, the last step masked to the outputs left.
    // Index arithmetic is 32-bit two's complement, i.e. modulo 2^32 like the u32 indices.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_row_avx2(
        r0: &[f32],
        r1: &[f32],
        o: &mut [MaybeUninit<f32>],
        ix: &mut [MaybeUninit<u32>],
        base: usize,
        w: usize,
    ) -> usize {
        let n = o.len().min(ix.len()).min(r0.len() / 2).min(r1.len() / 2);
        let lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
        let offs = [1, w, w + 1].map(|o| _mm256_set1_epi32(o as u32 as i32));
        let mut ox = 0;
        while ox < n {
            let k = (n - ox).min(8);
            let (a0, a1) = deinterleave(r0.as_ptr().add(2 * ox), 2 * k);
            let (b0, b1) = deinterleave(r1.as_ptr().add(2 * ox), 2 * k);
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
            let start = _mm256_add_epi32(_mm256_set1_epi32((base + 2 * ox) as u32 as i32), lanes);
            let at = _mm256_add_epi32(start, arg);
            let (po, pi) = (o.as_mut_ptr().add(ox), ix.as_mut_ptr().add(ox));
            if k == 8 {
                _mm256_storeu_ps(po.cast(), best);
                _mm256_storeu_si256(pi.cast(), at);
            } else {
                _mm256_maskstore_ps(po.cast(), first(k), best);
                _mm256_maskstore_epi32(pi.cast(), first(k), at);
            }
            ox += k;
        }
        ox
    }

    /// All input pairs of a row's outputs, the last step masked to the outputs left.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn backward_row_avx2(
        g: &[f32],
        ix: &[u32],
        r0: &mut [MaybeUninit<f32>],
        r1: &mut [MaybeUninit<f32>],
        base: usize,
        w: usize,
    ) -> usize {
        let n = g.len().min(ix.len()).min(r0.len() / 2).min(r1.len() / 2);
        let lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
        let offs = [0, 1, w, w + 1].map(|o| _mm256_set1_epi32(o as u32 as i32));
        let zero = _mm256_setzero_ps();
        let mut ox = 0;
        while ox < n {
            let k = (n - ox).min(8);
            let (pg, pi) = (g.as_ptr().add(ox), ix.as_ptr().add(ox).cast::<i32>());
            let (grad, at) = if k == 8 {
                (_mm256_loadu_ps(pg), _mm256_loadu_si256(pi.cast()))
            } else {
                (
                    _mm256_maskload_ps(pg, first(k)),
                    _mm256_maskload_epi32(pi, first(k)),
                )
            };
            let grad = _mm256_add_ps(zero, grad);
            let start = _mm256_add_epi32(_mm256_set1_epi32((base + 2 * ox) as u32 as i32), lanes);
            let rel = _mm256_sub_epi32(at, start);
            let [p00, p01, p10, p11] = offs
                .map(|off| _mm256_and_ps(grad, _mm256_castsi256_ps(_mm256_cmpeq_epi32(rel, off))));
            interleave(r0.as_mut_ptr().add(2 * ox).cast(), p00, p01, 2 * k);
            interleave(r1.as_mut_ptr().add(2 * ox).cast(), p10, p11, 2 * k);
            ox += k;
        }
        ox
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod vector {
    //! No vector step off x86-64: the scalar loop does every output.

    use std::mem::MaybeUninit;

    pub(super) fn forward_row(
        _: &[f32],
        _: &[f32],
        _: &mut [MaybeUninit<f32>],
        _: &mut [MaybeUninit<u32>],
        _: usize,
        _: usize,
    ) -> usize {
        0
    }

    pub(super) fn backward_row(
        _: &[f32],
        _: &[u32],
        _: &mut [MaybeUninit<f32>],
        _: &mut [MaybeUninit<f32>],
        _: usize,
        _: usize,
    ) -> usize {
        0
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
