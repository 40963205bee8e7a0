//! The comparison table printed by `compare`: key metrics as rows, variants as
//! columns, and the winner of each metric.
//!
//! Cells are `mean ± half-width` of the 95% Student-t interval over the seeds (the
//! mean alone with one seed). The winner is the best mean in the metric's direction
//! (higher availability and SLO windows, lower everything else); it is marked
//! `(n.s.)` when its paired difference to the runner-up (same seeds, see `paired.rs`)
//! has an interval that contains 0, so these seeds cannot tell the two apart, and
//! `(?)` when there are too few paired seeds for an interval. Best means that look
//! equal as shown are a tie (`tie: p2c, peak_ewma`, or `all equal`).

use super::csv::by_variant;
use super::paired::{metric_names, paired_stats, seed_values};
use super::table::{align, availability, count, fixed3};
use super::RunRecord;
use crate::metrics::stats::{mean_stddev_ci95, Stats};

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// A row of the table: the `summary.csv` column, its label, its direction and how
/// its numbers are shown.
struct KeyMetric {
    column: &'static str,
    label: &'static str,
    better: Better,
    show: fn(f64) -> String,
}

const KEY_METRICS: [KeyMetric; 7] = [
    KeyMetric {
        column: "availability",
        label: "availability",
        better: Better::Higher,
        show: availability,
    },
    KeyMetric {
        column: "latency_p50_ms",
        label: "p50_ms",
        better: Better::Lower,
        show: fixed3,
    },
    KeyMetric {
        column: "latency_p99_ms",
        label: "p99_ms",
        better: Better::Lower,
        show: fixed3,
    },
    KeyMetric {
        column: "latency_p999_ms",
        label: "p999_ms",
        better: Better::Lower,
        show: fixed3,
    },
    KeyMetric {
        column: "attempts_per_call",
        label: "attempts/call",
        better: Better::Lower,
        show: fixed3,
    },
    KeyMetric {
        column: "load_max_over_mean",
        label: "load_max/mean",
        better: Better::Lower,
        show: fixed3,
    },
    KeyMetric {
        column: "windows_meeting_slo",
        label: "slo_windows",
        better: Better::Higher,
        show: count,
    },
];

/// How a metric's comparison came out.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// Fewer than two variants have a value.
    Nobody,
    /// The best means are equal as shown: these variants, in table order.
    Tie(Vec<usize>),
    /// Variant number `.0` has the best mean.
    Wins(usize, Confidence),
}

/// Whether the winner's paired difference to the runner-up is significant at 95%.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Confidence {
    /// The interval excludes 0.
    Significant,
    /// The interval contains 0.
    NotSignificant,
    /// Fewer than two paired seeds: no interval.
    Unknown,
}

/// The comparison table of `runs` (variants in order of first appearance), with a
/// legend and a line counting each variant's wins. Ends with a newline.
pub fn comparison_table(runs: &[RunRecord]) -> String {
    let groups = by_variant(runs);
    let names = metric_names();
    let mut rows: Vec<Vec<String>> = vec![std::iter::once("metric")
        .chain(groups.iter().map(|(v, _)| *v))
        .chain(std::iter::once("winner"))
        .map(str::to_string)
        .collect()];
    let mut verdicts = Vec::new();
    for metric in &KEY_METRICS {
        let index = names
            .iter()
            .position(|n| *n == metric.column)
            .expect("every key metric is a summary column");
        let stats: Vec<Stats> = groups
            .iter()
            .map(|(_, members)| {
                let values: Vec<f64> = seed_values(members, index)
                    .into_iter()
                    .filter_map(|(_, v)| v)
                    .collect();
                mean_stddev_ci95(&values)
            })
            .collect();
        let verdict: Verdict = judge(&stats, metric.better, metric.show, |w, r| {
            paired_stats(&groups[w].1, &groups[r].1, index)
        });
        let mut row = vec![metric.label.to_string()];
        row.extend(stats.iter().map(|s| cell(s, metric.show)));
        row.push(match verdict {
            Verdict::Nobody => "-".to_string(),
            Verdict::Tie(ref tied) if tied.len() == groups.len() => "all equal".to_string(),
            Verdict::Tie(ref tied) => {
                let names: Vec<&str> = tied.iter().map(|&i| groups[i].0).collect();
                format!("tie: {}", names.join(", "))
            }
            Verdict::Wins(w, confidence) => {
                let mark = match confidence {
                    Confidence::Significant => "",
                    Confidence::NotSignificant => " (n.s.)",
                    Confidence::Unknown => " (?)",
                };
                format!("{}{mark}", groups[w].0)
            }
        });
        rows.push(row);
        verdicts.push(verdict);
    }
    let seeds = groups.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let mut out = align(&rows);
    out.push_str(&format!(
        "mean ± 95% interval half-width over {seeds} seed(s); winner: best mean; \
         (n.s.): not significantly better than the runner-up (paired, same seeds)\n"
    ));
    let variants: Vec<&str> = groups.iter().map(|(v, _)| *v).collect();
    out.push_str(&wins_line(&variants, &verdicts));
    out
}

