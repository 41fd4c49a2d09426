//! The tile transforms of Winograd's F(2x2, 3x3) on chunks of tile rows.
//!
//! With `B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]`, `G = [[1,0,0],[.5,.5,.5],
//! [.5,-.5,.5],[0,0,1]]` and `A^T = [[1,1,1,0],[0,1,-1,-1]]`, a 2x2 output tile of a 3x3
//! correlation is `Y = A^T [(G g G^T) . (B^T d B)] A` for its 4x4 input tile `d` (tiles step by
//! 2), and the tile's share of the weight gradient is `G^T [(A dY A^T) . (B^T d B)] G`.
//!
//! Transformed data lives in 16 planes (position `xi = 4 * i + j` of the 4x4 tile), each a
//! `channels x cols` matrix whose columns are tiles, so the 16 products are GEMMs. A chunk of
//! `nr` tile rows of `tw` tiles uses `nr * (tw + 1)` columns: column `rr * (tw + 1) + t` is tile
//! `t` of row `rr`, and the extra column per row is scratch. That keeps every transform one long
//! loop over the chunk's columns, which vectorises even when rows are only a few tiles wide; the
//! scratch columns cost one GEMM column per row and are never read back (and for the weight
//! gradient the output-gradient side is zero there, so they add nothing).

/// `nr` tile rows of `tw` tiles: the column layout of one chunk.
#[derive(Clone, Copy)]
pub(crate) struct ChunkCols {
    pub nr: usize,
    pub tw: usize,
}

impl ChunkCols {
    /// Columns per tile row (one scratch column).
    pub fn stride(&self) -> usize {
        self.tw + 1
    }
    pub fn cols(&self) -> usize {
        self.nr * self.stride()
    }
}

/// The 16 `len`-long segments starting at `base + xi * plane` of `buf`.
fn planes_mut(buf: &mut [f32], base: usize, plane: usize, len: usize) -> [&mut [f32]; 16] {
    let mut it = buf[base..].chunks_mut(plane);
    std::array::from_fn(|_| &mut it.next().expect("16 planes")[..len])
}

fn planes(buf: &[f32], base: usize, plane: usize, len: usize) -> [&[f32]; 16] {
    std::array::from_fn(|xi| &buf[base + xi * plane..base + xi * plane + len])
}

/// Scratch floats `input_transform` needs for chunks of up to `cols` columns and padded rows of
/// `wp` floats.
pub(crate) fn input_scratch_len(cols: usize, wp: usize) -> usize {
    8 * (cols + 1) + 4 * wp
}

