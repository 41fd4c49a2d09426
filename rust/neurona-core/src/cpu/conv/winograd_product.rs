//! The product at the heart of both Winograd paths (F(2x2) with 16 transform positions, F(4x4)
//! with 36): M[xi] = U[xi] V[xi] for every position xi, as one batched GEMM.

use crate::cpu::gemm::{sgemm_batched, Epilogue, MatMut, MatRef};

/// `u` holds the transformed kernels per position, each stored transposed (c_in x c_out) so
/// packing it is a contiguous copy; `v` the transformed input (c_in x cols per position); `m`
/// receives c_out x cols per position; rows of `v` and `m` are `ld` (>= cols) apart, and their
/// positions' planes `vk` (>= c_in * ld) and `mk` (>= c_out * ld).
pub(super) fn multiply_positions(
    positions: usize,
    u: &[f32],
    v: &[f32],
    m: &mut [f32],
    (c_in, c_out, cols): (usize, usize, usize),
    (ld, vk, mk): (usize, usize, usize),
) {
    let uk = c_out * c_in;
    let a = MatRef::row_major(&u[..uk], c_in, c_out).t();
    let b = MatRef {
        rs: ld,
        ..MatRef::row_major(&v[..positions * vk], c_in, cols)
    };
    let c = MatMut {
        rs: ld,
        ..MatMut::row_major(&mut m[..positions * mk], c_out, cols)
    };
    sgemm_batched(
        positions,
        1.0,
        MatRef { data: u, ..a },
        uk,
        b,
        vk,
        0.0,
        c,
        mk,
        Epilogue::None,
    );
}
