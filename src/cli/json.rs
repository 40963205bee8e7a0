//! `--format json`: what `validate`, `policies` and the end of a run print for
//! scripts. Each command prints one JSON document on stdout; errors stay on stderr
//! with the usual exit codes.

use std::path::Path;

use serde_json::{json, Map, Value};

/// `validate --format json`: one object per file, in the order given.
pub fn validation(results: &[(String, Result<String, String>)]) -> Value {
    let files: Vec<Value> = results
        .iter()
        .map(|(file, result)| match result {
            Ok(name) => json!({ "file": file, "ok": true, "scenario": name }),
            Err(error) => json!({ "file": file, "ok": false, "error": error }),
        })
        .collect();
    json!({ "files": files })
}

/// `policies --format json`: every catalog entry.
pub fn policies() -> Value {
    let kinds: Vec<Value> = hasim::policy::catalog::all()
        .into_iter()
        .map(|p| {
            json!({
                "key": p.key,
                "kind": p.kind,
                "params": p.params,
                "about": p.about,
                "example": p.example,
            })
        })
        .collect();
    json!({ "policies": kinds })
}

/// The end of `run`/`compare` with `--format json`: the rows of `summary.csv` as
/// objects (numbers as numbers, empty cells as null), the output folder and the files
/// in it. Read back from the CSV so the two can never disagree.
pub fn run_summary(out: &Path, timing: &str) -> anyhow::Result<Value> {
    let mut reader = csv::Reader::from_path(out.join("summary.csv"))?;
    let headers = reader.headers()?.clone();
    let mut runs = Vec::new();
    for record in reader.records() {
        let record = record?;
        let mut row = Map::new();
        for (name, cell) in headers.iter().zip(record.iter()) {
            row.insert(name.to_string(), cell_value(name, cell));
        }
        runs.push(Value::Object(row));
    }
    let mut files: Vec<String> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    files.sort();
    Ok(json!({
        "out": out.display().to_string(),
        "runs": runs,
        "files": files,
        "timing": timing,
    }))
}

/// A CSV cell as JSON: text columns stay strings, numbers become numbers.
fn cell_value(column: &str, cell: &str) -> Value {
    if cell.is_empty() {
        return Value::Null;
    }
    if matches!(column, "scenario" | "variant") {
        return Value::String(cell.to_string());
    }
    if let Ok(n) = cell.parse::<u64>() {
        return json!(n);
    }
    match cell.parse::<f64>() {
        Ok(x) if x.is_finite() => json!(x),
        _ => Value::String(cell.to_string()),
    }
}
