//! The `faults.csv` rows: what each declared fault cost and how long the system took
//! to get over it.
//!
//! The simulator and `hasim live` both fill a [`FaultLog`] (the fault's span, the
//! measured calls that failed while it was on, when its targets last received an
//! attempt) and turn it into rows here, against the run's time windows, so the two
//! cannot compute a column differently.

use super::measured::Measured;
use super::rows::{FaultRow, WindowRow};
use crate::time::Instant;

/// One declared fault, as far as measurement is concerned.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpan {
    /// `crash`, `slow`, ... (`FaultKind::name`).
    pub kind: &'static str,
    /// The target as written (both sides for a partition).
    pub target: String,
    /// When it starts.
    pub start: Instant,
    /// When it ends (`Instant::MAX`: never).
    pub end: Instant,
    /// True if it acts on servers (some target is a server and it is not a
    /// partition): only then has it a `time_to_drain_s`.
    pub hits_servers: bool,
    /// Measured calls that started while it was on and failed.
    pub calls_failed: u64,
    /// When a target server last received an attempt at or after `start`, as of the
    /// fault's end (or the run's end, if it was still on).
    pub last_hit: Option<Instant>,
}

impl FaultSpan {
    /// A fault with nothing counted yet.
    pub fn new(
        kind: &'static str,
        target: String,
        start: Instant,
        end: Instant,
        hits_servers: bool,
    ) -> FaultSpan {
        FaultSpan {
            kind,
            target,
            start,
            end,
            hits_servers,
            calls_failed: 0,
            last_hit: None,
        }
    }
}

/// Every declared fault of a run, in declaration order, and what was counted against
/// each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultLog {
    /// In declaration order (row `i` of `faults.csv` is fault `i`).
    pub spans: Vec<FaultSpan>,
}

impl FaultLog {
    /// A log of `spans`, in declaration order.
    pub fn new(spans: Vec<FaultSpan>) -> FaultLog {
        FaultLog { spans }
    }

    /// A measured call that started at `start` failed: it counts against every fault
    /// on at its start.
    pub fn on_call_failed(&mut self, start: Instant) {
        for f in &mut self.spans {
            if start >= f.start && start < f.end {
                f.calls_failed += 1;
            }
        }
    }

    /// Fault `fault`'s targets last received an attempt at `last_hit` (as of now).
    pub fn set_last_hit(&mut self, fault: usize, last_hit: Option<Instant>) {
        self.spans[fault].last_hit = last_hit;
    }

    /// The `faults.csv` rows, given the run's windows (`window_ns` long) and SLO.
    pub fn rows(
        &self,
        windows: &[WindowRow],
        window_ns: u64,
        slo: f64,
        measured: Measured,
    ) -> Vec<FaultRow> {
        self.spans
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let end = f.end.min(measured.end);
                let drained = match f.last_hit {
                    _ if !f.hits_servers => None,
                    None => Some(0.0),
                    Some(t) if t.as_nanos().saturating_add(window_ns) <= end.as_nanos() => {
                        Some(t.since(f.start).as_secs_f64())
                    }
                    Some(_) => None,
                };
                let next_start = self
                    .spans
                    .iter()
                    .map(|g| g.start)
                    .filter(|&t| t > f.start)
                    .min()
                    .unwrap_or(Instant::MAX);
                FaultRow {
                    fault: i as u64,
                    kind: f.kind.to_string(),
                    target: f.target.clone(),
                    start_s: measured.secs(f.start),
                    end_s: measured.secs(end),
                    calls_failed: f.calls_failed,
                    time_to_drain_s: drained,
                    time_to_recover_s: recovery(
                        windows,
                        window_ns,
                        slo,
                        f.start,
                        next_start,
                        measured.start,
                    ),
                }
            })
            .collect()
    }
}

