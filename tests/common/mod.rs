//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;

use hasim::scenario::{Override, Scenario};

/// Loads scenario `text` (as if from `name.toml`) with `--set`-style overrides.
pub fn scenario(text: &str, sets: &[&str]) -> Scenario {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse_assignment(s).unwrap())
        .collect();
    Scenario::from_text(Path::new("test.toml"), text, &overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// Two-sided 99% Student-t quantile (0.995) for `df` degrees of freedom.
pub fn t_995(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055, 3.012,
        2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779,
        2.771, 2.763, 2.756, 2.750,
    ];
    if df == 0 {
        f64::INFINITY
    } else if df <= 30 {
        TABLE[df - 1]
    } else {
        2.576 + 2.8 / df as f64
    }
}

/// Mean and 99% half-width of independent samples (one per seed).
pub fn interval_99(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, t_995(samples.len() - 1) * (var / n).sqrt())
}

/// Asserts that `theory` lies in the 99% interval of `samples`, and that the interval
/// is tight enough (`max_rel_half_width` of theory) for the check to mean something.
pub fn assert_matches_theory(what: &str, samples: &[f64], theory: f64, max_rel_half_width: f64) {
    let (mean, half) = interval_99(samples);
    assert!(
        half <= max_rel_half_width * theory,
        "{what}: interval too wide to judge: {mean:.4} +- {half:.4} (theory {theory:.4})"
    );
    assert!(
        (mean - theory).abs() <= half,
        "{what}: simulated {mean:.4} +- {half:.4} (99%), theory {theory:.4}"
    );
    eprintln!("{what}: simulated {mean:.4} +- {half:.4} (99%), theory {theory:.4}");
}

/// Runs `scenario` for each seed and returns `f(summary)` per seed.
pub fn per_seed(
    scenario: &Scenario,
    seeds: std::ops::Range<u64>,
    f: impl Fn(&hasim::metrics::Summary) -> f64,
) -> Vec<f64> {
    seeds
        .map(|seed| f(&hasim::sim::run(scenario, seed).unwrap().metrics.summary))
        .collect()
}
