//! Recurrent layers on raw slices: the fused per-time-step cell kernels (gate nonlinearities
//! and state updates of Elman RNN (tanh/relu), LSTM and GRU, forward and backward) and the
//! drivers that run a whole sequence with GEMMs around them.
//!
//! Layouts follow PyTorch: weights are (gates * hidden, in) row-major with gates stacked in
//! PyTorch's order (LSTM i, f, g, o; GRU r, z, n), sequences are time-major (T, N, features).
//! Work is split over batch rows (each output element is written by exactly one task; a
//! sequence's recurrence runs per group of rows, see `blocks`), so results are bitwise
//! identical for any thread count.

pub mod act;
pub mod blocks;
pub mod cells;
pub mod cells_backward;
pub mod recurrence;
pub mod scratch;
pub mod sequence;
pub mod stacked;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

pub use sequence::{backward, forward, Grads, Needs, Problem, Saved};

/// Which recurrence a layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    RnnTanh,
    /// h' = relu(W_ih x + b_ih + W_hh h + b_hh)
    RnnRelu,
    /// Gates i, f, g, o; c' = f*c + i*g, h' = o*tanh(c').
    Lstm,
    /// Gates r, z, n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h.
    Gru,
}

impl Mode {
    /// Gate blocks stacked in the weights: the weights have `gates() * hidden` rows.
    pub fn gates(self) -> usize {
        match self {
            Mode::RnnTanh | Mode::RnnRelu => 1,
            Mode::Lstm => 4,
            Mode::Gru => 3,
        }
    }

    /// PyTorch's name for the mode (`RNN_TANH`, `LSTM`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Mode::RnnTanh => "RNN_TANH",
            Mode::RnnRelu => "RNN_RELU",
            Mode::Lstm => "LSTM",
            Mode::Gru => "GRU",
        }
    }
}

/// Hidden-state elements below which a cell kernel stays on one thread: a step of a small
/// batch is a few microseconds of work, less than handing it to another thread costs.
pub const CELL_GRAIN: usize = 1 << 12;

/// Batch rows each task of a cell kernel takes, for `batch` rows of `hidden` elements; equal
/// to `batch` (one task) when the step is too small to split.
pub fn rows_per_task(batch: usize, hidden: usize) -> usize {
    let work = batch * hidden;
    if work < 2 * CELL_GRAIN || batch < 2 {
        return batch.max(1);
    }
    CELL_GRAIN.div_ceil(hidden.max(1)).clamp(1, batch)
}

/// Lanes a cell kernel computes together: rows are cut into blocks of this many elements held
/// in fixed-size arrays, which LLVM turns into straight vector code (one or two registers
/// wide). A plain indexed loop over several slices of one row does not vectorise reliably: the
/// slices come from splitting one buffer, so LLVM cannot prove they don't alias.
pub const LANES: usize = 8;

/// Lanes of the LSTM's forward cell: its blocks are long exp/divide chains, and two vectors'
/// worth of independent chains per block keep both FP pipes busier (its cells measured ~10%
/// faster than with LANES on Zen 3); the GRU's and the backward cells measured no better.
pub const LSTM_LANES: usize = 16;

/// Calls `$block(&in_0, .., &mut out_0, ..)` on every LANES-wide (or `$w`-wide) block of
/// equally long slices (`$in` read, `$out` read and written); a final partial block goes
/// through zero-padded copies, so each element is computed by the same code whatever its
/// position.
macro_rules! for_blocks {
    ($block:ident, [$($in:ident),*], [$($out:ident),*]) => {
        $crate::cpu::rnn::for_blocks!(
            $crate::cpu::rnn::LANES; $block, [$($in),*], [$($out),*]
        )
    };
    ($w:expr; $block:ident, [$($in:ident),*], [$($out:ident),*]) => {{
        const W: usize = $w;
        let len = [$($in.len(),)* $($out.len(),)*][0];
        debug_assert!([$($in.len(),)* $($out.len(),)*].iter().all(|&l| l == len));
        let full = len - len % W;
        {
            $(let $in = $in[..full].as_chunks::<W>().0;)*
            $(let $out = $out[..full].as_chunks_mut::<W>().0;)*
            for k in 0..full / W {
                $block($(&$in[k],)* $(&mut $out[k],)*);
            }
        }
        if full < len {
            let rest = len - full;
            $(let $in = {
                let mut a = [0.0f32; W];
                a[..rest].copy_from_slice(&$in[full..]);
                a
            };)*
            let mut tail = [$({
                let mut a = [0.0f32; W];
                a[..rest].copy_from_slice(&$out[full..]);
                a
            },)*];
            {
                let [$($out,)*] = &mut tail;
                $block($(&$in,)* $($out,)*);
            }
            let mut k = 0;
            $(
                $out[full..].copy_from_slice(&tail[k][..rest]);
                k += 1;
            )*
            let _ = k;
        }
    }};
}
pub(crate) use for_blocks;

/// Defines a kernel whose body is compiled three times (AVX-512, AVX2, baseline) and picked at
/// run time, so the activation arithmetic inlined into it vectorises as wide as the CPU allows.
/// The three builds do the same IEEE operations in the same order (Rust never contracts a*b+c
/// into an FMA, and an explicit `mul_add` rounds once in every build, in hardware or in
/// libm's `fmaf` on the baseline one), so they give bitwise identical results.
macro_rules! simd_kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($a: $t),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($a: $t),*) { body($($a),*) }
                // AVX2, not just AVX: the exponent bit tricks need 256-bit integer lanes; FMA
                // for the `act::*_fma` functions (on every AVX2 CPU but a few VIA ones).
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($a: $t),*) { body($($a),*) }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the feature this build was compiled for.
                    return unsafe { avx512($($a),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { avx2($($a),*) };
                }
            }
            body($($a),*)
        }
    };
}
pub(crate) use simd_kernel;
