//! Script-driven tests of [`Retrier`]: `(time in ms, input) -> expected output`.

use super::*;
use crate::test_rng::{stream, Role};
use FailureKind::{Error, Refused, Rejected, Timeout};

const MS: u64 = 1_000_000;

/// One input of a retrier script.
#[derive(Clone, Copy, Debug)]
enum Input {
    /// `on_call_start`.
    Call,
    /// `on_attempt_outcome`.
    Done(Outcome),
    /// `decide` after `attempts_made` attempts, the last failing with the kind, with an
    /// optional deadline in ms.
    Decide(u32, FailureKind, Option<u64>),
    /// `try_spend_hedge`.
    Hedge,
}

/// What the retrier answered, if anything.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Output {
    Nothing,
    Retry(u64),
    GiveUp(GiveUpReason),
    Hedge(HedgeDecision),
}

use GiveUpReason::*;
use Input::{Call, Decide, Done, Hedge};
use Output::{GiveUp, Nothing, Retry};

/// Runs the script on a fresh retrier and compares every output. Delays are in ms.
fn check(config: RetryConfig, script: &[(u64, Input, Output)]) {
    config.validate().unwrap();
    let mut retrier = Retrier::new(&config);
    let mut rng = stream(9, Role::Policy, 0);
    for (step, &(ms, input, expected)) in script.iter().enumerate() {
        let now = Instant(ms * MS);
        let got = match input {
            Call => {
                retrier.on_call_start(now);
                Nothing
            }
            Done(outcome) => {
                retrier.on_attempt_outcome(now, outcome);
                Nothing
            }
            Decide(attempts_made, last_failure, deadline_ms) => {
                let info = AttemptInfo {
                    attempts_made,
                    last_failure,
                    previous_delay: None,
                    deadline: deadline_ms.map(|d| Instant(d * MS)),
                };
                match retrier.decide(now, &info, &mut rng) {
                    RetryDecision::Retry { after } => {
                        assert_eq!(crate::time::nanos(after) % MS, 0, "whole ms in tests");
                        Retry(crate::time::nanos(after) / MS)
                    }
                    RetryDecision::GiveUp(reason) => GiveUp(reason),
                }
            }
            Hedge => Output::Hedge(retrier.try_spend_hedge(now)),
        };
        assert_eq!(got, expected, "step {step} at {ms}ms: {input:?}");
    }
}

/// `attempts` with unjittered exponential backoff 25ms..250ms.
fn plain(attempts: u32) -> RetryConfig {
    RetryConfig {
        attempts,
        backoff: BackoffConfig {
            jitter: Jitter::None,
            ..BackoffConfig::default()
        },
        ..RetryConfig::default()
    }
}

#[test]
fn default_makes_one_attempt() {
    check(
        RetryConfig::default(),
        &[(0, Decide(1, Timeout, None), GiveUp(AttemptsExhausted))],
    );
}

#[test]
fn backoff_sequence_until_attempts_exhausted() {
    check(
        plain(7),
        &[
            (0, Decide(1, Error, None), Retry(25)),
            (0, Decide(2, Error, None), Retry(50)),
            (0, Decide(3, Error, None), Retry(100)),
            (0, Decide(4, Error, None), Retry(200)),
            (0, Decide(5, Error, None), Retry(250)),
            (0, Decide(6, Error, None), Retry(250)),
            (0, Decide(7, Error, None), GiveUp(AttemptsExhausted)),
            (0, Decide(70, Error, None), GiveUp(AttemptsExhausted)),
        ],
    );
}

#[test]
fn on_filters_failure_kinds() {
    let config = RetryConfig {
        on: KindSet::NONE.with(Refused).with(Rejected),
        ..plain(3)
    };
    check(
        config,
        &[
            (0, Decide(1, Refused, None), Retry(25)),
            (0, Decide(1, Rejected, None), Retry(25)),
            (0, Decide(1, Timeout, None), GiveUp(NotRetryable)),
            (0, Decide(1, Error, None), GiveUp(NotRetryable)),
            // Not retryable wins over exhausted: the kind is the reason to report.
            (0, Decide(3, Error, None), GiveUp(NotRetryable)),
        ],
    );
}

#[test]
fn no_retry_starts_at_or_after_the_deadline() {
    check(
        plain(5),
        &[
            (100, Decide(1, Timeout, Some(126)), Retry(25)),
            (100, Decide(1, Timeout, Some(125)), GiveUp(DeadlineExceeded)),
            (100, Decide(2, Timeout, Some(149)), GiveUp(DeadlineExceeded)),
            (100, Decide(2, Timeout, Some(151)), Retry(50)),
            (200, Decide(1, Timeout, Some(150)), GiveUp(DeadlineExceeded)),
        ],
    );
}

#[test]
fn budget_limits_retries_and_hedges() {
    // ratio 0.5, no reserve: two calls pay for one retry or hedge.
    let config = RetryConfig {
        budget: Some(BudgetConfig {
            ratio: 0.5,
            min_per_sec: 0,
            ttl: Duration::from_secs(1),
        }),
        ..plain(3)
    };
    check(
        config,
        &[
            (0, Call, Nothing),
            (0, Decide(1, Error, None), GiveUp(BudgetExhausted)),
            (1, Call, Nothing),
            (2, Decide(1, Error, None), Retry(25)),
            (3, Decide(2, Error, None), GiveUp(BudgetExhausted)),
            (4, Call, Nothing),
            (4, Call, Nothing),
            (5, Hedge, Output::Hedge(HedgeDecision::Send)),
            (
                5,
                Hedge,
                Output::Hedge(HedgeDecision::Skip(BudgetExhausted)),
            ),
            // Checks that fail earlier never charge the budget.
            (6, Call, Nothing),
            (6, Call, Nothing),
            (7, Decide(3, Error, None), GiveUp(AttemptsExhausted)),
            (7, Decide(1, Error, Some(8)), GiveUp(DeadlineExceeded)),
            (8, Decide(1, Error, None), Retry(25)),
        ],
    );
}

