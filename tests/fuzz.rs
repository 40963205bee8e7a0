//! Fuzzing the bundled scenarios (issue 11): proptest deletes keys, changes their
//! types, and puts in extreme numbers, tiny and huge durations and long strings,
//! then loads and runs the result under a small memory budget and event bound.
//!
//! What must hold: nothing panics (proptest reports a panic as a failure, with the
//! shrunk mutation), every outcome maps to exit 0 (ran), 1 (a run bound was reached)
//! or 2 (invalid scenario), and through the binary an exit 2 writes nothing. Memory
//! stays bounded because every case runs with `run.max_memory = "64MiB"` and a short
//! duration: a run over that would end with `RunError::OverBudget`, and an allocation
//! the budget missed would abort the whole test binary.

use std::path::{Path, PathBuf};

use std::process::Command;

use hasim::scenario::Scenario;
use proptest::prelude::*;
use proptest::sample::Index;
use toml::{Table, Value};

/// One step of a key path in a TOML document.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// What to do at a path.
#[derive(Clone, Debug)]
enum Mutation {
    Delete,
    Replace(Value),
    /// An extreme value of the same type as the one there (choice `n`).
    Extreme(usize),
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Every key path of `value`, depth first, tables' keys in order.
fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                prefix.push(Step::Key(k.clone()));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                prefix.push(Step::Index(i));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Applies `m` at `path` (which exists in `doc`).
fn apply(doc: &mut Value, path: &[Step], m: &Mutation) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut v = doc;
    for step in parents {
        v = match step {
            Step::Key(k) => v.get_mut(k.as_str()).expect("path exists"),
            Step::Index(i) => v.get_mut(*i).expect("path exists"),
        };
    }
    match (v, last, m) {
        (Value::Table(t), Step::Key(k), Mutation::Delete) => {
            t.remove(k);
        }
        (Value::Array(a), Step::Index(i), Mutation::Delete) => {
            a.remove(*i);
        }
        (Value::Table(t), Step::Key(k), Mutation::Replace(new)) => {
            t.insert(k.clone(), new.clone());
        }
        (Value::Array(a), Step::Index(i), Mutation::Replace(new)) => {
            a[*i] = new.clone();
        }
        (Value::Table(t), Step::Key(k), Mutation::Extreme(n)) => {
            let new = same_type_extreme(&t[k.as_str()], *n);
            t.insert(k.clone(), new);
        }
        (Value::Array(a), Step::Index(i), Mutation::Extreme(n)) => {
            a[*i] = same_type_extreme(&a[*i], *n);
        }
        _ => unreachable!("paths come from the document"),
    }
}

