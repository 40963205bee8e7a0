//! Model-based test: random inputs run against the breaker and against a small
//! reference model of the resilience4j rules, written from POLICIES.md without
//! looking at the implementation's data structures.
//!
//! The model keeps every recorded outcome in a plain `Vec` and recomputes the window
//! by scanning it; rates are compared with exact integer arithmetic; the wait grows by
//! exact integer multiplication. The two must agree on every decision, every state and
//! every deadline. Invariants are checked against what the test itself knows (which
//! calls really are probes), not against either state machine's bookkeeping.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::{FailureKind, KindSet};

/// The knobs of one random resilience4j config, kept exact for the model.
#[derive(Clone, Debug)]
struct Knobs {
    time_window: bool,
    window_size: u32,
    minimum_calls: u32,
    /// Thresholds in thousandths (500 = 0.5).
    failure_milli: u64,
    slow_milli: u64,
    slow_ms: u64,
    wait_ms: u64,
    multiplier: u64,
    half_open_calls: u32,
    max_wait_ms: u64,
    on: u8,
}

impl Knobs {
    fn config(&self) -> BreakerConfig {
        let on = FailureKind::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| self.on & (1 << i) != 0)
            .fold(KindSet::NONE, |set, (_, k)| set.with(*k));
        BreakerConfig {
            on,
            failure_rate: Some(self.failure_milli as f64 / 1000.0),
            slow_call_rate: Some(self.slow_milli as f64 / 1000.0),
            slow_call_duration: Some(Duration::from_millis(self.slow_ms)),
            window: Some(if self.time_window {
                WindowKind::Time
            } else {
                WindowKind::Count
            }),
            window_size: Some(self.window_size),
            minimum_calls: Some(self.minimum_calls),
            wait_in_open: Some(Duration::from_millis(self.wait_ms)),
            wait_multiplier: Some(self.multiplier as f64),
            half_open_calls: Some(self.half_open_calls),
            max_wait_in_half_open: Some(Duration::from_millis(self.max_wait_ms)),
            ..BreakerConfig::default()
        }
    }

    /// Calls CLOSED needs before it may trip.
    fn closed_minimum(&self) -> u32 {
        if self.time_window {
            self.minimum_calls
        } else {
            self.minimum_calls.min(self.window_size)
        }
    }
}

fn knobs() -> impl Strategy<Value = Knobs> {
    let rates = prop::sample::select(vec![200u64, 250, 300, 500, 600, 750, 1000]);
    (
        (any::<bool>(), 1u32..7, 1u32..9, rates.clone(), rates),
        (
            prop::sample::select(vec![10u64, 100]),
            prop::sample::select(vec![100u64, 1000, 2000]),
            1u64..4,
            1u32..5,
            prop::sample::select(vec![0u64, 500, 3000]),
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                (time_window, window_size, minimum_calls, failure_milli, slow_milli),
                (slow_ms, wait_ms, multiplier, half_open_calls, max_wait_ms, on),
            )| Knobs {
                time_window,
                window_size,
                minimum_calls,
                failure_milli,
                slow_milli,
                slow_ms,
                wait_ms,
                multiplier,
                half_open_calls,
                max_wait_ms,
                on: on & 0b1111,
            },
        )
}

/// One step of a random script.
#[derive(Clone, Debug)]
pub(super) enum Op {
    Admit,
    /// The in-flight call `which % len` reports: `kind` 0 = success, 1..=4 a
    /// `FailureKind`; `speed` picks a latency around `slow_call_duration`.
    Outcome {
        which: usize,
        kind: usize,
        speed: u8,
    },
    Cancel {
        which: usize,
    },
    Advance {
        ns: u64,
    },
    /// Jump to `next_deadline()` (if any) and call `handle_timeout`.
    FireDeadline,
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Admit),
        4 => (any::<usize>(), 0usize..5, 0u8..4)
            .prop_map(|(which, kind, speed)| Op::Outcome { which, kind, speed }),
        1 => any::<usize>().prop_map(|which| Op::Cancel { which }),
        3 => prop_oneof![
            Just(0u64),
            Just(1),
            (1u64..1500).prop_map(|ms| ms * 1_000_000),
            (1u64..8).prop_map(|s| s * 1_000_000_000),
        ]
        .prop_map(|ns| Op::Advance { ns }),
        1 => Just(Op::FireDeadline),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Record {
    second: u64,
    failed: bool,
    slow: bool,
}

