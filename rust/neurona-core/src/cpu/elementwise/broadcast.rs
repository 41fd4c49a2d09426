//! zip under NumPy broadcasting: both operands are read through strides (0 on broadcast
//! axes). Axes are first coalesced (neighbours that are contiguous for the output and both
//! operands merge into one), so the common cases — a bias row added to a matrix, a per-channel
//! value added to NCHW — become an outer loop over rows and an inner loop whose operand
//! strides are 1 or 0, which vectorises.

use super::new_filled;
use crate::cpu::simd::with_avx2;
use std::mem::MaybeUninit;

/// out (row-major over `shape`) = f(x, y), with x at `xs[xo + sum(i * xst)]` and likewise y.
#[allow(clippy::too_many_arguments)]
pub fn broadcast_zip<A: Copy + Sync, B: Copy + Sync, O: Copy + Send>(
    shape: &[usize],
    xs: &[A],
    xo: usize,
    xst: &[usize],
    ys: &[B],
    yo: usize,
    yst: &[usize],
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Vec<O> {
    let n: usize = shape.iter().product();
    let (dims, sx, sy) = coalesce(shape, xst, yst);
    let nd = dims.len();
    let inner = dims[nd - 1];
    let (ix, iy) = (sx[nd - 1], sy[nd - 1]);
    new_filled(n, |start, chunk| {
        with_avx2(
            #[inline(always)]
            || {
                // Walk the chunk row by row (a chunk may start and end mid-row).
                let mut k = 0;
                while k < chunk.len() {
                    let flat = start + k;
                    let (row, j0) = (flat / inner, flat % inner);
                    let len = (inner - j0).min(chunk.len() - k);
                    let (mut ox, mut oy) = (xo, yo);
                    let mut r = row;
                    for d in (0..nd - 1).rev() {
                        let i = r % dims[d];
                        r /= dims[d];
                        ox += i * sx[d];
                        oy += i * sy[d];
                    }
                    let out = &mut chunk[k..k + len];
                    row_kernel(out, xs, ox + j0 * ix, ix, ys, oy + j0 * iy, iy, &f);
                    k += len;
                }
            },
        )
    })
}

/// One output row: the stride pairs (1,1), (1,0), (0,1) get their own loop so they vectorise.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_kernel<A: Copy, B: Copy, O: Copy>(
    out: &mut [MaybeUninit<O>],
    xs: &[A],
    x0: usize,
    ix: usize,
    ys: &[B],
    y0: usize,
    iy: usize,
    f: &impl Fn(A, B) -> O,
) {
    let n = out.len();
    match (ix, iy) {
        (1, 1) => {
            for ((o, &x), &y) in out.iter_mut().zip(&xs[x0..x0 + n]).zip(&ys[y0..y0 + n]) {
                o.write(f(x, y));
            }
        }
        (1, 0) => {
            let y = ys[y0];
            for (o, &x) in out.iter_mut().zip(&xs[x0..x0 + n]) {
                o.write(f(x, y));
            }
        }
        (0, 1) => {
            let x = xs[x0];
            for (o, &y) in out.iter_mut().zip(&ys[y0..y0 + n]) {
                o.write(f(x, y));
            }
        }
        _ => {
            for (j, o) in out.iter_mut().enumerate() {
                o.write(f(xs[x0 + j * ix], ys[y0 + j * iy]));
            }
        }
    }
}

/// Drops size-1 axes and merges neighbours a, a+1 when, for both operands, stepping a is the
/// same as stepping a+1 through its whole extent. Never returns an empty shape.
fn coalesce(shape: &[usize], xst: &[usize], yst: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut sx, mut sy) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..shape.len() {
        if shape[i] == 1 {
            continue;
        }
        if let Some(&last) = d.last() {
            let k = d.len() - 1;
            if sx[k] == xst[i] * shape[i] && sy[k] == yst[i] * shape[i] {
                d[k] = last * shape[i];
                sx[k] = xst[i];
                sy[k] = yst[i];
                continue;
            }
        }
        d.push(shape[i]);
        sx.push(xst[i]);
        sy.push(yst[i]);
    }
    if d.is_empty() {
        return (vec![1], vec![0], vec![0]);
    }
    (d, sx, sy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: every index decoded, both operands read through their strides.
    fn reference(
        shape: &[usize],
        xst: &[usize],
        yst: &[usize],
        xs: &[f32],
        ys: &[f32],
    ) -> Vec<f32> {
        let n: usize = shape.iter().product();
        (0..n)
            .map(|flat| {
                let (mut r, mut ox, mut oy) = (flat, 0, 0);
                for d in (0..shape.len()).rev() {
                    let i = r % shape[d];
                    r /= shape[d];
                    ox += i * xst[d];
                    oy += i * yst[d];
                }
                xs[ox] * 3.0 - ys[oy]
            })
            .collect()
    }

    fn strides(shape: &[usize], bshape: &[usize]) -> Vec<usize> {
        // Row-major strides of bshape (right-aligned), 0 where bshape has 1.
        let lead = shape.len() - bshape.len();
        let mut st = vec![0; shape.len()];
        let mut acc = 1;
        for i in (0..bshape.len()).rev() {
            st[lead + i] = if bshape[i] == 1 { 0 } else { acc };
            acc *= bshape[i];
        }
        st
    }

    #[test]
    fn matches_the_definition_on_many_broadcasts() {
        let cases: &[(&[usize], &[usize], &[usize])] = &[
            (&[4, 5], &[4, 5], &[5]),
            (&[4, 5], &[4, 1], &[4, 5]),
            (&[3, 4, 5], &[1, 4, 1], &[3, 1, 5]),
            (&[2, 3, 7, 7], &[2, 3, 7, 7], &[3, 1, 1]),
            (&[1, 1], &[1, 1], &[1]),
            (&[6, 1, 70], &[6, 1, 70], &[1]),
            (&[5, 33], &[33], &[5, 1]),
        ];
        for &(shape, a, b) in cases {
            let (xst, yst) = (strides(shape, a), strides(shape, b));
            let na: usize = a.iter().product();
            let nb: usize = b.iter().product();
            let xs: Vec<f32> = (0..na).map(|i| i as f32 * 0.5).collect();
            let ys: Vec<f32> = (0..nb).map(|i| 1.0 - i as f32).collect();
            let got = broadcast_zip(shape, &xs, 0, &xst, &ys, 0, &yst, |x, y| x * 3.0 - y);
            assert_eq!(
                got,
                reference(shape, &xst, &yst, &xs, &ys),
                "{shape:?} {a:?} {b:?}"
            );
        }
    }

    #[test]
    fn large_outputs_split_across_chunks_mid_row() {
        // 3 * 40_001 elements: chunk boundaries fall inside rows.
        let shape = [3, 40_001];
        let xs: Vec<f32> = (0..3 * 40_001).map(|i| (i % 97) as f32).collect();
        let ys: Vec<f32> = vec![2.0, 5.0, -1.0];
        let (xst, yst) = ([40_001, 1], [1, 0]);
        let got = broadcast_zip(&shape, &xs, 0, &xst, &ys, 0, &yst, |x, y| x * 3.0 - y);
        assert_eq!(got, reference(&shape, &xst, &yst, &xs, &ys));
    }

    #[test]
    fn transposed_operand_takes_the_strided_loop() {
        let shape = [3, 4];
        let xs: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let ys = xs.clone();
        let got = broadcast_zip(&shape, &xs, 0, &[1, 3], &ys, 0, &[4, 1], |x, y| x * 3.0 - y);
        assert_eq!(got, reference(&shape, &[1, 3], &[4, 1], &xs, &ys));
    }
}
