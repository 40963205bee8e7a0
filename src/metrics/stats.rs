//! Statistics over seeds: mean, sample standard deviation, 95% Student-t interval.
//!
//! Policy comparisons run few seeds (common random numbers make them paired), so the
//! interval must use the t distribution, not the normal one: with 5 seeds the normal
//! interval is 30% too narrow. The t quantile is computed, not looked up, so any
//! number of seeds gets the right width.

use std::f64::consts::PI;

/// Mean and 95% confidence interval of a metric over runs.
///
/// Fields that need more runs than there are (the standard deviation and the
/// interval with one run; everything with none) are NaN, which the CSV writer turns
/// into empty cells.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1).
    pub stddev: f64,
    /// Lower end of the 95% Student-t confidence interval of the mean.
    pub ci95_low: f64,
    /// Upper end of the same interval.
    pub ci95_high: f64,
    /// Number of samples.
    pub runs: usize,
}

/// Mean, sample standard deviation and 95% t-interval of `samples` (finite values,
/// one per run, in any order; the order is fixed by the caller, so the result is
/// reproducible to the bit).
pub fn mean_stddev_ci95(samples: &[f64]) -> Stats {
    let n = samples.len();
    if n == 0 {
        return Stats {
            mean: f64::NAN,
            stddev: f64::NAN,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
            runs: 0,
        };
    }
    let mean = samples.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Stats {
            mean,
            stddev: f64::NAN,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
            runs: 1,
        };
    }
    let ss: f64 = samples.iter().map(|x| (x - mean) * (x - mean)).sum();
    let stddev = (ss / (n - 1) as f64).sqrt();
    let half = t_quantile_975(n as u64 - 1) * stddev / (n as f64).sqrt();
    Stats {
        mean,
        stddev,
        ci95_low: mean - half,
        ci95_high: mean + half,
        runs: n,
    }
}

/// Degrees of freedom above which the Cornish-Fisher expansion is used: its error
/// there is below 1e-12, and the exact series would cost df/2 terms per step.
const EXACT_MAX_DF: u64 = 1000;

/// The 0.975 quantile of Student's t with `df` degrees of freedom (NaN for 0): the
/// multiplier of the standard error in a two-sided 95% interval.
///
/// Up to 1000 degrees of freedom it inverts the exact closed-form CDF for integer df
/// by bisection (accurate to about 1e-13); beyond, a four-term Cornish-Fisher
/// expansion around the normal quantile 1.959964.
pub fn t_quantile_975(df: u64) -> f64 {
    match df {
        0 => f64::NAN,
        1..=EXACT_MAX_DF => {
            let (mut lo, mut hi) = (0.0_f64, 16.0_f64); // t(1) = 12.71 is the largest
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if central_probability(mid, df) < 0.95 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        }
        _ => cornish_fisher_975(df as f64),
    }
}

/// P(|T| <= t) for Student's t with integer `df` >= 1 (Abramowitz and Stegun
/// 26.7.3 and 26.7.4): a finite trigonometric series, no special functions needed.
fn central_probability(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    if df % 2 == 1 {
        // 2/pi (theta + s (c + 2/3 c^3 + ... + 2*4..(df-3) / (1*3..(df-2)) c^(df-2))).
        let mut sum = 0.0;
        if df > 1 {
            let mut term = c;
            sum = term;
            let mut j = 1;
            while 2 * j + 1 < df {
                term *= c2 * (2 * j) as f64 / (2 * j + 1) as f64;
                sum += term;
                j += 1;
            }
        }
        2.0 / PI * (theta + s * sum)
    } else {
        // s (1 + 1/2 c^2 + 1*3/(2*4) c^4 + ... + 1*3..(df-3) / (2*4..(df-2)) c^(df-2)).
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut j = 1;
        while 2 * j < df {
            term *= c2 * (2 * j - 1) as f64 / (2 * j) as f64;
            sum += term;
            j += 1;
        }
        s * sum
    }
}

/// Cornish-Fisher expansion of the t quantile in powers of 1/df (Abramowitz and
/// Stegun 26.7.5), around the normal 0.975 quantile.
fn cornish_fisher_975(df: f64) -> f64 {
    const Z: f64 = 1.959_963_984_540_054;
    let z2 = Z * Z;
    let g1 = (z2 + 1.0) * Z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * Z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * Z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * Z / 92160.0;
    Z + g1 / df + g2 / df.powi(2) + g3 / df.powi(3) + g4 / df.powi(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(df: u64, want: f64, tol: f64) {
        let got = t_quantile_975(df);
        assert!((got - want).abs() <= tol, "t({df}) = {got}, want {want}");
    }

    #[test]
    fn t_quantiles_match_tables() {
        check(1, 12.706, 5e-4);
        check(2, 4.303, 5e-4);
        check(9, 2.262, 5e-4);
        check(29, 2.045, 5e-4);
        check(u64::MAX, 1.960, 5e-4);
        // More digits (mpmath, inverting the regularized incomplete beta function).
        check(1, 12.706_204_736_174_7, 1e-9);
        check(2, 4.302_652_729_749_464, 1e-9);
        check(4, 2.776_445_105_197_8, 1e-9);
        check(9, 2.262_157_162_798_2, 1e-9);
        check(29, 2.045_229_642_132_7, 1e-9);
        check(100, 1.983_971_518_523_6, 1e-9);
        check(1000, 1.962_339_080_826_408, 1e-9);
        check(1001, 1.962_336_705_280_88, 1e-9);
        check(100_000, 1.959_987_707_534_61, 1e-9);
    }

    #[test]
    fn exact_and_expansion_agree_at_the_switch() {
        let exact = t_quantile_975(EXACT_MAX_DF);
        let approx = cornish_fisher_975(EXACT_MAX_DF as f64);
        assert!((exact - approx).abs() < 1e-11, "{exact} vs {approx}");
        // Monotone: more freedom, narrower interval.
        for df in 1..60 {
            assert!(t_quantile_975(df) > t_quantile_975(df + 1));
        }
    }

    #[test]
    fn mean_and_interval_on_a_known_sample() {
        let s = mean_stddev_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.runs, 5);
        assert_eq!(s.mean, 3.0);
        assert!((s.stddev - 2.5f64.sqrt()).abs() < 1e-15);
        let half = 2.776_445_105_197_8 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((s.ci95_low - (3.0 - half)).abs() < 1e-9);
        assert!((s.ci95_high - (3.0 + half)).abs() < 1e-9);
    }

    #[test]
    fn too_few_runs_give_nan_not_zero() {
        let one = mean_stddev_ci95(&[0.25]);
        assert_eq!((one.mean, one.runs), (0.25, 1));
        assert!(one.stddev.is_nan() && one.ci95_low.is_nan() && one.ci95_high.is_nan());
        let none = mean_stddev_ci95(&[]);
        assert_eq!(none.runs, 0);
        assert!(none.mean.is_nan());
        assert!(t_quantile_975(0).is_nan());
    }

    #[test]
    fn identical_runs_have_a_zero_width_interval() {
        let s = mean_stddev_ci95(&[0.5, 0.5, 0.5]);
        assert_eq!((s.stddev, s.ci95_low, s.ci95_high), (0.0, 0.5, 0.5));
    }
}
