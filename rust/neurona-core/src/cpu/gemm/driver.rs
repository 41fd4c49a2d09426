//! The BLIS loop nest around the micro-kernels, the split into rayon tasks, and the reused
//! packing buffers.
//!
//! Loops: columns of C in blocks of nc. For each block, B's columns are packed for the whole
//! depth, cut into near-equal K blocks of at most kc (the first parallel region). Then tasks
//! over the output (the second region): blocks of mc rows of C and, when there are fewer row
//! blocks than threads, ranges of B panels; each task walks the K blocks in order, packing its
//! mc x kc block of A for each and running the macro-kernel on it. Every output element sees
//! the same K blocks in the same order whatever the task split, so results are bitwise
//! identical for any thread count.
//!
//! A product with few rows (one row block) and A read unpacked takes a shorter path
//! (`run_columns`): one parallel region of tasks over ranges of B panels, each packing its own
//! panels one K block at a time, so the threads get equal shares whatever m is.

use super::blocking;
use super::buffers::PackBuf;
use super::kernel::{KernelSet, MacroArgs, PackArgs, Update};
use super::plan::Plan;
pub(super) use super::shared_pack::{pack_b, Shared, Src};
use super::validate::{check_fits, disjoint, epilogue_parts, span};
use super::{Epilogue, MatMut, MatRef};
use rayon::prelude::*;
use std::ops::Range;

/// Below this many multiply-adds (m * n * k; for a batch, over the whole batch) a call stays
/// on the calling thread: a threaded call costs several microseconds of wake-up and two
/// synchronisations, the time one core needs for a few 10^5 multiply-adds.
const PAR_MIN_WORK: usize = 1 << 20;

/// Whether a product (or batch) of `work` multiply-adds is split among threads.
pub(super) fn worth_threading(work: usize) -> bool {
    work >= PAR_MIN_WORK
}

/// Below this many values, B is packed by the calling thread alone: a parallel region costs
/// about what copying 2^16 floats does.
pub(super) const PAR_PACK_MIN: usize = 1 << 16;

#[derive(Clone, Copy)]
struct Dst {
    ptr: *mut f32,
    rs: usize,
    cs: usize,
}

/// The problem after validation: sizes, operands, and the epilogue as (bias or null, relu).
#[derive(Clone, Copy)]
struct Problem {
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    a: Src,
    b: Src,
    c: Dst,
    bias: *const f32,
    relu: bool,
}

/// The K blocks a product over a packed B runs, in order, and where each lies in the packed
/// buffer. The first block run applies beta, the product's last block the epilogue; so
/// running blocks 0..j with beta = 0 and then j..nkb with beta = 1 gives bitwise the result
/// of one call over all of them (see `StreamedB`).
#[derive(Clone, Debug)]
pub(super) struct KBlocks {
    pub range: Range<usize>,
    /// None: block kb at its place in the whole packed B. Some(s): B holds only a ring of s
    /// blocks, block kb in slot kb % s.
    pub ring: Option<usize>,
}

impl KBlocks {
    /// Every one of the `nkb` blocks, B packed whole.
    pub fn all(nkb: usize) -> KBlocks {
        KBlocks {
            range: 0..nkb,
            ring: None,
        }
    }

    /// Where block kb starts in the packed buffer, for blocks of `kc_step` rows of `npanels`
    /// panels of NR columns.
    fn offset(&self, kb: usize, kc_step: usize, npanels: usize, nr: usize) -> usize {
        let slot = self.ring.map_or(kb, |s| kb % s);
        slot * kc_step * npanels * nr
    }
}

/// `sgemm` on a given kernel set (the tests run every available one).
pub(super) fn sgemm_with(
    ks: &KernelSet,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: MatMut,
    epilogue: Epilogue,
) {
    sgemm_batched_with(ks, 1, alpha, (a, 0), (b, 0), beta, (c, 0), epilogue);
}

