//! Naive references for the tests: direct loops over the definitions, accumulating in f64, plus
//! a small deterministic random generator and a tolerance check with a stated error bound.

use crate::cpu::conv::{AdaptivePool2dGeom, Conv2dGeom, Pool2dGeom};

/// xorshift64*: deterministic test data without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // Uniform in [-1, 1).
        ((r >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next_f32()).collect()
    }
}

/// Input coordinate read by output coordinate `o` and kernel tap `k`, or None in the padding.
fn src(o: usize, k: usize, stride: usize, pad: usize, dil: usize, len: usize) -> Option<usize> {
    let v = (o * stride + k * dil) as isize - pad as isize;
    (v >= 0 && (v as usize) < len).then_some(v as usize)
}

/// Calls `f(out_index, input_index, weight_index)` for every multiply of the convolution.
fn for_each_tap(g: &Conv2dGeom, mut f: impl FnMut(usize, usize, usize)) {
    let (cig, cog) = (g.c_in_g(), g.c_out_g());
    for n in 0..g.batch {
        for co in 0..g.c_out {
            let grp = co / cog;
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let o = ((n * g.c_out + co) * g.out_h + oy) * g.out_w + ox;
                    for ci in 0..cig {
                        for ky in 0..g.kh {
                            let Some(y) = src(oy, ky, g.stride_h, g.pad_h, g.dil_h, g.h) else {
                                continue;
                            };
                            for kx in 0..g.kw {
                                let Some(x) = src(ox, kx, g.stride_w, g.pad_w, g.dil_w, g.w) else {
                                    continue;
                                };
                                let c = grp * cig + ci;
                                let i = ((n * g.c_in + c) * g.h + y) * g.w + x;
                                let wi = ((co * cig + ci) * g.kh + ky) * g.kw + kx;
                                f(o, i, wi);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A reference value and the sum of the absolute values of the terms that made it (the scale
/// of its rounding error).
pub struct Ref {
    pub val: Vec<f64>,
    pub abs: Vec<f64>,
}

impl Ref {
    fn zeros(len: usize) -> Self {
        Ref {
            val: vec![0.0; len],
            abs: vec![0.0; len],
        }
    }
    fn add(&mut self, i: usize, v: f64) {
        self.val[i] += v;
        self.abs[i] += v.abs();
    }
}

pub fn conv_forward_ref(g: &Conv2dGeom, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Ref {
    let mut r = Ref::zeros(g.output_len());
    for_each_tap(g, |o, i, wi| r.add(o, x[i] as f64 * w[wi] as f64));
    if let Some(b) = b {
        let p = g.out_plane();
        for o in 0..g.output_len() {
            r.add(o, b[(o / p) % g.c_out] as f64);
        }
    }
    r
}

/// (grad_input, grad_weight, grad_bias) by the chain rule applied tap by tap.
pub fn conv_backward_ref(g: &Conv2dGeom, x: &[f32], w: &[f32], go: &[f32]) -> (Ref, Ref, Ref) {
    let mut gi = Ref::zeros(g.input_len());
    let mut gw = Ref::zeros(g.weight_len());
    let mut gb = Ref::zeros(g.c_out);
    for_each_tap(g, |o, i, wi| {
        gi.add(i, w[wi] as f64 * go[o] as f64);
        gw.add(wi, x[i] as f64 * go[o] as f64);
    });
    let p = g.out_plane();
    for (o, &v) in go.iter().enumerate() {
        gb.add((o / p) % g.c_out, v as f64);
    }
    (gi, gw, gb)
}

/// Asserts `got` matches the reference within the classic bound for a sum of `terms` products
/// in f32, `terms * u * sum|terms|` with `u = 2^-24`, plus one rounding of the value itself.
pub fn assert_close(what: &str, got: &[f32], want: &Ref, terms: usize) {
    assert_eq!(got.len(), want.val.len(), "{what}: length");
    let u = f32::EPSILON as f64 / 2.0;
    for (i, (&g, (&v, &a))) in got.iter().zip(want.val.iter().zip(&want.abs)).enumerate() {
        let tol = (terms as f64 + 1.0) * u * a + u * v.abs() + 1e-30;
        assert!(
            ((g as f64) - v).abs() <= tol,
            "{what}[{i}]: got {g}, want {v} (tolerance {tol:e})"
        );
    }
}

/// Max pooling on a plane padded with -inf, scanning windows in row-major order (first max
/// wins): returns outputs and flat arg-max indices into the unpadded plane.
pub fn max_pool_ref(g: &Pool2dGeom, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (hp, wp) = (g.h + 2 * g.pad_h, g.w + 2 * g.pad_w);
    let mut out = Vec::new();
    let mut idx = Vec::new();
    for plane in x.chunks(g.in_plane()) {
        let mut padded = vec![f32::NEG_INFINITY; hp * wp];
        for y in 0..g.h {
            for xx in 0..g.w {
                padded[(y + g.pad_h) * wp + xx + g.pad_w] = plane[y * g.w + xx];
            }
        }
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let mut best = (f32::NEG_INFINITY, usize::MAX);
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let (py, px) = (oy * g.stride_h + ky, ox * g.stride_w + kx);
                        let inside = (g.pad_h..g.pad_h + g.h).contains(&py)
                            && (g.pad_w..g.pad_w + g.w).contains(&px);
                        if !inside {
                            continue; // -inf padding never wins over a real element
                        }
                        let v = padded[py * wp + px];
                        if best.1 == usize::MAX || v > best.0 {
                            best = (v, (py - g.pad_h) * g.w + (px - g.pad_w));
                        }
                    }
                }
                out.push(best.0);
                idx.push(best.1 as u32);
            }
        }
    }
    (out, idx)
}

/// Average pooling by padding with zeros; the divisor is `kh * kw` or the count of real inputs.
pub fn avg_pool_ref(g: &Pool2dGeom, include_pad: bool, x: &[f32]) -> Vec<f64> {
    let mut out = Vec::new();
    for plane in x.chunks(g.in_plane()) {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let (mut s, mut cnt) = (0.0f64, 0usize);
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let y = (oy * g.stride_h + ky) as isize - g.pad_h as isize;
                        let xx = (ox * g.stride_w + kx) as isize - g.pad_w as isize;
                        if y >= 0 && xx >= 0 && (y as usize) < g.h && (xx as usize) < g.w {
                            s += plane[y as usize * g.w + xx as usize] as f64;
                            cnt += 1;
                        }
                    }
                }
                out.push(
                    s / if include_pad {
                        (g.kh * g.kw) as f64
                    } else {
                        cnt as f64
                    },
                );
            }
        }
    }
    out
}

