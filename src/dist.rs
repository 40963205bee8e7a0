//! Latency and service-time distributions.
//!
//! A scenario writes a distribution as a bare duration (`"2ms"`, constant) or as a
//! table `{ dist = "lognormal", median = "1ms", p99 = "20ms" }`. Parsing checks every
//! parameter once; sampling afterwards is total and returns whole nanoseconds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};
use serde::{de, Deserialize, Deserializer};

use crate::time::{nanos, parse_duration};

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// A validated distribution of durations, sampled in whole nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Constant { ns: u64 },
    /// Uniform in `[min, max]`.
    Uniform { min_ns: u64, max_ns: u64 },
    /// Exponential with the given mean.
    Exponential { mean_ns: f64 },
    /// `exp(N(mu, sigma^2))` nanoseconds.
    LogNormal { mu: f64, sigma: f64 },
    /// Pareto (type I): `scale * U^(-1/shape)`, never below `scale`.
    Pareto { scale_ns: f64, shape: f64 },
    /// `slow` with probability `slow_probability`, else `fast`.
    Bimodal {
        fast: Box<Dist>,
        slow: Box<Dist>,
        slow_probability: f64,
    },
    /// Uniform over the durations listed in a CSV file (loaded by the scenario loader).
    Empirical {
        file: PathBuf,
        samples_ns: Arc<[u64]>,
    },
}

impl Dist {
    /// A constant distribution.
    pub fn constant(d: Duration) -> Dist {
        Dist::Constant { ns: nanos(d) }
    }

    /// Draws one value in nanoseconds.
    #[inline]
    pub fn sample_ns<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            Dist::Constant { ns } => *ns,
            Dist::Uniform { min_ns, max_ns } => rng.random_range(*min_ns..=*max_ns),
            Dist::Exponential { mean_ns } => to_ns(rng.sample::<f64, _>(Exp1) * mean_ns),
            Dist::LogNormal { mu, sigma } => {
                let z: f64 = rng.sample(StandardNormal);
                to_ns((mu + sigma * z).exp())
            }
            Dist::Pareto { scale_ns, shape } => {
                // 1 - u is in (0, 1], so the power is finite.
                let u: f64 = 1.0 - rng.random::<f64>();
                to_ns(scale_ns * u.powf(-1.0 / shape))
            }
            Dist::Bimodal {
                fast,
                slow,
                slow_probability,
            } => {
                if rng.random::<f64>() < *slow_probability {
                    slow.sample_ns(rng)
                } else {
                    fast.sample_ns(rng)
                }
            }
            Dist::Empirical { samples_ns, .. } => samples_ns[rng.random_range(0..samples_ns.len())],
        }
    }

    /// The mean in nanoseconds (infinite for a Pareto with shape <= 1). An empirical
    /// distribution whose file is not read yet reports `f64::MAX` ("unknown, but not
    /// zero"): validation runs before files are read, and must not reject it.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Constant { ns } => *ns as f64,
            Dist::Uniform { min_ns, max_ns } => (*min_ns as f64 + *max_ns as f64) / 2.0,
            Dist::Exponential { mean_ns } => *mean_ns,
            Dist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Pareto { scale_ns, shape } if *shape > 1.0 => scale_ns * shape / (shape - 1.0),
            Dist::Pareto { .. } => f64::INFINITY,
            Dist::Bimodal {
                fast,
                slow,
                slow_probability: p,
            } => (1.0 - p) * fast.mean_ns() + p * slow.mean_ns(),
            Dist::Empirical { samples_ns, .. } if samples_ns.is_empty() => f64::MAX,
            Dist::Empirical { samples_ns, .. } => {
                samples_ns.iter().map(|&s| s as f64).sum::<f64>() / samples_ns.len() as f64
            }
        }
    }

    /// Files this distribution still needs to read (empirical samples not yet loaded).
    pub fn pending_files_mut(&mut self) -> Vec<&mut Dist> {
        match self {
            Dist::Empirical { samples_ns, .. } if samples_ns.is_empty() => vec![self],
            Dist::Bimodal { fast, slow, .. } => {
                let mut v = fast.pending_files_mut();
                v.extend(slow.pending_files_mut());
                v
            }
            _ => Vec::new(),
        }
    }
}

