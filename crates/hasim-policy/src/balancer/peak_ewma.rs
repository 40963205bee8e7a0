//! Peak-EWMA latency x load, over two distinct random picks (Finagle, tower, Linkerd).

use std::time::Duration;

use rand::Rng;

use super::common::{two_distinct, Candidates, InFlight};
use super::ewma::{Ewma, FailureCharge, Flavor};
use super::{PickRequest, Setup};
use crate::time::{nanos, Instant};
use crate::{ConfigError, EndpointId, Outcome};

/// Parameters of `peak_ewma`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct PeakEwmaConfig {
    /// Time constant of the decay: an old estimate keeps weight `exp(-elapsed/decay)`.
    #[cfg_attr(feature = "serde", serde(with = "crate::time::duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub decay: Duration,
    /// The latency assumed for an endpoint never heard from (tower `default_rtt`).
    #[cfg_attr(feature = "serde", serde(with = "crate::time::duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub default_rtt: Duration,
    /// Count a failed attempt as (at least) an attempt timeout, so failing fast never
    /// looks attractive.
    pub penalize_failures: bool,
}

impl Default for PeakEwmaConfig {
    fn default() -> Self {
        PeakEwmaConfig {
            decay: Duration::from_secs(10),
            default_rtt: Duration::from_millis(30),
            penalize_failures: true,
        }
    }
}

/// Checks that a duration parameter is positive.
pub(super) fn positive(key: &'static str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        Err(ConfigError::new(key, "must be longer than 0s"))
    } else {
        Ok(())
    }
}

impl PeakEwmaConfig {
    /// Checks `decay > 0` and `default_rtt > 0`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        positive("decay", self.decay)?;
        positive("default_rtt", self.default_rtt)
    }
}

/// Two distinct random eligible endpoints; the lower `cost = peak-EWMA latency x
/// (in-flight + 1)` wins, ties to the first pick. The estimate jumps up to any higher
/// sample and decays toward lower ones, and toward zero while idle, so a slow
/// endpoint is avoided at once and tried again later.
///
/// Costs are floored at 1 ns, so in-flight attempts still count when an estimate has
/// decayed to (nearly) zero (Finagle charges a penalty there for the same reason).
/// An endpoint gets the estimate `default_rtt` when the balancer first sees it (as a
/// pick candidate, a send or an answer), and that estimate decays like any other
/// (tower `PeakEwma`, whose default RTT decays on every read since tower PR #134), so
/// an endpoint that was never tried still gets tried once its default has decayed
/// below the others' costs, and a first answer blends with it as tower's does.
/// A cancelled attempt (a hedge that lost) teaches nothing about latency: it only
/// lowers the in-flight count.
#[derive(Clone, Debug)]
pub struct PeakEwma {
    default_rtt_ns: f64,
    charge: FailureCharge,
    estimates: Ewma,
    in_flight: InFlight,
}

impl PeakEwma {
    /// A balancer for a validated config; `setup.attempt_timeout` prices failures.
    pub fn new(config: &PeakEwmaConfig, setup: &Setup) -> PeakEwma {
        PeakEwma {
            default_rtt_ns: nanos(config.default_rtt) as f64,
            charge: FailureCharge::new(config.penalize_failures, setup.attempt_timeout),
            estimates: Ewma::new(Flavor::Peak, config.decay),
            in_flight: InFlight::default(),
        }
    }

    /// Starts the decaying default estimate of an endpoint seen for the first time.
    fn touch(&mut self, now: Instant, ep: EndpointId) {
        if !self.estimates.has(ep) {
            self.estimates.seed(now, ep, self.default_rtt_ns);
        }
    }

    /// The cost of sending one more attempt to `ep` at `now`: its estimate (or
    /// `default_rtt` if it was never seen) x (in-flight + 1).
    pub fn cost(&self, now: Instant, ep: EndpointId) -> f64 {
        let latency = self
            .estimates
            .estimate(now, ep)
            .unwrap_or(self.default_rtt_ns);
        latency.max(1.0) * f64::from(self.in_flight.get(ep) + 1)
    }

