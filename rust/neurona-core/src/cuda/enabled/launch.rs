//! Launch shapes. Elementwise kernels use grid-stride loops, so the grid is capped and one
//! launch covers any length; row kernels use one 256-thread block per row (up to the cap).

use cudarc::driver::LaunchConfig;

const THREADS: u32 = 256;
const MAX_BLOCKS: usize = 65_535 * 8;

/// One thread per element (grid-stride beyond the cap). `n` must be positive.
pub fn elems(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(THREADS as usize).clamp(1, MAX_BLOCKS) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One 256-thread block per row (the kernels loop when rows exceed the cap).
pub fn rows(rows: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (rows.clamp(1, MAX_BLOCKS) as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Whether a reduction over r elements per row is better done by a block per row (long rows)
/// than by a thread per output.
pub fn use_rows(r: usize, inner: usize) -> bool {
    inner == 1 && r >= 64
}
