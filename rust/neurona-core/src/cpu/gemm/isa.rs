//! Which micro-kernel runs: detected once from the CPU's features, optionally lowered by the
//! environment variable `NEURONA_ISA` ("avx2", "portable"; read once). A value naming an ISA
//! this CPU lacks, or an unknown value, is ignored and the best kernel is used.

use super::kernel::KernelSet;
use std::sync::OnceLock;

/// The instruction sets a micro-kernel exists for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    Portable,
    Avx2,
    Avx512,
    Neon,
}

impl Isa {
    /// Worst to best (only one of Avx512 and Neon exists on a given architecture).
    pub(super) const ALL: [Isa; 4] = [Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Neon];

    fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "portable" => Some(Isa::Portable),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            "neon" => Some(Isa::Neon),
            _ => None,
        }
    }
}

/// The kernel set of `isa` if this build has it and this CPU can run it.
pub(super) fn kernels(isa: Isa) -> Option<&'static KernelSet> {
    match isa {
        Isa::Portable => Some(&super::kernel_portable::KERNELS),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") => {
            Some(&super::kernel_avx2::KERNELS)
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma") =>
        {
            Some(&super::kernel_avx512::KERNELS)
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon if std::arch::is_aarch64_feature_detected!("neon") => {
            Some(&super::kernel_neon::KERNELS)
        }
        _ => None,
    }
}

/// The best ISA this CPU runs.
fn best() -> Isa {
    Isa::ALL
        .into_iter()
        .rev()
        .find(|isa| kernels(*isa).is_some())
        .unwrap_or(Isa::Portable)
}

/// The kernel set used by `sgemm`, chosen on first use.
pub(super) fn active() -> &'static KernelSet {
    static ACTIVE: OnceLock<&'static KernelSet> = OnceLock::new();
    ACTIVE.get_or_init(|| {
        let forced = std::env::var("NEURONA_ISA")
            .ok()
            .and_then(|v| Isa::from_name(&v));
        forced
            .and_then(kernels)
            .or_else(|| kernels(best()))
            .unwrap_or(&super::kernel_portable::KERNELS)
    })
}