/// Gradient of `avg_pool_ref`: each output's gradient spread evenly over its window.
pub fn avg_pool_backward_ref(g: &Pool2dGeom, include_pad: bool, go: &[f32]) -> Vec<f64> {
    let mut gi = vec![0.0f64; g.input_len()];
    for (pl, gop) in go.chunks(g.out_plane()).enumerate() {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let mut cells = Vec::new();
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let y = (oy * g.stride_h + ky) as isize - g.pad_h as isize;
                        let xx = (ox * g.stride_w + kx) as isize - g.pad_w as isize;
                        if y >= 0 && xx >= 0 && (y as usize) < g.h && (xx as usize) < g.w {
                            cells.push(y as usize * g.w + xx as usize);
                        }
                    }
                }
                let div = if include_pad {
                    (g.kh * g.kw) as f64
                } else {
                    cells.len() as f64
                };
                for c in cells {
                    gi[pl * g.in_plane() + c] += gop[oy * g.out_w + ox] as f64 / div;
                }
            }
        }
    }
    gi
}

/// PyTorch's adaptive window along one axis, written from its definition with floats.
fn adaptive_range(i: usize, out: usize, len: usize) -> (usize, usize) {
    let start = ((i * len) as f64 / out as f64).floor() as usize;
    let end = (((i + 1) * len) as f64 / out as f64).ceil() as usize;
    (start, end)
}

/// (forward output, backward grad_input) of adaptive average pooling.
pub fn adaptive_ref(g: &AdaptivePool2dGeom, x: &[f32], go: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let mut out = Vec::new();
    let mut gi = vec![0.0f64; g.input_len()];
    for pl in 0..g.planes() {
        for oy in 0..g.out_h {
            let (y0, y1) = adaptive_range(oy, g.out_h, g.h);
            for ox in 0..g.out_w {
                let (x0, x1) = adaptive_range(ox, g.out_w, g.w);
                let cnt = ((y1 - y0) * (x1 - x0)) as f64;
                let mut s = 0.0;
                for y in y0..y1 {
                    for xx in x0..x1 {
                        let i = pl * g.in_plane() + y * g.w + xx;
                        s += x[i] as f64;
                        gi[i] += go[pl * g.out_plane() + oy * g.out_w + ox] as f64 / cnt;
                    }
                }
                out.push(s / cnt);
            }
        }
    }
    (out, gi)
}

/// Asserts f32 results against f64 references of sums of at most `terms` elements.
pub fn assert_close_plain(what: &str, got: &[f32], want: &[f64], scale: f64, terms: usize) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let u = f32::EPSILON as f64 / 2.0;
    for (i, (&g, &v)) in got.iter().zip(want).enumerate() {
        let tol = (terms as f64 + 2.0) * u * scale.max(v.abs());
        assert!(
            ((g as f64) - v).abs() <= tol,
            "{what}[{i}]: got {g}, want {v} (tolerance {tol:e})"
        );
    }
}
