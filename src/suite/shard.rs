//! `--shard i/n`: split a run across machines so that every case runs in exactly one shard.
//!
//! The assignment is a frozen contract (`docs/ARCHITECTURE.md`, "Shard hash (frozen)"): shard
//! reports are merged by other jobs, possibly built from other versions of traceval, so the same
//! case must land in the same shard forever. A case belongs to shard `i` of `n` when
//!
//! ```text
//! fnv1a64(suite ++ "::" ++ case) % n == i - 1
//! ```
//!
//! where `suite` and `case` are the UTF-8 bytes of the suite name and the case id, and
//! `fnv1a64` is 64-bit FNV-1a: start from the offset basis `0xcbf29ce484222325`, and for each
//! byte XOR it into the hash, then multiply by the prime `0x100000001b3`, wrapping. Models and
//! trials are not part of the key: all trials of a case run in the same shard, so pass@k needs no
//! cross-shard data.

use std::fmt;
use std::str::FromStr;

use crate::hash::{fnv1a64, fnv1a64_extend};

/// One shard of a run: the `i` in `--shard i/n` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    index: u32,
    count: u32,
}

/// `--shard` was not of the form `i/n` with `1 <= i <= n`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard `{value}`: {reason}")]
pub(crate) struct ShardError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Shard {
    /// Shard `index` (1-based) of `count`.
    pub(crate) fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let error = |reason| ShardError {
            value: format!("{index}/{count}"),
            reason,
        };
        if count == 0 {
            return Err(error("the shard count must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(error(
                "the shard index must be between 1 and the shard count",
            ));
        }
        Ok(Shard { index, count })
    }

    /// The 1-based shard index.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// The number of shards.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Whether the case `suite::case` runs in this shard.
    pub(crate) fn contains(&self, suite: &str, case: &str) -> bool {
        let hash = fnv1a64_extend(fnv1a64(suite.as_bytes()), b"::");
        let hash = fnv1a64_extend(hash, case.as_bytes());
        hash % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(value: &str) -> Result<Shard, ShardError> {
        let error = |reason| ShardError {
            value: value.to_owned(),
            reason,
        };
        let (index, count) = value
            .split_once('/')
            .ok_or_else(|| error("expected `i/n`, e.g. `1/4`"))?;
        let number = |text: &str| {
            // `u32::from_str` accepts a leading `+`; a shard spec has plain digits only.
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error("expected `i/n` with whole numbers, e.g. `1/4`"));
            }
            text.parse::<u32>()
                .map_err(|_| error("the number is too large"))
        };
        let (index, count) = (number(index)?, number(count)?);
        Shard::new(index, count).map_err(|e| error(e.reason))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_frozen_values() {
        // Computed independently, not with this code:
        // python3 -c 'import sys
        // def f(b):
        //     h = 0xcbf29ce484222325
        //     for x in b: h = ((h ^ x) * 0x100000001b3) % 2**64
        //     return h
        // for s in [b"", b"a", b"foobar", b"weather::paris", b"weather::tokyo", b"rag::q1"]:
        //     print(s, "0x%016x" % f(s), f(s) % 4)'
        // The first three are the published FNV-1a 64 test vectors.
        let cases: [(&str, u64); 6] = [
            ("", 0xcbf2_9ce4_8422_2325),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("foobar", 0x8594_4171_f739_67e8),
            ("weather::paris", 0x567b_dfd3_5105_dd92),
            ("weather::tokyo", 0xa20c_0585_83b4_4ba7),
            ("rag::q1", 0x24b0_2af2_830a_c813),
        ];
        for (input, expected) in cases {
            assert_eq!(fnv1a64(input.as_bytes()), expected, "fnv1a64({input:?})");
        }
    }

    #[test]
    fn shard_assignment_is_frozen() {
        // From the same one-liner: hash % 4 is 2, 3 and 3, so shards 3, 4 and 4 of 4.
        let cases = [
            ("weather", "paris", 3),
            ("weather", "tokyo", 4),
            ("rag", "q1", 4),
        ];
        for (suite, case, shard) in cases {
            for index in 1..=4 {
                let expected = index == shard;
                let got = Shard::new(index, 4).unwrap().contains(suite, case);
                assert_eq!(got, expected, "{suite}::{case} in shard {index}/4");
            }
        }
    }

    #[test]
    fn shards_partition_the_cases() {
        let ids: Vec<String> = (0..500).map(|i| format!("case-{i}")).collect();
        for count in [1, 2, 3, 7] {
            let mut sizes = vec![0; count as usize];
            for id in &ids {
                let owners: Vec<u32> = (1..=count)
                    .filter(|&i| Shard::new(i, count).unwrap().contains("suite", id))
                    .collect();
                assert_eq!(owners.len(), 1, "{id} with {count} shards: {owners:?}");
                sizes[owners[0] as usize - 1] += 1;
            }
            // Not a contract, but a hash this skewed would make sharding pointless.
            let fair = ids.len() / count as usize;
            assert!(
                sizes.iter().all(|&n| n * 2 > fair),
                "{count} shards: {sizes:?}"
            );
        }
    }

    #[test]
    fn shard_specs_parse() {
        let cases = [
            ("1/1", Ok((1, 1))),
            ("3/4", Ok((3, 4))),
            ("4/4", Ok((4, 4))),
            (
                "0/4",
                Err("the shard index must be between 1 and the shard count"),
            ),
            (
                "5/4",
                Err("the shard index must be between 1 and the shard count"),
            ),
            ("1/0", Err("the shard count must be at least 1")),
            ("3", Err("expected `i/n`, e.g. `1/4`")),
            ("", Err("expected `i/n`, e.g. `1/4`")),
            ("+1/4", Err("expected `i/n` with whole numbers, e.g. `1/4`")),
            ("1/ 4", Err("expected `i/n` with whole numbers, e.g. `1/4`")),
            ("-1/4", Err("expected `i/n` with whole numbers, e.g. `1/4`")),
            (
                "1/2/3",
                Err("expected `i/n` with whole numbers, e.g. `1/4`"),
            ),
            ("1/99999999999", Err("the number is too large")),
        ];
        for (spec, expected) in cases {
            let got = spec.parse::<Shard>();
            match expected {
                Ok((index, count)) => {
                    let shard = got.unwrap_or_else(|e| panic!("{spec}: {e}"));
                    assert_eq!((shard.index(), shard.count()), (index, count), "{spec}");
                    assert_eq!(shard.to_string(), spec);
                }
                Err(reason) => {
                    let error = got.expect_err(spec);
                    assert_eq!(error.reason, reason, "{spec}");
                    assert_eq!(error.value, spec);
                }
            }
        }
    }
}
