//! How one product is cut into blocks and tasks: the K blocks (the only part that affects
//! results), the row blocks and column ranges the threads take, and whether A is read
//! unpacked. Used by the driver's loop nests.

use super::blocking;
use super::kernel::KernelSet;

/// The fewest MR-row panels in a row block split off for another thread: below this a
/// packed B panel loaded into L1 serves too few A panels.
const MIN_BLOCK_PANELS: usize = 4;

/// How one product is cut into blocks and tasks. Only `nkb` and `kc_step` (the K blocks)
/// affect results, and they depend on k and the kernel alone.
#[derive(Clone, Copy)]
pub(super) struct Plan {
    /// K blocks: `nkb` near-equal blocks of `kc_step` (the last may be shorter).
    pub nkb: usize,
    pub kc_step: usize,
    /// Rows of C per task and the number of such row blocks.
    pub mc: usize,
    pub mb: usize,
    /// Columns of C per packed B block.
    pub nc: usize,
    /// Read A unpacked (see `kernel_direct`).
    pub direct_a: bool,
    /// Split C by columns only, into this many tasks that each pack their own B panels one
    /// K block at a time (see `run_columns`); None for the row-block loop nest.
    pub column_tasks: Option<usize>,
}

/// Columns of C at or below which the micro-kernel reads A unpacked: below this a packed
/// element of A serves so few micro-kernel calls (n / NR) that packing costs more than the
/// unpacked reads do. Measured on Zen 3 (1 thread, CPU time): 64^3 +11%, 128^3 +4%,
/// 512^3 +2%, the MLP products +1..5%; 1024^3 -2% (so not there).
const DIRECT_A_MAX_N: usize = 768;

/// For a transposed A (one cache line per step of p per panel), also at most this many rows:
/// X^T dY with 784 rows measured 2.5% slower unpacked.
const DIRECT_AT_MAX_M: usize = 384;

/// And at most this deep: an LSTM's Z^T dG (161 x 512, k = 3200) measured 88 GFLOP/s with A
/// packed, 82 unpacked.
const DIRECT_AT_MAX_K: usize = 1024;

/// Tasks per thread in `run_columns` where there are enough B panels: two, so that rayon can
/// hand a task to the other thread when a core is busy with something else; else one.
const COLUMN_TASKS_PER_THREAD: usize = 2;

/// The K blocks for depth k: near-equal, so no thin last block; a function of k and the
/// kernel's kc only.
pub(super) fn k_blocks(ks: &KernelSet, k: usize) -> (usize, usize) {
    let blk = blocking::blocking(ks.mr, ks.nr);
    let nkb = k.div_ceil(blk.kc).max(1);
    (nkb, k.div_ceil(nkb))
}

impl Plan {
    /// The plan for C (m x n) = A (m x k) B on `threads` threads, A's element (i, p) at
    /// `i * a_rs + p * a_cs`.
    pub fn new(
        ks: &KernelSet,
        (m, n, k): (usize, usize, usize),
        (a_rs, a_cs): (usize, usize),
        threads: usize,
    ) -> Plan {
        let (mr, nr) = (ks.mr, ks.nr);
        let blk = blocking::blocking(mr, nr);
        let (nkb, kc_step) = k_blocks(ks, k);

        let m_panels = m.div_ceil(mr);
        let mb = row_blocks(
            m,
            n,
            m_panels.div_ceil((blk.mc / mr).max(1)),
            (mr, nr),
            threads,
        );
        let mc = m_panels.div_ceil(mb.min(m_panels)) * mr;
        let mb = m.div_ceil(mc);

        // Column blocks: B is packed for the whole depth at once (one parallel region for
        // the packing, one for the products), so nc shrinks as k grows to keep the packed
        // panel within what BLIS would hold for one K block (a share of L3).
        let nc = ((blk.kc * blk.nc) / k.max(1)).clamp(nr, blk.nc) / nr * nr;
        let direct_a = ks.direct
            && n <= DIRECT_A_MAX_N
            && (a_cs == 1 || (a_rs == 1 && m <= DIRECT_AT_MAX_M && k <= DIRECT_AT_MAX_K));
        // A unpacked and all rows in one block (A's K block stays in L2): split the columns
        // instead, so the tasks are equal whatever m is, and each task packs just the B
        // panels it uses, next to where it uses them, in the one parallel region.
        let npanels = n.div_ceil(nr);
        let column_tasks = if direct_a && m <= blk.mc && npanels >= threads {
            Some(if threads == 1 {
                1
            } else if npanels >= COLUMN_TASKS_PER_THREAD * threads {
                COLUMN_TASKS_PER_THREAD * threads
            } else {
                threads
            })
        } else {
            None
        };
        Plan {
            nkb,
            kc_step,
            mc,
            mb,
            nc,
            direct_a,
            column_tasks,
        }
    }
}

/// Row blocks (tasks over rows of C) for a product whose rows need `mb` blocks of <= mc rows.
/// Threaded: a multiple of the thread count and, while blocks keep MIN_BLOCK_PANELS panels,
/// two per thread (rayon can rebalance when a core is busy elsewhere). But when all rows fit
/// one block and C is wider than tall, rows stay whole and `run_block` splits the columns:
/// each row block reads all of B, each column task packs all of A, so for m < n that is less
/// traffic, and it splits evenly where rows would not (161 rows: 27 panels, 14 + 13).
/// Measured on Zen 3, 2 threads: a whole LSTM layer fwd+bwd (its 161 x 512 x 3200 weight
/// gradient) 11.3 -> 10.7 ms; an MLP's dX (128 x 784 x 256) 142 -> 158 GFLOP/s; m >= n same.
pub(super) fn row_blocks(
    m: usize,
    n: usize,
    mb: usize,
    (mr, nr): (usize, usize),
    threads: usize,
) -> usize {
    if threads <= 1 || (mb == 1 && m < n && n.div_ceil(nr) >= threads) {
        return mb;
    }
    let m_panels = m.div_ceil(mr);
    let mb = mb.max((2 * threads).min(m_panels / MIN_BLOCK_PANELS));
    mb.div_ceil(threads) * threads
}
