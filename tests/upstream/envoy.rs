//! Envoy (github.com/envoyproxy/envoy): the EDF scheduler and weighted round robin,
//! priority load and panic, outlier detection.
//!
//! Files: `test/common/upstream/edf_scheduler_test.cc`,
//! `test/extensions/load_balancing_policies/round_robin/round_robin_lb_test.cc`,
//! `test/extensions/load_balancing_policies/common/load_balancer_impl_base_test.cc`,
//! `test/common/upstream/outlier_detection_impl_test.cc`,
//! `test/extensions/retry/priority/previous_priorities/config_test.cc`.

use std::time::Duration;

use hasim_policy::balancer::{EdfScheduler, PickRequest, WeightedRoundRobin};
use hasim_policy::failover::{
    previous_priorities_loads, priority_loads, PriorityHosts, PriorityLoads,
};
use hasim_policy::outlier::{OutlierConfig, OutlierDetector};
use hasim_policy::time::Instant;
use hasim_policy::{Endpoint, EndpointId, FailureKind, Outcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Fixed;

fn id(i: u32) -> EndpointId {
    EndpointId(i)
}

// ---------------------------------------------------------------------------
// edf_scheduler_test.cc

/// `EdfSchedulerTest.Unweighted`: equal weights are plain round robin.
#[test]
fn edf_unweighted() {
    let mut sched = EdfScheduler::new();
    for i in 0..128 {
        sched.add(1.0, id(i));
    }
    for _round in 0..128 {
        for i in 0..128 {
            assert_eq!(sched.pick_and_add(|_| 1.0), Some(id(i)));
        }
    }
}

/// `EdfSchedulerTest.Weighted`: entry i of weight i + 1 is picked i + 1 times in
/// 128 x 129 / 2 picks.
#[test]
fn edf_weighted() {
    let mut sched = EdfScheduler::new();
    for i in 0..128 {
        sched.add(f64::from(i + 1), id(i));
    }
    let mut counts = [0u32; 128];
    for _ in 0..(128 * 129) / 2 {
        let p = sched.pick_and_add(|e| f64::from(e.0 + 1)).unwrap();
        counts[p.index()] += 1;
    }
    for (i, &c) in counts.iter().enumerate() {
        assert_eq!(c, i as u32 + 1, "entry {i}");
    }
}

/// Compares two schedules' queues entry by entry (Envoy `compareEdfSchedulers`:
/// deadlines within 1e-5, same entries in the same order).
fn same_schedule(a: &EdfScheduler, b: &EdfScheduler) {
    let (a, b) = (a.deadlines(), b.deadlines());
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x.0 - y.0).abs() <= 1e-5,
            "deadline of element {i}: {x:?} {y:?}"
        );
        assert_eq!(x.1, y.1, "entry of element {i}");
    }
}

/// `EdfSchedulerTest.SchedulerWithZeroPicksEqualToEmptyWithAddedEntries`.
#[test]
fn edf_create_with_zero_picks_equals_adding_entries() {
    let mut one = EdfScheduler::new();
    let mut entries = Vec::new();
    for i in 0..128 {
        one.add(f64::from(i + 1), id(i));
        entries.push((id(i), f64::from(i + 1)));
    }
    same_schedule(&one, &EdfScheduler::create_with_picks(&entries, 0));
}

/// `EdfSchedulerTest.SchedulerWithSomePicksEqualToEmptyWithAddedEntries`: weights in
/// [0.01, 100.5], picks 5, 140, 501, 123456 and 894571.
#[test]
fn edf_create_with_picks_equals_picking_one_by_one() {
    let entries: Vec<(EndpointId, f64)> = (0..128)
        .map(|i| (id(i), (100.5 - 0.01) / 128.0 * f64::from(i) + 0.01))
        .collect();
    let weight = |e: EndpointId| entries[e.index()].1;
    for picks in [5u32, 140, 501, 123_456, 894_571] {
        let mut one = EdfScheduler::new();
        for &(e, w) in &entries {
            one.add(w, e);
        }
        for _ in 0..picks {
            let _ = one.pick_and_add(weight);
        }
        same_schedule(&one, &EdfScheduler::create_with_picks(&entries, picks));
    }
}

