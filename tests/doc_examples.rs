//! Every `hasim ...` example in README.md and docs/*.md runs as written.
//!
//! An example is a line of a fenced block tagged `sh` (or `bash`, `shell`,
//! `console`) that starts with `hasim ` or `cargo run --release -- ` (run as
//! `hasim ...`). A `hasim` line in a `text` block is a synopsis and is not run; in any
//! other block it is an error, so an example cannot hide from this test.
//!
//! The examples of one page run in order, with `sh`, in one temporary folder holding
//! a copy of `scenarios/` (so `hasim plot results/quickstart` finds the run before
//! it), with the built binary first on PATH. The only change to a command: `run` and
//! `compare` get `--set run.duration=...` in front of their own flags, just long
//! enough for the scenario's last fault to start, so the whole test takes seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hasim::scenario::Scenario;

/// Examples not run, with the reason.
const SKIPPED: &[(&str, &str)] = &[(
    "hasim live ",
    "real sockets and real time (12 s or more each); tests/live_loopback.rs runs live mode",
)];

/// One example: where it is and the command.
#[derive(Debug, PartialEq)]
struct Example {
    line: usize,
    command: String,
}

/// The examples of a Markdown page, or the lines that are neither example nor
/// synopsis.
fn examples(text: &str) -> Result<Vec<Example>, Vec<String>> {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    let mut fence: Option<String> = None;
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(tag) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(tag.trim().to_string()),
            };
            continue;
        }
        let Some(tag) = &fence else { continue };
        let line_text = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        let mut command = match line_text.strip_prefix("cargo run --release -- ") {
            Some(rest) => format!("hasim {rest}"),
            None if line_text.starts_with("hasim ") => line_text.to_string(),
            None => continue,
        };
        while command.ends_with('\\') {
            command.pop();
            let Some((_, next)) = lines.next() else { break };
            command.push_str(next.trim());
        }
        match tag.as_str() {
            "sh" | "bash" | "shell" | "console" => found.push(Example {
                line: i + 1,
                command,
            }),
            "text" => {}
            other => errors.push(format!(
                "line {}: a `hasim` line in a ```{other} block: tag the block `sh` (an \
                 example, run by tests/doc_examples.rs) or `text` (a synopsis)",
                i + 1
            )),
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// `command` with `--set run.duration=...` after `hasim run`/`hasim compare`: the
/// scenario's last fault start plus one window (one window without faults).
fn shortened(command: &str, folder: &Path) -> String {
    let Some(sub) = ["hasim run ", "hasim compare "]
        .into_iter()
        .find(|s| command.starts_with(s))
    else {
        return command.to_string();
    };
    let file = command
        .split_whitespace()
        .find(|w| w.ends_with(".toml"))
        .unwrap_or_else(|| panic!("`{command}` names no scenario"));
    let scenario = Scenario::load(&folder.join(file), &[]).unwrap_or_else(|e| panic!("{e}"));
    let last_fault = scenario.config.faults.iter().map(|f| f.at).max();
    let length = last_fault.unwrap_or(Duration::ZERO) + scenario.config.run.window;
    let set = format!("{sub}--set run.duration={}ns ", length.as_nanos());
    command.replacen(sub, &set, 1)
}

/// A fresh folder with a copy of the bundled scenarios.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    for entry in std::fs::read_dir(root.join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, scenarios.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Runs the examples of `page` (relative to the repository); returns how many ran.
fn run_page(page: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(page)).unwrap();
    let found = examples(&text).unwrap_or_else(|errors| panic!("{page}: {errors:#?}"));
    let dir = workspace();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_hasim"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for example in found {
        if let Some((_, why)) = SKIPPED.iter().find(|(p, _)| example.command.starts_with(p)) {
            eprintln!(
                "{page}:{}: skipped ({why}): {}",
                example.line, example.command
            );
            continue;
        }
        let command = shortened(&example.command, dir.path());
        let out = Command::new("sh")
            .args(["-c", &command])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{page}:{}: `{}` failed ({}), run as `{command}`:\n{}",
            example.line,
            example.command,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    ran
}

#[test]
fn readme_examples_run() {
    assert!(run_page("README.md") >= 2);
}

#[test]
fn docs_examples_run() {
    let mut pages: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .collect();
    pages.sort();
    let ran: usize = pages.iter().map(|p| run_page(&format!("docs/{p}"))).sum();
    assert!(ran >= 15, "only {ran} examples in docs/");
}

#[test]
fn examples_are_found_and_untagged_commands_refused() {
    let page = "text\n```sh\nhasim run a.toml \\\n  --seeds 2\n$ cargo run --release -- validate a.toml\necho hi\n```\n```text\nhasim run SCENARIO.toml [--seed N]\n```\n";
    assert_eq!(
        examples(page).unwrap(),
        [
            Example {
                line: 3,
                command: "hasim run a.toml --seeds 2".into()
            },
            Example {
                line: 5,
                command: "hasim validate a.toml".into()
            },
        ]
    );
    let errors = examples("```\nhasim policies\n```\n").unwrap_err();
    assert!(errors[0].contains("line 2"), "{errors:?}");
    let dir = workspace();
    let set = shortened(
        "hasim compare scenarios/gray-failure.toml --seeds 2",
        dir.path(),
    );
    assert_eq!(
        set,
        "hasim compare --set run.duration=21000000000ns scenarios/gray-failure.toml --seeds 2"
    );
}
