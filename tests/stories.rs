//! The bundled story scenarios: each one's point must be visible in its numbers.
//!
//! Every test loads a scenario from `scenarios/`, shortens it where it can (moving the
//! fault earlier and the end closer, never changing what the story is about), runs
//! the variants it contrasts on a few seeds, and checks the contrast against bounds
//! derived from the scenario's own parameters. If a scenario file is edited so that
//! its story no longer shows, a test here fails.

use std::path::Path;

use hasim::metrics::{FaultRow, RunMetrics, ServerRow, WindowRow};
use hasim::scenario::{Override, Scenario};

/// Loads `scenarios/FILE` with `--set`-style overrides.
fn load(file: &str, sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse_assignment(s).unwrap())
        .collect();
    Scenario::load(&path, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// The declared variant `name` of `base` (with `base`'s overrides applied first).
fn variant(base: &Scenario, name: &str) -> Scenario {
    let (_, overrides) = base
        .declared_variants()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{}: no variant `{name}`", base.file.display()));
    base.with_overrides(&overrides)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs variant `name` of `base` with `seed`.
fn run(base: &Scenario, name: &str, seed: u64) -> RunMetrics {
    hasim::sim::run(&variant(base, name), seed)
        .unwrap_or_else(|e| panic!("{name}, seed {seed}: {e}"))
        .metrics
}

fn availability(m: &RunMetrics) -> f64 {
    m.summary.availability.unwrap()
}

fn p99(m: &RunMetrics) -> f64 {
    m.summary.latency_p99_ms.unwrap()
}

fn server<'a>(m: &'a RunMetrics, name: &str) -> &'a ServerRow {
    m.servers
        .iter()
        .find(|s| s.server == name)
        .unwrap_or_else(|| panic!("no server {name}"))
}

fn share(m: &RunMetrics, name: &str) -> f64 {
    server(m, name).share.unwrap()
}

fn fault(m: &RunMetrics) -> &FaultRow {
    &m.faults[0]
}

/// Windows whose start lies in `[from, to)` seconds of the measured interval.
fn windows(m: &RunMetrics, from: f64, to: f64) -> impl Iterator<Item = &WindowRow> {
    m.windows
        .iter()
        .filter(move |w| w.t_s >= from && w.t_s < to)
}

/// Fraction of calls that failed in windows `[from, to)`.
fn failed_fraction(m: &RunMetrics, from: f64, to: f64) -> f64 {
    let (calls, ok) = windows(m, from, to).fold((0, 0), |(c, o), w| (c + w.calls, o + w.ok));
    1.0 - ok as f64 / calls as f64
}

const SEEDS: [u64; 2] = [1, 2];

/// Faults at 5 s for 15 s of a 25 s run: the shape of the full scenarios, shorter.
const SHORT_FAULT: [&str; 4] = [
    "run.duration=25s",
    "run.warmup=2s",
    "faults.0.at=5s",
    "faults.0.duration=15s",
];
/// The fault's share of the measured time in [`SHORT_FAULT`].
const FAULT_TIME: f64 = 15.0 / 25.0;

#[test]
fn crash_failover_outlier_detection_drains_the_dead_server_health_checks_later() {
    let base = load("crash-failover.toml", &SHORT_FAULT);
    let timeout_ms = 50.0;
    for seed in SEEDS {
        let none = run(&base, "none", seed);
        let retries = run(&base, "retries", seed);
        let outlier = run(&base, "outlier", seed);
        let health = run(&base, "health_check", seed);
        // No retries, no detection: 1/8 of the calls fail while api[0] is down.
        let expected = 1.0 - FAULT_TIME / 8.0;
        assert!(
            (availability(&none) - expected).abs() < 0.01,
            "none: availability {} vs {expected}",
            availability(&none)
        );
        assert_eq!(fault(&none).time_to_drain_s, None, "none never drains");
        assert!(fault(&none).time_to_recover_s.unwrap() >= 15.0);
        // Retries hide the failures, but every call that hits api[0] first waits a
        // full timeout: p99 beyond it, and the server is never drained.
        assert!(availability(&retries) > 0.999, "retries: {retries:?}");
        assert_eq!(fault(&retries).time_to_drain_s, None);
        assert!(p99(&retries) > timeout_ms, "retries p99 {}", p99(&retries));
        // Outlier detection: 5 timeouts per client eject api[0] within a fraction of
        // a second; the p99 is back under the timeout.
        let drained = fault(&outlier).time_to_drain_s.expect("outlier drains");
        assert!(drained < 0.5, "outlier drain {drained}");
        assert_eq!(fault(&outlier).time_to_recover_s, Some(0.0));
        assert!(p99(&outlier) < timeout_ms, "outlier p99 {}", p99(&outlier));
        // Health checks every 1 s, 2 failures, 200 ms probe timeout: between one
        // interval and two intervals plus the probe timeout (plus in-flight slack).
        let checked = fault(&health).time_to_drain_s.expect("health checks drain");
        assert!(
            (0.9..=2.3).contains(&checked),
            "health_check drain {checked}"
        );
        assert!(drained < checked);
        eprintln!(
            "seed {seed}: availability none {:.4} retries {:.5}; p99 retries {:.1} outlier {:.1} ms; drain outlier {drained:.3} s, health {checked:.3} s",
            availability(&none),
            availability(&retries),
            p99(&retries),
            p99(&outlier)
        );
    }
}

