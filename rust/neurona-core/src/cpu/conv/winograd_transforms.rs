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
#[inline(always)]
fn planes_mut(buf: &mut [f32], base: usize, plane: usize, len: usize) -> [&mut [f32]; 16] {
    let mut it = buf[base..].chunks_mut(plane);
    std::array::from_fn(|_| &mut it.next().expect("16 planes")[..len])
}

#[inline(always)]
fn planes(buf: &[f32], base: usize, plane: usize, len: usize) -> [&[f32]; 16] {
    std::array::from_fn(|xi| &buf[base + xi * plane..base + xi * plane + len])
}

/// Scratch floats `input_transform` needs for chunks of up to `cols` columns (besides its
/// `padded` rows).
pub(crate) fn input_scratch_len(cols: usize) -> usize {
    8 * (cols + 1)
}

/// Floats of the persistent `padded` buffer of `input_transform` for chunks of up to `cols`
/// columns: four arrays (even/odd padded rows, even/odd columns) of up to `2 * nr` rows.
pub(crate) fn input_padded_len(cols: usize) -> usize {
    8 * cols
}

/// Splits one input row (or a zero row when `src` is None) into the even and odd columns of
/// its padded version, `pad_w` zeros on the left. Only the positions that hold input are
/// written, the same ones for every row, so the padding columns stay zero once zeroed.
#[inline(always)]
fn split_row(src: Option<&[f32]>, pad_w: usize, ce: &mut [f32], co: &mut [f32]) {
    let Some(r) = src else {
        ce.fill(0.0);
        co.fill(0.0);
        return;
    };
    let (w, half) = (r.len(), r.len() / 2);
    if pad_w.is_multiple_of(2) {
        // Padded column 2k is input column 2k - pad_w: pairs land at k = m + pad_w / 2.
        let off = pad_w / 2;
        deinterleave(r, &mut ce[off..], &mut co[off..]);
        if w % 2 == 1 {
            ce[off + half] = r[w - 1];
        }
    } else {
        // pad_w == 1: input pair (2m, 2m + 1) is padded columns (2m + 1, 2m + 2).
        deinterleave(r, &mut co[..], &mut ce[1..]);
        if w % 2 == 1 {
            co[half] = r[w - 1];
        }
    }
}

