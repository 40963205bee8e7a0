//! A 4-ary min-heap: the pending set's queue while it is small (`pending.rs`).
//!
//! Why not `std`'s binary heap: a pop walks the hole from the root to a leaf, and
//! each level waits for the previous one's comparison before it knows which child
//! to load next, so the cost is the depth of that chain of dependent loads. W1
//! keeps about 140 events pending (every call's answer is scheduled when it is
//! sent; these now wait in `chains.rs`, whose fronts are in a heap of this kind too),
//! and the fleet at 100 servers about 320 (counted at the budget checks of a
//! 400k-call run, at most 386): eight or nine levels in a binary heap, four or five in
//! this one, whose four children of a node are 128 contiguous bytes, compared in a
//! small tree (two pairs at once, then their winners). Measured in
//! `benches/README.md` ("Pending-event set").
//!
//! Entries are `Copy` (the engine's are 32 bytes), so moving the hole copies
//! entries rather than swapping them, without `unsafe`. Keys are unique, so the
//! order of equal keys never matters.

use super::pending::Keyed;

/// Children per node.
const ARITY: usize = 4;

/// A min-priority queue of `Copy` entries with unique keys.
#[derive(Debug, Clone)]
pub struct QuadHeap<T> {
    /// The heap in level order: the children of `i` are `4i + 1 ..= 4i + 4`.
    items: Vec<T>,
}

impl<T: Keyed + Copy> QuadHeap<T> {
    /// An empty heap with room for `room` entries.
    pub fn with_capacity(room: usize) -> QuadHeap<T> {
        QuadHeap {
            items: Vec::with_capacity(room),
        }
    }

    /// A heap of `items`, in any order.
    pub fn from_vec(items: Vec<T>) -> QuadHeap<T> {
        let mut heap = QuadHeap { items };
        heap.heapify();
        heap
    }

    /// The entries, in no particular order.
    pub fn into_vec(self) -> Vec<T> {
        self.items
    }

    /// Entries held.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if nothing is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entries it has room for without reallocating.
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Gives back memory, keeping room for `room` entries.
    pub fn shrink_to(&mut self, room: usize) {
        self.items.shrink_to(room);
    }

    /// The entry with the smallest key.
    #[inline]
    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    /// The entry with the second smallest key: the smallest of the root's children.
    #[inline]
    pub fn peek_second(&self) -> Option<&T> {
        let end = self.items.len().min(ARITY + 1);
        self.items.get(1..end)?.iter().min_by_key(|e| e.key())
    }

    /// Adds `entry`.
    #[inline]
    pub fn push(&mut self, entry: T) {
        self.items.push(entry);
        self.sift_up(self.items.len() - 1, entry);
    }

