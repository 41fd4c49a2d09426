//! Reductions on the GPU over the middle axis of a contiguous tensor seen as [outer, r, inner]
//! (the form `crate::ops::reduce` brings every reduction to): sum, max, min, argmax, argmin.
//! Long rows (inner == 1) get a block each; otherwise one thread per output walks r in order.

use super::launch;
use crate::cuda::common::ReduceKind;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{alloc, gpu_of, wrap, zeros, CudaStorage, Reads};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

/// Reduces `x` (contiguous float32, `outer * r * inner` elements) into a tensor of `shape`
/// (`outer * inner` elements): float32, or int64 indices for ArgMax/ArgMin.
pub fn reduce(
    x: &Tensor,
    (outer, r, inner): (usize, usize, usize),
    kind: ReduceKind,
    shape: &[usize],
) -> Result<Tensor> {
    if x.dtype() != DType::F32 || !x.is_contiguous() {
        bail!(
            Runtime,
            "internal: CUDA reductions take contiguous float32 input"
        );
    }
    let g = gpu_of(x)?;
    let nout = outer * inner;
    let (off, o64, r64, i64_) = (
        x.layout().offset as i64,
        outer as i64,
        r as i64,
        inner as i64,
    );
    let rd = Reads::new(&[x]);
    let arg = matches!(kind, ReduceKind::ArgMax | ReduceKind::ArgMin);
    if nout == 0 || (r == 0 && !arg) {
        // Nothing to reduce into, or sums over nothing (zeros); max/min/arg of nothing are
        // refused by the caller.
        let s = if arg {
            CudaStorage::I64(zeros(&g, nout)?)
        } else {
            CudaStorage::F32(zeros(&g, nout)?)
        };
        return Ok(wrap(s, shape));
    }
    let rows = cfg::use_rows(r, inner);
    if arg {
        let largest = (kind == ReduceKind::ArgMax) as i32;
        let mut out = alloc::<i64>(&g, nout)?;
        if rows {
            launch!(
                g,
                Reduce,
                "argext_rows",
                cfg::rows(outer),
                [rd.f32(0)?, &off, &mut out, &o64, &r64, &largest]
            )?;
        } else {
            launch!(
                g,
                Reduce,
                "argext_cols",
                cfg::elems(nout),
                [rd.f32(0)?, &off, &mut out, &o64, &r64, &i64_, &largest]
            )?;
        }
        return Ok(wrap(CudaStorage::I64(out), shape));
    }
    let code: i32 = match kind {
        ReduceKind::Sum => 0,
        ReduceKind::Max => 1,
        _ => 2,
    };
    let mut out = alloc::<f32>(&g, nout)?;
    if rows {
        launch!(
            g,
            Reduce,
            "reduce_rows_f32",
            cfg::rows(outer),
            [rd.f32(0)?, &off, &mut out, &o64, &r64, &code]
        )?;
    } else {
        launch!(
            g,
            Reduce,
            "reduce_cols_f32",
            cfg::elems(nout),
            [rd.f32(0)?, &off, &mut out, &o64, &r64, &i64_, &code]
        )?;
    }
    Ok(wrap(CudaStorage::F32(out), shape))
}
