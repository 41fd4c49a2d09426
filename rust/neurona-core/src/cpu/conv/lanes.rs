//! Eight `f32` lanes for the Winograd tile transforms: one AVX2 register, or a plain array.
//!
//! The transforms are written once, generic over [`F32x8`], and compiled for both: [`Avx2`]
//! (inside a `#[target_feature(enable = "avx2,fma")]` function, see `lanes_variant!`) and
//! [`Portable`]. Every operation is one lane-wise IEEE operation (add, subtract, multiply,
//! negate; never a fused multiply-add) or data movement, so both give bitwise the same results. Loads and stores take slices and check
//! their bounds.

use std::mem::MaybeUninit;

/// Eight floats and the operations the transforms need.
pub(crate) trait F32x8: Copy {
    fn zero() -> Self;
    fn splat(v: f32) -> Self;
    /// `s[0..8]`.
    fn load(s: &[f32]) -> Self;
    /// Into `s[0..8]`.
    fn store(self, s: &mut [f32]);
    /// Into `s[0..8]`, which may be uninitialised (an output buffer).
    fn store_uninit(self, s: &mut [MaybeUninit<f32>]);
    /// The first `s.len()` (< 8) lanes into `s`, by 4-, 2- and 1-float stores (masked stores
    /// are slow on AMD, and a copy through memory became a `memcpy` call per row).
    fn store_uninit_part(self, s: &mut [MaybeUninit<f32>]);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn neg(self) -> Self;
    /// All bits set in lanes `i` with `lo <= i < hi`, clear in the others.
    fn mask(lo: isize, hi: isize) -> Self;
    /// Bitwise and (with a `mask`).
    fn and(self, m: Self) -> Self;
    /// The even and the odd elements of the 16 values `a` then `b`.
    fn split(a: Self, b: Self) -> (Self, Self);
    /// `a0 b0 a1 b1 .. a3 b3` and `a4 b4 .. a7 b7`.
    fn zip(a: Self, b: Self) -> (Self, Self);
    /// `a0..a3 b0..b3` and `a4..a7 b4..b7`: the low halves of both, and the high halves.
    fn halves(a: Self, b: Self) -> (Self, Self);
    /// A 4x4 transpose in each half: lane `j` (and `4 + j`) of result `k` is lane `k` (and
    /// `4 + k`) of `r[j]`.
    fn transpose4(r: [Self; 4]) -> [Self; 4];
}

/// The lanes `lo..hi` of a 16-value window: masks for `window16`.
#[derive(Clone, Copy)]
pub(crate) struct Window<S> {
    lo: usize,
    hi: usize,
    ma: S,
    mb: S,
}

impl<S: F32x8> Window<S> {
    /// The lanes of a 16-value window starting `s` columns into a row of `w` that hold row
    /// values. (A function, not a closure at the call sites: closures do not inherit the
    /// caller's target features, and the mask intrinsics were left as calls.)
    #[inline(always)]
    pub(crate) fn over_row(s: isize, w: usize) -> Self {
        let (lo, hi) = super::winograd_transforms::valid_lanes(s, w);
        Window::new(lo, hi)
    }
    #[inline(always)]
    pub(crate) fn new(lo: usize, hi: usize) -> Self {
        let (l, h) = (lo as isize, hi as isize);
        Window {
            lo,
            hi,
            ma: S::mask(l, h),
            mb: S::mask(l - 8, h - 8),
        }
    }
}

/// Sixteen values of `x` from index `start`, as two vectors, lanes outside `win`'s `lo..hi`
/// zero (the valid lanes must lie inside `x`). Reads the whole window at once where it lies
/// inside `x`.
#[inline(always)]
pub(crate) fn window16<S: F32x8>(x: &[f32], start: isize, win: &Window<S>) -> (S, S) {
    let (lo, hi) = (win.lo, win.hi);
    if start >= 0 && start as usize + 16 <= x.len() {
        let s = &x[start as usize..start as usize + 16];
        let (a, b) = (S::load(&s[..8]), S::load(&s[8..]));
        return (a.and(win.ma), b.and(win.mb));
    }
    let mut w = [0.0f32; 16];
    for (i, v) in w.iter_mut().enumerate().take(hi).skip(lo) {
        *v = x[(start + i as isize) as usize];
    }
    (S::load(&w[..8]), S::load(&w[8..]))
}

