//! FIFO chains: streams of entries that each come in key order, of which only the
//! fronts are ordered against one another.
//!
//! A server solved in closed form (`closed_form.rs`) with one worker answers its
//! requests in the order they arrive, and over a steady network its answers reach
//! their clients in that order too. But they are scheduled when each request is
//! sent, so W1 holds about 140 of them, and in a single heap each pop sifts through
//! all of them. Kept as one chain per server, only the fronts (sixteen in W1) are in
//! a heap (`Chains::heads`); the rest wait in their chain's FIFO at O(1) a push and a
//! pop.
//! A chain's key order is checked on push: an entry that would come before its
//! chain's last (a server with several workers finishes out of order) is handed
//! back, and the engine puts it in its heap, so the order events run in never
//! depends on where they waited.

use std::collections::VecDeque;

use super::pending::{earlier, Keyed};
use super::quad_heap::QuadHeap;

/// A chain's front in `Chains::heads`.
#[derive(Clone, Copy, Debug)]
struct Head {
    key: u128,
    chain: u32,
}

impl Keyed for Head {
    #[inline]
    fn key(&self) -> u128 {
        self.key
    }
}

/// FIFO chains of entries, numbered from 0.
#[derive(Debug)]
pub struct Chains<T> {
    /// Each chain's entries in key order (empty for an idle chain).
    queues: Vec<VecDeque<T>>,
    /// The front of every busy chain.
    heads: QuadHeap<Head>,
    /// Entries held, over all chains.
    len: usize,
}

impl<T: Keyed + Copy> Chains<T> {
    /// No chains.
    pub fn new() -> Chains<T> {
        Chains {
            queues: Vec::new(),
            heads: QuadHeap::with_capacity(0),
            len: 0,
        }
    }

    /// Entries held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no chain holds an entry.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries the chains have room for without reallocating, plus one per chain for
    /// its `VecDeque` itself, which weighs as much as an entry (for the memory
    /// budget; a sum over the chains, so only for occasional checks).
    pub fn capacity(&self) -> usize {
        let queues = self.queues.iter().map(VecDeque::capacity).sum::<usize>();
        queues + self.queues.len() + self.heads.capacity()
    }

    /// Appends `entry` to chain `chain`, or hands it back when its key is below the
    /// chain's last one (it then belongs in a heap).
    #[inline]
    pub fn push(&mut self, chain: u32, entry: T) -> Result<(), T> {
        let i = chain as usize;
        if i >= self.queues.len() {
            self.queues.resize_with(i + 1, VecDeque::new);
        }
        let queue = &mut self.queues[i];
        match queue.back() {
            Some(last) if last.key() > entry.key() => return Err(entry),
            Some(_) => queue.push_back(entry),
            None => {
                queue.push_back(entry);
                self.heads.push(Head {
                    key: entry.key(),
                    chain,
                });
            }
        }
        self.len += 1;
        Ok(())
    }

    /// The smallest key of all the chains' entries.
    #[inline]
    pub fn peek_key(&self) -> Option<u128> {
        self.heads.peek().map(|h| h.key)
    }

    /// The entry with the smallest key.
    #[inline]
    pub fn peek(&self) -> Option<&T> {
        let head = self.heads.peek()?;
        self.queues[head.chain as usize].front()
    }

    /// The entry with the second smallest key: the next in the first chain, or
    /// another chain's front.
    #[inline]
    pub fn peek_second(&self) -> Option<T> {
        let head = self.heads.peek()?;
        let behind = self.queues[head.chain as usize].get(1).copied();
        let other = self
            .heads
            .peek_second()
            .and_then(|h| self.queues[h.chain as usize].front().copied());
        earlier(behind, other)
    }

    /// Removes and returns the entry with the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let head = *self.heads.peek()?;
        let queue = &mut self.queues[head.chain as usize];
        let entry = queue.pop_front()?;
        match queue.front() {
            Some(next) => self.heads.replace_top(Head {
                key: next.key(),
                chain: head.chain,
            }),
            None => {
                self.heads.pop();
            }
        }
        self.len -= 1;
        Some(entry)
    }
}

impl<T: Keyed + Copy> Default for Chains<T> {
    fn default() -> Self {
        Chains::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::lcg;

    /// Against one binary heap of everything the chains took: every pop returns the
    /// same entry, `peek_second` names the entry after the next, and an entry pushed
    /// below its chain's last one is handed back.
    #[test]
    fn pops_as_one_heap_would() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut chains = Chains::<u128>::new();
        let mut reference = BinaryHeap::new();
        let mut next = lcg(12_345);
        let mut last = [0u128; 16];
        let (mut seq, mut refused, mut named) = (0u128, 0, 0);
        for _ in 0..20_000 {
            if next() % 3 == 0 {
                let second = chains.peek_second();
                assert_eq!(chains.pop(), reference.pop().map(|r: Reverse<u128>| r.0));
                if second.is_some() {
                    named += 1;
                }
                assert_eq!(second, chains.peek().copied());
                assert_eq!(chains.len(), reference.len());
                continue;
            }
            let chain = (next() % 16) as usize;
            seq += 1;
            // Mostly after the chain's last key, one time in eight before it.
            let t = (last[chain] >> 64) as u64;
            let time = if next() % 8 == 0 {
                t.saturating_sub(1 + next() % 50)
            } else {
                t + next() % 100
            };
            let key = (u128::from(time) << 64) | seq;
            match chains.push(chain as u32, key) {
                Ok(()) => {
                    last[chain] = key;
                    reference.push(Reverse(key));
                }
                Err(back) => {
                    assert_eq!(back, key);
                    assert!(key < last[chain]);
                    refused += 1;
                }
            }
        }
        assert!(refused > 100, "{refused} refused");
        assert!(named > 1_000, "{named} seconds named");
        while let Some(key) = chains.pop() {
            assert_eq!(Some(key), reference.pop().map(|r| r.0));
        }
        assert!(reference.is_empty() && chains.is_empty() && chains.peek_key().is_none());
    }
}
