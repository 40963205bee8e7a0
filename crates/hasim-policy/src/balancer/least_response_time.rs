//! Lowest EWMA response time x (in flight + 1), full scan (nginx-plus `least_time`
//! style: "the least average response time and least number of active connections").

use std::time::Duration;

use rand::Rng;

use super::common::{min_with_random_ties, InFlight};
use super::ewma::{Ewma, FailureCharge, Flavor};
use super::peak_ewma::positive;
use super::{PickRequest, Setup};
use crate::time::Instant;
use crate::{ConfigError, EndpointId, Outcome};

/// Parameters of `least_response_time`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct LeastResponseTimeConfig {
    /// Time constant of the moving average: an old estimate keeps weight
    /// `exp(-elapsed/decay)` against a new sample.
    #[cfg_attr(feature = "serde", serde(with = "crate::time::duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub decay: Duration,
    /// Count a failed attempt as (at least) an attempt timeout, so failing fast never
    /// looks attractive.
    pub penalize_failures: bool,
}

impl Default for LeastResponseTimeConfig {
    fn default() -> Self {
        LeastResponseTimeConfig {
            decay: Duration::from_secs(10),
            penalize_failures: true,
        }
    }
}

impl LeastResponseTimeConfig {
    /// Checks `decay > 0`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        positive("decay", self.decay)
    }
}

/// Picks the eligible endpoint with the lowest `cost = average latency x (in-flight
/// + 1)` (the client's own in-flight attempts), ties at random.
///
/// As first specified, the cost was the average alone, held between samples: every
/// call of a client went to the one endpoint that looked fastest (herding), and an
/// endpoint charged one slow answer or a failure penalty was never tried again while
/// the others kept answering. Like nginx-plus `least_time`, which weighs response
/// time by active connections, in-flight attempts now count, so load spreads over
/// endpoints of similar speed; and the average decays toward zero while an endpoint
/// gets no samples (time constant `decay`), so a penalized endpoint is tried again.
/// An endpoint never heard from has average 0; averages are floored at 1 ns so
/// in-flight counts still order endpoints that have none. Cancelled attempts teach
/// nothing.
#[derive(Clone, Debug)]
pub struct LeastResponseTime {
    charge: FailureCharge,
    estimates: Ewma,
    in_flight: InFlight,
}

impl LeastResponseTime {
    /// A balancer for a validated config; `setup.attempt_timeout` prices failures.
    pub fn new(config: &LeastResponseTimeConfig, setup: &Setup) -> LeastResponseTime {
        LeastResponseTime {
            charge: FailureCharge::new(config.penalize_failures, setup.attempt_timeout),
            estimates: Ewma::new(Flavor::Decaying, config.decay),
            in_flight: InFlight::default(),
        }
    }

    /// The cost of one more attempt to `ep` at `now`.
    pub fn cost(&self, now: Instant, ep: EndpointId) -> f64 {
        let average = self.estimates.estimate(now, ep).unwrap_or(0.0);
        average.max(1.0) * f64::from(self.in_flight.get(ep) + 1)
    }

