//! Per-endpoint latency estimates learned from the client's own completed attempts,
//! shared by `peak_ewma` and `least_response_time`.
//!
//! Weights decay with elapsed simulated time, not with the number of samples
//! (Finagle, tower, Linkerd): the old value keeps weight `exp(-elapsed / decay)`.
//! Reads never change state, so an estimate does not depend on how often the
//! balancer happens to pick.

use std::time::Duration;

use crate::time::{nanos, Instant};
use crate::{EndpointId, Outcome};

/// How an estimate moves between and at samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    /// Jumps up to any higher sample at once and decays toward zero while no sample
    /// arrives, so an idle endpoint is tried again (Finagle `PeakEwma.get` observes 0).
    Peak,
    /// A time-weighted moving average (no jump to peaks) that decays toward zero
    /// while no sample arrives, so an endpoint that once looked slow is tried again.
    Decaying,
}

/// The last estimate of one endpoint and when it was made.
#[derive(Clone, Copy, Debug)]
struct Estimate {
    value_ns: f64,
    at: Instant,
}

/// Latency estimates of every endpoint one client has heard back from.
#[derive(Clone, Debug)]
pub(super) struct Ewma {
    flavor: Flavor,
    decay_ns: f64,
    /// Indexed by `EndpointId`; `None` until the first sample.
    estimates: Vec<Option<Estimate>>,
}

impl Ewma {
    /// Empty estimates with time constant `decay` (> 0, checked by config validation).
    pub(super) fn new(flavor: Flavor, decay: Duration) -> Ewma {
        Ewma {
            flavor,
            decay_ns: nanos(decay).max(1) as f64,
            estimates: Vec::new(),
        }
    }

    /// The weight kept by a value made at `at` when read at `now`.
    fn keep(&self, at: Instant, now: Instant) -> f64 {
        (-(now.since(at).as_nanos() as f64) / self.decay_ns).exp()
    }

    /// The estimate for `ep` at `now`, or `None` if it was never observed.
    pub(super) fn estimate(&self, now: Instant, ep: EndpointId) -> Option<f64> {
        let e = self.estimates.get(ep.index()).copied().flatten()?;
        Some(match self.flavor {
            Flavor::Peak | Flavor::Decaying => e.value_ns * self.keep(e.at, now),
        })
    }

    /// The highest estimate of any observed endpoint at `now` (0 if none).
    pub(super) fn worst(&self, now: Instant) -> f64 {
        (0..self.estimates.len())
            .filter_map(|i| self.estimate(now, EndpointId(i as u32)))
            .fold(0.0, f64::max)
    }

    /// True if `ep` has an estimate (observed or seeded).
    pub(super) fn has(&self, ep: EndpointId) -> bool {
        matches!(self.estimates.get(ep.index()), Some(Some(_)))
    }

    /// Gives a never-observed `ep` the estimate `value_ns` made at `now`, which then
    /// decays and blends like any other (tower's default RTT, set when an endpoint is
    /// first seen). Does nothing if `ep` already has an estimate.
    pub(super) fn seed(&mut self, now: Instant, ep: EndpointId, value_ns: f64) {
        if self.estimates.len() <= ep.index() {
            self.estimates.resize(ep.index() + 1, None);
        }
        let slot = &mut self.estimates[ep.index()];
        if slot.is_none() {
            *slot = Some(Estimate { value_ns, at: now });
        }
    }

    /// Folds a latency sample of `ep` taken at `now` into its estimate.
    pub(super) fn observe(&mut self, now: Instant, ep: EndpointId, sample_ns: f64) {
        if self.estimates.len() <= ep.index() {
            self.estimates.resize(ep.index() + 1, None);
        }
        let value_ns = match self.estimates[ep.index()] {
            None => sample_ns,
            Some(old) if self.flavor == Flavor::Peak && sample_ns > old.value_ns => sample_ns,
            Some(old) => {
                let w = self.keep(old.at, now);
                old.value_ns * w + sample_ns * (1.0 - w)
            }
        };
        self.estimates[ep.index()] = Some(Estimate { value_ns, at: now });
    }
}

/// How failures are charged to a latency estimate (`penalize_failures`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FailureCharge {
    /// A failure counts with the latency the client saw (`penalize_failures = false`).
    Observed,
    /// A failure counts as at least the client's attempt timeout.
    Timeout(Duration),
    /// No timeout is configured: a failure counts as at least the current estimate of
    /// the endpoint (or `floor_ns` when it has none) and the highest estimate of any
    /// endpoint, so it never makes the endpoint look better than before nor better
    /// than any other endpoint.
    Worst,
}

