//! Maglev consistent hashing (Eisenbud et al., NSDI 2016; Envoy MAGLEV).

use super::common::{fallback, is_eligible, key_point, mix64, weight_of, BuiltFor};
use super::ring_hash::check_key_space;
use super::PickRequest;
use crate::{ConfigError, Endpoint, EndpointId};

/// The largest table Envoy accepts: bounds memory (4 bytes an entry) and build time.
pub const MAX_TABLE_SIZE: u64 = 5_000_011;

/// Salts that make an endpoint's offset and skip independent hashes of its id.
const OFFSET_SALT: u64 = 0x6D61_676C_6576_6F66; // "maglevof"
const SKIP_SALT: u64 = 0x6D61_676C_6576_736B; // "maglevsk"

/// Parameters of `maglev`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct MaglevConfig {
    /// Lookup-table entries; must be prime so every endpoint's permutation visits
    /// every slot. Much larger than the endpoint count keeps shares even.
    pub table_size: u64,
    /// Request keys are taken modulo this: the number of distinct keys.
    pub key_space: u64,
}

impl Default for MaglevConfig {
    fn default() -> Self {
        MaglevConfig {
            table_size: 65_537,
            key_space: 1_000_000,
        }
    }
}

/// Trial division: table sizes are at most `MAX_TABLE_SIZE`, so at most ~1,100 steps.
pub(super) fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

impl MaglevConfig {
    /// Checks that `table_size` is a prime no larger than `MAX_TABLE_SIZE` and that
    /// `key_space >= 1`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let m = self.table_size;
        // The range first: trial division of a huge prime would take seconds.
        if m > MAX_TABLE_SIZE || !is_prime(m) {
            return Err(ConfigError::new(
                "table_size",
                format!(
                    "= {m} must be a prime no larger than {MAX_TABLE_SIZE} (e.g. 65537, 655373)"
                ),
            ));
        }
        check_key_space(self.key_space)
    }

    /// Checks that the table has room for every one of `known` endpoints: with fewer
    /// slots than endpoints some would never receive a key. Call it when the largest
    /// endpoint count of the scenario is known.
    pub fn check_endpoints(&self, known: usize) -> Result<(), ConfigError> {
        if (known as u64) > self.table_size {
            return Err(ConfigError::new(
                "table_size",
                format!(
                    "= {} is smaller than the {known} endpoints; use a prime at least that large",
                    self.table_size
                ),
            ));
        }
        Ok(())
    }
}

/// One endpoint while the table fills.
struct Filler {
    id: EndpointId,
    offset: u64,
    skip: u64,
    next: u64,
    weight: u128,
    target: u128,
}

/// A Maglev lookup table over every known endpoint, rebuilt only when `known`
/// changes (O(1) to tell with the caller's `known_generation`). A key maps to
/// `table[hash % size]`; if that endpoint is not eligible, the following entries are probed in order (wrapping) until an eligible one, which
/// keeps picks deterministic and spreads an ineligible endpoint's keys over the
/// others in proportion to their table shares.
///
/// Each endpoint walks its own permutation `(offset + j x skip) % size`, taking the
/// first free slot on its turn; weights decide how often a turn comes, exactly as
/// Envoy's `MaglevTable`: an endpoint of weight `w` takes a turn in round `r` when
/// `r x w >= (turns taken) x max weight`.
#[derive(Clone, Debug)]
pub struct Maglev {
    table_size: u64,
    key_space: u64,
    built_for: BuiltFor,
    /// Filled completely when `known` is not empty.
    table: Vec<EndpointId>,
}

impl Maglev {
    /// An empty table for a validated config; the first pick builds it.
    ///
    /// Panics if `table_size` is not prime (the config was not validated): filling
    /// would never end.
    pub fn new(config: &MaglevConfig) -> Maglev {
        assert!(is_prime(config.table_size), "validate() the maglev config");
        Maglev {
            table_size: config.table_size,
            key_space: config.key_space,
            built_for: BuiltFor::default(),
            table: Vec::new(),
        }
    }

    /// The key's table entry, or the next eligible one after it.
    #[must_use]
    pub fn pick(&mut self, req: &PickRequest) -> EndpointId {
        if self.built_for.changed(req) {
            self.rebuild(req.known);
        }
        let point = key_point(req.hash_key, self.key_space);
        let len = self.table.len();
        let start = (point % self.table_size) as usize;
        (0..len)
            .map(|i| self.table[(start + i) % len])
            .find(|&id| is_eligible(req.eligible, id))
            .unwrap_or_else(|| fallback(req.eligible, point))
    }

