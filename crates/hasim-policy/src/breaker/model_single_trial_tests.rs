//! Model-based test of the single-trial flavors (hystrix, consecutive) against a
//! brute-force reference model written from POLICIES.md.
//!
//! The Hystrix model keeps every outcome since the breaker last closed with its exact
//! time, and at every 500 ms boundary counts those in `[boundary - window_size,
//! boundary)` by scanning; the consecutive model counts the run. Both must agree with
//! the breaker on every decision and state; the breaker's Hystrix timer must be asked
//! for whenever the model's next check could trip.

use std::time::Duration;

use proptest::prelude::*;

use super::model_tests::{op, Op};
use super::*;
use crate::{FailureKind, KindSet};

const BUCKET_NS: u64 = 500_000_000;

#[derive(Clone, Debug)]
struct Knobs {
    hystrix: bool,
    window_s: u64,
    request_volume: u32,
    percent: u64,
    consecutive: u32,
    wait_ms: u64,
    multiplier: u64,
    on: u8,
}

impl Knobs {
    fn config(&self) -> BreakerConfig {
        let on = FailureKind::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| self.on & (1 << i) != 0)
            .fold(KindSet::NONE, |set, (_, k)| set.with(*k));
        let common = BreakerConfig {
            on,
            wait_in_open: Some(Duration::from_millis(self.wait_ms)),
            ..BreakerConfig::default()
        };
        if self.hystrix {
            BreakerConfig {
                flavor: Flavor::Hystrix,
                window_size: Some(self.window_s as u32),
                request_volume: Some(self.request_volume),
                failure_rate: Some(self.percent as f64 / 100.0),
                ..common
            }
        } else {
            BreakerConfig {
                flavor: Flavor::Consecutive,
                consecutive_failures: Some(self.consecutive),
                wait_multiplier: Some(self.multiplier as f64),
                ..common
            }
        }
    }
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        any::<bool>(),
        1u64..4,
        1u32..8,
        prop::sample::select(vec![20u64, 45, 50, 100]),
        1u32..5,
        prop::sample::select(vec![100u64, 1000, 5000]),
        1u64..4,
        any::<u8>(),
    )
        .prop_map(
            |(hystrix, window_s, request_volume, percent, consecutive, wait_ms, multiplier, on)| {
                Knobs {
                    hystrix,
                    window_s,
                    request_volume,
                    percent,
                    consecutive,
                    wait_ms,
                    multiplier: if hystrix { 1 } else { multiplier },
                    on: on & 0b1111,
                }
            },
        )
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ModelState {
    Closed,
    Open { until: u64 },
    HalfOpen { permit: bool, maybe_probe: bool },
}

struct Model {
    k: Knobs,
    state: ModelState,
    /// Hystrix: (time, failed) of every outcome recorded since the last close.
    log: Vec<(u64, bool)>,
    /// Consecutive: the current run of failures.
    run: u32,
    openings: u32,
    in_flight: u32,
    /// The last 500 ms boundary already checked.
    checked: u64,
    episode: u32,
}

impl Model {
    fn new(k: Knobs) -> Model {
        Model {
            k,
            state: ModelState::Closed,
            log: Vec::new(),
            run: 0,
            openings: 0,
            in_flight: 0,
            checked: 0,
            episode: 0,
        }
    }

    fn open(&mut self, at: u64) {
        self.openings += 1;
        let mut wait = u128::from(self.k.wait_ms) * 1_000_000;
        for _ in 1..self.openings {
            wait = (wait * u128::from(self.k.multiplier)).min(u128::from(u64::MAX));
        }
        self.state = ModelState::Open {
            until: at.saturating_add(wait as u64),
        };
    }

    /// Calls in the Hystrix window of the check at `boundary`, and how many failed.
    fn window_at(&self, boundary: u64) -> (u64, u64) {
        let start = boundary.saturating_sub(self.k.window_s * 1_000_000_000);
        let inside = self
            .log
            .iter()
            .filter(|(t, _)| start <= *t && *t < boundary);
        let failed = inside.clone().filter(|(_, f)| *f).count() as u64;
        (inside.count() as u64, failed)
    }

    fn trips_at(&self, boundary: u64) -> bool {
        let (calls, failed) = self.window_at(boundary);
        calls >= u64::from(self.k.request_volume) && failed * 100 / calls >= self.k.percent
    }

    fn advance(&mut self, now: u64) {
        let last = now / BUCKET_NS;
        while self.checked < last {
            self.checked += 1;
            if self.k.hystrix && self.state == ModelState::Closed {
                let boundary = self.checked * BUCKET_NS;
                if self.trips_at(boundary) {
                    self.open(boundary);
                }
            }
        }
    }

