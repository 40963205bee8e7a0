//! Script-driven tests: one `check(config, script)` helper, one script per rule.
//!
//! A script line is `TIME INPUT[*N] [ARGS] => EXPECTED...`: times and latencies are
//! duration strings from the start of the run (`1.5s`). Inputs: `admit`, `ok [LAT]`,
//! `fail KIND [LAT]`, `cancel`, `timeout`. Expected: a decision for `admit` (`allow`,
//! `probe`, `reject@TIME`), the state after the input (`closed`, `open`,
//! `half_open`), `deadline=TIME` or `deadline=none`. `*N` after the
//! verb or its last argument repeats the input N times and checks decisions after
//! each repetition (`admit*3 => allow`), states and deadlines after the last one.

use std::time::Duration;

use super::*;
use crate::time::parse_duration;
use crate::FailureKind;

fn at(text: &str) -> Instant {
    Instant(nanos(
        parse_duration(text).unwrap_or_else(|e| panic!("{e}")),
    ))
}

fn kind(text: &str) -> FailureKind {
    *FailureKind::ALL
        .iter()
        .find(|k| k.name() == text)
        .unwrap_or_else(|| panic!("unknown kind {text}"))
}

fn check(config: &str, script: &str) {
    let config: BreakerConfig = toml::from_str(config).expect("config parses");
    config.validate().expect("config is valid");
    let mut b = Breaker::new(&config);
    for (n, line) in script.lines().map(str::trim).enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let ctx = format!("line {}: `{line}`", n + 1);
        let (input, expected) = line.split_once("=>").expect("every line has `=>`");
        let (input, times) = split_repeat(input);
        let mut words = input.split_whitespace();
        let now = at(words.next().unwrap());
        let verb = words.next().unwrap();
        let args: Vec<&str> = words.collect();
        let expected: Vec<&str> = expected.split_whitespace().collect();
        assert!(!expected.is_empty(), "{ctx}: nothing expected");
        for _ in 0..times {
            let decision = apply(&mut b, now, verb, &args, &ctx);
            for want in &expected {
                let want_decision = match *want {
                    "allow" => Admit::Allow,
                    "probe" => Admit::Probe,
                    w if w.starts_with("reject@") => Admit::Reject {
                        retry_at: at(&w["reject@".len()..]),
                    },
                    _ => continue,
                };
                assert_eq!(decision, Some(want_decision), "{ctx}");
            }
        }
        for want in &expected {
            match *want {
                "closed" => assert_eq!(b.state(), BreakerState::Closed, "{ctx}"),
                "open" => assert_eq!(b.state(), BreakerState::Open, "{ctx}"),
                "half_open" => assert_eq!(b.state(), BreakerState::HalfOpen, "{ctx}"),
                "deadline=none" => assert_eq!(b.next_deadline(), None, "{ctx}"),
                w if w.starts_with("deadline=") => {
                    assert_eq!(
                        b.next_deadline(),
                        Some(at(&w["deadline=".len()..])),
                        "{ctx}"
                    )
                }
                "allow" | "probe" => {}
                w if w.starts_with("reject@") => {}
                w => panic!("{ctx}: unknown expectation {w}"),
            }
        }
    }
}

/// `"0s fail error*2"` -> `("0s fail error", 2)`: `*N` may follow the verb or its
/// last argument.
fn split_repeat(input: &str) -> (String, u32) {
    match input.split_once('*') {
        Some((head, count)) => {
            let count = count.trim();
            (
                head.to_string(),
                count.parse().expect("`*N` ends the input"),
            )
        }
        None => (input.to_string(), 1),
    }
}

/// Feeds one input; returns the decision for `admit`.
fn apply(b: &mut Breaker, now: Instant, verb: &str, args: &[&str], ctx: &str) -> Option<Admit> {
    let latency = |i: usize| {
        args.get(i)
            .map_or(Duration::from_millis(1), |a| at(a).since(Instant::ZERO))
    };
    match verb {
        "admit" => return Some(b.admit(now)),
        "ok" => b.on_outcome(now, Outcome::Success, latency(0)),
        "fail" => b.on_outcome(now, Outcome::Failure(kind(args[0])), latency(1)),
        "cancel" => b.on_cancel(now),
        "timeout" => b.handle_timeout(now),
        other => panic!("{ctx}: unknown input {other}"),
    }
    None
}

