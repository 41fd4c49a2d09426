//! Shapes and hyper-parameters of conv2d and the poolings, and the one place that validates them.
//!
//! A `*Geom` value can only be built by its `new`, which checks the user's shapes and returns
//! `Error::Value` naming what was expected and what was given. The kernels take a `&*Geom` and
//! may then assume a consistent problem; they only `assert!` slice lengths.

use crate::bail;
use crate::error::Result;

/// Stride, padding, dilation and groups of a 2-D convolution (PyTorch's `Conv2d` arguments).
/// Padding is symmetric: `pad_h` rows of zeros above and below, `pad_w` columns left and right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// A validated conv2d problem: input `[batch, c_in, h, w]`, weight `[c_out, c_in / groups, kh,
/// kw]`, output `[batch, c_out, out_h, out_w]`, all NCHW and contiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
    pub dil_h: usize,
    pub dil_w: usize,
    pub groups: usize,
    pub out_h: usize,
    pub out_w: usize,
}

/// The padding that keeps the spatial size for a stride-1 convolution (PyTorch's
/// `padding='same'`), i.e. `dilation * (kernel - 1) / 2`.
///
/// Errors when `stride != 1` (as in PyTorch, 'same' is undefined for strided convolutions) or
/// when the total padding `dilation * (kernel - 1)` is odd, which would need one more row on one
/// side than the other: that asymmetric padding is not supported by these kernels.
pub fn same_padding(kernel: usize, dilation: usize, stride: usize) -> Result<usize> {
    if kernel == 0 || dilation == 0 {
        bail!(Value, "padding='same' needs kernel >= 1 and dilation >= 1, got kernel={kernel}, dilation={dilation}");
    }
    if stride != 1 {
        bail!(
            Value,
            "padding='same' is only supported for stride 1, got stride={stride}"
        );
    }
    let total = dilation * (kernel - 1);
    if !total.is_multiple_of(2) {
        bail!(
            Value,
            "padding='same' with kernel={kernel}, dilation={dilation} needs asymmetric padding \
             (total {total}), which is not supported; use an odd kernel or pad explicitly"
        );
    }
    Ok(total / 2)
}

/// Output length of one spatial axis; `None` when the (dilated) kernel does not fit.
fn out_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    let padded = input + 2 * pad;
    if span > padded {
        None
    } else {
        Some((padded - span) / stride + 1)
    }
}

fn check_positive(what: &str, pair: (usize, usize)) -> Result<()> {
    if pair.0 == 0 || pair.1 == 0 {
        bail!(
            Value,
            "{what} must be positive, got ({}, {})",
            pair.0,
            pair.1
        );
    }
    Ok(())
}

impl Conv2dGeom {
    /// Validates a conv2d call. `input` is `[N, C_in, H, W]`, `weight` is `[C_out, C_in/groups,
    /// KH, KW]`, `bias_len` is the bias length if there is a bias (it must be `C_out`).
    pub fn new(
        input: [usize; 4],
        weight: [usize; 4],
        bias_len: Option<usize>,
        p: Conv2dParams,
    ) -> Result<Self> {
        let [batch, c_in, h, w] = input;
        let [c_out, c_in_g, kh, kw] = weight;
        check_positive("conv2d stride", p.stride)?;
        check_positive("conv2d dilation", p.dilation)?;
        if p.groups == 0 {
            bail!(Value, "conv2d groups must be positive, got 0");
        }
        if c_in == 0 || h == 0 || w == 0 {
            bail!(
                Value,
                "conv2d input [N, C, H, W] needs C, H, W >= 1, got {input:?}"
            );
        }
        if c_out == 0 || kh == 0 || kw == 0 {
            bail!(Value, "conv2d weight [C_out, C_in/groups, KH, KW] needs C_out, KH, KW >= 1, got {weight:?}");
        }
        if c_in % p.groups != 0 {
            bail!(
                Value,
                "conv2d input channels {c_in} are not divisible by groups={}",
                p.groups
            );
        }
        if c_out % p.groups != 0 {
            bail!(
                Value,
                "conv2d output channels {c_out} (weight dim 0) are not divisible by groups={}",
                p.groups
            );
        }
        if c_in_g != c_in / p.groups {
            bail!(
                Value,
                "conv2d expected weight dim 1 to be C_in/groups = {}/{} = {}, got weight {weight:?} \
                 for input {input:?}",
                c_in,
                p.groups,
                c_in / p.groups
            );
        }
        if let Some(len) = bias_len {
            if len != c_out {
                bail!(
                    Value,
                    "conv2d expected bias of length C_out = {c_out}, got {len}"
                );
            }
        }
        let (sh, sw) = p.stride;
        let (ph, pw) = p.padding;
        let (dh, dw) = p.dilation;
        let (Some(out_h), Some(out_w)) = (out_len(h, kh, sh, ph, dh), out_len(w, kw, sw, pw, dw))
        else {
            bail!(
                Value,
                "conv2d kernel {kh}x{kw} (dilated to {}x{}) is larger than the padded input {}x{} \
                 (input {h}x{w}, padding ({ph}, {pw}))",
                dh * (kh - 1) + 1,
                dw * (kw - 1) + 1,
                h + 2 * ph,
                w + 2 * pw
            );
        };
        Ok(Conv2dGeom {
            batch,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride_h: sh,
            stride_w: sw,
            pad_h: ph,
            pad_w: pw,
            dil_h: dh,
            dil_w: dw,
            groups: p.groups,
            out_h,
            out_w,
        })
    }

