//! Autoscaling of one server group (Kubernetes HorizontalPodAutoscaler).
//!
//! # Semantics (HPA controller, no `behavior` policies)
//!
//! Every `interval` the caller reports the group's replica count and its average
//! utilization (busy fraction of the ready replicas' workers, 0..=1):
//!
//! 1. If `current < min` the answer is `min`, if `current > max` it is `max`, at once
//!    (HPA's "current replicas below/above spec" rules, before any metric).
//! 2. `ratio = utilization / target_utilization`. Within tolerance
//!    (`|ratio - 1| <= tolerance`) the recommendation is `current`; otherwise
//!    `ceil(current x ratio)`. A product within 1e-9 of a whole number counts as that
//!    number, so `4 x 0.9 / 0.6` gives 6, not 7 (HPA works in integer percents and
//!    never sees that rounding).
//! 3. The recommendation is stored with its time; the answer is the **highest
//!    recommendation of the last `scale_down_stabilization`** (including this one), so
//!    a scale-up happens at once and a scale-down only once every recommendation in
//!    the window agrees. A sample exactly one window old still counts (HPA drops
//!    samples strictly before `now - window`).
//! 4. The answer is clamped to `[min, max]`; equal to `current` means
//!    [`ScaleDecision::Hold`].
//!
//! Not modelled: HPA's default scale-up rate limit (at most double, or +4 pods, per
//! 15 s) and its integer-percent utilization; a utilization that is not a finite
//! number >= 0 (no metrics) holds, as HPA skips a tick it cannot measure.
//!
//! A fresh autoscaler has no history, so its first tick may scale down at once, as a
//! newly created HPA does.
//!
//! `provision` is carried for the caller: a replica asked for becomes ready that much
//! later, then registers like any other server.
//!
//! # Call order
//!
//! ```text
//! let mut hpa = Autoscaler::new(&cfg);                 // cfg.validate() already passed
//! // at hpa.next_deadline():
//! match hpa.on_tick(now, replicas, utilization) {
//!     ScaleDecision::Hold => {}
//!     ScaleDecision::ScaleTo(n) => { /* start or stop replicas; new ones ready after provision */ }
//! }
//! ```
//!
//! `current_replicas` counts replicas asked for, including those still provisioning
//! (HPA counts pods that are not ready yet), so a scale-up is not repeated while its
//! replicas boot. `now` must not go backwards.

use std::time::Duration;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::{nanos, Instant};
use crate::ConfigError;

/// The `[autoscale]` table of a scenario.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "an autoscale table { group = ..., max = ..., ... }"
    )
)]
pub struct AutoscaleConfig {
    /// The server group it scales (required).
    pub group: String,
    /// Time between two evaluations (HPA `--horizontal-pod-autoscaler-sync-period`).
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub interval: Duration,
    /// Utilization the group should run at. Default 0.6: a common production target
    /// that leaves room for a burst and for a replica's loss while new ones boot.
    pub target_utilization: f64,
    /// The fewest replicas (HPA `minReplicas`).
    pub min: u32,
    /// The most replicas (HPA `maxReplicas`, required: there is no safe default).
    pub max: u32,
    /// How far back a scale-down looks for higher recommendations.
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub scale_down_stabilization: Duration,
    /// Time from asking for a replica to its being ready.
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub provision: Duration,
    /// Utilization ratios within this of 1 do not scale (HPA default 0.1).
    pub tolerance: f64,
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            group: String::new(),
            interval: Duration::from_secs(15),
            target_utilization: 0.6,
            min: 1,
            max: 0,
            scale_down_stabilization: Duration::from_secs(300),
            provision: Duration::from_secs(30),
            tolerance: 0.1,
        }
    }
}

