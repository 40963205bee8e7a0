//! The recorder: counts calls, attempts and latencies as the simulator reports them.
//!
//! Every call and attempt is counted in the window of the call's *start*: a window
//! then describes the calls that arrived in it (their fate, their latency and what
//! they cost in attempts), which is what an availability SLO is about, and the
//! windows' counts add up exactly to the summary's.

use std::time::Duration;

use super::latency::{Latency, WindowLatency};
use super::measured::Measured;
use super::rows::{RunMetrics, ServerStats, Summary, WindowRow};
use super::spread::{server_rows, server_spread};
use super::{CallResult, FailReason};
use crate::time::{nanos, Instant};

/// What the recorder needs to know about the run, fixed before it starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecorderConfig {
    /// Start of the measured interval (the end of the warmup).
    pub measure_start: Instant,
    /// End of the measured interval, exclusive.
    pub measure_end: Instant,
    /// Time-series bucket; zero means one window over the whole measured interval
    /// (scenario validation should reject it; the recorder must still not divide by
    /// zero).
    pub window: Duration,
    /// Per-window availability objective, in [0, 1].
    pub slo: f64,
}

impl RecorderConfig {
    /// The measured interval `[measure_start, measure_end)`.
    #[inline]
    pub fn measured(&self) -> Measured {
        Measured::new(self.measure_start, self.measure_end)
    }
}

/// Counters of one time window.
#[derive(Clone, Debug, Default)]
struct Window {
    calls: u64,
    ok: u64,
    degraded: u64,
    failed: u64,
    attempts: u64,
    servers_up: u32,
    latency: WindowLatency,
}

/// Accumulates one run's measurements; memory is fixed by the number of windows,
/// never by the number of calls.
///
/// Inputs must come in simulated-time order for [`Recorder::on_servers_up`]; calls may
/// end in any order.
#[derive(Debug)]
pub struct Recorder {
    cfg: RecorderConfig,
    window_ns: u64,
    windows: Vec<Window>,
    calls: u64,
    ok: u64,
    degraded: u64,
    failed: [u64; FailReason::ALL.len()],
    attempts: u64,
    latency: Latency,
    /// Servers up now, as last reported.
    up_now: u32,
    /// Windows before this index already have their `servers_up`.
    up_filled: usize,
    /// The window last looked up, as `[start, end)` in ns and its index: calls start
    /// in time order, so most lookups hit it and skip a 64-bit division.
    last_window: (u64, u64, usize),
}

impl Recorder {
    /// A recorder with one empty window per `window` of the measured interval (the
    /// last one may be shorter).
    pub fn new(cfg: RecorderConfig) -> Recorder {
        let measured_ns = cfg.measure_end.0.saturating_sub(cfg.measure_start.0);
        let window_ns = match nanos(cfg.window) {
            0 => measured_ns.max(1),
            w => w,
        };
        let count = measured_ns.div_ceil(window_ns);
        let count = usize::try_from(count).expect("window count fits in memory");
        Recorder {
            cfg,
            window_ns,
            windows: vec![Window::default(); count],
            calls: 0,
            ok: 0,
            degraded: 0,
            failed: [0; FailReason::ALL.len()],
            attempts: 0,
            latency: Latency::new(),
            up_now: 0,
            up_filled: 0,
            last_window: (0, 0, 0),
        }
    }

    /// Whether a call that starts at `call_start` is measured: its start is in
    /// `[measure_start, measure_end)`. Only measured calls may be reported.
    #[inline]
    pub fn is_measured(&self, call_start: Instant) -> bool {
        self.cfg.measured().contains(call_start)
    }

    /// The window of a call that starts at `call_start`, `None` if it is not measured
    /// (such a report is ignored, so the windows always add up to the summary).
    #[inline]
    fn window_of(&mut self, call_start: Instant) -> Option<&mut Window> {
        if !self.is_measured(call_start) {
            return None;
        }
        let t = call_start.0;
        let (start, end, _) = self.last_window;
        if !(start..end).contains(&t) {
            let index = (t - self.cfg.measure_start.0) / self.window_ns;
            let start = self.cfg.measure_start.0 + index * self.window_ns;
            self.last_window = (start, start.saturating_add(self.window_ns), index as usize);
        }
        self.windows.get_mut(self.last_window.2)
    }

