//! The seeded random generator behind rand/randn/randint and dropout: xoshiro256++ seeded by
//! splitmix64, one global instance (`manual_seed`), with its state readable and restorable so
//! a resumed training run draws the same numbers as an uninterrupted one.

use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 24 random bits, so every value is exactly representable.
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Standard normal by Box-Muller, computed in f64.
    pub fn normal_pair(&mut self) -> (f32, f32) {
        // 53-bit uniform in (0, 1]: never zero, so the log is finite.
        let u1 = ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
        let u2 = (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let r = (-2.0 * u1.ln()).sqrt();
        let th = 2.0 * std::f64::consts::PI * u2;
        ((r * th.cos()) as f32, (r * th.sin()) as f32)
    }

    /// Uniform integer in [0, n) without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let x = self.next_u64();
            let m = (x as u128) * (n as u128);
            let l = m as u64;
            if l >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    pub fn state_bytes(&self) -> Vec<u8> {
        self.s.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    pub fn from_state_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != 32 {
            return None;
        }
        let mut s = [0u64; 4];
        for (i, w) in s.iter_mut().enumerate() {
            *w = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().ok()?);
        }
        if s == [0; 4] {
            return None;
        }
        Some(Rng { s })
    }
}

static GLOBAL: Mutex<Option<Rng>> = Mutex::new(None);

/// Runs `f` with the global generator (seeded with 0 until `manual_seed` is called).
pub fn with_global<R>(f: impl FnOnce(&mut Rng) -> R) -> R {
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(|| Rng::seeded(0)))
}

pub fn manual_seed(seed: u64) {
    *GLOBAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(Rng::seeded(seed));
}

pub fn get_state() -> Vec<u8> {
    with_global(|r| r.state_bytes())
}

pub fn set_state(b: &[u8]) -> crate::Result<()> {
    match Rng::from_state_bytes(b) {
        Some(r) => {
            *GLOBAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            Ok(())
        }
        None => crate::bail!(
            Value,
            "set_rng_state: expected the 32 bytes of a generator state, got {} bytes",
            b.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_state_round_trips() {
        let mut a = Rng::seeded(7);
        let mut b = Rng::seeded(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let st = a.state_bytes();
        let x = a.uniform_f32();
        let mut c = Rng::from_state_bytes(&st).unwrap();
        assert_eq!(c.uniform_f32(), x);
        assert_ne!(Rng::seeded(8).next_u64(), Rng::seeded(7).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::seeded(1);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.below(5) as usize;
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
