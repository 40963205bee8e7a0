//! Weighted round robin as Envoy does it: an earliest-deadline-first schedule
//! ([`EdfScheduler`]) built with `createWithPicks`.
//!
//! - **Start.** Whenever the set of eligible endpoints changes (Envoy refreshes its
//!   scheduler on every host-set or health change), the schedule is rebuilt as if a
//!   random number of picks (a `u32` from the caller's `rng`, modulo 429496729) had
//!   already been made. So the first pick of a new schedule follows the weights
//!   (weights 6/3/1 pick the weight-1 endpoint first one time in ten), and client
//!   instances do not march in step.
//! - **Weights change lazily.** A new weight of an endpoint already scheduled takes
//!   effect when that endpoint is next picked (Envoy `pickAndAdd` reads the weight
//!   then); it does not rebuild the schedule.
//! - **Retries and hedges** use [`WeightedRoundRobin::pick_again`]: the earliest
//!   endpoint of the schedule among the (narrowed) eligible set, without moving the
//!   schedule, so excluding already-tried endpoints neither rebuilds the schedule nor
//!   skews the shares of first attempts.

use rand::Rng;

use super::common::weight_of;
pub use super::edf::EdfScheduler;
use super::PickRequest;
use crate::{Endpoint, EndpointId};

/// Weighted round robin over the eligible endpoints (Envoy `ROUND_ROBIN` with weights).
#[derive(Clone, Debug, Default)]
pub struct WeightedRoundRobin {
    /// The ids the schedule was built for, ascending.
    built_for: Vec<EndpointId>,
    /// Current weight per endpoint id (read when an entry is added back).
    weights: Vec<f64>,
    sched: EdfScheduler,
}

impl WeightedRoundRobin {
    /// An empty schedule; the first pick builds it.
    pub fn new() -> WeightedRoundRobin {
        WeightedRoundRobin::default()
    }

    /// The next endpoint by earliest deadline over `req.eligible` (a first attempt).
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        self.note_weights(req.eligible);
        if !same_ids(&self.built_for, req.eligible) {
            let picks = rng.random::<u32>();
            self.rebuild(req.eligible, picks);
        }
        let weights = &self.weights;
        self.sched
            .pick_and_add(|id| weights[id.index()])
            .unwrap_or(req.eligible[0].id)
    }

    /// A further attempt of a call (retry or hedge) over `req.eligible`, typically
    /// the first attempt's set minus the endpoints already tried: the scheduled
    /// endpoint due earliest among them, leaving the schedule as it is. Endpoints the
    /// schedule does not know fall back to [`WeightedRoundRobin::pick`].
    #[must_use]
    pub fn pick_again<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        let eligible = req.eligible;
        let is_eligible = |id: EndpointId| eligible.binary_search_by_key(&id, |e| e.id).is_ok();
        match self.sched.peek_eligible(is_eligible) {
            Some(id) if !self.built_for.is_empty() => id,
            _ => self.pick(req, rng),
        }
    }

    /// Records the current weights (lazy: used at each entry's next add).
    fn note_weights(&mut self, eligible: &[Endpoint]) {
        if let Some(last) = eligible.last() {
            if self.weights.len() <= last.id.index() {
                self.weights.resize(last.id.index() + 1, 1.0);
            }
        }
        for ep in eligible {
            self.weights[ep.id.index()] = weight_of(ep) as f64;
        }
    }

    /// A fresh schedule over `eligible` with `picks` picks emulated.
    fn rebuild(&mut self, eligible: &[Endpoint], picks: u32) {
        self.built_for.clear();
        self.built_for.extend(eligible.iter().map(|e| e.id));
        let entries: Vec<(EndpointId, f64)> = eligible
            .iter()
            .map(|e| (e.id, weight_of(e) as f64))
            .collect();
        self.sched = EdfScheduler::create_with_picks(&entries, picks);
    }
}

/// True if `built` holds exactly the ids of `eligible` (both ascending).
fn same_ids(built: &[EndpointId], eligible: &[Endpoint]) -> bool {
    built.len() == eligible.len() && built.iter().zip(eligible).all(|(a, b)| *a == b.id)
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{ep, eps, rng};
    use super::*;
    use crate::time::Instant;

    fn req(e: &[Endpoint]) -> PickRequest<'_> {
        PickRequest {
            now: Instant::ZERO,
            eligible: e,
            known: e,
            hash_key: 0,
            known_generation: None,
        }
    }

    /// Picks from a schedule built with no emulated picks, one per step of `script`.
    fn check(script: &[(&[Endpoint], u32)]) {
        let mut b = WeightedRoundRobin::new();
        for (step, (eligible, want)) in script.iter().enumerate() {
            b.note_weights(eligible);
            if !same_ids(&b.built_for, eligible) {
                b.rebuild(eligible, 0);
            }
            let weights = &b.weights;
            let got = b.sched.pick_and_add(|id| weights[id.index()]).unwrap();
            assert_eq!(got, EndpointId(*want), "step {step}");
        }
    }

    #[test]
    fn equal_weights_are_round_robin_in_insertion_order() {
        let e = eps(&[3, 5, 8]);
        check(&[(&e, 3), (&e, 5), (&e, 8), (&e, 3), (&e, 5), (&e, 8)]);
    }

    #[test]
    fn a_new_eligible_set_rebuilds_the_schedule_and_a_weight_change_does_not() {
        let all = eps(&[0, 1, 2]);
        let two = eps(&[0, 2]);
        check(&[(&all, 0), (&all, 1), (&two, 0), (&two, 2), (&all, 0)]);
        // Weight 2 for endpoint 2 applies when 2 is next added back, not at once.
        let heavy = [ep(0, 1), ep(1, 1), ep(2, 2)];
        // Then 2 is due again at 1.5, before 0 and 1 at 2.
        check(&[
            (&all, 0),
            (&heavy, 1),
            (&heavy, 2),
            (&heavy, 2),
            (&heavy, 0),
        ]);
    }

    #[test]
    fn one_endpoint_is_always_picked() {
        let e = eps(&[4]);
        let mut b = WeightedRoundRobin::new();
        let mut r = rng(0);
        assert!((0..5).all(|_| b.pick(&req(&e), &mut r) == EndpointId(4)));
        assert_eq!(b.pick_again(&req(&e), &mut r), EndpointId(4));
    }

    #[test]
    fn instances_start_at_different_points() {
        let e = eps(&(0..50).collect::<Vec<_>>());
        let firsts: Vec<u32> = (0..8)
            .map(|i| WeightedRoundRobin::new().pick(&req(&e), &mut rng(i)).0)
            .collect();
        let mut distinct = firsts.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 4, "{firsts:?}");
    }

    #[test]
    fn retries_do_not_move_the_schedule() {
        // Weights 1:2:3, every call retried once on another endpoint: the first
        // attempts keep the weights exactly.
        let all = [ep(0, 1), ep(1, 2), ep(2, 3)];
        let mut b = WeightedRoundRobin::new();
        let mut r = rng(7);
        let mut firsts = [0u32; 3];
        let mut retries = [0u32; 3];
        for _ in 0..600 {
            let first = b.pick(&req(&all), &mut r);
            firsts[first.index()] += 1;
            let rest: Vec<Endpoint> = all.iter().copied().filter(|e| e.id != first).collect();
            let again = b.pick_again(&req(&rest), &mut r);
            assert_ne!(again, first);
            retries[again.index()] += 1;
        }
        assert_eq!(firsts, [100, 200, 300]);
        assert!(retries.iter().all(|&n| n > 0), "{retries:?}");
    }
}