    /// The cheaper of two distinct random eligible endpoints.
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        self.pick_in(req.now, Candidates::all(req.eligible), rng)
    }

    /// [`PeakEwma::pick`] at `now` over `candidates`.
    pub(crate) fn pick_in<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        candidates: Candidates,
        rng: &mut R,
    ) -> EndpointId {
        if candidates.len() == 1 {
            let only = candidates.id(0);
            self.touch(now, only);
            return only;
        }
        let (a, b) = two_distinct(candidates.len(), rng);
        let (a, b) = (candidates.id(a), candidates.id(b));
        self.touch(now, a);
        self.touch(now, b);
        if self.cost(now, b) < self.cost(now, a) {
            b
        } else {
            a
        }
    }

    /// An attempt to `ep` left.
    pub fn on_send(&mut self, now: Instant, ep: EndpointId) {
        self.touch(now, ep);
        self.in_flight.add(ep);
    }

    /// An attempt to `ep` ended after `latency`: learn from it.
    pub fn on_complete(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        latency: Duration,
    ) {
        self.in_flight.remove(ep);
        self.touch(now, ep);
        let sample = self.charge.sample_ns(
            &self.estimates,
            now,
            ep,
            outcome,
            latency,
            self.default_rtt_ns,
        );
        self.estimates.observe(now, ep, sample);
    }

    /// An attempt to `ep` was abandoned: no answer, so no latency to learn.
    pub fn on_cancel(&mut self, ep: EndpointId) {
        self.in_flight.remove(ep);
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{eps, rng};
    use super::*;
    use crate::FailureKind;

    /// Inputs of a scripted run.
    enum In {
        Send(u32),
        Done(u32, Outcome, u64),
        Cancel(u32),
        /// Pick over endpoints {0, 1}: the two distinct picks see both, so the
        /// result is the cheaper one (the first drawn on a tie).
        Pick(u32),
    }
    use In::*;

    const OK: Outcome = Outcome::Success;

    /// Runs `(time_ms, input)` steps against a fresh balancer.
    fn check(config: PeakEwmaConfig, timeout: Option<Duration>, script: &[(u64, In)]) {
        let setup = Setup {
            attempt_timeout: timeout,
        };
        let mut b = PeakEwma::new(&config, &setup);
        let e = eps(&[0, 1]);
        let mut r = rng(3);
        for (step, (ms, input)) in script.iter().enumerate() {
            let now = Instant(ms * 1_000_000);
            match *input {
                Send(i) => b.on_send(now, EndpointId(i)),
                Done(i, o, lat) => b.on_complete(now, EndpointId(i), o, Duration::from_millis(lat)),
                Cancel(i) => b.on_cancel(EndpointId(i)),
                Pick(want) => {
                    let req = PickRequest {
                        now,
                        eligible: &e,
                        known: &e,
                        hash_key: 0,
                        known_generation: None,
                    };
                    assert_eq!(b.pick(&req, &mut r), EndpointId(want), "step {step}");
                }
            }
        }
    }

    fn cfg() -> PeakEwmaConfig {
        PeakEwmaConfig::default()
    }

    #[test]
    fn a_slow_endpoint_is_avoided_at_once_and_retried_after_decay() {
        check(
            cfg(),
            None,
            &[
                (0, Send(1)),
                (500, Done(1, OK, 500)),
                // 0 is unobserved: default 30 ms < 500 ms.
                (501, Pick(0)),
                (501, Send(0)),
                (511, Done(0, OK, 10)),
                (30_000, Send(0)),
                (30_010, Done(0, OK, 10)),
                // 500 ms x e^-2.95 = 26 ms > 10 ms.
                (30_010, Pick(0)),
                (40_000, Send(0)),
                (40_010, Done(0, OK, 10)),
                // 500 ms x e^-3.95 = 9.6 ms < 10 ms: endpoint 1 gets tried again.
                (40_010, Pick(1)),
            ],
        );
    }

    #[test]
    fn unobserved_endpoints_start_at_default_rtt() {
        check(
            cfg(),
            None,
            &[
                // 0 is seen at 0 ms with the default 30 ms; a 29 ms answer at 29 ms
                // blends with it (tower): just under 30 ms. 1 is first seen at the
                // pick: 30 ms.
                (0, Send(0)),
                (29, Done(0, OK, 29)),
                (29, Pick(0)),
                (29, Send(0)),
                // A higher sample replaces the estimate at once (the peak).
                (29, Done(0, OK, 31)),
                (29, Pick(1)),
            ],
        );
    }

    #[test]
    fn in_flight_multiplies_the_cost() {
        check(
            cfg(),
            None,
            &[
                (0, Send(0)),
                (0, Send(1)),
                (10, Done(0, OK, 10)),
                (20, Done(1, OK, 20)),
                (20, Pick(0)),
                (20, Send(0)),
                (20, Send(0)),
                // 10 ms x 3 > 20 ms x 1.
                (20, Pick(1)),
                (20, Cancel(0)),
                (20, Send(1)),
                // 10 ms x 2 < 20 ms x 2.
                (20, Pick(0)),
            ],
        );
    }

    #[test]
    fn fast_failures_are_charged_the_timeout() {
        let refused = Outcome::Failure(FailureKind::Refused);
        let script = [
            (0, Send(0)),
            (0, Send(1)),
            (1, Done(0, refused, 1)),
            (20, Done(1, OK, 20)),
            (20, Pick(1)),
        ];
        check(cfg(), Some(Duration::from_secs(1)), &script);
        // With no timeout, a failure counts as at least the endpoint's own estimate
        // (default_rtt here) and the worst estimate of any endpoint.
        check(
            cfg(),
            None,
            &[
                (0, Send(0)),
                (0, Send(1)),
                (20, Done(1, OK, 20)),
                (21, Done(0, refused, 1)),
                (21, Pick(1)),
            ],
        );
        // Without the penalty, failing fast looks attractive (the pitfall).
        let lenient = PeakEwmaConfig {
            penalize_failures: false,
            ..cfg()
        };
        let mut script = script;
        script[4] = (20, Pick(0));
        check(lenient, Some(Duration::from_secs(1)), &script);
    }

    #[test]
    fn on_a_tie_the_first_pick_wins() {
        let mut b = PeakEwma::new(&cfg(), &Setup::default());
        let e = eps(&[0, 1, 2]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut r = rng(13);
        for _ in 0..100 {
            let (first, _) = two_distinct(3, &mut r.clone());
            assert_eq!(b.pick(&req, &mut r), EndpointId(first as u32));
        }
    }

    #[test]
    fn one_endpoint_is_always_picked() {
        let mut b = PeakEwma::new(&cfg(), &Setup::default());
        let e = eps(&[5]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        assert_eq!(b.pick(&req, &mut rng(0)), EndpointId(5));
    }

    #[test]
    fn validation_rejects_zero_durations() {
        assert!(cfg().validate().is_ok());
        let err = PeakEwmaConfig {
            decay: Duration::ZERO,
            ..cfg()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.key, "decay");
        let err = PeakEwmaConfig {
            default_rtt: Duration::ZERO,
            ..cfg()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.key, "default_rtt");
    }
}
