//! What a run measured: counters, latency histograms, time windows and load spread.
//!
//! The simulator feeds a [`Recorder`] as calls and attempts happen, then hands it the
//! per-server counters at the end ([`Recorder::finish`]); the result, [`RunMetrics`],
//! holds exactly the numbers that `report` writes to `summary.csv`, `timeseries.csv`
//! and `servers.csv`; the `faults.csv` rows come from a [`FaultLog`] the simulator
//! fills (see SCENARIO.md, "Output files" and "Definitions"). [`Measured`] is the one
//! definition of the measured interval: what is measured, and how much of a span.
//!
//! # Call order
//!
//! 1. [`Recorder::new`] with the measured interval `[measure_start, measure_end)`.
//! 2. During the run, in simulated-time order: [`Recorder::on_servers_up`] whenever the
//!    number of up servers changes (and once at the start with the initial number);
//!    [`Recorder::on_attempt`] for every attempt of a measured call;
//!    [`Recorder::on_call_end`] once per measured call. Use
//!    [`Recorder::is_measured`] (= [`Measured::contains`]) to decide whether a call is
//!    measured.
//! 3. [`Recorder::finish`] after the drain, with every server's [`ServerStats`].
//!
//! # Memory
//!
//! Memory does not grow with the number of calls: one summary histogram (3 significant
//! digits) plus, per window, a few counters and a small histogram (2 significant
//! digits) allocated only once the window has an `ok` call.
//!
//! # Empty values
//!
//! A ratio whose denominator is zero (availability of a window without calls, latency
//! with no `ok` call, load spread with no load) is `None` and becomes an empty CSV
//! cell: a made-up 0 or 1 would be read as a measurement.

mod faults;
mod latency;
mod measured;
mod recorder;
mod rows;
pub mod spread;
pub mod stats;
mod tally;

pub use faults::{recovery, FaultLog, FaultSpan};
pub use measured::Measured;
pub use recorder::{Recorder, RecorderConfig};
pub use rows::{Cell, FaultRow, RunMetrics, ServerRow, ServerStats, Summary, WindowRow};

/// How a measured call ended (SCENARIO.md, "Definitions": calls), and why a call
/// failed: decided by the client stack, so defined in `hasim_policy`.
pub use crate::policy::client::{CallResult, FailReason};
