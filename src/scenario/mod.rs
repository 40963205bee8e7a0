//! Scenario files: TOML text -> validated, typed configuration.
//!
//! Loading goes: read the text, parse it as TOML, apply overrides (`--set`, variants),
//! type it with `deny_unknown_fields`, check ranges and references, then read the
//! files it names. Every error carries the file, the line (found in the original text,
//! so overrides do not shift it), a readable key path (`clients.web.retry.attempts`)
//! and what would be valid.

mod error;
mod faults;
mod json_schema;
mod limits;
mod locate;
mod overrides;
mod schema;
mod suggest;
mod validate;

pub use error::ScenarioError;
pub use faults::{CrashMode, Fault, FaultConfig, FaultKind, Selector};
pub use limits::{
    check_jobs, check_sweep, format_bytes, read_capped, MAX_DATA_BYTES, MAX_SCENARIO_BYTES,
};
pub use overrides::{parse_value, Override};
pub use schema::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::{Table, Value};

use crate::dist::{read_empirical, Dist};
use locate::{line_column, parse_path, span_of, Step};
use validate::Problem;

/// A loaded, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `name`, or the file name without `.toml`.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Its text, kept so variants can be loaded from it with more overrides.
    pub text: String,
    /// The overrides applied.
    pub overrides: Vec<Override>,
    /// The typed configuration.
    pub config: ScenarioFile,
    /// The checked faults, in file order.
    pub faults: Vec<Fault>,
}

impl Scenario {
    /// Reads and validates the scenario at `file` with `overrides` applied in order.
    pub fn load(file: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let text = read_capped(file, MAX_SCENARIO_BYTES)
            .map_err(|e| ScenarioError::file(file, format!("cannot read the scenario: {e}")))?;
        Scenario::from_text(file, &text, overrides)
    }

    /// Validates scenario `text` as if read from `file` (used for paths and messages).
    pub fn from_text(
        file: &Path,
        text: &str,
        overrides: &[Override],
    ) -> Result<Scenario, ScenarioError> {
        let loader = Loader {
            file,
            text,
            overridden: Vec::new(),
        };
        loader.load(overrides)
    }

    /// The same scenario with more overrides (a variant), checked like the original.
    pub fn with_overrides(&self, more: &[Override]) -> Result<Scenario, ScenarioError> {
        let all: Vec<Override> = self.overrides.iter().chain(more).cloned().collect();
        Scenario::from_text(&self.file, &self.text, &all)
    }

    /// Loads every `[[variants]]` entry as `compare` would, so `validate` rejects what
    /// `compare` rejects. The error names the variant and, in the file, its `set` key.
    pub fn check_variants(&self) -> Result<(), ScenarioError> {
        for (_, overrides) in self.declared_variants() {
            self.with_overrides(&overrides)?;
        }
        Ok(())
    }

    /// The variants declared in the file, as override lists.
    pub fn declared_variants(&self) -> Vec<(String, Vec<Override>)> {
        self.config
            .variants
            .iter()
            .map(|v| {
                let overrides = v
                    .set
                    .iter()
                    .map(|(key, value)| Override {
                        key: key.clone(),
                        value: value.clone(),
                        origin: format!("variant `{}`: {key}", v.name),
                    })
                    .collect();
                (v.name.clone(), overrides)
            })
            .collect()
    }
}

/// One load: the text, and which key paths were supplied by overrides.
struct Loader<'a> {
    file: &'a Path,
    text: &'a str,
    /// (deserializer key path, override origin)
    overridden: Vec<(String, String)>,
}

