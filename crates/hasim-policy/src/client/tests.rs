//! The client stack driven directly, without the simulator: scripted call lifecycles.
#![allow(clippy::field_reassign_with_default)] // configs are built the way a user of the non_exhaustive type must

use std::time::Duration;

use super::*;
use crate::balancer::BalancerConfig;
use crate::breaker::BreakerConfig;
use crate::hedge::HedgeConfig;
use crate::retry::RetryConfig;
use crate::test_rng::{stream, Role, TestRng};

const MS: u64 = 1_000_000;

fn at_ms(ms: u64) -> Instant {
    Instant::from_nanos(ms * MS)
}

fn ep(id: u32) -> Endpoint {
    Endpoint {
        id: EndpointId(id),
        weight: 1,
    }
}

/// A client with endpoints `0..n` in tier 0.
fn client(config: ClientConfig, n: u32) -> Client<TestRng> {
    let mut c = Client::try_new(&config, Instant::ZERO, stream(1, Role::Policy, 0)).unwrap();
    for i in 0..n {
        c.on_endpoint_added(Instant::ZERO, ep(i), 0);
    }
    c
}

/// Every queued action.
fn drain(c: &mut Client<TestRng>) -> Vec<Action> {
    std::iter::from_fn(|| c.poll_action()).collect()
}

/// The attempts sent among `actions`: (ticket, endpoint, kind).
fn sent(actions: &[Action]) -> Vec<(AttemptId, EndpointId, AttemptKind)> {
    actions
        .iter()
        .filter_map(|a| match *a {
            Action::SendAttempt {
                attempt,
                endpoint,
                kind,
                ..
            } => Some((attempt, endpoint, kind)),
            _ => None,
        })
        .collect()
}

/// The timers armed among `actions`, with their instants.
fn timers(actions: &[Action]) -> Vec<(Instant, Timer)> {
    actions
        .iter()
        .filter_map(|a| match *a {
            Action::ArmTimer { at, timer } => Some((at, timer)),
            _ => None,
        })
        .collect()
}

/// The result of the call finished among `actions`, if one was.
fn finished(actions: &[Action]) -> Option<CallResult> {
    actions.iter().find_map(|a| match *a {
        Action::FinishCall { result, .. } => Some(result),
        _ => None,
    })
}

#[test]
fn a_retry_after_a_timeout_goes_to_another_endpoint() {
    let mut config = ClientConfig::default();
    config.timeout = Some(Duration::from_millis(10));
    config.retry = RetryConfig {
        attempts: 2,
        ..RetryConfig::default()
    };
    config.retry.backoff.base = Duration::ZERO;
    let mut c = client(config, 3);
    let _call = c.start_call(Instant::ZERO, 0);
    let actions = drain(&mut c);
    let first = sent(&actions);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].2, AttemptKind::First);
    let (at, timeout) = timers(&actions)[0];
    assert_eq!(at, at_ms(10), "the attempt timeout is armed");
    c.on_timer(at, timeout);
    let actions = drain(&mut c);
    let retry = sent(&actions);
    assert_eq!(retry.len(), 1, "{actions:?}");
    assert_eq!(retry[0].2, AttemptKind::Retry);
    assert_ne!(
        retry[0].1, first[0].1,
        "the retry avoids the endpoint that timed out"
    );
    assert_eq!(
        c.on_attempt_outcome(at_ms(11), first[0].0, Outcome::Success),
        Report::Stale,
        "a late answer to the timed-out attempt is ignored"
    );
    assert_eq!(
        c.on_attempt_outcome(at_ms(12), retry[0].0, Outcome::Success),
        Report::Taken
    );
    assert_eq!(finished(&drain(&mut c)), Some(CallResult::Ok));
    assert_eq!(
        c.on_attempt_outcome(at_ms(13), retry[0].0, Outcome::Success),
        Report::Stale,
        "an outcome is taken once"
    );
}

