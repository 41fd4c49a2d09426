//! Small types the op files name when they call the backend, shared by the builds with and
//! without the `cuda` feature.

/// A reduction over the middle axis of a tensor seen as [outer, r, inner].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    /// Sum, accumulated in double precision (as the CPU kernel does).
    Sum,
    Max,
    Min,
    /// Index (int64) of the largest element; the first one wins ties, a NaN wins over numbers.
    ArgMax,
    ArgMin,
}

/// Elementwise functions of two float32 tensors that backward rules need besides arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipKind {
    /// ln(a), or 0 where a == 0 (the exponent's gradient of a^b); b only sets the shape.
    LnOrZero,
    /// 1 where a > b, 0.5 where a == b, else 0: how maximum splits its gradient.
    MaxWeight,
    /// The same for minimum (a < b wins).
    MinWeight,
    /// 1.0 where a == b, else 0.0: the elements equal to the kept extremum.
    EqMask,
}
