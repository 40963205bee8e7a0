//! Asking the CPU to fetch memory before it is needed.
//!
//! At fleet scale (1,000 endpoints in each of 100 client instances) the state an
//! outcome or a pick touches is rarely in cache, and each miss costs about 100 ns. A
//! driver that knows what comes next (a simulator knows its next event; a server
//! loop its next completion) can name that memory early with the stack's hints,
//! such as [`crate::client::Client::prefetch_outcome`], so the lines are on their way
//! while it finishes the current work. A prefetch is only a hint: it changes no value
//! and no decision, only when a cache line arrives.

/// Starts fetching the cache line holding the start of `value` and the `lines - 1`
/// lines after it (clamped to `value`'s size), into every cache level.
#[inline(always)]
pub fn prefetch<T>(value: &T, lines: usize) {
    let start = (value as *const T).cast::<u8>();
    let size = std::mem::size_of::<T>().max(1);
    for line in 0..lines {
        let offset = line * 64;
        if offset >= size {
            break;
        }
        prefetch_address(start.wrapping_add(offset));
    }
}

/// The prefetch instruction itself (none on targets without one).
#[inline(always)]
fn prefetch_address(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it never faults, whatever the address, and reads
    // nothing into the program's state. `address` is inside a live value anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(address.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let values = vec![7u64; 1000];
        prefetch(&values[999], 4); // past the value's end: clamped to its one line
        prefetch(&values, 1);
        prefetch(&(), 2); // a zero-sized value
        assert!(values.iter().all(|&v| v == 7));
    }
}
