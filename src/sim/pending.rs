//! The engine's set of pending events: a 4-ary heap while it is small, a calendar
//! queue once it is large.
//!
//! Measured on this project's machine (issues 8 and 14; `benches/README.md`,
//! "Pending-event set"): with the 140-odd events W1 keeps pending (every call's
//! answer is scheduled when it is sent; they now wait in `chains.rs`) or the 320-odd
//! of the fleet at 100 servers, a heap in L1 is the fastest, and the 4-ary heap
//! (`quad_heap.rs`, four or five levels) beat `std`'s binary heap (eight or nine),
//! whose pop is a chain of dependent loads one level deep each. With the 2,000-3,000
//! the fleet workload keeps pending at 1,000 servers, a binary heap's pop walked
//! twelve levels and took a fifth of the run's time; the calendar queue
//! (`calendar.rs`) sorts only the few entries of the current time slot, and at about
//! 50,000 pending it also beat the radix heap that held large sets before. Both are
//! exact priority queues over unique keys, so which one holds the events never
//! changes the order they leave in; the set moves its entries from one to the other
//! when its size crosses a threshold, with a gap between the two thresholds so that
//! it does not switch back and forth.

use super::calendar::Calendar;
use super::quad_heap::QuadHeap;

/// What the pending set orders by.
pub trait Keyed {
    /// The key; smaller leaves first. Keys are unique, never below the last key
    /// popped, and their high 64 bits are the entry's time in ns.
    fn key(&self) -> u128;
}

/// Whichever of two candidate entries comes first (either may be missing).
#[inline]
pub fn earlier<T: Keyed>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.key() < a.key() { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A bare key is its own entry (the queues' tests push keys alone).
#[cfg(test)]
impl Keyed for u128 {
    fn key(&self) -> u128 {
        *self
    }
}

/// At this many entries the small heap turns into a calendar queue. Measured on the
/// fleet workload at 1,000 servers (2,000-3,000 pending): the calendar queue took
/// 0.84-0.95x the CPU time of a binary heap (`benches/README.md`); with fleet-100's
/// 320-odd (at most 386 at a budget check of a 400k-call run) the small heap stays.
const GROW_AT: usize = 1024;
/// Below this many a calendar queue turns back into the small heap.
const SHRINK_BELOW: usize = 256;
/// Room a new small heap starts with (it grows as needed).
const INITIAL_ROOM: usize = 1024;

/// A min-priority queue of entries with unique keys that never go below the last key
/// popped.
#[derive(Debug)]
pub enum PendingSet<T> {
    /// Few entries.
    Small(QuadHeap<T>),
    /// Many entries.
    Large(Calendar<T>),
}

impl<T: Keyed + Copy> PendingSet<T> {
    /// An empty set.
    pub fn new() -> PendingSet<T> {
        PendingSet::Small(QuadHeap::with_capacity(INITIAL_ROOM))
    }

    /// Entries held.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            PendingSet::Small(h) => h.len(),
            PendingSet::Large(h) => h.len(),
        }
    }

    /// True if nothing is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        match self {
            PendingSet::Small(h) => h.is_empty(),
            PendingSet::Large(h) => h.is_empty(),
        }
    }

    /// Entries it has room for without reallocating.
    pub fn capacity(&self) -> usize {
        match self {
            PendingSet::Small(h) => h.capacity(),
            PendingSet::Large(h) => h.capacity(),
        }
    }

    /// Adds `entry` (its key must not be below the last key popped).
    #[inline]
    pub fn push(&mut self, entry: T) {
        match self {
            PendingSet::Small(h) => {
                h.push(entry);
                if h.len() >= GROW_AT {
                    self.grow();
                }
            }
            PendingSet::Large(h) => h.push(entry),
        }
    }

    /// The smallest key, if any.
    #[inline]
    pub fn peek_key(&mut self) -> Option<u128> {
        match self {
            PendingSet::Small(h) => h.peek().map(|e| e.key()),
            PendingSet::Large(h) => h.peek_key(),
        }
    }

    /// The entry with the smallest key, if any.
    #[inline]
    pub fn peek(&mut self) -> Option<&T> {
        match self {
            PendingSet::Small(h) => h.peek(),
            PendingSet::Large(h) => h.peek(),
        }
    }

    /// The entry with the second smallest key (`Some(None)` if there is none), when it
    /// is cheap to find: in the small heap it is one of the root's children; a
    /// calendar queue answers `None` when its current slot holds a single entry (this
    /// is only a hint for prefetching).
    #[inline]
    pub fn peek_second(&self) -> Option<Option<&T>> {
        match self {
            PendingSet::Small(h) => Some(h.peek_second()),
            PendingSet::Large(h) => h.peek_second(),
        }
    }

    /// Removes and returns the entry with the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        match self {
            PendingSet::Small(h) => h.pop(),
            PendingSet::Large(h) => {
                let entry = h.pop();
                if h.len() < SHRINK_BELOW {
                    self.shrink();
                }
                entry
            }
        }
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        match self {
            PendingSet::Small(h) => h.retain(keep),
            PendingSet::Large(h) => h.retain(keep),
        }
        if self.len() < SHRINK_BELOW {
            self.shrink();
        }
    }

    /// Gives back memory, keeping room for `room` entries.
    pub fn shrink_to(&mut self, room: usize) {
        match self {
            PendingSet::Small(h) => h.shrink_to(room),
            PendingSet::Large(h) => h.shrink_to(room),
        }
    }

    /// Moves every entry into a calendar queue.
    fn grow(&mut self) {
        if let PendingSet::Small(h) = self {
            let entries = std::mem::replace(h, QuadHeap::with_capacity(0)).into_vec();
            *self = PendingSet::Large(Calendar::from_entries(entries));
        }
    }

    /// Moves every entry into the small heap.
    fn shrink(&mut self) {
        if let PendingSet::Large(h) = self {
            *self = PendingSet::Small(QuadHeap::from_vec(h.drain()));
        }
    }
}

impl<T: Keyed + Copy> Default for PendingSet<T> {
    fn default() -> Self {
        PendingSet::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Entry(u128);

    impl Keyed for Entry {
        fn key(&self) -> u128 {
            self.0
        }
    }

    /// Growing past the threshold and shrinking back keeps the order: pushes and pops
    /// across both switches come out in key order.
    #[test]
    fn order_survives_both_switches() {
        let mut set = PendingSet::<Entry>::new();
        let mut seq = 0u128;
        let mut key = |time: u128| {
            seq += 1;
            (time << 64) | seq
        };
        let mut popped = Vec::new();
        let pushed = GROW_AT as u128 + 2000;
        for round in 0..pushed {
            set.push(Entry(key((round * 7919) % 5000)));
        }
        assert!(matches!(set, PendingSet::Large(_)));
        while set.len() > 100 {
            let k = set.pop().unwrap().0;
            popped.push(k);
            if popped.len() % 3 == 0 {
                let time = (k >> 64) + (k >> 64) % 97;
                set.push(Entry(key(time)));
            }
        }
        assert!(matches!(set, PendingSet::Small(_)));
        while let Some(e) = set.pop() {
            popped.push(e.0);
        }
        assert!(popped.len() as u128 > pushed);
        assert!(
            popped.windows(2).all(|w| w[0] < w[1]),
            "popped in key order"
        );
    }
}
