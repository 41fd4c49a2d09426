//! Reverse-mode automatic differentiation: the graph node, grad mode, and the backward walk.

mod grad_mode;
mod node;
mod walk;

pub use grad_mode::{is_grad_enabled, set_grad_enabled, NoGradGuard};
pub use node::{BackwardOp, Node};
pub use walk::backward;
