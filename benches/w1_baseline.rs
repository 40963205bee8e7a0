//! The same-run baseline for `benches/w1-memory.sh`: the hand-written W1 loop
//! (`benches/hand_loop/mod.rs`) at full size, timed once, without criterion.
//!
//! `W1_CALLS=10000000 cargo bench --bench w1_baseline` prints one line with calls,
//! events, wall time and calls/s. The script runs it next to the hasim binary so the
//! two figures share the machine's state of the moment and their ratio is meaningful
//! even when the absolute numbers drift.

mod hand_loop;

use std::hint::black_box;

/// W1's size: 10 million calls.
const DEFAULT_CALLS: u64 = 10_000_000;
/// The seed of `benches/workloads/w1.toml` (its `run.seed` default).
const SEED: u64 = 1;

fn main() {
    let calls: u64 = match std::env::var("W1_CALLS") {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("W1_CALLS={v} is not a number of calls")),
        Err(_) => DEFAULT_CALLS,
    };
    // Wall-clock timing of the benchmark itself is the point of this binary; clippy.toml
    // forbids the wall clock to keep it out of the simulator, not out of benchmarks.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let out = hand_loop::run(black_box(calls), black_box(SEED));
    let wall = started.elapsed().as_secs_f64();
    println!(
        "hand_loop: {} calls, {} events in {wall:.3} s wall time: {:.0} calls/s \
         (latency mean {:.3} ms, p99 {:.3} ms)",
        out.calls,
        out.events,
        out.calls as f64 / wall.max(1e-9),
        out.latency_mean_ms,
        out.latency_p99_ms,
    );
}