/// `sgemm_batched` on a given kernel set.
#[allow(clippy::too_many_arguments)]
pub(super) fn sgemm_batched_with(
    ks: &KernelSet,
    batch: usize,
    alpha: f32,
    (a, stride_a): (MatRef, usize),
    (b, stride_b): (MatRef, usize),
    beta: f32,
    (c, stride_c): (MatMut, usize),
    epilogue: Epilogue,
) {
    assert_eq!(
        a.cols, b.rows,
        "sgemm: inner dimensions differ ({} vs {})",
        a.cols, b.rows
    );
    assert_eq!(
        a.rows, c.rows,
        "sgemm: rows of A and C differ ({} vs {})",
        a.rows, c.rows
    );
    assert_eq!(
        b.cols, c.cols,
        "sgemm: columns of B and C differ ({} vs {})",
        b.cols, c.cols
    );
    check_fits(
        "A",
        a.data.len(),
        (a.rows, a.cols, a.rs, a.cs),
        batch,
        stride_a,
    );
    check_fits(
        "B",
        b.data.len(),
        (b.rows, b.cols, b.rs, b.cs),
        batch,
        stride_b,
    );
    check_fits(
        "C",
        c.data.len(),
        (c.rows, c.cols, c.rs, c.cs),
        batch,
        stride_c,
    );
    let (bias, relu) = epilogue_parts(epilogue, c.cols);
    let (m, n, k) = (c.rows, c.cols, a.cols);
    if batch == 0 || m == 0 || n == 0 {
        return;
    }
    let tiles_disjoint = disjoint(c.rows, c.cols, c.rs, c.cs);
    let c_span = span(c.rows, c.cols, c.rs, c.cs).unwrap_or(usize::MAX);
    let items_disjoint = tiles_disjoint && (batch == 1 || stride_c >= c_span);
    let p = Shared(Problem {
        m,
        n,
        k,
        alpha,
        beta,
        a: Src {
            ptr: a.data.as_ptr(),
            rs: a.rs,
            cs: a.cs,
        },
        b: Src {
            ptr: b.data.as_ptr(),
            rs: b.rs,
            cs: b.cs,
        },
        c: Dst {
            ptr: c.data.as_mut_ptr(),
            rs: c.rs,
            cs: c.cs,
        },
        bias,
        relu,
    });
    let item = |t: usize| {
        let mut q = p.get();
        q.a.ptr = q.a.ptr.wrapping_add(t * stride_a);
        q.b.ptr = q.b.ptr.wrapping_add(t * stride_b);
        q.c.ptr = q.c.ptr.wrapping_add(t * stride_c);
        // SAFETY: check_fits proved every element of item t in bounds; C is borrowed mutably
        // for this call, and items run concurrently only when their C matrices are disjoint.
        unsafe { gemm_one(ks, &q, tiles_disjoint) }
    };
    let work = m
        .saturating_mul(n)
        .saturating_mul(k.max(1))
        .saturating_mul(batch);
    if items_disjoint && batch > 1 && work >= PAR_MIN_WORK && available_threads() > 1 {
        crate::parallel::install(|| (0..batch).into_par_iter().for_each(item));
    } else {
        (0..batch).for_each(item);
    }
}

/// One product, split into tasks when it is large enough and C's tiles are disjoint.
///
/// # Safety
/// Every element of A (m x k), B (k x n), C (m x n) and bias (n) is valid memory, C writable
/// and not aliased by A, B or bias.
unsafe fn gemm_one(ks: &KernelSet, p: &Problem, parallel: bool) {
    let ps = Shared(*p);
    // SAFETY: the caller's contract.
    on_threads(p, parallel, |threads| unsafe {
        gemm_blocked(ks, &ps.get(), threads)
    });
}

