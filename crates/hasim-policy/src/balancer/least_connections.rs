//! Least connections: fewest client-local in-flight attempts, full scan.

use rand::Rng;

use super::common::{min_with_random_ties, InFlight};
use super::PickRequest;
use crate::EndpointId;

/// Picks the eligible endpoint with the fewest attempts this client has in flight,
/// ties uniformly at random (nginx `least_conn` without weights: POLICIES.md asks for
/// in-flight counts only). A full scan sees every endpoint, unlike P2C, so it reacts
/// faster but herds when many clients see the same idle endpoint.
#[derive(Clone, Debug, Default)]
pub struct LeastConnections {
    in_flight: InFlight,
}

impl LeastConnections {
    /// No attempt in flight yet.
    pub fn new() -> LeastConnections {
        LeastConnections::default()
    }

    /// The least-loaded eligible endpoint.
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&self, req: &PickRequest, rng: &mut R) -> EndpointId {
        min_with_random_ties(req.eligible, |id| self.in_flight.get(id), rng)
    }

    /// An attempt to `ep` left.
    pub fn on_send(&mut self, ep: EndpointId) {
        self.in_flight.add(ep);
    }

    /// An attempt to `ep` ended (answered, timed out or cancelled).
    pub fn on_done(&mut self, ep: EndpointId) {
        self.in_flight.remove(ep);
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{eps, rng};
    use super::*;
    use crate::time::Instant;

    /// Each step is `(sends, completes, expected pick)`: attempts sent to and
    /// finished at the given endpoints, then one pick over `eligible`.
    fn check(eligible: &[u32], script: &[(&[u32], &[u32], u32)]) {
        let e = eps(eligible);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut b = LeastConnections::new();
        let mut r = rng(5);
        for (step, (sends, dones, want)) in script.iter().enumerate() {
            sends.iter().for_each(|&i| b.on_send(EndpointId(i)));
            dones.iter().for_each(|&i| b.on_done(EndpointId(i)));
            assert_eq!(b.pick(&req, &mut r), EndpointId(*want), "step {step}");
        }
    }

    #[test]
    fn picks_the_fewest_in_flight() {
        check(
            &[0, 1, 2],
            &[
                (&[0, 1, 1, 2, 2, 2], &[], 0),
                (&[0, 0], &[], 1),
                (&[1, 1], &[2], 2),
                (&[], &[1, 1, 1], 1),
                (&[1, 1, 1], &[0, 0], 0),
            ],
        );
    }

    #[test]
    fn one_endpoint_is_picked_whatever_its_load() {
        check(&[7], &[(&[7, 7], &[], 7), (&[], &[7], 7)]);
    }

    #[test]
    fn ties_are_broken_at_random() {
        let e = eps(&[0, 1, 2]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut b = LeastConnections::new();
        b.on_send(EndpointId(1));
        let mut r = rng(6);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[b.pick(&req, &mut r).index()] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((4_700..5_300).contains(&counts[0]), "{counts:?}");
    }
}
