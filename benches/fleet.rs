//! Speed at fleet scale (issue 8): the fleet workload against W1 in the same process,
//! and the cost of one call as the fleet grows from 10 to 100 to 1,000 servers.
//!
//! `cargo bench --bench fleet` runs, `FLEET_REPEATS` times (default 3) in turn:
//!
//! - W1 (`benches/workloads/w1.toml`) for `FLEET_CALLS` calls (default 400,000);
//! - the fleet workload (`benches/workloads/fleet.toml`) scaled to 10, 100 and 1,000
//!   servers at 200 calls/s per server, each for about `FLEET_CALLS` calls, with the
//!   same fractions of the fleet crashed (5%) and slowed (10%) over the same share of
//!   the run.
//!   `FLEET_INSTANCES` client instances (default 100, the workload's own) share the
//!   same calls: fewer instances keep fewer endpoint states, which isolates what
//!   memory costs from what the stack's work costs.
//!
//! Each run is timed by the CPU time of this thread (`CLOCK_THREAD_CPUTIME_ID`), which
//! a busy shared machine disturbs far less than wall time. It prints, per workload, the
//! median over the repeats of calls per CPU-second and CPU-nanoseconds per call, then
//! the two ratios the issue asks for: fleet (1,000 servers) calls/s over W1 calls/s,
//! and the per-call cost at 1,000 servers over the cost at 10. Each ratio is the
//! median of the ratios within each repeat, whose runs follow one another: the
//! machine's speed drifts less within one repeat than across the whole bench (on a
//! shared machine the ratio of the medians moved from 0.184 to 0.201 between two
//! runs 15 minutes apart, whose code differed only in start-up work).

use std::path::Path;

use hasim::scenario::{Override, Scenario};

/// W1 produces 14,400 calls per simulated second.
const W1_RATE: f64 = 14_400.0;
/// Calls per simulated second per fleet server.
const PER_SERVER_RATE: f64 = 200.0;

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A bundled workload with `assignments` (`key=value`) applied.
fn load(file: &str, assignments: &[String]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let overrides: Vec<Override> = assignments
        .iter()
        .map(|a| Override::parse_assignment(a).expect("a valid override"))
        .collect();
    Scenario::load(&path, &overrides).expect("the workload loads")
}

/// W1 shortened to about `calls` calls.
fn w1(calls: u64) -> Scenario {
    let seconds = calls as f64 / W1_RATE;
    load(
        "benches/workloads/w1.toml",
        &[format!("run.duration={seconds:.6}s")],
    )
}

/// The fleet workload with `servers` servers, for about `calls` calls: the crash hits
/// the first 5% of the servers from 25% to 75% of the run, the slowdown the next 10%
/// from 40% to 80%.
fn fleet(servers: u32, calls: u64, instances: u64) -> Scenario {
    let rate = PER_SERVER_RATE * f64::from(servers);
    let seconds = calls as f64 / rate;
    let crashed = (servers / 20).max(1);
    let slowed = (servers / 10).max(1);
    let at = |fraction: f64| format!("{:.6}s", seconds * fraction);
    load(
        "benches/workloads/fleet.toml",
        &[
            format!("run.duration={seconds:.6}s"),
            format!("servers.api.count={servers}"),
            format!("clients.web.instances={instances}"),
            format!("clients.web.arrival.rate={rate}"),
            format!("faults.0.target=\"api[0..{crashed}]\""),
            format!("faults.0.at={}", at(0.25)),
            format!("faults.0.duration={}", at(0.5)),
            format!("faults.1.target=\"api[{crashed}..{}]\"", crashed + slowed),
            format!("faults.1.at={}", at(0.4)),
            format!("faults.1.duration={}", at(0.4)),
        ],
    )
}

/// One timed run: (calls, CPU ns).
fn timed(scenario: &Scenario) -> (u64, u64) {
    let seed = scenario.config.run.seed;
    let start = thread_cpu_ns();
    let out = hasim::sim::run(scenario, seed).expect("the workload runs");
    let cpu = thread_cpu_ns() - start;
    (out.metrics.summary.calls, cpu)
}

/// The median of `values` (not empty).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less args: keep it short.
    let quick = std::env::args().any(|a| a == "--test");
    let calls = env_or("FLEET_CALLS", if quick { 20_000 } else { 400_000 });
    let repeats = env_or("FLEET_REPEATS", if quick { 1 } else { 3 }) as usize;
    // The workload's 100 client instances keep 100 x servers endpoint states; fewer
    // instances (same calls) show how much of the cost is that memory.
    let instances = env_or("FLEET_INSTANCES", 100);
    let workloads: Vec<(String, Scenario)> = std::iter::once(("w1".to_string(), w1(calls)))
        .chain([10, 100, 1000].map(|n| (format!("fleet-{n}"), fleet(n, calls, instances))))
        .collect();
    let mut ns_per_call: Vec<Vec<f64>> = vec![Vec::new(); workloads.len()];
    for _ in 0..repeats {
        for (i, (_, scenario)) in workloads.iter().enumerate() {
            let (calls, cpu) = timed(scenario);
            ns_per_call[i].push(cpu as f64 / calls as f64);
        }
    }
    let (w1, small, large) = (&ns_per_call[0], &ns_per_call[1], &ns_per_call[3]);
    let mut speed: Vec<f64> = w1.iter().zip(large).map(|(w, l)| w / l).collect();
    let mut cost: Vec<f64> = large.iter().zip(small).map(|(l, s)| l / s).collect();
    let medians: Vec<f64> = ns_per_call.iter_mut().map(|v| median(v)).collect();
    for ((name, _), ns) in workloads.iter().zip(&medians) {
        println!(
            "{name:>10}: {:>9.0} calls per CPU-second, {ns:>7.0} CPU-ns per call (median of {repeats})",
            1e9 / ns
        );
    }
    println!(
        "fleet (1,000 servers) / W1 calls per second: {:.3} (median of the repeats' ratios)",
        median(&mut speed)
    );
    println!(
        "cost per call, 1,000 servers / 10 servers: {:.3} (median of the repeats' ratios)",
        median(&mut cost)
    );
}