/// The deadline timer is armed only once no attempt timeout is due before it, and
/// still ends the call at its instant.
#[test]
fn a_deadline_is_armed_once_no_attempt_timeout_comes_first() {
    let mut config = ClientConfig::default();
    config.timeout = Some(Duration::from_millis(100));
    config.deadline = Some(Duration::from_millis(250));
    config.retry = RetryConfig {
        attempts: 3,
        ..RetryConfig::default()
    };
    config.retry.backoff.base = Duration::ZERO;
    let mut c = client(config.clone(), 3);
    let call = c.start_call(Instant::ZERO, 0);
    let armed = timers(&drain(&mut c));
    assert_eq!(armed.len(), 1, "only the attempt timeout: {armed:?}");
    assert_eq!(armed[0].0, at_ms(100));
    c.on_timer(armed[0].0, armed[0].1);
    let armed = timers(&drain(&mut c));
    assert_eq!(armed.len(), 1, "the retry's timeout, at 200 ms: {armed:?}");
    c.on_timer(armed[0].0, armed[0].1);
    // The third attempt's timeout (300 ms) would come after the deadline (250 ms).
    let armed = timers(&drain(&mut c));
    assert_eq!(armed.len(), 2, "{armed:?}");
    let (at, deadline) = armed[0];
    assert_eq!(at, at_ms(250));
    assert!(c.is_timer_live(deadline));
    c.on_timer(at, deadline);
    let actions = drain(&mut c);
    assert_eq!(
        finished(&actions),
        Some(CallResult::Failed(FailReason::Timeout))
    );
    assert!(c.calls.get(call.0).is_none());

    // A call answered early never arms its deadline.
    let mut c = client(config.clone(), 3);
    let _ = c.start_call(Instant::ZERO, 0);
    let actions = drain(&mut c);
    let _ = c.on_attempt_outcome(at_ms(5), sent(&actions)[0].0, Outcome::Success);
    assert!(timers(&drain(&mut c)).is_empty());

    // Without an attempt timeout, it is armed with the first attempt.
    config.timeout = None;
    let mut c = client(config, 3);
    let _ = c.start_call(Instant::ZERO, 0);
    let armed = timers(&drain(&mut c));
    assert_eq!(armed.len(), 1);
    assert_eq!(armed[0].0, at_ms(250));
}

#[test]
fn a_hedge_goes_out_and_the_loser_is_cancelled() {
    let mut config = ClientConfig::default();
    config.hedge = Some(HedgeConfig {
        delay: Some(Duration::from_millis(5)),
        ..HedgeConfig::default()
    });
    let mut c = client(config, 2);
    let call = c.start_call(Instant::ZERO, 0);
    let actions = drain(&mut c);
    let first = sent(&actions)[0];
    let (at, hedge) = timers(&actions)[0];
    assert_eq!(at, at_ms(5));
    c.on_timer(at, hedge);
    let hedged = sent(&drain(&mut c));
    assert_eq!(hedged.len(), 1);
    assert_eq!(hedged[0].2, AttemptKind::Hedge);
    assert_ne!(hedged[0].1, first.1, "the hedge goes to the other endpoint");
    let _ = c.on_attempt_outcome(at_ms(6), hedged[0].0, Outcome::Success);
    let actions = drain(&mut c);
    assert_eq!(finished(&actions), Some(CallResult::Ok));
    assert!(
        actions.contains(&Action::CancelAttempt {
            call,
            attempt: first.0,
            endpoint: first.1
        }),
        "the first attempt lost and is cancelled: {actions:?}"
    );
    assert_eq!(c.attempts_in_flight(), 0);
    assert_eq!(c.calls_in_progress(), 0);
}

#[test]
fn panic_mode_routes_to_every_endpoint_below_the_threshold() {
    let mut config = ClientConfig::default();
    config.health_check = Some(crate::health::HealthCheckConfig::default());
    config.balancer = BalancerConfig::Random {};
    let mut c = client(config, 4);
    // No probe has answered: nothing is eligible, 0 < 0.5 x 4, so the client panics
    // and picks among all four.
    let probes: Vec<(ProbeId, EndpointId)> = drain(&mut c)
        .iter()
        .filter_map(|a| match *a {
            Action::ArmTimer { at, timer } => Some((at, timer)),
            _ => None,
        })
        .flat_map(|(at, timer)| {
            c.on_timer(at, timer);
            drain(&mut c).into_iter().filter_map(|a| match a {
                Action::SendProbe { probe, endpoint } => Some((probe, endpoint)),
                _ => None,
            })
        })
        .collect();
    assert_eq!(probes.len(), 4, "one probe per endpoint at once");
    assert!(c.is_panicking());
    let mut seen = [false; 4];
    for t in 1..200 {
        let _ = c.start_call(at_ms(t), 0);
        let (attempt, endpoint, _) = sent(&drain(&mut c))[0];
        seen[endpoint.index()] = true;
        let _ = c.on_attempt_outcome(at_ms(t), attempt, Outcome::Success);
        let _ = drain(&mut c);
    }
    assert_eq!(seen, [true; 4], "panic mode picks among all endpoints");
    // Three of four pass their first probe: 3 >= 0.5 x 4, panic ends and only the
    // healthy three are picked.
    for &(probe, endpoint) in &probes {
        let _ = c.on_probe_result(at_ms(300), probe, endpoint != EndpointId(3));
    }
    assert!(!c.is_panicking());
    assert_eq!(c.eligible_count(), 3);
    for t in 301..500 {
        let _ = c.start_call(at_ms(t), 0);
        let (attempt, endpoint, _) = sent(&drain(&mut c))[0];
        assert_ne!(endpoint, EndpointId(3));
        let _ = c.on_attempt_outcome(at_ms(t), attempt, Outcome::Success);
        let _ = drain(&mut c);
    }
}

