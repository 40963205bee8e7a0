//! `hasim live` against the simulator on 127.0.0.1: the same scenario, real sockets
//! and real time, must give the simulator's numbers within stated tolerances.
//!
//! Each test runs a few seconds of real time. They share one lock so that two live
//! runs never compete for the machine's cores at once (CPU starvation would show up
//! as latency, not as a policy's behaviour).

use std::path::Path;
use std::sync::Mutex;

use hasim::metrics::RunMetrics;
use hasim::scenario::Scenario;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Simulator seeds per comparison.
const SIM_SEEDS: u64 = 8;

fn scenario(text: &str) -> Scenario {
    Scenario::from_text(Path::new("loopback.toml"), text, &[]).expect("a valid scenario")
}

/// Runs `text` live once (seed 1) and in the simulator over [`SIM_SEEDS`] seeds.
fn live_and_sim(text: &str) -> (RunMetrics, Vec<RunMetrics>) {
    let s = scenario(text);
    let live = {
        let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        hasim::live::run(&s, 1).expect("the live run")
    };
    let sims = (1..=SIM_SEEDS)
        .map(|seed| hasim::sim::run(&s, seed).expect("the simulation").metrics)
        .collect();
    (live, sims)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// (a): eight servers, one 10x slower; round robin and p2c.
const SLOW_SERVER: &str = r#"
[run]
duration = "3500ms"
warmup = "500ms"
drain = "500ms"
window = "500ms"

[network]
latency = { dist = "constant", value = "0s" }

[[servers]]
group = "fast"
count = 7
concurrency = 4
service = { dist = "constant", value = "5ms" }

[[servers]]
group = "slow"
count = 1
concurrency = 4
service = { dist = "constant", value = "50ms" }

[[clients]]
name = "web"
instances = 2
target = ["fast", "slow"]
balancer = "BALANCER"
arrival = { process = "poisson", rate = 800 }
timeout = "30ms"
retry = { attempts = 1 }
"#;

#[test]
fn a_slow_server_round_robin_and_p2c_match_the_simulation() {
    for balancer in ["round_robin", "p2c"] {
        let (live, sims) = live_and_sim(&SLOW_SERVER.replace("BALANCER", balancer));
        let sim_avail = mean(sims.iter().filter_map(|m| m.summary.availability));
        let live_avail = live.summary.availability.expect("calls were made");
        assert!(
            (live_avail - sim_avail).abs() <= 0.01,
            "{balancer}: availability live {live_avail} vs simulated {sim_avail}"
        );
        for (i, server) in live.servers.iter().enumerate() {
            let sim_share = mean(sims.iter().filter_map(|m| m.servers[i].share));
            let live_share = server.share.expect("every server received calls");
            assert!(
                (live_share - sim_share).abs() <= 0.03,
                "{balancer}: {} share live {live_share} vs simulated {sim_share}",
                server.server
            );
        }
    }
}

/// (b): every server crashes (refuse) for 1.5 s; a resilience4j breaker fails fast.
const CRASH_BREAKER: &str = r#"
[run]
duration = "4s"
warmup = "500ms"
drain = "500ms"
window = "500ms"

[network]
latency = { dist = "constant", value = "0s" }

[[servers]]
group = "api"
count = 4
concurrency = 8
service = { dist = "constant", value = "4ms" }

[[clients]]
name = "web"
instances = 2
target = "api"
balancer = "round_robin"
arrival = { process = "poisson", rate = 600 }
timeout = "100ms"
retry = { attempts = 1 }
breaker = { kind = "resilience4j", window_size = 20, minimum_calls = 20, wait_in_open = "500ms", half_open_calls = 5 }

[[faults]]
kind = "crash"
target = "api"
at = "1s"
duration = "1500ms"
mode = "refuse"
"#;

#[test]
fn b_a_crash_with_a_breaker_matches_the_simulation() {
    let (live, sims) = live_and_sim(CRASH_BREAKER);
    let sim_avail = mean(sims.iter().filter_map(|m| m.summary.availability));
    let live_avail = live.summary.availability.expect("calls were made");
    assert!(
        (live_avail - sim_avail).abs() <= 0.02,
        "availability live {live_avail} vs simulated {sim_avail}"
    );
    let sim_open = mean(sims.iter().map(|m| m.summary.failed_breaker_open as f64));
    let live_open = live.summary.failed_breaker_open as f64;
    assert!(
        sim_open > 100.0,
        "the breaker opened in the simulation: {sim_open}"
    );
    assert!(
        (live_open - sim_open).abs() <= 0.15 * sim_open,
        "breaker-rejected calls live {live_open} vs simulated {sim_open}"
    );
}

/// (c): 5% of answers are errors; three attempts per call.
const ERRORS_RETRY: &str = r#"
[run]
duration = "4s"
warmup = "500ms"
drain = "500ms"
window = "500ms"

[network]
latency = { dist = "constant", value = "0s" }

[[servers]]
group = "api"
count = 4
concurrency = 8
service = { dist = "constant", value = "2ms" }
error_rate = 0.05

[[clients]]
name = "web"
instances = 2
target = "api"
balancer = "round_robin"
arrival = { process = "poisson", rate = 800 }
timeout = "100ms"
retry = { attempts = 3, backoff = { base = "1ms", max = "5ms" } }
"#;

#[test]
fn c_errors_with_three_attempts_match_the_simulation() {
    let (live, sims) = live_and_sim(ERRORS_RETRY);
    let sim_apc = mean(sims.iter().filter_map(|m| m.summary.attempts_per_call));
    let live_apc = live.summary.attempts_per_call.expect("calls were made");
    assert!(
        (live_apc - sim_apc).abs() <= 0.02,
        "attempts per call live {live_apc} vs simulated {sim_apc}"
    );
    assert!(live.summary.calls > 2_000, "{} calls", live.summary.calls);
}

#[test]
fn unsupported_keys_are_refused_by_name() {
    let text = format!("{ERRORS_RETRY}\n[discovery]\nkind = \"registry\"\n");
    let err = hasim::live::check(&scenario(&text)).expect_err("registry discovery is refused");
    assert!(err.is_user_error());
    assert!(err.to_string().contains("discovery.kind"), "{err}");
    let long = ERRORS_RETRY.replace("duration = \"4s\"", "duration = \"1h\"");
    let err = hasim::live::check(&scenario(&long)).expect_err("an hour is too long");
    assert!(err.to_string().contains("run.duration"), "{err}");
}

/// (d): `random_crash` runs live from the simulator's own fault schedule.
const RANDOM_CRASH: &str = r#"
[run]
duration = "3s"
warmup = "500ms"
drain = "500ms"
window = "500ms"

[network]
latency = { dist = "constant", value = "0s" }

[[servers]]
group = "api"
count = 4
concurrency = 8
service = { dist = "constant", value = "2ms" }

[[clients]]
name = "web"
instances = 1
target = "api"
balancer = "round_robin"
arrival = { process = "poisson", rate = 200 }
timeout = "100ms"
retry = { attempts = 1 }

[[faults]]
kind = "random_crash"
target = "api"
at = "0s"
mtbf = "1s"
mttr = "400ms"
"#;

#[test]
fn d_random_crash_takes_the_simulated_servers_down_at_the_same_times() {
    let s = scenario(RANDOM_CRASH);
    let live = {
        let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        hasim::live::run(&s, 1).expect("the live run")
    };
    let sim = hasim::sim::run(&s, 1).expect("the simulation").metrics;
    let up = |m: &RunMetrics| -> Vec<f64> {
        m.servers
            .iter()
            .map(|r| r.up_fraction.expect("measured"))
            .collect()
    };
    let (live_up, sim_up) = (up(&live), up(&sim));
    assert!(
        sim_up.iter().any(|&f| f < 0.95),
        "some server crashed in the simulation: {sim_up:?}"
    );
    // The same seed draws the same crash and repair times; real time adds a few
    // milliseconds to each of a handful of transitions in 3 s.
    for (i, (l, s)) in live_up.iter().zip(&sim_up).enumerate() {
        assert!(
            (l - s).abs() <= 0.02,
            "server {i}: up live {l} vs simulated {s} (all: {live_up:?} vs {sim_up:?})"
        );
    }
}
