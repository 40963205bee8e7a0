//! `manifest.json`: what made an output folder and what is in it.
//!
//! Written last into every output folder, it records the hasim version, the command
//! line, the scenario (path, name, SHA-256 of its text), the overrides, the `--vary`
//! axes, every variant with its overrides, the seeds, the SLO, the shard, which runs
//! are written and which failed, and every other file with its size. `--resume`
//! and `hasim merge` read it to check that folders hold the same plan, and
//! `hasim plot` reads the SLO and the variants from it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Layout;

/// The file name.
pub const FILE: &str = "manifest.json";

/// The contents of `manifest.json` (field names are part of the contract).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The hasim version that wrote the folder (runs are pure functions of the
    /// scenario, the seed and the version).
    pub hasim_version: String,
    /// The command line, one argument per entry.
    pub command: Vec<String>,
    /// `run` or `compare`.
    pub kind: String,
    /// `complete`, or `incomplete` (interrupted, or merged from too few shards):
    /// `--resume` completes it.
    pub status: String,
    /// The scenario file.
    pub scenario: ScenarioInfo,
    /// `--set` overrides, as `key=value`, in order.
    pub overrides: Vec<String>,
    /// `--vary` axes, in order.
    pub axes: Vec<AxisInfo>,
    /// Every variant, in plan order.
    pub variants: Vec<VariantInfo>,
    /// The seeds every variant runs.
    pub seeds: SeedsInfo,
    /// `run.slo`, drawn on the availability chart.
    pub slo: f64,
    /// The variant `paired.csv` compares the others with (`compare --baseline`);
    /// absent: the first.
    #[serde(default)]
    pub baseline: Option<String>,
    /// The slice of the plan this folder holds (`--shard K/N`); absent for all of it.
    pub shard: Option<ShardInfo>,
    /// Which runs are written.
    pub runs: RunsInfo,
    /// Every other file in the folder, sorted by name.
    pub files: Vec<FileInfo>,
}

/// The scenario file a folder was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// As given on the command line.
    pub path: String,
    /// Its `name` (the `scenario` column).
    pub name: String,
    /// SHA-256 of its text, in hex (as `sha256sum` prints it).
    pub sha256: String,
}

/// One `--vary` axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AxisInfo {
    /// The dotted key.
    pub key: String,
    /// Its column in `summary.csv`, `timeseries.csv`, `comparison.csv`, ...
    pub column: String,
    /// Its values as shown in variant names.
    pub values: Vec<String>,
}

/// One variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantInfo {
    /// Its name (the `variant` column).
    pub name: String,
    /// Its value on each axis, in axis order.
    pub axes: Vec<String>,
    /// Its overrides (file variant, then axes) as `key=value`.
    pub overrides: Vec<String>,
}

/// The seeds `first, first+1, ..., first+count-1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedsInfo {
    /// The first seed.
    pub first: u64,
    /// How many.
    pub count: u64,
}

/// `--shard K/N`: runs whose plan index `i` has `i % N == K - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// K, from 1.
    pub index: u64,
    /// N.
    pub count: u64,
}

/// Which runs a folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunsInfo {
    /// Runs this folder should hold (its shard's share of the plan).
    pub planned: u64,
    /// Runs written (finished or failed).
    pub written: u64,
    /// Runs that stopped at a limit: `status` = `failed` in `summary.csv`.
    pub failed: Vec<FailedRun>,
    /// Runs not written yet (an interrupted sweep, or a merge of too few shards):
    /// `--resume` runs them. Every other planned run is written, `ok` unless listed
    /// in `failed`.
    #[serde(default)]
    pub missing: Vec<MissingRuns>,
}

/// Planned runs of one variant, with seeds from `first_seed` to `last_seed`, that
/// are not written (in a shard's folder: those of the shard's runs in that range).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingRuns {
    /// The variant.
    pub variant: String,
    /// The first missing seed.
    pub first_seed: u64,
    /// The last missing seed.
    pub last_seed: u64,
}

/// A run that failed, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    /// Its variant.
    pub variant: String,
    /// Its seed.
    pub seed: u64,
    /// The error.
    pub error: String,
}

/// One file of the folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a manifest hasim can read.
    #[error("{} is not a hasim manifest: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

impl Manifest {
    /// Reads `dir/manifest.json`, `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = dir.join(FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ManifestError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| ManifestError::Parse { path, source })
    }

    /// Lists the other files of `dir` into `files` and writes `dir/manifest.json`
    /// (atomically).
    pub fn write(&mut self, dir: &Path) -> Result<(), ManifestError> {
        let path = dir.join(FILE);
        let io = |source| ManifestError::Io {
            action: "write",
            path: path.clone(),
            source,
        };
        self.files = list_files(dir).map_err(io)?;
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serializes");
        text.push('\n');
        super::atomic::write(
            &path,
            |out| std::io::Write::write_all(out, text.as_bytes()).map_err(io),
            io,
        )
    }

    /// The layout of the folder's files.
    pub fn layout(&self) -> Layout {
        Layout::new(
            self.scenario.name.clone(),
            self.variants.iter().map(|v| v.name.clone()).collect(),
            self.axes.iter().map(|a| a.column.clone()).collect(),
            self.variants.iter().map(|v| v.axes.clone()).collect(),
            self.seeds.first,
            self.seeds.count,
        )
    }

    /// `Ok` when `other` describes the same plan (same version, scenario text,
    /// overrides, variants, seeds and SLO), else what differs.
    pub fn same_plan(&self, other: &Manifest) -> Result<(), String> {
        let checks: [(&str, bool); 8] = [
            ("hasim version", self.hasim_version == other.hasim_version),
            ("command (`run` or `compare`)", self.kind == other.kind),
            (
                "scenario text (SHA-256)",
                self.scenario.sha256 == other.scenario.sha256,
            ),
            ("--set overrides", self.overrides == other.overrides),
            ("--vary axes", self.axes == other.axes),
            ("variants", self.variants == other.variants),
            ("seeds", self.seeds == other.seeds),
            ("SLO", self.slo.to_bits() == other.slo.to_bits()),
        ];
        match checks.iter().find(|(_, same)| !same) {
            None => Ok(()),
            Some((what, _)) => Err(format!("the {what} differ")),
        }
    }
}

/// The files of `dir` other than the manifest, sorted by name.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<FileInfo>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == FILE {
            continue;
        }
        files.push(FileInfo {
            name,
            bytes: entry.metadata()?.len(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_reference() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
