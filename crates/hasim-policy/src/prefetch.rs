//! Asking the CPU to fetch memory before it is needed.
//!
//! At fleet scale (1,000 endpoints in each of 100 client instances) the state an
//! outcome or a pick touches is rarely in cache, and each miss costs about 100 ns. A
//! driver that knows what comes next (a simulator knows its next event; a server
//! loop its next completion) can name that memory early with the stack's hints,
//! such as [`crate::client::Client::prefetch_outcome`], so the lines are on their way
//! while it finishes the current work. A prefetch is only a hint: it changes no value
//! and no decision, only when a cache line arrives.

/// A cache line's size on the targets that matter (x86-64, most ARM cores).
const LINE: usize = 64;

/// Starts fetching, into every cache level, the cache lines `value` spans, at most
/// `lines` of them from its first byte on.
#[inline(always)]
pub fn prefetch<T>(value: &T, lines: usize) {
    let start = (value as *const T).cast::<u8>();
    let size = std::mem::size_of::<T>();
    for offset in line_offsets(start as usize % LINE, size, lines) {
        prefetch_address(start.wrapping_add(offset));
    }
}

/// Offsets from a value's first byte, one in each cache line it spans (at most
/// `lines`), for a value `misalign` bytes into its first line and `size` bytes long
/// (a zero-sized one counts as one byte). The last offset may lie past the value's
/// end, but in a line that holds some of it.
#[inline(always)]
fn line_offsets(misalign: usize, size: usize, lines: usize) -> impl Iterator<Item = usize> {
    let spanned = (misalign + size.max(1)).div_ceil(LINE);
    (0..lines.min(spanned)).map(|line| line * LINE)
}

/// The prefetch instruction itself (none on targets without one).
#[inline(always)]
fn prefetch_address(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it never faults, whatever the address, and reads
    // nothing into the program's state. `address` is in a line of a live value anyway.
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

    /// The lines the offsets fall in, counted from the value's first line.
    fn lines_hit(misalign: usize, size: usize, lines: usize) -> Vec<usize> {
        line_offsets(misalign, size, lines)
            .map(|offset| (misalign + offset) / LINE)
            .collect()
    }

    #[test]
    fn every_line_a_value_spans_once() {
        assert_eq!(lines_hit(0, 64, 8), [0], "one aligned line");
        assert_eq!(lines_hit(60, 8, 8), [0, 1], "8 bytes across a boundary");
        assert_eq!(lines_hit(16, 320, 8), [0, 1, 2, 3, 4, 5], "a random stream");
        assert_eq!(lines_hit(16, 320, 3), [0, 1, 2], "at most `lines`");
        assert_eq!(lines_hit(63, 0, 4), [0], "a zero-sized value");
        assert!(lines_hit(0, 64, 0).is_empty());
        // Any misalignment and size: each spanned line exactly once, in order.
        for misalign in 0..LINE {
            for size in 1..300 {
                let last = (misalign + size - 1) / LINE;
                let all: Vec<usize> = (0..=last).collect();
                assert_eq!(lines_hit(misalign, size, usize::MAX), all);
            }
        }
    }
}
