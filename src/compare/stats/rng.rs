//! The seeded random stream of the Monte-Carlo sign-flip test and the bootstrap.
//!
//! SplitMix64 (Steele, Lea and Flood 2014) rather than a crate: its whole definition is the
//! three lines of [`SplitMix64::next_u64`], so a result is reproducible from the seed by anyone
//! (the oracle test reimplements it in Python), and no dependency upgrade can change a printed
//! p-value or interval. Its statistical quality is far beyond what resampling needs.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The stream of `seed`: its first output is the SplitMix64 finalizer of `seed + GAMMA`.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The stream of `seed` after its first `position` outputs: SplitMix64's state only counts,
    /// so any stretch of a stream can be computed on its own (the bootstrap's resamples are).
    pub(crate) fn at(seed: u64, position: u64) -> SplitMix64 {
        SplitMix64::new(seed.wrapping_add(position.wrapping_mul(GAMMA)))
    }

    /// The stream for one part (`stream`) of a computation seeded by `seed`: independent parts
    /// (chunks of Monte-Carlo draws run in parallel) each get their own, so the result does not
    /// depend on which thread ran which part.
    pub(crate) fn for_stream(seed: u64, stream: u64) -> SplitMix64 {
        SplitMix64::new(SplitMix64::new(seed ^ SplitMix64::new(stream).next_u64()).next_u64())
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// An index in `0..len` (`len > 0`): the high 64 bits of `next_u64() · len` (Lemire's
    /// multiply-shift). Its bias, below `len / 2^64`, is far under any resampling error.
    pub(crate) fn below(&mut self, len: usize) -> usize {
        ((u128::from(self.next_u64()) * len as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_splitmix64() {
        // The reference outputs of SplitMix64 seeded with 0 (as in Vigna's splitmix64.c, the
        // seed of xoshiro's reference code).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn indices_stay_in_range_and_cover_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0u32; 5];
        for _ in 0..5_000 {
            seen[rng.below(5)] += 1;
        }
        assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
        let mut later = SplitMix64::new(7);
        let skipped: Vec<u64> = (0..1_000).map(|_| later.next_u64()).collect();
        assert_eq!(SplitMix64::at(7, 999).next_u64(), skipped[999]);
        assert_eq!(SplitMix64::at(7, 0).next_u64(), skipped[0]);
        assert_ne!(
            SplitMix64::for_stream(1, 0).next_u64(),
            SplitMix64::for_stream(1, 1).next_u64()
        );
    }
}
