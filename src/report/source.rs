//! Reading runs back from an output folder, for `--resume` and `hasim merge`.
//!
//! The per-run files list their runs in plan order, so each file is read once, front
//! to back, with a cursor: asking for the runs in plan order finds each run's rows
//! where the cursor stands. Rows are kept as text (see `run_rows.rs`), so they are
//! written back byte for byte.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{Layout, ReportError, RunRows, RunStatus};

/// The runs in a folder, read in plan order.
pub struct FolderRuns {
    summary: Cursor,
    windows: Cursor,
    servers: Cursor,
    faults: Cursor,
}

/// One file read front to back.
struct Cursor {
    path: PathBuf,
    reader: csv::Reader<File>,
    /// Columns of `variant` and `seed`.
    variant: usize,
    seed: usize,
    /// Cells after the labels, up to this column (exclusive; `status` in summary).
    end: Option<usize>,
    /// The next record and its run.
    peeked: Option<(usize, csv::StringRecord)>,
}

fn bad(path: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Mismatch {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl Cursor {
    /// Opens `dir/name`, checking that its label columns are the layout's.
    fn open(dir: &Path, name: &str, layout: &Layout, summary: bool) -> Result<Cursor, ReportError> {
        let path = dir.join(name);
        let read_err = |source| ReportError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(|e| read_err(csv::Error::from(e)))?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let header: Vec<String> = reader
            .headers()
            .map_err(read_err)?
            .iter()
            .map(str::to_string)
            .collect();
        let skip = usize::from(summary);
        let labels = layout.label_names();
        if header.len() < skip + labels.len() || header[skip..skip + labels.len()] != labels[..] {
            return Err(bad(
                &path,
                format!(
                    "its columns start `{}`, not `{}` as this sweep's do",
                    header
                        .iter()
                        .take(skip + labels.len())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(","),
                    labels.join(",")
                ),
            ));
        }
        let end = match summary {
            true => Some(
                header
                    .iter()
                    .position(|h| h == "status")
                    .ok_or_else(|| bad(&path, "it has no `status` column"))?,
            ),
            false => None,
        };
        let mut cursor = Cursor {
            variant: skip,
            seed: skip + labels.len() - 1,
            end,
            peeked: None,
            reader,
            path,
        };
        cursor.advance(layout)?;
        Ok(cursor)
    }

    /// Reads the next record into `peeked`.
    fn advance(&mut self, layout: &Layout) -> Result<(), ReportError> {
        let mut record = csv::StringRecord::new();
        let more = self
            .reader
            .read_record(&mut record)
            .map_err(|source| ReportError::Read {
                path: self.path.clone(),
                source,
            })?;
        if !more {
            self.peeked = None;
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
        let variant = record.get(self.variant).unwrap_or("");
        let seed = record.get(self.seed).and_then(|s| s.parse::<u64>().ok());
        let index = seed
            .and_then(|seed| layout.index_of(variant, seed))
            .ok_or_else(|| {
                bad(
                    &self.path,
                    format!("line {line}: variant `{variant}` with that seed is not in this sweep's plan"),
                )
            })?;
        if let Some((previous, _)) = &self.peeked {
            if index < *previous {
                return Err(bad(
                    &self.path,
                    format!("line {line}: rows are not in plan order"),
                ));
            }
        }
        self.peeked = Some((index, record));
        Ok(())
    }

    /// The rows of run `wanted` (cells after the labels), skipping runs before it.
    fn take(
        &mut self,
        layout: &Layout,
        wanted: usize,
    ) -> Result<Vec<csv::StringRecord>, ReportError> {
        let mut rows = Vec::new();
        while let Some((index, _)) = &self.peeked {
            if *index > wanted {
                break;
            }
            let (index, record) = self.peeked.take().expect("peeked");
            self.peeked = Some((index, csv::StringRecord::new()));
            if index == wanted {
                rows.push(record);
            }
            self.advance(layout)?;
        }
        Ok(rows)
    }

    /// The cells after the labels (up to `end`).
    fn cells(&self, record: &csv::StringRecord) -> Vec<String> {
        let end = self.end.unwrap_or(record.len()).min(record.len());
        let start = (self.seed + 1).min(end);
        record
            .iter()
            .skip(start)
            .take(end - start)
            .map(str::to_string)
            .collect()
    }
}

impl FolderRuns {
    /// Opens the four per-run files of `dir` for reading in plan order.
    pub fn open(dir: &Path, layout: &Layout) -> Result<FolderRuns, ReportError> {
        Ok(FolderRuns {
            summary: Cursor::open(dir, "summary.csv", layout, true)?,
            windows: Cursor::open(dir, "timeseries.csv", layout, false)?,
            servers: Cursor::open(dir, "servers.csv", layout, false)?,
            faults: Cursor::open(dir, "faults.csv", layout, false)?,
        })
    }

    /// Run `index`'s rows; `None` when the folder does not have the run. Runs must be
    /// asked for in increasing order.
    pub fn take(&mut self, layout: &Layout, index: usize) -> Result<Option<RunRows>, ReportError> {
        let summary = self.summary.take(layout, index)?;
        let windows = self.windows.take(layout, index)?;
        let servers = self.servers.take(layout, index)?;
        let faults = self.faults.take(layout, index)?;
        let Some(first) = summary.first() else {
            return Ok(None);
        };
        let status_col = self.summary.end.unwrap_or(0);
        let status_text = first.get(status_col).unwrap_or("");
        let status = RunStatus::parse(status_text).ok_or_else(|| {
            bad(
                &self.summary.path,
                format!("status `{status_text}` is neither `ok` nor `failed`"),
            )
        })?;
        let cells = |c: &Cursor, rows: Vec<csv::StringRecord>| -> Vec<Vec<String>> {
            rows.iter().map(|r| c.cells(r)).collect()
        };
        Ok(Some(RunRows {
            status,
            summary: self.summary.cells(first),
            windows: cells(&self.windows, windows),
            servers: cells(&self.servers, servers),
            faults: cells(&self.faults, faults),
        }))
    }
}

/// The runs `dir/summary.csv` holds, as plan indices in file order.
pub fn runs_in(dir: &Path, layout: &Layout) -> Result<Vec<usize>, ReportError> {
    let mut cursor = Cursor::open(dir, "summary.csv", layout, true)?;
    let mut out = Vec::new();
    while let Some((index, _)) = &cursor.peeked {
        out.push(*index);
        cursor.advance(layout)?;
    }
    Ok(out)
}
