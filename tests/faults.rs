//! Faults, discovery and failure math against results we did not write
//! (VALIDATION.md "Availability of replicated servers") and against the fault
//! definitions (SCENARIO.md).

mod common;

use common::{assert_matches_theory, scenario};
use hasim::metrics::RunMetrics;
use hasim::scenario::{Override, Scenario};

fn run(s: &Scenario, seed: u64) -> RunMetrics {
    hasim::sim::run(s, seed).unwrap().metrics
}

/// n replicas failing and recovering independently (exponential MTBF, MTTR); every
/// call tries every replica (attempts = n, other_endpoint) before giving up.
fn replicas(n: u32, mtbf: &str, mttr: &str, seconds: u32) -> String {
    format!(
        r#"
[run]
duration = "{seconds}s"
window = "10s"
[[servers]]
group = "db"
count = {n}
service = "1ms"
[[clients]]
name = "app"
target = "db"
balancer = "random"
arrival = {{ process = "poisson", rate = 100 }}
timeout = "50ms"
retry = {{ attempts = {n}, other_endpoint = true, backoff = {{ base = "0s", max = "0s", jitter = "none" }} }}
[[faults]]
kind = "random_crash"
target = "db"
mtbf = "{mtbf}"
mttr = "{mttr}"
mode = "refuse"
"#
    )
}

/// Availability 1 - (1 - A)^n with A = MTBF / (MTBF + MTTR), and each server's up
/// fraction A, for n = 1, 2 and 3.
#[test]
fn replicated_availability_matches_the_formula() {
    let (mtbf, mttr) = (10.0f64, 5.0);
    let a = mtbf / (mtbf + mttr);
    for n in [1u32, 2, 3] {
        let s = scenario(&replicas(n, "10s", "5s", 6000), &[]);
        let runs: Vec<RunMetrics> = (1..11).map(|seed| run(&s, seed)).collect();
        // Judge the unavailability (1 - A)^n: a tolerance relative to it means something
        // even when availability is close to 1.
        let unavailability: Vec<f64> = runs
            .iter()
            .map(|m| 1.0 - m.summary.availability.unwrap())
            .collect();
        let theory = (1.0 - a).powi(n as i32);
        assert_matches_theory(
            &format!("unavailability of {n} replicas"),
            &unavailability,
            theory,
            0.2,
        );
        let up: Vec<f64> = runs
            .iter()
            .map(|m| {
                m.servers
                    .iter()
                    .map(|s| s.up_fraction.unwrap())
                    .sum::<f64>()
                    / f64::from(n)
            })
            .collect();
        assert_matches_theory(&format!("up fraction, {n} replicas"), &up, a, 0.03);
    }
}

/// A blackholed server stops heartbeating; the registry drops it `ttl` after its
/// last heartbeat and clients hear `propagation` later. Until then they keep sending
/// to it, so the fault's time to drain lies in [ttl + propagation - heartbeat,
/// ttl + propagation] (the last heartbeat came at most one interval before the crash).
#[test]
fn blackholed_server_leaves_views_after_ttl_plus_propagation() {
    let text = r#"
[run]
duration = "40s"
warmup = "5s"
[discovery]
kind = "registry"
heartbeat = "1s"
ttl = "10s"
propagation = "2s"
[[servers]]
group = "api"
count = 4
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 2000 }
timeout = "20ms"
[[faults]]
kind = "crash"
target = "api[0]"
mode = "blackhole"
at = "10s"
"#;
    for seed in 1..5 {
        let m = run(&scenario(text, &[]), seed);
        let drain = m.faults[0]
            .time_to_drain_s
            .expect("clients stop calling it");
        assert!(
            (11.0..=12.01).contains(&drain),
            "seed {seed}: drained after {drain} s, want 11..12"
        );
        // While it lingers in views, a quarter of the calls time out.
        let during: Vec<f64> = m.windows[11..20]
            .iter()
            .map(|w| w.availability.unwrap())
            .collect();
        assert!(
            during.iter().all(|&a| a < 0.85),
            "lingering server costs calls: {during:?}"
        );
        let after = &m.windows[25..];
        assert!(
            after.iter().all(|w| w.availability == Some(1.0)),
            "after expiry nothing fails"
        );
    }
}

/// Static discovery never forgets: the same crash keeps costing calls to the end.
#[test]
fn static_views_keep_a_dead_server() {
    let text = r#"
[run]
duration = "20s"
[[servers]]
group = "api"
count = 4
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 2000 }
timeout = "20ms"
[[faults]]
kind = "crash"
target = "api[0]"
mode = "blackhole"
at = "5s"
"#;
    let m = run(&scenario(text, &[]), 1);
    assert_eq!(
        m.faults[0].time_to_drain_s, None,
        "round robin keeps sending to it"
    );
    let a = m.windows[10].availability.unwrap();
    assert!(
        (a - 0.75).abs() < 0.05,
        "a quarter of calls go to the dead server: {a}"
    );
}

