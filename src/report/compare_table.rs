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
//!
//! Latency counts only `ok` calls, and a call refused by an open breaker makes no
//! attempt, so a variant that fails many calls can look fast and frugal. A variant
//! whose availability is significantly worse (paired, 95%) than the runner-up's
//! therefore cannot win a latency, attempts or load metric: the next one in line
//! does, and a footnote names who was passed over.
//!
//! With many variants the table is turned: variants as rows, metrics as columns,
//! cut into blocks that fit [`WIDTH`](super::table::WIDTH) columns.

use super::paired::{paired_stats, seed_values};
use super::table::{align, availability, count, display_names, fixed3, wrap, WIDTH};
use super::{summary_columns, Results, RunValues};
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
    /// Winning needs an availability not significantly worse than the runner-up's.
    needs_availability: bool,
}

const KEY_METRICS: [KeyMetric; 7] = [
    KeyMetric {
        column: "availability",
        label: "availability",
        better: Better::Higher,
        show: availability,
        needs_availability: false,
    },
    KeyMetric {
        column: "latency_p50_ms",
        label: "p50_ms",
        better: Better::Lower,
        show: fixed3,
        needs_availability: true,
    },
    KeyMetric {
        column: "latency_p99_ms",
        label: "p99_ms",
        better: Better::Lower,
        show: fixed3,
        needs_availability: true,
    },
    KeyMetric {
        column: "latency_p999_ms",
        label: "p999_ms",
        better: Better::Lower,
        show: fixed3,
        needs_availability: true,
    },
    KeyMetric {
        column: "attempts_per_call",
        label: "attempts/call",
        better: Better::Lower,
        show: fixed3,
        needs_availability: true,
    },
    KeyMetric {
        column: "load_max_over_mean",
        label: "load_max/mean",
        better: Better::Lower,
        show: fixed3,
        needs_availability: true,
    },
    KeyMetric {
        column: "windows_meeting_slo",
        label: "slo_windows",
        better: Better::Higher,
        show: count,
        needs_availability: false,
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
    /// Every other variant was passed over (worse availability): no runner-up.
    Alone,
}

/// A metric's verdict and the variants passed over for worse availability.
struct Judged {
    verdict: Verdict,
    passed_over: Vec<usize>,
}

/// The comparison table of `results` (variants in plan order), with a legend and a
/// line counting each variant's wins. Ends with a newline.
pub fn comparison_table(results: &Results) -> String {
    let groups = results.by_variant();
    let all_names = display_names(results);
    let names: Vec<&str> = groups.iter().map(|(v, _)| all_names[*v].as_str()).collect();
    let columns = summary_columns();
    let index_of = |column: &str| {
        columns
            .iter()
            .position(|n| *n == column)
            .expect("every key metric is a summary column")
    };
    let availability_index = index_of("availability");
    let members: Vec<&[&RunValues]> = groups.iter().map(|(_, m)| m.as_slice()).collect();
    // Whether `w`'s availability is significantly below `r`'s (paired, same seeds).
    let worse = |w: usize, r: usize| {
        let d = paired_stats(members[w], members[r], availability_index);
        d.runs >= 2 && d.ci95_high.is_finite() && d.ci95_high < 0.0
    };
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut judged = Vec::new();
    for metric in &KEY_METRICS {
        let index = index_of(metric.column);
        let stats: Vec<Stats> = members
            .iter()
            .map(|m| {
                let values: Vec<f64> = seed_values(m, index)
                    .into_iter()
                    .filter_map(|(_, v)| v)
                    .collect();
                mean_stddev_ci95(&values)
            })
            .collect();
        let j = judge(
            &stats,
            metric.better,
            metric.show,
            |w, r| paired_stats(members[w], members[r], index),
            |w, r| metric.needs_availability && worse(w, r),
        );
        cells.push(stats.iter().map(|s| cell(s, metric.show)).collect());
        judged.push(j);
    }
    let verdicts: Vec<String> = judged
        .iter()
        .map(|j| verdict_text(&j.verdict, &names))
        .collect();
    let labels: Vec<&str> = KEY_METRICS.iter().map(|m| m.label).collect();
    let mut out = layout_table(&names, &labels, &cells, &verdicts);
    let seeds = members.iter().map(|m| m.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "mean ± 95% interval half-width over {seeds} seed(s); winner: best mean;\n\
         (n.s.): not significantly better than the runner-up (paired, same seeds)\n"
    ));
    out.push_str(
        "a variant whose availability is significantly worse than the runner-up's \
         cannot win latency, attempts or load\n",
    );
    for (metric, j) in KEY_METRICS.iter().zip(&judged) {
        if !j.passed_over.is_empty() {
            let who: Vec<&str> = j.passed_over.iter().map(|&i| names[i]).collect();
            out.push_str(&wrap(
                &format!(
                    "  {}: passed over {} (availability significantly worse)",
                    metric.label,
                    who.join(", ")
                ),
                4,
            ));
        }
    }
    let verdicts: Vec<Verdict> = judged.into_iter().map(|j| j.verdict).collect();
    out.push_str(&wins_line(&names, &verdicts));
    out
}