/// Input transform `B^T d B` of one channel for a chunk: `row(rr)` gives the offset in `x` of
/// tile row `rr`'s plane (`h x w`, padded by `pad` zeros) and its tile-row index. Writes
/// `v[base + xi * plane + col]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn input_transform(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    cc: ChunkCols,
    row: impl Fn(usize) -> (usize, usize),
    scratch: &mut [f32],
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    let (n, s) = (cc.cols(), cc.stride());
    let wp = 2 * cc.tw + 2;
    let (eo, rbuf) = scratch.split_at_mut(8 * (n + 1));
    let mut eo_it = eo.chunks_exact_mut(n + 1);
    let mut eo: [&mut [f32]; 8] = std::array::from_fn(|_| eo_it.next().expect("8 rows"));
    let mut r_it = rbuf.chunks_exact_mut(wp);
    let mut r: [&mut [f32]; 4] = std::array::from_fn(|_| r_it.next().expect("4 rows"));
    let in_w = wp.min(pad_w + w) - pad_w;
    for rr in 0..cc.nr {
        let (x0, ty) = row(rr);
        let x = &x[x0..x0 + h * w];
        let y = |k: usize| {
            let yy = 2 * ty + k;
            (yy >= pad_h && yy - pad_h < h).then(|| &x[(yy - pad_h) * w..(yy - pad_h) * w + in_w])
        };
        let d: [Option<&[f32]>; 4] = std::array::from_fn(y);
        // B^T down the columns, on padded rows: (d0 - d2, d1 + d2, d2 - d1, d1 - d3).
        for (i, ri) in r.iter_mut().enumerate() {
            ri[..pad_w].fill(0.0);
            ri[pad_w + in_w..].fill(0.0);
            let out = &mut ri[pad_w..pad_w + in_w];
            let (a, b, add) = match i {
                0 => (d[0], d[2], false),
                1 => (d[1], d[2], true),
                2 => (d[2], d[1], false),
                _ => (d[1], d[3], false),
            };
            // out = a - b, or a + b for row 1; a missing row is zero padding.
            match (a, b) {
                (Some(a), Some(b)) if add => out
                    .iter_mut()
                    .zip(a.iter().zip(b))
                    .for_each(|(o, (x, y))| *o = x + y),
                (Some(a), Some(b)) => out
                    .iter_mut()
                    .zip(a.iter().zip(b))
                    .for_each(|(o, (x, y))| *o = x - y),
                (Some(a), None) => out.copy_from_slice(a),
                (None, Some(b)) if add => out.copy_from_slice(b),
                (None, Some(b)) => out.iter_mut().zip(b).for_each(|(o, y)| *o = -y),
                (None, None) => out.fill(0.0),
            }
        }
        // Split each padded row into even and odd columns at this tile row's place.
        for (i, ri) in r.iter().enumerate() {
            let (lo, hi) = eo.split_at_mut(4);
            let (e, o) = (
                &mut lo[i][rr * s..rr * s + s],
                &mut hi[i][rr * s..rr * s + s],
            );
            for ((ev, ov), pair) in e.iter_mut().zip(o.iter_mut()).zip(ri.chunks_exact(2)) {
                *ev = pair[0];
                *ov = pair[1];
            }
        }
    }
    for e in eo.iter_mut() {
        e[n] = 0.0;
    }
    // B^T across: tile t reads columns (e[t], o[t], e[t+1], o[t+1]).
    let mut vv = planes_mut(v, base, plane, n);
    for i in 0..4 {
        let (e, o) = (&eo[i][..n + 1], &eo[4 + i][..n + 1]);
        let (head, tail) = vv.split_at_mut(4 * i + 2);
        let (v0, v1) = head[4 * i..].split_at_mut(1);
        let (v2, v3) = tail[..2].split_at_mut(1);
        let (v0, v1, v2, v3) = (&mut *v0[0], &mut *v1[0], &mut *v2[0], &mut *v3[0]);
        for t in 0..n {
            v0[t] = e[t] - e[t + 1];
            v1[t] = o[t] + e[t + 1];
            v2[t] = e[t + 1] - o[t];
            v3[t] = o[t] - o[t + 1];
        }
    }
}

/// Scratch floats `output_transform` needs for chunks of up to `cols` columns.
pub(crate) fn output_scratch_len(cols: usize) -> usize {
    4 * cols
}

/// Output transform `A^T M A` + bias of one channel for a chunk; `out_row(rr)` gives the offset
/// in `out` of tile row `rr`'s output plane (`oh x ow`) and its tile-row index. Reads
/// `m[base + xi * plane + col]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn output_transform(
    m: &[f32],
    base: usize,
    plane: usize,
    cc: ChunkCols,
    (oh, ow): (usize, usize),
    bias: f32,
    scratch: &mut [f32],
    out: &mut [f32],
    out_row: impl Fn(usize) -> (usize, usize),
) {
    let (n, s) = (cc.cols(), cc.stride());
    let mm = planes(m, base, plane, n);
    let mut y_it = scratch[..4 * n].chunks_exact_mut(n);
    let [y00, y01, y10, y11]: [&mut [f32]; 4] =
        std::array::from_fn(|_| y_it.next().expect("4 rows"));
    for t in 0..n {
        let h0: [f32; 4] =
            std::array::from_fn(|i| mm[4 * i][t] + mm[4 * i + 1][t] + mm[4 * i + 2][t]);
        let h1: [f32; 4] =
            std::array::from_fn(|i| mm[4 * i + 1][t] - mm[4 * i + 2][t] - mm[4 * i + 3][t]);
        y00[t] = h0[0] + h0[1] + h0[2] + bias;
        y01[t] = h1[0] + h1[1] + h1[2] + bias;
        y10[t] = h0[1] - h0[2] - h0[3] + bias;
        y11[t] = h1[1] - h1[2] - h1[3] + bias;
    }
    for rr in 0..cc.nr {
        let (o0, ty) = out_row(rr);
        let out = &mut out[o0..o0 + oh * ow];
        let y0 = 2 * ty;
        let seg = rr * s..rr * s + cc.tw;
        let rows = [
            (y0, &y00[seg.clone()], &y01[seg.clone()]),
            (y0 + 1, &y10[seg.clone()], &y11[seg]),
        ];
        for (y, a, b) in rows {
            if y >= oh {
                continue;
            }
            let orow = &mut out[y * ow..(y + 1) * ow];
            let mut pairs = orow.chunks_exact_mut(2);
            for (pair, (&av, &bv)) in (&mut pairs).zip(a.iter().zip(b)) {
                pair[0] = av;
                pair[1] = bv;
            }
            if let [last] = pairs.into_remainder() {
                *last = a[cc.tw - 1];
            }
        }
    }
}

