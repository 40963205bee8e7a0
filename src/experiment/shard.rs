//! `--shard K/N`: the K-th of N deterministic slices of a sweep's plan.
//!
//! Run `i` of the plan belongs to shard `i % N + 1`. Dealing runs out like cards
//! (rather than cutting the plan into N blocks) gives every shard a share of every
//! variant, so shards take about as long as each other even when one variant is
//! much slower than the rest.

use std::str::FromStr;

/// One slice of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1 to `count`.
    pub index: u64,
    /// N, at least 1.
    pub count: u64,
}

/// A `--shard` argument that is not `K/N` with `1 <= K <= N`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--shard `{0}`: expected K/N with 1 <= K <= N (for example 2/8)")]
pub struct ShardError(pub String);

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError(text.to_string());
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether run `i` of the plan is in this shard.
    pub fn holds(&self, i: usize) -> bool {
        (i as u64) % self.count == self.index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_deals() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 3 });
        let held: Vec<usize> = (0..8).filter(|&i| s.holds(i)).collect();
        assert_eq!(held, [1, 4, 7]);
        for bad in ["0/3", "4/3", "1/0", "x/2", "2", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
