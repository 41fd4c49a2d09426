//! The backward pass: one iterative topological sort from the root (no recursion, so chains of
//! any length work), then gradients flow in reverse order and accumulate into leaves' `.grad`.

use super::grad_mode::NoGradGuard;
use crate::tensor::layout_fmt_shape as fmt_shape;
use crate::tensor::Tensor;
use crate::{bail, Result};
use std::collections::HashMap;

/// Backpropagates `grad` (ones for a scalar root when None) from `root`.
pub fn backward(root: &Tensor, grad: Option<Tensor>, retain_graph: bool) -> Result<()> {
    if !root.requires_grad() {
        bail!(
            Runtime,
            "element 0 of tensors does not require grad and does not have a grad_fn: call \
             backward() on a result computed from tensors with requires_grad=True"
        );
    }
    let grad = match grad {
        Some(g) => {
            if g.shape() != root.shape() {
                bail!(
                    Value,
                    "backward: gradient has shape {}, but the output has shape {}",
                    fmt_shape(g.shape()),
                    fmt_shape(root.shape())
                );
            }
            g.detach()
        }
        None => {
            if root.numel() != 1 {
                bail!(
                    Runtime,
                    "grad can be implicitly created only for scalar outputs, but the output has \
                     shape {}: pass a gradient, as in y.backward(neurona.ones_like(y))",
                    fmt_shape(root.shape())
                );
            }
            crate::cuda::full(root.shape(), 1.0, root.device())?
        }
    };
    let _guard = NoGradGuard::new();
    let order = topo_order(root);
    let mut grads: HashMap<usize, Tensor> = HashMap::new();
    grads.insert(root.id(), grad);
    for t in order.iter().rev() {
        let Some(g) = grads.remove(&t.id()) else {
            continue;
        };
        let Some(node) = t.node() else {
            accumulate_leaf(t, g)?;
            continue;
        };
        if t.retains_grad() {
            accumulate_leaf(t, g.clone())?;
        }
        let input_grads = node.run(&g, !retain_graph)?;
        for (input, ig) in node.inputs.iter().zip(input_grads) {
            let Some(ig) = ig else { continue };
            if !input.requires_grad() {
                continue;
            }
            debug_assert_eq!(
                ig.shape(),
                input.shape(),
                "{} gave a gradient of the wrong shape",
                node.name()
            );
            match grads.remove(&input.id()) {
                Some(prev) => grads.insert(input.id(), prev.add(&ig)?),
                None => grads.insert(input.id(), ig),
            };
        }
    }
    Ok(())
}

fn accumulate_leaf(t: &Tensor, g: Tensor) -> Result<()> {
    let new = match t.grad() {
        Some(prev) => prev.add(&g)?,
        // A buffer nobody else can see (the usual output of a backward rule) becomes .grad as
        // is. Anything shared gets a fresh copy: one gradient tensor can flow to several
        // inputs (as in a + b), and the user may update .grad in place
        // (zero_grad(set_to_none=False)).
        None if g.is_exclusive() => g,
        None => crate::cuda::fresh_copy(&g)?,
    };
    t.set_grad(Some(new.detach()))
}

/// Tensors reachable from `root` that require grad, each after all of its inputs.
fn topo_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut visited = std::collections::HashSet::new();
    // (tensor, index of the next input to visit)
    let mut stack: Vec<(Tensor, usize)> = vec![(root.clone(), 0)];
    visited.insert(root.id());
    while let Some((t, i)) = stack.pop() {
        let inputs = t.node().map(|n| n.inputs.as_slice()).unwrap_or(&[]);
        if i < inputs.len() {
            let next = inputs[i].clone();
            stack.push((t, i + 1));
            if next.requires_grad() && visited.insert(next.id()) {
                stack.push((next, 0));
            }
        } else {
            order.push(t);
        }
    }
    order
}
