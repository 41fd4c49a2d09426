//! cuBLAS sgemm for row-major data. cuBLAS is column-major, and a row-major matrix read as
//! column-major is its transpose, so C = A B (row-major) is computed as C^T = B^T A^T: the
//! operands swap places and each is passed "as stored" (N) when its rows are contiguous, or
//! transposed (T) when its columns are (a transposed view), so views need no copy.
//!
//! Math mode: full FP32 (CUBLAS_DEFAULT_MATH) unless `crate::cuda::allow_tf32()` is set, which
//! lets cuBLAS use TF32 tensor cores (PyTorch's `allow_tf32` switch).

use super::device::{driver_error, Gpu};
use crate::{Error, Result};
use cudarc::cublas::sys::{cublasMath_t, cublasOperation_t};
use cudarc::cublas::{Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::{CudaSlice, CudaView};

/// How one row-major operand (rows x cols, strides rs, cs) is handed to cuBLAS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operand {
    /// True when passed transposed (its columns are contiguous).
    pub trans: bool,
    pub ld: usize,
}

/// The cuBLAS view of a strided matrix, or None when neither its rows nor its columns are
/// contiguous (the caller copies it first).
pub fn operand(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<Operand> {
    if cols <= 1 || cs == 1 {
        let ld = if rows <= 1 { cols.max(1) } else { rs };
        if ld >= cols.max(1) {
            return Some(Operand { trans: false, ld });
        }
    }
    if rows <= 1 || rs == 1 {
        let ld = if cols <= 1 { rows.max(1) } else { cs };
        if ld >= rows.max(1) {
            return Some(Operand { trans: true, ld });
        }
    }
    None
}

/// One batched product C[t] = A[t] B[t] (row-major, C contiguous m x n), t < batch, with
/// A[t] at a_off + t * a_stride and B[t] likewise (stride 0 broadcasts).
pub struct Batched {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub batch: usize,
    pub a: Operand,
    pub a_off: usize,
    pub a_stride: usize,
    pub b: Operand,
    pub b_off: usize,
    pub b_stride: usize,
}

fn int(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| {
        Error::Value(format!(
            "matmul on CUDA: {what} = {v} exceeds cuBLAS's 32-bit limit"
        ))
    })
}

fn op(trans: bool) -> cublasOperation_t {
    if trans {
        cublasOperation_t::CUBLAS_OP_T
    } else {
        cublasOperation_t::CUBLAS_OP_N
    }
}

/// Runs `p` on `g`'s stream, writing C into `c` (length batch * m * n).
pub fn sgemm(
    g: &Gpu,
    p: &Batched,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    c: &mut CudaSlice<f32>,
) -> Result<()> {
    let gemm = GemmConfig {
        // C^T (n x m) = B^T (n x k) * A^T (k x m), all column-major.
        transa: op(p.b.trans),
        transb: op(p.a.trans),
        m: int(p.n, "n")?,
        n: int(p.m, "m")?,
        k: int(p.k, "k")?,
        alpha: 1.0f32,
        lda: int(p.b.ld, "ld")?,
        ldb: int(p.a.ld, "ld")?,
        beta: 0.0f32,
        ldc: int(p.n.max(1), "n")?,
    };
    let av: CudaView<'_, f32> = a.slice(p.a_off..);
    let bv: CudaView<'_, f32> = b.slice(p.b_off..);
    g.ctx
        .bind_to_thread()
        .map_err(|e| driver_error("cuCtxSetCurrent", e))?;
    let blas = g.blas()?;
    let mode = if crate::cuda::allow_tf32() {
        cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
    } else {
        cublasMath_t::CUBLAS_DEFAULT_MATH
    };
    let cublas_err = |what: &str, e: cudarc::cublas::result::CublasError| {
        Error::Runtime(format!("cuBLAS {what} failed: {e:?}"))
    };
    // SAFETY: the handle is valid and guarded by the mutex.
    unsafe { cudarc::cublas::sys::cublasSetMathMode(*blas.handle(), mode) }
        .result()
        .map_err(|e| cublas_err("cublasSetMathMode", e))?;
    // SAFETY: the caller sized `c` to batch * m * n and checked that every A[t] and B[t] lies
    // within `a` and `b` (their layouts come from valid tensors).
    unsafe {
        if p.batch == 1 {
            blas.gemm(gemm, &bv, &av, c)
                .map_err(|e| cublas_err("sgemm", e))
        } else {
            let cfg = StridedBatchedConfig {
                gemm,
                batch_size: int(p.batch, "batch")?,
                stride_a: p.b_stride as i64,
                stride_b: p.a_stride as i64,
                stride_c: (p.m * p.n) as i64,
            };
            blas.gemm_strided_batched(cfg, &bv, &av, c)
                .map_err(|e| cublas_err("sgemmStridedBatched", e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_col_major_and_neither() {
        // A contiguous 3x4 matrix: rows contiguous, ld 4.
        assert_eq!(
            operand(3, 4, 4, 1),
            Some(Operand {
                trans: false,
                ld: 4
            })
        );
        // Its transpose (4x3 with strides (1, 4)): passed transposed with ld 4.
        assert_eq!(operand(4, 3, 1, 4), Some(Operand { trans: true, ld: 4 }));
        // A row slice of a wider matrix: ld is the parent's row length.
        assert_eq!(
            operand(2, 3, 10, 1),
            Some(Operand {
                trans: false,
                ld: 10
            })
        );
        // Every other column: neither layout, the caller copies.
        assert_eq!(operand(3, 4, 8, 2), None);
        // A broadcast column (stride 0) cannot be a cuBLAS operand.
        assert_eq!(operand(3, 1, 0, 0), None);
        // Vectors: a single row or column is fine with any stride on the size-1 axis.
        assert_eq!(
            operand(1, 5, 0, 1),
            Some(Operand {
                trans: false,
                ld: 5
            })
        );
        assert_eq!(
            operand(5, 1, 1, 7),
            Some(Operand {
                trans: false,
                ld: 1
            })
        );
    }
}
