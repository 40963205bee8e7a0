//! `[[faults]]`: what goes wrong, where and when.
//!
//! A fault is written flat (`kind`, `target`, `at`, `duration` and the kind's
//! parameters) and checked into a typed [`FaultKind`]; a parameter that the kind does
//! not take is an error, not silently ignored.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::dist::Dist;
use crate::time::duration_str;

/// A fault as written in the scenario file.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// `crash`, `random_crash`, `slow`, `errors`, `latency`, `loss`, `partition`,
    /// `registry_down`.
    #[schemars(schema_with = "super::json_schema::fault_kind")]
    pub kind: String,
    /// Selector of the servers or clients it hits (every kind but `partition` and
    /// `registry_down`).
    pub target: Option<String>,
    /// Start, counted from the end of the warmup.
    #[serde(with = "duration_str", default)]
    #[schemars(schema_with = "crate::policy::schema::duration")]
    pub at: Duration,
    /// How long it lasts (default: until the end of the run).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub duration: Option<Duration>,
    /// `crash`, `random_crash`: `refuse` (default) or `blackhole`.
    pub mode: Option<CrashMode>,
    /// `random_crash`: mean time between failures (exponential).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub mtbf: Option<Duration>,
    /// `random_crash`: mean time to repair (exponential).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub mttr: Option<Duration>,
    /// `slow`: service times are multiplied by this.
    pub factor: Option<f64>,
    /// `errors`, `loss`: probability per request / message.
    pub rate: Option<f64>,
    /// `latency`: extra one-way delay of every message to or from the target.
    pub latency: Option<Dist>,
    /// `partition`: the two sides.
    pub between: Option<Vec<String>>,
    /// `partition`: block only messages from the first side to the second.
    #[serde(default)]
    pub one_way: bool,
}

/// How a crashed server looks to its clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrashMode {
    /// The host answers "connection refused" at once; requests in flight are reset.
    #[default]
    Refuse,
    /// Nothing answers; requests in flight are lost and clients wait for timeouts.
    Blackhole,
}

/// A checked fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// Where (absent for partitions and registry outages).
    pub target: Option<Selector>,
    /// Start after the warmup.
    pub at: Duration,
    /// Length (`None`: until the end of the run).
    pub duration: Option<Duration>,
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Servers stop.
    Crash {
        /// Refuse or blackhole.
        mode: CrashMode,
    },
    /// Each server fails and recovers at random, independently.
    RandomCrash {
        /// Mean up time.
        mtbf: Duration,
        /// Mean down time.
        mttr: Duration,
        /// Refuse or blackhole while down.
        mode: CrashMode,
    },
    /// Service times multiplied.
    Slow {
        /// The multiplier (> 0).
        factor: f64,
    },
    /// Requests answered with errors at once, at a rate.
    Errors {
        /// Probability per request.
        rate: f64,
    },
    /// Extra one-way delay on messages to or from the target.
    Latency {
        /// The extra delay.
        latency: Dist,
    },
    /// Messages to or from the target dropped at a rate.
    Loss {
        /// Probability per message.
        rate: f64,
    },
    /// No messages between two sides.
    Partition {
        /// First side.
        a: Selector,
        /// Second side.
        b: Selector,
        /// Only messages from `a` to `b` are blocked.
        one_way: bool,
    },
    /// The discovery registry stops updating.
    RegistryDown,
}

impl FaultKind {
    /// The kind's name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::RandomCrash { .. } => "random_crash",
            FaultKind::Slow { .. } => "slow",
            FaultKind::Errors { .. } => "errors",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Loss { .. } => "loss",
            FaultKind::Partition { .. } => "partition",
            FaultKind::RegistryDown => "registry_down",
        }
    }
}

/// Which nodes a fault hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// Members `range` (half-open; `None` = all) of a server group or client population.
    Named {
        /// Group or population name.
        name: String,
        /// Member indexes `[start, end)`, or every member.
        range: Option<(u32, u32)>,
    },
    /// Every server in a zone.
    Zone(String),
}

