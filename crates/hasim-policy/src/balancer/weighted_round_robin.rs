//! Weighted round robin as an earliest-deadline-first schedule (Envoy EDF scheduler).
//!
//! Endpoint `i` with weight `w` is due at `1/w, 2/w, 3/w, ...`: each pick takes the
//! earliest deadline and moves that endpoint's deadline on by `1/w`. Deadlines are
//! kept as exact rationals `(picks + 1) / w` compared by cross-multiplication in
//! `u128`, so no rounding can reorder two endpoints. Equal deadlines go in insertion
//! order, which makes equal weights plain round robin.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rand::Rng;

use super::common::weight_of;
use super::PickRequest;
use crate::{Endpoint, EndpointId};

/// One endpoint in the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// The deadline is `due / weight`.
    due: u64,
    weight: u64,
    /// Insertion order: breaks deadline ties like Envoy's `order_offset_`.
    seq: u64,
    id: EndpointId,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        let mine = u128::from(self.due) * u128::from(other.weight);
        let theirs = u128::from(other.due) * u128::from(self.weight);
        mine.cmp(&theirs).then(self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Earliest-deadline-first over the eligible endpoints, rebuilt whenever their ids or
/// weights change. A rebuild skips a random number of picks (less than the number of
/// endpoints), as Envoy does, so client instances do not march in step and a retry
/// that briefly narrows the eligible set does not send the next pick back to the
/// first endpoint.
#[derive(Clone, Debug, Default)]
pub struct WeightedRoundRobin {
    /// The eligible set the schedule was built for.
    built_for: Vec<Endpoint>,
    heap: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
}

impl WeightedRoundRobin {
    /// An empty schedule; the first pick builds it.
    pub fn new() -> WeightedRoundRobin {
        WeightedRoundRobin::default()
    }

    /// The next endpoint by earliest deadline over `req.eligible`.
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        if self.built_for != req.eligible {
            let skip = rng.random_range(0..req.eligible.len());
            self.rebuild(req.eligible, skip);
        }
        self.next()
    }

    /// A fresh schedule over `eligible` with `skip` picks already taken.
    fn rebuild(&mut self, eligible: &[Endpoint], skip: usize) {
        self.built_for.clear();
        self.built_for.extend_from_slice(eligible);
        self.heap.clear();
        self.next_seq = 0;
        for ep in eligible {
            self.push(ep.id, 1, weight_of(ep));
        }
        for _ in 0..skip {
            let _ = self.next();
        }
    }

    fn push(&mut self, id: EndpointId, due: u64, weight: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry {
            due,
            weight,
            seq,
            id,
        }));
    }

    /// Takes the earliest deadline and schedules that endpoint's next one.
    fn next(&mut self) -> EndpointId {
        let Reverse(top) = self.heap.pop().expect("the eligible set is never empty");
        self.push(top.id, top.due + 1, top.weight);
        top.id
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{ep, eps, rng};
    use super::*;
    use crate::time::Instant;

    /// Picks from a schedule built with no skipped picks, one per step of `script`
    /// (each step gives the eligible set), against the expected ids.
    fn check(script: &[(&[Endpoint], u32)]) {
        let mut b = WeightedRoundRobin::new();
        for (step, (eligible, want)) in script.iter().enumerate() {
            if b.built_for != *eligible {
                b.rebuild(eligible, 0);
            }
            assert_eq!(b.next(), EndpointId(*want), "step {step}");
        }
    }

    #[test]
    fn equal_weights_are_round_robin_in_insertion_order() {
        let e = eps(&[3, 5, 8]);
        check(&[(&e, 3), (&e, 5), (&e, 8), (&e, 3), (&e, 5), (&e, 8)]);
    }

    #[test]
    fn deadlines_follow_weights_with_ties_in_insertion_order() {
        // Deadlines: A(w=2): 1/2, 1, 3/2, 2; B(w=1): 1, 2. At the ties (1 and 2) B
        // wins: A was re-inserted after B, and ties go in insertion order.
        let e = [ep(0, 2), ep(1, 1)];
        check(&[(&e, 0), (&e, 1), (&e, 0), (&e, 0), (&e, 1), (&e, 0)]);
        // 3:1 weights: three of B for each A; at deadline 1, A (inserted first) wins.
        let e = [ep(0, 1), ep(1, 3)];
        check(&[
            (&e, 1),
            (&e, 1),
            (&e, 0),
            (&e, 1),
            (&e, 1),
            (&e, 1),
            (&e, 0),
        ]);
    }

    #[test]
    fn a_new_eligible_set_rebuilds_the_schedule() {
        let all = eps(&[0, 1, 2]);
        let two = eps(&[0, 2]);
        check(&[(&all, 0), (&all, 1), (&two, 0), (&two, 2), (&all, 0)]);
        // A weight change is a change too.
        let heavy = [ep(0, 1), ep(1, 1), ep(2, 2)];
        check(&[
            (&all, 0),
            (&heavy, 2),
            (&heavy, 0),
            (&heavy, 1),
            (&heavy, 2),
        ]);
    }

    #[test]
    fn one_endpoint_is_always_picked() {
        let e = eps(&[4]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
        };
        let mut b = WeightedRoundRobin::new();
        let mut r = rng(0);
        assert!((0..5).all(|_| b.pick(&req, &mut r) == EndpointId(4)));
    }

    #[test]
    fn instances_start_at_different_points() {
        let e = eps(&(0..50).collect::<Vec<_>>());
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
        };
        let firsts: Vec<u32> = (0..8)
            .map(|i| WeightedRoundRobin::new().pick(&req, &mut rng(i)).0)
            .collect();
        let mut distinct = firsts.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 4, "{firsts:?}");
    }
}
