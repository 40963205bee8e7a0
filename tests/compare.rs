//! `hasim compare` as a user runs it: identical files for any `--jobs`, variant names
//! and order, axis columns, bad `--vary` arguments, and the bundled balancer
//! comparison. (Folders, shards, resume and failed runs: tests/sweeps.rs.)

use std::path::Path;
use std::process::{Command, Output};

fn hasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// `hasim compare SCENARIO --out DIR ARGS...`, which must succeed.
fn compare(scenario: &str, out: &Path, args: &[&str]) -> Output {
    let mut all = vec!["compare", scenario, "--out", out.to_str().unwrap()];
    all.extend(args);
    let result = hasim(&all);
    assert!(
        result.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    result
}

fn text(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// The `variant` column of `summary.csv`, one entry per run.
fn variants(dir: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(dir.join("summary.csv")).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "variant")
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap()[column].to_string())
        .collect()
}

/// The names of the files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Short runs of the bundled comparison: three balancers, two seeds.
const SHORT: [&str; 6] = [
    "--seeds",
    "2",
    "--set",
    "run.duration=5s",
    "--set",
    "run.warmup=1s",
];

#[test]
fn every_file_is_byte_identical_whatever_the_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let vary = ["--vary", "clients.web.retry.attempts=1,2"];
    let args: Vec<&str> = SHORT.iter().chain(&vary).copied().collect();
    let with = |jobs: &'static str| {
        let mut a = args.clone();
        a.extend(["--jobs", jobs]);
        a
    };
    compare("scenarios/balancers.toml", &one, &with("1"));
    compare("scenarios/balancers.toml", &two, &with("2"));
    let names = files(&one);
    assert_eq!(
        names,
        [
            "availability.png",
            "availability.svg",
            "comparison.csv",
            "comparison.png",
            "comparison.svg",
            "faults.csv",
            "latency.png",
            "latency.svg",
            "load.png",
            "load.svg",
            "manifest.json",
            "paired.csv",
            "servers.csv",
            "summary.csv",
            "timeseries.csv"
        ],
        "every CSV and chart"
    );
    assert_eq!(files(&two), names);
    for name in names.iter().filter(|n| *n != "manifest.json") {
        assert!(
            std::fs::read(one.join(name)).unwrap() == std::fs::read(two.join(name)).unwrap(),
            "{name} differs between --jobs 1 and --jobs 2"
        );
    }
    // File variants crossed with the axis, file variants outside, seeds inside.
    let expected: Vec<String> = ["round_robin", "p2c", "peak_ewma"]
        .iter()
        .flat_map(|b| (1..=2).map(move |a| format!("{b} attempts={a}")))
        .flat_map(|v| [v.clone(), v])
        .collect();
    assert_eq!(variants(&one), expected);
}

#[test]
fn vary_axes_form_a_named_cartesian_product() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    compare(
        "scenarios/quickstart.toml",
        &out,
        &[
            "--vary",
            "clients.web.balancer=round_robin,{ kind = \"p2c\", choices = 3 }",
            "--vary",
            "clients.web.timeout=50ms,100ms",
            "--seeds",
            "1",
            "--set",
            "run.duration=2s",
            "--set",
            "run.warmup=0s",
        ],
    );
    assert_eq!(
        variants(&out),
        [
            "balancer=round_robin timeout=50ms",
            "balancer=round_robin timeout=100ms",
            "balancer={kind=\"p2c\",choices=3} timeout=50ms",
            "balancer={kind=\"p2c\",choices=3} timeout=100ms",
        ]
    );
    // comparison.csv keeps the contract columns, with one column per axis after
    // `variant`, and has every variant; paired.csv compares the three later ones
    // with the first.
    let comparison = text(&out, "comparison.csv");
    assert!(comparison
        .starts_with("variant,balancer,timeout,metric,mean,stddev,ci95_low,ci95_high,runs\n"));
    assert!(comparison.contains("\n\"balancer={kind=\"\"p2c\"\",choices=3} timeout=50ms\",\"{kind=\"\"p2c\"\",choices=3}\",50ms,calls,"));
    let summary = text(&out, "summary.csv");
    assert!(summary.starts_with("scenario,variant,balancer,timeout,seed,calls,"));
    let paired = text(&out, "paired.csv");
    assert!(paired
        .starts_with("variant,baseline,metric,mean_diff,stddev_diff,ci95_low,ci95_high,runs\n"));
    let mut reader = csv::Reader::from_path(out.join("paired.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(rows
        .iter()
        .all(|r| &r[1] == "balancer=round_robin timeout=50ms"));
    let mut compared: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    compared.dedup();
    assert_eq!(compared, &variants(&out)[1..], "{paired}");
}

#[test]
fn bad_vary_and_variants_exit_2_and_say_why() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--vary", "clients.nobody.timeout=1s,2s"],
            "clients.nobody.timeout",
        ),
        (&["--vary", "clients.web.balancr=p2c,random"], "balancr"),
        (
            &["--vary", "clients.web.balancer=round_robin,bogus"],
            "variant `balancer=bogus`",
        ),
        (&["--vary", "clients.web.balancer="], "has no values"),
        (&["--vary", "clients.web.balancer=p2c,,random"], "is empty"),
        (
            &["--vary", "clients.web.balancer={ kind = \"p2c\""],
            "not closed",
        ),
        (&["--vary", "clients.web.timeout=1s,1s"], "unique"),
        (&["--vary", "run.seed=1,2"], "run.seed"),
        (&[], "nothing to compare"),
    ];
    for (args, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let mut all = vec![
            "compare",
            "scenarios/quickstart.toml",
            "--out",
            out.to_str().unwrap(),
        ];
        all.extend(args);
        let result = hasim(&all);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{args:?}: `{stderr}` lacks `{expect}`"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?}: wrote output despite the error");
    }
}

#[test]
fn balancer_comparison_makes_round_robin_lose() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = compare("scenarios/balancers.toml", &out, &SHORT);
    let stdout = String::from_utf8_lossy(&result.stdout);
    // The table: variants as columns, a winner per metric, round robin never winning
    // availability or p99.
    let row = |label: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` row in\n{stdout}"))
            .to_string()
    };
    assert!(row("metric ").contains("round_robin"), "{stdout}");
    for label in ["availability ", "p99_ms "] {
        assert!(!row(label).ends_with("round_robin"), "{stdout}");
    }
    // paired.csv: p2c minus round robin, availability, interval above 0.
    let paired = text(&out, "paired.csv");
    let line = paired
        .lines()
        .find(|l| l.starts_with("p2c,round_robin,availability,"))
        .unwrap_or_else(|| panic!("{paired}"));
    let cells: Vec<&str> = line.split(',').collect();
    let low: f64 = cells[5].parse().unwrap();
    assert!(low > 0.0, "{line}");
    assert_eq!(cells[7], "2");
}