/// A partition stops exactly the messages it names: requests from `web` to `api[0]`
/// (both ways, or one way), never `batch`'s, never other servers'.
#[test]
fn partitions_stop_exactly_the_named_messages() {
    let base = r#"
[run]
duration = "10s"
[[servers]]
group = "api"
count = 2
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 500 }
timeout = "20ms"
[[clients]]
name = "batch"
target = "api"
arrival = { process = "poisson", rate = 500 }
timeout = "20ms"
[[faults]]
kind = "partition"
between = ["web", "api[0]"]
"#;
    let received = |m: &RunMetrics, i: usize| m.servers[i].received as f64;
    // No partition: each server gets about half of 10,000 calls.
    let none = run(
        &scenario(
            &base.replace("[[faults]]", "[[faults_off]]").replace(
                "[[faults_off]]\nkind = \"partition\"\nbetween = [\"web\", \"api[0]\"]\n",
                "",
            ),
            &[],
        ),
        1,
    );
    assert!((received(&none, 0) / 5000.0 - 1.0).abs() < 0.05);
    // Two-way: web's requests to api[0] never arrive; batch's do (about 2,500).
    let two = run(&scenario(base, &[]), 1);
    assert!(
        (received(&two, 0) / 2500.0 - 1.0).abs() < 0.08,
        "api[0] got {}",
        received(&two, 0)
    );
    assert!(
        (two.summary.availability.unwrap() - 0.75).abs() < 0.02,
        "web loses its calls to api[0]"
    );
    // One way from api[0] to web: requests arrive, answers are lost.
    let back = run(
        &scenario(
            base,
            &[
                "faults.0.between=[\"api[0]\", \"web\"]",
                "faults.0.one_way=true",
            ],
        ),
        1,
    );
    assert!(
        (received(&back, 0) / 5000.0 - 1.0).abs() < 0.05,
        "requests still arrive"
    );
    assert!(
        (back.summary.availability.unwrap() - 0.75).abs() < 0.02,
        "their answers do not"
    );
    // One way from web to api[0]: the same loss as two-way for requests.
    let forward = run(&scenario(base, &["faults.0.one_way=true"]), 1);
    assert_eq!(forward.servers[0].received, two.servers[0].received);
}

/// A slow server's utilization and queueing grow as the factor says: M/M/1 at
/// rho = 0.3 slowed 2x is M/M/1 at rho = 0.6.
#[test]
fn slow_factor_scales_utilization_and_queueing() {
    let text = r#"
[run]
duration = "300s"
[network]
latency = "0s"
[[servers]]
group = "api"
count = 1
service = { dist = "exponential", mean = "1ms" }
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 300 }
[[faults]]
kind = "slow"
target = "api"
factor = 2.0
"#;
    let runs: Vec<RunMetrics> = (1..9).map(|seed| run(&scenario(text, &[]), seed)).collect();
    let util: Vec<f64> = runs
        .iter()
        .map(|m| m.servers[0].utilization.unwrap())
        .collect();
    assert_matches_theory("utilization slowed 2x", &util, 0.6, 0.02);
    let latency: Vec<f64> = runs
        .iter()
        .map(|m| m.summary.latency_mean_ms.unwrap())
        .collect();
    assert_matches_theory(
        "M/M/1 sojourn slowed 2x",
        &latency,
        1.0 / (500.0 - 300.0) * 1000.0,
        0.04,
    );
}

/// The retry storm is metastable without a budget: availability stays low after the
/// trigger ends; with a budget it recovers (scenarios/retry-storm.toml, shortened).
#[test]
fn retry_storm_is_metastable_without_a_budget() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/retry-storm.toml");
    let short = [Override::parse_assignment("run.duration=60s").unwrap()];
    let base = Scenario::load(&path, &short).unwrap();
    for (name, overrides) in base.declared_variants() {
        let m = run(&base.with_overrides(&overrides).unwrap(), 1);
        // The trigger is 20..30 s; the budget variant's queues drain by about 42 s.
        let after: Vec<f64> = m.windows[45..]
            .iter()
            .map(|w| w.availability.unwrap())
            .collect();
        let mean_after = after.iter().sum::<f64>() / after.len() as f64;
        match name.as_str() {
            "no-budget" => {
                assert!(
                    mean_after < 0.1,
                    "no budget: still down after the trigger ({mean_after})"
                );
                assert_eq!(m.faults[0].time_to_recover_s, None);
                assert!(
                    m.windows[50].attempts as f64 > 3.0 * m.windows[50].calls as f64,
                    "retries amplify load"
                );
            }
            "budget" => {
                assert!(
                    after.iter().all(|&a| a >= 0.99),
                    "budget: recovered after the trigger ({after:?})"
                );
                assert!(m.faults[0].time_to_recover_s.is_some_and(|t| t < 30.0));
            }
            other => panic!("unexpected variant {other}"),
        }
    }
}