#[test]
fn throttle_counts_retryable_attempt_outcomes() {
    let config = RetryConfig {
        on: KindSet::NONE.with(Timeout).with(Rejected),
        throttle: Some(ThrottleConfig {
            max_tokens: 4,
            token_ratio: 0.5,
        }),
        ..plain(3)
    };
    let fail = |k| Done(Outcome::Failure(k));
    check(
        config,
        &[
            (0, fail(Timeout), Nothing), // 3 tokens
            (0, Decide(1, Timeout, None), Retry(25)),
            (1, fail(Error), Nothing), // not retryable: neutral
            (1, Hedge, Output::Hedge(HedgeDecision::Send)),
            (2, fail(Rejected), Nothing), // 2 tokens = half: throttled
            (2, Decide(1, Rejected, None), GiveUp(Throttled)),
            (3, Hedge, Output::Hedge(HedgeDecision::Skip(Throttled))),
            (4, Done(Outcome::Success), Nothing), // 2.5
            (4, Decide(1, Timeout, None), Retry(25)),
            // Calls do not touch a throttle.
            (5, Call, Nothing),
            (5, fail(Timeout), Nothing), // 1.5
            (5, Call, Nothing),
            (5, Decide(1, Timeout, None), GiveUp(Throttled)),
        ],
    );
}

#[test]
fn jittered_delays_stay_in_range_and_are_seeded() {
    let config = RetryConfig {
        attempts: 5,
        ..RetryConfig::default()
    };
    let run = |seed| {
        let mut retrier = Retrier::new(&config);
        let mut rng = stream(seed, Role::Policy, 3);
        (1..5)
            .map(|n| {
                let info = AttemptInfo {
                    attempts_made: n,
                    last_failure: Timeout,
                    previous_delay: None,
                    deadline: None,
                };
                match retrier.decide(Instant::ZERO, &info, &mut rng) {
                    RetryDecision::Retry { after } => after,
                    other => panic!("{other:?}"),
                }
            })
            .collect::<Vec<_>>()
    };
    let delays = run(1);
    assert_eq!(delays, run(1), "same seed, same delays");
    assert_ne!(delays, run(2));
    for (n, d) in delays.iter().enumerate() {
        assert!(
            *d < Duration::from_millis(25 << n),
            "retry {}: {d:?}",
            n + 1
        );
    }
}

#[test]
fn decorrelated_jitter_reads_the_previous_delay() {
    let config = RetryConfig {
        attempts: 3,
        backoff: BackoffConfig {
            jitter: Jitter::Decorrelated,
            ..BackoffConfig::default()
        },
        ..RetryConfig::default()
    };
    let mut retrier = Retrier::new(&config);
    let mut rng = stream(5, Role::Policy, 0);
    for _ in 0..200 {
        let info = AttemptInfo {
            attempts_made: 2,
            last_failure: Error,
            previous_delay: Some(Duration::from_millis(30)),
            deadline: None,
        };
        match retrier.decide(Instant::ZERO, &info, &mut rng) {
            RetryDecision::Retry { after } => {
                assert!((Duration::from_millis(25)..=Duration::from_millis(90)).contains(&after))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn validation_and_parsing() {
    let bad = |c: RetryConfig| c.validate().unwrap_err().key;
    assert_eq!(bad(plain(0)), "attempts");
    assert_eq!(bad(plain(MAX_ATTEMPTS + 1)), "attempts");
    let both = RetryConfig {
        budget: Some(BudgetConfig::default()),
        throttle: Some(ThrottleConfig::default()),
        ..plain(2)
    };
    assert_eq!(bad(both), "throttle");
    let nested = RetryConfig {
        budget: Some(BudgetConfig {
            ttl: Duration::ZERO,
            ..BudgetConfig::default()
        }),
        ..plain(2)
    };
    assert_eq!(bad(nested), "ttl");

    let text = r#"
        attempts = 3
        on = ["timeout", "refused"]
        other_endpoint = false
        backoff = { base = "10ms", max = "1s", jitter = "equal" }
        budget = { ratio = 0.1 }
    "#;
    let c: RetryConfig = toml::from_str(text).unwrap();
    assert_eq!(c.attempts, 3);
    assert!(c.on.contains(Timeout) && !c.on.contains(Error));
    assert!(!c.other_endpoint);
    assert_eq!(c.backoff.max, Duration::from_secs(1));
    assert_eq!(c.budget.as_ref().unwrap().min_per_sec, 10);
    assert_eq!(c.validate(), Ok(()));
    assert!(!Retrier::new(&c).other_endpoint());
    assert_eq!(
        toml::from_str::<RetryConfig>("").unwrap(),
        RetryConfig::default()
    );
    assert!(toml::from_str::<RetryConfig>("retries = 3").is_err());
}
