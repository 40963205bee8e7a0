//! A `Vec` with a free list: entities addressed by index, reused without allocation.
//!
//! Calls and attempts in flight live here. Each slot has a generation that grows when
//! the slot is freed, so a timer that names `(index, generation)` can tell that what it
//! refers to is gone (lazy cancellation).

/// Slots of `T` addressed by `u32` index.
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    occupied: bool,
    value: T,
}

impl<T: Default> Slab<T> {
    /// An empty slab.
    pub fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// Takes a free slot (a reused one keeps the capacity of its buffers) and returns its
    /// index and generation. `init` fills it in.
    #[inline]
    pub fn insert_with(&mut self, init: impl FnOnce(&mut T)) -> (u32, u32) {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    occupied: false,
                    value: T::default(),
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        debug_assert!(!slot.occupied);
        slot.occupied = true;
        init(&mut slot.value);
        self.live += 1;
        (index, slot.generation)
    }

    /// Frees slot `index`; timers naming its old generation become stale.
    #[inline]
    pub fn remove(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        assert!(slot.occupied, "double free of slot {index}");
        slot.occupied = false;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.live -= 1;
    }

    /// The value at `index` if it is live and still of generation `generation`.
    #[inline]
    pub fn get_live(&mut self, index: u32, generation: u32) -> Option<&mut T> {
        let slot = self.slots.get_mut(index as usize)?;
        (slot.occupied && slot.generation == generation).then_some(&mut slot.value)
    }

    /// True if slot `index` is live and still of generation `generation` (a timer
    /// naming it is not stale).
    #[inline]
    pub fn is_live(&self, index: u32, generation: u32) -> bool {
        self.slots
            .get(index as usize)
            .is_some_and(|s| s.occupied && s.generation == generation)
    }

    /// Slots allocated (live or free): what the slab holds in memory.
    pub fn slots(&self) -> usize {
        self.slots.capacity()
    }

    /// The live value at `index`.
    #[inline]
    pub fn get(&self, index: u32) -> &T {
        let slot = &self.slots[index as usize];
        debug_assert!(slot.occupied);
        &slot.value
    }

    /// The live value at `index`, mutably.
    #[inline]
    pub fn get_mut(&mut self, index: u32) -> &mut T {
        let slot = &mut self.slots[index as usize];
        debug_assert!(slot.occupied);
        &mut slot.value
    }

    /// The current generation of slot `index`.
    #[inline]
    pub fn generation(&self, index: u32) -> u32 {
        self.slots[index as usize].generation
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Indexes of live entries, in index order.
    pub fn live_indexes(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.occupied)
            .map(|(i, _)| i as u32)
    }
}

impl<T: Default> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_slots_and_stales_old_generations() {
        let mut s: Slab<Vec<u32>> = Slab::new();
        let (a, ga) = s.insert_with(|v| v.push(1));
        s.remove(a);
        assert!(
            s.get_live(a, ga).is_none(),
            "a stale generation finds nothing"
        );
        let (b, gb) = s.insert_with(|v| v.clear());
        assert_eq!(a, b, "the slot is reused");
        assert_ne!(ga, gb);
        assert!(s.get(b).capacity() >= 1, "buffers keep their capacity");
        assert_eq!(s.len(), 1);
    }
}