    /// The cheapest eligible endpoint.
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&self, req: &PickRequest, rng: &mut R) -> EndpointId {
        min_with_random_ties(req.eligible, |id| self.cost(req.now, id), rng)
    }

    /// An attempt to `ep` left.
    pub fn on_send(&mut self, ep: EndpointId) {
        self.in_flight.add(ep);
    }

    /// An attempt to `ep` was abandoned: it leaves the in-flight count only.
    pub fn on_cancel(&mut self, ep: EndpointId) {
        self.in_flight.remove(ep);
    }

    /// An attempt to `ep` ended after `latency`: learn from it. Attempts the balancer
    /// did not see leave (no `on_send`) are learned from without touching in-flight
    /// counts.
    pub fn on_complete(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        latency: Duration,
    ) {
        if self.in_flight.get(ep) > 0 {
            self.in_flight.remove(ep);
        }
        let sample = self
            .charge
            .sample_ns(&self.estimates, now, ep, outcome, latency, 0.0);
        self.estimates.observe(now, ep, sample);
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{eps, rng};
    use super::*;
    use crate::FailureKind;

    const OK: Outcome = Outcome::Success;

    /// Inputs of a scripted run: completions, or a pick over endpoints {0, 1, 2}
    /// whose expected answer is one of the listed ids.
    enum In {
        Done(u32, Outcome, u64),
        Pick(&'static [u32]),
    }
    use In::*;

    fn check(config: LeastResponseTimeConfig, timeout: Option<Duration>, script: &[(u64, In)]) {
        let setup = Setup {
            attempt_timeout: timeout,
        };
        let mut b = LeastResponseTime::new(&config, &setup);
        let e = eps(&[0, 1, 2]);
        let mut r = rng(4);
        for (step, (ms, input)) in script.iter().enumerate() {
            let now = Instant(ms * 1_000_000);
            match *input {
                Done(i, o, lat) => b.on_complete(now, EndpointId(i), o, Duration::from_millis(lat)),
                Pick(allowed) => {
                    let req = PickRequest {
                        now,
                        eligible: &e,
                        known: &e,
                        hash_key: 0,
                        known_generation: None,
                    };
                    // Several picks so a random tie-break shows every allowed id.
                    let mut seen = [false; 3];
                    for _ in 0..64 {
                        seen[b.pick(&req, &mut r).index()] = true;
                    }
                    let got: Vec<u32> = (0..3).filter(|&i| seen[i as usize]).collect();
                    assert_eq!(got, allowed, "step {step}");
                }
            }
        }
    }

    fn cfg() -> LeastResponseTimeConfig {
        LeastResponseTimeConfig::default()
    }

    #[test]
    fn unobserved_endpoints_are_tried_first_then_the_fastest_wins() {
        check(
            cfg(),
            None,
            &[
                (0, Pick(&[0, 1, 2])),
                (5, Done(0, OK, 5)),
                (5, Pick(&[1, 2])),
                (9, Done(2, OK, 9)),
                (9, Pick(&[1])),
                (20, Done(1, OK, 20)),
                (20, Pick(&[0])),
            ],
        );
    }

    #[test]
    fn the_average_moves_with_time_not_with_sample_count() {
        check(
            cfg(),
            None,
            &[
                (0, Done(0, OK, 10)),
                (0, Done(1, OK, 20)),
                (0, Done(2, OK, 20)),
                // Same instant: weight exp(0) = 1 on the old value, nothing moves.
                (0, Done(0, OK, 1_000)),
                (0, Pick(&[0])),
                // 10 s later, one time constant: 10 x e^-1 + 100 x (1 - e^-1) = 66.9 ms.
                (10_000, Done(0, OK, 100)),
                // 1 and 2 tie at 20 ms and share at random.
                (10_000, Pick(&[1, 2])),
                // While no sample arrives every average decays toward zero (floored
                // at 1 ns): after 890 s all three tie again.
                (900_000, Pick(&[0, 1, 2])),
            ],
        );
    }

    /// Endpoint 0 fails fast after 1 and 2 answered in 20 and 30 ms.
    fn after_fast_failure(want: &'static [u32]) -> [(u64, In); 4] {
        let refused = Outcome::Failure(FailureKind::Refused);
        [
            (0, Done(1, OK, 20)),
            (0, Done(2, OK, 30)),
            (0, Done(0, refused, 1)),
            (0, Pick(want)),
        ]
    }

    #[test]
    fn failures_are_penalized() {
        check(
            cfg(),
            Some(Duration::from_secs(1)),
            &after_fast_failure(&[1]),
        );
        // No timeout: at least the worst estimate (30 ms); 1 is still faster.
        check(cfg(), None, &after_fast_failure(&[1]));
        let lenient = LeastResponseTimeConfig {
            penalize_failures: false,
            ..cfg()
        };
        check(
            lenient,
            Some(Duration::from_secs(1)),
            &after_fast_failure(&[0]),
        );
    }

    #[test]
    fn in_flight_attempts_spread_the_load() {
        let mut b = LeastResponseTime::new(&cfg(), &Setup::default());
        let now = Instant::ZERO;
        for i in 0..3 {
            b.on_complete(
                now,
                EndpointId(i),
                OK,
                Duration::from_millis(10 + u64::from(i)),
            );
        }
        let e = eps(&[0, 1, 2]);
        let req = PickRequest {
            now,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut r = rng(5);
        let mut counts = [0u32; 3];
        for _ in 0..30 {
            let ep = b.pick(&req, &mut r);
            b.on_send(ep);
            counts[ep.index()] += 1;
        }
        // 10, 11 and 12 ms: each in-flight attempt adds a whole average, so the three
        // take about 10 each (11/10/9) rather than all 30 going to the fastest.
        assert_eq!(counts, [11, 10, 9]);
        b.on_cancel(EndpointId(0));
        assert_eq!(b.pick(&req, &mut r), EndpointId(0));
    }

    #[test]
    fn a_penalized_endpoint_is_tried_again_after_its_average_decays() {
        let mut b = LeastResponseTime::new(&cfg(), &Setup::default());
        let t0 = Instant::ZERO;
        b.on_complete(t0, EndpointId(0), OK, Duration::from_millis(500));
        let e = eps(&[0, 1]);
        let pick_at = |b: &LeastResponseTime, now: Instant| {
            let req = PickRequest {
                now,
                eligible: &e,
                known: &e,
                hash_key: 0,
                known_generation: None,
            };
            b.pick(&req, &mut rng(6))
        };
        b.on_complete(
            Instant(1_000_000_000),
            EndpointId(1),
            OK,
            Duration::from_millis(20),
        );
        assert_eq!(pick_at(&b, Instant(1_000_000_000)), EndpointId(1));
        // 1 keeps answering in 20 ms; 0's 500 ms decays: 500 e^(-t/10 s) < 20 ms
        // once t > 32.2 s.
        for s in 2..40u64 {
            b.on_complete(
                Instant(s * 1_000_000_000),
                EndpointId(1),
                OK,
                Duration::from_millis(20),
            );
        }
        assert_eq!(pick_at(&b, Instant(39_000_000_000)), EndpointId(0));
    }

    #[test]
    fn validation_rejects_zero_decay() {
        assert!(cfg().validate().is_ok());
        let err = LeastResponseTimeConfig {
            decay: Duration::ZERO,
            ..cfg()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.key, "decay");
    }
}
