//! Tickets the stack hands out, and the slab that checks them.
//!
//! A ticket is a slot index plus the slot's generation when the ticket was made. A
//! ticket whose call, attempt or probe has ended no longer matches its slot, so an
//! outcome reported twice, late, or for the wrong call is recognised and ignored
//! instead of corrupting another call's state.

/// One call the application asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub(crate) Ticket);

/// One attempt (an RPC to one endpoint) of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttemptId(pub(crate) Ticket);

/// One health-check probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProbeId(pub(crate) Ticket);

macro_rules! ticket_accessors {
    ($($t:ty),*) => {$(
        impl $t {
            /// A dense slot number (reused after the ticket ends), for drivers that
            /// keep side tables indexed by it.
            pub fn slot(self) -> u32 {
                self.0.slot
            }
        }
    )*};
}
ticket_accessors!(CallId, AttemptId, ProbeId);

/// A slot and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ticket {
    pub(crate) slot: u32,
    pub(crate) gen: u32,
}

/// A `Vec` of reusable slots with generations: no allocation per call in steady state
/// and O(1) ticket checks.
#[derive(Clone, Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` and returns its ticket.
    pub(crate) fn insert(&mut self, value: T) -> Ticket {
        match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot as usize];
                entry.0 = entry.0.wrapping_add(1);
                entry.1 = Some(value);
                Ticket { slot, gen: entry.0 }
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 live entries");
                self.slots.push((0, Some(value)));
                Ticket { slot, gen: 0 }
            }
        }
    }

    /// The live entry of `ticket`, if it has not ended.
    pub(crate) fn get(&self, ticket: Ticket) -> Option<&T> {
        match self.slots.get(ticket.slot as usize) {
            Some((gen, Some(v))) if *gen == ticket.gen => Some(v),
            _ => None,
        }
    }

    /// The live entry of `ticket`, mutably.
    pub(crate) fn get_mut(&mut self, ticket: Ticket) -> Option<&mut T> {
        match self.slots.get_mut(ticket.slot as usize) {
            Some((gen, Some(v))) if *gen == ticket.gen => Some(v),
            _ => None,
        }
    }

    /// Ends `ticket`'s entry and returns it; `None` if it had already ended.
    pub(crate) fn remove(&mut self, ticket: Ticket) -> Option<T> {
        let entry = self.slots.get_mut(ticket.slot as usize)?;
        if entry.0 != ticket.gen {
            return None;
        }
        let value = entry.1.take()?;
        self.free.push(ticket.slot);
        Some(value)
    }

    /// Ends `ticket`'s entry in place (dropping it there, without moving it out);
    /// false if it had already ended.
    pub(crate) fn free(&mut self, ticket: Ticket) -> bool {
        match self.slots.get_mut(ticket.slot as usize) {
            Some((gen, value @ Some(_))) if *gen == ticket.gen => {
                *value = None;
                self.free.push(ticket.slot);
                true
            }
            _ => false,
        }
    }

    /// Starts fetching `ticket`'s slot into the cache (see [`crate::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self, ticket: Ticket) {
        if let Some(slot) = self.slots.get(ticket.slot as usize) {
            crate::prefetch::prefetch(slot, 1);
        }
    }

    /// Starts fetching the slot the next [`Slab::insert`] fills, if it reuses one.
    #[inline]
    pub(crate) fn prefetch_next_free(&self) {
        if let Some(slot) = self.free.last().and_then(|&i| self.slots.get(i as usize)) {
            crate::prefetch::prefetch(slot, 1);
        }
    }

    /// Slots held in memory, live or free.
    pub(crate) fn slots_held(&self) -> usize {
        self.slots.capacity()
    }

    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Live entries with their tickets, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Ticket, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, (gen, v))| {
                v.as_ref().map(|v| {
                    (
                        Ticket {
                            slot: slot as u32,
                            gen: *gen,
                        },
                        v,
                    )
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_tickets_match_nothing() {
        let mut slab = Slab::default();
        let a = slab.insert("a");
        assert_eq!(slab.get(a), Some(&"a"));
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None, "a ticket ends once");
        let b = slab.insert("b");
        assert_eq!(b.slot, a.slot, "the slot is reused");
        assert_eq!(
            slab.get(a),
            None,
            "the old ticket does not see the new entry"
        );
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
        assert!(slab.free(b), "freed in place");
        assert!(!slab.free(b), "a ticket ends once");
        assert_eq!(slab.get(b), None);
        assert_eq!(slab.len(), 0);
    }
}