/// Runs `f(threads)` with the thread count the product deserves, inside the rayon pool when
/// threaded.
/// Threads a product may use: the current pool's inside a worker, else neurona's pool size
/// (never rayon's global pool, which would ignore `set_num_threads`).
pub(super) fn available_threads() -> usize {
    if rayon::current_thread_index().is_some() {
        rayon::current_num_threads().max(1)
    } else {
        crate::parallel::get_num_threads()
    }
}

fn on_threads(p: &Problem, parallel: bool, f: impl Fn(usize) + Send + Sync) {
    let work = p.m.saturating_mul(p.n).saturating_mul(p.k.max(1));
    let threads = if parallel && work >= PAR_MIN_WORK {
        available_threads()
    } else {
        1
    };
    if threads > 1 && rayon::current_thread_index().is_none() {
        // Called from outside the pool: enter it once, so that the parallel regions start
        // from a worker (cheap) instead of each waking the pool from outside.
        crate::parallel::install(|| f(threads));
    } else {
        f(threads);
    }
}

/// `sgemm_packed_b` on the kernel set B was packed for: B (k x n) is already packed, as
/// `pack_b` lays out one column block of all n columns, with the K blocks of `k_blocks`.
///
/// # Safety
/// `bpack` holds B packed that way by `ks`, for `k` rows and `n` columns.
/// `threaded` false keeps the product on the calling thread whatever its size. `blocks` says
/// which K blocks run and where they lie (`KBlocks::all` for the whole product).
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn sgemm_packed_with(
    ks: &KernelSet,
    threaded: bool,
    alpha: f32,
    a: MatRef,
    (bpack, k, n): (*const f32, usize, usize),
    beta: f32,
    c: MatMut,
    epilogue: Epilogue,
    blocks: KBlocks,
) {
    assert_eq!(
        a.cols, k,
        "sgemm_packed_b: inner dimensions differ ({} vs {k})",
        a.cols
    );
    assert_eq!(
        a.rows, c.rows,
        "sgemm_packed_b: rows of A and C differ ({} vs {})",
        a.rows, c.rows
    );
    assert_eq!(
        n, c.cols,
        "sgemm_packed_b: columns of B and C differ ({n} vs {})",
        c.cols
    );
    check_fits("A", a.data.len(), (a.rows, a.cols, a.rs, a.cs), 1, 0);
    check_fits("C", c.data.len(), (c.rows, c.cols, c.rs, c.cs), 1, 0);
    let (bias, relu) = epilogue_parts(epilogue, c.cols);
    if c.rows == 0 || n == 0 {
        return;
    }
    let p = Problem {
        m: c.rows,
        n,
        k,
        alpha,
        beta,
        a: Src {
            ptr: a.data.as_ptr(),
            rs: a.rs,
            cs: a.cs,
        },
        b: Src {
            ptr: std::ptr::null(),
            rs: 0,
            cs: 0,
        },
        c: Dst {
            ptr: c.data.as_mut_ptr(),
            rs: c.rs,
            cs: c.cs,
        },
        bias,
        relu,
    };
    let parallel = threaded && disjoint(c.rows, c.cols, c.rs, c.cs);
    let (ps, bp) = (Shared(p), Shared(bpack));
    on_threads(&p, parallel, |threads| {
        let p = ps.get();
        let plan = Plan::new(ks, (p.m, p.n, p.k), (p.a.rs, p.a.cs), threads);
        assert!(
            blocks.range.end <= plan.nkb,
            "sgemm_packed_b: K blocks {:?} of {}",
            blocks.range,
            plan.nkb
        );
        // SAFETY: the caller's contract; check_fits proved A and C in bounds.
        unsafe { run_block(ks, &p, &plan, (0, n), bp.get(), threads, &blocks) }
    });
}