impl Selector {
    /// Parses `"api"`, `"api[0]"`, `"api[0..3]"`, `"zone:a"`, `"web[2]"`.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let t = text.trim();
        if let Some(zone) = t.strip_prefix("zone:") {
            return if zone.is_empty() {
                Err("`zone:` needs a zone name".into())
            } else {
                Ok(Selector::Zone(zone.to_string()))
            };
        }
        let Some(open) = t.find('[') else {
            return Ok(Selector::Named {
                name: t.to_string(),
                range: None,
            });
        };
        let name = &t[..open];
        let inner = t[open + 1..]
            .strip_suffix(']')
            .ok_or_else(|| format!("`{text}`: a `[` needs a closing `]`"))?;
        let number = |s: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                format!("`{text}`: `{s}` is not an index (write name[i] or name[a..b])")
            })
        };
        let range = match inner.split_once("..") {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let i = number(inner)?;
                (i, i + 1)
            }
        };
        if range.0 >= range.1 {
            return Err(format!("`{text}`: the range is empty (a..b takes a < b)"));
        }
        Ok(Selector::Named {
            name: name.to_string(),
            range: Some(range),
        })
    }
}

/// Every fault kind with its parameters, for error messages.
const KINDS: &str = "crash (mode), random_crash (mtbf, mttr, mode), slow (factor), errors (rate), \
latency (latency), loss (rate), partition (between, one_way), registry_down";

