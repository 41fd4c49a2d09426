//! Block sizes from the cache sizes, read once at run time.
//!
//! BLIS's rules, tuned on Zen 3: a kc x NR panel of B fills about three quarters of L1 (it is
//! reused by every A panel of the block while the rest streams A; a half, BLIS's usual choice,
//! measured 2-3% slower on large products), an mc x kc block of A about half of L2, and a
//! kc x nc panel of B a share of L3. Only kc changes results (it fixes where partial sums are
//! rounded into C); it depends on the kernel and the machine, never on the thread count.

use std::sync::OnceLock;

/// Data cache sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Caches {
    pub l1d: usize,
    pub l2: usize,
    pub l3: usize,
}

/// Used where the sizes cannot be read: typical of current x86 and ARM cores.
const DEFAULT: Caches = Caches {
    l1d: 32 << 10,
    l2: 512 << 10,
    l3: 8 << 20,
};

/// The block sizes for one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Blocking {
    /// Rows of A per packed block, a multiple of MR.
    pub mc: usize,
    /// Depth of one packed block; K is cut into near-equal pieces no deeper than this.
    pub kc: usize,
    /// Columns of B per packed panel, a multiple of NR.
    pub nc: usize,
}

pub(super) fn caches() -> Caches {
    static CACHES: OnceLock<Caches> = OnceLock::new();
    *CACHES.get_or_init(|| read_sysfs().unwrap_or(DEFAULT))
}

/// Linux: /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}.
fn read_sysfs() -> Option<Caches> {
    let mut found = Caches {
        l1d: 0,
        l2: 0,
        l3: 0,
    };
    let base = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    for entry in std::fs::read_dir(base).ok()?.flatten() {
        let dir = entry.path();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            continue;
        };
        let Some(bytes) = parse_size(&size) else {
            continue;
        };
        match (level.trim(), kind.trim()) {
            ("1", "Data" | "Unified") => found.l1d = bytes,
            ("2", "Data" | "Unified") => found.l2 = bytes,
            ("3", "Data" | "Unified") => found.l3 = bytes,
            _ => {}
        }
    }
    Some(Caches {
        l1d: if found.l1d > 0 {
            found.l1d
        } else {
            DEFAULT.l1d
        },
        l2: if found.l2 > 0 { found.l2 } else { DEFAULT.l2 },
        l3: if found.l3 > 0 { found.l3 } else { DEFAULT.l3 },
    })
}

/// "32K", "1024K", "32M", "65536" (bytes).
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.trim().parse::<usize>().ok()?.checked_mul(mult)
}

/// Block sizes for an MR x NR kernel on caches `c`, clamped to sane ranges so that odd
/// reported sizes (or none) cannot produce degenerate blocks.
pub(super) fn blocking_for(c: Caches, mr: usize, nr: usize) -> Blocking {
    const F32: usize = 4;
    let kc = (c.l1d * 3 / 4 / (nr * F32)).clamp(64, 512) / 8 * 8;
    let mc = ((c.l2 / 2 / (kc * F32)).clamp(mr * 4, 1024) / mr) * mr;
    // L3 is shared by the cores; a quarter of it (at most 4 MiB) keeps the B panel resident.
    let nc_cap = 4096 / nr * nr;
    let nc = ((c.l3.min(16 << 20) / 4 / (kc * F32)).clamp(nr * 4, nc_cap) / nr) * nr;
    Blocking { mc, kc, nc }
}

/// The block sizes for an MR x NR kernel on this machine (cache sizes read once).
pub(super) fn blocking(mr: usize, nr: usize) -> Blocking {
    blocking_for(caches(), mr, nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_cache_sizes_parse_as_sysfs_writes_them() {
        assert_eq!(parse_size("32K\n"), Some(32 << 10));
        assert_eq!(parse_size("32768K"), Some(32 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    // `is_multiple_of` is newer than the crate's minimum Rust version.
    #[allow(clippy::manual_is_multiple_of)]
    fn gemm_blocking_fits_the_caches_and_the_kernel() {
        for (mr, nr) in [(4, 8), (6, 16), (8, 12), (12, 32)] {
            for c in [
                DEFAULT,
                Caches {
                    l1d: 48 << 10,
                    l2: 1 << 20,
                    l3: 32 << 20,
                },
                Caches {
                    l1d: 1,
                    l2: 1,
                    l3: 1,
                },
            ] {
                let b = blocking_for(c, mr, nr);
                assert!(b.mc % mr == 0 && b.mc >= mr, "{b:?}");
                assert!(b.nc % nr == 0 && b.nc >= nr, "{b:?}");
                assert!(b.kc >= 64 && b.kc % 8 == 0, "{b:?}");
            }
        }
        // Zen 3 (this rule worked out by hand): kc = 3/4 * 32 KiB / 64 B = 384 (what OpenBLAS
        // uses there too), mc = 256 KiB / 1536 B = 170 -> 168 (multiple of 6), and
        // nc = (16 MiB / 4) / 1536 B = 2730 -> 2720 (multiple of 16).
        let zen3 = Caches {
            l1d: 32 << 10,
            l2: 512 << 10,
            l3: 32 << 20,
        };
        let expect = Blocking {
            mc: 168,
            kc: 384,
            nc: 2720,
        };
        assert_eq!(blocking_for(zen3, 6, 16), expect);
    }
}
