//! A latency tally laid out exactly like an HDR histogram, recorded in a few
//! instructions.
//!
//! Every `ok` call is recorded twice (the run's histogram and its window's), and
//! `hdrhistogram`'s `record` costs about 50 instructions (range checks, resizing, the
//! minimum and maximum it keeps): on W1 the two records were 5% of all the work
//! (callgrind, issue 14). A [`Tally`] keeps only the counts, at the very index
//! `hdrhistogram` would use (same bucket formula, lowest discernible value 1), and
//! turns into a real [`Histogram`] when the percentiles are read. So the percentiles
//! are `hdrhistogram`'s own, from the same counts: nothing in any output changes.
//!
//! The buckets of two tallies with different precisions nest (both are power-of-two
//! grids of power-of-two widths), which is why a tally is also exact to convert: a
//! bucket's lowest value lands in the same bucket as every value it holds.

use hdrhistogram::{Counter, Histogram};

/// Counts of values by HDR bucket, with `SIGFIG` significant digits (1 to 5).
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally<C, const SIGFIG: u8> {
    /// Count per HDR counts index; grown (never shrunk) to the largest index seen.
    counts: Vec<C>,
}

/// The HDR layout for `sigfig` significant digits and lowest discernible value 1:
/// `(sub_bucket_half_count_magnitude, leading_zero_count_base)`, computed as
/// `hdrhistogram::Histogram::new_with_bounds` does.
const fn layout(sigfig: u8) -> (u32, u32) {
    // 2 * 10^sigfig, rounded up to a power of two: its magnitude.
    let largest = 2 * 10u64.pow(sigfig as u32);
    let count_magnitude = u64::BITS - (largest - 1).leading_zeros();
    (count_magnitude - 1, u64::BITS - count_magnitude)
}

impl<C: Counter + Copy, const SIGFIG: u8> Tally<C, SIGFIG> {
    const HALF_MAGNITUDE: u32 = layout(SIGFIG).0;
    const LEADING_ZERO_BASE: u32 = layout(SIGFIG).1;
    const HALF_COUNT: u64 = 1 << Self::HALF_MAGNITUDE;
    const SUB_BUCKET_MASK: u64 = (Self::HALF_COUNT << 1) - 1;

    /// The counts index of `value` (`hdrhistogram`'s `index_for` with unit magnitude 0).
    #[inline]
    fn index_of(value: u64) -> usize {
        let bucket = Self::LEADING_ZERO_BASE - (value | Self::SUB_BUCKET_MASK).leading_zeros();
        let sub_bucket = value >> bucket;
        (((u64::from(bucket) + 1) << Self::HALF_MAGNITUDE) + sub_bucket - Self::HALF_COUNT) as usize
    }

    /// The lowest value of counts index `index` (`hdrhistogram`'s `value_for`).
    fn value_of(index: usize) -> u64 {
        let index = index as u64;
        let sub_bucket = (index & (Self::HALF_COUNT - 1)) + Self::HALF_COUNT;
        match (index >> Self::HALF_MAGNITUDE).checked_sub(1) {
            Some(bucket) => sub_bucket << bucket,
            None => sub_bucket - Self::HALF_COUNT, // the lower half of bucket 0
        }
    }

    /// Counts `value` once (a count saturates rather than wraps).
    #[inline]
    pub(crate) fn record(&mut self, value: u64) {
        let index = Self::index_of(value);
        match self.counts.get_mut(index) {
            Some(count) => *count = count.saturating_add(C::one()),
            None => self.record_beyond(index),
        }
    }

    /// The first value at `index` or above: the counts grow to hold it.
    #[cold]
    fn record_beyond(&mut self, index: usize) {
        self.counts.resize(index + 1, C::zero());
        self.counts[index] = C::one();
    }

    /// True if nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The same counts as an auto-resizing `hdrhistogram` histogram, exactly what
    /// recording every value into one would have given.
    pub(crate) fn histogram(&self) -> Histogram<C> {
        let mut hist = Histogram::new(SIGFIG).expect("1 to 5 significant digits are valid");
        for (index, &count) in self.counts.iter().enumerate() {
            if count != C::zero() {
                let value = Self::value_of(index);
                if hist.record_n(value, count).is_err() {
                    hist.saturating_record_n(value, count);
                }
            }
        }
        hist
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from 0 to u64::MAX: small, around every power of two, and spread.
    fn values() -> Vec<u64> {
        let mut values: Vec<u64> = (0..5_000).collect();
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1, p.saturating_mul(3) / 2]);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            values.push(x >> (x % 64));
        }
        values.push(u64::MAX);
        values
    }

    /// The index of every value is the one `hdrhistogram` gives it, and an index's
    /// lowest value is the bucket's lowest equivalent value.
    fn same_layout<const S: u8>() {
        let hist = Histogram::<u64>::new_with_bounds(1, u64::MAX, S).unwrap();
        for v in values() {
            let i = Tally::<u64, S>::index_of(v);
            assert_eq!(
                Tally::<u64, S>::value_of(i),
                hist.lowest_equivalent(v),
                "sigfig {S}, value {v}"
            );
            if v > 0 {
                let below = hist.lowest_equivalent(v) - 1;
                assert_eq!(Tally::<u64, S>::index_of(below), i.max(1) - 1, "{S} {v}");
            }
        }
    }

    #[test]
    fn indices_are_hdrhistograms() {
        same_layout::<1>();
        same_layout::<2>();
        same_layout::<3>();
        same_layout::<4>();
    }

    /// Recording into a tally and converting gives the percentiles and count that
    /// recording into `hdrhistogram` directly gives.
    fn same_percentiles<C: Counter + Copy + Default + std::fmt::Debug, const S: u8>() {
        let mut tally = Tally::<C, S>::default();
        let mut direct = Histogram::<C>::new(S).unwrap();
        assert!(tally.is_empty());
        for v in values() {
            tally.record(v);
            if direct.record(v).is_err() {
                direct.saturating_record(v);
            }
        }
        let converted = tally.histogram();
        assert_eq!(converted.len(), direct.len());
        for q in [0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            assert_eq!(
                converted.value_at_quantile(q),
                direct.value_at_quantile(q),
                "sigfig {S}, q {q}"
            );
        }
    }

    #[test]
    fn percentiles_are_hdrhistograms() {
        same_percentiles::<u64, 2>();
        same_percentiles::<u64, 3>();
        same_percentiles::<u32, 2>();
    }

    #[test]
    fn counts_saturate() {
        let mut tally = Tally::<u8, 2>::default();
        for _ in 0..300 {
            tally.record(7);
        }
        assert_eq!(tally.histogram().len(), 255);
    }
}
