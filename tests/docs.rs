//! The user reference in `docs/` cannot drift from the code: every key the scenario
//! parser accepts (walked from `hasim schema`, which is derived from the same serde
//! types), every value of a kind, every CSV column and `manifest.json` field hasim
//! writes (read from a real run and compare), and every relative link resolves.
//!
//! Keys and columns are checked in the section that owns them (a heading naming the
//! table or file in backticks, down to the next heading of the same or a higher
//! level), so documenting `ratio` under `hedge` does not cover `retry.budget.ratio`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn hasim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("hasim runs");
    assert!(
        out.status.success(),
        "hasim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A heading's level, the names it gives in backticks (brackets dropped, so
/// `` `[[faults]]` `` names `faults`), and the text of its section.
struct Section {
    names: Vec<String>,
    text: String,
}

/// Every section of a Markdown text; a section runs to the next heading of the same
/// or a higher level, so it holds its subsections. Headings inside code fences are
/// not headings.
fn sections(markdown: &str) -> Vec<Section> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut in_fence = false;
    let mut headings = Vec::new(); // (line index, level)
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            headings.push((i, line.chars().take_while(|&c| c == '#').count()));
        }
    }
    headings
        .iter()
        .enumerate()
        .map(|(k, &(start, level))| {
            let end = headings[k + 1..]
                .iter()
                .find(|&&(_, l)| l <= level)
                .map_or(lines.len(), |&(i, _)| i);
            Section {
                names: code_spans(lines[start])
                    .map(|s| s.trim_matches(['[', ']']).to_string())
                    .collect(),
                text: lines[start..end].join("\n"),
            }
        })
        .collect()
}

/// The `code spans` of a line.
fn code_spans(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// Whether `text` holds `` `word` `` (or a quoted string, `` `"word"` ``).
fn mentions(text: &str, word: &str) -> bool {
    text.contains(&format!("`{word}`")) || text.contains(&format!("`\"{word}\"`"))
}

/// Whether a heading name stands for table `parent` (`retry.budget` for `budget`).
fn names_table(name: &str, parent: &str) -> bool {
    name == parent || name.ends_with(&format!(".{parent}"))
}

/// Every key of the scenario schema as (parent table, key), `""` for the top level,
/// and every string value its `enum`s and `const`s allow.
#[derive(Default)]
struct SchemaNames {
    keys: BTreeSet<(String, String)>,
    values: BTreeSet<String>,
}

fn schema_names(schema: &Value) -> SchemaNames {
    let mut names = SchemaNames::default();
    walk(schema, schema, "", &mut Vec::new(), &mut names);
    names
}

/// Walks `node`, following `$ref`s into `$defs` (once per path, so the recursive
/// `bimodal` distribution ends), collecting `properties` keys under `parent`.
fn walk(root: &Value, node: &Value, parent: &str, refs: &mut Vec<String>, out: &mut SchemaNames) {
    match node {
        Value::Array(items) => items.iter().for_each(|v| walk(root, v, parent, refs, out)),
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) if !refs.contains(r) => {
                        let name = r.rsplit('/').next().unwrap();
                        refs.push(r.clone());
                        walk(root, &root["$defs"][name], parent, refs, out);
                        refs.pop();
                    }
                    ("properties", Value::Object(props)) => {
                        for (key, sub) in props {
                            out.keys.insert((parent.to_string(), key.clone()));
                            walk(root, sub, key, refs, out);
                        }
                    }
                    ("enum", Value::Array(vals)) => out
                        .values
                        .extend(vals.iter().filter_map(|v| v.as_str().map(String::from))),
                    ("const", Value::String(s)) => {
                        out.values.insert(s.clone());
                    }
                    ("$defs", _) => {}
                    _ => walk(root, v, parent, refs, out),
                }
            }
        }
        _ => {}
    }
}

/// The keys of `names` that the scenario and policy pages do not document in their
/// table's section, as `parent.key`.
fn undocumented_keys(names: &SchemaNames, scenario_md: &str, policies_md: &str) -> Vec<String> {
    let all: Vec<Section> = sections(scenario_md)
        .into_iter()
        .chain(sections(policies_md))
        .collect();
    let mut missing = Vec::new();
    for (parent, key) in &names.keys {
        let documented = if parent.is_empty() {
            mentions(scenario_md, key)
        } else {
            all.iter()
                .filter(|s| s.names.iter().any(|n| names_table(n, parent)))
                .any(|s| mentions(&s.text, key))
        };
        if !documented {
            missing.push(format!("{parent}.{key}"));
        }
    }
    let both = format!("{scenario_md}\n{policies_md}");
    missing.extend(
        names
            .values
            .iter()
            .filter(|v| !mentions(&both, v))
            .map(|v| format!("value `{v}`")),
    );
    missing
}

