//! Sweeps a user can trust: a run owns its folder (manifest.json), shards merge into
//! the single-machine files byte for byte, an interrupted sweep resumes to the same
//! bytes, failed runs are kept as failed, and winners are honest.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn hasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Runs `args`, which must succeed.
fn ok(args: &[&str]) -> Output {
    let out = hasim(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
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

/// Every file of `a` but the manifest is in `b` with the same bytes, and the other
/// way round.
fn assert_same_files(a: &Path, b: &Path) {
    let names: Vec<String> = files(a)
        .into_iter()
        .filter(|n| n != "manifest.json")
        .collect();
    let other: Vec<String> = files(b)
        .into_iter()
        .filter(|n| n != "manifest.json")
        .collect();
    assert_eq!(names, other, "{} vs {}", a.display(), b.display());
    for name in &names {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The manifest lists exactly the other files of the folder, with their sizes.
fn assert_manifest_lists_the_folder(dir: &Path) {
    let m = manifest(dir);
    let listed: Vec<(String, u64)> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let present: Vec<(String, u64)> = files(dir)
        .into_iter()
        .filter(|n| n != "manifest.json")
        .map(|n| {
            let len = std::fs::metadata(dir.join(&n)).unwrap().len();
            (n, len)
        })
        .collect();
    assert_eq!(listed, present, "{}", dir.display());
}

/// A small comparison: 2 variants x 3 seeds of 2 simulated seconds.
const SMALL: [&str; 10] = [
    "compare",
    "scenarios/quickstart.toml",
    "--vary",
    "clients.web.balancer=round_robin,p2c",
    "--seeds",
    "3",
    "--set",
    "run.duration=2s",
    "--set",
    "run.warmup=0s",
];

fn small(out: &Path, more: &[&str]) -> Output {
    let mut args: Vec<&str> = SMALL.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(more);
    ok(&args)
}

#[test]
fn merged_shards_equal_the_single_machine_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    small(&whole, &["--jobs", "2"]);
    assert_manifest_lists_the_folder(&whole);
    assert!(files(&whole).contains(&"comparison.png".to_string()));
    for n in [1, 2, 3, 7] {
        let mut shards: Vec<PathBuf> = Vec::new();
        for k in 1..=n {
            let dir = tmp.path().join(format!("n{n}-k{k}"));
            small(&dir, &["--shard", &format!("{k}/{n}"), "--jobs", "1"]);
            let m = manifest(&dir);
            assert_eq!(m["shard"]["count"], n);
            shards.push(dir);
        }
        // Any order of the shard folders gives the same result.
        shards.reverse();
        let merged = tmp.path().join(format!("merged{n}"));
        let mut args = vec!["merge"];
        args.extend(shards.iter().map(|p| p.to_str().unwrap()));
        args.extend(["--out", merged.to_str().unwrap()]);
        ok(&args);
        assert_same_files(&whole, &merged);
        assert_manifest_lists_the_folder(&merged);
        assert_eq!(manifest(&merged)["status"], "complete");
    }
}

#[test]
fn merge_refuses_folders_of_different_sweeps() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    small(&a, &["--shard", "1/2", "--no-plots"]);
    small(&b, &["--shard", "2/2", "--no-plots", "--seed", "99"]);
    let out = tmp.path().join("m");
    let result = hasim(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("seeds"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_reused_folder_holds_only_the_new_runs_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    small(&out, &[]);
    assert!(files(&out).contains(&"paired.csv".to_string()));
    // A `run` of the same scenario into the compare folder.
    ok(&[
        "run",
        "scenarios/quickstart.toml",
        "--set",
        "run.duration=2s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        files(&out),
        [
            "availability.png",
            "availability.svg",
            "faults.csv",
            "latency.png",
            "latency.svg",
            "load.png",
            "load.svg",
            "manifest.json",
            "servers.csv",
            "summary.csv",
            "timeseries.csv"
        ]
    );
    assert_manifest_lists_the_folder(&out);
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary
        .lines()
        .skip(1)
        .all(|l| l.starts_with("quickstart,baseline,")));
    // Another scenario's compare into the same folder: only its files, its name.
    ok(&[
        "compare",
        "scenarios/fail-fast.toml",
        "--seeds",
        "1",
        "--set",
        "run.duration=21s",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_manifest_lists_the_folder(&out);
    assert!(!files(&out).iter().any(|f| f.ends_with(".png")));
    assert_eq!(manifest(&out)["scenario"]["name"], "fail-fast");
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.lines().skip(1).all(|l| l.starts_with("fail-fast,")));
    // Nothing is left beside the folder.
    assert_eq!(files(tmp.path()), ["out"]);
}

#[test]
fn out_is_checked_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    // Every run would fail at run.max_events: exit 2 naming --out shows that --out
    // was checked first.
    for (out, expect) in [(&file, "not a folder"), (&mine, "notes.txt")] {
        let result = hasim(&[
            "run",
            "scenarios/quickstart.toml",
            "--set",
            "run.max_events=1000",
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep"
    );
    // A huge --jobs is refused at once.
    let result = hasim(&["run", "scenarios/quickstart.toml", "--jobs", "100000000"]);
    assert_eq!(result.status.code(), Some(2));
}

#[test]
fn a_failed_run_is_recorded_and_the_others_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = hasim(&[
        "compare",
        "scenarios/quickstart.toml",
        "--vary",
        "run.max_events=1000,100000000",
        "--seeds",
        "2",
        "--set",
        "run.duration=2s",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("2 of 4 runs failed"), "{stderr}");
    assert!(stderr.contains("run.max_events"), "{stderr}");
    let mut reader = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let status = header.iter().position(|h| h == "status").unwrap();
    let axis = header.iter().position(|h| h == "max_events").unwrap();
    assert_eq!(axis, 2, "the axis column follows `variant`");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| &r[status]).collect();
    assert_eq!(statuses, ["failed", "failed", "ok", "ok"]);
    assert_eq!(&rows[2][axis], "100000000");
    let m = manifest(&out);
    assert_eq!(m["runs"]["failed"].as_array().unwrap().len(), 2);
    assert_eq!(m["status"], "complete");
    assert!(std::fs::read_to_string(out.join("timeseries.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .all(|l| l.starts_with("max_events=100000000,")));
}

/// `hasim run` of 10 seeds at one run at a time, stopped with SIGINT after two runs.
fn interrupted_run(out: &Path) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--seeds",
            "10",
            "--jobs",
            "1",
            "--set",
            "run.duration=20s",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let temporary = out.with_file_name(format!(".out.hasim-tmp-{}", child.id()));
    // Wait (2 minutes at most) until two runs are written.
    for attempt in 0.. {
        let rows = std::fs::read_to_string(temporary.join("summary.csv"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if rows >= 3 {
            break;
        }
        assert!(attempt < 6000, "no run finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

#[test]
fn an_interrupted_sweep_resumes_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stopped = interrupted_run(&out);
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let m = manifest(&out);
    assert_eq!(m["status"], "incomplete");
    let written = m["runs"]["written"].as_u64().unwrap();
    assert!((2..10).contains(&written), "{written} runs written");
    // With one worker the runs written are the first ones; the rest is one range.
    let missing = m["runs"]["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{m}");
    assert_eq!(missing[0]["variant"], "baseline");
    let span =
        missing[0]["last_seed"].as_u64().unwrap() - missing[0]["first_seed"].as_u64().unwrap();
    assert_eq!(span + 1, 10 - written, "{m}");
    assert_manifest_lists_the_folder(&out);
    assert_eq!(files(tmp.path()), ["out"], "no temporary folder is left");

    let args = |dir: &Path, resume: bool| {
        let mut a = vec![
            "run".to_string(),
            "scenarios/quickstart.toml".into(),
            "--seeds".into(),
            "10".into(),
            "--jobs".into(),
            "2".into(),
            "--set".into(),
            "run.duration=20s".into(),
            "--no-plots".into(),
            "--out".into(),
            dir.to_str().unwrap().into(),
        ];
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let resumed = ok(&args(&out, true)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        stdout.contains(&format!("{} run(s)", 10 - written)),
        "only the missing runs are simulated: {stdout}"
    );
    let whole = tmp.path().join("whole");
    ok(&args(&whole, false)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_same_files(&whole, &out);
    assert_eq!(manifest(&out)["status"], "complete");
    // A different sweep cannot be resumed into this folder.
    let mut other = args(&out, true);
    other[3] = "11".into();
    let refused = hasim(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("seeds"));
}

/// Issue 12, item 3: `none` fails 1/8 of the calls during the crash, so its fast
/// successful calls must not make it the latency or attempts winner.
#[test]
fn crash_failover_none_does_not_win_latency_or_attempts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = ok(&[
        "compare",
        "scenarios/crash-failover.toml",
        "--seeds",
        "3",
        "--set",
        "run.duration=30s",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    for metric in ["p50_ms", "p99_ms", "p999_ms", "attempts/call"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{metric}: ")))
            .unwrap_or_else(|| panic!("no winner line for {metric} in\n{stdout}"));
        assert!(!line.contains("none"), "{line}\n{stdout}");
    }
    assert!(stdout.contains("passed over none"), "{stdout}");
    assert!(!stdout.contains("wins: none"), "{stdout}");
}

#[test]
fn default_folder_comes_from_the_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    let copy = tmp.path().join("my copy.toml");
    std::fs::copy(&source, &copy).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "run",
            copy.to_str().unwrap(),
            "--set",
            "run.duration=2s",
            "--no-plots",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The copy keeps `name = "quickstart"` but gets its own folder.
    assert_eq!(files(&tmp.path().join("results")), ["my_copy"]);
}

#[test]
fn paired_compares_with_the_chosen_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    small(&out, &["--baseline", "balancer=p2c", "--no-plots"]);
    let paired = std::fs::read_to_string(out.join("paired.csv")).unwrap();
    assert!(
        paired
            .lines()
            .skip(1)
            .all(|l| l.starts_with("balancer=round_robin,balancer=p2c,")),
        "{paired}"
    );
    assert_eq!(manifest(&out)["baseline"], "balancer=p2c");
    let mut args: Vec<&str> = SMALL.to_vec();
    args.extend(["--baseline", "nobody", "--out", out.to_str().unwrap()]);
    let refused = hasim(&args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("balancer=p2c"));
}