/// Rounds a sampled float to whole nanoseconds (half away from zero, as `f64::round`),
/// saturating instead of overflowing; negative and NaN give 0.
///
/// Without SSE4.1 in the target's baseline, `f64::round` is a call to a software
/// routine: 1.3% of W1's time for one sample per call (`perf`, issue 14). For the
/// usual sample, in `[0, 2^63)`, truncating through `i64` (one instruction each way;
/// `u64` conversions take several) and comparing the exact remainder with one half
/// gives the same result: for `x >= 1` the truncation is at least `x / 2`, so
/// `x - trunc(x)` is exact (Sterbenz), and from 2^52 up every float is whole.
#[inline]
fn to_ns(x: f64) -> u64 {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if (0.0..TWO_TO_63).contains(&x) {
        let whole = x as i64;
        let up = x - whole as f64 >= 0.5;
        return (whole + i64::from(up)) as u64;
    }
    if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x.round() as u64 // negative, NaN (both 0), or in [2^63, 2^64)
    }
}

/// Reads the durations of an empirical distribution: one per line or per CSV field,
/// each with a unit (`"1.2ms"`) or a bare number of milliseconds; a header line of
/// text is skipped.
pub fn read_empirical(text: &str) -> Result<Vec<u64>, String> {
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for field in line.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let value = match field.parse::<f64>() {
                Ok(ms) if ms >= 0.0 && ms.is_finite() => to_ns(ms * 1e6),
                Ok(_) => return Err(format!("line {}: `{field}` is negative", i + 1)),
                Err(_) => match parse_duration(field) {
                    Ok(d) => nanos(d),
                    Err(_) if i == 0 => continue, // a header
                    Err(e) => return Err(format!("line {}: {e}", i + 1)),
                },
            };
            samples.push(value);
        }
    }
    if samples.is_empty() {
        return Err("the file holds no durations".to_string());
    }
    Ok(samples)
}

/// The TOML form of a distribution before validation: every parameter any kind takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistTable {
    dist: String,
    value: Option<String>,
    min: Option<String>,
    max: Option<String>,
    mean: Option<String>,
    median: Option<String>,
    p99: Option<String>,
    stddev: Option<String>,
    scale: Option<String>,
    shape: Option<f64>,
    fast: Option<Dist>,
    slow: Option<Dist>,
    slow_probability: Option<f64>,
    file: Option<String>,
}

/// Kinds and the parameters each takes, for error messages.
const KINDS: &str = "constant (value), uniform (min, max), exponential (mean), \
lognormal (median + p99, or mean + stddev), pareto (scale, shape), \
bimodal (fast, slow, slow_probability), empirical (file)";

