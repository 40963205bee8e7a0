//! Simulated time: integer nanoseconds, never `f64`.
//!
//! `Instant` is a point in simulated time since the start of a run; durations are
//! `std::time::Duration`. Integer time makes runs reproducible bit for bit: events at
//! the same instant compare equal, and nothing is lost or counted twice at a boundary.

use std::fmt;
use std::time::Duration;

/// A point in simulated time, in nanoseconds since the start of the run.
///
/// Policies receive it as `now` (they never read a clock), so production code can pass
/// nanoseconds since any fixed origin of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub u64);

impl Instant {
    /// The start of the run.
    pub const ZERO: Instant = Instant(0);
    /// Later than any event: used for "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// Builds an instant from nanoseconds since the start.
    pub const fn from_nanos(ns: u64) -> Instant {
        Instant(ns)
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start, for reports only (never for ordering).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self + d`, saturating at `Instant::MAX`.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(nanos(d)))
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}s", self.as_secs_f64())
    }
}

/// A duration as whole nanoseconds, saturating at `u64::MAX` (about 584 years).
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The units a duration string may end with, longest first so `ms` wins over `m`.
const UNITS: [(&str, f64); 9] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("min", 60e9),
    ("h", 3600e9),
    ("d", 86400e9),
];

/// Parses `"250us"`, `"1.5ms"`, `"2s"`, `"5m"`, `"1h"` into a duration.
///
/// A unit is required: a bare number is ambiguous and the most common source of
/// "my timeout was 1000 seconds" mistakes.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Some(positive) = t.strip_prefix('-') {
        return Err(format!(
            "`{text}` is negative; a duration is >= 0 (e.g. \"{}\")",
            positive.trim()
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .ok_or_else(|| {
            format!("`{text}` has no unit; write e.g. \"{t}ms\" (units: ns, us, ms, s, m, h, d)")
        })?;
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    let scale = UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, s)| *s)
        .ok_or_else(|| {
            format!("`{text}` has unknown unit `{unit}` (units: ns, us, ms, s, m, h, d)")
        })?;
    let value: f64 = number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not a number followed by a unit"))?;
    let ns = value * scale;
    if !ns.is_finite() || ns < 0.0 || ns > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_nanos(ns.round() as u64))
}

/// Formats a duration the way a user would write it (`"250us"`, `"1.5ms"`, `"2s"`).
pub fn format_duration(d: Duration) -> String {
    let ns = nanos(d);
    let (value, unit) = match ns {
        0 => return "0s".to_string(),
        n if n % 1_000_000_000 == 0 => (n as f64 / 1e9, "s"),
        n if n >= 1_000_000 => (n as f64 / 1e6, "ms"),
        n if n >= 1_000 => (n as f64 / 1e3, "us"),
        n => (n as f64, "ns"),
    };
    format!("{value}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected_ns: Option<u64>) {
        let got = parse_duration(text).ok().map(nanos);
        assert_eq!(got, expected_ns, "parse_duration({text:?})");
    }

    #[test]
    fn parses_every_unit() {
        check("250us", Some(250_000));
        check("250µs", Some(250_000));
        check("1.5ms", Some(1_500_000));
        check("2s", Some(2_000_000_000));
        check("5m", Some(300_000_000_000));
        check("1h", Some(3_600_000_000_000));
        check("7ns", Some(7));
        check(" 0s ", Some(0));
        check("1_000ms", Some(1_000_000_000));
    }

    #[test]
    fn rejects_bad_text() {
        check("10", None);
        check("ms", None);
        check("1.2.3s", None);
        check("5 parsecs", None);
        check("-1s", None);
        assert!(parse_duration("-1s").unwrap_err().contains("negative"));
        check("1d", Some(86_400_000_000_000));
        check("", None);
    }

    #[test]
    fn formats_round_trip() {
        for text in ["250us", "1.5ms", "2s", "7ns", "0s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }

    #[test]
    fn instant_arithmetic_saturates() {
        assert_eq!(Instant::MAX.after(Duration::from_secs(1)), Instant::MAX);
        assert_eq!(Instant(5).since(Instant(9)), Duration::ZERO);
        assert_eq!(Instant(9).since(Instant(5)), Duration::from_nanos(4));
    }
}

/// Serde support for duration strings (`"250us"`), for `#[serde(with = ...)]`.
#[cfg(feature = "serde")]
pub mod duration_str {
    use super::{format_duration, parse_duration};
    use serde::{de, Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Reads a duration string with a unit.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = DurationText::deserialize(d)?;
        parse_duration(&text.0).map_err(de::Error::custom)
    }

    /// Writes a duration the way a user would.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    /// A string, with a message that says a duration needs quotes and a unit.
    pub(super) struct DurationText(pub(super) String);

    impl<'de> Deserialize<'de> for DurationText {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl de::Visitor<'_> for Visitor {
                type Value = DurationText;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a duration string with a unit, e.g. \"250us\", \"1.5ms\", \"2s\"")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                    Ok(DurationText(v.to_string()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationText, E> {
                    Err(E::custom(format!(
                        "`{v}` has no unit; write e.g. \"{v}ms\" (units: ns, us, ms, s, m, h, d)"
                    )))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationText, E> {
                    Err(E::custom(format!(
                        "`{v}` has no unit; write e.g. \"{v}ms\" (units: ns, us, ms, s, m, h, d)"
                    )))
                }
            }
            d.deserialize_any(Visitor)
        }
    }

    /// The same for `Option<Duration>` fields.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use std::time::Duration;

        /// Reads an optional duration string; `"none"` means none (so
        /// `--set clients.web.timeout=none` removes a timeout).
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            let text = super::DurationText::deserialize(d)?;
            if text.0 == "none" {
                return Ok(None);
            }
            super::parse_duration(&text.0)
                .map(Some)
                .map_err(serde::de::Error::custom)
        }

        /// Writes an optional duration (`None` is skipped by the caller).
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }
    }
}