// ---------------------------------------------------------------- resilience4j

#[test]
fn count_window_trips_at_the_inclusive_rate_once_the_capped_minimum_is_reached() {
    // minimum = min(minimum_calls = 10, window_size = 4) = 4; 2 of 4 = 0.5 >= 0.5.
    check(
        "window_size = 4\nminimum_calls = 10",
        "0s admit*4 => allow
         1s fail error*3 => closed
         1s ok => open deadline=none",
    );
    check(
        "window_size = 4\nminimum_calls = 4",
        "0s admit*5 => allow
         1s fail error => closed
         1s ok*2 => closed
         1s fail timeout => open",
    );
}

#[test]
fn count_window_slides_and_stays_closed_below_the_rate() {
    // 1 failure in the last 4 calls never reaches 0.5; the oldest calls leave.
    check(
        "window_size = 4\nminimum_calls = 4\nfailure_rate = 0.5",
        "0s admit*9 => allow
         1s fail error => closed
         1s ok*3 => closed
         2s fail refused => closed
         2s ok*3 => closed
         3s fail rejected => closed",
    );
}

#[test]
fn slow_means_strictly_longer_and_a_slow_failure_counts_as_both() {
    check(
        "window_size = 2\nminimum_calls = 2\nslow_call_duration = \"1s\"\nslow_call_rate = 1.0\nfailure_rate = 1.0",
        "0s admit*4 => allow
         1s ok 1s => closed
         1s ok 1s => closed
         2s ok 1000000001ns => closed
         2s fail error 2s => open",
    );
    // The slow failure alone makes the slow rate 1/2 and the failure rate 1/2.
    check(
        "window_size = 2\nminimum_calls = 2\nslow_call_duration = \"1s\"\nslow_call_rate = 0.5\nfailure_rate = 0.9",
        "0s admit*2 => allow
         1s ok => closed
         1s fail error 5s => open",
    );
    check(
        "window_size = 2\nminimum_calls = 2\nslow_call_duration = \"1s\"\nslow_call_rate = 0.9\nfailure_rate = 0.5",
        "0s admit*2 => allow
         1s ok => closed
         1s fail error 5s => open",
    );
}

#[test]
fn kinds_not_in_on_count_as_successes() {
    check(
        "window_size = 2\nminimum_calls = 2\non = [\"timeout\"]",
        "0s admit*4 => allow
         1s fail error*2 => closed
         1s fail refused => closed
         1s fail timeout => open",
    );
}

#[test]
fn open_rejects_until_strictly_after_the_wait_then_the_next_call_probes() {
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"10s\"\nhalf_open_calls = 2",
        "0s admit => allow
         1s fail error => open deadline=none
         1s admit => reject@11.000000001s
         11s admit => reject@11.000000001s open
         11.000000001s admit => probe half_open
         12s admit => probe
         12s admit => reject@12s half_open",
    );
}

#[test]
fn half_open_decides_at_its_own_minimum_then_closes_with_an_empty_window() {
    // min(minimum_calls = 2, half_open_calls = 3) = 2 outcomes decide.
    check(
        "window_size = 2\nminimum_calls = 2\nwait_in_open = \"1s\"\nhalf_open_calls = 3",
        "0s admit*2 => allow
         0s fail error*2 => open
         2s admit*3 => probe
         2s ok => half_open
         2s fail error => open",
    );
    check(
        "window_size = 2\nminimum_calls = 2\nwait_in_open = \"1s\"\nhalf_open_calls = 3",
        "0s admit*2 => allow
         0s fail error*2 => open
         2s admit*3 => probe
         2s ok*2 => closed
         # The third probe reports in CLOSED: recorded in the new, empty window.
         # (Before OPEN it held two failures: had it kept them, this would trip.)
         3s fail error => closed
         3s admit => allow
         3s fail error => open",
    );
}

