//! `paired.csv`: how much each variant differs from the first one, seed by seed.
//!
//! Every variant of a comparison runs the same seeds, and random streams are split by
//! entity and role (DESIGN.md, invariant 5), so with the same seed two variants see
//! the same arrivals, service times and faults. The noise those share cancels in the
//! per-seed difference `variant - baseline`, so the Student-t interval of the mean
//! difference is much tighter than the two variants' own intervals suggest
//! (common random numbers). If that interval excludes 0, the difference is real at
//! 95% confidence; if it contains 0, these seeds cannot tell the variants apart.
//!
//! Columns: `variant,baseline,metric,mean_diff,stddev_diff,ci95_low,ci95_high,runs`;
//! one row per variant after the first, and per numeric `summary.csv` column, in the
//! order of `comparison.csv`. `runs` counts the seeds where both variants have a value
//! (latency is empty for a run without `ok` calls); fewer than 2 leave the interval
//! empty.

use std::path::Path;

use super::csv::{create_dir, write_atomic, Sink};
use super::format;
use super::{ReportError, Results, RunValues};
use crate::metrics::stats::{mean_stddev_ci95, Stats};

/// The header of `paired.csv`.
const HEADER: [&str; 8] = [
    "variant",
    "baseline",
    "metric",
    "mean_diff",
    "stddev_diff",
    "ci95_low",
    "ci95_high",
    "runs",
];

/// Writes `paired.csv` into `dir` (created if missing): every other variant (in plan
/// order) against the baseline, for every numeric summary metric. The baseline is
/// the variant named `baseline` (`compare --baseline`) if it has runs, else the
/// first. With one variant the file has only its header.
pub fn write_paired_csv(
    dir: &Path,
    results: &Results,
    baseline: Option<&str>,
) -> Result<(), ReportError> {
    create_dir(dir)?;
    write_atomic(&dir.join("paired.csv"), |out| {
        write_paired(out, results, baseline)
    })
}

/// `(seed, value of metric number `index`)` for each run, in order.
pub(super) fn seed_values(runs: &[&RunValues], index: usize) -> Vec<(u64, Option<f64>)> {
    runs.iter().map(|r| (r.seed, r.value(index))).collect()
}

/// Statistics of the paired differences of metric number `index` between the runs
/// of `variant` and those of `baseline`.
pub(super) fn paired_stats(variant: &[&RunValues], baseline: &[&RunValues], index: usize) -> Stats {
    mean_stddev_ci95(&differences(
        &seed_values(variant, index),
        &seed_values(baseline, index),
    ))
}

/// Per-seed differences `variant - baseline`: for each variant value, in order, the
/// first baseline value with the same seed. Seeds missing on either side, or without
/// a value on either side, are left out.
pub(super) fn differences(
    variant: &[(u64, Option<f64>)],
    baseline: &[(u64, Option<f64>)],
) -> Vec<f64> {
    variant
        .iter()
        .filter_map(|&(seed, value)| {
            let base = baseline.iter().find(|(s, _)| *s == seed)?.1?;
            Some(value? - base)
        })
        .collect()
}

