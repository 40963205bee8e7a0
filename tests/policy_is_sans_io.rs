//! `crates/hasim-policy` is production code: it must not import the simulator, read a
//! clock, use OS entropy, iterate in hash order or depend on an async runtime
//! (DESIGN.md invariant 3). This test reads every file under it and its manifest.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

const FORBIDDEN: [(&str, &str); 17] = [
    ("crate::sim", "imports the simulator"),
    ("crate::scenario", "imports the scenario loader"),
    ("crate::report", "imports the reports"),
    ("crate::experiment", "imports the experiment runner"),
    ("crate::metrics", "imports the simulator's metrics"),
    ("Instant::now", "reads the wall clock"),
    ("SystemTime", "reads the wall clock"),
    ("thread_rng", "uses OS entropy"),
    ("from_entropy", "uses OS entropy"),
    ("from_os_rng", "uses OS entropy"),
    ("HashMap", "iterates in hash order"),
    ("HashSet", "iterates in hash order"),
    ("hasim::", "imports the simulator crate"),
    ("tokio::", "depends on an async runtime"),
    ("tower::", "depends on tower"),
    ("std::thread::sleep", "sleeps"),
    ("std::fs", "does I/O"),
];

#[test]
fn policy_imports_nothing_from_the_simulator() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/hasim-policy/src"),
        &mut files,
    );
    assert!(files.len() > 5, "found the policy files");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (needle, why) in FORBIDDEN {
                if code.contains(needle) {
                    problems.push(format!(
                        "{}:{}: {why}: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
            if code.contains("use super::super::super") || code.contains("crate::main") {
                problems.push(format!(
                    "{}:{}: reaches outside policy/",
                    file.display(),
                    n + 1
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "crates/hasim-policy must stay sans-IO:\n{}",
        problems.join("\n")
    );
}

#[test]
fn policy_crate_depends_on_no_runtime_or_simulator() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/hasim-policy/Cargo.toml"),
    )
    .unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    for forbidden in [
        "tokio",
        "tower",
        "hasim ",
        "hasim=",
        "rand_chacha",
        "thiserror",
    ] {
        assert!(
            !deps.contains(forbidden),
            "hasim-policy's normal dependencies must stay minimal; found {forbidden}:\n{deps}"
        );
    }
}
