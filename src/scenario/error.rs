//! Scenario errors: every one names the file, the key and the line, and says what
//! would be valid.

use std::fmt;
use std::path::PathBuf;

/// A scenario that cannot be run, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The scenario file.
    pub file: PathBuf,
    /// 1-based line and column in the file, when the problem is in the file's text.
    pub position: Option<(usize, usize)>,
    /// The dotted key path (`clients.web.retry.attempts`), when known.
    pub key: Option<String>,
    /// The `--set` or variant that supplied the value, when it did not come from the file.
    pub origin: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl ScenarioError {
    /// An error about the file as a whole (unreadable, not TOML, ...).
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: file.into(),
            position: None,
            key: None,
            origin: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        if let Some(origin) = &self.origin {
            write!(f, " (set by {origin})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}
