//! The command line beyond running: completions, man page, version, JSON output,
//! removing a policy from the command line, and `validate` checking variants.

use std::process::{Command, Output};

fn hasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = hasim(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_and_man_page_generate() {
    assert!(ok(&["completions", "bash"]).contains("_hasim()"));
    assert!(ok(&["completions", "zsh"]).contains("#compdef hasim"));
    assert!(ok(&["completions", "fish"]).contains("complete -c hasim"));
    let man = ok(&["man"]);
    assert!(
        man.contains(".TH hasim 1") && man.contains("validate"),
        "{man}"
    );
    assert_eq!(hasim(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn version_and_help_say_enough() {
    let version = ok(&["--version"]);
    assert!(
        version.starts_with("hasim 0.") && version.contains("hasim-policy"),
        "{version}"
    );
    let help = ok(&["run", "--help"]);
    assert!(help.contains("0 or absent: every core"), "{help}");
    assert!(!help.contains("[default: 0]"), "{help}");
}

#[test]
fn json_outputs_parse() {
    let policies: serde_json::Value =
        serde_json::from_str(&ok(&["policies", "--format", "json"])).unwrap();
    assert!(policies["policies"].as_array().unwrap().len() > 20);
    let validated: serde_json::Value = serde_json::from_str(&ok(&[
        "validate",
        "--format",
        "json",
        "scenarios/quickstart.toml",
    ]))
    .unwrap();
    assert_eq!(validated["files"][0]["ok"], true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let text = ok(&[
        "run",
        "scenarios/quickstart.toml",
        "--set",
        "run.duration=2s",
        "--set",
        "clients.web.breaker=none",
        "--no-plots",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let run = &summary["runs"][0];
    assert_eq!(run["variant"], "baseline");
    assert!(run["calls"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["files"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("summary.csv")));
}

#[test]
fn validate_checks_variants_like_compare() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.toml");
    let base = std::fs::read_to_string("scenarios/quickstart.toml").unwrap();
    std::fs::write(
        &file,
        format!("{base}\n[[variants]]\nname = \"bad\"\nset = {{ \"clients.web.retry.attempts\" = 0 }}\n"),
    )
    .unwrap();
    let out = hasim(&["validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("variant `bad`") && stderr.contains("retry.attempts"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("error:").count(),
        1,
        "printed once: {stderr}"
    );
}

#[test]
fn run_points_to_compare_for_variants() {
    let dir = tempfile::tempdir().unwrap();
    let out = hasim(&[
        "run",
        "scenarios/balancers.toml",
        "--set",
        "run.duration=1s",
        "--set",
        "run.warmup=0s",
        "--no-plots",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("hasim compare"), "{stderr}");
}
