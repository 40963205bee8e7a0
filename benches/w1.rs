//! Speed of workload W1 (issue 2): hasim against a minimal hand-written event loop
//! for the same workload, measured in the same run so the ratio means something on a
//! shared, noisy machine.
//!
//! `cargo bench --bench w1` runs the group `w1` with two functions over the same
//! number of calls (`W1_BENCH_CALLS`, default 200,000, so a sample is short):
//!
//! - `hasim`: `hasim::sim::run` on `benches/workloads/w1.toml` with `run.duration`
//!   shortened to that many calls (the scenario is loaded once, outside the timing);
//! - `hand_loop`: `benches/hand_loop/mod.rs` for exactly as many calls as hasim made.
//!
//! Criterion reports each as time per run and as calls/s (`thrpt`). At the end this
//! prints the ratio of the two times, read back from criterion's own estimates
//! (`<target>/criterion/w1/{hasim,hand_loop}/new/estimates.json`). The absolute
//! figure at 10 million calls and the memory check are in `benches/w1-memory.sh`.

mod hand_loop;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;
use std::time::SystemTime;

use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use hasim::scenario::{Override, Scenario};

/// W1 produces 14,400 calls per simulated second.
const W1_RATE: f64 = 14_400.0;
/// Default calls per benchmark iteration.
const DEFAULT_CALLS: u64 = 200_000;

/// The two functions of the group, as criterion names their output folders.
const FUNCTIONS: [&str; 2] = ["hasim", "hand_loop"];

/// W1 shortened to about `calls` calls.
fn w1_scenario(calls: u64) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/workloads/w1.toml");
    let seconds = calls as f64 / W1_RATE;
    let duration = Override::parse_assignment(&format!("run.duration={seconds:.6}s"))
        .expect("a valid override");
    Scenario::load(&path, &[duration]).expect("W1 loads")
}

fn w1(c: &mut Criterion) {
    let target: u64 = std::env::var("W1_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CALLS);
    let scenario = w1_scenario(target);
    let seed = scenario.config.run.seed;
    // One untimed run each: the exact number of calls (deterministic for the seed),
    // and a check that both loops simulate the same system (mean latency of M/M/1 at
    // rho 0.9 plus two 0.1 ms hops: 10.2 ms; they differ by sampling noise only).
    let reference = hasim::sim::run(&scenario, seed).expect("W1 runs");
    let calls = reference.metrics.summary.calls;
    let hand = hand_loop::run(calls, seed);
    println!(
        "w1: {calls} calls per iteration; hasim {} events, latency mean {:.3} ms, p99 {:.3} ms; \
         hand_loop {} events, latency mean {:.3} ms, p99 {:.3} ms",
        reference.metrics.summary.events,
        reference
            .metrics
            .summary
            .latency_mean_ms
            .unwrap_or(f64::NAN),
        reference.metrics.summary.latency_p99_ms.unwrap_or(f64::NAN),
        hand.events,
        hand.latency_mean_ms,
        hand.latency_p99_ms,
    );
    assert_eq!(hand.calls, calls, "the hand loop finishes every call");

    let mut group = c.benchmark_group("w1");
    group.throughput(Throughput::Elements(calls));
    // Every iteration is tens of milliseconds: equal iterations per sample (criterion's
    // advice for long benchmarks), so `time` is the mean time per run.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("hasim", |b| {
        b.iter(|| hasim::sim::run(black_box(&scenario), black_box(seed)).expect("W1 runs"))
    });
    group.bench_function("hand_loop", |b| {
        b.iter(|| hand_loop::run(black_box(calls), black_box(seed)))
    });
    group.finish();
}

/// Where criterion writes its estimates: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `criterion/` in the target directory this
/// binary was built in (`<target>/release/deps/w1-<hash>`), as criterion 0.5 decides.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// The point estimate (ns per iteration) criterion prints as `time` in a criterion
/// `estimates.json`: the slope when it has one (linear sampling), else the mean. The
/// file is `{"mean":{"confidence_interval":{..},"point_estimate":X,..},..,"slope":null
/// or {..},..}`; a string search keeps serde_json out of the dev-dependencies.
fn typical_ns(estimates: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(estimates).ok()?;
    let point = |field: &str| -> Option<f64> {
        let key = format!("\"{field}\":");
        let rest = text[text.find(&key)? + key.len()..].trim_start();
        if !rest.starts_with('{') {
            return None; // null: no such estimate
        }
        let value = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
        value[..value.find([',', '}'])?].trim().parse().ok()
    };
    point("slope").or_else(|| point("mean"))
}

/// `<criterion>/w1/<function>/new/estimates.json`.
fn estimates_path(function: &str) -> Option<PathBuf> {
    Some(
        criterion_dir()?
            .join("w1")
            .join(function)
            .join("new/estimates.json"),
    )
}

/// When each function's estimates file was last written, if it exists.
fn estimates_written() -> [Option<SystemTime>; 2] {
    FUNCTIONS.map(|f| {
        let path = estimates_path(f)?;
        std::fs::metadata(path).ok()?.modified().ok()
    })
}

/// Prints hasim's speed as a fraction of the hand loop's (same calls per iteration,
/// so the ratio of calls/s is the inverse ratio of times per run). Only from estimates
/// this process wrote: if a file did not change (a filter such as `-- hasim` skipped
/// a function, or `--test` mode saves nothing), the ratio would be stale, so none is
/// printed.
fn print_ratio(before: [Option<SystemTime>; 2]) {
    let after = estimates_written();
    let fresh = before
        .iter()
        .zip(&after)
        .all(|(b, a)| a.is_some() && a != b);
    if !fresh {
        println!(
            "w1: no fresh estimates for both functions; the ratio is hand_loop's `time` over \
             hasim's `time` above (equivalently hasim's `thrpt` over hand_loop's)"
        );
        return;
    }
    let [hasim, hand] = FUNCTIONS.map(|f| estimates_path(f).and_then(|p| typical_ns(&p)));
    match (hasim, hand) {
        (Some(hasim), Some(hand)) => println!(
            "w1: hasim / hand_loop calls per second = {:.3} (time per run: hasim {:.2} ms, hand_loop {:.2} ms)",
            hand / hasim,
            hasim / 1e6,
            hand / 1e6,
        ),
        _ => println!("w1: criterion's estimates could not be read; compare the `thrpt` lines above"),
    }
}

criterion_group! {
    name = benches;
    // Ten short samples: the whole target takes about a minute on two cores.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = w1
}

fn main() {
    let before = estimates_written();
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratio(before);
}