#[test]
fn no_endpoint_fails_the_call_as_no_server() {
    let mut c = client(ClientConfig::default(), 0);
    let _ = c.start_call(Instant::ZERO, 0);
    assert_eq!(
        finished(&drain(&mut c)),
        Some(CallResult::Failed(FailReason::NoServer))
    );
}

#[test]
fn a_reserved_view_is_added_without_moving_the_states() {
    let mut c = Client::try_new(
        &ClientConfig::default(),
        Instant::ZERO,
        stream(1, Role::Policy, 0),
    )
    .unwrap();
    c.reserve_endpoints(1000);
    let states = c.endpoints.as_ptr();
    for i in 0..1000 {
        c.on_endpoint_added(Instant::ZERO, ep(i), 0);
    }
    assert_eq!(c.endpoints.as_ptr(), states, "no state was copied");
    assert_eq!(c.eligible_count(), 1000);
}

#[test]
fn removed_endpoints_free_their_state_and_return_as_new() {
    let mut config = ClientConfig::default();
    config.breaker = Some(BreakerConfig {
        scope: crate::breaker::Scope::Endpoint,
        ..BreakerConfig::default()
    });
    let mut c = client(config, 2);
    assert!(c.endpoint_breaker(EndpointId(1)).is_some());
    c.on_endpoint_removed(at_ms(1), EndpointId(1));
    assert!(!c.knows(EndpointId(1)));
    assert!(
        c.endpoint_breaker(EndpointId(1)).is_none(),
        "its breaker is freed"
    );
    for t in 2..20 {
        let _ = c.start_call(at_ms(t), 0);
        let (attempt, endpoint, _) = sent(&drain(&mut c))[0];
        assert_eq!(endpoint, EndpointId(0));
        let _ = c.on_attempt_outcome(at_ms(t), attempt, Outcome::Success);
        let _ = drain(&mut c);
    }
    c.on_endpoint_added(at_ms(30), ep(1), 0);
    assert!(c.is_eligible(EndpointId(1)));
}

#[test]
fn time_going_backwards_does_not_panic() {
    let mut config = ClientConfig::default();
    config.timeout = Some(Duration::from_millis(10));
    config.breaker = Some(BreakerConfig::default());
    let mut c = client(config, 2);
    let _ = c.start_call(at_ms(100), 0);
    let (attempt, _, _) = sent(&drain(&mut c))[0];
    let _ = c.start_call(at_ms(50), 0); // earlier than before: treated as 100 ms
    let actions = drain(&mut c);
    assert!(
        timers(&actions).iter().all(|&(at, _)| at >= at_ms(110)),
        "timers count from the latest time seen"
    );
    let _ = c.on_attempt_outcome(at_ms(10), attempt, Outcome::Success);
    assert_eq!(finished(&drain(&mut c)), Some(CallResult::Ok));
}

#[test]
fn bad_configs_are_refused_with_the_policy_and_key() {
    let mut config = ClientConfig::default();
    config.retry = RetryConfig {
        attempts: 0,
        ..RetryConfig::default()
    };
    let err = Client::try_new(&config, Instant::ZERO, stream(1, Role::Policy, 0)).unwrap_err();
    assert_eq!((err.section, err.key), (Some("retry"), "attempts"), "{err}");
    assert!(err.to_string().starts_with("`retry.attempts`"), "{err}");
    let mut config = ClientConfig::default();
    config.panic_threshold = 2.0;
    let err = Client::try_new(&config, Instant::ZERO, stream(1, Role::Policy, 0)).unwrap_err();
    assert_eq!(err.key, "panic_threshold");
    let mut config = ClientConfig::default();
    config.timeout = Some(Duration::ZERO);
    let err = Client::try_new(&config, Instant::ZERO, stream(1, Role::Policy, 0)).unwrap_err();
    assert_eq!(err.key, "timeout");
}