/// Scratch floats `grad_out_transform` needs for chunks of up to `cols` columns.
pub(crate) fn grad_scratch_len(cols: usize) -> usize {
    4 * cols
}

/// Output-gradient transform `A dY A^T` of one channel for a chunk, zero in the scratch
/// columns; `A` maps a pair (x0, x1) to (x0, x0 + x1, x0 - x1, -x1). `dy_row(rr)` gives the
/// offset in `dy` of tile row `rr`'s gradient plane (`oh x ow`, zero past its edges) and its
/// tile-row index.
#[allow(clippy::too_many_arguments)]
pub(crate) fn grad_out_transform(
    dy: &[f32],
    (oh, ow): (usize, usize),
    cc: ChunkCols,
    dy_row: impl Fn(usize) -> (usize, usize),
    scratch: &mut [f32],
    d: &mut [f32],
    base: usize,
    plane: usize,
) {
    let (n, s) = (cc.cols(), cc.stride());
    let mut it = scratch[..4 * n].chunks_exact_mut(n);
    let [ea, oa, eb, ob]: [&mut [f32]; 4] = std::array::from_fn(|_| it.next().expect("4 rows"));
    for rr in 0..cc.nr {
        let (d0, ty) = dy_row(rr);
        let dy = &dy[d0..d0 + oh * ow];
        let seg = rr * s..rr * s + s;
        for (r, e, o) in [
            (2 * ty, &mut ea[seg.clone()], &mut oa[seg.clone()]),
            (2 * ty + 1, &mut eb[seg.clone()], &mut ob[seg.clone()]),
        ] {
            e.fill(0.0);
            o.fill(0.0);
            if r >= oh {
                continue;
            }
            let row = &dy[r * ow..(r + 1) * ow];
            let mut pairs = row.chunks_exact(2);
            for ((ev, ov), pair) in e.iter_mut().zip(o.iter_mut()).zip(&mut pairs) {
                *ev = pair[0];
                *ov = pair[1];
            }
            if let [last] = pairs.remainder() {
                e[ow / 2] = *last;
            }
        }
    }
    let dd = planes_mut(d, base, plane, n);
    for t in 0..n {
        // A down the rows, for the even and the odd column; then A across.
        let e = [ea[t], ea[t] + eb[t], ea[t] - eb[t], -eb[t]];
        let o = [oa[t], oa[t] + ob[t], oa[t] - ob[t], -ob[t]];
        for i in 0..4 {
            dd[4 * i][t] = e[i];
            dd[4 * i + 1][t] = e[i] + o[i];
            dd[4 * i + 2][t] = e[i] - o[i];
            dd[4 * i + 3][t] = -o[i];
        }
    }
}

/// Weight transform `G g G^T` of one 3x3 kernel (row-major) into 16 values.
pub(crate) fn weight_tile(g: &[f32]) -> [f32; 16] {
    let expand = |a: f32, b: f32, c: f32| [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
    let cols: [[f32; 4]; 3] = std::array::from_fn(|j| expand(g[j], g[3 + j], g[6 + j]));
    let mut u = [0.0f32; 16];
    for i in 0..4 {
        let r = expand(cols[0][i], cols[1][i], cols[2][i]);
        u[4 * i..4 * i + 4].copy_from_slice(&r);
    }
    u
}

/// Back from the transformed domain for gradients: `G^T s G` of 16 values into a 3x3 kernel.
pub(crate) fn weight_grad_tile(s: &[f32; 16]) -> [f32; 9] {
    let reduce =
        |a: f32, b: f32, c: f32, d: f32| [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d];
    let cols: [[f32; 3]; 4] = std::array::from_fn(|j| reduce(s[j], s[4 + j], s[8 + j], s[12 + j]));
    let mut g = [0.0f32; 9];
    for i in 0..3 {
        let r = reduce(cols[0][i], cols[1][i], cols[2][i], cols[3][i]);
        g[3 * i..3 * i + 3].copy_from_slice(&r);
    }
    g
}