/// Plain arrays: the build for CPUs without AVX2.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f32; 8]);

impl F32x8 for Portable {
    #[inline(always)]
    fn zero() -> Self {
        Portable([0.0; 8])
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable([v; 8])
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        Portable(s[..8].try_into().expect("8 floats"))
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        s[..8].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn store_uninit(self, s: &mut [MaybeUninit<f32>]) {
        for (d, v) in s[..8].iter_mut().zip(self.0) {
            d.write(v);
        }
    }
    #[inline(always)]
    fn store_uninit_part(self, s: &mut [MaybeUninit<f32>]) {
        debug_assert!(s.len() < 8, "store_uninit_part takes fewer than 8 floats");
        let n = s.len().min(7);
        for (d, v) in s[..n].iter_mut().zip(self.0) {
            d.write(v);
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k] + o.0[k]))
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k] - o.0[k]))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k] * o.0[k]))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        Portable(self.0.map(|v| -v))
    }
    #[inline(always)]
    fn mask(lo: isize, hi: isize) -> Self {
        Portable(std::array::from_fn(|k| {
            let i = k as isize;
            f32::from_bits(if i >= lo && i < hi { !0 } else { 0 })
        }))
    }
    #[inline(always)]
    fn and(self, m: Self) -> Self {
        Portable(std::array::from_fn(|k| {
            f32::from_bits(self.0[k].to_bits() & m.0[k].to_bits())
        }))
    }
    #[inline(always)]
    fn split(a: Self, b: Self) -> (Self, Self) {
        let all = |i: usize| if i < 8 { a.0[i] } else { b.0[i - 8] };
        (
            Portable(std::array::from_fn(|k| all(2 * k))),
            Portable(std::array::from_fn(|k| all(2 * k + 1))),
        )
    }
    #[inline(always)]
    fn zip(a: Self, b: Self) -> (Self, Self) {
        let pick = |i: usize| {
            if i.is_multiple_of(2) {
                a.0[i / 2]
            } else {
                b.0[i / 2]
            }
        };
        (
            Portable(std::array::from_fn(pick)),
            Portable(std::array::from_fn(|k| pick(k + 8))),
        )
    }
    #[inline(always)]
    fn halves(a: Self, b: Self) -> (Self, Self) {
        let cat = |x: &[f32], y: &[f32]| {
            Portable(std::array::from_fn(|k| if k < 4 { x[k] } else { y[k - 4] }))
        };
        (cat(&a.0[..4], &b.0[..4]), cat(&a.0[4..], &b.0[4..]))
    }
    #[inline(always)]
    fn transpose4(r: [Self; 4]) -> [Self; 4] {
        std::array::from_fn(|k| Portable(std::array::from_fn(|l| r[l % 4].0[(l / 4) * 4 + k])))
    }
}

/// Writes the first `dst.len()` (at most 16) of the 16 values `lo`, `hi` to `dst`: whole
/// vectors where they fit, the rest by `store_uninit_part` (an output row's last, partial
/// group; through an array and a copy it was a `memcpy` call per row).
#[inline(always)]
pub(crate) fn store_first16<S: F32x8>(dst: &mut [MaybeUninit<f32>], lo: S, hi: S) {
    debug_assert!(dst.len() <= 16);
    if dst.len() < 8 {
        lo.store_uninit_part(dst);
        return;
    }
    let (a, b) = dst.split_at_mut(8);
    lo.store_uninit(a);
    if b.len() == 8 {
        hi.store_uninit(b);
    } else {
        hi.store_uninit_part(b);
    }
}

/// Operators on `Portable`, for formulas written once over numbers (`winograd_weights::Lanes`:
/// the kernel transform, eight kernels at a time), lane-wise and in the order written.
impl std::ops::Add for Portable {
    type Output = Portable;
    #[inline(always)]
    fn add(self, o: Portable) -> Portable {
        F32x8::add(self, o)
    }
}

