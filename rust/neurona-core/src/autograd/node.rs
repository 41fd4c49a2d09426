//! A graph node: the inputs of the op that made a tensor and the op's backward rule.
//!
//! Each op defines its backward rule next to its forward (in `crate::ops`) by implementing
//! `BackwardOp`; the node owns it until a backward pass without `retain_graph` frees it.

use crate::tensor::Tensor;
use crate::{bail, Result};
use std::sync::Mutex;

/// The backward rule of one op: given the gradient of the output, the gradient of each input
/// (None for an input that needs none). Saved tensors live inside the implementor.
pub trait BackwardOp: Send + Sync {
    fn name(&self) -> &'static str;
    fn backward(&self, grad: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>>;
}

pub struct Node {
    pub inputs: Vec<Tensor>,
    name: &'static str,
    op: Mutex<Option<Box<dyn BackwardOp>>>,
}

impl Node {
    pub fn new(inputs: Vec<Tensor>, op: Box<dyn BackwardOp>) -> Self {
        Node {
            inputs,
            name: op.name(),
            op: Mutex::new(Some(op)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the backward rule; `free` drops the rule (and its saved tensors) afterwards.
    pub fn run(&self, grad: &Tensor, free: bool) -> Result<Vec<Option<Tensor>>> {
        let mut slot = self.op.lock().unwrap_or_else(|e| e.into_inner());
        let Some(op) = slot.as_ref() else {
            bail!(
                Runtime,
                "trying to backward through the graph a second time (through {}): its saved \
                 values were freed after the first backward; call backward(retain_graph=True) \
                 the first time if you need to backward twice",
                self.name
            );
        };
        let grads = op.backward(grad, &self.inputs)?;
        if free {
            *slot = None;
        }
        Ok(grads)
    }
}
