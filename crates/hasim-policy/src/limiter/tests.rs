//! Script-driven tests of [`Limiter`]: `(time in ns, input) -> (output, limit)`.

use super::*;
use crate::FailureKind::{Error, Refused, Rejected, Timeout};

/// One input of a limiter script.
#[derive(Clone, Copy, Debug)]
enum Input {
    Admit,
    /// `on_complete` with the outcome and a latency in ms.
    Done(Outcome, u64),
    Cancel,
}
use Input::{Admit, Cancel, Done};

const ALLOW: Option<LimitDecision> = Some(LimitDecision::Allow);
const REJECT: Option<LimitDecision> = Some(LimitDecision::Reject);
const OK: Outcome = Outcome::Success;
const MS: u64 = 1_000_000;

/// Runs `(time in ns, input, expected decision, expected limit)` steps on a limiter
/// built at time 0.
fn check(config: LimiterConfig, script: &[(u64, Input, Option<LimitDecision>, u32)]) {
    config.validate().unwrap();
    let mut limiter = Limiter::new(&config, Instant::ZERO);
    for (step, &(ns, input, expected, limit)) in script.iter().enumerate() {
        let now = Instant(ns);
        let got = match input {
            Admit => Some(limiter.admit(now)),
            Done(outcome, latency_ms) => {
                limiter.on_complete(now, outcome, Duration::from_millis(latency_ms));
                None
            }
            Cancel => {
                limiter.on_cancel(now);
                None
            }
        };
        assert_eq!(
            (got, limiter.limit()),
            (expected, limit),
            "step {step} at {ns}ns: {input:?}"
        );
    }
}

fn aimd(initial: u32, min: u32, max: u32, timeout_ms: Option<u64>) -> LimiterConfig {
    LimiterConfig::Aimd {
        initial,
        min,
        max,
        backoff_ratio: 0.9,
        timeout: timeout_ms.map(Duration::from_millis),
    }
}

#[test]
fn token_bucket_starts_full_and_refills_exactly() {
    let config = LimiterConfig::TokenBucket {
        rate: 2.0,
        burst: 3,
    };
    check(
        config,
        &[
            (0, Admit, ALLOW, 3),
            (0, Admit, ALLOW, 3),
            (0, Admit, ALLOW, 3),
            (0, Admit, REJECT, 3),
            (499_999_999, Admit, REJECT, 3), // one nanosecond short of a token
            (500_000_000, Admit, ALLOW, 3),
            (500_000_000, Admit, REJECT, 3),
            // A long quiet spell refills to `burst`, not beyond.
            (3_600_000_000_000, Admit, ALLOW, 3),
            (3_600_000_000_000, Admit, ALLOW, 3),
            (3_600_000_000_000, Admit, ALLOW, 3),
            (3_600_000_000_000, Admit, REJECT, 3),
        ],
    );
}

#[test]
fn token_bucket_keeps_fractions_of_nanoseconds() {
    // Three per second: a token every 333_333_333.3 ns. `burst = 2`, so the bucket is
    // never full after the start and no refill is clamped away.
    let config = LimiterConfig::TokenBucket {
        rate: 3.0,
        burst: 2,
    };
    check(
        config,
        &[
            (0, Admit, ALLOW, 2),
            (0, Admit, ALLOW, 2),
            (333_333_333, Admit, REJECT, 2),
            (333_333_334, Admit, ALLOW, 2), // 1/3 token + 2000 units left over
            (666_666_666, Admit, REJECT, 2),
            (666_666_667, Admit, ALLOW, 2),
            (999_999_999, Admit, REJECT, 2),
            (1_000_000_000, Admit, ALLOW, 2), // exactly three in the first second
        ],
    );
    // Over 1000 s at 3/s, admits every ms take exactly 3000 tokens after the first two.
    let mut bucket = TokenBucket::new(3.0, 2, Instant::ZERO);
    let admitted = (0..=1_000_000u64)
        .filter(|ms| bucket.admit(Instant(ms * MS)) == LimitDecision::Allow)
        .count();
    assert_eq!(admitted, 3002);
    assert_eq!(bucket.tokens(), 0);
}

#[test]
fn token_bucket_refill_is_clamped_at_burst() {
    // With `burst = 1` a token that is ready waits in a full bucket: refill beyond it
    // is lost, so the next token comes a full interval after the admit.
    let config = LimiterConfig::TokenBucket {
        rate: 3.0,
        burst: 1,
    };
    check(
        config,
        &[
            (0, Admit, ALLOW, 1),
            (500_000_000, Admit, ALLOW, 1),
            (833_333_333, Admit, REJECT, 1),
            (833_333_334, Admit, ALLOW, 1),
        ],
    );
}

#[test]
fn token_bucket_ignores_completions() {
    let config = LimiterConfig::TokenBucket {
        rate: 0.5,
        burst: 1,
    };
    check(
        config,
        &[
            (0, Admit, ALLOW, 1),
            (1, Done(OK, 1), None, 1),
            (2, Cancel, None, 1),
            (1_999_999_999, Admit, REJECT, 1),
            (2_000_000_000, Admit, ALLOW, 1),
        ],
    );
}

#[test]
fn concurrency_caps_in_flight() {
    check(
        LimiterConfig::Concurrency { max: 2 },
        &[
            (0, Admit, ALLOW, 2),
            (0, Admit, ALLOW, 2),
            (0, Admit, REJECT, 2),
            (1, Done(Outcome::Failure(Timeout), 1), None, 2),
            (2, Admit, ALLOW, 2),
            (2, Admit, REJECT, 2),
            (3, Cancel, None, 2),
            (3, Admit, ALLOW, 2),
        ],
    );
}

