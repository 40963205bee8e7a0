//! Weighted random choice: probability proportional to weight.

use rand::Rng;

use super::common::weight_of;
use super::PickRequest;
use crate::EndpointId;

/// Picks endpoint `i` with probability `w_i / sum(w)`. Keeps no state, so it needs no
/// rebuild when the eligible set changes; a pick is one draw and one linear scan.
#[derive(Clone, Copy, Debug, Default)]
pub struct WeightedRandom;

impl WeightedRandom {
    /// A random eligible endpoint, weighted.
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&self, req: &PickRequest, rng: &mut R) -> EndpointId {
        let total: u64 = req.eligible.iter().map(weight_of).sum();
        let mut ticket = rng.random_range(0..total);
        for ep in req.eligible {
            let w = weight_of(ep);
            if ticket < w {
                return ep.id;
            }
            ticket -= w;
        }
        unreachable!("the ticket is below the total weight")
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{ep, rng};
    use super::*;
    use crate::time::Instant;

    #[test]
    fn shares_follow_weights() {
        let e = [ep(0, 1), ep(2, 3), ep(5, 6)];
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut r = rng(9);
        let mut counts = [0u32; 6];
        for _ in 0..100_000 {
            counts[WeightedRandom.pick(&req, &mut r).index()] += 1;
        }
        assert!((9_300..10_700).contains(&counts[0]), "{counts:?}");
        assert!((29_000..31_000).contains(&counts[2]), "{counts:?}");
        assert!((59_000..61_000).contains(&counts[5]), "{counts:?}");
    }

    #[test]
    fn one_endpoint_is_always_picked() {
        let e = [ep(3, 7)];
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut r = rng(1);
        assert!((0..20).all(|_| WeightedRandom.pick(&req, &mut r) == EndpointId(3)));
    }
}
