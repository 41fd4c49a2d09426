//! The tile transforms of Winograd's F(2x2, 3x3), one row of tiles at a time.
//!
//! With `B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]`, `G = [[1,0,0],[.5,.5,.5],
//! [.5,-.5,.5],[0,0,1]]` and `A^T = [[1,1,1,0],[0,1,-1,-1]]`, a 2x2 output tile of a 3x3
//! correlation is `Y = A^T [(G g G^T) . (B^T d B)] A` for the 4x4 input tile `d` (stride 2
//! between tiles), and the weight gradient of the tile is `G^T [(A dY A^T) . (B^T d B)] G`.
//!
//! Transformed data is stored as 16 planes (one per position `xi = 4 * i + j` of the 4x4
//! tile), each a `rows x cols` matrix whose columns are tiles, so that the 16 products become
//! GEMMs. Every function handles a whole row of `tw` tiles: first along the image rows (long
//! contiguous vectors), then across the even/odd columns, so the loops vectorise.

/// Where one channel's tile row goes in a 16-plane buffer: element (xi, t) of the row is at
/// `buf[xi * plane + offset + t]`.
#[derive(Clone, Copy)]
pub(crate) struct Dest {
    pub plane: usize,
    pub offset: usize,
}

/// Input transform `B^T d B` of tile row `ty` of one (h x w) channel plane, padded by
/// (pad_h, pad_w) zeros. `eo` is scratch of `8 * (tw + 1)` floats.
#[allow(clippy::too_many_arguments)]
pub(crate) fn input_row(
    x: &[f32],
    (h, w): (usize, usize),
    (pad_h, pad_w): (usize, usize),
    ty: usize,
    tw: usize,
    eo: &mut [f32],
    v: &mut [f32],
    dst: Dest,
) {
    let n = tw + 1;
    let (e, o) = eo[..8 * n].split_at_mut(4 * n);
    // Padded column 2k is input column 2k - pad_w; split the four rows into even/odd columns.
    for r in 0..4 {
        let (er, or) = (&mut e[r * n..(r + 1) * n], &mut o[r * n..(r + 1) * n]);
        let yy = 2 * ty + r;
        if yy < pad_h || yy - pad_h >= h {
            er.fill(0.0);
            or.fill(0.0);
            continue;
        }
        let row = &x[(yy - pad_h) * w..(yy - pad_h + 1) * w];
        let get = |c: usize| {
            if c >= pad_w && c - pad_w < w {
                row[c - pad_w]
            } else {
                0.0
            }
        };
        // Interior k: both 2k - pad_w >= 0 and 2k + 1 - pad_w < w.
        let k_lo = pad_w.div_ceil(2).min(n);
        let k_hi = ((w + pad_w) / 2).min(n).max(k_lo);
        for k in (0..k_lo).chain(k_hi..n) {
            er[k] = get(2 * k);
            or[k] = get(2 * k + 1);
        }
        let src = &row[2 * k_lo - pad_w..2 * k_hi - pad_w];
        for ((ev, ov), pair) in er[k_lo..k_hi]
            .iter_mut()
            .zip(&mut or[k_lo..k_hi])
            .zip(src.chunks_exact(2))
        {
            *ev = pair[0];
            *ov = pair[1];
        }
    }
    // B^T along the rows, in place: (d0 - d2, d1 + d2, d2 - d1, d1 - d3).
    for half in [&mut *e, &mut *o] {
        let (r0, rest) = half.split_at_mut(n);
        let (r1, rest) = rest.split_at_mut(n);
        let (r2, r3) = rest.split_at_mut(n);
        for k in 0..n {
            let (d0, d1, d2, d3) = (r0[k], r1[k], r2[k], r3[k]);
            r0[k] = d0 - d2;
            r1[k] = d1 + d2;
            r2[k] = d2 - d1;
            r3[k] = d1 - d3;
        }
    }
    // B^T along the columns: tile t reads columns (2t, 2t+1, 2t+2, 2t+3) = (e[t], o[t],
    // e[t+1], o[t+1]).
    for i in 0..4 {
        let (er, or) = (&e[i * n..(i + 1) * n], &o[i * n..(i + 1) * n]);
        let base = 4 * i * dst.plane + dst.offset;
        let (v0, rest) = v[base..].split_at_mut(dst.plane);
        let (v1, rest) = rest.split_at_mut(dst.plane);
        let (v2, v3) = rest.split_at_mut(dst.plane);
        let (v0, v1, v2, v3) = (&mut v0[..tw], &mut v1[..tw], &mut v2[..tw], &mut v3[..tw]);
        for t in 0..tw {
            v0[t] = er[t] - er[t + 1];
            v1[t] = or[t] + er[t + 1];
            v2[t] = er[t + 1] - or[t];
            v3[t] = or[t] - or[t + 1];
        }
    }
}

