//! A `Vec` with a free list: requests addressed by [`RequestId`], reused without
//! allocation.
//!
//! Requests in the world live here. Each slot has a generation that grows when the
//! slot is freed, so a timer that names `(index, generation)` can tell that what it
//! refers to is gone (lazy cancellation).

use super::ids::RequestId;

/// Slots of `T` addressed by [`RequestId`].
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<RequestId>,
    live: usize,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    /// `Some` while occupied.
    value: Option<T>,
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// Stores `value` in a free slot and returns its index and generation.
    #[inline]
    pub fn insert(&mut self, value: T) -> (RequestId, u32) {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                RequestId((self.slots.len() - 1) as u32)
            }
        };
        let slot = &mut self.slots[index.index()];
        debug_assert!(slot.value.is_none());
        slot.value = Some(value);
        self.live += 1;
        (index, slot.generation)
    }

    /// Frees slot `index`; timers naming its old generation become stale.
    #[inline]
    pub fn remove(&mut self, index: RequestId) {
        let slot = &mut self.slots[index.index()];
        assert!(
            slot.value.take().is_some(),
            "double free of slot {}",
            index.0
        );
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.live -= 1;
    }

    /// The value at `index` if it is live and still of generation `generation`.
    #[inline]
    pub fn get_live(&mut self, index: RequestId, generation: u32) -> Option<&mut T> {
        let slot = self.slots.get_mut(index.index())?;
        if slot.generation == generation {
            slot.value.as_mut()
        } else {
            None
        }
    }

    /// True if slot `index` is live and still of generation `generation` (a timer
    /// naming it is not stale).
    #[inline]
    pub fn is_live(&self, index: RequestId, generation: u32) -> bool {
        self.slots
            .get(index.index())
            .is_some_and(|s| s.value.is_some() && s.generation == generation)
    }

    /// Slots allocated (live or free): what the slab holds in memory.
    pub fn slots(&self) -> usize {
        self.slots.capacity()
    }

    /// The live value at `index`.
    #[inline]
    pub fn get(&self, index: RequestId) -> &T {
        self.slots[index.index()]
            .value
            .as_ref()
            .expect("a live slot")
    }

    /// The value at `index` if the slot is occupied (whatever its generation).
    #[inline]
    pub fn peek(&self, index: RequestId) -> Option<&T> {
        self.slots.get(index.index())?.value.as_ref()
    }

    /// Starts fetching slot `index` into the cache (see [`crate::policy::prefetch`]).
    #[inline]
    pub fn prefetch(&self, index: RequestId) {
        if let Some(slot) = self.slots.get(index.index()) {
            crate::policy::prefetch::prefetch(slot, 1);
        }
    }

    /// The live value at `index`, mutably.
    #[inline]
    pub fn get_mut(&mut self, index: RequestId) -> &mut T {
        self.slots[index.index()]
            .value
            .as_mut()
            .expect("a live slot")
    }

    /// The current generation of slot `index`.
    #[inline]
    pub fn generation(&self, index: RequestId) -> u32 {
        self.slots[index.index()].generation
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.live
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_slots_and_stales_old_generations() {
        let mut s: Slab<u32> = Slab::new();
        let (a, ga) = s.insert(1);
        s.remove(a);
        assert!(
            s.get_live(a, ga).is_none(),
            "a stale generation finds nothing"
        );
        let (b, gb) = s.insert(2);
        assert_eq!(a, b, "the slot is reused");
        assert_ne!(ga, gb);
        assert_eq!(*s.get(b), 2);
        assert_eq!(s.len(), 1);
    }
}