    fn rebuild(&mut self, known: &[Endpoint]) {
        self.table.clear();
        if known.is_empty() {
            return;
        }
        let m = self.table_size;
        let max_weight = known.iter().map(weight_of).max().unwrap_or(1);
        let mut fillers: Vec<Filler> = known
            .iter()
            .map(|ep| {
                let id = u64::from(ep.id.0);
                Filler {
                    id: ep.id,
                    offset: mix64(id ^ OFFSET_SALT) % m,
                    skip: mix64(id ^ SKIP_SALT) % (m - 1).max(1) + 1,
                    next: 0,
                    weight: u128::from(weight_of(ep)),
                    target: 0,
                }
            })
            .collect();
        let mut slots: Vec<Option<EndpointId>> = vec![None; m as usize];
        let mut filled = 0u64;
        let mut round = 0u128;
        while filled < m {
            for f in fillers.iter_mut() {
                if filled == m {
                    break;
                }
                if round * f.weight < f.target {
                    continue;
                }
                f.target += u128::from(max_weight);
                loop {
                    let c = ((f.offset + f.skip * f.next) % m) as usize;
                    f.next += 1;
                    if slots[c].is_none() {
                        slots[c] = Some(f.id);
                        filled += 1;
                        break;
                    }
                }
            }
            round += 1;
        }
        self.table
            .extend(slots.into_iter().map(|s| s.expect("every slot is filled")));
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{ep, eps};
    use super::*;
    use crate::time::Instant;

    fn pick(b: &mut Maglev, known: &[Endpoint], eligible: &[Endpoint], key: u64) -> u32 {
        let req = PickRequest {
            now: Instant::ZERO,
            eligible,
            known,
            hash_key: key,
            known_generation: None,
        };
        b.pick(&req).0
    }

    fn table_counts(b: &Maglev) -> Vec<u64> {
        let mut c = vec![0u64; 8];
        b.table.iter().for_each(|id| c[id.index()] += 1);
        c
    }

    #[test]
    fn tables_are_near_perfectly_balanced() {
        let known = eps(&[0, 1, 2]);
        let mut b = Maglev::new(&MaglevConfig::default());
        let _ = pick(&mut b, &known, &known, 0);
        let c = table_counts(&b);
        // Round-robin turns: shares differ by at most one slot.
        assert!(
            c[..3].iter().all(|&x| (21_845..=21_846).contains(&x)),
            "{c:?}"
        );
    }

    #[test]
    fn weights_set_the_shares() {
        let known = [ep(0, 1), ep(1, 3)];
        let mut b = Maglev::new(&MaglevConfig::default());
        let _ = pick(&mut b, &known, &known, 0);
        let c = table_counts(&b);
        assert!((16_383..=16_385).contains(&c[0]), "{c:?}");
        assert_eq!(c[0] + c[1], 65_537);
    }

    #[test]
    fn a_small_table_is_filled_by_hand_computable_turns() {
        // Every slot is taken exactly once; a key is stable across instances.
        let config = MaglevConfig {
            table_size: 7,
            key_space: 100,
        };
        let known = eps(&[0, 1]);
        let mut a = Maglev::new(&config);
        let mut b = Maglev::new(&config);
        for k in 0..100 {
            assert_eq!(
                pick(&mut a, &known, &known, k),
                pick(&mut b, &known, &known, k)
            );
        }
        let c = table_counts(&a);
        assert_eq!(
            (c[0], c[1]),
            (4, 3),
            "0 takes the first turn of the last round"
        );
    }

    #[test]
    fn ineligible_entries_probe_forward() {
        let known = eps(&[0, 1, 2]);
        let eligible = eps(&[1]);
        let mut b = Maglev::new(&MaglevConfig::default());
        assert!((0..500).all(|k| pick(&mut b, &known, &eligible, k) == 1));
        let eligible = eps(&[0, 2]);
        for k in 0..2_000 {
            let full = pick(&mut b, &known, &known, k);
            if full != 1 {
                assert_eq!(full, pick(&mut b, &known, &eligible, k));
            }
        }
    }

    #[test]
    fn one_endpoint_and_stray_eligible() {
        let mut b = Maglev::new(&MaglevConfig::default());
        let one = eps(&[3]);
        assert!((0..20).all(|k| pick(&mut b, &one, &one, k) == 3));
        assert_eq!(pick(&mut b, &[], &one, 5), 3, "empty known falls back");
    }

    #[test]
    fn huge_table_sizes_are_refused_by_range_first() {
        // The largest prime below 2^64: trial division would take hours.
        let cfg = MaglevConfig {
            table_size: 18_446_744_073_709_551_557,
            ..MaglevConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().key, "table_size");
    }

    #[test]
    fn validation_requires_a_prime() {
        assert!(MaglevConfig::default().validate().is_ok());
        for bad in [0, 1, 4, 65_536, 5_000_012, 10_000_019] {
            let c = MaglevConfig {
                table_size: bad,
                ..MaglevConfig::default()
            };
            assert_eq!(c.validate().unwrap_err().key, "table_size", "{bad}");
        }
        assert!(is_prime(2) && is_prime(7) && is_prime(65_537) && is_prime(5_000_011));
        let small = MaglevConfig {
            table_size: 3,
            key_space: 1,
        };
        assert!(small.validate().is_ok());
        assert!(small.check_endpoints(3).is_ok());
        assert!(small
            .check_endpoints(4)
            .unwrap_err()
            .problem
            .contains("smaller"));
    }
}