fn scenario_schema() -> SchemaNames {
    let schema: Value = serde_json::from_str(&hasim(&["schema"])).expect("JSON");
    let names = schema_names(&schema);
    // The walk must reach nested tables, or the check below would be empty.
    for (parent, key) in [
        ("budget", "ratio"),
        ("breaker", "wait_multiplier"),
        ("", "run"),
    ] {
        assert!(
            names.keys.contains(&(parent.into(), key.into())),
            "schema walk missed {parent}.{key}"
        );
    }
    names
}

#[test]
fn every_scenario_key_and_kind_is_documented() {
    let missing = undocumented_keys(
        &scenario_schema(),
        &read("docs/scenario.md"),
        &read("docs/policies.md"),
    );
    assert!(
        missing.is_empty(),
        "not documented in its table's section of docs/scenario.md or docs/policies.md \
         (a heading naming the table in backticks): {missing:?}"
    );
}

#[test]
fn the_key_check_can_fail() {
    let names = scenario_schema();
    let policies = read("docs/policies.md").replace("`wait_multiplier`", "wait_multiplier");
    // Documented under another table only: still missing for `retry.budget`.
    let scenario = read("docs/scenario.md");
    let policies = policies.replace("`min_per_sec`", "min_per_sec");
    let missing = undocumented_keys(&names, &scenario, &policies);
    assert!(
        missing.contains(&"breaker.wait_multiplier".to_string()),
        "{missing:?}"
    );
    assert!(
        missing.contains(&"budget.min_per_sec".to_string()),
        "{missing:?}"
    );
    let policies = read("docs/policies.md").replace("`maglev`", "maglev");
    let missing = undocumented_keys(&names, &scenario, &policies);
    assert_eq!(missing, ["value `maglev`"]);
}

/// Every CSV header and `manifest.json` key of a `run` and a `compare` with an axis.
fn written_names(dir: &Path) -> (Vec<(String, Vec<String>)>, BTreeSet<String>) {
    let out = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let quick = out("run");
    let compare = out("compare");
    hasim(&[
        "run",
        "scenarios/quickstart.toml",
        "--set",
        "run.duration=2s",
        "--no-plots",
        "--out",
        &quick,
    ]);
    hasim(&[
        "compare",
        "scenarios/gray-failure.toml",
        "--seeds",
        "2",
        "--set",
        "run.duration=21s",
        "--vary",
        "clients.web.retry.attempts=1,2",
        "--no-plots",
        "--out",
        &compare,
    ]);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("compare/manifest.json")).unwrap())
            .unwrap();
    let axes: Vec<&str> = manifest["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["column"].as_str().unwrap())
        .collect();
    assert_eq!(axes, ["retry.attempts"]);
    let mut files = Vec::new();
    for folder in [dir.join("run"), dir.join("compare")] {
        let mut names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        names.sort();
        for name in names {
            let text = std::fs::read_to_string(folder.join(&name)).unwrap();
            let header = text.lines().next().unwrap_or_default();
            let columns = header
                .split(',')
                .filter(|c| !axes.contains(c))
                .map(String::from)
                .collect();
            files.push((name, columns));
        }
    }
    let mut keys = BTreeSet::new();
    json_keys(&manifest, &mut keys);
    (files, keys)
}

fn json_keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.insert(k.clone());
            json_keys(v, out);
        }),
        Value::Array(items) => items.iter().for_each(|v| json_keys(v, out)),
        _ => {}
    }
}

#[test]
fn every_output_column_and_manifest_field_is_documented() {
    let dir = tempfile::tempdir().unwrap();
    let (files, manifest_keys) = written_names(dir.path());
    let outputs = read("docs/outputs.md");
    let sections = sections(&outputs);
    let section = |name: &str| {
        sections
            .iter()
            .find(|s| s.names.iter().any(|n| n == name))
            .unwrap_or_else(|| panic!("docs/outputs.md has no section for `{name}`"))
    };
    let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 6, "every CSV file was written: {names:?}");
    let mut missing = BTreeSet::new();
    for (file, columns) in &files {
        let text = &section(file).text;
        missing.extend(
            columns
                .iter()
                .filter(|c| !mentions(text, c))
                .map(|c| format!("{file}: {c}")),
        );
    }
    let manifest = &section("manifest.json").text;
    missing.extend(
        manifest_keys
            .iter()
            .filter(|k| !mentions(manifest, k))
            .map(|k| format!("manifest.json: {k}")),
    );
    assert!(
        missing.is_empty(),
        "not documented in docs/outputs.md (in the file's section): {missing:?}"
    );
}

#[test]
fn relative_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for target in text.split("](").skip(1).filter_map(|t| t.split(')').next()) {
            let file = target.split('#').next().unwrap();
            if file.is_empty() || file.contains("://") {
                continue;
            }
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to missing files: {broken:?}");
}
