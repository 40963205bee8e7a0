//! Consistent hashing on a ring (Envoy RING_HASH, Karger et al.).

use super::common::{fallback, is_eligible, key_point, mix64, weight_of, BuiltFor};
use super::PickRequest;
use crate::{ConfigError, Endpoint, EndpointId};

/// The most ring entries in total (Envoy's default `maximum_ring_size`): bounds the
/// memory and the build time of a ring whatever the weights are.
pub const MAX_RING_ENTRIES: u64 = 8 * 1024 * 1024;

/// Parameters of `ring_hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct RingHashConfig {
    /// Ring entries per unit of weight: more entries spread keys more evenly.
    pub ring_size: u64,
    /// Request keys are taken modulo this: the number of distinct keys (users,
    /// sessions, cache keys) in the workload.
    pub key_space: u64,
}

impl Default for RingHashConfig {
    fn default() -> Self {
        RingHashConfig {
            ring_size: 1024,
            key_space: 1_000_000,
        }
    }
}

/// Checks that `key_space` is at least 1.
pub(super) fn check_key_space(key_space: u64) -> Result<(), ConfigError> {
    if key_space == 0 {
        Err(ConfigError::new("key_space", "= 0 must be at least 1"))
    } else {
        Ok(())
    }
}

impl RingHashConfig {
    /// Checks `1 <= ring_size <= MAX_RING_ENTRIES` and `key_space >= 1`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_RING_ENTRIES).contains(&self.ring_size) {
            return Err(ConfigError::new(
                "ring_size",
                format!(
                    "= {} must be between 1 and {MAX_RING_ENTRIES}",
                    self.ring_size
                ),
            ));
        }
        check_key_space(self.key_space)
    }
}

/// A ring over every known endpoint (not only the eligible ones), so a key keeps its
/// endpoint while others are ejected and come back. A key maps to the first entry
/// clockwise from its hash; if that endpoint is not eligible, the walk goes on to the
/// next entry whose endpoint is (Envoy does the same for unhealthy hosts).
///
/// Endpoint `e` gets `ring_size x weight` entries at `mix64(e << 32 | replica)`: a
/// bijection, so no two entries collide and the ring is the same in every run. If
/// that would exceed `MAX_RING_ENTRIES`, every count is scaled down in proportion
/// (at least one entry each). The ring is rebuilt only when `known` changes (O(1) to
/// tell with the caller's `known_generation`).
#[derive(Clone, Debug)]
pub struct RingHash {
    ring_size: u64,
    key_space: u64,
    built_for: BuiltFor,
    /// `(point, endpoint)`, sorted by point.
    ring: Vec<(u64, EndpointId)>,
}

impl RingHash {
    /// An empty ring for a validated config; the first pick builds it.
    pub fn new(config: &RingHashConfig) -> RingHash {
        RingHash {
            ring_size: config.ring_size,
            key_space: config.key_space,
            built_for: BuiltFor::default(),
            ring: Vec::new(),
        }
    }

    /// The first eligible endpoint clockwise from the key's point.
    #[must_use]
    pub fn pick(&mut self, req: &PickRequest) -> EndpointId {
        if self.built_for.changed(req) {
            self.rebuild(req.known);
        }
        let point = key_point(req.hash_key, self.key_space);
        let start = self.ring.partition_point(|&(p, _)| p < point);
        let len = self.ring.len();
        (0..len)
            .map(|i| self.ring[(start + i) % len].1)
            .find(|&id| is_eligible(req.eligible, id))
            .unwrap_or_else(|| fallback(req.eligible, point))
    }