impl Loader<'_> {
    fn load(mut self, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let mut doc: Table = toml::from_str(self.text).map_err(|e| self.toml_error(&e))?;
        for ov in overrides {
            let path = overrides::apply(&mut doc, ov).map_err(|message| ScenarioError {
                file: self.file.to_path_buf(),
                position: None,
                key: Some(ov.key.clone()),
                origin: Some(ov.origin.clone()),
                message,
            })?;
            self.overridden.push((path, ov.origin.clone()));
        }
        let mut config: ScenarioFile = serde_path_to_error::deserialize(Value::Table(doc.clone()))
            .map_err(|e| {
                let steps = serde_steps(e.path());
                let message = e.into_inner().message().to_string();
                self.type_error(&doc, steps, message)
            })?;
        // Files first: an empirical distribution's mean is known only once it is read.
        self.read_files(&mut config)
            .map_err(|p| self.problem(&doc, p))?;
        validate::validate(&config).map_err(|p| self.problem(&doc, p))?;
        validate::variants(&config).map_err(|p| self.problem(&doc, p))?;
        let faults = validate::faults(&config).map_err(|p| self.problem(&doc, p))?;
        validate::control_plane(&config).map_err(|p| self.problem(&doc, p))?;
        let name = config.name.clone().unwrap_or_else(|| {
            self.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".to_string())
        });
        Ok(Scenario {
            name,
            file: self.file.to_path_buf(),
            text: self.text.to_string(),
            overrides: overrides.to_vec(),
            config,
            faults,
        })
    }

    /// A TOML syntax error, with its line.
    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        ScenarioError {
            file: self.file.to_path_buf(),
            position: e.span().map(|s| line_column(self.text, s.start)),
            key: None,
            origin: None,
            message: format!("not valid TOML: {}", e.message().trim()),
        }
    }

    /// A problem at a key path, located in the text and named readably.
    fn problem(&self, doc: &Table, p: Problem) -> ScenarioError {
        self.problem_at(doc, parse_path(&p.path), p.message)
    }

    /// A problem found while typing the document: serde's message, made to name the
    /// missing key, suggest the nearest valid name, and speak the file's language.
    fn type_error(&self, doc: &Table, mut steps: Vec<Step>, message: String) -> ScenarioError {
        let mut message = suggest::explain(&message);
        if let Some(missing) = suggest::missing_field(&message) {
            steps.push(Step::Key(missing.to_string()));
            message = match (steps.len(), missing) {
                (1, "run") => "is missing: add a [run] table with at least `duration`".into(),
                (1, key @ ("servers" | "clients")) => {
                    format!("is missing: add at least one [[{key}]] table")
                }
                _ => "is required but missing".into(),
            };
        }
        if let [Step::Key(key)] = steps.as_slice() {
            if ["servers", "clients", "faults", "variants"].contains(&key.as_str())
                && message.contains("expected a sequence")
            {
                message = format!("is a list of tables: write [[{key}]], not [{key}]");
            }
        }
        self.problem_at(doc, steps, message)
    }

    fn problem_at(&self, doc: &Table, steps: Vec<Step>, message: String) -> ScenarioError {
        let path = locate::format_path(&steps);
        let origin = self
            .overridden
            .iter()
            .rev()
            .find(|(p, _)| path == *p || path.starts_with(&format!("{p}.")))
            .map(|(_, origin)| origin.clone());
        let position = match &origin {
            Some(origin) => locate::variant_set_position(self.text, origin),
            None => span_of(self.text, &steps)
                .map(|s| line_column(self.text, s.start))
                // A key missing from the top level: the file as a whole, line 1.
                .or_else(|| (steps.len() <= 1).then_some((1, 1))),
        };
        ScenarioError {
            file: self.file.to_path_buf(),
            position,
            key: (!steps.is_empty()).then(|| readable_path(doc, &steps)),
            origin,
            message,
        }
    }

    /// Loads the samples of every empirical distribution, relative to the scenario.
    fn read_files(&self, config: &mut ScenarioFile) -> Result<(), Problem> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        for (path, dist) in validate::dists_mut(config) {
            for pending in dist.pending_files_mut() {
                if let Dist::Empirical { file, samples_ns } = pending {
                    let full = dir.join(&*file);
                    let text = read_capped(&full, MAX_DATA_BYTES).map_err(|e| Problem {
                        path: path.clone(),
                        message: format!("cannot read `{}`: {e}", full.display()),
                    })?;
                    let samples = read_empirical(&text).map_err(|e| Problem {
                        path: path.clone(),
                        message: format!("`{}`: {e}", full.display()),
                    })?;
                    *samples_ns = Arc::from(samples);
                }
            }
        }
        Ok(())
    }
}

/// serde_path_to_error's path as steps (keys may hold dots or be empty: `"a.b" = 1`).
fn serde_steps(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// `clients[0].retry` -> `clients.web.retry`: elements by their name where they have one.
fn readable_path(doc: &Table, steps: &[Step]) -> String {
    let mut out = Vec::new();
    let mut value: Option<&Value> = None;
    let mut array_name = "";
    for step in steps {
        match step {
            Step::Key(k) => {
                value = match value {
                    None => doc.get(k),
                    Some(v) => v.get(k.as_str()),
                };
                array_name = k;
                out.push(locate::quote_key(k));
            }
            Step::Index(i) => {
                value = value.and_then(|v| v.get(*i));
                let name_field = match array_name {
                    "servers" => "group",
                    _ => "name",
                };
                match value
                    .and_then(|v| v.get(name_field))
                    .and_then(Value::as_str)
                {
                    Some(name) if array_name == "servers" || array_name == "clients" => {
                        out.push(name.to_string())
                    }
                    _ => {
                        if let Some(last) = out.last_mut() {
                            last.push_str(&format!("[{i}]"));
                        }
                    }
                }
            }
        }
    }
    out.join(".")
}

#[cfg(test)]
mod tests;

/// The JSON Schema of scenario files, as `hasim schema` prints it and
/// `docs/hasim.schema.json` holds it.
pub fn json_schema_text() -> String {
    json_schema::text()
}