/// Values of every type, at the edges.
fn extreme_value() -> impl Strategy<Value = Value> {
    let long = "x".repeat(70_000);
    prop_oneof![
        prop::sample::select(vec![
            0i64,
            -1,
            1,
            2,
            4_294_967_295,
            4_294_967_296,
            i64::MAX,
            i64::MIN,
        ])
        .prop_map(Value::Integer),
        prop::sample::select(vec![
            0.0f64,
            -0.0,
            0.5,
            1.0,
            1.5,
            -1.0,
            1e-300,
            1e308,
            -1e308,
            f64::NAN,
            f64::INFINITY,
        ])
        .prop_map(Value::Float),
        prop::sample::select(vec![
            "",
            "1ns",
            "0s",
            "1us",
            "-1s",
            "1000000h",
            "5000000000000h",
            "1e400s",
            "../x",
            "/abs",
            "api[0..100000]",
            "zone:",
            "none",
            "p2c",
            "api",
            "web[99]",
            "1GiB",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        Just(Value::String(long)),
        any::<bool>().prop_map(Value::Boolean),
        Just(Value::Array(vec![])),
        Just(Value::Array(vec![Value::String("api".into()); 3])),
        Just(Value::Table(Table::new())),
        any::<i64>().prop_map(Value::Integer),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::Delete),
        2 => extreme_value().prop_map(Mutation::Replace),
        3 => any::<usize>().prop_map(Mutation::Extreme),
    ]
}

/// An extreme value of the type of `old`: valid in type, at the edge in size.
fn same_type_extreme(old: &Value, n: usize) -> Value {
    let pick = |choices: &[&str]| Value::String(choices[n % choices.len()].to_string());
    match old {
        Value::Integer(_) => {
            let v = [0i64, 1, 2, 100_000, 4_294_967_295, i64::MAX, -1];
            Value::Integer(v[n % v.len()])
        }
        Value::Float(_) => {
            let v = [0.0, 1.0, 0.999_999, 1e-300, 1e9, 1e308, f64::MIN_POSITIVE];
            Value::Float(v[n % v.len()])
        }
        Value::Boolean(b) => Value::Boolean(!b),
        Value::String(s) if s.chars().next().is_some_and(|c| c.is_ascii_digit()) => pick(&[
            "1ns",
            "0s",
            "1us",
            "1ms",
            "100000h",
            "18446744073s",
            "0.0000001ns",
        ]),
        Value::String(s) => {
            let long = format!("{s}{}", "y".repeat(70_000));
            let v = [long, String::new(), format!("{s}[0..100000]"), "..".into()];
            Value::String(v[n % v.len()].clone())
        }
        other => other.clone(),
    }
}

/// A bundled scenario with short, bounded runs, then up to three mutations.
fn mutated(file: Index, muts: &[(Index, Mutation)]) -> (PathBuf, String) {
    let files = scenario_files();
    let path = file.get(&files).clone();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc = Value::Table(toml::from_str::<Table>(&text).unwrap());
    shorten(&mut doc);
    for (at, m) in muts {
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        if all.is_empty() {
            break;
        }
        let p = at.get(&all).clone();
        apply(&mut doc, &p, m);
    }
    // The bounds every case keeps, whatever was mutated.
    if let Some(Value::Table(run)) = doc.get_mut("run") {
        run.insert("max_events".into(), Value::Integer(400_000));
        run.insert("max_memory".into(), Value::String("64MiB".into()));
    }
    (path, toml::to_string(&doc).unwrap_or_default())
}

/// Two simulated seconds, with faults and bursts moved inside them.
fn shorten(doc: &mut Value) {
    let text = |s: &str| Value::String(s.to_string());
    if let Some(Value::Table(run)) = doc.get_mut("run") {
        run.insert("duration".into(), text("2s"));
        run.insert("warmup".into(), text("0s"));
        run.insert("drain".into(), text("1s"));
        run.insert("window".into(), text("100ms"));
    }
    let moved = |t: &mut Table| {
        t.insert("at".into(), text("500ms"));
        if t.contains_key("duration") {
            t.insert("duration".into(), text("500ms"));
        }
    };
    if let Some(Value::Array(faults)) = doc.get_mut("faults") {
        faults
            .iter_mut()
            .filter_map(Value::as_table_mut)
            .for_each(moved);
    }
    if let Some(Value::Array(clients)) = doc.get_mut("clients") {
        for c in clients.iter_mut().filter_map(Value::as_table_mut) {
            if let Some(Value::Table(a)) = c.get_mut("arrival") {
                if a.contains_key("at") {
                    moved(a);
                }
            }
        }
    }
}

/// The exit code the binary would give: 2 invalid, 1 a bound reached, 0 ran.
fn outcome(path: &Path, text: &str) -> i32 {
    let scenario = match Scenario::from_text(path, text, &[]) {
        Ok(s) => s,
        Err(_) => return 2,
    };
    for (_, overrides) in scenario.declared_variants() {
        if scenario.with_overrides(&overrides).is_err() {
            return 2;
        }
    }
    match hasim::sim::run(&scenario, 1) {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Loading and running mutants never panics, and ends in one of the three outcomes.
    #[test]
    fn mutants_load_and_run_without_panic(
        file in any::<Index>(),
        muts in prop::collection::vec((any::<Index>(), mutation()), 0..=3),
    ) {
        let (path, text) = mutated(file, &muts);
        let code = outcome(&path, &text);
        prop_assert!([0, 1, 2].contains(&code));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Through the binary: exit 0, 1 or 2 only, no panic message, nothing written on 2.
    #[test]
    fn mutants_through_the_binary(
        file in any::<Index>(),
        muts in prop::collection::vec((any::<Index>(), mutation()), 1..=2),
    ) {
        let (_, text) = mutated(file, &muts);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mutant.toml");
        std::fs::write(&file, &text).unwrap();
        let out = dir.path().join("out");
        let result = Command::new(env!("CARGO_BIN_EXE_hasim"))
            .args(["run", file.to_str().unwrap(), "--no-plots", "--jobs", "1", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        let code = result.status.code();
        prop_assert!(matches!(code, Some(0..=2)), "{code:?}: {stderr}");
        prop_assert!(!stderr.contains("panicked"), "{stderr}");
        if code == Some(2) {
            prop_assert!(!out.exists(), "wrote output despite exit 2");
        }
    }
}