/// The loop nest of one product on `threads` threads (1: the calling thread alone).
///
/// # Safety
/// As `gemm_one`.
unsafe fn gemm_blocked(ks: &KernelSet, p: &Problem, threads: usize) {
    let (n, k, nr) = (p.n, p.k, ks.nr);
    let plan = Plan::new(ks, (p.m, p.n, p.k), (p.a.rs, p.a.cs), threads);
    if let Some(ns) = plan.column_tasks {
        return run_columns(ks, p, &plan, ns, threads);
    }
    let mut jc = 0;
    while jc < n {
        let ncur = plan.nc.min(n - jc);
        let npanels = ncur.div_ceil(nr);
        // Packed B: K block kb (from row pc) starts at pc * npanels * NR, its panels kc * NR
        // apart.
        let mut bbuf = PackBuf::take(k * npanels * nr);
        let bpack = Shared(bbuf.ptr());
        pack_b(
            ks,
            p.b,
            (jc, ncur),
            (plan.nkb, plan.kc_step, k),
            bpack,
            threads,
        );
        let blocks = KBlocks::all(plan.nkb);
        run_block(ks, p, &plan, (jc, ncur), bpack.get(), threads, &blocks);
        drop(bbuf);
        jc += ncur;
    }
}

/// The whole product as `ns` tasks over near-equal ranges of B panels, every task over all m
/// rows with A read unpacked. A task walks the K blocks in order; for each it packs its B
/// panels in pieces that fit in half of L2 and runs the macro-kernel on each piece while it is
/// there. Every tile sees the same K blocks in the same order and the same kernel as on the
/// other paths, so the split does not change results.
///
/// # Safety
/// As `gemm_one`; `plan.direct_a` holds.
unsafe fn run_columns(ks: &KernelSet, p: &Problem, plan: &Plan, ns: usize, threads: usize) {
    let (m, n, k) = (p.m, p.n, p.k);
    let nr = ks.nr;
    let (nkb, kc_step) = (plan.nkb, plan.kc_step);
    let npanels = n.div_ceil(nr);
    let l2 = blocking::caches().l2;
    // Panels per packed piece: a piece of one K block fills at most half of L2.
    let piece = (l2 / 2 / (kc_step.max(1) * nr * 4)).max(1);
    let ctx = Shared(*p);
    let task = |t: usize| {
        let p = ctx.get();
        let (p0, p1) = (t * npanels / ns, (t + 1) * npanels / ns);
        if p0 >= p1 {
            return;
        }
        let mut bbuf = PackBuf::take(kc_step * piece.min(p1 - p0) * nr);
        for kb in 0..nkb {
            let pc = kb * kc_step;
            let kc = kc_step.min(k - pc);
            let mut q0 = p0;
            while q0 < p1 {
                let q1 = (q0 + piece).min(p1);
                let j0 = q0 * nr;
                let ncols = (q1 * nr).min(n) - j0;
                let pb = PackArgs {
                    src: p.b.ptr.wrapping_add(pc * p.b.rs + j0 * p.b.cs),
                    len: ncols,
                    kc,
                    s_outer: p.b.cs,
                    s_k: p.b.rs,
                };
                let mut u = update_for(&p, kb, 0, nkb);
                if !u.bias.is_null() {
                    u.bias = u.bias.wrapping_add(j0);
                }
                let args = MacroArgs {
                    mc: m,
                    nc: ncols,
                    kc,
                    a: p.a.ptr.wrapping_add(pc * p.a.cs),
                    b: bbuf.ptr(),
                    c: p.c.ptr.wrapping_add(j0 * p.c.cs),
                    rs_c: p.c.rs,
                    cs_c: p.c.cs,
                    upd: u,
                    prefetch_b: false,
                };
                // SAFETY: the caller's contract; the buffer holds `piece` panels of kc_step.
                unsafe {
                    (ks.pack_b)(&pb, bbuf.ptr());
                    (ks.macro_kernel_direct)(&args, (p.a.rs, p.a.cs));
                }
                q0 = q1;
            }
        }
    };
    if threads > 1 && ns > 1 {
        (0..ns).into_par_iter().for_each(task);
    } else {
        (0..ns).for_each(task);
    }
}