/// `firstPickTest` of `edf_scheduler_test.cc`: 400,000 schedulers with a random
/// number of emulated picks; the first real pick follows the weights within 1 %.
fn first_pick_test(weights: &[f64]) {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let entries: Vec<(EndpointId, f64)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (id(i as u32), w))
        .collect();
    let iterations = 400_000u32;
    let mut picks = vec![0u32; weights.len()];
    for _ in 0..iterations {
        let r: u32 = rng.random();
        let mut sched = EdfScheduler::create_with_picks(&entries, r);
        let first = sched.pick_and_add(|e| weights[e.index()]).unwrap();
        picks[first.index()] += 1;
    }
    for (i, &w) in weights.iter().enumerate() {
        let observed = 100.0 * f64::from(picks[i]) / f64::from(iterations);
        assert!(
            (observed - w).abs() <= 1.0,
            "{weights:?}: entry {i} first {observed}%"
        );
    }
}

/// `EdfSchedulerTest.SchedulerWithRandomPicksFirstPickDistribution`.
#[test]
fn edf_random_picks_first_pick_distribution() {
    first_pick_test(&[25.0, 75.0]);
    first_pick_test(&[1.0, 99.0]);
    first_pick_test(&[50.0, 50.0]);
    first_pick_test(&[1.0, 20.0, 79.0]);
}

// ---------------------------------------------------------------------------
// round_robin_lb_test.cc

fn hosts(list: &[(u32, u32)]) -> Vec<Endpoint> {
    list.iter()
        .map(|&(i, weight)| Endpoint { id: id(i), weight })
        .collect()
}

/// Picks `want.len()` times from `lb` over `eligible` with Envoy's random fixed at
/// `random`, comparing with the expected host ids.
fn picks(lb: &mut WeightedRoundRobin, eligible: &[Endpoint], random: u64, want: &[u32]) {
    let req = PickRequest {
        now: Instant::ZERO,
        eligible,
        known: eligible,
        hash_key: 0,
        known_generation: None,
    };
    let got: Vec<u32> = want
        .iter()
        .map(|_| lb.pick(&req, &mut Fixed(random)).0)
        .collect();
    assert_eq!(got, want, "over {eligible:?}");
}

/// `RoundRobinLoadBalancerTest.Weighted` (random fixed at 0, so no emulated picks):
/// initial weights, a weight change that converges after one pick cycle (lazily),
/// a host added, two removed and one added with a weight change.
#[test]
fn round_robin_weighted() {
    let mut lb = WeightedRoundRobin::new();
    picks(&mut lb, &hosts(&[(0, 1), (1, 2)]), 0, &[1, 0, 1, 1, 0, 1]);
    // "Modify weights, we converge on new weighting after one pick cycle."
    picks(
        &mut lb,
        &hosts(&[(0, 2), (1, 1)]),
        0,
        &[1, 0, 0, 1, 0, 0, 1, 0],
    );
    // "Add a host, it should participate in next round of scheduling."
    picks(
        &mut lb,
        &hosts(&[(0, 2), (1, 1), (2, 3)]),
        0,
        &[2, 0, 2, 1, 0, 2, 2, 0, 2, 1, 0, 2],
    );
    // "Remove last two hosts, add a new one with different weights."
    picks(
        &mut lb,
        &hosts(&[(0, 1), (3, 4)]),
        0,
        &[3, 3, 3, 0, 3, 3, 3, 3, 0, 3],
    );
}

/// `RoundRobinLoadBalancerTest.WeightedSeed`: random fixed at 1 (one emulated pick).
#[test]
fn round_robin_weighted_seed() {
    let mut lb = WeightedRoundRobin::new();
    picks(&mut lb, &hosts(&[(0, 1), (1, 2)]), 1, &[0, 1, 1, 0, 1, 1]);
}

/// `RoundRobinLoadBalancerTest.WeightedInitializationPicksAllHosts`: weights {6, 3,
/// 1}; ten balancers built with random = 0..9 pick the hosts first 6, 3 and 1 times.
#[test]
fn round_robin_weighted_initialization_picks_all_hosts() {
    let eligible = hosts(&[(0, 6), (1, 3), (2, 1)]);
    let req = PickRequest {
        now: Instant::ZERO,
        eligible: &eligible,
        known: &eligible,
        hash_key: 0,
        known_generation: None,
    };
    let mut counts = [0u32; 3];
    for i in 0..10 {
        let first = WeightedRoundRobin::new().pick(&req, &mut Fixed(i));
        counts[first.index()] += 1;
    }
    assert_eq!(counts, [6, 3, 1]);
}