#[test]
fn the_stack_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Client<TestRng>>();
    check::<Action>();
    check::<ClientConfig>();
}

/// Issue 8's breaker lifecycle: an endpoint breaker opens, the endpoint leaves the
/// eligible set, and it comes back when the open wait ends, although no call asked
/// its breaker in between (OPEN ends on the next admit in resilience4j and Finagle,
/// so only the stack's wake-up can make it eligible again). Every loop is bounded.
#[test]
fn an_open_endpoint_breaker_leaves_the_set_and_returns_after_its_wait() {
    let mut config = ClientConfig::default();
    config.balancer = BalancerConfig::Random {};
    config.breaker = Some(BreakerConfig {
        flavor: crate::breaker::Flavor::Consecutive,
        scope: crate::breaker::Scope::Endpoint,
        consecutive_failures: Some(2),
        wait_in_open: Some(Duration::from_secs(1)),
        ..BreakerConfig::default()
    });
    let mut c = client(config, 4);
    // Endpoint 0 fails every attempt, the others succeed.
    let call_at = |c: &mut Client<TestRng>, t: u64| -> EndpointId {
        let _ = c.start_call(at_ms(t), 0);
        let (attempt, endpoint, _) = sent(&drain(c))[0];
        let outcome = if endpoint == EndpointId(0) {
            Outcome::Failure(FailureKind::Error)
        } else {
            Outcome::Success
        };
        let _ = c.on_attempt_outcome(at_ms(t), attempt, outcome);
        let _ = drain(c);
        endpoint
    };
    let mut opened_at = None;
    for t in 0..1000 {
        let _ = call_at(&mut c, t);
        if !c.is_eligible(EndpointId(0)) {
            opened_at = Some(t);
            break;
        }
    }
    let opened_at = opened_at.expect("two failures in a row open endpoint 0's breaker");
    assert_eq!(
        c.endpoint_breaker(EndpointId(0)).map(Breaker::state),
        Some(crate::breaker::BreakerState::Open)
    );
    assert_eq!(c.eligible_count(), 3);
    assert!(!c.is_panicking(), "3 of 4 is above the 50% panic threshold");
    for t in opened_at + 1..opened_at + 1000 {
        assert_ne!(call_at(&mut c, t), EndpointId(0), "at {t} ms");
    }
    // Past the wait: the first call's catch-up makes it eligible again, and it is
    // picked again within a bounded number of calls.
    let mut back = false;
    for t in opened_at + 1001..opened_at + 1500 {
        if call_at(&mut c, t) == EndpointId(0) {
            back = true;
            break;
        }
        assert!(c.is_eligible(EndpointId(0)), "eligible again at {t} ms");
    }
    assert!(back, "endpoint 0 is picked again after its wait");
}

/// Issue 10 item 1 through the stack: with weights 1:2:3 and every first attempt
/// retried on another endpoint, the first attempts still follow the weights exactly
/// (Envoy's schedule is not moved by retries: `Balancer::pick_again`). Before, each
/// retry consumed a slot and first attempts went 0 / 1/3 / 2/3.
#[test]
fn weighted_round_robin_retries_do_not_move_the_first_attempts() {
    let mut config = ClientConfig::default();
    config.balancer = BalancerConfig::WeightedRoundRobin {};
    config.retry = RetryConfig {
        attempts: 2,
        ..RetryConfig::default()
    };
    config.retry.backoff.base = Duration::ZERO;
    config.retry.budget = None;
    let mut c = Client::try_new(&config, Instant::ZERO, stream(1, Role::Policy, 0)).unwrap();
    for (id, weight) in [(0, 1), (1, 2), (2, 3)] {
        c.on_endpoint_added(
            Instant::ZERO,
            Endpoint {
                id: EndpointId(id),
                weight,
            },
            0,
        );
    }
    let mut firsts = [0u32; 3];
    for t in 0..600 {
        let now = at_ms(t);
        let _ = c.start_call(now, 0);
        let (first, endpoint, _) = sent(&drain(&mut c))[0];
        firsts[endpoint.index()] += 1;
        let _ = c.on_attempt_outcome(now, first, Outcome::Failure(FailureKind::Error));
        // The retry goes out at once (zero backoff) or when its timer fires.
        let mut actions = drain(&mut c);
        if sent(&actions).is_empty() {
            let (at, retry) = timers(&actions)[0];
            c.on_timer(at, retry);
            actions = drain(&mut c);
        }
        let (second, other, kind) = sent(&actions)[0];
        assert_eq!(kind, AttemptKind::Retry);
        assert_ne!(other, endpoint, "the retry goes elsewhere");
        let _ = c.on_attempt_outcome(now, second, Outcome::Success);
        assert_eq!(finished(&drain(&mut c)), Some(CallResult::Ok));
    }
    assert_eq!(firsts, [100, 200, 300]);
}