    /// Input channels per group.
    pub fn c_in_g(&self) -> usize {
        self.c_in / self.groups
    }
    /// Output channels per group.
    pub fn c_out_g(&self) -> usize {
        self.c_out / self.groups
    }
    /// Rows of the im2col matrix of one group: `C_in/groups * KH * KW` (the GEMM's K).
    pub fn k_len(&self) -> usize {
        self.c_in_g() * self.kh * self.kw
    }
    /// Output positions per channel plane: `out_h * out_w`.
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }
    /// Input elements per channel plane: `h * w`.
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }
    pub fn input_len(&self) -> usize {
        self.batch * self.c_in * self.in_plane()
    }
    pub fn weight_len(&self) -> usize {
        self.c_out * self.k_len()
    }
    pub fn output_len(&self) -> usize {
        self.batch * self.c_out * self.out_plane()
    }
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.c_out, self.out_h, self.out_w]
    }
}

/// A validated max/avg pooling problem on `[batch, channels, h, w]` (NCHW), floor mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeom {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Pool2dGeom {
    /// Validates a pooling call: `kernel`, `stride` and `padding` are (rows, cols). As in
    /// PyTorch, padding may be at most half the kernel, so every window holds an input element.
    pub fn new(
        input: [usize; 4],
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        let [batch, channels, h, w] = input;
        check_positive("pool2d kernel_size", kernel)?;
        check_positive("pool2d stride", stride)?;
        if channels == 0 || h == 0 || w == 0 {
            bail!(
                Value,
                "pool2d input [N, C, H, W] needs C, H, W >= 1, got {input:?}"
            );
        }
        if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
            bail!(
                Value,
                "pool2d padding should be at most half of kernel_size, got padding ({}, {}) for \
                 kernel_size ({}, {})",
                padding.0,
                padding.1,
                kernel.0,
                kernel.1
            );
        }
        // Max-pool indices are u32 flat offsets into one input plane.
        if h.checked_mul(w).is_none_or(|p| p > u32::MAX as usize) {
            bail!(
                Value,
                "pool2d input plane {h}x{w} is too large (at most 2^32 elements)"
            );
        }
        let (Some(out_h), Some(out_w)) = (
            out_len(h, kernel.0, stride.0, padding.0, 1),
            out_len(w, kernel.1, stride.1, padding.1, 1),
        ) else {
            bail!(
                Value,
                "pool2d kernel_size ({}, {}) is larger than the padded input {}x{} (input {h}x{w}, \
                 padding ({}, {}))",
                kernel.0,
                kernel.1,
                h + 2 * padding.0,
                w + 2 * padding.1,
                padding.0,
                padding.1
            );
        };
        Ok(Pool2dGeom {
            batch,
            channels,
            h,
            w,
            kh: kernel.0,
            kw: kernel.1,
            stride_h: stride.0,
            stride_w: stride.1,
            pad_h: padding.0,
            pad_w: padding.1,
            out_h,
            out_w,
        })
    }

    pub fn planes(&self) -> usize {
        self.batch * self.channels
    }
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }
    pub fn input_len(&self) -> usize {
        self.planes() * self.in_plane()
    }
    pub fn output_len(&self) -> usize {
        self.planes() * self.out_plane()
    }
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out_h, self.out_w]
    }
}

/// A validated adaptive pooling problem: `[batch, channels, h, w]` to `[.., out_h, out_w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptivePool2dGeom {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl AdaptivePool2dGeom {
    pub fn new(input: [usize; 4], output_size: (usize, usize)) -> Result<Self> {
        let [batch, channels, h, w] = input;
        if channels == 0 || h == 0 || w == 0 {
            bail!(
                Value,
                "adaptive_avg_pool2d input [N, C, H, W] needs C, H, W >= 1, got {input:?}"
            );
        }
        check_positive("adaptive_avg_pool2d output_size", output_size)?;
        Ok(AdaptivePool2dGeom {
            batch,
            channels,
            h,
            w,
            out_h: output_size.0,
            out_w: output_size.1,
        })
    }

    pub fn planes(&self) -> usize {
        self.batch * self.channels
    }
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }
    pub fn input_len(&self) -> usize {
        self.planes() * self.in_plane()
    }
    pub fn output_len(&self) -> usize {
        self.planes() * self.out_plane()
    }
}
