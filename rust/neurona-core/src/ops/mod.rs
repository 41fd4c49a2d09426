//! Differentiable operations on `Tensor`, one family a file. Each file holds the forward of its
//! ops and, beside it, the `BackwardOp` that differentiates it.

pub mod batch_norm;
pub mod binary;
pub mod compare;
pub mod conv;
pub mod create;
pub mod index;
pub mod inplace;
pub mod kernels;
pub mod linalg;
pub mod loss;
pub mod optim_step;
pub mod reduce;
pub mod rnn;
pub mod softmax;
pub mod unary;
pub mod view;

use crate::tensor::Tensor;
use crate::Result;

/// Sums `g` over broadcast dimensions so it has `shape` again: the backward of broadcasting.
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let lead = g.ndim() - shape.len();
    let mut axes: Vec<usize> = (0..lead).collect();
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && g.shape()[lead + i] != 1 {
            axes.push(lead + i);
        }
    }
    let summed = g.sum_axes(&axes, true)?;
    summed.reshape(shape)
}
