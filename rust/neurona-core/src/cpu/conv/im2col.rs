//! im2col and col2im on column tiles: the bridge that turns a convolution into GEMMs.
//!
//! For one group of one sample, the im2col matrix has `K = C_in/groups * KH * KW` rows (row
//! `(ci * KH + ky) * KW + kx`) and one column per output position `p = oy * out_w + ox`. The full
//! matrix of a wide layer is several MiB, so the kernels only ever build a tile of `ncols`
//! consecutive columns starting at `p0`, sized to stay in L2 next to the GEMM's packed panels.

use super::params::Conv2dGeom;

/// Columns per tile: about `TILE_FLOATS` floats of im2col data (128 KiB), at least one vector
/// row of columns, never more than the output plane.
const TILE_FLOATS: usize = 32 * 1024;

pub(crate) fn tile_cols(g: &Conv2dGeom) -> usize {
    let p = g.out_plane();
    let t = (TILE_FLOATS / g.k_len().max(1)).max(16) / 8 * 8;
    t.min(p)
}

/// True when the im2col matrix of a group is its input planes themselves (1x1 kernel, stride 1,
/// no padding), so the kernels skip the copy and hand the input to the GEMM directly.
pub(crate) fn is_pointwise(g: &Conv2dGeom) -> bool {
    g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0
}

/// The output columns `[lo, hi)` whose input column `ox * stride - pad + kx * dil` lies inside
/// `[0, w)`; the rest of a row reads padding.
fn valid_ox(g: &Conv2dGeom, kx: usize) -> (usize, usize) {
    let off = kx * g.dil_w; // input x = ox * s + off - pad
    let lo = if off >= g.pad_w {
        0
    } else {
        (g.pad_w - off).div_ceil(g.stride_w)
    };
    // x < w  <=>  ox * s < w + pad - off
    let lim = g.w + g.pad_w;
    let hi = if lim <= off {
        0
    } else {
        (lim - off - 1) / g.stride_w + 1
    };
    (lo.min(g.out_w), hi.min(g.out_w).max(lo.min(g.out_w)))
}

/// The input row read by output row `oy` for kernel row `ky`, or `None` inside the padding.
#[inline]
fn input_row(g: &Conv2dGeom, oy: usize, ky: usize) -> Option<usize> {
    let y = oy * g.stride_h + ky * g.dil_h;
    if y < g.pad_h || y - g.pad_h >= g.h {
        None
    } else {
        Some(y - g.pad_h)
    }
}

/// Walks the output positions `p0 .. p0 + ncols` one output row at a time, calling
/// `f(j, oy, ox0, run)` for the run of `run` columns of row `oy` starting at column `ox0`, stored
/// at tile column `j`.
#[inline]
fn for_each_row_run(
    g: &Conv2dGeom,
    p0: usize,
    ncols: usize,
    mut f: impl FnMut(usize, usize, usize, usize),
) {
    let mut j = 0;
    while j < ncols {
        let p = p0 + j;
        let (oy, ox0) = (p / g.out_w, p % g.out_w);
        let run = (g.out_w - ox0).min(ncols - j);
        f(j, oy, ox0, run);
        j += run;
    }
}

/// Fills `cols` (`K x ncols`, row-major) with the im2col columns `p0 .. p0 + ncols` of one group;
/// `x` holds that group's `C_in/groups` input planes of one sample.
pub(crate) fn im2col_tile(g: &Conv2dGeom, x: &[f32], p0: usize, ncols: usize, cols: &mut [f32]) {
    let plane = g.in_plane();
    assert!(x.len() >= g.c_in_g() * plane && cols.len() >= g.k_len() * ncols);
    let (sw, w) = (g.stride_w, g.w);
    let mut rows = cols.chunks_exact_mut(ncols);
    for ci in 0..g.c_in_g() {
        let xp = &x[ci * plane..(ci + 1) * plane];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = rows.next().expect("cols holds K rows");
                let (lo, hi) = valid_ox(g, kx);
                let off = kx * g.dil_w;
                for_each_row_run(g, p0, ncols, |j, oy, ox0, run| {
                    let seg = &mut row[j..j + run];
                    let Some(y) = input_row(g, oy, ky) else {
                        seg.fill(0.0);
                        return;
                    };
                    let xr = &xp[y * w..(y + 1) * w];
                    let a = lo.clamp(ox0, ox0 + run);
                    let b = hi.clamp(a, ox0 + run);
                    seg[..a - ox0].fill(0.0);
                    seg[b - ox0..].fill(0.0);
                    let dst = &mut seg[a - ox0..b - ox0];
                    if a < b {
                        let x0 = a * sw + off - g.pad_w;
                        if sw == 1 {
                            dst.copy_from_slice(&xr[x0..x0 + (b - a)]);
                        } else {
                            for (d, s) in dst.iter_mut().zip(xr[x0..].iter().step_by(sw)) {
                                *d = *s;
                            }
                        }
                    }
                });
            }
        }
    }
}

/// The adjoint of `im2col_tile`: adds each entry of `cols` (`K x ncols`) into the input position
/// it was copied from, in `gx` (one group's input-gradient planes of one sample). Entries that
/// came from padding are dropped.
pub(crate) fn col2im_tile_add(
    g: &Conv2dGeom,
    cols: &[f32],
    p0: usize,
    ncols: usize,
    gx: &mut [f32],
) {
    let plane = g.in_plane();
    assert!(gx.len() >= g.c_in_g() * plane && cols.len() >= g.k_len() * ncols);
    let (sw, w) = (g.stride_w, g.w);
    let mut rows = cols.chunks_exact(ncols);
    for ci in 0..g.c_in_g() {
        let gp = &mut gx[ci * plane..(ci + 1) * plane];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = rows.next().expect("cols holds K rows");
                let (lo, hi) = valid_ox(g, kx);
                let off = kx * g.dil_w;
                for_each_row_run(g, p0, ncols, |j, oy, ox0, run| {
                    let Some(y) = input_row(g, oy, ky) else {
                        return;
                    };
                    let a = lo.clamp(ox0, ox0 + run);
                    let b = hi.clamp(a, ox0 + run);
                    if a >= b {
                        return;
                    }
                    let src = &row[j + a - ox0..j + b - ox0];
                    let gr = &mut gp[y * w..(y + 1) * w];
                    let x0 = a * sw + off - g.pad_w;
                    if sw == 1 {
                        for (d, s) in gr[x0..x0 + (b - a)].iter_mut().zip(src) {
                            *d += *s;
                        }
                    } else {
                        for (d, s) in gr[x0..].iter_mut().step_by(sw).zip(src) {
                            *d += *s;
                        }
                    }
                });
            }
        }
    }
}