// ---------------------------------------------------------------------------
// load_balancer_impl_base_test.cc (`LoadBalancerBaseTest`; default overprovisioning
// 140 and panic threshold 50). Hosts are (total, healthy, degraded).

fn loads(levels: &[(u64, u64, u64)], overprovisioning: u64, panic_threshold: u64) -> PriorityLoads {
    let hosts: Vec<PriorityHosts> = levels
        .iter()
        .map(|&(total, healthy, degraded)| PriorityHosts {
            healthy,
            degraded,
            total,
        })
        .collect();
    let mut out = PriorityLoads::default();
    priority_loads(&hosts, overprovisioning, panic_threshold, &mut out);
    out
}

fn check(levels: &[(u64, u64, u64)], healthy: &[u32], degraded: &[u32], panic: Option<&[bool]>) {
    check_with(levels, 140, 50, healthy, degraded, panic);
}

fn check_with(
    levels: &[(u64, u64, u64)],
    overprovisioning: u64,
    panic_threshold: u64,
    healthy: &[u32],
    degraded: &[u32],
    panic: Option<&[bool]>,
) {
    let got = loads(levels, overprovisioning, panic_threshold);
    assert_eq!(got.healthy, healthy, "healthy load of {levels:?}");
    assert_eq!(got.degraded, degraded, "degraded load of {levels:?}");
    if let Some(panic) = panic {
        assert_eq!(got.panic, panic, "panic of {levels:?}");
    }
}

/// `LoadBalancerBaseTest.GentleFailover` (the steps without excluded hosts).
#[test]
fn gentle_failover() {
    let no = Some(&[false, false][..]);
    check(&[(1, 1, 0), (1, 1, 0)], &[100, 0], &[0, 0], no);
    check(&[(2, 1, 0), (2, 1, 0)], &[70, 30], &[0, 0], no);
    check(&[(4, 1, 0), (2, 2, 0)], &[35, 65], &[0, 0], no);
    check(
        &[(4, 1, 0), (4, 1, 0)],
        &[50, 50],
        &[0, 0],
        Some(&[true, true]),
    );
}

/// `LoadBalancerBaseTest.GentleFailoverWithExtraLevels`, every step.
#[test]
fn gentle_failover_with_extra_levels() {
    let none = [0, 0, 0];
    let calm = Some(&[false, false, false][..]);
    let all = Some(&[true, true, true][..]);
    check(
        &[(1, 1, 0), (1, 1, 0), (1, 1, 0)],
        &[100, 0, 0],
        &none,
        calm,
    );
    check(
        &[(2, 1, 0), (2, 1, 0), (2, 1, 0)],
        &[70, 30, 0],
        &none,
        None,
    );
    check(
        &[(4, 1, 0), (2, 2, 0), (2, 1, 0)],
        &[35, 65, 0],
        &none,
        None,
    );
    check(
        &[(4, 1, 0), (4, 1, 0), (4, 1, 0)],
        &[35, 35, 30],
        &none,
        None,
    );
    check(
        &[(5, 1, 0), (5, 1, 0), (5, 1, 0)],
        &[34, 33, 33],
        &none,
        all,
    );
    check(
        &[(5, 0, 0), (5, 0, 0), (5, 5, 0)],
        &[0, 0, 100],
        &none,
        calm,
    );
    check(
        &[(5, 0, 0), (5, 0, 0), (5, 4, 0)],
        &[0, 0, 100],
        &none,
        calm,
    );
    // P=2 40 % healthy: every level in panic, load by host count.
    check(
        &[(5, 0, 0), (5, 0, 0), (5, 2, 0)],
        &[34, 33, 33],
        &none,
        all,
    );
    check(
        &[(5, 0, 5), (5, 2, 2), (5, 2, 0)],
        &[0, 56, 44],
        &none,
        calm,
    );
    check(
        &[(5, 0, 0), (3, 0, 0), (2, 0, 0)],
        &[50, 30, 20],
        &none,
        all,
    );
    // Total panic with healthy hosts left: 5 + 6 + 3 = 14 hosts.
    check(
        &[(5, 0, 0), (6, 2, 0), (3, 1, 0)],
        &[37, 42, 21],
        &none,
        all,
    );
    // Load spills over into degraded.
    check(
        &[(5, 0, 1), (5, 0, 5), (5, 1, 0)],
        &[0, 0, 28],
        &[28, 44, 0],
        None,
    );
    // Panic threshold 0: no total panic; the remainder goes to the first degraded.
    check_with(
        &[(5, 0, 0), (5, 0, 2), (5, 0, 1)],
        140,
        0,
        &none,
        &[0, 67, 33],
        None,
    );
    check(
        &[(5, 0, 0), (5, 0, 2), (5, 0, 1)],
        &[34, 33, 33],
        &none,
        None,
    );
    check(
        &[(3, 0, 0), (3, 0, 0), (3, 0, 0)],
        &[34, 33, 33],
        &none,
        all,
    );
    check(&[(0, 0, 0), (6, 0, 0), (3, 0, 0)], &[0, 67, 33], &none, all);
}