#[test]
fn outcomes_of_calls_admitted_before_half_open_count_there() {
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"1s\"\nhalf_open_calls = 2",
        "0s admit*2 => allow
         0s fail error => open
         2s admit => probe half_open
         # The straggler from CLOSED fails during HALF_OPEN: 1 of 1 >= 0.5.
         2s fail timeout => open",
    );
}

#[test]
fn outcomes_while_open_change_nothing() {
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"10s\"",
        "0s admit*3 => allow
         1s fail error => open
         2s ok => open
         3s fail error => open
         11s admit => reject@11.000000001s
         11.5s admit => probe half_open",
    );
}

#[test]
fn the_wait_grows_with_each_consecutive_opening_and_resets_on_closing() {
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"10s\"\nwait_multiplier = 2.0\nhalf_open_calls = 1",
        "0s admit => allow
         0s fail error => open
         10s admit => reject@10.000000001s
         11s admit => probe
         11s fail error => open
         31s admit => reject@31.000000001s
         32s admit => probe
         32s fail error => open
         72s admit => reject@72.000000001s
         73s admit => probe
         73s ok => closed
         74s admit => allow
         74s fail error => open
         84s admit => reject@84.000000001s
         85s admit => probe",
    );
}

#[test]
fn max_wait_in_half_open_reopens_at_its_deadline() {
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"10s\"\nhalf_open_calls = 1\nmax_wait_in_half_open = \"3s\"",
        "0s admit => allow
         0s fail error => open
         11s admit => probe deadline=14s
         13s timeout => half_open
         14s timeout => open deadline=none
         24s admit => reject@24.000000001s
         24.5s admit => probe deadline=27.5s
         24.5s ok => closed deadline=none",
    );
    // Without the timer call the deadline still applies at its own instant.
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"10s\"\nhalf_open_calls = 1\nmax_wait_in_half_open = \"3s\"",
        "0s admit => allow
         0s fail error => open
         11s admit => probe
         20s admit => reject@24.000000001s open",
    );
}

#[test]
fn a_cancelled_probe_gives_its_permit_back() {
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"1s\"\nhalf_open_calls = 1",
        "0s admit => allow
         0s fail error => open
         2s admit => probe
         2s admit => reject@2s
         3s cancel => half_open
         3s admit => probe
         3s ok => closed",
    );
}

#[test]
fn a_cancel_never_lets_more_than_half_open_calls_probes_out() {
    // A call from CLOSED is still in flight, so a cancel may be that call: the
    // permit comes back only once no call that could be a probe is in flight.
    check(
        "window_size = 1\nminimum_calls = 1\nwait_in_open = \"1s\"\nhalf_open_calls = 1",
        "0s admit*3 => allow
         0s fail error => open
         2s admit => probe
         2s cancel => half_open
         2s admit => reject@2s
         3s cancel => half_open
         3s admit => reject@3s
         4s cancel => half_open
         4s admit => probe",
    );
}

#[test]
fn time_window_buckets_align_to_whole_seconds() {
    // Second 0 counts while now_second < 0 + 2: a failure at 0.999s and one at
    // 2.0s never meet; at 1.0s and 2.999s they do.
    check(
        "window = \"time\"\nwindow_size = \"2s\"\nminimum_calls = 2",
        "0s admit*4 => allow
         0.999s fail error => closed
         2s fail error => closed
         3s fail error => open",
    );
    check(
        "window = \"time\"\nwindow_size = \"2s\"\nminimum_calls = 2",
        "0s admit*2 => allow
         1s fail error => closed
         2.999s fail error => open",
    );
}

#[test]
fn time_window_minimum_is_not_capped_by_the_window_size() {
    check(
        "window = \"time\"\nwindow_size = \"1s\"\nminimum_calls = 3",
        "0s admit*3 => allow
         0.1s fail error*2 => closed
         0.2s fail error => open",
    );
}

#[test]
fn time_window_forgets_after_a_long_idle_gap() {
    check(
        "window = \"time\"\nwindow_size = \"5s\"\nminimum_calls = 2",
        "0s admit*3 => allow
         0.5s fail error => closed
         1000s ok => closed
         1000s fail error => open",
    );
}