impl DistTable {
    /// Every parameter given, by name, so unexpected ones can be named.
    fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |name, present: bool| {
            if present {
                v.push(name)
            }
        };
        add("value", self.value.is_some());
        add("min", self.min.is_some());
        add("max", self.max.is_some());
        add("mean", self.mean.is_some());
        add("median", self.median.is_some());
        add("p99", self.p99.is_some());
        add("stddev", self.stddev.is_some());
        add("scale", self.scale.is_some());
        add("shape", self.shape.is_some());
        add("fast", self.fast.is_some());
        add("slow", self.slow.is_some());
        add("slow_probability", self.slow_probability.is_some());
        add("file", self.file.is_some());
        v
    }

    fn into_dist(self) -> Result<Dist, String> {
        let kind = self.dist.clone();
        let allowed: &[&str] = match kind.as_str() {
            "constant" => &["value"],
            "uniform" => &["min", "max"],
            "exponential" => &["mean"],
            "lognormal" => &["median", "p99", "mean", "stddev"],
            "pareto" => &["scale", "shape"],
            "bimodal" => &["fast", "slow", "slow_probability"],
            "empirical" => &["file"],
            other => return Err(format!("unknown dist `{other}`; valid: {KINDS}")),
        };
        if let Some(extra) = self.given().into_iter().find(|p| !allowed.contains(p)) {
            return Err(format!(
                "`{extra}` is not a parameter of dist `{kind}` (it takes {})",
                allowed.join(", ")
            ));
        }
        let need = |v: Option<String>, name: &str| -> Result<u64, String> {
            let text = v.ok_or_else(|| format!("dist `{kind}` needs `{name}`"))?;
            parse_duration(&text)
                .map(nanos)
                .map_err(|e| format!("`{name}`: {e}"))
        };
        Ok(match kind.as_str() {
            "constant" => Dist::Constant {
                ns: need(self.value, "value")?,
            },
            "uniform" => {
                let (min_ns, max_ns) = (need(self.min, "min")?, need(self.max, "max")?);
                if min_ns > max_ns {
                    return Err("uniform needs `min` <= `max`".to_string());
                }
                Dist::Uniform { min_ns, max_ns }
            }
            "exponential" => {
                let mean_ns = need(self.mean, "mean")?;
                if mean_ns == 0 {
                    return Err("exponential needs `mean` > 0".to_string());
                }
                Dist::Exponential {
                    mean_ns: mean_ns as f64,
                }
            }
            "lognormal" => lognormal(self.median, self.p99, self.mean, self.stddev, need)?,
            "pareto" => {
                let scale_ns = need(self.scale, "scale")? as f64;
                let shape = self.shape.ok_or("dist `pareto` needs `shape`")?;
                if scale_ns <= 0.0 || !(shape > 0.0 && shape.is_finite()) {
                    return Err("pareto needs `scale` > 0 and `shape` > 0".to_string());
                }
                Dist::Pareto { scale_ns, shape }
            }
            "bimodal" => {
                let p = self
                    .slow_probability
                    .ok_or("dist `bimodal` needs `slow_probability`")?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!(
                        "`slow_probability` = {p} is not a probability in [0, 1]"
                    ));
                }
                Dist::Bimodal {
                    fast: Box::new(self.fast.ok_or("dist `bimodal` needs `fast`")?),
                    slow: Box::new(self.slow.ok_or("dist `bimodal` needs `slow`")?),
                    slow_probability: p,
                }
            }
            "empirical" => Dist::Empirical {
                file: PathBuf::from(self.file.ok_or("dist `empirical` needs `file`")?),
                samples_ns: Arc::from(Vec::new()),
            },
            _ => unreachable!("kinds are checked above"),
        })
    }
}