#[test]
fn gray_failure_p2c_and_peak_ewma_keep_the_p99_round_robin_pays_the_timeout() {
    let base = load("gray-failure.toml", &SHORT_FAULT);
    let timeout_ms = 100.0;
    for seed in SEEDS {
        let rr = run(&base, "round_robin", seed);
        let p2c = run(&base, "p2c", seed);
        let ewma = run(&base, "peak_ewma", seed);
        // Round robin keeps sending api[3] its 1/8 and pays the attempt timeout.
        assert!(p99(&rr) > timeout_ms, "round robin p99 {}", p99(&rr));
        assert!(share(&rr, "api[3]") > 0.9 / 8.0);
        assert!(server(&rr, "api[3]").rejected > 0);
        // Both load-aware balancers cut the p99 by more than half.
        assert!(
            p99(&p2c) < p99(&rr) / 2.0,
            "p2c {} rr {}",
            p99(&p2c),
            p99(&rr)
        );
        assert!(p99(&ewma) < p99(&rr) / 2.0);
        assert!(p99(&ewma) < p99(&p2c));
        // ... by sending the slow server less.
        assert!(share(&p2c, "api[3]") < share(&rr, "api[3]"));
        assert!(share(&ewma, "api[3]") < share(&p2c, "api[3]"));
        eprintln!(
            "seed {seed}: p99 rr {:.1} p2c {:.1} peak_ewma {:.1} ms; api[3] share {:.3} {:.3} {:.3}",
            p99(&rr),
            p99(&p2c),
            p99(&ewma),
            share(&rr, "api[3]"),
            share(&p2c, "api[3]"),
            share(&ewma, "api[3]")
        );
    }
}

#[test]
fn fail_fast_server_is_a_black_hole_without_the_failure_penalty() {
    let base = load("fail-fast.toml", &SHORT_FAULT);
    let fair = 1.0 / 8.0;
    for seed in SEEDS {
        let rr = run(&base, "round_robin", seed);
        let lrt = run(&base, "lrt_no_penalty", seed);
        let lrt_pen = run(&base, "lrt_penalty", seed);
        let ewma = run(&base, "peak_ewma_no_penalty", seed);
        let ewma_pen = run(&base, "peak_ewma_penalty", seed);
        // Round robin: exactly the failing server's 1/8 of the calls fail.
        let rr_failed = failed_fraction(&rr, 5.0, 20.0);
        assert!((rr_failed - fair).abs() < 0.01, "rr failed {rr_failed}");
        // Without the penalty the fast failures attract traffic: more than 1/8 fails.
        let lrt_failed = failed_fraction(&lrt, 5.0, 20.0);
        let ewma_failed = failed_fraction(&ewma, 5.0, 20.0);
        assert!(
            lrt_failed > 1.5 * fair,
            "lrt without penalty failed {lrt_failed}"
        );
        assert!(
            ewma_failed > 1.3 * fair,
            "peak_ewma without penalty {ewma_failed}"
        );
        assert!(share(&lrt, "api[2]") > fair);
        assert!(share(&ewma, "api[2]") > fair);
        // With it the failing server is avoided: far fewer failures than round robin.
        for (name, m) in [("lrt_penalty", &lrt_pen), ("peak_ewma_penalty", &ewma_pen)] {
            let failed = failed_fraction(m, 5.0, 20.0);
            assert!(failed < fair / 10.0, "{name} failed {failed}");
            assert!(share(m, "api[2]") < fair, "{name} share");
        }
        eprintln!(
            "seed {seed}: failed during the fault rr {rr_failed:.3} lrt {lrt_failed:.3} peak_ewma {ewma_failed:.3} (penalized {:.4} {:.4}); api[2] share lrt {:.3}/{:.3} peak_ewma {:.3}/{:.3}",
            failed_fraction(&lrt_pen, 5.0, 20.0),
            failed_fraction(&ewma_pen, 5.0, 20.0),
            share(&lrt, "api[2]"),
            share(&lrt_pen, "api[2]"),
            share(&ewma, "api[2]"),
            share(&ewma_pen, "api[2]")
        );
    }
}