fn write_paired(out: &mut Sink, results: &Results, baseline: Option<&str>) -> ::csv::Result<()> {
    out.write_record(HEADER)?;
    let mut groups = results.by_variant();
    if let Some(i) = groups
        .iter()
        .position(|(v, _)| Some(results.name(*v)) == baseline)
    {
        let chosen = groups.remove(i);
        groups.insert(0, chosen);
    }
    let Some(((baseline, base_runs), others)) = groups.split_first() else {
        return Ok(());
    };
    let metrics = super::summary_columns();
    for (variant, members) in others {
        for (index, metric) in metrics.iter().enumerate() {
            let s = paired_stats(members, base_runs, index);
            let labels = [
                results.name(*variant).to_string(),
                results.name(*baseline).to_string(),
                metric.to_string(),
            ];
            out.write_record(labels.into_iter().chain(format::stats(&s)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, results};
    use crate::report::summary_columns;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// 1000 replications at 95%: the number of intervals that cover the true value is
    /// Binomial(1000, 0.95), standard deviation 6.9; 4 standard deviations either side.
    const REPLICATIONS: usize = 1000;
    const COVER_MIN: usize = 922;
    const COVER_MAX: usize = 978;

    fn covers(s: &Stats, truth: f64) -> bool {
        s.ci95_low <= truth && truth <= s.ci95_high
    }

    #[test]
    fn interval_covers_a_known_mean_95_percent_of_the_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(20240611);
        let normal = Normal::new(5.0, 2.0).unwrap();
        for n in [3, 10] {
            let covered = (0..REPLICATIONS)
                .filter(|_| {
                    let samples: Vec<f64> = (0..n).map(|_| normal.sample(&mut rng)).collect();
                    covers(&mean_stddev_ci95(&samples), 5.0)
                })
                .count();
            assert!(
                (COVER_MIN..=COVER_MAX).contains(&covered),
                "n = {n}: {covered} of {REPLICATIONS} intervals cover the mean"
            );
        }
    }

    /// Variant = baseline + 0.3 + small noise, on top of a large noise both share (the
    /// seed): the paired interval covers 0.3 about 95% of the time, is far narrower
    /// than the unpaired intervals, and excludes 0 where they overlap.
    #[test]
    fn paired_interval_covers_the_true_difference_and_is_tighter() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let shared = Normal::new(100.0, 10.0).unwrap();
        let own = Normal::new(0.0, 0.1).unwrap();
        let (mut covered, mut paired_width, mut unpaired_width, mut excludes_zero) =
            (0, 0.0, 0.0, 0);
        for _ in 0..REPLICATIONS {
            let (mut base, mut var) = (Vec::new(), Vec::new());
            for seed in 0..5u64 {
                let common = shared.sample(&mut rng);
                base.push((seed, Some(common + own.sample(&mut rng))));
                var.push((seed, Some(common + 0.3 + own.sample(&mut rng))));
            }
            // The pairing is by seed, not by position.
            var.reverse();
            let s = mean_stddev_ci95(&differences(&var, &base));
            assert_eq!(s.runs, 5);
            covered += usize::from(covers(&s, 0.3));
            excludes_zero += usize::from(!covers(&s, 0.0));
            paired_width += s.ci95_high - s.ci95_low;
            let alone: Vec<f64> = base.iter().filter_map(|v| v.1).collect();
            let u = mean_stddev_ci95(&alone);
            unpaired_width += u.ci95_high - u.ci95_low;
        }
        assert!(
            (COVER_MIN..=COVER_MAX).contains(&covered),
            "{covered} of {REPLICATIONS} paired intervals cover the difference"
        );
        assert!(
            paired_width * 20.0 < unpaired_width,
            "{paired_width} vs {unpaired_width}"
        );
        assert!(excludes_zero > 900, "{excludes_zero}");
    }

    #[test]
    fn differences_skip_missing_seeds_and_values() {
        let var = [(1, Some(3.0)), (2, None), (3, Some(5.0)), (4, Some(1.0))];
        let base = [(3, Some(1.0)), (1, Some(1.0)), (2, Some(1.0)), (4, None)];
        assert_eq!(differences(&var, &base), [2.0, 4.0]);
        assert!(differences(&var, &[]).is_empty());
    }

    #[test]
    fn csv_has_one_row_per_later_variant_and_metric() {
        let tmp = tempfile::tempdir().unwrap();
        let (a1, a2, b1, b2) = (
            metrics(1000, 990, 1.0),
            metrics(1000, 980, 3.0),
            metrics(1000, 995, 2.0),
            metrics(1000, 990, 3.5),
        );
        let (res, _) = results(&[
            ("rr", 1, &a1),
            ("rr", 2, &a2),
            ("p2c", 1, &b1),
            ("p2c", 2, &b2),
        ]);
        write_paired_csv(tmp.path(), &res, None).unwrap();
        let text = std::fs::read_to_string(tmp.path().join("paired.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(lines.len(), 1 + summary_columns().len());
        assert_eq!(lines[1], "p2c,rr,calls,0,0,0,0,2");
        // p50 differences 1.0 and 0.5: mean 0.75, sd 0.3536, t(1) = 12.706.
        let p50 = lines
            .iter()
            .find(|l| l.starts_with("p2c,rr,latency_p50_ms,"))
            .unwrap();
        let cells: Vec<f64> = p50.split(',').skip(3).map(|c| c.parse().unwrap()).collect();
        assert_eq!(cells[0], 0.75);
        assert!((cells[1] - 0.5f64.sqrt() / 2.0).abs() < 1e-12);
        assert!((cells[2] - (0.75 - 12.706_204_736 * 0.25)).abs() < 1e-6);
        assert_eq!(cells[4], 2.0);

        // One variant: just the header.
        let (one, _) = results(&[("rr", 1, &a1), ("rr", 2, &a2)]);
        write_paired_csv(tmp.path(), &one, None).unwrap();
        let text = std::fs::read_to_string(tmp.path().join("paired.csv")).unwrap();
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn a_named_baseline_goes_first() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            metrics(1000, 990, 1.0),
            metrics(1000, 980, 3.0),
            metrics(1000, 995, 2.0),
        );
        let (res, _) = results(&[("rr", 1, &a), ("p2c", 1, &b), ("ewma", 1, &c)]);
        write_paired_csv(tmp.path(), &res, Some("p2c")).unwrap();
        let text = std::fs::read_to_string(tmp.path().join("paired.csv")).unwrap();
        let pairs: Vec<(&str, &str)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let mut cells = l.split(',');
                (cells.next().unwrap(), cells.next().unwrap())
            })
            .collect();
        assert!(pairs.iter().all(|p| p.1 == "p2c"), "{text}");
        assert_eq!(pairs[0].0, "rr");
        assert_eq!(pairs.last().unwrap().0, "ewma");
    }
}