/// A lognormal from its median and p99, or from its mean and standard deviation.
fn lognormal(
    median: Option<String>,
    p99: Option<String>,
    mean: Option<String>,
    stddev: Option<String>,
    need: impl Fn(Option<String>, &str) -> Result<u64, String>,
) -> Result<Dist, String> {
    match (
        median.is_some() || p99.is_some(),
        mean.is_some() || stddev.is_some(),
    ) {
        (true, false) => {
            let (median, p99) = (need(median, "median")? as f64, need(p99, "p99")? as f64);
            if !(median > 0.0 && p99 > median) {
                return Err("lognormal needs 0 < `median` < `p99`".to_string());
            }
            Ok(Dist::LogNormal {
                mu: median.ln(),
                sigma: (p99.ln() - median.ln()) / Z_P99,
            })
        }
        (false, true) => {
            let (mean, sd) = (need(mean, "mean")? as f64, need(stddev, "stddev")? as f64);
            if mean <= 0.0 {
                return Err("lognormal needs `mean` > 0".to_string());
            }
            let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
            Ok(Dist::LogNormal {
                mu: mean.ln() - sigma2 / 2.0,
                sigma: sigma2.sqrt(),
            })
        }
        _ => Err(
            "lognormal takes `median` and `p99`, or `mean` and `stddev` (not a mix)".to_string(),
        ),
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dist, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Dist;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(
                    f,
                    "a duration like \"2ms\" or a table {{ dist = ..., ... }}; dists: {KINDS}"
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dist, E> {
                parse_duration(v).map(Dist::constant).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Dist, A::Error> {
                let table = DistTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                table.into_dist().map_err(de::Error::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Role};

    /// `to_ns` rounds exactly as `f64::round` then a saturating cast would: halves,
    /// the float just below one half, whole floats from 2^52 up, huge, negative, NaN.
    #[test]
    fn to_ns_rounds_as_f64_round() {
        let reference = |x: f64| {
            if x >= u64::MAX as f64 {
                u64::MAX
            } else {
                x.round() as u64
            }
        };
        let mut values = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            -0.4,
            -7.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            4_503_599_627_370_495.5, // 2^52 - 0.5
            4_503_599_627_370_497.0, // 2^52 + 1
            9_007_199_254_740_993.0,
            9.3e18,
            9_223_372_036_854_775_808.0, // 2^63
            9_223_372_036_854_774_784.0, // the float just below 2^63
            u64::MAX as f64,
            1.8e19,
        ];
        let mut x: u64 = 1;
        for i in 0..100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            values.push(unit * 10f64.powi(i % 20));
            values.push((x >> (i % 60)) as f64 + 0.5);
        }
        for v in values {
            assert_eq!(to_ns(v), reference(v), "{v:e}");
        }
    }

    fn parse(text: &str) -> Result<Dist, String> {
        #[derive(Deserialize)]
        struct Holder {
            d: Dist,
        }
        toml::from_str::<Holder>(&format!("d = {text}"))
            .map(|h| h.d)
            .map_err(|e| e.message().to_string())
    }

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut rng = stream(1, Role::Service, 0);
        (0..n).map(|_| d.sample_ns(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn shorthand_is_constant() {
        assert_eq!(parse("\"2ms\"").unwrap(), Dist::Constant { ns: 2_000_000 });
    }

    #[test]
    fn sample_means_match_analytic_means() {
        for text in [
            r#"{ dist = "exponential", mean = "1ms" }"#,
            r#"{ dist = "uniform", min = "1ms", max = "3ms" }"#,
            r#"{ dist = "lognormal", mean = "1ms", stddev = "2ms" }"#,
            r#"{ dist = "pareto", scale = "1ms", shape = 3.0 }"#,
            r#"{ dist = "bimodal", fast = "1ms", slow = "10ms", slow_probability = 0.1 }"#,
        ] {
            let d = parse(text).unwrap();
            let (got, want) = (sample_mean(&d, 400_000), d.mean_ns());
            assert!(
                (got - want).abs() / want < 0.02,
                "{text}: sample mean {got} vs {want}"
            );
        }
    }

    #[test]
    fn lognormal_by_median_and_p99_hits_both() {
        let d = parse(r#"{ dist = "lognormal", median = "1ms", p99 = "20ms" }"#).unwrap();
        let mut rng = stream(1, Role::Service, 0);
        let mut v: Vec<u64> = (0..200_000).map(|_| d.sample_ns(&mut rng)).collect();
        v.sort_unstable();
        let (p50, p99) = (v[100_000] as f64, v[198_000] as f64);
        assert!((p50 / 1e6 - 1.0).abs() < 0.02, "p50 {p50}");
        assert!((p99 / 20e6 - 1.0).abs() < 0.05, "p99 {p99}");
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            (
                r#"{ dist = "gaussian", mean = "1ms" }"#,
                "unknown dist `gaussian`",
            ),
            (r#"{ dist = "uniform", min = "3ms", max = "1ms" }"#, "min"),
            (
                r#"{ dist = "uniform", mean = "1ms" }"#,
                "`mean` is not a parameter of dist `uniform`",
            ),
            (r#"{ dist = "exponential" }"#, "needs `mean`"),
            (
                r#"{ dist = "lognormal", median = "1ms", stddev = "1ms" }"#,
                "not a mix",
            ),
            (r#"{ dist = "exponential", mean = "5" }"#, "no unit"),
            (
                r#"{ dist = "exponential", mean = "1ms", typo = 1 }"#,
                "unknown field `typo`",
            ),
            (
                r#"{ dist = "bimodal", fast = "1ms", slow = "2ms", slow_probability = 2.0 }"#,
                "probability",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: got `{err}`, want `{want}`");
        }
    }

    #[test]
    fn empirical_reads_units_and_bare_milliseconds() {
        assert_eq!(
            read_empirical("latency\n1ms\n2.5\n300us\n").unwrap(),
            vec![1_000_000, 2_500_000, 300_000]
        );
        assert!(read_empirical("latency\n").is_err());
        assert!(read_empirical("1ms\nfast\n").is_err());
    }
}