/// `mean ± half-width`, the mean alone without an interval, `-` without values.
fn cell(s: &Stats, show: fn(f64) -> String) -> String {
    match s.runs {
        0 => "-".to_string(),
        _ if s.ci95_high.is_finite() => {
            format!(
                "{} ± {}",
                show(s.mean),
                show((s.ci95_high - s.ci95_low) / 2.0)
            )
        }
        _ => show(s.mean),
    }
}

/// The best variant by mean, judged against the runner-up by `paired(winner,
/// runner_up)`. Equal means keep the earlier variant first. Means that look the same
/// as shown (`1.000` and `1.000`) are a tie: a difference below the table's precision
/// is not worth a winner, even when it is consistent.
fn judge(
    stats: &[Stats],
    better: Better,
    show: fn(f64) -> String,
    paired: impl Fn(usize, usize) -> Stats,
) -> Verdict {
    let mut ranked: Vec<usize> = (0..stats.len()).filter(|&i| stats[i].runs > 0).collect();
    ranked.sort_by(|&a, &b| {
        let order = stats[a].mean.total_cmp(&stats[b].mean);
        match better {
            Better::Higher => order.reverse(),
            Better::Lower => order,
        }
    });
    let [winner, runner_up, ..] = ranked[..] else {
        return Verdict::Nobody;
    };
    let shown = show(stats[winner].mean);
    if show(stats[runner_up].mean) == shown {
        let mut tied: Vec<usize> = ranked
            .into_iter()
            .filter(|&i| show(stats[i].mean) == shown)
            .collect();
        tied.sort_unstable();
        return Verdict::Tie(tied);
    }
    let d = paired(winner, runner_up);
    let confidence = if d.runs < 2 || !d.ci95_low.is_finite() {
        Confidence::Unknown
    } else if d.ci95_low <= 0.0 && 0.0 <= d.ci95_high {
        Confidence::NotSignificant
    } else {
        Confidence::Significant
    };
    Verdict::Wins(winner, confidence)
}

