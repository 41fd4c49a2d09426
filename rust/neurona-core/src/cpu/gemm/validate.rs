//! Checks that turn a bad call into a clear panic before any raw-pointer code runs: shapes
//! agree, every element (of every batch item) lies inside its slice, and a bias covers every
//! column. Also decides whether C's elements are provably distinct, which parallel writes need.

use super::Epilogue;

/// One past the largest index of a rows x cols matrix with strides (rs, cs); 0 when empty.
/// None if it overflows.
pub(super) fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// Panics unless `batch` matrices of this shape, `stride` apart, fit in `len` elements.
pub(super) fn check_fits(
    what: &str,
    len: usize,
    (rows, cols, rs, cs): (usize, usize, usize, usize),
    batch: usize,
    stride: usize,
) {
    let one = span(rows, cols, rs, cs);
    let total = match (one, batch) {
        (_, 0) | (Some(0), _) => Some(0),
        (Some(s), b) => (b - 1).checked_mul(stride).and_then(|o| o.checked_add(s)),
        (None, _) => None,
    };
    match total {
        Some(t) if t <= len => {}
        _ => panic!(
            "sgemm: {what} ({rows} x {cols}, strides {rs}, {cs}, batch {batch} every {stride}) \
             does not fit in a slice of {len} elements"
        ),
    }
}

/// True when distinct (i, j) of a rows x cols matrix map to distinct indices for the simple
/// layouts that occur in practice (rows or columns contiguous up to padding). Other layouts
/// may still be disjoint; they are just not proven so, and run on one thread.
pub(super) fn disjoint(rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    if rows <= 1 || cols <= 1 {
        return (rows <= 1 || rs >= 1) && (cols <= 1 || cs >= 1);
    }
    let row_major = cs >= 1 && cols.checked_mul(cs).is_some_and(|w| rs >= w);
    let col_major = rs >= 1 && rows.checked_mul(rs).is_some_and(|h| cs >= h);
    row_major || col_major
}

/// Panics unless a bias has one value per column.
pub(super) fn check_bias(bias: &[f32], cols: usize) {
    assert!(
        bias.len() >= cols,
        "sgemm: bias has {} values for {cols} columns",
        bias.len()
    );
}

/// The epilogue as the micro-kernels take it: the bias pointer (null for none) and whether
/// ReLU follows; a bias of the wrong length panics here, before any work starts.
pub(super) fn epilogue_parts(epilogue: Epilogue, cols: usize) -> (*const f32, bool) {
    match epilogue {
        Epilogue::None => (std::ptr::null(), false),
        Epilogue::Bias(bias) => (check_bias_ptr(bias, cols), false),
        Epilogue::BiasRelu(bias) => (check_bias_ptr(bias, cols), true),
        Epilogue::Relu => (std::ptr::null(), true),
    }
}

fn check_bias_ptr(bias: &[f32], cols: usize) -> *const f32 {
    check_bias(bias, cols);
    bias.as_ptr()
}