/// `LoadBalancerBaseTest.PrioritySelection`: the load percentages.
#[test]
fn priority_selection_loads() {
    check(&[(1, 0, 0), (1, 0, 0)], &[50, 50], &[0, 0], None);
    check(&[(1, 0, 0), (2, 0, 0)], &[34, 66], &[0, 0], None);
    check(
        &[(1, 0, 0), (2, 0, 0), (1, 1, 0)],
        &[0, 0, 100],
        &[0, 0, 0],
        None,
    );
    check(
        &[(1, 1, 0), (2, 0, 0), (1, 1, 0)],
        &[100, 0, 0],
        &[0, 0, 0],
        None,
    );
}

/// `LoadBalancerBaseTest.OverProvisioningFactor`.
#[test]
fn over_provisioning_factor() {
    check(&[(4, 2, 0), (4, 2, 0)], &[70, 30], &[0, 0], None);
    check_with(&[(4, 2, 0), (4, 2, 0)], 100, 50, &[50, 50], &[0, 0], None);
}

/// `LoadBalancerBaseTest.WeightedPriorityHealth` and `...Degraded`: with
/// `weighted_priority_health`, sums of weights go where counts went.
#[test]
fn weighted_priority_health() {
    // Weights 3 + 3 healthy, 2 + 2 unhealthy; P=1 one healthy host.
    check_with(&[(10, 6, 0), (1, 1, 0)], 100, 50, &[60, 40], &[0, 0], None);
    // P=0: 4 healthy, 3 degraded, 2 + 1 unhealthy; P=1: 1 healthy, 9 degraded.
    check_with(
        &[(10, 4, 3), (10, 1, 9)],
        100,
        50,
        &[40, 10],
        &[30, 20],
        None,
    );
}

// ---------------------------------------------------------------------------
// outlier_detection_impl_test.cc

/// `OutlierDetectorImplTest.DetectorStaticConfigBaseLargerThanMaxNoMax`: without
/// `max_ejection_time`, a 400 s base is accepted and the max becomes 400 s.
#[test]
fn outlier_base_larger_than_default_max_without_max() {
    let cfg = OutlierConfig {
        interval: Duration::from_millis(100),
        base_ejection: Duration::from_secs(400),
        ..OutlierConfig::default()
    };
    assert_eq!(cfg.validate(), Ok(()));
    assert_eq!(cfg.interval, Duration::from_millis(100));
    assert_eq!(cfg.base_ejection, Duration::from_secs(400));
    assert_eq!(cfg.max_ejection(), Duration::from_secs(400));
    // With an explicit max below the base, Envoy rejects the config.
    let bad = OutlierConfig {
        max_ejection: Some(Duration::from_secs(3)),
        ..cfg
    };
    assert_eq!(bad.validate().unwrap_err().key, "max_ejection");
    assert_eq!(
        OutlierConfig::default().max_ejection(),
        Duration::from_secs(300)
    );
}

const OK: Outcome = Outcome::Success;
const E503: Outcome = Outcome::Failure(FailureKind::Rejected);
const E500: Outcome = Outcome::Failure(FailureKind::Error);

fn load(od: &mut OutlierDetector, at: Instant, ep: u32, n: u32, outcome: Outcome, known: usize) {
    for _ in 0..n {
        let _ = od.on_outcome(at, id(ep), outcome, known);
    }
}

fn tick(od: &mut OutlierDetector, ms: u64, known: &[EndpointId]) {
    let _ = od.handle_timeout(Instant(ms * 1_000_000), known, |_| {});
}

