//! Envoy's earliest-deadline-first scheduler (`source/common/upstream/edf_scheduler.h`),
//! the engine of weighted round robin.
//!
//! Every entry has a deadline; a pick takes the earliest (ties in insertion order,
//! Envoy's `order_offset_`), moves the scheduler's clock to it, and adds the entry back
//! at `clock + 1 / weight`, with the weight it has *now*: a weight change takes effect
//! lazily, at the entry's next pick (Envoy `pickAndAdd`).
//!
//! Deadlines are `f64`, as in Envoy, on purpose: Envoy's `createWithPicks` adds `1e-13`
//! to every weight, and that epsilon decides ties in later picks (Envoy's
//! `round_robin_lb_test.cc` `Weighted` depends on it), so exact rationals would pick
//! differently from Envoy. This is a virtual clock of the schedule, not simulated time;
//! `f64` arithmetic is deterministic, so runs stay reproducible.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::EndpointId;

/// The weight epsilon of Envoy's `createWithPicks`.
const WEIGHT_EPSILON: f64 = 1e-13;

/// Envoy bounds the emulated picks: `picks % (u32::MAX / 10)`.
pub const MAX_PRE_PICKS: u32 = 429_496_729;

/// One scheduled entry.
#[derive(Clone, Copy, Debug)]
struct Entry {
    deadline: f64,
    /// Insertion order: breaks deadline ties first-in first-out.
    order: u64,
    id: EndpointId,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.deadline
            .total_cmp(&other.deadline)
            .then(self.order.cmp(&other.order))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An EDF scheduler over endpoint ids (Envoy `EdfScheduler<Host>`).
#[derive(Clone, Debug, Default)]
pub struct EdfScheduler {
    heap: BinaryHeap<Reverse<Entry>>,
    current_time: f64,
    order_offset: u64,
    /// Entries popped while looking for an eligible one; pushed back unchanged.
    scratch: Vec<Entry>,
}

impl EdfScheduler {
    /// An empty scheduler.
    pub fn new() -> EdfScheduler {
        EdfScheduler::default()
    }

    /// Adds `id` with deadline `now + 1 / weight` (Envoy `add`). `weight` must be > 0.
    pub fn add(&mut self, weight: f64, id: EndpointId) {
        debug_assert!(weight > 0.0, "weights are positive");
        let deadline = self.current_time + 1.0 / weight;
        self.push(deadline, id);
    }

    fn push(&mut self, deadline: f64, id: EndpointId) {
        let order = self.order_offset;
        self.order_offset += 1;
        self.heap.push(Reverse(Entry {
            deadline,
            order,
            id,
        }));
    }

    /// Entries in the schedule.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// A scheduler over `entries` (id, weight > 0) as if `picks` picks had already been
    /// made from an empty one with the entries added in order (Envoy `createWithPicks`):
    /// each entry first gets `floor(picks x w_i / W)` emulated picks, then the few left
    /// over (fewer than the number of entries) are made one by one. `picks` is taken
    /// modulo [`MAX_PRE_PICKS`], as Envoy does.
    pub fn create_with_picks(entries: &[(EndpointId, f64)], picks: u32) -> EdfScheduler {
        let picks = picks % MAX_PRE_PICKS;
        let mut s = EdfScheduler::new();
        if entries.is_empty() {
            return s;
        }
        let aug = |w: f64| w + WEIGHT_EPSILON;
        let weights_sum: f64 = entries.iter().map(|&(_, w)| aug(w)).sum();
        let mut picks_so_far: u32 = 0;
        let mut max_pick_time = 0.0f64;
        let mut heap = Vec::with_capacity(entries.len());
        for (i, &(id, w)) in entries.iter().enumerate() {
            let weight = aug(w);
            let mut floor_picks = (weight * f64::from(picks) / weights_sum) as u32;
            // Envoy's guard against floor(A x B) > A x B in floating point.
            if floor_picks > 0 && f64::from(floor_picks) / weight >= f64::from(picks) / weights_sum
            {
                floor_picks -= 1;
            }
            let pick_time = f64::from(floor_picks) / weight;
            let deadline = f64::from(floor_picks + 1) / weight;
            heap.push(Reverse(Entry {
                deadline,
                order: i as u64,
                id,
            }));
            max_pick_time = max_pick_time.max(pick_time);
            picks_so_far += floor_picks;
        }
        s.heap = BinaryHeap::from(heap);
        s.current_time = max_pick_time;
        s.order_offset = entries.len() as u64;
        let mut by_id = vec![1.0; entries.iter().map(|e| e.0.index() + 1).max().unwrap_or(0)];
        for &(id, w) in entries {
            by_id[id.index()] = w;
        }
        let weight_of = |id: EndpointId| by_id[id.index()];
        while picks_so_far < picks {
            let _ = s.pick_and_add(weight_of);
            picks_so_far += 1;
        }
        s
    }

    /// Takes the earliest entry and adds it back with `weight(id)` (Envoy `pickAndAdd`).
    pub fn pick_and_add(&mut self, weight: impl Fn(EndpointId) -> f64) -> Option<EndpointId> {
        let Reverse(top) = self.heap.pop()?;
        self.current_time = self.current_time.max(top.deadline);
        self.add(weight(top.id), top.id);
        Some(top.id)
    }

    /// Like [`EdfScheduler::pick_and_add`], but over the entries `eligible` accepts:
    /// earlier ineligible entries keep their deadlines and are picked as soon as they
    /// are eligible again. An entry whose deadline fell behind the clock while it was
    /// skipped is added back at `max(deadline + 1 / weight, clock)`, so an endpoint
    /// that was skipped for long gets no burst of catch-up picks.
    pub fn pick_eligible(
        &mut self,
        eligible: impl Fn(EndpointId) -> bool,
        weight: impl Fn(EndpointId) -> f64,
    ) -> Option<EndpointId> {
        let found = self.pop_eligible(&eligible);
        if let Some(e) = found {
            let w = weight(e.id);
            if e.deadline >= self.current_time {
                self.current_time = e.deadline;
                self.add(w, e.id);
            } else {
                let deadline = (e.deadline + 1.0 / w).max(self.current_time);
                self.push(deadline, e.id);
            }
        }
        self.restore_scratch();
        found.map(|e| e.id)
    }

    /// The earliest entry `eligible` accepts, without picking it: the schedule is left
    /// exactly as it was (for a retry that must not shift the first attempts' shares).
    pub fn peek_eligible(&mut self, eligible: impl Fn(EndpointId) -> bool) -> Option<EndpointId> {
        let found = self.pop_eligible(&eligible);
        if let Some(e) = found {
            self.scratch.push(e);
        }
        self.restore_scratch();
        found.map(|e| e.id)
    }

    fn pop_eligible(&mut self, eligible: &impl Fn(EndpointId) -> bool) -> Option<Entry> {
        debug_assert!(self.scratch.is_empty());
        while let Some(Reverse(e)) = self.heap.pop() {
            if eligible(e.id) {
                return Some(e);
            }
            self.scratch.push(e);
        }
        None
    }

    fn restore_scratch(&mut self) {
        for e in self.scratch.drain(..) {
            self.heap.push(Reverse(e));
        }
    }

    /// Every entry's (deadline, id), earliest first: for tests comparing schedules.
    pub fn deadlines(&self) -> Vec<(f64, EndpointId)> {
        let mut v: Vec<Entry> = self.heap.iter().map(|r| r.0).collect();
        v.sort();
        v.into_iter().map(|e| (e.deadline, e.id)).collect()
    }
}
