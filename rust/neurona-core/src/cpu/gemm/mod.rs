//! General matrix multiply: C = alpha * A * B + beta * C on strided f32 matrices.
//!
//! This is the one entry point the rest of the crate calls for every matrix product (Linear,
//! matmul, conv as GEMM, backprop). Transposes are expressed with strides, so A^T * B never
//! materialises a transpose.

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
/// Panics if the shapes disagree or a slice is too short for its strides: callers validate
/// user input before reaching here.
pub fn sgemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut, epilogue: Epilogue) {
    assert_eq!(a.cols, b.rows, "sgemm: inner dimensions differ");
    assert_eq!(a.rows, c.rows, "sgemm: rows of A and C differ");
    assert_eq!(b.cols, c.cols, "sgemm: columns of B and C differ");
    naive::sgemm(alpha, a, b, beta, c, epilogue);
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
                    Epilogue::BiasRelu(bias) => (v + bias[j]).max(0.0),
                    Epilogue::Relu => v.max(0.0),
                };
                c.data[idx] = v;
            }
        }
    }
}
