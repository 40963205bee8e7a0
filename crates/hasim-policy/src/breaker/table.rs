//! The breaker as written in a scenario (serde side), turned into [`BreakerConfig`].
//!
//! Two spellings need more than a derive: `kind` chooses the production breaker (it
//! was `flavor`, which now gets an error naming `kind`), and `window_size` is a number
//! of calls for a count window but a duration with a unit for a time window
//! (`"10s"`), so every duration has a unit. A duration implies `window = "time"`.

use std::time::Duration;

use super::config::{BreakerConfig, Flavor, Scope, WindowKind};
use crate::time::{duration_str, nanos};
use crate::KindSet;

/// `window_size`: calls, or a duration in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WindowSize {
    /// A count window of this many calls.
    Calls(u32),
    /// A time window of this long.
    Time(Duration),
}

impl<'de> serde::Deserialize<'de> for WindowSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WindowSize, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = WindowSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a number of calls (count window) or a duration like \"10s\" (time window)",
                )
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<WindowSize, E> {
                u32::try_from(v)
                    .map(WindowSize::Calls)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<WindowSize, E> {
                crate::time::parse_duration(v)
                    .map(WindowSize::Time)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Every key a breaker table may hold, each optional.
#[derive(serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(
    deny_unknown_fields,
    expecting = "a breaker table { kind = \"resilience4j\" | \"hystrix\" | \"consecutive\", ... }"
)]
pub struct BreakerTable {
    #[serde(default)]
    kind: Flavor,
    /// The old name of `kind`: refused with a message naming the new one.
    #[cfg_attr(feature = "schema", schemars(skip))]
    flavor: Option<String>,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    on: KindSet,
    failure_rate: Option<f64>,
    slow_call_rate: Option<f64>,
    #[serde(default, with = "duration_str::option")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::optional_duration")
    )]
    slow_call_duration: Option<Duration>,
    window: Option<WindowKind>,
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::window_size")
    )]
    window_size: Option<WindowSize>,
    minimum_calls: Option<u32>,
    #[serde(default, with = "duration_str::option")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::optional_duration")
    )]
    wait_in_open: Option<Duration>,
    wait_multiplier: Option<f64>,
    half_open_calls: Option<u32>,
    #[serde(default, with = "duration_str::option")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::optional_duration")
    )]
    max_wait_in_half_open: Option<Duration>,
    automatic_transition: Option<bool>,
    request_volume: Option<u32>,
    consecutive_failures: Option<u32>,
}

impl TryFrom<BreakerTable> for BreakerConfig {
    type Error = String;

    fn try_from(t: BreakerTable) -> Result<BreakerConfig, String> {
        if let Some(old) = t.flavor {
            return Err(format!(
                "`flavor` is now `kind`: write kind = \"{old}\" (like every other policy table)"
            ));
        }
        let time_window = match t.kind {
            Flavor::Resilience4j => t.window == Some(WindowKind::Time),
            Flavor::Hystrix => true,
            Flavor::Consecutive => false,
        };
        let (window, window_size) = match (t.window_size, time_window) {
            (None, _) => (t.window, None),
            (Some(WindowSize::Calls(n)), false) => (t.window, Some(n)),
            (Some(WindowSize::Calls(n)), true) => {
                return Err(format!(
                    "`window_size` of a time window is a duration: write window_size = \"{n}s\""
                ))
            }
            (Some(WindowSize::Time(d)), _) => {
                if t.window == Some(WindowKind::Count) || t.kind == Flavor::Consecutive {
                    return Err(format!(
                        "`window_size` of a count window is a number of calls, not `{}`",
                        crate::time::format_duration(d)
                    ));
                }
                let ns = nanos(d);
                if ns % 1_000_000_000 != 0 {
                    return Err(format!(
                        "`window_size` = \"{}\" must be whole seconds (the window moves in 1 s buckets)",
                        crate::time::format_duration(d)
                    ));
                }
                let seconds = u32::try_from(ns / 1_000_000_000).unwrap_or(u32::MAX);
                let window = match t.kind {
                    Flavor::Resilience4j => Some(WindowKind::Time),
                    _ => t.window,
                };
                (window, Some(seconds))
            }
        };
        Ok(BreakerConfig {
            flavor: t.kind,
            scope: t.scope,
            on: t.on,
            failure_rate: t.failure_rate,
            slow_call_rate: t.slow_call_rate,
            slow_call_duration: t.slow_call_duration,
            window,
            window_size,
            minimum_calls: t.minimum_calls,
            wait_in_open: t.wait_in_open,
            wait_multiplier: t.wait_multiplier,
            half_open_calls: t.half_open_calls,
            max_wait_in_half_open: t.max_wait_in_half_open,
            automatic_transition: t.automatic_transition,
            request_volume: t.request_volume,
            consecutive_failures: t.consecutive_failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BreakerConfig, String> {
        toml::from_str::<BreakerConfig>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn window_sizes_carry_their_unit() {
        let c = parse("window_size = \"30s\"").unwrap();
        assert_eq!(
            (c.window, c.window_size),
            (Some(WindowKind::Time), Some(30))
        );
        let c = parse("window_size = 50").unwrap();
        assert_eq!((c.window, c.window_size), (None, Some(50)));
        let c = parse("kind = \"hystrix\"\nwindow_size = \"20s\"").unwrap();
        assert_eq!(c.window_size, Some(20));
        for (text, needle) in [
            (
                "window = \"time\"\nwindow_size = 10",
                "window_size = \"10s\"",
            ),
            (
                "kind = \"hystrix\"\nwindow_size = 10",
                "window_size = \"10s\"",
            ),
            (
                "window = \"count\"\nwindow_size = \"10s\"",
                "number of calls",
            ),
            ("window_size = \"1500ms\"", "whole seconds"),
            ("flavor = \"hystrix\"", "write kind = \"hystrix\""),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
