//! The products at the heart of both Winograd paths (F(2x2) with 16 transform positions, F(4x4)
//! with 36), each one batched GEMM over the positions: M[xi] = U[xi] V[xi] (forward and input
//! gradient) and S[xi] += D[xi] V[xi]^T (weight gradient).

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

/// S[xi] += D[xi] V[xi]^T for every position xi (S[xi] = ... for a task's `first` chunk, so the
/// sums need no zeroing beforehand), summed over a chunk's `n` tiles: `d` holds the
/// transformed output gradient (c_out x n per position, rows `ld` apart, positions `dk` apart),
/// `v` the transformed input (c_in x n, likewise, positions `vk` apart), `s` the running sums
/// (c_out x c_in row-major, positions `sk` apart). The micro-kernel reads D in place (a strided
/// A) and packs V^T; a chunk's long sum amortises that packing (row-by-row dot products were
/// bound by L2 bandwidth).
pub(super) fn accumulate_weight_sums(
    positions: usize,
    d: &[f32],
    v: &[f32],
    s: &mut [f32],
    (c_in, c_out, n): (usize, usize, usize),
    (ld, dk, vk, sk): (usize, usize, usize, usize),
    first: bool,
) {
    let a = MatRef {
        data: &d[..positions * dk],
        rows: c_out,
        cols: n,
        rs: ld,
        cs: 1,
    };
    let b = MatRef {
        data: &v[..positions * vk],
        rows: n,
        cols: c_in,
        rs: 1,
        cs: ld,
    };
    let c = MatMut::row_major(&mut s[..positions * sk], c_out, c_in);
    let beta = if first { 0.0 } else { 1.0 };
    sgemm_batched(positions, 1.0, a, dk, b, vk, beta, c, sk, Epilogue::None);
}
