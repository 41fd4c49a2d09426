//! Dropout on the GPU: the keep/scale mask is drawn on the device (kernels/random.cu) from a
//! seed taken from neurona's global generator, then multiplied in as on the CPU, so the graph
//! and the gradient are the CPU's. The mask differs from the CPU's for the same seed (another
//! generator) but is reproducible with `manual_seed`.

use super::launch;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{alloc, gpu_of, wrap, CudaStorage};
use crate::tensor::Tensor;
use crate::Result;

/// x * mask with mask = 1/(1-p) with probability 1-p, else 0. `p` is checked by the caller.
pub fn dropout(x: &Tensor, p: f32) -> Result<Tensor> {
    let g = gpu_of(x)?;
    let n = x.numel();
    let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
    let seed = crate::rng::with_global(|r| r.next_u64());
    let mut mask = alloc::<f32>(&g, n)?;
    if n > 0 {
        let n64 = n as i64;
        launch!(
            g,
            Random,
            "dropout_mask",
            cfg::elems(n),
            [&mut mask, &n64, &seed, &p, &scale]
        )?;
    }
    x.mul(&wrap(CudaStorage::F32(mask), x.shape()))
}