#[derive(Clone, Debug)]
enum ModelState {
    Closed,
    Open {
        until: u64,
    },
    HalfOpen {
        started: u64,
        permits: u32,
        /// Calls in flight that may be probes (the breaker cannot tell).
        maybe_probes: u32,
        log: Vec<Record>,
    },
}

/// The reference model: POLICIES.md's resilience4j rules, by brute force.
struct Model {
    k: Knobs,
    state: ModelState,
    closed_log: Vec<Record>,
    openings: u32,
    in_flight: u32,
    /// Increments on every entry into HALF_OPEN.
    episode: u32,
}

impl Model {
    fn new(k: Knobs) -> Model {
        Model {
            k,
            state: ModelState::Closed,
            closed_log: Vec::new(),
            openings: 0,
            in_flight: 0,
            episode: 0,
        }
    }

    fn wait_ns(&self) -> u64 {
        let mut wait = u128::from(self.k.wait_ms) * 1_000_000;
        for _ in 1..self.openings {
            wait = (wait * u128::from(self.k.multiplier)).min(u128::from(u64::MAX));
        }
        wait as u64
    }

    fn open(&mut self, at: u64) {
        self.openings += 1;
        self.state = ModelState::Open {
            until: at.saturating_add(self.wait_ns()),
        };
    }

    fn trips(&self, window: &[Record], minimum: u32) -> bool {
        let calls = window.len() as u64;
        let failed = window.iter().filter(|r| r.failed).count() as u64;
        let slow = window.iter().filter(|r| r.slow).count() as u64;
        calls >= u64::from(minimum)
            && calls > 0
            && (failed * 1000 >= self.k.failure_milli * calls
                || slow * 1000 >= self.k.slow_milli * calls)
    }

    fn closed_window(&self, now: u64) -> Vec<Record> {
        let log = &self.closed_log;
        if self.k.time_window {
            let now_s = now / 1_000_000_000;
            log.iter()
                .copied()
                .filter(|r| now_s < r.second + u64::from(self.k.window_size))
                .collect()
        } else {
            let keep = (self.k.window_size as usize).min(log.len());
            log[log.len() - keep..].to_vec()
        }
    }

    fn expiry(&self) -> Option<u64> {
        match self.state {
            ModelState::HalfOpen { started, .. } if self.k.max_wait_ms > 0 => {
                Some(started + self.k.max_wait_ms * 1_000_000)
            }
            _ => None,
        }
    }

    fn advance(&mut self, now: u64) {
        if let Some(t) = self.expiry() {
            if t <= now {
                self.open(t);
            }
        }
    }

    fn admit(&mut self, now: u64) -> Admit {
        self.advance(now);
        if let ModelState::Open { until } = self.state {
            if now <= until {
                return Admit::Reject {
                    retry_at: Instant(until.saturating_add(1)),
                };
            }
            self.episode += 1;
            self.state = ModelState::HalfOpen {
                started: now,
                permits: self.k.half_open_calls,
                maybe_probes: 0,
                log: Vec::new(),
            };
        }
        match &mut self.state {
            ModelState::Closed => {
                self.in_flight += 1;
                Admit::Allow
            }
            ModelState::HalfOpen {
                permits,
                maybe_probes,
                ..
            } => {
                if *permits == 0 {
                    return Admit::Reject {
                        retry_at: Instant(now),
                    };
                }
                *permits -= 1;
                *maybe_probes += 1;
                self.in_flight += 1;
                Admit::Probe
            }
            ModelState::Open { .. } => unreachable!(),
        }
    }

    fn report(&mut self) {
        self.in_flight -= 1;
        if let ModelState::HalfOpen { maybe_probes, .. } = &mut self.state {
            *maybe_probes = (*maybe_probes).min(self.in_flight);
        }
    }

    fn outcome(&mut self, now: u64, failed: bool, slow: bool) {
        self.advance(now);
        self.report();
        let rec = Record {
            second: now / 1_000_000_000,
            failed,
            slow,
        };
        match &mut self.state {
            ModelState::Closed => {
                self.closed_log.push(rec);
                let window = self.closed_window(now);
                if self.trips(&window, self.k.closed_minimum()) {
                    self.open(now);
                }
            }
            ModelState::Open { .. } => {}
            ModelState::HalfOpen { log, .. } => {
                log.push(rec);
                let log = log.clone();
                let minimum = self.k.minimum_calls.min(self.k.half_open_calls);
                if log.len() as u32 >= minimum {
                    if self.trips(&log, minimum) {
                        self.open(now);
                    } else {
                        self.openings = 0;
                        self.closed_log.clear();
                        self.state = ModelState::Closed;
                    }
                }
            }
        }
    }