    fn admit(&mut self, now: u64) -> Admit {
        self.advance(now);
        if let ModelState::Open { until } = self.state {
            if now <= until {
                return Admit::Reject {
                    retry_at: Instant(until + 1),
                };
            }
            self.episode += 1;
            self.state = ModelState::HalfOpen {
                permit: true,
                maybe_probe: false,
            };
        }
        match self.state {
            ModelState::Closed => {
                self.in_flight += 1;
                Admit::Allow
            }
            ModelState::HalfOpen { permit: true, .. } => {
                self.state = ModelState::HalfOpen {
                    permit: false,
                    maybe_probe: true,
                };
                self.in_flight += 1;
                Admit::Probe
            }
            _ => Admit::Reject {
                retry_at: Instant(now),
            },
        }
    }

    fn report(&mut self) {
        self.in_flight -= 1;
        if let ModelState::HalfOpen {
            permit,
            maybe_probe,
        } = self.state
        {
            // With nothing in flight, no probe can be out.
            self.state = ModelState::HalfOpen {
                permit,
                maybe_probe: maybe_probe && self.in_flight > 0,
            };
        }
    }

    fn outcome(&mut self, now: u64, failed: bool) {
        self.advance(now);
        self.report();
        match self.state {
            ModelState::Closed if self.k.hystrix => self.log.push((now, failed)),
            ModelState::Closed => {
                self.run = if failed { self.run + 1 } else { 0 };
                if self.run >= self.k.consecutive {
                    self.open(now);
                }
            }
            ModelState::Open { .. } => {}
            ModelState::HalfOpen { .. } if failed => self.open(now),
            ModelState::HalfOpen { .. } => {
                self.state = ModelState::Closed;
                self.openings = 0;
                self.log.clear();
                self.run = 0;
            }
        }
    }

    fn cancel(&mut self, now: u64) {
        self.advance(now);
        self.report();
        if let ModelState::HalfOpen {
            maybe_probe: false, ..
        } = self.state
        {
            self.state = ModelState::HalfOpen {
                permit: true,
                maybe_probe: false,
            };
        }
    }

    fn state(&self) -> BreakerState {
        match self.state {
            ModelState::Closed => BreakerState::Closed,
            ModelState::Open { .. } => BreakerState::Open,
            ModelState::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

fn run(k: Knobs, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let config = k.config();
    prop_assert_eq!(config.validate(), Ok(()));
    let mut b = Breaker::new(&config);
    let mut m = Model::new(k.clone());
    let mut now = 0u64;
    // In-flight calls: `Some(episode)` for probes.
    let mut calls: Vec<Option<u32>> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Admit => {
                let got = b.admit(Instant(now));
                prop_assert_eq!(got, m.admit(now), "step {}: admit at {}", step, now);
                match got {
                    Admit::Allow => calls.push(None),
                    Admit::Probe => calls.push(Some(m.episode)),
                    Admit::Reject { .. } => {}
                }
            }
            Op::Outcome { which, kind, speed } => {
                if calls.is_empty() {
                    continue;
                }
                calls.swap_remove(which % calls.len());
                let outcome = match kind {
                    0 => Outcome::Success,
                    n => Outcome::Failure(FailureKind::ALL[n - 1]),
                };
                let latency = Duration::from_millis(u64::from(speed) * 40_000);
                b.on_outcome(Instant(now), outcome, latency);
                m.outcome(now, outcome.counts_as_failure(config.on));
            }
            Op::Cancel { which } => {
                if calls.is_empty() {
                    continue;
                }
                calls.swap_remove(which % calls.len());
                b.on_cancel(Instant(now));
                m.cancel(now);
            }
            Op::Advance { ns } => {
                now += ns;
                continue;
            }
            Op::FireDeadline => {
                let Some(t) = b.next_deadline() else {
                    continue;
                };
                now = now.max(t.0);
                b.handle_timeout(Instant(now));
                m.advance(now);
            }
        }
        prop_assert_eq!(b.state(), m.state(), "step {}: state at {}", step, now);
        if m.state == ModelState::Closed && k.hystrix {
            let next = (now / BUCKET_NS + 1) * BUCKET_NS;
            match b.next_deadline() {
                Some(t) => prop_assert_eq!(t.0, next, "step {}", step),
                None => prop_assert!(!m.trips_at(next), "step {}: a check is missed", step),
            }
        }
        let probes = calls.iter().filter(|c| **c == Some(m.episode)).count();
        if m.state() == BreakerState::HalfOpen {
            prop_assert!(probes <= 1, "step {}: {} trial calls", step, probes);
        }
    }
    Ok(())
}

proptest! {
    // No regression files: this branch may only add files under src/policy/. A
    // failure prints its shrunk input; turn it into a script test in tests.rs.
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hystrix_and_consecutive_match_the_reference_model(
        k in knobs(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        run(k, ops)?;
    }
}
