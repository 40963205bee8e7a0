//! Latency of `ok` calls: an HDR histogram for percentiles, exact sum and maximum.
//!
//! Percentiles come from a histogram so memory stays fixed however many calls a run
//! makes; the mean and the maximum are kept exactly because they cost one integer
//! each and readers compare them across variants to the nanosecond.

use hdrhistogram::Counter;

use super::tally::Tally;

/// Significant digits of the whole-run histogram: SCENARIO.md asks for at least 3.
const SUMMARY_SIGFIG: u8 = 3;
/// Significant digits of a window's histogram: 1% resolution is plenty for a chart
/// and keeps each window's histogram a few kilobytes.
const WINDOW_SIGFIG: u8 = 2;

/// Nanoseconds to milliseconds, for reports only.
pub(crate) fn ns_to_ms(ns: f64) -> f64 {
    ns / 1e6
}

/// The latency distribution of `ok` calls, in nanoseconds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Latency {
    tally: Tally<u64, SUMMARY_SIGFIG>,
    count: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Latency {
    /// An empty distribution.
    pub(crate) fn new() -> Latency {
        Latency::default()
    }

    /// Adds one `ok` call's latency.
    #[inline]
    pub(crate) fn record(&mut self, ns: u64) {
        self.tally.record(ns);
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Number of recorded calls.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in ms, `None` without calls.
    pub(crate) fn mean_ms(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| ns_to_ms(self.sum_ns as f64 / n as f64))
    }

    /// Exact maximum in ms, `None` without calls.
    pub(crate) fn max_ms(&self) -> Option<f64> {
        (self.count() > 0).then(|| ns_to_ms(self.max_ns as f64))
    }

    /// The quantiles `qs` in ms (HDR: the highest value equivalent to the bucket that
    /// holds the ceil(q * n)-th smallest call), capped at the exact maximum so no
    /// percentile exceeds `latency_max_ms`; `None` without calls.
    pub(crate) fn quantiles_ms<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        quantiles_ms(&self.tally, self.max_ns, qs)
    }

    /// One quantile in ms, as [`Latency::quantiles_ms`] gives it.
    #[cfg(test)]
    pub(crate) fn quantile_ms(&self, q: f64) -> Option<f64> {
        self.quantiles_ms([q])[0]
    }
}

/// A window's latency distribution: its counts grow on its first `ok` call, so
/// windows without successes (or a run with tiny windows) cost no histogram. `u32`
/// counters saturate instead of wrapping, and no window sees four billion calls in one
/// bucket.
#[derive(Clone, Debug, Default)]
pub(crate) struct WindowLatency {
    tally: Tally<u32, WINDOW_SIGFIG>,
    max_ns: u64,
}

impl WindowLatency {
    /// Adds one `ok` call's latency.
    #[inline]
    pub(crate) fn record(&mut self, ns: u64) {
        self.tally.record(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// The quantiles `qs` in ms, capped at the window's exact maximum; `None` without
    /// `ok` calls.
    pub(crate) fn quantiles_ms<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        quantiles_ms(&self.tally, self.max_ns, qs)
    }
}

/// The quantiles `qs` of `tally` in ms, each capped at `max_ns`; `None` if empty. The
/// histogram is built once for all of them.
fn quantiles_ms<C: Counter + Copy, const S: u8, const N: usize>(
    tally: &Tally<C, S>,
    max_ns: u64,
    qs: [f64; N],
) -> [Option<f64>; N] {
    if tally.is_empty() {
        return [None; N];
    }
    let hist = tally.histogram();
    qs.map(|q| Some(ns_to_ms(hist.value_at_quantile(q).min(max_ns) as f64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact nearest-rank quantile: the ceil(q * n)-th smallest value.
    fn exact(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1]
    }

    #[test]
    fn percentiles_within_a_tenth_of_a_percent() {
        // A deterministic spread of latencies from 1 us to about 2 s (LCG, no RNG crate).
        let mut x: u64 = 12345;
        let mut values = Vec::new();
        let mut lat = Latency::new();
        for _ in 0..100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ns = 1_000 + (x >> 33) % 2_000_000_000 / (1 + (x >> 60));
            values.push(ns);
            lat.record(ns);
        }
        values.sort_unstable();
        for q in [0.5, 0.9, 0.99, 0.999] {
            let want = exact(&values, q) as f64 / 1e6;
            let got = lat.quantile_ms(q).unwrap();
            assert!(
                (got - want).abs() <= want * 1e-3,
                "q={q}: got {got} ms, exact {want} ms"
            );
        }
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
        assert!((lat.mean_ms().unwrap() - mean / 1e6).abs() < 1e-9);
        assert_eq!(lat.max_ms().unwrap(), *values.last().unwrap() as f64 / 1e6);
    }

    #[test]
    fn empty_is_none_and_zero_latency_is_recorded() {
        let mut lat = Latency::new();
        assert_eq!(lat.mean_ms(), None);
        assert_eq!(lat.quantile_ms(0.5), None);
        assert_eq!(lat.max_ms(), None);
        lat.record(0);
        assert_eq!(lat.quantile_ms(0.99), Some(0.0));
        let mut w = WindowLatency::default();
        assert_eq!(w.quantiles_ms([0.5]), [None]);
        w.record(1_500_000);
        let p = w.quantiles_ms([0.5])[0].unwrap();
        assert!((p - 1.5).abs() <= 1.5 * 0.01, "{p}");
    }

    #[test]
    fn huge_latency_is_clamped_not_lost() {
        let mut lat = Latency::new();
        lat.record(u64::MAX);
        assert_eq!(lat.count(), 1);
        assert!(lat.quantile_ms(0.5).unwrap() > 1e12);
    }
}