/// Input transform `B^T d B` of one channel for a chunk: `row(rr)` gives the offset in `x` of
/// tile row `rr`'s plane (`h x w`, padded by `pad` zeros) and its tile-row index. Writes
/// `v[base + xi * plane + col]`.
///
/// Each input row is split into even and odd columns once (`padded`, see
/// `input_padded_len`; zeroed once by the caller and kept between calls), stored by row parity
/// so that the 4 rows of tile row `rr` are slots `rr` and `rr + 1` of the even- and odd-row
/// arrays: `B^T` down the columns is then one long loop per run of consecutive tile rows.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn input_transform(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    cc: ChunkCols,
    row: impl Fn(usize) -> (usize, usize),
    scratch: &mut [f32],
    padded: &mut [f32],
    v: &mut [f32],
    base: usize,
    plane: usize,
) {
    let (n, s) = (cc.cols(), cc.stride());
    let eo = &mut scratch[..8 * (n + 1)];
    let mut eo_it = eo.chunks_exact_mut(n + 1);
    let mut eo: [&mut [f32]; 8] = std::array::from_fn(|_| eo_it.next().expect("8 rows"));
    let slots = 2 * n;
    let mut p_it = padded[..4 * slots].chunks_exact_mut(slots);
    // [even rows, odd rows] x [even columns, odd columns].
    let [ce0, co0, ce1, co1]: [&mut [f32]; 4] =
        std::array::from_fn(|_| p_it.next().expect("4 arrays"));
    let (mut a, mut seg) = (0, 0);
    while a < cc.nr {
        // A run of tile rows of one sample with consecutive indices.
        let (x0, ty0) = row(a);
        let mut b = a + 1;
        while b < cc.nr && row(b) == (x0, ty0 + (b - a)) {
            b += 1;
        }
        let input_row = |pr: usize| {
            (pr >= pad_h && pr - pad_h < h)
                .then(|| &x[x0 + (pr - pad_h) * w..x0 + (pr - pad_h + 1) * w])
        };
        for q in 0..=b - a {
            let slot = (a + seg + q) * s..(a + seg + q + 1) * s;
            let pr = 2 * (ty0 + q);
            split_row(
                input_row(pr),
                pad_w,
                &mut ce0[slot.clone()],
                &mut co0[slot.clone()],
            );
            split_row(
                input_row(pr + 1),
                pad_w,
                &mut ce1[slot.clone()],
                &mut co1[slot],
            );
        }
        // B^T down the columns: (d0 - d2, d1 + d2, d2 - d1, d1 - d3), where for tile row rr
        // d0, d1 are slot rr of the even/odd-row arrays and d2, d3 slot rr + 1.
        let (lo, len, off) = (a * s, (b - a) * s, (a + seg) * s);
        for (c, (ev, od)) in [(&*ce0, &*ce1), (&*co0, &*co1)].into_iter().enumerate() {
            let (d0, d2) = (&ev[off..off + len], &ev[off + s..off + s + len]);
            let (d1, d3) = (&od[off..off + len], &od[off + s..off + s + len]);
            let (e01, e23) = eo[4 * c..4 * c + 4].split_at_mut(2);
            let (e0, e1) = e01.split_at_mut(1);
            let (e2, e3) = e23.split_at_mut(1);
            let (e0, e1) = (&mut e0[0][lo..lo + len], &mut e1[0][lo..lo + len]);
            let (e2, e3) = (&mut e2[0][lo..lo + len], &mut e3[0][lo..lo + len]);
            for t in 0..len {
                e0[t] = d0[t] - d2[t];
                e1[t] = d1[t] + d2[t];
                e2[t] = d2[t] - d1[t];
                e3[t] = d1[t] - d3[t];
            }
        }
        a = b;
        seg += 1;
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

/// `e[k] = src[2k]`, `o[k] = src[2k + 1]` for the pairs in `src` (as many as `e` and `o`
/// hold). Blocks of a fixed size let the compiler turn the strided accesses into shuffles.
#[inline(always)]
fn deinterleave(src: &[f32], e: &mut [f32], o: &mut [f32]) {
    let pairs = (src.len() / 2).min(e.len()).min(o.len());
    let mut k = 0;
    while k + 8 <= pairs {
        deinterleave_block::<8, 16>(&src[2 * k..2 * k + 16], &mut e[k..k + 8], &mut o[k..k + 8]);
        k += 8;
    }
    if k + 4 <= pairs {
        deinterleave_block::<4, 8>(&src[2 * k..2 * k + 8], &mut e[k..k + 4], &mut o[k..k + 4]);
        k += 4;
    }
    for k in k..pairs {
        e[k] = src[2 * k];
        o[k] = src[2 * k + 1];
    }
}

#[inline(always)]
fn deinterleave_block<const N: usize, const N2: usize>(src: &[f32], e: &mut [f32], o: &mut [f32]) {
    let src: &[f32; N2] = src.try_into().expect("2N floats");
    let (e, o): (&mut [f32; N], &mut [f32; N]) =
        (e.try_into().expect("N"), o.try_into().expect("N"));
    for k in 0..N {
        e[k] = src[2 * k];
        o[k] = src[2 * k + 1];
    }
}

/// `out[2t] = a[t]`, `out[2t + 1] = b[t]` while `out` lasts (an odd length ends on an `a`).
#[inline(always)]
fn interleave(a: &[f32], b: &[f32], out: &mut [f32]) {
    let full = (out.len() / 8).min(a.len() / 4).min(b.len() / 4);
    for ((oc, ac), bc) in out
        .chunks_exact_mut(8)
        .zip(a.chunks_exact(4))
        .zip(b.chunks_exact(4))
        .take(full)
    {
        let oc: &mut [f32; 8] = oc.try_into().expect("8 floats");
        let (ac, bc): (&[f32; 4], &[f32; 4]) =
            (ac.try_into().expect("4"), bc.try_into().expect("4"));
        for k in 0..4 {
            oc[2 * k] = ac[k];
            oc[2 * k + 1] = bc[k];
        }
    }
    let (done, half) = (4 * full, out.len() / 2);
    let mut pairs = out[2 * done..].chunks_exact_mut(2);
    for (pair, (&av, &bv)) in (&mut pairs).zip(a[done..].iter().zip(&b[done..])) {
        pair[0] = av;
        pair[1] = bv;
    }
    if let [last] = pairs.into_remainder() {
        *last = a[half];
    }
}

/// Scratch floats `output_transform` needs for chunks of up to `cols` columns.
pub(crate) fn output_scratch_len(cols: usize) -> usize {
    12 * cols
}

/// Output transform `A^T M A` + bias of one channel for a chunk; `out_row(rr)` gives the offset
/// in `out` of tile row `rr`'s output plane (`oh x ow`) and its tile-row index. Reads
/// `m[base + xi * plane + col]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
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
    let (h, y) = scratch[..12 * n].split_at_mut(8 * n);
    let mut h_it = h.chunks_exact_mut(n);
    let mut h: [&mut [f32]; 8] = std::array::from_fn(|_| h_it.next().expect("8 rows"));
    // A^T across each row i of the tile: h0 = m0 + m1 + m2, h1 = m1 - m2 - m3.
    for i in 0..4 {
        let (h0, h1) = h[2 * i..2 * i + 2].split_at_mut(1);
        let (h0, h1) = (&mut h0[0][..n], &mut h1[0][..n]);
        let (m0, m1, m2, m3) = (
            &mm[4 * i][..n],
            &mm[4 * i + 1][..n],
            &mm[4 * i + 2][..n],
            &mm[4 * i + 3][..n],
        );
        for t in 0..n {
            h0[t] = m0[t] + m1[t] + m2[t];
            h1[t] = m1[t] - m2[t] - m3[t];
        }
    }
    // A^T down: row 0 = h(0) + h(1) + h(2), row 1 = h(1) - h(2) - h(3), then the bias.
    let mut y_it = y.chunks_exact_mut(n);
    let [y00, y01, y10, y11]: [&mut [f32]; 4] =
        std::array::from_fn(|_| y_it.next().expect("4 rows"));
    for (j, (ya, yb)) in [(y00, y10), (y01, y11)].into_iter().enumerate() {
        let (a, b, c, d) = (&h[j][..n], &h[2 + j][..n], &h[4 + j][..n], &h[6 + j][..n]);
        let (ya, yb) = (&mut ya[..n], &mut yb[..n]);
        for t in 0..n {
            ya[t] = a[t] + b[t] + c[t] + bias;
            yb[t] = b[t] - c[t] - d[t] + bias;
        }
    }
    let (y00, y01, y10, y11) = (&y[..n], &y[n..2 * n], &y[2 * n..3 * n], &y[3 * n..4 * n]);
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
            interleave(a, b, orow);
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
#[inline(always)]
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
            // Every column is written (no fills: at these lengths they become memset calls).
            let row = if r < oh {
                &dy[r * ow..(r + 1) * ow]
            } else {
                &[][..]
            };
            let pairs = row.len() / 2;
            deinterleave(row, e, o);
            for t in pairs..s {
                e[t] = if 2 * t < row.len() { row[2 * t] } else { 0.0 };
                o[t] = 0.0;
            }
        }
    }
    let [d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15] =
        planes_mut(d, base, plane, n);
    let (ea, oa, eb, ob) = (&ea[..n], &oa[..n], &eb[..n], &ob[..n]);
    // A down the rows gives, for the even and the odd column, (a, a + b, a - b, -b); then A
    // across each of those four rows.
    a_across([d0, d1, d2, d3], |t| (ea[t], oa[t]));
    a_across([d4, d5, d6, d7], |t| (ea[t] + eb[t], oa[t] + ob[t]));
    a_across([d8, d9, d10, d11], |t| (ea[t] - eb[t], oa[t] - ob[t]));
    a_across([d12, d13, d14, d15], |t| (-eb[t], -ob[t]));
}

/// `A` across one row of the gradient transform: (e, o) -> (e, e + o, e - o, -o).
#[inline(always)]
fn a_across([d0, d1, d2, d3]: [&mut [f32]; 4], eo: impl Fn(usize) -> (f32, f32)) {
    let n = d0.len();
    let (d1, d2, d3) = (&mut d1[..n], &mut d2[..n], &mut d3[..n]);
    for t in 0..n {
        let (e, o) = eo(t);
        d0[t] = e;
        d1[t] = e + o;
        d2[t] = e - o;
        d3[t] = -o;
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