/// `wins: p2c 5 of 7 (4 significant), round_robin 1 of 7 (0 significant)`: variants
/// with at least one win, most wins first (table order among equals); `wins: none`
/// if nobody won anything.
fn wins_line(variants: &[&str], verdicts: &[Verdict]) -> String {
    let mut tally: Vec<(&str, usize, usize)> = variants
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let won = |v: &&Verdict| matches!(v, Verdict::Wins(w, _) if *w == i);
            let wins = verdicts.iter().filter(won).count();
            let significant = verdicts
                .iter()
                .filter(|v| matches!(v, Verdict::Wins(w, Confidence::Significant) if *w == i))
                .count();
            (*name, wins, significant)
        })
        .filter(|&(_, wins, _)| wins > 0)
        .collect();
    tally.sort_by_key(|&(_, wins, _)| std::cmp::Reverse(wins));
    let parts: Vec<String> = tally
        .iter()
        .map(|(name, wins, significant)| {
            format!(
                "{name} {wins} of {} ({significant} significant)",
                verdicts.len()
            )
        })
        .collect();
    match parts.is_empty() {
        true => "wins: none\n".to_string(),
        false => format!("wins: {}\n", parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, record};

    fn stats(mean: f64) -> Stats {
        mean_stddev_ci95(&[mean - 1.0, mean + 1.0])
    }

    fn paired(low: f64, high: f64) -> Stats {
        Stats {
            mean: (low + high) / 2.0,
            stddev: 1.0,
            ci95_low: low,
            ci95_high: high,
            runs: 3,
        }
    }

    #[test]
    fn judges_by_direction_and_significance() {
        let s = [stats(3.0), stats(1.0), stats(2.0)];
        let sig = |_, _| paired(0.5, 1.5);
        assert_eq!(
            judge(&s, Better::Lower, fixed3, sig),
            Verdict::Wins(1, Confidence::Significant)
        );
        assert_eq!(
            judge(&s, Better::Higher, fixed3, sig),
            Verdict::Wins(0, Confidence::Significant)
        );
        // The winner and runner-up are what the paired test is asked about.
        let check = |w, r| {
            assert_eq!((w, r), (1, 2));
            paired(-0.5, 1.5)
        };
        assert_eq!(
            judge(&s, Better::Lower, fixed3, check),
            Verdict::Wins(1, Confidence::NotSignificant)
        );
        let one = |_, _| mean_stddev_ci95(&[1.0]);
        assert_eq!(
            judge(&s, Better::Lower, fixed3, one),
            Verdict::Wins(1, Confidence::Unknown)
        );
        assert_eq!(
            judge(&[stats(2.0), stats(2.0)], Better::Lower, fixed3, sig),
            Verdict::Tie(vec![0, 1])
        );
        // Equal as shown is a tie too; the tie names who shares the best mean.
        assert_eq!(
            judge(
                &[stats(3.0), stats(2.0001), stats(2.0)],
                Better::Lower,
                fixed3,
                sig
            ),
            Verdict::Tie(vec![1, 2])
        );
        let empty = mean_stddev_ci95(&[]);
        assert_eq!(
            judge(&[stats(2.0), empty], Better::Lower, fixed3, sig),
            Verdict::Nobody
        );
    }

    #[test]
    fn table_shows_intervals_and_winners() {
        let (a1, a2) = (metrics(1000, 990, 1.0), metrics(1000, 980, 3.0));
        let (b1, b2) = (metrics(1000, 995, 1.5), metrics(1000, 990, 3.4));
        let runs = [
            record("rr", 1, &a1),
            record("rr", 2, &a2),
            record("p2c", 1, &b1),
            record("p2c", 2, &b2),
        ];
        let table = comparison_table(&runs);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + KEY_METRICS.len() + 2, "{table}");
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header, ["metric", "rr", "p2c", "winner"]);
        // Availability: rr 0.985 ± 12.706 * 0.005, p2c 0.9925 ± 12.706 * 0.0025, and
        // p2c is ahead by 0.005 and 0.01: a paired interval of 0.0075 ± 0.032 (n.s.).
        assert!(lines[1].starts_with("availability"), "{table}");
        assert!(lines[1].contains("0.985000 ± 0.063531"), "{table}");
        assert!(lines[1].ends_with("p2c (n.s.)"), "{table}");
        // p50: rr 2.0 vs p2c 2.45, lower is better.
        assert!(lines[2].contains("2.000 ± 12.706"), "{table}");
        assert!(lines[2].ends_with("rr (n.s.)"), "{table}");
        // Load spread is the same in every run: a tie.
        assert!(lines[6].starts_with("load_max/mean") && lines[6].ends_with("all equal"));
        assert!(
            lines[9].starts_with("wins: rr 3 of 7 (0 significant), p2c 2"),
            "{table}"
        );
    }

    #[test]
    fn one_seed_shows_means_without_intervals() {
        let (a, b) = (metrics(1000, 990, 1.0), metrics(1000, 995, 2.0));
        let table = comparison_table(&[record("rr", 1, &a), record("p2c", 1, &b)]);
        assert!(!table.lines().nth(1).unwrap().contains('±'), "{table}");
        assert!(
            table.lines().nth(1).unwrap().ends_with("p2c (?)"),
            "{table}"
        );
    }
}
