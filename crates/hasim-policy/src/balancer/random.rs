//! Uniform random choice (Envoy RANDOM).

use rand::Rng;

use super::common::{range_start, Candidates};
use super::PickRequest;
use crate::EndpointId;

/// Uniform over the eligible endpoints; keeps no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

impl Random {
    /// A uniformly random eligible endpoint.
    pub fn pick<R: Rng + ?Sized>(&self, req: &PickRequest, rng: &mut R) -> EndpointId {
        // `pick_in(Candidates::all(..))` without the general candidate walk: the
        // same draw and the same answer (the i-th entry, read as `first + i` when the
        // list is a whole range of ids, so a fleet's pick reads no list entry).
        let list = req.eligible;
        let i = rng.random_range(0..list.len());
        match range_start(list) {
            Some(first) => EndpointId(first + i as u32),
            None => list[i].id,
        }
    }

    /// [`Random::pick`] over `candidates`.
    pub(crate) fn pick_in<R: Rng + ?Sized>(
        &self,
        candidates: Candidates,
        rng: &mut R,
    ) -> EndpointId {
        candidates.id(rng.random_range(0..candidates.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{stream, Role};
    use crate::time::Instant;
    use crate::Endpoint;

    #[test]
    fn picks_every_eligible_endpoint_about_equally() {
        let eps: Vec<Endpoint> = [1, 4, 7, 9]
            .iter()
            .map(|&i| Endpoint {
                id: EndpointId(i),
                weight: 1,
            })
            .collect();
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &eps,
            known: &eps,
            hash_key: 0,
            known_generation: None,
        };
        let mut rng = stream(3, Role::Policy, 0);
        let mut counts = [0u32; 10];
        for _ in 0..40_000 {
            counts[Random.pick(&req, &mut rng).index()] += 1;
        }
        for ep in &eps {
            let c = counts[ep.id.index()];
            assert!((9_400..10_600).contains(&c), "endpoint {:?}: {c}", ep.id);
        }
        assert_eq!(counts.iter().sum::<u32>(), 40_000);
    }
}