impl std::ops::Sub for Portable {
    type Output = Portable;
    #[inline(always)]
    fn sub(self, o: Portable) -> Portable {
        F32x8::sub(self, o)
    }
}

impl std::ops::Neg for Portable {
    type Output = Portable;
    #[inline(always)]
    fn neg(self) -> Portable {
        F32x8::neg(self)
    }
}

impl std::ops::Mul<f32> for Portable {
    type Output = Portable;
    #[inline(always)]
    fn mul(self, k: f32) -> Portable {
        Portable(self.0.map(|a| a * k))
    }
}

impl std::ops::Div<f32> for Portable {
    type Output = Portable;
    #[inline(always)]
    fn div(self, k: f32) -> Portable {
        Portable(self.0.map(|a| a / k))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::F32x8;
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// One AVX2 register. Only created inside functions compiled with AVX2 enabled, on CPUs
    /// that have it (`lanes_variant!` checks).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(__m256);

    /// Debug builds check, in every constructor (all other methods take an `Avx2` already
    /// made), that the CPU has the features these intrinsics need.
    #[inline(always)]
    fn check_cpu() {
        debug_assert!(
            crate::cpu::conv::simd::has_avx2(),
            "Avx2 lanes used on a CPU without AVX2 + FMA (call through `lanes_variant!`)"
        );
    }

    // SAFETY (every method): `Avx2` values exist only in code that runs after the CPU was
    // found to support AVX2 (see the type's doc; `check_cpu` asserts it in debug builds);
    // loads and stores check their slice's length.
    impl F32x8 for Avx2 {
        #[inline(always)]
        fn zero() -> Self {
            check_cpu();
            Avx2(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            check_cpu();
            Avx2(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            check_cpu();
            let s = &s[..8];
            Avx2(unsafe { _mm256_loadu_ps(s.as_ptr()) })
        }
        #[inline(always)]
        fn store(self, s: &mut [f32]) {
            let s = &mut s[..8];
            unsafe { _mm256_storeu_ps(s.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn store_uninit(self, s: &mut [MaybeUninit<f32>]) {
            let s = &mut s[..8];
            // Writing through the raw pointer initialises the eight elements.
            unsafe { _mm256_storeu_ps(s.as_mut_ptr().cast::<f32>(), self.0) }
        }
        #[inline(always)]
        fn store_uninit_part(self, s: &mut [MaybeUninit<f32>]) {
            debug_assert!(s.len() < 8, "store_uninit_part takes fewer than 8 floats");
            let n = s.len().min(7);
            let p = s.as_mut_ptr().cast::<f32>();
            // SAFETY: every store below writes inside s[..n] (n < 8 floats).
            unsafe {
                let (mut cur, mut at) = (_mm256_castps256_ps128(self.0), 0);
                if n >= 4 {
                    _mm_storeu_ps(p, cur);
                    (cur, at) = (_mm256_extractf128_ps::<1>(self.0), 4);
                }
                if n - at >= 2 {
                    _mm_store_sd(p.add(at).cast(), _mm_castps_pd(cur));
                    (cur, at) = (_mm_movehl_ps(cur, cur), at + 2);
                }
                if n > at {
                    _mm_store_ss(p.add(at), cur);
                }
            }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn neg(self) -> Self {
            Avx2(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
        }
        #[inline(always)]
        fn mask(lo: isize, hi: isize) -> Self {
            check_cpu();
            unsafe {
                let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let lo = _mm256_set1_epi32(lo.clamp(-1, 8) as i32 - 1);
                let hi = _mm256_set1_epi32(hi.clamp(-1, 8) as i32);
                let m = _mm256_and_si256(_mm256_cmpgt_epi32(idx, lo), _mm256_cmpgt_epi32(hi, idx));
                Avx2(_mm256_castsi256_ps(m))
            }
        }
        #[inline(always)]
        fn and(self, m: Self) -> Self {
            Avx2(unsafe { _mm256_and_ps(self.0, m.0) })
        }
        #[inline(always)]
        fn split(a: Self, b: Self) -> (Self, Self) {
            unsafe {
                // Per 128-bit half: [a0 a2 b0 b2 | a4 a6 b4 b6]; then 64-bit pairs 0, 2, 1, 3.
                let e = _mm256_shuffle_ps::<0b10_00_10_00>(a.0, b.0);
                let o = _mm256_shuffle_ps::<0b11_01_11_01>(a.0, b.0);
                let e = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(e));
                let o = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(o));
                (Avx2(_mm256_castpd_ps(e)), Avx2(_mm256_castpd_ps(o)))
            }
        }
        #[inline(always)]
        fn zip(a: Self, b: Self) -> (Self, Self) {
            unsafe {
                let lo = _mm256_unpacklo_ps(a.0, b.0);
                let hi = _mm256_unpackhi_ps(a.0, b.0);
                (
                    Avx2(_mm256_permute2f128_ps::<0x20>(lo, hi)),
                    Avx2(_mm256_permute2f128_ps::<0x31>(lo, hi)),
                )
            }
        }
        #[inline(always)]
        fn halves(a: Self, b: Self) -> (Self, Self) {
            unsafe {
                (
                    Avx2(_mm256_permute2f128_ps::<0x20>(a.0, b.0)),
                    Avx2(_mm256_permute2f128_ps::<0x31>(a.0, b.0)),
                )
            }
        }
        #[inline(always)]
        fn transpose4(r: [Self; 4]) -> [Self; 4] {
            // _MM_TRANSPOSE4_PS, whose unpack and shuffle steps stay inside each 128-bit half.
            unsafe {
                let t0 = _mm256_unpacklo_ps(r[0].0, r[1].0);
                let t1 = _mm256_unpackhi_ps(r[0].0, r[1].0);
                let t2 = _mm256_unpacklo_ps(r[2].0, r[3].0);
                let t3 = _mm256_unpackhi_ps(r[2].0, r[3].0);
                [
                    Avx2(_mm256_shuffle_ps::<0b01_00_01_00>(t0, t2)),
                    Avx2(_mm256_shuffle_ps::<0b11_10_11_10>(t0, t2)),
                    Avx2(_mm256_shuffle_ps::<0b01_00_01_00>(t1, t3)),
                    Avx2(_mm256_shuffle_ps::<0b11_10_11_10>(t1, t3)),
                ]
            }
        }
    }
}

/// `lanes_variant!(fn name => body(arg: Type, ...));` defines `fn name(arg: Type, ...)` that
/// runs `body::<Avx2>` compiled with AVX2 + FMA where the CPU has them, else
/// `body::<Portable>`.
macro_rules! lanes_variant {
    ($(#[$m:meta])* $vis:vis fn $name:ident => $body:ident ($($arg:ident : $ty:ty),* $(,)?)) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn fast($($arg: $ty),*) {
                    $body::<$crate::cpu::conv::lanes::Avx2>($($arg),*)
                }
                if $crate::cpu::conv::simd::has_avx2() {
                    // SAFETY: the CPU supports the features `fast` is compiled for.
                    return unsafe { fast($($arg),*) };
                }
            }
            $body::<$crate::cpu::conv::lanes::Portable>($($arg),*)
        }
    };
}
pub(crate) use lanes_variant;

#[cfg(test)]
mod tests {
    use super::{window16, F32x8, Portable, Window};

    fn get(v: Portable) -> [f32; 8] {
        v.0
    }

    #[test]
    fn portable_and_avx2_lanes_agree() {
        let x: Vec<f32> = (0..40).map(|i| i as f32 * 1.5 - 7.0).collect();
        let a = Portable::load(&x[3..]);
        let b = Portable::load(&x[11..]);
        let (e, o) = Portable::split(a, b);
        assert_eq!(get(e), std::array::from_fn(|k| x[3 + 2 * k]));
        assert_eq!(get(o), std::array::from_fn(|k| x[4 + 2 * k]));
        let (l, h) = Portable::zip(e, o);
        assert_eq!(get(l), get(a));
        assert_eq!(get(h), get(b));
        let (l, h) = Portable::halves(a, b);
        assert_eq!(
            get(l),
            std::array::from_fn(|k| x[if k < 4 { 3 + k } else { 7 + k }])
        );
        assert_eq!(
            get(h),
            std::array::from_fn(|k| x[if k < 4 { 7 + k } else { 11 + k }])
        );
        let r: [Portable; 4] = std::array::from_fn(|j| Portable::load(&x[8 * j..]));
        let t = Portable::transpose4(r);
        for (k, tk) in t.iter().enumerate() {
            for l in 0..8 {
                // Lane l of result k: lane (l / 4) * 4 + k of row l % 4.
                assert_eq!(
                    get(*tk)[l],
                    x[8 * (l % 4) + (l / 4) * 4 + k],
                    "transpose {k} {l}"
                );
            }
        }
        for (start, lo, hi) in [
            (-3isize, 3usize, 16usize),
            (5, 0, 9),
            (30, 0, 10),
            (2, 4, 4),
        ] {
            let (p, q) = window16::<Portable>(&x, start, &Window::new(lo, hi));
            for i in 0..16 {
                let want = if i >= lo && i < hi {
                    x[(start + i as isize) as usize]
                } else {
                    0.0
                };
                let got = if i < 8 { get(p)[i] } else { get(q)[i - 8] };
                assert_eq!(got.to_bits(), want.to_bits(), "window {start} lane {i}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::conv::simd::has_avx2() {
            // SAFETY: the CPU has AVX2.
            unsafe { avx2_agrees(&x) };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2_agrees(x: &[f32]) {
        use super::Avx2;
        use std::mem::MaybeUninit;
        let bits = |v: Avx2| {
            let mut s = [0.0f32; 8];
            v.store(&mut s);
            s.map(f32::to_bits)
        };
        let pbits = |v: Portable| v.0.map(f32::to_bits);
        let (pa, pb) = (Portable::load(&x[1..]), Portable::load(&x[20..]));
        let (aa, ab) = (Avx2::load(&x[1..]), Avx2::load(&x[20..]));
        let (pe, po) = Portable::split(pa, pb);
        let (ae, ao) = Avx2::split(aa, ab);
        assert_eq!(bits(ae), pbits(pe));
        assert_eq!(bits(ao), pbits(po));
        let (pl, ph) = Portable::zip(pa, pb);
        let (al, ah) = Avx2::zip(aa, ab);
        assert_eq!(bits(al), pbits(pl));
        assert_eq!(bits(ah), pbits(ph));
        for n in 0..8 {
            let mut got = [MaybeUninit::new(f32::NAN); 8];
            let mut want = [MaybeUninit::new(f32::NAN); 8];
            aa.store_uninit_part(&mut got[..n]);
            pa.store_uninit_part(&mut want[..n]);
            let read = |v: [MaybeUninit<f32>; 8]| v.map(|e| unsafe { e.assume_init() }.to_bits());
            assert_eq!(read(got), read(want), "first {n}");
            assert_eq!(read(want)[..n], pbits(pa)[..n], "first {n}");
        }
        let (pl, ph) = Portable::halves(pa, pb);
        let (al, ah) = Avx2::halves(aa, ab);
        assert_eq!(bits(al), pbits(pl));
        assert_eq!(bits(ah), pbits(ph));
        let pr: [Portable; 4] = std::array::from_fn(|j| Portable::load(&x[5 * j..]));
        let ar: [Avx2; 4] = std::array::from_fn(|j| Avx2::load(&x[5 * j..]));
        for (a, p) in Avx2::transpose4(ar)
            .into_iter()
            .zip(Portable::transpose4(pr))
        {
            assert_eq!(bits(a), pbits(p));
        }
        assert_eq!(bits(aa.sub(ab).neg()), pbits(pa.sub(pb).neg()));
        assert_eq!(bits(aa.mul(ab)), pbits(pa.mul(pb)));
        assert_eq!(bits(Avx2::zero().neg()), pbits(Portable::zero().neg()));
        for (lo, hi) in [(-9, 20), (3, 6), (0, 0), (7, 8), (-2, 1), (9, 12)] {
            let (am, pm) = (Avx2::mask(lo, hi), Portable::mask(lo, hi));
            assert_eq!(bits(aa.and(am)), pbits(pa.and(pm)), "mask {lo} {hi}");
        }
    }
}