    /// A measured call ended at `end` with `result`; its latency is `end - start` and
    /// it counts in the window of its start.
    #[inline]
    pub fn on_call_end(&mut self, start: Instant, end: Instant, result: CallResult) {
        let latency_ns = nanos(end.since(start));
        let Some(window) = self.window_of(start) else {
            return;
        };
        window.calls += 1;
        match result {
            CallResult::Ok => {
                window.ok += 1;
                window.latency.record(latency_ns);
            }
            CallResult::Degraded => window.degraded += 1,
            CallResult::Failed(_) => window.failed += 1,
        }
        self.calls += 1;
        match result {
            CallResult::Ok => {
                self.ok += 1;
                self.latency.record(latency_ns);
            }
            CallResult::Degraded => self.degraded += 1,
            CallResult::Failed(reason) => self.failed[reason.index()] += 1,
        }
    }

    /// An attempt (first try, retry or hedge) of the measured call that started at
    /// `call_start` was sent. It counts in the call's start window, not the window
    /// the attempt was sent in, so a window's `attempts / calls` is the cost of the
    /// calls that arrived in it (a retry storm shows where its calls began).
    #[inline]
    pub fn on_attempt(&mut self, call_start: Instant) {
        if let Some(window) = self.window_of(call_start) {
            window.attempts += 1;
            self.attempts += 1;
        }
    }

    /// The number of up servers changed to `up` at `t` (call it also once at the
    /// start with the initial number; before that the recorder assumes 0). A window's
    /// `servers_up` is the number up at its start, after every change at that very
    /// instant. `t` must not go backwards between calls.
    pub fn on_servers_up(&mut self, t: Instant, up: u32) {
        self.fill_servers_up(t);
        self.up_now = up;
    }

    /// Sets `servers_up` of every window that starts strictly before `t` and has none.
    fn fill_servers_up(&mut self, t: Instant) {
        while self.up_filled < self.windows.len() && self.window_start(self.up_filled) < t {
            self.windows[self.up_filled].servers_up = self.up_now;
            self.up_filled += 1;
        }
    }

    /// The start of window `index`.
    fn window_start(&self, index: usize) -> Instant {
        Instant(self.cfg.measure_start.0 + index as u64 * self.window_ns)
    }

    /// The run's metrics, given every server's counters and the number of events the
    /// simulator processed.
    pub fn finish(mut self, servers: &[ServerStats], events: u64) -> RunMetrics {
        self.fill_servers_up(Instant::MAX);
        let measured_ns = self
            .cfg
            .measure_end
            .0
            .saturating_sub(self.cfg.measure_start.0);
        let windows: Vec<WindowRow> = (0..self.windows.len())
            .map(|i| self.window_row(i))
            .collect();
        let meeting = windows
            .iter()
            .filter(|w| w.availability.is_none_or(|a| a >= self.cfg.slo))
            .count();
        let spread = server_spread(servers);
        let failed = |r: FailReason| self.failed[r.index()];
        let [p50, p90, p99, p999] = self.latency.quantiles_ms([0.5, 0.9, 0.99, 0.999]);
        let summary = Summary {
            calls: self.calls,
            ok: self.ok,
            degraded: self.degraded,
            failed: self.failed.iter().sum(),
            availability: ratio(self.ok, self.calls),
            failed_timeout: failed(FailReason::Timeout),
            failed_error: failed(FailReason::Error),
            failed_refused: failed(FailReason::Refused),
            failed_rejected: failed(FailReason::Rejected),
            failed_breaker_open: failed(FailReason::BreakerOpen),
            failed_no_server: failed(FailReason::NoServer),
            attempts: self.attempts,
            attempts_per_call: ratio(self.attempts, self.calls),
            latency_mean_ms: self.latency.mean_ms(),
            latency_p50_ms: p50,
            latency_p90_ms: p90,
            latency_p99_ms: p99,
            latency_p999_ms: p999,
            latency_max_ms: self.latency.max_ms(),
            load_max_over_mean: spread.max_over_mean,
            load_cv: spread.cv,
            load_jain: spread.jain,
            windows: windows.len() as u64,
            windows_meeting_slo: meeting as u64,
            events,
            failed_unfinished: failed(FailReason::Unfinished),
        };
        RunMetrics {
            summary,
            windows,
            servers: server_rows(servers, measured_ns),
            faults: Vec::new(),
        }
    }