impl FaultConfig {
    /// The parameters given beyond kind/target/at/duration, by name.
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("mode", self.mode.is_some()),
            ("mtbf", self.mtbf.is_some()),
            ("mttr", self.mttr.is_some()),
            ("factor", self.factor.is_some()),
            ("rate", self.rate.is_some()),
            ("latency", self.latency.is_some()),
            ("between", self.between.is_some()),
            ("one_way", self.one_way),
        ];
        flags
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }

    /// Checks the kind and its parameters. Errors name the key they are about.
    pub fn check(&self) -> Result<Fault, (&'static str, String)> {
        let allowed: &[&str] = match self.kind.as_str() {
            "crash" => &["mode"],
            "random_crash" => &["mtbf", "mttr", "mode"],
            "slow" => &["factor"],
            "errors" | "loss" => &["rate"],
            "latency" => &["latency"],
            "partition" => &["between", "one_way"],
            "registry_down" => &[],
            other => {
                return Err((
                    "kind",
                    format!("unknown fault kind `{other}`; valid: {KINDS}"),
                ))
            }
        };
        if let Some(extra) = self.given().into_iter().find(|p| !allowed.contains(p)) {
            return Err((
                "kind",
                format!(
                    "`{extra}` is not a parameter of fault kind `{}` (valid: {KINDS})",
                    self.kind
                ),
            ));
        }
        let needs_target = !matches!(self.kind.as_str(), "partition" | "registry_down");
        let target = match (&self.target, needs_target) {
            (Some(t), true) => Some(Selector::parse(t).map_err(|e| ("target", e))?),
            (None, true) => {
                return Err((
                    "target",
                    format!("fault kind `{}` needs a `target`", self.kind),
                ))
            }
            (Some(_), false) => {
                return Err((
                    "target",
                    format!("fault kind `{}` takes no `target`", self.kind),
                ))
            }
            (None, false) => None,
        };
        if self.duration == Some(Duration::ZERO) {
            return Err((
                "duration",
                "must be > 0 (leave it out for: until the end)".into(),
            ));
        }
        let rate = |key: &'static str| -> Result<f64, (&'static str, String)> {
            match self.rate {
                Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
                Some(r) => Err((key, format!("{r} is not a probability in [0, 1]"))),
                None => Err((key, format!("fault kind `{}` needs `{key}`", self.kind))),
            }
        };
        let kind = match self.kind.as_str() {
            "crash" => FaultKind::Crash {
                mode: self.mode.unwrap_or_default(),
            },
            "random_crash" => {
                let need = |v: Option<Duration>, key: &'static str| match v {
                    Some(d) if !d.is_zero() => Ok(d),
                    _ => Err((key, format!("random_crash needs `{key}` > 0"))),
                };
                FaultKind::RandomCrash {
                    mtbf: need(self.mtbf, "mtbf")?,
                    mttr: need(self.mttr, "mttr")?,
                    mode: self.mode.unwrap_or_default(),
                }
            }
            "slow" => match self.factor {
                Some(f) if f > 0.0 && f.is_finite() => FaultKind::Slow { factor: f },
                _ => {
                    return Err((
                        "factor",
                        "slow needs `factor` > 0 (e.g. 10 for ten times slower)".into(),
                    ))
                }
            },
            "errors" => FaultKind::Errors {
                rate: rate("rate")?,
            },
            "loss" => FaultKind::Loss {
                rate: rate("rate")?,
            },
            "latency" => FaultKind::Latency {
                latency: self.latency.clone().ok_or((
                    "latency",
                    "latency needs `latency` (a distribution)".to_string(),
                ))?,
            },
            "partition" => {
                let sides = self.between.as_ref().ok_or((
                    "between",
                    "partition needs `between` = [side, side]".to_string(),
                ))?;
                let [a, b] = sides.as_slice() else {
                    return Err((
                        "between",
                        format!("needs exactly two selectors, got {}", sides.len()),
                    ));
                };
                FaultKind::Partition {
                    a: Selector::parse(a).map_err(|e| ("between", e))?,
                    b: Selector::parse(b).map_err(|e| ("between", e))?,
                    one_way: self.one_way,
                }
            }
            _ => FaultKind::RegistryDown,
        };
        Ok(Fault {
            kind,
            target,
            at: self.at,
            duration: self.duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse() {
        let named = |name: &str, range| Selector::Named {
            name: name.into(),
            range,
        };
        assert_eq!(Selector::parse("api"), Ok(named("api", None)));
        assert_eq!(Selector::parse("api[2]"), Ok(named("api", Some((2, 3)))));
        assert_eq!(Selector::parse("api[0..3]"), Ok(named("api", Some((0, 3)))));
        assert_eq!(Selector::parse("zone:a"), Ok(Selector::Zone("a".into())));
        assert!(Selector::parse("api[3..1]").is_err());
        assert!(Selector::parse("api[x]").is_err());
        assert!(Selector::parse("api[1").is_err());
        assert!(Selector::parse("zone:").is_err());
    }

    fn check(text: &str) -> Result<Fault, (&'static str, String)> {
        toml::from_str::<FaultConfig>(text).unwrap().check()
    }

    #[test]
    fn kinds_check_their_parameters() {
        assert!(matches!(
            check("kind = \"crash\"\ntarget = \"api[0]\"").unwrap().kind,
            FaultKind::Crash {
                mode: CrashMode::Refuse
            }
        ));
        assert_eq!(check("kind = \"crash\"").unwrap_err().0, "target");
        assert_eq!(
            check("kind = \"crash\"\ntarget = \"api\"\nfactor = 2.0")
                .unwrap_err()
                .0,
            "kind"
        );
        assert_eq!(
            check("kind = \"slow\"\ntarget = \"api\"").unwrap_err().0,
            "factor"
        );
        assert_eq!(
            check("kind = \"errors\"\ntarget = \"api\"\nrate = 2.0")
                .unwrap_err()
                .0,
            "rate"
        );
        assert_eq!(
            check("kind = \"partition\"\nbetween = [\"web\"]")
                .unwrap_err()
                .0,
            "between"
        );
        assert_eq!(check("kind = \"meteor\"").unwrap_err().0, "kind");
        assert!(check("kind = \"registry_down\"\nat = \"5s\"\nduration = \"10s\"").is_ok());
    }
}