/// `OutlierDetectorImplTest.BasicFlowFailurePercentageExternalOrigin`: five hosts,
/// consecutive and success-rate ejection not enforced, failure percentage enforced.
/// 300 503s over 350 (85.7 %) is ejected, 250 over 300 (83.3 %) is not; the host
/// comes back at the tick 30 s later; with only one host at the request volume,
/// nothing is ejected.
#[test]
fn outlier_basic_flow_failure_percentage() {
    let cfg = OutlierConfig {
        max_ejection_percent: 100,
        enforcing_consecutive_failures: 0,
        enforcing_consecutive_gateway_failures: 0,
        enforcing_success_rate: 0,
        enforcing_failure_percentage: 100,
        ..OutlierConfig::default()
    };
    let known: Vec<EndpointId> = (0..5).map(id).collect();
    let mut od = OutlierDetector::new(&cfg, Instant::ZERO);
    for ep in 0..5 {
        load(&mut od, Instant::ZERO, ep, 50, OK, 5);
    }
    load(&mut od, Instant::ZERO, 3, 250, E503, 5);
    load(&mut od, Instant::ZERO, 4, 300, E503, 5);
    tick(&mut od, 10_000, &known);
    assert!(!od.is_ejected(id(3)));
    assert!(od.is_ejected(id(4)));
    assert_eq!(od.ejected_count(), 1);
    tick(&mut od, 19_999, &known);
    assert!(od.is_ejected(id(4)));
    tick(&mut od, 50_001, &known);
    assert!(!od.is_ejected(id(4)));
    assert_eq!(od.ejected_count(), 0);
    for ep in 0..5 {
        load(&mut od, Instant(50_001_000_000), ep, 25, OK, 5);
    }
    load(&mut od, Instant(50_001_000_000), 4, 25, E503, 5);
    tick(&mut od, 60_001, &known);
    assert_eq!(od.ejected_count(), 0);
}

/// `OutlierDetectorImplTest.NotEnforcing`: with `enforcing_consecutive_5xx` off, five
/// 503s in a row eject nothing.
#[test]
fn outlier_not_enforcing() {
    let cfg = OutlierConfig {
        max_ejection_percent: 35,
        enforcing_consecutive_failures: 0,
        ..OutlierConfig::default()
    };
    let mut od = OutlierDetector::new(&cfg, Instant::ZERO);
    load(&mut od, Instant::ZERO, 0, 5, E503, 3);
    assert!(!od.is_ejected(id(0)));
    assert_eq!(od.ejected_count(), 0);
}

/// `OutlierDetectorImplTest.Overflow`: two hosts, `max_ejection_percent = 60`: the
/// first host is ejected after five 500s, the second is not (overflow).
#[test]
fn outlier_overflow() {
    let cfg = OutlierConfig {
        max_ejection_percent: 60,
        always_eject_one: false,
        ..OutlierConfig::default()
    };
    let mut od = OutlierDetector::new(&cfg, Instant::ZERO);
    load(&mut od, Instant::ZERO, 0, 5, E500, 2);
    assert!(od.is_ejected(id(0)));
    load(&mut od, Instant::ZERO, 1, 5, E500, 2);
    assert!(!od.is_ejected(id(1)));
    assert_eq!(od.ejected_count(), 1);
}

/// Consecutive gateway failures (`consecutive_gateway_failure = 5`): 503s eject when
/// `enforcing_consecutive_gateway_failure` is on (it is 0, off, by default), and a
/// 500 in between ends the gateway run (Envoy `putHttpResponseCode`).
#[test]
fn outlier_consecutive_gateway_failure() {
    let cfg = OutlierConfig {
        consecutive_failures: 0,
        enforcing_consecutive_gateway_failures: 100,
        max_ejection_percent: 100,
        ..OutlierConfig::default()
    };
    let mut od = OutlierDetector::new(&cfg, Instant::ZERO);
    load(&mut od, Instant::ZERO, 0, 4, E503, 2);
    load(&mut od, Instant::ZERO, 0, 1, E500, 2);
    load(&mut od, Instant::ZERO, 0, 4, E503, 2);
    assert!(!od.is_ejected(id(0)));
    load(&mut od, Instant::ZERO, 0, 1, E503, 2);
    assert!(od.is_ejected(id(0)));
    // Default enforcement (0): detected, never enforced.
    let mut od = OutlierDetector::new(
        &OutlierConfig {
            consecutive_failures: 0,
            ..OutlierConfig::default()
        },
        Instant::ZERO,
    );
    load(&mut od, Instant::ZERO, 0, 20, E503, 2);
    assert!(!od.is_ejected(id(0)));
}