#[test]
fn zone_partition_needs_ejection_headroom_or_health_checks() {
    let base = load("zone-partition.toml", &SHORT_FAULT);
    let timeout_ms = 50.0;
    for seed in SEEDS {
        let none = run(&base, "none", seed);
        let retries = run(&base, "retries", seed);
        let capped = run(&base, "outlier_default", seed);
        let ejected = run(&base, "outlier_50pct", seed);
        let health = run(&base, "health_check", seed);
        // One zone of three cut off: a third of the calls fail without retries ...
        let cut = 1.0 / 3.0;
        let expected = 1.0 - FAULT_TIME * cut;
        assert!((availability(&none) - expected).abs() < 0.01);
        // ... and with three attempts on distinct servers, those whose every attempt
        // lands in the cut zone: 3/9 x 2/8 x 1/7.
        let all_cut = FAULT_TIME * (3.0 / 9.0) * (2.0 / 8.0) * (1.0 / 7.0);
        let failed = 1.0 - availability(&retries);
        assert!(
            failed > 0.7 * all_cut && failed < 1.3 * all_cut,
            "retries failed {failed}, expected {all_cut}"
        );
        assert!(fault(&retries).time_to_recover_s.unwrap() >= 15.0);
        // Default outlier detection ejects one host of nine (10%, one always
        // allowed): the two others keep costing a timeout, p99 past it.
        assert!(
            p99(&capped) > timeout_ms,
            "outlier_default p99 {}",
            p99(&capped)
        );
        // With room to eject all three, the cut is invisible within a window.
        assert!(
            p99(&ejected) < timeout_ms,
            "outlier_50pct p99 {}",
            p99(&ejected)
        );
        assert!(availability(&ejected) > 0.9999);
        assert!(fault(&ejected).time_to_recover_s.unwrap() <= 1.0);
        // Probes cross the same cut: unhealthy after ~2 intervals.
        let recovered = fault(&health).time_to_recover_s.unwrap();
        assert!(recovered <= 3.0, "health_check recovered at {recovered}");
        eprintln!(
            "seed {seed}: availability none {:.4} retries {:.5} (theory {:.5}); p99 outlier_default {:.1} outlier_50pct {:.1} ms; health_check recovers at {recovered} s",
            availability(&none),
            availability(&retries),
            1.0 - all_cut,
            p99(&capped),
            p99(&ejected)
        );
    }
}

#[test]
fn primary_backup_uses_the_backup_tier_only_while_the_primary_is_gone() {
    let base = load("primary-backup.toml", &[]);
    let rate = 1200.0;
    let backup = |m: &RunMetrics| -> f64 {
        m.servers
            .iter()
            .filter(|s| s.group == "backup")
            .map(|s| s.received as f64)
            .sum()
    };
    for seed in SEEDS {
        let priority = run(&base, "priority", seed);
        let standby = run(&base, "primary_backup", seed);
        // Active/standby: the backups serve the 15 s with no primary at all, less
        // the ~1 s the health checks take to notice, plus up to 2 s for the
        // primaries to pass two probes again.
        let standby_s = backup(&standby) / rate;
        assert!(
            (13.0..=17.0).contains(&standby_s),
            "primary_backup: backups served {standby_s} s of traffic"
        );
        // Envoy priorities: also 30% (1 - 1.4 x 2/4) during the 25 s with half the
        // primaries down.
        let priority_s = backup(&priority) / rate;
        let expected = 15.0 + (1.0 - 1.4 * 0.5) * 25.0;
        assert!(
            (priority_s - expected).abs() < 0.1 * expected,
            "priority: backups served {priority_s} s of traffic, expected {expected}"
        );
        // The standby's worst moment is the second crash: every retry stays in tier 0.
        let worst = |m: &RunMetrics| {
            windows(m, 30.0, 31.0)
                .map(|w| w.availability.unwrap())
                .fold(1.0, f64::min)
        };
        assert!(worst(&standby) < worst(&priority));
        eprintln!(
            "seed {seed}: backups served {standby_s:.1} s (primary_backup) vs {priority_s:.1} s (priority, theory {expected}); availability at 30 s {:.3} vs {:.3}",
            worst(&standby),
            worst(&priority)
        );
    }
}