/// Time from `start` to the start of the first window from which every window meets
/// the SLO up to the next fault's start (or the end); `None` if there is none.
/// Windows are `window_ns` long and the first starts at `origin`.
pub fn recovery(
    windows: &[WindowRow],
    window_ns: u64,
    slo: f64,
    start: Instant,
    next: Instant,
    origin: Instant,
) -> Option<f64> {
    let rel = |t: Instant| t.as_nanos().saturating_sub(origin.as_nanos());
    let first = (rel(start) / window_ns) as usize;
    let last = if next == Instant::MAX {
        windows.len()
    } else {
        rel(next).div_ceil(window_ns) as usize // windows that start before it
    }
    .min(windows.len());
    if first >= last {
        return None;
    }
    let meets = |w: &WindowRow| w.availability.is_none_or(|a| a >= slo);
    let mut k = last;
    while k > first && meets(&windows[k - 1]) {
        k -= 1;
    }
    if k == last {
        return None; // the last window before the next fault (or the end) misses
    }
    let recovered_ns = (k as u64 * window_ns).max(rel(start));
    Some((recovered_ns - rel(start)) as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn windows(avail: &[f64]) -> Vec<WindowRow> {
        avail
            .iter()
            .map(|&a| WindowRow {
                availability: Some(a),
                ..WindowRow::default()
            })
            .collect()
    }

    #[test]
    fn recovery_is_the_start_of_the_last_good_stretch() {
        let w = windows(&[1.0, 0.5, 0.2, 1.0, 1.0]);
        let s = Instant(1_500_000_000); // 1.5 s into a run with 1 s windows
        assert_eq!(
            recovery(&w, SEC, 0.99, s, Instant::MAX, Instant::ZERO),
            Some(1.5)
        );
        let w = windows(&[1.0, 1.0, 1.0]);
        assert_eq!(
            recovery(&w, SEC, 0.99, s, Instant::MAX, Instant::ZERO),
            Some(0.0),
            "never hurt"
        );
        let w = windows(&[1.0, 0.5, 0.5]);
        assert_eq!(
            recovery(&w, SEC, 0.99, s, Instant::MAX, Instant::ZERO),
            None,
            "never recovered"
        );
        let w = windows(&[1.0, 0.5, 1.0, 0.5]);
        assert_eq!(
            recovery(&w, SEC, 0.99, s, Instant(3 * SEC), Instant::ZERO),
            Some(0.5),
            "up to the next fault"
        );
    }

    /// Measured [10 s, 15 s) in 1 s windows; a crash over [11 s, 13 s) and a
    /// partition from 14 s on.
    fn log() -> FaultLog {
        FaultLog::new(vec![
            FaultSpan::new(
                "crash",
                "api[0]".into(),
                Instant(11 * SEC),
                Instant(13 * SEC),
                true,
            ),
            FaultSpan::new(
                "partition",
                "a | b".into(),
                Instant(14 * SEC),
                Instant::MAX,
                false,
            ),
        ])
    }

    #[test]
    fn failed_calls_count_against_the_faults_on_at_their_start() {
        let mut log = log();
        for start in [10 * SEC, 11 * SEC, 12 * SEC, 13 * SEC, 14 * SEC, 20 * SEC] {
            log.on_call_failed(Instant(start));
        }
        let counts: Vec<u64> = log.spans.iter().map(|f| f.calls_failed).collect();
        assert_eq!(counts, [2, 2], "[11 s, 13 s) and [14 s, never)");
    }

    #[test]
    fn rows_clip_the_end_and_time_the_drain() {
        let measured = Measured::new(Instant(10 * SEC), Instant(15 * SEC));
        let w = windows(&[1.0, 0.2, 1.0, 1.0, 0.5]);
        let mut log = log();
        log.set_last_hit(0, Some(Instant(11 * SEC + SEC / 2)));
        let rows = log.rows(&w, SEC, 0.99, measured);
        assert_eq!((rows[0].start_s, rows[0].end_s), (1.0, 3.0));
        assert_eq!(
            rows[0].time_to_drain_s,
            Some(0.5),
            "a window before the end"
        );
        assert_eq!(rows[0].time_to_recover_s, Some(1.0), "up to the partition");
        assert_eq!((rows[1].kind.as_str(), rows[1].end_s), ("partition", 5.0));
        assert_eq!(rows[1].time_to_drain_s, None, "a partition hits no server");
        assert_eq!(rows[1].time_to_recover_s, None, "the last window misses");
        log.set_last_hit(0, Some(Instant(12 * SEC + 1)));
        let rows = log.rows(&w, SEC, 0.99, measured);
        assert_eq!(
            rows[0].time_to_drain_s, None,
            "still hit in its last window"
        );
        log.set_last_hit(0, None);
        let rows = log.rows(&w, SEC, 0.99, measured);
        assert_eq!(rows[0].time_to_drain_s, Some(0.0), "never hit");
    }
}
