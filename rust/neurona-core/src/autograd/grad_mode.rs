//! Whether ops record the graph. Thread-local, like PyTorch's: `no_grad` in one thread does not
//! affect another.

use std::cell::Cell;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn is_grad_enabled() -> bool {
    ENABLED.with(|e| e.get())
}

pub fn set_grad_enabled(on: bool) {
    ENABLED.with(|e| e.set(on));
}

/// Disables gradient recording until dropped, then restores the previous mode.
pub struct NoGradGuard {
    prev: bool,
}

impl NoGradGuard {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let prev = is_grad_enabled();
        set_grad_enabled(false);
        NoGradGuard { prev }
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.prev);
    }
}
