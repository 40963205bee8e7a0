//! Load spread over servers, and the per-server rows of `servers.csv`.
//!
//! A server's load is the attempts it received divided by its up time (attempts per
//! second of up time), so a server that was down half the run and got half the
//! attempts is as loaded as its peers. Only servers in some client's target groups
//! that were up for some of the measured interval count: servers nobody targets, or
//! that were down throughout, are not supposed to get load and would only dilute the
//! spread (SCENARIO.md, "Definitions": load spread; VALIDATION.md, "Load spread").

use super::rows::{ServerRow, ServerStats};

/// How evenly load fell on the counted servers; each field is `None` when no counted
/// server had any load (the ratios would divide by zero).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoadSpread {
    /// Highest load over the mean load: 1 when even, n when one server takes all.
    pub max_over_mean: Option<f64>,
    /// Coefficient of variation: population standard deviation over the mean.
    pub cv: Option<f64>,
    /// Jain's index (sum x)^2 / (n sum x^2): 1 when even, 1/n when one takes all.
    pub jain: Option<f64>,
}

/// Whether a server counts in the load spread and in `share`: it is targeted by some
/// client and was up for some of the measured interval.
pub fn is_counted(server: &ServerStats) -> bool {
    server.in_target && server.up_ns > 0
}

/// A counted server's load in attempts per second of up time.
fn load(server: &ServerStats) -> f64 {
    server.received as f64 / (server.up_ns as f64 / 1e9)
}

/// The spread of the loads of the counted servers, in the given order (the order
/// only matters for the last bits of the sums, and it is fixed).
pub fn server_spread(servers: &[ServerStats]) -> LoadSpread {
    let loads: Vec<f64> = servers.iter().filter(|s| is_counted(s)).map(load).collect();
    spread(&loads)
}

/// The spread of arbitrary non-negative loads; all `None` if there are none or
/// their sum is zero.
pub fn spread(loads: &[f64]) -> LoadSpread {
    let n = loads.len() as f64;
    let sum: f64 = loads.iter().sum();
    if loads.is_empty() || sum <= 0.0 || !sum.is_finite() {
        return LoadSpread::default();
    }
    let mean = sum / n;
    let max = loads.iter().copied().fold(f64::MIN, f64::max);
    // Two passes: deviations from the mean, not sum x^2 - n mean^2, which cancels
    // catastrophically when the spread is small.
    let variance = loads.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let sum_sq: f64 = loads.iter().map(|x| x * x).sum();
    LoadSpread {
        max_over_mean: Some(max / mean),
        cv: Some(variance.sqrt() / mean),
        jain: Some(sum * sum / (n * sum_sq)),
    }
}

/// The `servers.csv` rows, in the given order.
///
/// `share` is relative to the total received by the counted servers (so it sums to 1
/// over them); `measured_ns` is the length of the measured interval.
pub fn server_rows(servers: &[ServerStats], measured_ns: u64) -> Vec<ServerRow> {
    let total: u64 = servers
        .iter()
        .filter(|s| is_counted(s))
        .map(|s| s.received)
        .sum();
    servers
        .iter()
        .map(|s| ServerRow {
            server: s.name.clone(),
            group: s.group.clone(),
            zone: s.zone.clone(),
            tier: s.tier,
            received: s.received,
            served: s.served,
            rejected: s.rejected,
            errors: s.errors,
            share: (is_counted(s) && total > 0).then(|| s.received as f64 / total as f64),
            utilization: (s.up_ns > 0 && s.concurrency > 0)
                .then(|| s.busy_ns as f64 / (f64::from(s.concurrency) * s.up_ns as f64)),
            up_fraction: (measured_ns > 0).then(|| s.up_ns as f64 / measured_ns as f64),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: Option<f64>, want: f64) {
        let got = got.expect("a value");
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    fn server(name: &str, received: u64, up_ns: u64, in_target: bool) -> ServerStats {
        ServerStats {
            name: name.to_string(),
            group: "api".to_string(),
            zone: "a".to_string(),
            in_target,
            received,
            served: received,
            busy_ns: u128::from(up_ns / 2),
            concurrency: 1,
            up_ns,
            ..ServerStats::default()
        }
    }

    #[test]
    fn perfectly_even_load() {
        let s = spread(&[100.0, 100.0, 100.0, 100.0]);
        close(s.max_over_mean, 1.0);
        close(s.cv, 0.0);
        close(s.jain, 1.0);
    }

    #[test]
    fn one_server_takes_all() {
        let s = spread(&[0.0, 0.0, 0.0, 0.0, 50.0]);
        close(s.max_over_mean, 5.0);
        close(s.jain, 1.0 / 5.0);
        // mean 10, deviations 10,10,10,10,40: variance (400 + 1600) / 5 = 400.
        close(s.cv, 2.0);
    }

    #[test]
    fn hand_computed_uneven_load() {
        // mean 2, population variance (1 + 0 + 1) / 3, sum 6, sum of squares 14.
        let s = spread(&[1.0, 2.0, 3.0]);
        close(s.max_over_mean, 1.5);
        close(s.cv, (2.0f64 / 3.0).sqrt() / 2.0);
        close(s.jain, 36.0 / 42.0);
    }

    #[test]
    fn no_load_is_empty() {
        assert_eq!(spread(&[]), LoadSpread::default());
        assert_eq!(spread(&[0.0, 0.0]), LoadSpread::default());
    }

    #[test]
    fn load_is_per_up_time_over_counted_servers() {
        let sec = 1_000_000_000;
        let servers = [
            server("api[0]", 100, 10 * sec, true),
            // Up half the time with half the attempts: the same load.
            server("api[1]", 50, 5 * sec, true),
            // Never up, or not targeted: ignored, however much they received.
            server("api[2]", 0, 0, true),
            server("other[0]", 1000, 10 * sec, false),
        ];
        let s = server_spread(&servers);
        close(s.max_over_mean, 1.0);
        close(s.jain, 1.0);
        let rows = server_rows(&servers, 10 * sec);
        close(rows[0].share, 100.0 / 150.0);
        close(rows[1].share, 50.0 / 150.0);
        assert_eq!(rows[2].share, None);
        assert_eq!(rows[3].share, None);
        close(rows[1].utilization, 0.5);
        assert_eq!(rows[2].utilization, None);
        close(rows[1].up_fraction, 0.5);
        close(rows[2].up_fraction, 0.0);
        assert_eq!(rows[0].server, "api[0]");
    }
}