/// A client with health checks over `tiers` tiers of four endpoints each, where only
/// the endpoints in `healthy` pass their first probe.
fn tiered_client(tiers: u32, healthy: &[u32]) -> Client<TestRng> {
    let mut config = ClientConfig::default();
    config.health_check = Some(crate::health::HealthCheckConfig::default());
    config.balancer = BalancerConfig::Random {};
    let mut c = Client::try_new(&config, Instant::ZERO, stream(3, Role::Policy, 0)).unwrap();
    for id in 0..4 * tiers {
        c.on_endpoint_added(Instant::ZERO, ep(id), id / 4);
    }
    let arms = timers(&drain(&mut c));
    for (at, timer) in arms {
        c.on_timer(at, timer);
        for a in drain(&mut c) {
            if let Action::SendProbe { probe, endpoint } = a {
                let _ = c.on_probe_result(at_ms(1), probe, healthy.contains(&endpoint.0));
            }
        }
    }
    c
}

/// How many of `calls` calls went to each endpoint.
fn spread(c: &mut Client<TestRng>, calls: u64) -> Vec<u32> {
    let mut hits = vec![0u32; c.known().len()];
    for t in 0..calls {
        let now = at_ms(10 + t);
        let _ = c.start_call(now, 0);
        let (attempt, endpoint, _) = sent(&drain(c))[0];
        hits[endpoint.index()] += 1;
        let _ = c.on_attempt_outcome(now, attempt, Outcome::Success);
        let _ = drain(c);
    }
    hits
}

/// Envoy per-priority panic through the stack (`load_balancer_impl_base_test.cc`
/// `GentleFailoverWithExtraLevels`, total panic case): two tiers with one of four
/// endpoints eligible each are both in panic, so load splits by endpoint count (50/50)
/// and each tier picks among all its endpoints. The old whole-view panic sent
/// everything to tier 0.
#[test]
fn every_tier_in_panic_splits_by_endpoint_count() {
    let mut c = tiered_client(2, &[0, 4]);
    assert_eq!(c.eligible_count(), 2);
    let hits = spread(&mut c, 4000);
    let tier0: u32 = hits[..4].iter().sum();
    assert!((1800..=2200).contains(&tier0), "{hits:?}");
    assert!(
        hits.iter().all(|&h| h > 0),
        "panic picks among all: {hits:?}"
    );
}

/// When the tiers together can carry the load (normalized availability 100), no tier
/// panics: tier 0 with one of four eligible takes 1.4 x 25 = 35 % on that one endpoint
/// and tier 1 the rest.
#[test]
fn a_degraded_tier_spills_without_panic() {
    let mut c = tiered_client(2, &[0, 4, 5, 6, 7]);
    let hits = spread(&mut c, 4000);
    assert_eq!(&hits[1..4], &[0, 0, 0], "no panic in tier 0: {hits:?}");
    assert!((1250..=1550).contains(&hits[0]), "35% to tier 0: {hits:?}");
}

