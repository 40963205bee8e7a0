//! Round robin (Envoy ROUND_ROBIN, gRPC round_robin).

use rand::Rng;

use super::common::Candidates;
use super::PickRequest;
use crate::EndpointId;

/// Next eligible endpoint in order. Each instance starts at a random offset, so many
/// clients do not all hit the first endpoint at once (Envoy, gRPC).
#[derive(Clone, Debug)]
pub struct RoundRobin {
    next: u64,
}

impl RoundRobin {
    /// A round robin starting at a random position.
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> RoundRobin {
        RoundRobin {
            next: rng.random::<u32>() as u64,
        }
    }

    /// The next endpoint in order over `req.eligible`.
    pub fn pick(&mut self, req: &PickRequest) -> EndpointId {
        self.pick_in(Candidates::all(req.eligible))
    }

    /// [`RoundRobin::pick`] over `candidates`.
    pub(crate) fn pick_in(&mut self, candidates: Candidates) -> EndpointId {
        let i = (self.next % candidates.len() as u64) as usize;
        self.next = self.next.wrapping_add(1);
        candidates.id(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{stream, Role};
    use crate::time::Instant;
    use crate::Endpoint;

    fn endpoints(ids: &[u32]) -> Vec<Endpoint> {
        ids.iter()
            .map(|&i| Endpoint {
                id: EndpointId(i),
                weight: 1,
            })
            .collect()
    }

    #[test]
    fn cycles_through_eligible_in_order() {
        let eps = endpoints(&[0, 2, 5]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &eps,
            known: &eps,
            hash_key: 0,
            known_generation: None,
        };
        let mut rr = RoundRobin::new(&mut stream(1, Role::Policy, 0));
        let picks: Vec<u32> = (0..6).map(|_| rr.pick(&req).0).collect();
        let start = picks[0];
        let order = [0, 2, 5];
        let at = order.iter().position(|&x| x == start).unwrap();
        let want: Vec<u32> = (0..6).map(|k| order[(at + k) % 3]).collect();
        assert_eq!(picks, want);
    }

    #[test]
    fn instances_start_at_different_offsets() {
        let eps = endpoints(&(0..100).collect::<Vec<_>>());
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &eps,
            known: &eps,
            hash_key: 0,
            known_generation: None,
        };
        let firsts: Vec<u32> = (0..8)
            .map(|i| {
                RoundRobin::new(&mut stream(1, Role::Policy, i))
                    .pick(&req)
                    .0
            })
            .collect();
        let mut distinct = firsts.clone();
        distinct.dedup();
        assert!(distinct.len() > 4, "starting points {firsts:?}");
    }
}