#[test]
fn registry_lag_keeps_a_dead_server_in_view_for_about_the_ttl() {
    // api[0] hangs at 5 s and stays down to the end of a 30 s run.
    let base = load(
        "registry-lag.toml",
        &[
            "run.duration=30s",
            "run.warmup=2s",
            "faults.0.at=5s",
            "faults.0.duration=25s",
        ],
    );
    let propagation = 1.0;
    let mut dips = Vec::new();
    for (name, heartbeat, ttl) in [("ttl_5s", 1.0, 5.0), ("ttl_15s", 5.0, 15.0)] {
        for seed in SEEDS {
            let m = run(&base, name, seed);
            // The lease runs out ttl after the last heartbeat before the crash, and the
            // clients hear of it `propagation` later.
            let (low, high) = (ttl - heartbeat + propagation, ttl + propagation + 0.1);
            let drained = fault(&m).time_to_drain_s.expect("the registry forgets it");
            assert!(
                (low..=high).contains(&drained),
                "{name} seed {seed}: drained after {drained} s, not in [{low}, {high}]"
            );
            // The dip in availability (1/8 of the calls time out) lasts as long.
            let dip = windows(&m, 5.0, 30.0)
                .filter(|w| w.availability.unwrap() < 0.95)
                .count() as f64;
            assert!(
                (dip - drained).abs() <= 1.5,
                "{name} seed {seed}: {dip} windows below 0.95, drained after {drained} s"
            );
            eprintln!("{name} seed {seed}: drained after {drained:.2} s, {dip} dipped windows");
            dips.push((name, dip));
        }
    }
    let mean = |n: &str| {
        let d: Vec<f64> = dips.iter().filter(|x| x.0 == n).map(|x| x.1).collect();
        d.iter().sum::<f64>() / d.len() as f64
    };
    assert!(mean("ttl_15s") > mean("ttl_5s") + 5.0);
}

#[test]
fn autoscale_burst_adds_servers_after_the_interval_and_provisioning() {
    let base = load("autoscale-burst.toml", &[]);
    let (start, burst_from, burst_to) = (4, 20.0, 80.0);
    let (interval, seed) = (15.0, 1);
    let fixed = run(&base, "no_autoscale", seed);
    let slow = run(&base, "hpa_30s", seed);
    let fast = run(&base, "hpa_5s", seed);
    let first_growth = |m: &RunMetrics| {
        m.windows
            .iter()
            .find(|w| w.servers_up > start)
            .map(|w| w.t_s)
    };
    let max_up = |m: &RunMetrics| {
        windows(m, burst_from, burst_to + 1.0)
            .map(|w| w.servers_up)
            .max()
            .unwrap()
    };
    assert_eq!(max_up(&fixed), start);
    assert_eq!(first_growth(&fixed), None);
    for (name, m, provision) in [("hpa_30s", &slow, 30.0), ("hpa_5s", &fast, 5.0)] {
        assert!(max_up(m) > start, "{name}: no growth during the burst");
        // Not before the first tick in the burst plus provisioning, and no later
        // than two ticks in plus provisioning (plus the window it lands in).
        let grew = first_growth(m).unwrap();
        assert!(
            grew >= burst_from + provision && grew <= burst_from + 2.0 * interval + provision + 1.0,
            "{name}: first new server at {grew} s"
        );
    }
    // Capacity in time shows in availability over the burst.
    let burst = |m: &RunMetrics| 1.0 - failed_fraction(m, burst_from, burst_to);
    assert!(burst(&fast) > burst(&slow) + 0.05);
    assert!(burst(&slow) > burst(&fixed));
    // Before the burst, everyone is fine.
    for m in [&fixed, &slow, &fast] {
        assert!(failed_fraction(m, 0.0, burst_from) < 0.001);
    }
    eprintln!(
        "servers up at most {} / {} / {}; first growth {:?} / {:?}; burst availability {:.3} / {:.3} / {:.3}",
        max_up(&fixed),
        max_up(&slow),
        max_up(&fast),
        first_growth(&slow),
        first_growth(&fast),
        burst(&fixed),
        burst(&slow),
        burst(&fast)
    );
}
