//! Runs a sweep's runs on worker threads and hands each finished run back, as rows,
//! with its plan index.
//!
//! Workers take the next run from a shared counter, so a slow run never holds up
//! the others, and finished runs come back in about plan order (the writer keeps the
//! few that finish early until their turn). Once `stop` is set, no new run starts;
//! runs in progress are abandoned by the caller, which does not wait for them.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use super::origins::{Origin, Origins};
use super::{Source, Sweep};
use crate::metrics::RunMetrics;
use crate::report::RunRows;
use crate::sim;

/// One finished run.
#[derive(Debug)]
pub(crate) struct Done {
    /// Its plan index.
    pub index: usize,
    /// Its rows (empty, marked failed, when it hit a limit).
    pub rows: RunRows,
    /// Why it failed.
    pub error: Option<String>,
    /// Measured calls and events processed, for the timing line.
    pub calls: u64,
    /// Events processed.
    pub events: u64,
}

/// How far the runs have got, for a progress bar: written by the workers, read by
/// whoever draws it. Its size depends on the number of workers, not of runs.
#[derive(Debug)]
pub struct Progress {
    /// Runs to do.
    total: usize,
    /// Runs finished.
    finished: AtomicUsize,
    /// Per worker, thousandths of its current run's simulated time.
    slots: Vec<AtomicU64>,
}

impl Progress {
    /// Nothing done yet of `total` runs on `workers` threads.
    pub fn new(total: usize, workers: usize) -> Progress {
        Progress {
            total,
            finished: AtomicUsize::new(0),
            slots: (0..workers.max(1)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Runs to do.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Runs finished.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::Relaxed)
    }

    /// The work done, as a fraction from 0 to 1: finished runs plus the share of the
    /// simulated time of the runs in progress.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        let partial: u64 = self
            .slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed).min(999))
            .sum();
        let done = self.finished() as f64 + partial as f64 / 1000.0;
        (done / self.total as f64).clamp(0.0, 1.0)
    }
}

/// Starts `workers` threads (at most `to_run`, the number of runs whose origin is
/// `Run`) that run those runs in plan order: each takes the next index of a shared
/// counter and skips the others. Returns the channel the runs come back on (closed
/// when every worker has ended).
pub(crate) fn start(
    sweep: Arc<Sweep>,
    todo: Arc<Origins>,
    to_run: usize,
    workers: usize,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Receiver<Done>> {
    let (tx, rx) = mpsc::channel();
    let next = Arc::new(AtomicUsize::new(0));
    for worker in 0..workers.max(1).min(to_run.max(1)) {
        let (sweep, todo, progress, stop, next, tx) = (
            sweep.clone(),
            todo.clone(),
            progress.clone(),
            stop.clone(),
            next.clone(),
            tx.clone(),
        );
        std::thread::Builder::new()
            .name(format!("hasim-run-{worker}"))
            .spawn(move || {
                let layout = sweep.layout();
                let slot = &progress.slots[worker % progress.slots.len()];
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= todo.runs() {
                        break;
                    }
                    if todo.get(index) != Origin::Run {
                        continue;
                    }
                    let (variant, seed) = layout.split(index);
                    slot.store(0, Ordering::Relaxed);
                    let result = match &sweep.source {
                        Source::Simulate => {
                            sim::run_with_progress(&sweep.scenarios[variant], seed, slot)
                                .map(|output| output.metrics)
                        }
                        Source::Measured(metrics) => Ok(RunMetrics::clone(metrics)),
                    };
                    let done = match result {
                        Ok(metrics) => Done {
                            index,
                            rows: RunRows::from_metrics(&metrics),
                            error: None,
                            calls: metrics.summary.calls,
                            events: metrics.summary.events,
                        },
                        Err(error) => Done {
                            index,
                            rows: RunRows::failed(),
                            error: Some(error.to_string()),
                            calls: 0,
                            events: 0,
                        },
                    };
                    progress.finished.fetch_add(1, Ordering::Relaxed);
                    slot.store(0, Ordering::Relaxed);
                    if tx.send(done).is_err() {
                        break; // The writer has gone: nobody wants more runs.
                    }
                }
            })?;
    }
    Ok(rx)
}