// ---------------------------------------------------------------------------
// test/extensions/retry/priority/previous_priorities/config_test.cc
// (`RetryPriorityTest`, `update_frequency = 1`). Hosts are (total, healthy, degraded).

/// The loads after attempts in the priorities marked in `attempted`; `None` when
/// Envoy falls back to the original loads.
fn retry_loads(levels: &[(u64, u64, u64)], attempted: &[bool]) -> Option<(Vec<u32>, Vec<u32>)> {
    let hosts: Vec<PriorityHosts> = levels
        .iter()
        .map(|&(total, healthy, degraded)| PriorityHosts {
            healthy,
            degraded,
            total,
        })
        .collect();
    let mut out = PriorityLoads::default();
    previous_priorities_loads(&hosts, attempted, 140, &mut out)
        .then_some((out.healthy, out.degraded))
}

/// `RetryPriorityTest.DefaultFrequency`: after P0, P1 takes everything; after both,
/// back to the original {100, 0}.
#[test]
fn previous_priorities_default_frequency() {
    let levels = [(2, 2, 0), (2, 2, 0)];
    assert_eq!(
        retry_loads(&levels, &[true, false]),
        Some((vec![0, 100], vec![0, 0]))
    );
    assert_eq!(
        retry_loads(&levels, &[true, true]),
        Some((vec![100, 0], vec![0, 0]))
    );
}

/// `RetryPriorityTest.NoHealthyUpstreams`: nothing available anywhere: the original
/// loads stay.
#[test]
fn previous_priorities_no_healthy_upstreams() {
    let levels = [(10, 0, 0), (10, 0, 0), (10, 0, 0)];
    assert_eq!(retry_loads(&levels, &[true, false, false]), None);
}

/// `RetryPriorityTest.DefaultFrequencyUnhealthyPriorities`: original {42, 28, 30};
/// after P0 {0, 28, 72}; after P1 too {0, 0, 100}; after all, the original again.
#[test]
fn previous_priorities_unhealthy_priorities() {
    let levels = [(10, 3, 0), (10, 2, 0), (10, 10, 0)];
    let none = vec![0, 0, 0];
    assert_eq!(
        retry_loads(&levels, &[true, false, false]),
        Some((vec![0, 28, 72], none.clone()))
    );
    assert_eq!(
        retry_loads(&levels, &[true, true, false]),
        Some((vec![0, 0, 100], none.clone()))
    );
    assert_eq!(
        retry_loads(&levels, &[true, true, true]),
        Some((vec![42, 28, 30], none))
    );
}

/// `RetryPriorityTest.DefaultFrequencyUnhealthyPrioritiesDegradedLoad`.
#[test]
fn previous_priorities_degraded_load() {
    let levels = [(10, 0, 3), (10, 0, 2), (10, 0, 10)];
    let none = vec![0, 0, 0];
    assert_eq!(
        retry_loads(&levels, &[true, false, false]),
        Some((none.clone(), vec![0, 28, 72]))
    );
    assert_eq!(
        retry_loads(&levels, &[true, true, false]),
        Some((none.clone(), vec![0, 0, 100]))
    );
    assert_eq!(
        retry_loads(&levels, &[true, true, true]),
        Some((none, vec![42, 28, 30]))
    );
}

/// `RetryPriorityTest.DefaultFrequencyUnhealthyPrioritiesDegradedLoadSpillover`:
/// after P1, {0, 0, 40} healthy and {60, 0, 0} degraded; after P2 too, all to P0
/// degraded.
#[test]
fn previous_priorities_degraded_load_spillover() {
    let levels = [(10, 0, 3), (10, 9, 1), (10, 2, 0)];
    assert_eq!(
        retry_loads(&levels, &[false, true, false]),
        Some((vec![0, 0, 40], vec![60, 0, 0]))
    );
    assert_eq!(
        retry_loads(&levels, &[false, true, true]),
        Some((vec![0, 0, 0], vec![100, 0, 0]))
    );
}
