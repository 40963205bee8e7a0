//! Every bound holds (issue 11): the run-time memory budget, timers that do not pile
//! up, capped and regular-only file reads, sweep sizes, valid input that used to be
//! rejected. Load-time limits that only need a file are in `tests/bad/` (run by
//! `cli.rs`); the fuzz test is `tests/fuzz.rs`.

mod common;

use std::path::Path;
use std::process::Command;

use hasim::scenario::{Override, Scenario};
use hasim::sim::RunError;

fn load(text: &str, dir: &Path, sets: &[&str]) -> Result<Scenario, String> {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse_assignment(s).unwrap())
        .collect();
    Scenario::from_text(&dir.join("test.toml"), text, &overrides).map_err(|e| e.to_string())
}

/// One server, one worker, at twice its capacity, with the default unbounded queue.
const OVERLOAD: &str = r#"
[run]
duration = "60s"

[[servers]]
group = "api"
count = 1
service = { dist = "constant", value = "2us" }

[[clients]]
name = "web"
target = "api"
arrival = { process = "constant", rate = 1000000 }
"#;

#[test]
fn an_unbounded_queue_ends_the_run_naming_the_server() {
    let s = common::scenario(OVERLOAD, &["run.max_memory=\"32MiB\""]);
    let err = hasim::sim::run(&s, 1).unwrap_err();
    assert!(matches!(err, RunError::OverBudget { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("server api[0] holds") && text.contains("queued requests"),
        "{text}"
    );
    assert!(
        text.contains("set a `queue` limit on servers.api"),
        "{text}"
    );
    assert!(text.contains("run.max_memory = 32 MiB"), "{text}");
}

#[test]
fn a_queue_limit_keeps_the_same_run_within_budget() {
    let s = common::scenario(
        OVERLOAD,
        &[
            "run.max_memory=\"32MiB\"",
            "run.duration=\"1s\"",
            "servers.api.queue=100",
        ],
    );
    assert!(hasim::sim::run(&s, 1).is_ok());
}

/// 100,000 calls/s with a one-hour attempt timeout, each answered in 1 ms: without
/// compaction every finished call leaves a dead timer for an hour (1,000,000 entries
/// after 10 s, 32 MB); with it the heap stays near the calls in flight.
#[test]
fn cancelled_timers_do_not_pile_up() {
    let text = r#"
[run]
duration = "10s"
drain = "1s"

[network]
latency = "1us"

[[servers]]
group = "api"
count = 10
concurrency = 1000
service = { dist = "constant", value = "1ms" }

[[clients]]
name = "web"
target = "api"
arrival = { process = "constant", rate = 100000 }
timeout = "1h"
"#;
    let s = common::scenario(text, &["run.max_memory=\"16MiB\""]);
    let out = hasim::sim::run(&s, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.metrics.summary.ok, out.metrics.summary.calls);
}

#[test]
fn an_empirical_service_and_think_time_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("samples.csv"), "1ms\n2ms\n1.5ms\n").unwrap();
    let text = r#"
[run]
duration = "1s"

[[servers]]
group = "api"
count = 1
service = { dist = "empirical", file = "samples.csv" }

[[clients]]
name = "web"
target = "api"
arrival = { process = "closed", concurrency = 2, think = { dist = "empirical", file = "samples.csv" } }
"#;
    let s = load(text, dir.path(), &[]).unwrap();
    assert!(hasim::sim::run(&s, 1).unwrap().metrics.summary.ok > 0);
}

#[test]
fn data_files_must_be_regular_and_small() {
    let dir = tempfile::tempdir().unwrap();
    let text = |file: &str| {
        format!(
            "[run]\nduration = \"1s\"\n[[servers]]\ngroup = \"api\"\ncount = 1\n\
             service = {{ dist = \"empirical\", file = \"{file}\" }}\n[[clients]]\n\
             name = \"web\"\ntarget = \"api\"\narrival = {{ process = \"poisson\", rate = 10 }}\n"
        )
    };
    let err = load(&text("/dev/zero"), dir.path(), &[]).unwrap_err();
    assert!(err.contains("not a regular file"), "{err}");
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let err = load(&text("fifo"), dir.path(), &[]).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
    }
    let big = dir.path().join("big.csv");
    // Sparse: the size is checked before anything is read.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let err = load(&text("big.csv"), dir.path(), &[]).unwrap_err();
    assert!(err.contains("more than the 64 MiB allowed"), "{err}");
}

#[test]
fn scenario_files_must_be_regular_and_small() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let mut text = "#".repeat(5 << 20);
    text.push('\n');
    std::fs::write(&big, text).unwrap();
    let err = Scenario::load(&big, &[]).unwrap_err().to_string();
    assert!(err.contains("more than the 4 MiB allowed"), "{err}");
    let err = Scenario::load(Path::new("/dev/zero"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let err = Scenario::load(dir.path(), &[]).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn names_and_descriptions_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("scenarios/quickstart.toml").unwrap();
    // A name is never a path (the default folder is named after the file), so
    // `name = "/etc"` is fine; only its length is capped.
    assert!(load(&text, dir.path(), &["name=\"/etc\""]).is_ok());
    for (set, key) in [
        (format!("name=\"{}\"", "n".repeat(129)), "`name`"),
        (
            format!("description=\"{}\"", "x".repeat(70_000)),
            "`description`",
        ),
    ] {
        let err = load(&text, dir.path(), &[&set]).unwrap_err();
        assert!(err.contains(key), "{set:.40}: {err:.300}");
    }
    let long_variant = format!("[[variants]]\nname = \"{}\"\n", "v".repeat(65_536));
    let err = load(&format!("{text}\n{long_variant}"), dir.path(), &[]).unwrap_err();
    assert!(err.contains("is 65536 characters long"), "{err:.300}");
}

#[test]
fn max_memory_takes_sizes_and_bytes() {
    let text = std::fs::read_to_string("scenarios/quickstart.toml").unwrap();
    for (value, bytes) in [
        ("\"2GiB\"", 2u64 << 30),
        ("\"512 MiB\"", 512 << 20),
        ("100000000", 100_000_000),
    ] {
        let set = format!("run.max_memory={value}");
        let s = common::scenario(&text, &[&set]);
        assert_eq!(s.config.run.max_memory, bytes, "{value}");
    }
    let dir = tempfile::tempdir().unwrap();
    let err = load(&text, dir.path(), &["run.max_memory=\"1MiB\""]).unwrap_err();
    assert!(err.contains("too small"), "{err}");
}

fn hasim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn sweeps_too_large_are_refused_before_planning() {
    let values: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let list = values.join(",");
    let axes: Vec<String> = [
        "clients.web.instances",
        "servers.api.count",
        "clients.web.retry.attempts",
        "servers.api.concurrency",
    ]
    .iter()
    .map(|k| format!("{k}={list}"))
    .collect();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let mut args = vec!["compare", "scenarios/quickstart.toml"];
    for a in &axes {
        args.extend(["--vary", a.as_str()]);
    }
    args.extend(["--no-plots", "--out", out.to_str().unwrap()]);
    let result = hasim(&args);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("100000000 variants"), "{stderr}");
    assert!(!out.exists());
}

/// `--jobs` runs at once must fit their budgets in what the process may use (read
/// from /proc on Linux; elsewhere the check cannot be made).
#[test]
fn jobs_times_budget_must_fit() {
    if !Path::new("/proc/meminfo").exists() {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let result = hasim(&[
        "run",
        "scenarios/quickstart.toml",
        "--jobs",
        "1024",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--jobs 1024 runs at once"), "{stderr}");
    assert!(!out.exists());
}