    /// The `timeseries.csv` row of window `index`.
    fn window_row(&self, index: usize) -> WindowRow {
        let w = &self.windows[index];
        let [p50, p99] = w.latency.quantiles_ms([0.5, 0.99]);
        WindowRow {
            t_s: (index as u64 * self.window_ns) as f64 / 1e9,
            calls: w.calls,
            ok: w.ok,
            failed: w.failed,
            availability: ratio(w.ok, w.calls),
            latency_p50_ms: p50,
            latency_p99_ms: p99,
            attempts: w.attempts,
            servers_up: w.servers_up,
            degraded: w.degraded,
        }
    }
}

/// `num / den`, `None` when `den` is zero.
fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const SEC: u64 = 1_000_000_000;

    /// Measured interval [10 s, 13.5 s) in 1 s windows: 4 windows, the last half long.
    fn recorder(slo: f64) -> Recorder {
        Recorder::new(RecorderConfig {
            measure_start: Instant(10 * SEC),
            measure_end: Instant(13 * SEC + SEC / 2),
            window: Duration::from_secs(1),
            slo,
        })
    }

    fn at(ns: u64) -> Instant {
        Instant(ns)
    }

    #[test]
    fn measured_interval_is_half_open() {
        let r = recorder(0.9);
        assert!(!r.is_measured(at(10 * SEC - 1)));
        assert!(r.is_measured(at(10 * SEC)));
        assert!(r.is_measured(at(13 * SEC + SEC / 2 - 1)));
        assert!(!r.is_measured(at(13 * SEC + SEC / 2)));
    }

    #[test]
    fn calls_reported_out_of_order_count_in_their_start_window() {
        let mut r = recorder(0.75);
        // Starts jump back and forth across windows 0-3, and to each window's edges.
        let starts = [
            12 * SEC,
            10 * SEC,
            13 * SEC + 1,
            11 * SEC - 1,
            11 * SEC,
            10 * SEC,
            12 * SEC - 1,
            13 * SEC,
        ];
        for start in starts {
            r.on_call_end(at(start), at(start + MS), CallResult::Ok);
            r.on_attempt(at(start));
        }
        let m = r.finish(&[], 0);
        let calls: Vec<u64> = m.windows.iter().map(|w| w.calls).collect();
        assert_eq!(calls, [3, 2, 1, 2]);
        let attempts: Vec<u64> = m.windows.iter().map(|w| w.attempts).collect();
        assert_eq!(attempts, [3, 2, 1, 2]);
    }

    #[test]
    fn windows_and_slo_counting() {
        let mut r = recorder(0.75);
        // Window 0: 4 calls, 3 ok (0.75 meets 0.75), 1 timeout.
        for i in 0..3 {
            r.on_call_end(at(10 * SEC + i), at(10 * SEC + i + 2 * MS), CallResult::Ok);
        }
        r.on_call_end(
            at(10 * SEC),
            at(12 * SEC),
            CallResult::Failed(FailReason::Timeout),
        );
        // Window 1: 2 calls, 1 ok, 1 degraded: 0.5 misses.
        r.on_call_end(at(11 * SEC), at(11 * SEC + 4 * MS), CallResult::Ok);
        r.on_call_end(at(11 * SEC + 1), at(11 * SEC + 9), CallResult::Degraded);
        // Window 2: no calls (meets). Window 3 (half long): one unfinished call.
        r.on_call_end(
            at(13 * SEC),
            at(99 * SEC),
            CallResult::Failed(FailReason::Unfinished),
        );
        // Outside the interval: ignored even if reported.
        r.on_call_end(at(9 * SEC), at(10 * SEC), CallResult::Ok);
        r.on_attempt(at(14 * SEC));
        let m = r.finish(&[], 77);
        let s = &m.summary;
        assert_eq!((s.calls, s.ok, s.degraded, s.failed), (7, 4, 1, 2));
        assert_eq!(
            (s.failed_timeout, s.failed_unfinished, s.attempts),
            (1, 1, 0)
        );
        assert_eq!(s.availability, Some(4.0 / 7.0));
        assert_eq!((s.windows, s.windows_meeting_slo, s.events), (4, 2, 77));
        let calls: Vec<u64> = m.windows.iter().map(|w| w.calls).collect();
        assert_eq!(calls, [4, 2, 0, 1]);
        let t: Vec<f64> = m.windows.iter().map(|w| w.t_s).collect();
        assert_eq!(t, [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(m.windows[0].availability, Some(0.75));
        assert_eq!(m.windows[2].availability, None);
        assert_eq!(m.windows[1].degraded, 1);
        assert_eq!(m.windows[3].failed, 1);
        assert_eq!(m.windows[3].availability, Some(0.0));
        assert_eq!(m.windows[1].latency_p50_ms, Some(4.0));
        assert_eq!(m.windows[2].latency_p50_ms, None);
        assert_eq!(s.latency_max_ms, Some(4.0));
        assert_eq!(s.latency_mean_ms, Some(2.5));
        // No servers: load spread is empty, not zero.
        assert_eq!(s.load_jain, None);
        assert!(m.servers.is_empty());
    }

    #[test]
    fn attempts_count_in_the_call_start_window() {
        let mut r = recorder(0.999);
        r.on_attempt(at(10 * SEC + 5));
        r.on_attempt(at(10 * SEC + 5)); // a retry sent later, in window 2
        r.on_attempt(at(12 * SEC));
        r.on_call_end(at(10 * SEC + 5), at(12 * SEC + 5), CallResult::Ok);
        r.on_call_end(at(12 * SEC), at(12 * SEC + 1), CallResult::Ok);
        let m = r.finish(&[], 0);
        let attempts: Vec<u64> = m.windows.iter().map(|w| w.attempts).collect();
        assert_eq!(attempts, [2, 0, 1, 0]);
        assert_eq!(m.summary.attempts, 3);
        assert_eq!(m.summary.attempts_per_call, Some(1.5));
        assert_eq!(m.summary.windows_meeting_slo, 4);
    }

    #[test]
    fn servers_up_at_each_window_start() {
        let mut r = recorder(0.999);
        r.on_servers_up(at(0), 8);
        r.on_servers_up(at(10 * SEC + 1), 7); // after window 0 started
        r.on_servers_up(at(12 * SEC), 5); // exactly at window 2's start: counts
        r.on_servers_up(at(12 * SEC), 6); // the last change at an instant wins
        let m = r.finish(&[], 0);
        let up: Vec<u32> = m.windows.iter().map(|w| w.servers_up).collect();
        assert_eq!(up, [8, 7, 6, 6]);
    }

    #[test]
    fn finish_computes_load_spread_and_server_rows() {
        let r = recorder(0.999);
        let server = |name: &str, received: u64, up_ns: u64| ServerStats {
            name: name.to_string(),
            in_target: true,
            received,
            concurrency: 2,
            busy_ns: u128::from(up_ns),
            up_ns,
            ..ServerStats::default()
        };
        // 3.5 s measured; api[1] was up 1.75 s and received half as much: even load.
        let servers = [
            server("api[0]", 0, 0),
            server("api[1]", 100, 3 * SEC + SEC / 2),
            server("api[2]", 50, SEC + 3 * SEC / 4),
        ];
        let m = r.finish(&servers, 0);
        assert_eq!(m.summary.load_max_over_mean, Some(1.0));
        assert_eq!(m.summary.load_cv, Some(0.0));
        assert_eq!(m.summary.load_jain, Some(1.0));
        assert_eq!(m.servers.len(), 3);
        assert_eq!(m.servers[0].share, None);
        assert_eq!(m.servers[2].up_fraction, Some(0.5));
        assert_eq!(m.servers[1].utilization, Some(0.5));
    }

    #[test]
    fn empty_run_and_zero_window() {
        let r = Recorder::new(RecorderConfig {
            measure_start: Instant(5),
            measure_end: Instant(5),
            window: Duration::from_secs(1),
            slo: 0.999,
        });
        let m = r.finish(&[], 0);
        assert_eq!(m.summary.windows, 0);
        assert_eq!(m.summary.availability, None);
        assert_eq!(m.summary.attempts_per_call, None);
        assert_eq!(m.summary.latency_p99_ms, None);
        let r = Recorder::new(RecorderConfig {
            measure_start: Instant(0),
            measure_end: Instant(3 * SEC),
            window: Duration::ZERO,
            slo: 0.999,
        });
        assert_eq!(r.finish(&[], 0).windows.len(), 1);
    }
}
