//! The `neurona._core` extension module: thin PyO3 bindings over neurona-core. They convert
//! and check arguments, release the GIL, call the core, and turn errors into exceptions.

mod conv_bindings;
mod cuda_bindings;
mod errors;
mod functions;
mod numpy_bridge;
mod optim_bindings;
mod py_tensor;
mod rnn_bindings;

use pyo3::prelude::*;

/// mimalloc keeps freed pages mapped and reuses them: with the system allocator each large
/// tensor of a training step (activations, gradients) came back as fresh pages that the
/// kernel had to fault in and zero at every step.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in the C enum `mi_option_e`, the same in
/// mimalloc 2 and 3; the Rust crate leaves it unnamed).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the OS after this many idle milliseconds. mimalloc's effective
/// default here purged between two training steps, so every step faulted its activations in
/// again (186 000 page faults in 40 CNN steps, against 10 000 with one second). A user's own
/// `MIMALLOC_PURGE_DELAY` wins.
const PURGE_DELAY_MS: std::ffi::c_long = 1000;

fn keep_freed_pages_for_a_while() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option; no allocation is in flight in this thread, and the
        // option is only read when deciding whether to purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    keep_freed_pages_for_a_while();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<py_tensor::PyTensor>()?;
    m.add_class::<numpy_bridge::StorageOwner>()?;
    use functions::*;
    for f in [
        wrap_pyfunction!(from_numpy, m)?,
        wrap_pyfunction!(full, m)?,
        wrap_pyfunction!(arange, m)?,
        wrap_pyfunction!(linspace, m)?,
        wrap_pyfunction!(eye, m)?,
        wrap_pyfunction!(rand, m)?,
        wrap_pyfunction!(randn, m)?,
        wrap_pyfunction!(randint, m)?,
        wrap_pyfunction!(randperm, m)?,
        wrap_pyfunction!(cat, m)?,
        wrap_pyfunction!(stack, m)?,
        wrap_pyfunction!(where_, m)?,
        wrap_pyfunction!(manual_seed, m)?,
        wrap_pyfunction!(get_rng_state, m)?,
        wrap_pyfunction!(set_rng_state, m)?,
        wrap_pyfunction!(set_num_threads, m)?,
        wrap_pyfunction!(get_num_threads, m)?,
        wrap_pyfunction!(set_grad_enabled, m)?,
        wrap_pyfunction!(is_grad_enabled, m)?,
        wrap_pyfunction!(isa_name, m)?,
    ] {
        m.add_function(f)?;
    }
    conv_bindings::register(m)?;
    optim_bindings::register(m)?;
    cuda_bindings::register(m)?;
    m.add_function(wrap_pyfunction!(rnn_bindings::rnn_layer, m)?)?;
    Ok(())
}
