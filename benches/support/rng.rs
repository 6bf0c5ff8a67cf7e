//! Deterministic pseudo-random numbers (xorshift), so that every run of a benchmark
//! measures the same input: the benchmarks need dice, not cryptography.

#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