    fn cancel(&mut self, now: u64) {
        self.advance(now);
        self.report();
        let h = self.k.half_open_calls;
        if let ModelState::HalfOpen {
            permits,
            maybe_probes,
            ..
        } = &mut self.state
        {
            if *permits + *maybe_probes < h {
                *permits += 1;
            }
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

/// A call the test has admitted and not yet reported.
#[derive(Clone, Copy, Debug)]
struct Call {
    /// `Some(episode)` if it was admitted as a probe in that HALF_OPEN episode.
    probe_of: Option<u32>,
}

fn run(k: Knobs, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let config = k.config();
    prop_assert_eq!(config.validate(), Ok(()));
    let mut b = Breaker::new(&config);
    let mut m = Model::new(k.clone());
    let mut now = 0u64;
    let mut calls: Vec<Call> = Vec::new();
    let mut closed_outcomes = 0u32;
    let slow = k.slow_ms * 1_000_000;
    for (step, op) in ops.into_iter().enumerate() {
        let before = b.state();
        match op {
            Op::Admit => {
                let got = b.admit(Instant(now));
                let want = m.admit(now);
                prop_assert_eq!(got, want, "step {}: admit at {}", step, now);
                if let Admit::Reject { retry_at } = got {
                    prop_assert!(retry_at.0 >= now, "step {}: retry_at in the past", step);
                }
                match got {
                    Admit::Allow => calls.push(Call { probe_of: None }),
                    Admit::Probe => calls.push(Call {
                        probe_of: Some(m.episode),
                    }),
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
                let latency_ns = match speed {
                    0 => 1_000_000,
                    1 => slow,
                    2 => slow + 1,
                    _ => slow * 50,
                };
                let failed = outcome.counts_as_failure(config.on);
                b.on_outcome(Instant(now), outcome, Duration::from_nanos(latency_ns));
                m.outcome(now, failed, latency_ns > slow);
                if before == BreakerState::Closed {
                    closed_outcomes += 1;
                    if b.state() == BreakerState::Open {
                        prop_assert!(
                            closed_outcomes >= k.closed_minimum(),
                            "step {}: tripped after {} calls",
                            step,
                            closed_outcomes
                        );
                    }
                }
            }
            Op::Cancel { which } => {
                if calls.is_empty() {
                    continue;
                }
                calls.swap_remove(which % calls.len());
                b.on_cancel(Instant(now));
                m.cancel(now);
            }
            Op::Advance { ns } => now += ns,
            Op::FireDeadline => {
                if let Some(t) = b.next_deadline() {
                    // A deadline may have passed unnoticed: call back late.
                    now = now.max(t.0);
                    b.handle_timeout(Instant(now));
                    m.advance(now);
                }
            }
        }
        prop_assert_eq!(b.state(), m.state(), "step {}: state at {}", step, now);
        prop_assert_eq!(
            b.next_deadline(),
            m.expiry().map(Instant),
            "step {}: deadline",
            step
        );
        if b.state() == BreakerState::Closed && before != BreakerState::Closed {
            closed_outcomes = 0;
        }
        if b.state() == BreakerState::HalfOpen {
            let out = calls
                .iter()
                .filter(|c| c.probe_of == Some(m.episode))
                .count() as u32;
            prop_assert!(
                out <= k.half_open_calls,
                "step {}: {} probes in flight",
                step,
                out
            );
        }
        if b.state() == BreakerState::HalfOpen
            && calls.is_empty()
            && !matches!(m.expiry(), Some(t) if t <= now)
        {
            // Liveness: with nothing in flight, HALF_OPEN can always send a probe.
            let admitted = b.clone().admit(Instant(now));
            prop_assert_eq!(admitted, Admit::Probe, "step {}: HALF_OPEN is stuck", step);
        }
        if let ModelState::Open { until } = m.state {
            // Never admits while OPEN before the wait ends: checked by probing a clone.
            let mut probe = b.clone();
            if now <= until {
                let admitted = !matches!(probe.admit(Instant(now)), Admit::Reject { .. });
                prop_assert!(!admitted, "step {}: admits while OPEN at {}", step, now);
            }
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
    fn resilience4j_matches_the_reference_model(
        k in knobs(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        run(k, ops)?;
    }
}