impl AutoscaleConfig {
    /// Checks every value once at load time, so the autoscaler never has to fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.group.is_empty() {
            return Err(ConfigError::new(
                "group",
                "is missing: name the server group to scale",
            ));
        }
        if self.interval.is_zero() {
            return Err(ConfigError::new(
                "interval",
                "= 0s would evaluate without pause; use a positive duration such as \"15s\"",
            ));
        }
        let target = self.target_utilization;
        if !(target > 0.0 && target <= 1.0) {
            return Err(ConfigError::new(
                "target_utilization",
                format!("= {target} must be in (0, 1], e.g. 0.6"),
            ));
        }
        if self.max == 0 {
            return Err(ConfigError::new(
                "max",
                "is missing or 0: set the most replicas the autoscaler may run (HPA maxReplicas)",
            ));
        }
        if self.min == 0 || self.min > self.max {
            return Err(ConfigError::new(
                "min",
                format!("= {} must be in [1, max = {}]", self.min, self.max),
            ));
        }
        if !(self.tolerance >= 0.0 && self.tolerance < 1.0) {
            return Err(ConfigError::new(
                "tolerance",
                format!("= {} must be in [0, 1), e.g. 0.1 as HPA", self.tolerance),
            ));
        }
        Ok(())
    }
}

/// What the autoscaler wants done with the group (`#[must_use]`: ignoring it would
/// silently disable autoscaling).
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleDecision {
    /// Keep the replica count.
    Hold,
    /// Run this many replicas: start new ones (ready after `provision`) or stop some.
    ScaleTo(u32),
}

/// A Kubernetes HPA for one server group. See the module docs for the call order and
/// the rules it follows.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    cfg: AutoscaleConfig,
    next_tick: Instant,
    last_now: Instant,
    /// Recommendations `(time, replicas)` of the stabilization window, oldest first;
    /// never longer than `capacity`, so it never reallocates.
    recommendations: Vec<(Instant, u32)>,
    capacity: usize,
}

impl Autoscaler {
    /// An autoscaler whose first evaluation is one `interval` after time 0.
    ///
    /// # Errors
    ///
    /// The first problem [`AutoscaleConfig::validate`] finds; its `key` names the field.
    pub fn try_new(cfg: &AutoscaleConfig) -> Result<Autoscaler, ConfigError> {
        cfg.validate()?;
        Ok(Autoscaler::build(cfg))
    }

