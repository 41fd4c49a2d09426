//! Fused optimizer update kernels, one pass over a parameter and its state per step.