/// C's columns jc..jc + ncur from B packed for them at `bpack` (as `pack_b` lays it out), on
/// `threads` threads, over the K blocks `blocks`.
///
/// # Safety
/// As `gemm_one`; `bpack` holds B's columns jc..jc + ncur packed with the plan's K blocks,
/// where `blocks` places them.
unsafe fn run_block(
    ks: &KernelSet,
    p: &Problem,
    plan: &Plan,
    (jc, ncur): (usize, usize),
    bpack: *const f32,
    threads: usize,
    blocks: &KBlocks,
) {
    let (m, k) = (p.m, p.k);
    let (mr, nr) = (ks.mr, ks.nr);
    let (mc, mb, nkb, kc_step) = (plan.mc, plan.mb, plan.nkb, plan.kc_step);
    let l2 = blocking::caches().l2;
    let npanels = ncur.div_ceil(nr);
    // Fewer row blocks than threads: also split the B panels among tasks.
    let ns = if threads > mb {
        threads.div_ceil(mb).min(npanels)
    } else {
        1
    };
    let pps = npanels.div_ceil(ns);
    let ctx = Shared((*p, bpack));
    let direct_a = plan.direct_a;
    let task = |t: usize| {
        let (p, bpack) = ctx.get();
        let (ib, js) = (t / ns, t % ns);
        let (i0, p0) = (ib * mc, js * pps);
        if p0 >= npanels {
            return;
        }
        let mcur = mc.min(m - i0);
        let p1 = (p0 + pps).min(npanels);
        let j0 = p0 * nr;
        let ncols = (p1 * nr).min(ncur) - j0;
        let mut abuf = PackBuf::take(if direct_a {
            0
        } else {
            mcur.div_ceil(mr) * mr * kc_step
        });
        for kb in blocks.range.clone() {
            let pc = kb * kc_step;
            let kc = kc_step.min(k - pc);
            let a_at = p.a.ptr.wrapping_add(i0 * p.a.rs + pc * p.a.cs);
            let mut u = update_for(&p, kb, blocks.range.start, nkb);
            if !u.bias.is_null() {
                u.bias = u.bias.wrapping_add(jc + j0);
            }
            let mut args = MacroArgs {
                mc: mcur,
                nc: ncols,
                kc,
                a: a_at,
                b: bpack.wrapping_add(blocks.offset(kb, kc_step, npanels, nr) + p0 * nr * kc),
                c: p.c.ptr.wrapping_add(i0 * p.c.rs + (jc + j0) * p.c.cs),
                rs_c: p.c.rs,
                cs_c: p.c.cs,
                upd: u,
                prefetch_b: kc * ncur * 4 > l2,
            };
            // SAFETY: the caller's contract; the buffers are sized for the packed panels.
            unsafe {
                if direct_a {
                    (ks.macro_kernel_direct)(&args, (p.a.rs, p.a.cs));
                } else {
                    let pa = PackArgs {
                        src: a_at,
                        len: mcur,
                        kc,
                        s_outer: p.a.rs,
                        s_k: p.a.cs,
                    };
                    (ks.pack_a)(&pa, abuf.ptr());
                    args.a = abuf.ptr();
                    (ks.macro_kernel)(&args);
                }
            }
        }
    };
    if threads > 1 {
        (0..mb * ns).into_par_iter().for_each(task);
    } else {
        (0..mb * ns).for_each(task);
    }
}

/// How K block kb of nkb merges into C when the call's blocks start at `first_kb`: the
/// first applies beta, the last of the product the epilogue.
fn update_for(p: &Problem, kb: usize, first_kb: usize, nkb: usize) -> Update {
    let (first, last) = (kb == first_kb, kb + 1 == nkb);
    Update {
        alpha: p.alpha,
        beta: if first { p.beta } else { 1.0 },
        load_c: !first || p.beta != 0.0,
        bias: if last { p.bias } else { std::ptr::null() },
        relu: last && p.relu,
    }
}