#[test]
fn aimd_sequence() {
    let fail = |k| Done(Outcome::Failure(k), 5);
    let mut script = vec![];
    for _ in 0..5 {
        script.push((0, Admit, ALLOW, 10));
    }
    script.extend([
        (1, Done(OK, 5), None, 11),   // 5 in flight: 2 x 5 >= 10, +1
        (2, Done(OK, 5), None, 11),   // 4 in flight: 8 < 11, unchanged
        (3, fail(Timeout), None, 9),  // floor(11 x 0.9) = 9
        (4, fail(Error), None, 9),    // ignored
        (5, fail(Rejected), None, 8), // floor(8.1)
        (6, Admit, ALLOW, 8),         // in flight 1
        (6, Done(OK, 100), None, 8),  // latency == timeout is not slow; 2 < 8
        (7, Admit, ALLOW, 8),
        (7, Done(OK, 101), None, 7), // slower than timeout: a drop, floor(7.2)
        (8, Admit, ALLOW, 7),
        (8, Done(Outcome::Failure(Refused), 5), None, 7), // ignored
    ]);
    for _ in 0..7 {
        script.push((9, Admit, ALLOW, 7));
    }
    script.push((9, Admit, REJECT, 7));
    script.extend([
        (10, Cancel, None, 7), // frees a slot, no sample
        (10, Admit, ALLOW, 7),
        (10, Admit, REJECT, 7),
        (11, Done(OK, 1), None, 8),  // 7 in flight: 14 >= 7, +1
        (11, Done(OK, 1), None, 9),  // 6: 12 >= 8
        (11, Done(OK, 1), None, 10), // 5: 10 >= 9
        (11, Done(OK, 1), None, 10), // 4: 8 < 10, unchanged
    ]);
    check(aimd(10, 2, 12, Some(100)), &script);
}

#[test]
fn aimd_stays_within_min_and_max() {
    let timeout = Done(Outcome::Failure(Timeout), 1);
    let mut script = vec![];
    // floor(4 x 0.9) = 3, floor(2.7) = 2, floor(1.8) = 1 -> min 2, and stays there.
    for (cap_before, cap_after) in [(4, 3), (3, 2), (2, 2), (2, 2)] {
        script.push((0, Admit, ALLOW, cap_before));
        script.push((1, timeout, None, cap_after));
    }
    script.extend([
        (2, Admit, ALLOW, 2),
        (2, Done(OK, 1), None, 3), // 1 in flight: 2 >= 2
        (3, Admit, ALLOW, 3),
        (3, Done(OK, 1), None, 3), // 1 in flight: 2 < 3, a cap it does not use
        (4, Admit, ALLOW, 3),
        (4, Admit, ALLOW, 3),
        (4, Admit, ALLOW, 3),
        (4, Admit, REJECT, 3),
        (5, Done(OK, 1), None, 4), // 3 in flight
        (5, Done(OK, 1), None, 5), // 2 in flight: 4 >= 4
        (5, Done(OK, 1), None, 5), // 1 in flight
    ]);
    for _ in 0..5 {
        script.push((6, Admit, ALLOW, 5));
    }
    script.push((7, Done(OK, 1), None, 5)); // at max
    check(aimd(4, 2, 5, None), &script);
}

#[test]
fn validation_and_parsing() {
    let bad = |c: LimiterConfig| c.validate().unwrap_err().key;
    assert_eq!(
        bad(LimiterConfig::TokenBucket {
            rate: 0.0,
            burst: 1
        }),
        "rate"
    );
    assert_eq!(
        bad(LimiterConfig::TokenBucket {
            rate: f64::INFINITY,
            burst: 1
        }),
        "rate"
    );
    assert_eq!(
        bad(LimiterConfig::TokenBucket {
            rate: 1.0,
            burst: 0
        }),
        "burst"
    );
    assert_eq!(bad(LimiterConfig::Concurrency { max: 0 }), "max");
    // Netflix allows min = 0 and an initial limit outside [min, max].
    assert_eq!(aimd(10, 0, 20, None).validate(), Ok(()));
    assert_eq!(aimd(50, 1, 20, None).validate(), Ok(()));
    assert_eq!(bad(aimd(10, 30, 20, None)), "min");
    assert_eq!(bad(aimd(0, 0, 20, None)), "initial");
    let ratio = LimiterConfig::Aimd {
        initial: 20,
        min: 1,
        max: 200,
        backoff_ratio: 1.0,
        timeout: None,
    };
    assert_eq!(bad(ratio), "backoff_ratio");

    #[derive(serde::Deserialize)]
    struct Holder {
        limiter: LimiterConfig,
    }
    let parse = |text: &str| {
        toml::from_str::<Holder>(&format!("limiter = {text}"))
            .map(|h| h.limiter)
            .map_err(|e| e.message().to_string())
    };
    assert_eq!(
        parse(r#"{ kind = "aimd", timeout = "50ms" }"#).unwrap(),
        LimiterConfig::Aimd {
            initial: 20,
            min: 1,
            max: 200,
            backoff_ratio: 0.9,
            timeout: Some(Duration::from_millis(50)),
        }
    );
    assert_eq!(
        parse(r#"{ kind = "token_bucket", rate = 100.0, burst = 20 }"#).unwrap(),
        LimiterConfig::TokenBucket {
            rate: 100.0,
            burst: 20
        }
    );
    assert_eq!(
        parse(r#"{ kind = "concurrency", max = 8 }"#).unwrap(),
        LimiterConfig::Concurrency { max: 8 }
    );
    assert!(parse(r#"{ kind = "concurrency", max = 8, burst = 1 }"#).is_err());
    assert!(parse(r#"{ kind = "leaky" }"#)
        .unwrap_err()
        .contains("token_bucket"));
    assert!(parse(r#"{ kind = "token_bucket", rate = 1.0 }"#).is_err());
}
