//! `--shard K/N`: a run drives devices K, K+N, K+2N, … of the fleet (same scenario, same seed),
//! so N shard runs together drive exactly the fleet, and `fleetsim merge` adds them up.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One of `count` interleaved slices of the fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// 0-based: `0 ≤ index < count`.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole fleet.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N` (0 ≤ K < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard '{s}': expected K/N with 0 ≤ K < N, e.g. 0/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// Does this shard drive device `device`?
    pub fn contains(self, device: u64) -> bool {
        device % u64::from(self.count) == u64::from(self.index)
    }

    /// How many of a fleet of `fleet` devices this shard drives.
    pub fn devices(self, fleet: u64) -> u64 {
        let (n, k) = (u64::from(self.count), u64::from(self.index));
        if fleet <= k {
            0
        } else {
            (fleet - k).div_ceil(n)
        }
    }

    /// The device indices of this shard, ascending.
    pub fn iter(self, fleet: u64) -> impl Iterator<Item = u64> {
        (u64::from(self.index)..fleet).step_by(self.count as usize)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_fleet() {
        for fleet in [0u64, 1, 2, 7, 100, 101] {
            for count in 1..6 {
                let mut seen = vec![0u8; fleet as usize];
                let mut total = 0;
                for index in 0..count {
                    let s = Shard { index, count };
                    let ids: Vec<u64> = s.iter(fleet).collect();
                    assert_eq!(ids.len() as u64, s.devices(fleet), "{s} of {fleet}");
                    assert!(ids.iter().all(|&d| s.contains(d)));
                    ids.iter().for_each(|&d| seen[d as usize] += 1);
                    total += ids.len() as u64;
                }
                assert_eq!(total, fleet);
                assert!(seen.iter().all(|&x| x == 1));
            }
        }
    }

    #[test]
    fn parse() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(Shard::parse("0/1"), Ok(Shard::WHOLE));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
