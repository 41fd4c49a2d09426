//! Fused optimizer update kernels: one pass over a parameter, its gradient and its state per
//! step, in place, following PyTorch's published update rules (`torch/optim/*.py`, the
//! single-tensor path) operation for operation, so a neurona optimizer tracks a PyTorch one to
//! f32 rounding (not bit for bit: PyTorch's vectorized kernels fuse some steps with FMA).
//!
//! The API, one file per family:
//! - [`options`]: the typed options shared by every optimizer ([`Momentum`], [`WeightDecay`]).
//! - [`sgd`]: [`Sgd`] — `Sgd::step(t, param, grad, momentum_buffer)`.
//! - [`adagrad`]: [`Adagrad`] — `step(t, param, grad, state_sum)`.
//! - [`adadelta`]: [`Adadelta`] — `step(t, param, grad, AdadeltaState)`.
//! - [`rmsprop`]: [`RmsProp`] — `step(t, param, grad, RmsPropState)`.
//! - [`adam`]: [`Adam`] (and AdamW as `Adam::adamw()`) — `step(t, param, grad, AdamState)`.
//! - [`clip`]: gradient clipping on slices (`l2_norm_sq`, `max_abs`, `scale`, `clamp`).
//!
//! Conventions for every `step`: `t` is the 1-based step count *after* incrementing (PyTorch's
//! `state["step"]`), owned by the caller; hyperparameters are `f64` (Python floats) and every
//! derived scalar (bias corrections, decayed learning rates) is computed in `f64` and rounded to
//! `f32` once, as PyTorch does with Python-float hyperparameters. State buffers must be allocated
//! by the caller with the parameter's length and zero-filled (Adagrad: filled with
//! `initial_accumulator_value`). Each config has `validate()` returning a ValueError with
//! PyTorch's wording; `step` asserts only the slice-length preconditions.
//!
//! Threads: the updates are elementwise, so a parameter above [`PAR_MIN_LEN`] elements is cut
//! into chunks run with `rayon::join` in the caller's pool. Each element's arithmetic does not
//! depend on the cut, so results are bitwise identical for any thread count.

pub mod adadelta;
pub mod adagrad;
pub mod adam;
pub mod clip;
pub mod options;
pub mod rmsprop;
pub mod sgd;

#[cfg(test)]
mod testutil;

pub use adadelta::{Adadelta, AdadeltaState};
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamState};
pub use options::{Momentum, WeightDecay};
pub use rmsprop::{RmsProp, RmsPropState};
pub use sgd::Sgd;

/// Parameters shorter than this are updated on the calling thread: below it, waking other
/// threads costs more than the update. Measured (2-core AVX2 VM): Adam takes ~0.65 ns per
/// element on one thread and handing a call to the pool costs ~17 us, so halving the work
/// only wins clearly from ~100k elements (at 32k the split cost twice the CPU for no wall gain).
pub const PAR_MIN_LEN: usize = 1 << 17;

/// Whether a kernel over `len` elements splits across threads: only when large, and only
/// inside neurona's pool (outside it rayon would use its global pool and ignore
/// `set_num_threads`).
pub(crate) fn split_threads(len: usize) -> bool {
    len >= PAR_MIN_LEN && rayon::current_thread_index().is_some()
}

/// The size of the pieces a large parameter is cut into (a multiple of 64 for alignment).
const CHUNK: usize = 1 << 13;

/// A bundle of equally long slices that can be cut at the same index (param, grad, states).
pub(crate) trait Lanes: Sized + Send {
    fn cut(self, mid: usize) -> (Self, Self);
}

impl Lanes for &mut [f32] {
    fn cut(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

impl Lanes for &[f32] {
    fn cut(self, mid: usize) -> (Self, Self) {
        self.split_at(mid)
    }
}

impl<T: Lanes> Lanes for Option<T> {
    fn cut(self, mid: usize) -> (Self, Self) {
        match self {
            Some(t) => {
                let (a, b) = t.cut(mid);
                (Some(a), Some(b))
            }
            None => (None, None),
        }
    }
}

macro_rules! lanes_tuple {
    ($($name:ident),+) => {
        impl<$($name: Lanes),+> Lanes for ($($name,)+) {
            #[allow(non_snake_case)]
            fn cut(self, mid: usize) -> (Self, Self) {
                let ($($name,)+) = self;
                $(let $name = $name.cut(mid);)+
                (($($name.0,)+), ($($name.1,)+))
            }
        }
    };
}
lanes_tuple!(A, B);
lanes_tuple!(A, B, C);
lanes_tuple!(A, B, C, D);
lanes_tuple!(A, B, C, D, E);

/// An elementwise update over a bundle of lanes, implemented by each kernel's constants.
pub(crate) trait Update<L>: Sync {
    fn apply(&self, lanes: L);
}

/// Runs `k` over `lanes` (of length `len`), cut into chunks run in parallel when
/// [`split_threads`] says so. `k` must be elementwise for the result to be thread-count independent.
pub(crate) fn for_each_chunk<L: Lanes, K: Update<L>>(len: usize, lanes: L, k: &K) {
    if split_threads(len) {
        split(len, lanes, k);
    } else {
        call(lanes, k);
    }
}

fn split<L: Lanes, K: Update<L>>(len: usize, lanes: L, k: &K) {
    if len <= CHUNK {
        call(lanes, k);
        return;
    }
    let mid = (len / 2).next_multiple_of(64);
    let (a, b) = lanes.cut(mid);
    rayon::join(|| split(mid, a, k), || split(len - mid, b, k));
}

/// Calls `k.apply` (the loops vectorize with the baseline SSE2; an AVX2 copy dispatched here at
/// run time is the natural next step, left for when it can be measured on a quiet machine).
#[inline(always)]
fn call<L, K: Update<L>>(lanes: L, k: &K) {
    k.apply(lanes);
}

/// PyTorch's `lerp` (`aten/src/ATen/native/Lerp.h`): the form depends on the weight, so that
/// `lerp(a, b, 1) == b` exactly. Used where PyTorch's optimizers call `lerp_`.
#[inline(always)]
pub(crate) fn lerp(a: f32, b: f32, w: f32) -> f32 {
    if w.abs() < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * (1.0 - w)
    }
}