/// A client keeps one state per endpoint, with its breaker inline: at 1,000 endpoints
/// and 100 instances that is 100,000 of them, and the fleet benchmark's speed depends
/// on how many cache lines a call touches. Shared rules, an inline count window of
/// bits whose counts are the bits' population counts, HALF_OPEN's counts out of the
/// state enum, and boxed long-count, time and Hystrix windows keep each at two cache
/// lines, debug builds (which add the breaker's time-order check) included, and put
/// all that a send and a CLOSED outcome touch in the first line, p2c's load included. It was 280 bytes
/// with the rules copied into every breaker, 184 with a window on the heap, 168 with
/// `u64` counts, 128 with a call touching both lines.
#[test]
fn an_endpoint_state_fills_two_cache_lines_and_a_call_touches_the_first() {
    use crate::breaker::{Breaker, BreakerConfig};
    let size = std::mem::size_of::<super::EndpointState>();
    assert_eq!(size, 2 * 64, "EndpointState is {size} bytes");
    assert_eq!(std::mem::align_of::<super::EndpointState>(), 64);
    let config = BreakerConfig {
        window_size: Some(64),
        ..BreakerConfig::default()
    };
    let state = super::EndpointState {
        breaker: Some(Breaker::new(&config)),
        ..super::EndpointState::default()
    };
    let base = &state as *const super::EndpointState as usize;
    let offset = |p: usize| p - base;
    for flag in [&state.known, &state.eligible, &state.ejected] {
        assert!(offset(flag as *const bool as usize) < 64);
    }
    assert!(offset(&state.in_flight as *const u32 as usize) + 4 <= 64);
    let breaker = state.breaker.as_ref().expect("built above");
    let hot = breaker.hot_bytes();
    let start = offset(breaker as *const Breaker as usize);
    assert!(
        start + hot.end <= 64,
        "the breaker's hot part is at {}..{} of EndpointState",
        start + hot.start,
        start + hot.end
    );
}

/// The prefetch hints change no decision: a client given every hint before each
/// event (`prefetch_start_call`, `prefetch_outcome`, `prefetch_timer`) sends, arms
/// and finishes exactly what a client given none does, through p2c picks, endpoint
/// breakers, outlier ejections, timeouts and retries.
#[test]
fn prefetch_hints_change_no_decision() {
    fn script(hints: bool) -> Vec<Action> {
        let mut config = ClientConfig::default();
        config.balancer = BalancerConfig::P2c(Default::default());
        config.timeout = Some(Duration::from_millis(5));
        config.retry = RetryConfig {
            attempts: 3,
            ..RetryConfig::default()
        };
        config.breaker = Some(BreakerConfig {
            scope: crate::breaker::Scope::Endpoint,
            ..BreakerConfig::default()
        });
        config.outlier = Some(crate::outlier::OutlierConfig::default());
        let mut c = client(config, 20);
        let mut log = Vec::new();
        let mut armed: Vec<(Instant, Timer)> = Vec::new();
        for t in 0..3_000u64 {
            let now = at_ms(t);
            armed.sort_by_key(|&(at, _)| at);
            let due = armed.partition_point(|&(at, _)| at <= now);
            let mut events: Vec<Option<Timer>> =
                armed.drain(..due).map(|(_, timer)| Some(timer)).collect();
            events.push(None); // then a call starts
            for event in events {
                match event {
                    Some(timer) => {
                        if hints {
                            c.prefetch_timer(timer);
                        }
                        c.on_timer(now, timer);
                    }
                    None => {
                        if hints {
                            c.prefetch_start_call();
                        }
                        let _ = c.start_call(now, t);
                    }
                }
                // Answer what was sent at once, except that even endpoints never
                // answer (their attempts time out) and odd ones below 10 fail every
                // other millisecond.
                let mut actions = drain(&mut c);
                while !actions.is_empty() {
                    armed.extend(timers(&actions));
                    let sends = sent(&actions);
                    log.append(&mut actions);
                    for (attempt, endpoint, _) in sends {
                        let outcome = match endpoint.0 {
                            id if id % 2 == 0 => continue,
                            id if id < 10 && t % 2 == 0 => {
                                Outcome::Failure(crate::FailureKind::Error)
                            }
                            _ => Outcome::Success,
                        };
                        if hints {
                            c.prefetch_outcome(attempt, endpoint);
                        }
                        let _ = c.on_attempt_outcome(now, attempt, outcome);
                    }
                    actions = drain(&mut c);
                }
            }
        }
        log
    }
    let plain = script(false);
    assert!(plain.len() > 5_000, "{} actions", plain.len());
    assert!(
        plain.iter().any(|a| matches!(
            a,
            Action::FinishCall {
                result: CallResult::Failed(_),
                ..
            }
        )),
        "some calls fail"
    );
    assert_eq!(plain, script(true));
}

/// Every call writes its whole slab slot when it starts and reads most of it when it
/// ends, so the slot's size is cache lines per call: packed fields and `smallvec`'s
/// `union` layout keep it at 96 bytes (two or three lines; 136 bytes, three or four,
/// before).
#[test]
fn a_call_slot_is_96_bytes() {
    let slot = std::mem::size_of::<(u32, Option<super::Call>)>();
    assert_eq!(slot, 96, "a call's slab slot is {slot} bytes");
}