/// Output transform `A^T M A` (+ bias) of tile row `ty` into one (oh x ow) output plane; `m`
/// holds the 16 planes, this channel's tile row at `src`.
pub(crate) fn output_row(
    m: &[f32],
    src: Dest,
    tw: usize,
    ty: usize,
    (oh, ow): (usize, usize),
    bias: f32,
    out: &mut [f32],
) {
    let mm: [&[f32]; 16] = std::array::from_fn(|xi| &m[xi * src.plane + src.offset..][..tw]);
    let y0 = 2 * ty;
    let two_rows = y0 + 1 < oh;
    let (row0, row1) = out[y0 * ow..].split_at_mut(ow);
    let row1 = if two_rows {
        &mut row1[..ow]
    } else {
        &mut [][..]
    };
    let full = ow / 2;
    for t in 0..tw {
        let h0: [f32; 4] =
            std::array::from_fn(|i| mm[4 * i][t] + mm[4 * i + 1][t] + mm[4 * i + 2][t]);
        let h1: [f32; 4] =
            std::array::from_fn(|i| mm[4 * i + 1][t] - mm[4 * i + 2][t] - mm[4 * i + 3][t]);
        let y00 = h0[0] + h0[1] + h0[2] + bias;
        let y01 = h1[0] + h1[1] + h1[2] + bias;
        let y10 = h0[1] - h0[2] - h0[3] + bias;
        let y11 = h1[1] - h1[2] - h1[3] + bias;
        if t < full {
            row0[2 * t] = y00;
            row0[2 * t + 1] = y01;
            if two_rows {
                row1[2 * t] = y10;
                row1[2 * t + 1] = y11;
            }
        } else {
            row0[2 * t] = y00;
            if two_rows {
                row1[2 * t] = y10;
            }
        }
    }
}

/// Output-gradient transform `A dY A^T` of tile row `ty` of one (oh x ow) gradient plane (zero
/// past its edges), with `A` applied to a pair (x0, x1) as (x0, x0 + x1, x0 - x1, -x1).
/// `eo` is scratch of `4 * tw` floats.
pub(crate) fn grad_out_row(
    dy: &[f32],
    (oh, ow): (usize, usize),
    ty: usize,
    tw: usize,
    eo: &mut [f32],
    d: &mut [f32],
    dst: Dest,
) {
    let (ea, rest) = eo[..4 * tw].split_at_mut(tw);
    let (oa, rest) = rest.split_at_mut(tw);
    let (eb, ob) = rest.split_at_mut(tw);
    for (r, (ev, ov)) in [
        (2 * ty, (&mut *ea, &mut *oa)),
        (2 * ty + 1, (&mut *eb, &mut *ob)),
    ] {
        if r >= oh {
            ev.fill(0.0);
            ov.fill(0.0);
            continue;
        }
        let row = &dy[r * ow..(r + 1) * ow];
        for (t, pair) in row.chunks_exact(2).enumerate() {
            ev[t] = pair[0];
            ov[t] = pair[1];
        }
        if ow % 2 == 1 {
            ev[tw - 1] = row[ow - 1];
            ov[tw - 1] = 0.0;
        }
    }
    let dd: [&mut [f32]; 16] = {
        let mut planes = d[dst.offset..].chunks_mut(dst.plane);
        std::array::from_fn(|_| planes.next().expect("16 planes"))
    };
    for t in 0..tw {
        // A along the rows: (a, a + b, a - b, -b), for the even and the odd column.
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

/// Inverse of the weight transform for gradients: `G^T s G` of 16 values into a 3x3 kernel.
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
