//! General matrix multiply: C = alpha * A * B + beta * C on strided f32 matrices.
//!
//! This is the one entry point the rest of the crate calls for every matrix product (Linear,
//! matmul, conv as GEMM, backprop). Transposes are expressed with strides, so A^T * B never
//! materialises a transpose.
//!
//! The implementation is BLIS style (see `driver`): B is packed into KC x NC panels, A into
//! MC x KC blocks, and an MR x NR register micro-kernel (one file per ISA, chosen once at run
//! time, see `isa`) computes each tile of C. Threads split the output tiles, never K, so the
//! result is bitwise identical for any rayon thread count.
//!
//! Products with few columns skip packing A: the micro-kernel reads A where it lies
//! (`kernel_direct`), with the same arithmetic. A B used many times (a recurrent layer's
//! weights) can be packed once (`PackedB`, `sgemm_packed_b`); a B produced row by row can be
//! packed as it comes (`RowWriter`) or multiplied block by block as it comes (`StreamedB`).

mod blocking;
mod buffers;
mod driver;
mod isa;
mod kernel;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
mod kernel_direct;
#[cfg(target_arch = "aarch64")]
mod kernel_neon;
mod kernel_portable;
mod pack;
#[cfg(target_arch = "x86_64")]
mod pack_x86;
mod packed_rows;
mod plan;
mod prepacked;
mod shared_pack;
mod streamed;
mod validate;

pub use packed_rows::RowWriter;
#[cfg(test)]
use prepacked::sgemm_packed_b_on;
pub use prepacked::{sgemm_packed_b, sgemm_packed_b_serial, PackedB};
pub use streamed::StreamedB;

#[cfg(test)]
mod tests;

/// A read-only strided matrix: element (i, j) lives at `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

/// A writable strided matrix: element (i, j) lives at `data[i * rs + j * cs]`.
#[derive(Debug)]
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major contiguous matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose, by swapping strides (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

impl<'a> MatMut<'a> {
    /// A row-major contiguous matrix.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        MatMut {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }
}

/// What to apply to each output element after alpha*A*B + beta*C, fused into the kernel.
#[derive(Clone, Copy, Debug, Default)]
pub enum Epilogue<'a> {
    #[default]
    None,
    /// Add `bias[j]` to column j (a Linear layer's bias over output features).
    Bias(&'a [f32]),
    /// Add `bias[j]` to column j, then ReLU.
    BiasRelu(&'a [f32]),
    /// ReLU only.
    Relu,
}

/// C = alpha * A * B + beta * C, then the epilogue. Shapes: A is m x k, B is k x n, C is m x n.
/// When beta == 0, C is written without being read (NaN in C does not leak), as in BLAS.
///
/// Runs on the rayon pool the caller is in (large problems only); the result is bitwise the
/// same for any number of threads.
///
/// Panics if the shapes disagree or a slice is too short for its strides: callers validate
/// user input before reaching here.
pub fn sgemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut, epilogue: Epilogue) {
    driver::sgemm_with(isa::active(), alpha, a, b, beta, c, epilogue);
}

/// A batch of independent products: for t in 0..batch, C_t = alpha * A_t * B_t + beta * C_t,
/// then the epilogue, where matrix t of each operand starts at `t * stride_x` in its slice and
/// has the shape and strides of the given `MatRef`/`MatMut` (whose `data` is the whole batch).
/// A stride of 0 for A or B broadcasts one matrix to every item.
///
/// Items run in parallel (and large items split their tiles too); as for `sgemm`, the result
/// does not depend on the number of threads. If the C matrices of different items overlap in
/// memory, the items run one after another in order.
///
/// Panics if the shapes disagree or a slice is too short for the batch.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    batch: usize,
    alpha: f32,
    a: MatRef,
    stride_a: usize,
    b: MatRef,
    stride_b: usize,
    beta: f32,
    c: MatMut,
    stride_c: usize,
    epilogue: Epilogue,
) {
    driver::sgemm_batched_with(
        isa::active(),
        batch,
        alpha,
        (a, stride_a),
        (b, stride_b),
        beta,
        (c, stride_c),
        epilogue,
    );
}

/// Runs `f` (which calls the GEMM on `work` = m * n * k multiply-adds in all) inside
/// neurona's thread pool only when the GEMM would use threads for it. Below that, `f` runs
/// on the calling thread: handing a small product to a pool worker and waiting for it costs
/// more (tens of microseconds of wake-ups on a busy machine) than the product itself. With a
/// one-thread pool nothing is ever handed off.
/// The result is the same either way.
pub fn install_if_threaded<R: Send>(work: usize, f: impl FnOnce() -> R + Send) -> R {
    if driver::worth_threading(work) && crate::parallel::get_num_threads() > 1 {
        crate::parallel::install(f)
    } else {
        f()
    }
}

/// The micro-kernel in use: "avx512", "avx2", "neon" or "portable". Chosen once, on first
/// use, from the CPU's features; the environment variable `NEURONA_ISA` (read once) may force
/// a lower one ("avx2" or "portable").
pub fn isa_name() -> &'static str {
    isa::active().name
}

/// A plain triple loop; the reference the fast kernels are tested against.
pub mod naive {
    use super::{Epilogue, MatMut, MatRef};

    pub fn sgemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut, epilogue: Epilogue) {
        for i in 0..c.rows {
            for j in 0..c.cols {
                let mut acc = 0.0f32;
                for p in 0..a.cols {
                    acc += a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs];
                }
                let idx = i * c.rs + j * c.cs;
                let mut v = alpha * acc;
                if beta != 0.0 {
                    v += beta * c.data[idx];
                }
                v = match epilogue {
                    Epilogue::None => v,
                    Epilogue::Bias(bias) => v + bias[j],
                    Epilogue::BiasRelu(bias) => relu(v + bias[j]),
                    Epilogue::Relu => relu(v),
                };
                c.data[idx] = v;
            }
        }
    }

    /// ReLU that keeps NaN, as the fast kernels' epilogues do.
    fn relu(v: f32) -> f32 {
        if v <= 0.0 {
            0.0
        } else {
            v
        }
    }
}
