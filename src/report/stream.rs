//! The per-run files (`summary.csv`, `timeseries.csv`, `servers.csv`, `faults.csv`),
//! written row by row as runs finish, in plan order.
//!
//! They are written into the output folder's temporary copy (see `folder.rs`) and
//! flushed after every run, so an interrupted sweep keeps every run it finished.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::run_rows::{fault_columns, server_columns, summary_columns, window_columns};
use super::{Layout, ReportError, RunRows};

/// The four per-run files, open for appending.
pub struct RunFiles {
    summary: Sink,
    windows: Sink,
    servers: Sink,
    faults: Sink,
}

/// One CSV file being written.
struct Sink {
    path: PathBuf,
    out: csv::Writer<BufWriter<File>>,
}

impl Sink {
    fn create(path: PathBuf, header: Vec<String>) -> Result<Sink, ReportError> {
        let file = File::create(&path).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        let mut sink = Sink {
            out: csv::Writer::from_writer(BufWriter::new(file)),
            path,
        };
        sink.row(header)?;
        Ok(sink)
    }

    fn row(&mut self, fields: Vec<String>) -> Result<(), ReportError> {
        self.out
            .write_record(&fields)
            .map_err(|source| ReportError::Csv {
                path: self.path.clone(),
                source,
            })
    }

    fn flush(&mut self) -> Result<(), ReportError> {
        self.out.flush().map_err(|source| ReportError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(mut self) -> Result<(), ReportError> {
        self.flush()?;
        let path = self.path.clone();
        let io = |source| ReportError::Io {
            path: path.clone(),
            source,
        };
        let mut inner = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        inner.flush().map_err(io)?;
        let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    }
}

impl RunFiles {
    /// Creates the four files in `dir` with their headers.
    pub fn create(dir: &Path, layout: &Layout) -> Result<RunFiles, ReportError> {
        let labels = layout.label_names();
        let header = |fixed: &[&str], columns: Vec<&str>, extra: &[&str]| -> Vec<String> {
            fixed
                .iter()
                .map(|s| s.to_string())
                .chain(labels.iter().cloned())
                .chain(columns.into_iter().map(str::to_string))
                .chain(extra.iter().map(|s| s.to_string()))
                .collect()
        };
        Ok(RunFiles {
            summary: Sink::create(
                dir.join("summary.csv"),
                header(&["scenario"], summary_columns(), &["status"]),
            )?,
            windows: Sink::create(
                dir.join("timeseries.csv"),
                header(&[], window_columns(), &[]),
            )?,
            servers: Sink::create(dir.join("servers.csv"), header(&[], server_columns(), &[]))?,
            faults: Sink::create(dir.join("faults.csv"), header(&[], fault_columns(), &[]))?,
        })
    }

    /// Appends run `index`'s rows to every file and flushes them.
    pub fn append(
        &mut self,
        layout: &Layout,
        index: usize,
        rows: &RunRows,
    ) -> Result<(), ReportError> {
        let labels = layout.labels(index);
        let with = |cells: &[String]| -> Vec<String> {
            labels.iter().chain(cells).cloned().collect::<Vec<String>>()
        };
        let summary: Vec<String> = std::iter::once(layout.scenario.clone())
            .chain(with(&rows.summary))
            .chain(std::iter::once(rows.status.as_str().to_string()))
            .collect();
        self.summary.row(summary)?;
        for w in &rows.windows {
            self.windows.row(with(w))?;
        }
        for s in &rows.servers {
            self.servers.row(with(s))?;
        }
        for f in &rows.faults {
            self.faults.row(with(f))?;
        }
        for sink in [
            &mut self.summary,
            &mut self.windows,
            &mut self.servers,
            &mut self.faults,
        ] {
            sink.flush()?;
        }
        Ok(())
    }

    /// Flushes and syncs the files.
    pub fn finish(self) -> Result<(), ReportError> {
        self.summary.finish()?;
        self.windows.finish()?;
        self.servers.finish()?;
        self.faults.finish()
    }
}