    /// [`Autoscaler::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `cfg.validate()` fails, in every build: no invalid config builds a autoscaler.
    pub fn new(cfg: &AutoscaleConfig) -> Autoscaler {
        Autoscaler::try_new(cfg).unwrap_or_else(|e| panic!("invalid autoscaler config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(cfg: &AutoscaleConfig) -> Autoscaler {
        let interval_ns = nanos(cfg.interval).max(1);
        let window_ticks = nanos(cfg.scale_down_stabilization) / interval_ns;
        let capacity = usize::try_from(window_ticks)
            .unwrap_or(usize::MAX)
            .min(1 << 16)
            + 2;
        Autoscaler {
            cfg: cfg.clone(),
            next_tick: Instant::ZERO.after(cfg.interval),
            last_now: Instant::ZERO,
            recommendations: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// When to call [`on_tick`](Self::on_tick) next.
    pub fn next_deadline(&self) -> Instant {
        self.next_tick
    }

    /// Evaluates the group: `current_replicas` asked for, `utilization` their average
    /// busy fraction. A call before [`next_deadline`](Self::next_deadline) holds and
    /// changes nothing; otherwise the next tick is one interval after `now`.
    ///
    /// # Panics
    ///
    /// If `now` is earlier than in a previous call (a caller bug).
    pub fn on_tick(
        &mut self,
        now: Instant,
        current_replicas: u32,
        utilization: f64,
    ) -> ScaleDecision {
        assert!(
            now >= self.last_now,
            "time went backwards: {now} < {}",
            self.last_now
        );
        self.last_now = now;
        if now < self.next_tick {
            return ScaleDecision::Hold;
        }
        self.next_tick = now.after(self.cfg.interval);
        let (min, max) = (self.cfg.min, self.cfg.max);
        if current_replicas < min {
            return ScaleDecision::ScaleTo(min);
        }
        if current_replicas > max {
            return ScaleDecision::ScaleTo(max);
        }
        if !(utilization.is_finite() && utilization >= 0.0) {
            return ScaleDecision::Hold;
        }
        let recommendation = self.recommend(current_replicas, utilization);
        let desired = self.stabilize(now, recommendation).clamp(min, max);
        if desired == current_replicas {
            ScaleDecision::Hold
        } else {
            ScaleDecision::ScaleTo(desired)
        }
    }

    /// HPA's raw recommendation: `ceil(current x ratio)`, or `current` within tolerance.
    fn recommend(&self, current: u32, utilization: f64) -> u32 {
        let ratio = utilization / self.cfg.target_utilization;
        if (ratio - 1.0).abs() <= self.cfg.tolerance {
            return current;
        }
        let wanted = f64::from(current) * ratio;
        // `as` saturates: a huge ratio gives u32::MAX, clamped to `max` later.
        (wanted - 1e-9).ceil().max(0.0) as u32
    }

    /// Records `recommendation` and returns the highest one in the window.
    fn stabilize(&mut self, now: Instant, recommendation: u32) -> u32 {
        let window = self.cfg.scale_down_stabilization;
        self.recommendations
            .retain(|&(t, _)| t.after(window) >= now);
        if self.recommendations.len() == self.capacity {
            self.recommendations.remove(0);
        }
        self.recommendations.push((now, recommendation));
        debug_assert!(self.recommendations.len() <= self.capacity);
        self.recommendations
            .iter()
            .map(|&(_, r)| r)
            .max()
            .unwrap_or(recommendation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScaleDecision::{Hold, ScaleTo};

    fn cfg() -> AutoscaleConfig {
        AutoscaleConfig {
            group: "api".to_string(),
            max: 20,
            ..AutoscaleConfig::default()
        }
    }

    /// Runs `script` of `(time in seconds, current replicas, utilization)` against a
    /// fresh autoscaler and compares each decision with `expected`.
    fn check(cfg: &AutoscaleConfig, script: &[(u64, u32, f64)], expected: &[ScaleDecision]) {
        assert_eq!(script.len(), expected.len(), "one expectation per step");
        let mut hpa = Autoscaler::new(cfg);
        for (i, (&(t_s, current, util), want)) in script.iter().zip(expected).enumerate() {
            let got = hpa.on_tick(Instant::from_nanos(t_s * 1_000_000_000), current, util);
            assert_eq!(
                got, *want,
                "step {i}: at {t_s}s with {current} replicas at {util}"
            );
        }
    }

    #[test]
    fn scales_up_at_once() {
        // 2 x 0.9 / 0.6 = 3; then 3 x 1.0 / 0.6 = 5.
        check(
            &cfg(),
            &[(15, 2, 0.9), (30, 3, 1.0)],
            &[ScaleTo(3), ScaleTo(5)],
        );
    }

    #[test]
    fn whole_products_do_not_round_up() {
        // 4 x 0.9 / 0.6 is 6.000000000000001 in f64: still 6.
        check(&cfg(), &[(15, 4, 0.9)], &[ScaleTo(6)]);
    }

    #[test]
    fn tolerance_holds_near_the_target() {
        // Ratios 1.083 and 0.917 are within 0.1; 1.1167 is not: ceil(2 x 1.1167) = 3.
        check(
            &cfg(),
            &[(15, 2, 0.65), (30, 2, 0.55), (45, 2, 0.67)],
            &[Hold, Hold, ScaleTo(3)],
        );
    }

    #[test]
    fn scale_down_waits_for_the_window_to_agree() {
        // Recommendation 10 at 15 s counts until 315 s inclusive; from 330 s on every
        // recommendation in the window is 5.
        let mut script = vec![(15, 10, 0.6)];
        let mut expected = vec![Hold];
        for t in (30..=315).step_by(15) {
            script.push((t, 10, 0.3));
            expected.push(Hold);
        }
        script.push((330, 10, 0.3));
        expected.push(ScaleTo(5));
        check(&cfg(), &script, &expected);
    }

    #[test]
    fn scale_down_goes_to_the_highest_recommendation_in_the_window() {
        // Recommendations 10 (15 s), 8 (30 s), 6 (45 s), then 4. Each ages out 300 s
        // later, one tick at a time: 8 at 330 s, 6 at 345 s, 4 at 360 s.
        let mut script = vec![(15, 10, 0.6), (30, 10, 0.48), (45, 10, 0.36)];
        let mut expected = vec![Hold, Hold, Hold];
        for t in (60..=315).step_by(15) {
            script.push((t, 10, 0.24));
            expected.push(Hold);
        }
        script.extend([(330, 10, 0.24), (345, 8, 0.3), (360, 6, 0.4)]);
        expected.extend([ScaleTo(8), ScaleTo(6), ScaleTo(4)]);
        check(&cfg(), &script, &expected);
    }

    #[test]
    fn a_fresh_autoscaler_scales_down_at_its_first_tick() {
        // Like a newly created HPA: no earlier recommendation holds it back.
        check(&cfg(), &[(15, 10, 0.3)], &[ScaleTo(5)]);
    }

    #[test]
    fn no_stabilization_scales_down_at_once() {
        let cfg = AutoscaleConfig {
            scale_down_stabilization: Duration::ZERO,
            ..cfg()
        };
        check(&cfg, &[(15, 10, 0.6), (30, 10, 0.3)], &[Hold, ScaleTo(5)]);
    }

    #[test]
    fn clamps_to_min_and_max() {
        check(
            &AutoscaleConfig { min: 2, ..cfg() },
            &[(15, 4, 10.0), (30, 20, 0.0)],
            &[ScaleTo(20), Hold],
        );
        let cfg = AutoscaleConfig {
            min: 2,
            scale_down_stabilization: Duration::ZERO,
            ..cfg()
        };
        check(&cfg, &[(15, 4, 0.0)], &[ScaleTo(2)]);
        check(
            &cfg,
            &[(15, 1, 0.6), (30, 25, 0.6)],
            &[ScaleTo(2), ScaleTo(20)],
        );
    }

    #[test]
    fn unmeasurable_utilization_holds() {
        check(&cfg(), &[(15, 3, f64::NAN), (30, 3, -1.0)], &[Hold, Hold]);
    }

    #[test]
    fn early_ticks_do_nothing() {
        let mut hpa = Autoscaler::new(&cfg());
        assert_eq!(hpa.next_deadline(), Instant::from_nanos(15_000_000_000));
        assert_eq!(hpa.on_tick(Instant::from_nanos(1), 2, 5.0), Hold);
        assert_eq!(hpa.next_deadline(), Instant::from_nanos(15_000_000_000));
        let at = Instant::from_nanos(16_000_000_000);
        assert_eq!(hpa.on_tick(at, 2, 0.9), ScaleTo(3));
        assert_eq!(hpa.next_deadline(), at.after(Duration::from_secs(15)));
    }

    #[test]
    fn the_window_stays_bounded() {
        let mut hpa = Autoscaler::new(&cfg());
        let cap = hpa.capacity;
        assert_eq!(cap, 22);
        for k in 1..5_000u64 {
            let _ = hpa.on_tick(Instant::from_nanos(k * 15_000_000_000), 5, 0.6);
            assert!(hpa.recommendations.len() <= cap);
        }
        assert_eq!(hpa.recommendations.capacity(), cap, "never reallocated");
    }

    #[test]
    fn config_parses_and_validates() {
        let cfg: AutoscaleConfig =
            toml::from_str("group = \"api\"\nmax = 8\ntarget_utilization = 0.5").unwrap();
        assert_eq!((cfg.min, cfg.max), (1, 8));
        assert_eq!(cfg.interval, Duration::from_secs(15));
        assert!(cfg.validate().is_ok());
        let key = |c: AutoscaleConfig| c.validate().unwrap_err().key;
        assert_eq!(
            key(AutoscaleConfig {
                max: 0,
                ..cfg.clone()
            }),
            "max"
        );
        assert_eq!(
            key(AutoscaleConfig {
                group: String::new(),
                ..cfg.clone()
            }),
            "group"
        );
        assert_eq!(
            key(AutoscaleConfig {
                min: 9,
                ..cfg.clone()
            }),
            "min"
        );
        assert_eq!(
            key(AutoscaleConfig {
                target_utilization: 0.0,
                ..cfg.clone()
            }),
            "target_utilization"
        );
        assert_eq!(
            key(AutoscaleConfig {
                tolerance: -0.1,
                ..cfg
            }),
            "tolerance"
        );
        assert!(toml::from_str::<AutoscaleConfig>("group = \"a\"\nmaxx = 3").is_err());
    }
}
