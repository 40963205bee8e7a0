//! Writes a folder's runs in plan order: each from an earlier folder that has it
//! (`--resume`, `merge`), or from the workers as it finishes.
//!
//! Runs that finish before their turn wait in a small buffer; each run is written
//! (and flushed) as soon as every run before it is. When `stop` is set, whatever has
//! finished is still written in order and the rest is left out: the folder is then
//! incomplete, and `--resume` fills the gaps.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::origins::{Origin, Origins};
use super::runner::Done;
use crate::report::manifest::FailedRun;
use crate::report::{FolderRuns, Layout, ReportError, Results, RunFiles};

/// What was written.
#[derive(Debug)]
pub(crate) struct Written {
    /// Every run written, for the statistics.
    pub results: Results,
    /// Runs that failed, with their errors.
    pub failed: Vec<FailedRun>,
    /// Runs that should have been written but were not (interrupted, or in no
    /// earlier folder), as plan indices in order.
    pub missing: Vec<usize>,
    /// Measured calls and events of the runs simulated now.
    pub calls: u64,
    /// Events processed.
    pub events: u64,
}

/// How often to look at `stop` while waiting for a run.
const POLL: Duration = Duration::from_millis(50);

/// Writes every run of `origins` that is not `Skip`, in plan order.
/// `failed_before` gives the errors of failed runs copied from earlier folders.
pub(crate) fn assemble(
    layout: &Layout,
    origins: &Origins,
    folders: &mut [FolderRuns],
    failed_before: &dyn Fn(usize) -> String,
    runs: Option<Receiver<Done>>,
    stop: &AtomicBool,
    files: &mut RunFiles,
) -> Result<Written, ReportError> {
    let mut written = Written {
        results: Results::new(layout.clone()),
        failed: Vec::new(),
        missing: Vec::new(),
        calls: 0,
        events: 0,
    };
    let mut early: BTreeMap<usize, Done> = BTreeMap::new();
    let mut runs = runs;
    for (index, origin) in origins.iter() {
        let done = match origin {
            Origin::Skip => continue,
            Origin::Folder(k) => {
                let rows = folders[k as usize].take(layout, index)?;
                rows.map(|rows| Done {
                    index,
                    error: (rows.status == crate::report::RunStatus::Failed)
                        .then(|| failed_before(index)),
                    rows,
                    calls: 0,
                    events: 0,
                })
            }
            Origin::Run => wait_for(index, &mut early, &mut runs, stop),
        };
        let Some(done) = done else {
            written.missing.push(index);
            continue;
        };
        files.append(layout, index, &done.rows)?;
        written.results.push(index, &done.rows);
        written.calls += done.calls;
        written.events += done.events;
        if let Some(error) = done.error {
            let (v, seed) = layout.split(index);
            written.failed.push(FailedRun {
                variant: layout.variants[v].clone(),
                seed,
                error,
            });
        }
    }
    Ok(written)
}

/// Run `index` from the workers: already finished, or waited for. `None` once
/// `stop` is set (after taking what has finished) or when the workers are gone.
fn wait_for(
    index: usize,
    early: &mut BTreeMap<usize, Done>,
    runs: &mut Option<Receiver<Done>>,
    stop: &AtomicBool,
) -> Option<Done> {
    loop {
        if let Some(done) = early.remove(&index) {
            return Some(done);
        }
        let rx = runs.as_ref()?;
        if stop.load(Ordering::Relaxed) {
            // Take what has finished, then go on without waiting.
            while let Ok(done) = rx.try_recv() {
                early.insert(done.index, done);
            }
            *runs = None;
            return early.remove(&index);
        }
        match rx.recv_timeout(POLL) {
            Ok(done) => {
                early.insert(done.index, done);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                *runs = None;
            }
        }
    }
}