    /// Removes and returns the entry with the smallest key.
    ///
    /// Floyd's variant, as `std`'s binary heap: the hole left at the root moves down
    /// along the smallest children to a leaf, and the last entry, which belongs near
    /// the bottom, fills it from there upwards. That saves comparing it at every level
    /// on the way down.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let last = self.items.pop()?;
        let Some(&top) = self.items.first() else {
            return Some(last);
        };
        let hole = self.hole_to_bottom();
        self.sift_up(hole, last);
        Some(top)
    }

    /// Replaces the entry with the smallest key by `entry` (a pop and a push in one
    /// walk down).
    #[inline]
    pub fn replace_top(&mut self, entry: T) {
        match self.items.first_mut() {
            Some(top) => {
                *top = entry;
                self.sift_down(0);
            }
            None => self.items.push(entry),
        }
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.items.retain(keep);
        self.heapify();
    }

    /// Moves the hole at the root down to a leaf, each time filling it with its
    /// smallest child; returns where it ends.
    #[inline]
    fn hole_to_bottom(&mut self) -> usize {
        let items = &mut self.items[..];
        let n = items.len();
        let mut hole = 0;
        loop {
            let first = ARITY * hole + 1;
            let child = if let Some(kids) = items.get(first..first + ARITY) {
                // A tree of comparisons: the two pairs do not wait on each other.
                let (k0, k1, k2, k3) = (kids[0].key(), kids[1].key(), kids[2].key(), kids[3].key());
                let (a, ka) = if k1 < k0 { (1, k1) } else { (0, k0) };
                let (b, kb) = if k3 < k2 { (3, k3) } else { (2, k2) };
                first + if kb < ka { b } else { a }
            } else if first < n {
                // The last inner node, with fewer than four children.
                (first..n).min_by_key(|&i| items[i].key()).unwrap_or(first)
            } else {
                return hole;
            };
            items[hole] = items[child];
            hole = child;
        }
    }

    /// Puts `entry` at `pos` or above it, moving larger parents down.
    #[inline]
    fn sift_up(&mut self, mut pos: usize, entry: T) {
        let key = entry.key();
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.items[parent].key() < key {
                break;
            }
            self.items[pos] = self.items[parent];
            pos = parent;
        }
        self.items[pos] = entry;
    }

    /// Restores the heap order over the whole array (bottom-up, linear time).
    fn heapify(&mut self) {
        let n = self.items.len();
        if n < 2 {
            return;
        }
        for start in (0..=(n - 2) / ARITY).rev() {
            self.sift_down(start);
        }
    }

    /// Moves the entry at `pos` down until no child is smaller.
    #[inline]
    fn sift_down(&mut self, mut pos: usize) {
        let entry = self.items[pos];
        let key = entry.key();
        let n = self.items.len();
        loop {
            let first = ARITY * pos + 1;
            let end = (first + ARITY).min(n);
            let Some(child) = (first..end).min_by_key(|&i| self.items[i].key()) else {
                break;
            };
            if self.items[child].key() > key {
                break;
            }
            self.items[pos] = self.items[child];
            pos = child;
        }
        self.items[pos] = entry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::lcg;

    /// Against `std`'s binary heap on an interleaving of pushes, pops and
    /// `replace_top`s at every size from empty to a few thousand and back: the same
    /// entries come out in the same order, and `peek_second` always names the entry
    /// after the next.
    #[test]
    fn pops_in_the_order_of_a_binary_heap() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut next = lcg(42);
        let mut quad = QuadHeap::<u128>::with_capacity(4);
        let mut reference = BinaryHeap::new();
        let (mut seq, mut largest) = (0u128, 0);
        for round in 0..40_000u32 {
            // Phases of 5,000 rounds that grow (two pushes in three) and shrink (one).
            let grow = (round / 5_000) % 2 == 0;
            let push = if grow {
                next() % 3 != 0
            } else {
                next() % 3 == 0
            };
            seq += 1;
            let key = (u128::from(next() % 10_000) << 64) | seq;
            if push {
                quad.push(key);
                reference.push(Reverse(key));
            } else if next() % 8 == 0 && !quad.is_empty() {
                // A pop and a push in one.
                quad.replace_top(key);
                reference.pop();
                reference.push(Reverse(key));
            } else {
                let second = quad.peek_second().copied();
                let popped = quad.pop();
                assert_eq!(popped, reference.pop().map(|r| r.0));
                assert_eq!(second, reference.peek().map(|r| r.0));
            }
            assert_eq!(quad.peek(), reference.peek().map(|r| &r.0));
            assert_eq!(quad.len(), reference.len());
            largest = largest.max(quad.len());
        }
        assert!(largest > 1_000, "the sizes covered reach {largest}");
    }

    /// `from_vec` and `retain` leave a valid heap: everything comes out in order.
    #[test]
    fn rebuilt_heaps_pop_in_order() {
        let mut next = lcg(7);
        let keys: Vec<u128> = (0..1_000u128)
            .map(|i| (u128::from(next()) << 64) | i)
            .collect();
        let mut heap = QuadHeap::from_vec(keys.clone());
        heap.retain(|k| k % 3 != 0);
        let mut expected: Vec<u128> = keys.into_iter().filter(|k| k % 3 != 0).collect();
        expected.sort_unstable();
        let popped: Vec<u128> = std::iter::from_fn(|| heap.pop()).collect();
        assert_eq!(popped, expected);
    }
}