impl FailureCharge {
    /// The charge for a balancer with `penalize_failures` and the client's timeout.
    pub(super) fn new(penalize_failures: bool, attempt_timeout: Option<Duration>) -> Self {
        match (penalize_failures, attempt_timeout) {
            (false, _) => FailureCharge::Observed,
            (true, Some(t)) => FailureCharge::Timeout(t),
            (true, None) => FailureCharge::Worst,
        }
    }

    /// The sample to record for an attempt to `ep` that ended with `outcome` after
    /// `latency`; `floor_ns` is what the balancer assumes for a never-seen endpoint.
    pub(super) fn sample_ns(
        self,
        ewma: &Ewma,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        latency: Duration,
        floor_ns: f64,
    ) -> f64 {
        let seen = nanos(latency) as f64;
        match (outcome, self) {
            (Outcome::Success, _) | (Outcome::Failure(_), FailureCharge::Observed) => seen,
            (Outcome::Failure(_), FailureCharge::Timeout(t)) => seen.max(nanos(t) as f64),
            (Outcome::Failure(_), FailureCharge::Worst) => {
                let own = ewma.estimate(now, ep).unwrap_or(floor_ns);
                seen.max(own).max(ewma.worst(now))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailureKind;

    const MS: f64 = 1e6;

    fn at_ms(ms: u64) -> Instant {
        Instant(ms * 1_000_000)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn peak_jumps_up_then_decays_toward_zero_while_idle() {
        let ep = EndpointId(2);
        let mut e = Ewma::new(Flavor::Peak, Duration::from_secs(10));
        assert_eq!(e.estimate(at_ms(0), ep), None);
        e.observe(at_ms(0), ep, 10.0 * MS);
        e.observe(at_ms(1_000), ep, 50.0 * MS);
        assert!(close(e.estimate(at_ms(1_000), ep).unwrap(), 50.0 * MS));
        // 10 s idle = one time constant: 1/e of the peak.
        let idle = e.estimate(at_ms(11_000), ep).unwrap();
        assert!(close(idle, 50.0 * MS * (-1.0f64).exp()), "{idle}");
        // A lower sample 10 s later: old value keeps weight 1/e.
        e.observe(at_ms(11_000), ep, 20.0 * MS);
        let w = (-1.0f64).exp();
        let want = 50.0 * MS * w + 20.0 * MS * (1.0 - w);
        assert!(close(e.estimate(at_ms(11_000), ep).unwrap(), want));
    }

    #[test]
    fn reads_do_not_change_the_estimate() {
        let ep = EndpointId(0);
        let mut a = Ewma::new(Flavor::Peak, Duration::from_secs(1));
        let mut b = a.clone();
        a.observe(at_ms(0), ep, 40.0 * MS);
        b.observe(at_ms(0), ep, 40.0 * MS);
        for t in 1..100 {
            let _ = a.estimate(at_ms(t * 10), ep);
        }
        a.observe(at_ms(1_000), ep, 10.0 * MS);
        b.observe(at_ms(1_000), ep, 10.0 * MS);
        assert_eq!(a.estimate(at_ms(1_500), ep), b.estimate(at_ms(1_500), ep));
    }

    #[test]
    fn decaying_moves_toward_samples_and_toward_zero_between_them() {
        let ep = EndpointId(0);
        let mut e = Ewma::new(Flavor::Decaying, Duration::from_secs(10));
        e.observe(at_ms(0), ep, 100.0 * MS);
        e.observe(at_ms(10_000), ep, 0.0);
        let want = 100.0 * MS * (-1.0f64).exp();
        assert!(close(e.estimate(at_ms(10_000), ep).unwrap(), want));
        assert!(close(
            e.estimate(at_ms(20_000), ep).unwrap(),
            want * (-1.0f64).exp()
        ));
        // A higher sample is averaged in, not jumped to.
        e.observe(at_ms(10_000), ep, 500.0 * MS);
        assert!(close(e.estimate(at_ms(10_000), ep).unwrap(), want));
    }

    #[test]
    fn failures_are_charged_as_configured() {
        let ep = EndpointId(1);
        let other = EndpointId(0);
        let mut e = Ewma::new(Flavor::Decaying, Duration::from_secs(10));
        e.observe(at_ms(0), other, 80.0 * MS);
        let fail = Outcome::Failure(FailureKind::Refused);
        let fast = Duration::from_millis(1);
        let charge = |c: FailureCharge, o| c.sample_ns(&e, at_ms(0), ep, o, fast, 0.0);
        assert_eq!(charge(FailureCharge::Observed, fail), 1.0 * MS);
        let timeout = FailureCharge::new(true, Some(Duration::from_millis(500)));
        assert_eq!(charge(timeout, fail), 500.0 * MS);
        assert_eq!(charge(timeout, Outcome::Success), 1.0 * MS);
        let worst = FailureCharge::new(true, None);
        assert_eq!(charge(worst, fail), 80.0 * MS);
    }
}
