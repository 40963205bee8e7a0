//! The event queue and the clock.
//!
//! A binary heap of `(time, sequence, event)`: equal times run first-in first-out, so
//! the order never depends on the heap's internals. Cancelled timers are not removed:
//! each carries the generation of what it refers to and is dropped when it reaches the
//! top and no longer matches (lazy cancellation). Every popped event is folded into a
//! running hash, the run's determinism fingerprint.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

use super::event::Event;
use crate::time::Instant;

/// One scheduled event. `key` packs `(time, seq)` as `time << 64 | seq`, so the heap
/// orders entries with one integer comparison.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u128,
    event: Event,
}

impl Entry {
    #[inline]
    fn time(&self) -> u64 {
        (self.key >> 64) as u64
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so the max-heap pops the earliest `(time, seq)` first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// The clock and the pending events of one run.
#[derive(Debug)]
pub struct Engine {
    now: Instant,
    heap: BinaryHeap<Entry>,
    next_seq: u64,
    processed: u64,
    fingerprint: u64,
}

/// FNV-1a 64-bit offset basis and prime: a simple, stable fold for the fingerprint.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Engine {
    /// An empty queue at time zero.
    pub fn new() -> Engine {
        Engine {
            now: Instant::ZERO,
            heap: BinaryHeap::with_capacity(1024),
            next_seq: 0,
            processed: 0,
            fingerprint: FNV_OFFSET,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// The running hash of every popped `(time, kind)`.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Schedules `event` at `at` (never in the past).
    #[inline]
    pub fn schedule_at(&mut self, at: Instant, event: Event) {
        debug_assert!(
            at >= self.now,
            "scheduled {event:?} at {at} before now {}",
            self.now
        );
        let at = at.max(self.now);
        self.heap.push(Entry {
            key: (u128::from(at.as_nanos()) << 64) | u128::from(self.next_seq),
            event,
        });
        self.next_seq += 1;
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn schedule_in(&mut self, delay: Duration, event: Event) {
        self.schedule_at(self.now.after(delay), event);
    }

    /// Schedules `event` after `delay_ns` nanoseconds.
    #[inline]
    pub fn schedule_in_ns(&mut self, delay_ns: u64, event: Event) {
        self.schedule_at(Instant(self.now.as_nanos().saturating_add(delay_ns)), event);
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|e| Instant(e.time()))
    }

    /// Pops the next event, advancing the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        let entry = self.heap.pop()?;
        let time = entry.time();
        // `schedule_at` never schedules before `now`, so time cannot go backwards.
        debug_assert!(time >= self.now.as_nanos(), "time went backwards");
        self.now = Instant(time);
        self.processed += 1;
        self.fingerprint = (self.fingerprint ^ time).wrapping_mul(FNV_PRIME);
        self.fingerprint = (self.fingerprint ^ entry.event.kind() as u64).wrapping_mul(FNV_PRIME);
        Some(entry.event)
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_fifo_order() {
        let mut e = Engine::new();
        e.schedule_at(Instant(20), Event::ArrivalTick { client: 1 });
        e.schedule_at(Instant(10), Event::ArrivalTick { client: 2 });
        e.schedule_at(Instant(20), Event::ArrivalTick { client: 3 });
        e.schedule_at(Instant(10), Event::ArrivalTick { client: 4 });
        let order: Vec<u32> = std::iter::from_fn(|| e.pop())
            .map(|ev| match ev {
                Event::ArrivalTick { client } => client,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![2, 4, 1, 3]);
        assert_eq!(e.now(), Instant(20));
        assert_eq!(e.processed(), 4);
    }

    #[test]
    fn fingerprint_depends_on_times_and_kinds() {
        let run = |t: u64| {
            let mut e = Engine::new();
            e.schedule_at(Instant(t), Event::ArrivalTick { client: 0 });
            e.pop();
            e.fingerprint()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