    fn rebuild(&mut self, known: &[Endpoint]) {
        self.ring.clear();
        let total_weight: u64 = known.iter().map(weight_of).sum();
        let wanted = u128::from(total_weight) * u128::from(self.ring_size);
        for ep in known {
            let w = u128::from(weight_of(ep));
            let replicas = if wanted <= u128::from(MAX_RING_ENTRIES) {
                w * u128::from(self.ring_size)
            } else {
                (w * u128::from(MAX_RING_ENTRIES) / u128::from(total_weight)).max(1)
            };
            let id = u64::from(ep.id.0);
            self.ring
                .extend((0..replicas as u64).map(|r| (mix64(id << 32 | r), ep.id)));
        }
        self.ring.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{ep, eps};
    use super::*;
    use crate::time::Instant;

    fn pick(b: &mut RingHash, known: &[Endpoint], eligible: &[Endpoint], key: u64) -> u32 {
        let req = PickRequest {
            now: Instant::ZERO,
            eligible,
            known,
            hash_key: key,
            known_generation: None,
        };
        b.pick(&req).0
    }

    fn shares(b: &mut RingHash, known: &[Endpoint], keys: u64) -> Vec<u64> {
        let mut counts = vec![0u64; 8];
        for k in 0..keys {
            counts[pick(b, known, known, k) as usize] += 1;
        }
        counts
    }

    #[test]
    fn the_same_key_goes_to_the_same_endpoint() {
        let known = eps(&[0, 1, 2, 3]);
        let mut a = RingHash::new(&RingHashConfig::default());
        let mut b = RingHash::new(&RingHashConfig::default());
        for k in 0..1_000 {
            let x = pick(&mut a, &known, &known, k);
            assert_eq!(x, pick(&mut b, &known, &known, k));
            // Keys are reduced modulo key_space first.
            assert_eq!(x, pick(&mut a, &known, &known, k + 1_000_000));
        }
    }

    #[test]
    fn keys_spread_by_weight() {
        let known = [ep(0, 1), ep(1, 1), ep(2, 2)];
        let c = shares(
            &mut RingHash::new(&RingHashConfig::default()),
            &known,
            40_000,
        );
        // 1024 entries per weight: each share within ~10% of its target.
        assert!((9_000..11_000).contains(&c[0]), "{c:?}");
        assert!((9_000..11_000).contains(&c[1]), "{c:?}");
        assert!((18_000..22_000).contains(&c[2]), "{c:?}");
    }

    #[test]
    fn an_ineligible_endpoint_hands_its_keys_to_the_next_entry_only() {
        let known = eps(&[0, 1, 2]);
        let eligible = eps(&[0, 2]);
        let mut b = RingHash::new(&RingHashConfig::default());
        for k in 0..2_000 {
            let full = pick(&mut b, &known, &known, k);
            let without = pick(&mut b, &known, &eligible, k);
            assert_ne!(without, 1);
            if full != 1 {
                assert_eq!(full, without, "key {k} moved although its endpoint stayed");
            }
        }
    }

    #[test]
    fn one_endpoint_and_tiny_rings_work() {
        let config = RingHashConfig {
            ring_size: 1,
            key_space: 10,
        };
        let mut b = RingHash::new(&config);
        let one = eps(&[6]);
        assert!((0..50).all(|k| pick(&mut b, &one, &one, k) == 6));
        let known = eps(&[0, 1]);
        assert_eq!(b.ring.len(), 1);
        let _ = pick(&mut b, &known, &known, 0);
        assert_eq!(b.ring.len(), 2, "rebuilt when known changed");
        // An eligible endpoint missing from `known` still gets a deterministic pick.
        let stray = eps(&[9]);
        assert_eq!(pick(&mut b, &known, &stray, 3), 9);
    }

    /// With the caller's generation the ring is rebuilt when the generation moves,
    /// not by comparing lists: a caller that keeps its promise (a new generation for
    /// every change of `known`) pays O(1) per pick.
    #[test]
    fn a_known_generation_decides_when_to_rebuild() {
        let config = RingHashConfig {
            ring_size: 1,
            key_space: 10,
        };
        let mut b = RingHash::new(&config);
        let pick = |b: &mut RingHash, known: &[Endpoint], generation: u64| {
            let req = PickRequest {
                now: Instant::ZERO,
                eligible: known,
                known,
                hash_key: 0,
                known_generation: Some(generation),
            };
            b.pick(&req)
        };
        let _ = pick(&mut b, &eps(&[0, 1]), 1);
        assert_eq!(b.ring.len(), 2);
        // The same generation: the lists are not even looked at.
        let _ = pick(&mut b, &eps(&[0, 1, 2]), 1);
        assert_eq!(b.ring.len(), 2);
        let _ = pick(&mut b, &eps(&[0, 1, 2]), 2);
        assert_eq!(b.ring.len(), 3, "rebuilt for a new generation");
        // Back to comparing lists when the caller keeps no generation.
        let same = eps(&[0, 1, 2]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &same,
            known: &same,
            hash_key: 0,
            known_generation: None,
        };
        let _ = b.pick(&req);
        assert_eq!(b.ring.len(), 3);
    }

    #[test]
    fn huge_weights_are_capped() {
        let known = [ep(0, 1), ep(1, 100_000)];
        let mut b = RingHash::new(&RingHashConfig::default());
        let _ = pick(&mut b, &known, &known, 0);
        assert!(b.ring.len() as u64 <= MAX_RING_ENTRIES + 2);
        assert!(b.ring.iter().any(|&(_, id)| id == EndpointId(0)));
    }

    #[test]
    fn validation_names_the_key() {
        assert!(RingHashConfig::default().validate().is_ok());
        let bad = RingHashConfig {
            ring_size: 0,
            ..RingHashConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "ring_size");
        let bad = RingHashConfig {
            key_space: 0,
            ..RingHashConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "key_space");
    }
}