/// The winner column's text for a verdict.
fn verdict_text(verdict: &Verdict, names: &[&str]) -> String {
    match verdict {
        Verdict::Nobody => "-".to_string(),
        Verdict::Tie(tied) if tied.len() == names.len() => "all equal".to_string(),
        Verdict::Tie(tied) => {
            let who: Vec<&str> = tied.iter().map(|&i| names[i]).collect();
            format!("tie: {}", who.join(", "))
        }
        Verdict::Wins(w, confidence) => {
            let mark = match confidence {
                Confidence::Significant => "",
                Confidence::NotSignificant => " (n.s.)",
                Confidence::Unknown => " (?)",
                Confidence::Alone => " (others passed over)",
            };
            format!("{}{mark}", names[*w])
        }
    }
}

/// Metrics as rows and variants as columns when that fits [`WIDTH`]; otherwise
/// variants as rows, metrics as columns and a `winner` row, cut into blocks.
fn layout_table(
    names: &[&str],
    labels: &[&str],
    cells: &[Vec<String>],
    verdicts: &[String],
) -> String {
    let mut rows: Vec<Vec<String>> = vec![std::iter::once("metric")
        .chain(names.iter().copied())
        .chain(std::iter::once("winner"))
        .map(str::to_string)
        .collect()];
    for ((label, row), verdict) in labels.iter().zip(cells).zip(verdicts) {
        let mut r = vec![label.to_string()];
        r.extend(row.iter().cloned());
        r.push(verdict.clone());
        rows.push(r);
    }
    let text = align(&rows);
    if text.lines().all(|l| l.chars().count() <= WIDTH) && !text.contains("\n\n") {
        return text;
    }
    let mut turned: Vec<Vec<String>> = vec![std::iter::once("variant")
        .chain(labels.iter().copied())
        .map(str::to_string)
        .collect()];
    for (v, name) in names.iter().enumerate() {
        let mut r = vec![name.to_string()];
        r.extend(cells.iter().map(|row| row[v].clone()));
        turned.push(r);
    }
    let mut out = align(&turned);
    out.push_str("winner per metric:\n");
    for (label, verdict) in labels.iter().zip(verdicts) {
        out.push_str(&wrap(&format!("  {label}: {verdict}"), 4));
    }
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
/// is not worth a winner, even when it is consistent. A would-be winner for which
/// `disqualified(winner, runner_up)` holds is passed over, and the next in line is
/// judged in its place.
fn judge(
    stats: &[Stats],
    better: Better,
    show: fn(f64) -> String,
    paired: impl Fn(usize, usize) -> Stats,
    disqualified: impl Fn(usize, usize) -> bool,
) -> Judged {
    let mut ranked: Vec<usize> = (0..stats.len()).filter(|&i| stats[i].runs > 0).collect();
    ranked.sort_by(|&a, &b| {
        let order = stats[a].mean.total_cmp(&stats[b].mean);
        match better {
            Better::Higher => order.reverse(),
            Better::Lower => order,
        }
    });
    if ranked.len() < 2 {
        return Judged {
            verdict: Verdict::Nobody,
            passed_over: Vec::new(),
        };
    }
    let mut passed_over = Vec::new();
    while ranked.len() >= 2 && disqualified(ranked[0], ranked[1]) {
        passed_over.push(ranked.remove(0));
    }
    let verdict = match ranked[..] {
        [alone] => Verdict::Wins(alone, Confidence::Alone),
        [winner, runner_up, ..] => {
            let shown = show(stats[winner].mean);
            if show(stats[runner_up].mean) == shown {
                let mut tied: Vec<usize> = ranked
                    .iter()
                    .copied()
                    .filter(|&i| show(stats[i].mean) == shown)
                    .collect();
                tied.sort_unstable();
                Verdict::Tie(tied)
            } else {
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
        }
        [] => Verdict::Nobody,
    };
    Judged {
        verdict,
        passed_over,
    }
}

/// `wins: p2c 5 of 7 (4 significant), round_robin 1 of 7 (0 significant)`: variants
/// with at least one win, most wins first (table order among equals); words that
/// cannot be taken for a variant's name when nobody won anything.
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
        true => "wins: no variant is best on any metric (ties or too few values)\n".to_string(),
        false => wrap(&format!("wins: {}", parts.join(", ")), 6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, results};

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
            judge(&s, Better::Lower, fixed3, sig, |_, _| false).verdict,
            Verdict::Wins(1, Confidence::Significant)
        );
        assert_eq!(
            judge(&s, Better::Higher, fixed3, sig, |_, _| false).verdict,
            Verdict::Wins(0, Confidence::Significant)
        );
        // The winner and runner-up are what the paired test is asked about.
        let check = |w, r| {
            assert_eq!((w, r), (1, 2));
            paired(-0.5, 1.5)
        };
        assert_eq!(
            judge(&s, Better::Lower, fixed3, check, |_, _| false).verdict,
            Verdict::Wins(1, Confidence::NotSignificant)
        );
        let one = |_, _| mean_stddev_ci95(&[1.0]);
        assert_eq!(
            judge(&s, Better::Lower, fixed3, one, |_, _| false).verdict,
            Verdict::Wins(1, Confidence::Unknown)
        );
        assert_eq!(
            judge(
                &[stats(2.0), stats(2.0)],
                Better::Lower,
                fixed3,
                sig,
                |_, _| false
            )
            .verdict,
            Verdict::Tie(vec![0, 1])
        );
        // Equal as shown is a tie too; the tie names who shares the best mean.
        assert_eq!(
            judge(
                &[stats(3.0), stats(2.0001), stats(2.0)],
                Better::Lower,
                fixed3,
                sig,
                |_, _| false
            )
            .verdict,
            Verdict::Tie(vec![1, 2])
        );
        let empty = mean_stddev_ci95(&[]);
        assert_eq!(
            judge(&[stats(2.0), empty], Better::Lower, fixed3, sig, |_, _| {
                false
            })
            .verdict,
            Verdict::Nobody
        );
    }

    #[test]
    fn table_shows_intervals_and_winners() {
        let (a1, a2) = (metrics(1000, 990, 1.0), metrics(1000, 980, 3.0));
        let (b1, b2) = (metrics(1000, 995, 1.5), metrics(1000, 990, 3.4));
        let runs = [
            ("rr", 1, &a1),
            ("rr", 2, &a2),
            ("p2c", 1, &b1),
            ("p2c", 2, &b2),
        ];
        let (res, _) = results(&runs);
        let table = comparison_table(&res);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + KEY_METRICS.len() + 4, "{table}");
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
            lines[11].starts_with("wins: rr 3 of 7 (0 significant), p2c 2"),
            "{table}"
        );
    }

    #[test]
    fn one_seed_shows_means_without_intervals() {
        let (a, b) = (metrics(1000, 990, 1.0), metrics(1000, 995, 2.0));
        let (res, _) = results(&[("rr", 1, &a), ("p2c", 1, &b)]);
        let table = comparison_table(&res);
        assert!(!table.lines().nth(1).unwrap().contains('±'), "{table}");
        assert!(
            table.lines().nth(1).unwrap().ends_with("p2c (?)"),
            "{table}"
        );
    }

    #[test]
    fn worse_availability_cannot_win_latency() {
        let s = [stats(3.0), stats(1.0), stats(2.0)];
        let sig = |_, _| paired(0.5, 1.5);
        // Variant 1 is fastest but fails more: variant 2 wins, 1 is passed over.
        let j = judge(&s, Better::Lower, fixed3, sig, |w, _| w == 1);
        assert_eq!(j.verdict, Verdict::Wins(2, Confidence::Significant));
        assert_eq!(j.passed_over, [1]);
        // Everyone but one passed over: it wins alone.
        let j = judge(&s, Better::Lower, fixed3, sig, |w, _| w != 0);
        assert_eq!(j.verdict, Verdict::Wins(0, Confidence::Alone));
        assert_eq!(j.passed_over, [1, 2]);
    }

    #[test]
    fn nobody_winning_reads_as_words() {
        let line = wins_line(
            &["none", "retries"],
            &[Verdict::Nobody, Verdict::Tie(vec![0, 1])],
        );
        assert!(!line.contains("none"), "{line}");
        assert!(line.starts_with("wins: no variant"), "{line}");
    }

    #[test]
    fn many_variants_turn_the_table_within_the_width() {
        let m: Vec<_> = (0..12)
            .map(|i| metrics(1000, 990 - i, 1.0 + i as f64))
            .collect();
        let names: Vec<String> = (0..12)
            .map(|i| format!("balancer=p2c attempts={i}"))
            .collect();
        let runs: Vec<(&str, u64, &crate::metrics::RunMetrics)> = names
            .iter()
            .zip(&m)
            .flat_map(|(n, m)| [(n.as_str(), 1, m), (n.as_str(), 2, m)])
            .collect();
        let (res, _) = results(&runs);
        let table = comparison_table(&res);
        assert!(table.lines().all(|l| l.chars().count() <= WIDTH), "{table}");
        assert!(table.starts_with("variant "), "{table}");
        assert!(table.contains("balancer=p2c attempts=11"), "{table}");
    }
}