// ---------------------------------------------------------------- hystrix

#[test]
fn hystrix_trips_only_at_a_bucket_boundary() {
    check(
        "kind = \"hystrix\"",
        "0.1s admit*20 => allow
         0.1s fail error*10 => closed
         0.1s ok*10 => closed deadline=0.5s
         0.5s timeout => open deadline=none
         5.5s admit => reject@5.500000001s
         5.500000001s admit => probe half_open
         5.6s admit => reject@5.6s
         5.7s ok => closed deadline=none",
    );
}

#[test]
fn hystrix_needs_the_request_volume_and_the_integer_percent() {
    check(
        "kind = \"hystrix\"",
        "0.1s admit*19 => allow
         0.1s fail error*19 => closed deadline=none
         5s timeout => closed",
    );
    // 9 of 20 = 45 % < 50 %.
    check(
        "kind = \"hystrix\"",
        "0.1s admit*20 => allow
         0.1s fail error*9 => closed
         0.1s ok*11 => closed deadline=0.5s
         0.5s timeout => closed deadline=1s
         10.5s timeout => closed deadline=none",
    );
    check(
        "kind = \"hystrix\"\nfailure_rate = 0.45\nrequest_volume = 4",
        "0.1s admit*20 => allow
         0.1s fail error*9 => closed
         0.1s ok*11 => closed
         0.5s timeout => open",
    );
}

#[test]
fn hystrix_counts_a_call_at_a_boundary_in_the_next_check() {
    check(
        "kind = \"hystrix\"",
        "0.1s admit*20 => allow
         0.1s fail error*19 => closed
         0.5s fail error => closed deadline=1s
         1s timeout => open",
    );
}

#[test]
fn hystrix_window_rolls_over_ten_seconds() {
    // Bucket 0 (0.1s) is in the checks up to 10.0s; the 10.2s calls only from 10.5s.
    check(
        "kind = \"hystrix\"",
        "0.1s admit*20 => allow
         0.1s fail error*10 => closed
         10.2s fail error*10 => closed
         10.5s timeout => closed
         11s timeout => closed",
    );
}

#[test]
fn hystrix_checks_missed_boundaries_when_the_next_input_comes() {
    check(
        "kind = \"hystrix\"",
        "0.1s admit*20 => allow
         0.1s fail error*20 => closed
         3s admit => reject@5.500000001s open",
    );
}

#[test]
fn hystrix_trial_failure_reopens_for_a_full_wait_and_success_clears_the_window() {
    check(
        "kind = \"hystrix\"\nrequest_volume = 2",
        "0.1s admit*2 => allow
         0.1s fail error*2 => closed
         0.5s timeout => open
         6s admit => probe
         6s admit => reject@6s
         7s fail timeout => open
         12s admit => reject@12.000000001s
         12.1s admit => probe
         12.2s ok => closed deadline=none
         12.3s admit => allow
         12.3s fail error => closed deadline=none",
    );
}

// ---------------------------------------------------------------- consecutive

#[test]
fn consecutive_trips_on_a_run_of_failures_only() {
    check(
        "kind = \"consecutive\"",
        "0s admit*10 => allow
         1s fail error*4 => closed
         1s ok => closed
         2s fail timeout*4 => closed
         2s fail refused => open deadline=none",
    );
    check(
        "kind = \"consecutive\"\nconsecutive_failures = 2\non = [\"refused\"]",
        "0s admit*3 => allow
         1s fail refused => closed
         1s fail error => closed
         1s fail refused => closed",
    );
}

#[test]
fn consecutive_allows_one_trial_after_the_wait() {
    check(
        "kind = \"consecutive\"\nconsecutive_failures = 1\nwait_multiplier = 3.0",
        "0s admit => allow
         0s fail error => open
         5s admit => reject@5.000000001s
         6s admit => probe
         6s admit => reject@6s
         6s fail error => open
         21s admit => reject@21.000000001s
         22s admit => probe
         22s ok 1h => closed
         23s admit => allow
         23s fail error => open
         28s admit => reject@28.000000001s",
    );
}
