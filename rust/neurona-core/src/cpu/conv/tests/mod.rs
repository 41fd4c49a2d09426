//! Tests of the conv and pooling kernels; `reference` holds the naive f64 implementations.

mod conv_tests;
mod pool_tests;
mod reference;
mod validation_tests;
