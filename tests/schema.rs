//! The scenario JSON Schema (`hasim schema`, committed as `docs/hasim.schema.json`):
//! the committed file is what the binary prints, every bundled scenario validates
//! against it, and a scenario the loader rejects for a wrong key or type fails it.

use std::path::Path;
use std::process::Command;

fn schema_text() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .arg("schema")
        .output()
        .expect("hasim runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&schema_text()).expect("JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// A TOML scenario as the JSON value editors check against the schema.
fn as_json(toml_text: &str) -> serde_json::Value {
    let value: toml::Value = toml::from_str(toml_text).expect("TOML");
    serde_json::to_value(value).expect("TOML values convert to JSON")
}

#[test]
fn the_committed_schema_is_what_hasim_prints() {
    let committed = std::fs::read_to_string("docs/hasim.schema.json").expect("committed");
    assert!(
        committed.trim_end() == schema_text().trim_end(),
        "docs/hasim.schema.json is stale: run `hasim schema > docs/hasim.schema.json`"
    );
}

#[test]
fn every_bundled_scenario_validates() {
    let validator = validator();
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    for path in files
        .iter()
        .map(|p| p.as_path())
        .chain([Path::new("benches/workloads/fleet.toml")])
    {
        let instance = as_json(&std::fs::read_to_string(path).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn wrong_keys_and_types_fail_the_schema() {
    let validator = validator();
    let text = std::fs::read_to_string("scenarios/quickstart.toml").unwrap();
    let mut unknown = as_json(&text);
    unknown["run"]["durration"] = serde_json::json!("10s");
    assert!(!validator.is_valid(&unknown), "an unknown key fails");
    let mut wrong_type = as_json(&text);
    wrong_type["run"]["duration"] = serde_json::json!(true);
    assert!(!validator.is_valid(&wrong_type), "a wrong type fails");
}
