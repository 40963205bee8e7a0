//! Issue 11 items 1, 10, 11 and 12 at the command line: huge variant names, output
//! folders that stay where they belong and are never half-written, and exit codes.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn hasim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn hasim(args: &[&str]) -> Output {
    hasim_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Item 1: a variant name of 65,536 characters panicked in the terminal table. Names
/// are now capped at 4,096 characters (`tests/limits.rs` checks the error); one at the
/// cap still prints its tables and writes its folder.
#[test]
fn a_huge_variant_name_does_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let vary = format!("description={},short", "x".repeat(4096));
    let result = hasim(&[
        "compare",
        "scenarios/quickstart.toml",
        "--vary",
        &vary,
        "--seeds",
        "1",
        "--set",
        "run.duration=2s",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        stdout.contains("#1") && stdout.contains("variants:"),
        "{stdout}"
    );
    assert!(out.join("summary.csv").is_file());
}

/// Item 10: the default folder is one folder inside `results/`, named after the
/// file, whatever the scenario's `name` says.
#[test]
fn the_default_folder_stays_inside_results() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml"),
    )
    .unwrap();
    let copy = tmp.path().join("..weird name!.toml");
    std::fs::write(&copy, text).unwrap();
    let result = hasim_in(
        tmp.path(),
        &[
            "run",
            copy.to_str().unwrap(),
            "--set",
            "run.duration=2s",
            "--no-plots",
        ],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(files(&tmp.path().join("results")), ["weird_name_"]);
    assert!(tmp.path().join("results/weird_name_/summary.csv").is_file());
}

/// Item 11: SIGKILL while a sweep runs leaves the previous folder whole; the next
/// command removes the temporary folder the killed one left.
#[test]
fn a_killed_sweep_leaves_the_old_folder_and_its_temporary_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let quick = |out: &Path| {
        hasim(&[
            "run",
            "scenarios/quickstart.toml",
            "--set",
            "run.duration=2s",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    assert!(quick(&out).status.success());
    let before = std::fs::read(out.join("summary.csv")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--seeds",
            "50",
            "--jobs",
            "1",
            "--seed",
            "9",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let temporary = tmp.path().join(format!(".out.hasim-tmp-{}", child.id()));
    for attempt in 0.. {
        let rows = std::fs::read_to_string(temporary.join("summary.csv"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if rows >= 2 {
            break;
        }
        assert!(attempt < 6000, "no run finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(temporary.is_dir(), "SIGKILL cannot clean up");
    assert_eq!(std::fs::read(out.join("summary.csv")).unwrap(), before);
    assert!(quick(&out).status.success());
    assert_eq!(
        files(tmp.path()),
        ["out"],
        "the dead process's folder is gone"
    );
}

/// Item 12: `plot` on a non-folder and on a folder without results both exit 2.
#[test]
fn plot_exit_codes_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    for dir in [tmp.path(), file.as_path()] {
        let result = hasim(&["plot", dir.to_str().unwrap()]);
        assert_eq!(
            result.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
}
