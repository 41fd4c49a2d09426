//! The macro-kernel for an unpacked A: the micro-kernel reads A where it lies (any strides)
//! and only B is packed.
//!
//! Packing A costs about one pass over A per column block of C, which is a large share of a
//! product with few columns or a small depth (the per-step products of a recurrent layer, the
//! small products of an MLP): there each packed element serves only n / NR micro-kernel calls.
//! A row-major A is read as MR sequential streams, a transposed one as MR contiguous values
//! per step; either way the rows of one MR panel stay in L1 while the B panels stream by.
//!
//! The micro-kernel's `tile_strided` does the same operations in the same order as its packed
//! `tile`, so a product gives bitwise the same result whichever path the driver picks.

use super::kernel::{MacroArgs, MicroKernel, Tile, Update, MAX_NR, MAX_TILE};
use std::ptr;

/// Rows of a row-major A up to which the tiles go row panel by row panel (see
/// `macro_kernel_direct`).
const ROWS_OUTER_MAX_M: usize = 64;

/// As `kernel::macro_kernel`, with `m.a` pointing at element (0, 0) of the block of A, whose
/// element (i, p) is at `m.a[i * rs_a + p * cs_a]`.
///
/// Usually B panel by B panel, each panel staying in L1 while the row panels of A go by. For
/// a row-major A of few rows whose B block sits in L2 (a recurrent layer's step products),
/// row panel by row panel instead: the MR rows of A stay in L1 and B streams past from L2 in
/// one contiguous run, where the other order re-reads A from L2 as MR separate streams for
/// every B panel. Measured on Zen 3 (prepacked B, one thread): LSTM step products 94 -> 97
/// GFLOP/s at 64 rows, 93 -> 96.5 at 16. Each tile is computed the same either way.
///
/// # Safety
/// As for `MicroKernel::tile_strided`, for every tile of the region; `K::STRIDED` holds.
#[inline(always)]
pub(super) unsafe fn macro_kernel_direct<K: MicroKernel>(
    m: &MacroArgs,
    (rs_a, cs_a): (usize, usize),
) {
    debug_assert!(K::STRIDED && K::MR * K::NR <= MAX_TILE && K::NR <= MAX_NR);
    let (mr_full, nr_full) = (K::MR, K::NR);
    let mut tile = Tile([0.0; MAX_TILE]);
    let mut bias_tile = [0.0f32; MAX_NR];
    let mut scratch = (&mut tile, &mut bias_tile);
    if cs_a == 1 && !m.prefetch_b && m.mc > mr_full && m.mc <= ROWS_OUTER_MAX_M {
        for ir in (0..m.mc).step_by(mr_full) {
            for (q, jr) in (0..m.nc).step_by(nr_full).enumerate() {
                let b = m.b.add(q * nr_full * m.kc);
                run_tile::<K>(m, (rs_a, cs_a), (ir, jr), b, &mut scratch);
            }
        }
        return;
    }
    for (q, jr) in (0..m.nc).step_by(nr_full).enumerate() {
        let b = m.b.add(q * nr_full * m.kc);
        let next_b = b.wrapping_add(nr_full * m.kc);
        let lines = if m.prefetch_b && jr + nr_full < m.nc {
            nr_full * m.kc / 16
        } else {
            0
        };
        let per_ir = lines.div_ceil(m.mc.div_ceil(mr_full)).max(1);
        let mut line = 0;
        for ir in (0..m.mc).step_by(mr_full) {
            for _ in 0..per_ir.min(lines - line) {
                K::prefetch_l2(next_b.add(line * 16));
                line += 1;
            }
            run_tile::<K>(m, (rs_a, cs_a), (ir, jr), b, &mut scratch);
        }
    }
}

/// The tile at rows ir.., columns jr.. of the block, its B panel at `b`. A function, not a
/// closure: a closure is compiled without its caller's target features, so what it inlines
/// (the edge-tile copies) would lose them.
///
/// # Safety
/// As `macro_kernel_direct`.
#[inline(always)]
unsafe fn run_tile<K: MicroKernel>(
    m: &MacroArgs,
    (rs_a, cs_a): (usize, usize),
    (ir, jr): (usize, usize),
    b: *const f32,
    (tile, bias_tile): &mut (&mut Tile, &mut [f32; MAX_NR]),
) {
    let (mr, nr) = (K::MR.min(m.mc - ir), K::NR.min(m.nc - jr));
    let mut u = m.upd;
    if !u.bias.is_null() {
        u.bias = u.bias.add(jr);
        if nr < K::NR {
            ptr::copy_nonoverlapping(u.bias, bias_tile.as_mut_ptr(), nr);
            u.bias = bias_tile.as_ptr();
        }
    }
    let a = m.a.add(ir * rs_a);
    let c = m.c.add(ir * m.rs_c + jr * m.cs_c);
    if nr == K::NR && m.cs_c == 1 {
        K::tile_strided(mr, m.kc, a, (rs_a, cs_a), b, c, m.rs_c, &u);
    } else {
        edge_tile::<K>(m, (a, rs_a, cs_a), b, c, (mr, nr), &u, tile);
    }
}

/// A tile cut by the right edge of C or with strided columns: the live rows are computed
/// into a stack tile holding a copy of C, then the valid part is copied back.
#[inline(always)]
unsafe fn edge_tile<K: MicroKernel>(
    m: &MacroArgs,
    (a, rs_a, cs_a): (*const f32, usize, usize),
    b: *const f32,
    c: *mut f32,
    (mr, nr): (usize, usize),
    u: &Update,
    tile: &mut Tile,
) {
    let t = tile.0.as_mut_ptr();
    if u.load_c {
        for i in 0..mr {
            for j in 0..nr {
                *t.add(i * K::NR + j) = *c.add(i * m.rs_c + j * m.cs_c);
            }
        }
    }
    K::tile_strided(mr, m.kc, a, (rs_a, cs_a), b, t, K::NR, u);
    for i in 0..mr {
        for j in 0..nr {
            *c.add(i * m.rs_c + j * m.cs_c) = *t.add(i * K::NR + j);
        }
    }
}
