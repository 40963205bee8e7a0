//! Failover across server tiers: Envoy priority levels, or classic primary/backup.
//!
//! A client's target may name several groups, each with a `tier` (0 = primary,
//! 1 = first backup, ...). Before a pick the caller counts, per tier, the endpoints it
//! knows and those eligible (not ejected, healthy, breaker closed), asks
//! [`tier_loads`] for the share of traffic each tier takes, draws a tier with
//! [`pick_tier`], and balances among that tier's eligible endpoints.
//!
//! # Priority (Envoy `LoadBalancerBase::recalculatePerPriorityState`)
//!
//! Envoy works in integer percents, and so does this module:
//!
//! 1. `factor = round(overprovisioning x 100)` (Envoy's `overprovisioning_factor`,
//!    an integer percent, 140 by default).
//! 2. `health_P = min(100, factor x eligible_P / total_P)` with integer division;
//!    an empty tier has health 0.
//! 3. `normalized = min(100, sum of health_P)`.
//! 4. Walking tiers in order with `left = 100`: `load_P = min(left,
//!    health_P x 100 / normalized)` (integer division), `left -= load_P`.
//! 5. Whatever is left by rounding goes to the first tier with health > 0.
//!
//! So with 1.4: 80 % eligible in tier 0 gives health 112 -> 100, all traffic stays;
//! 50 % gives 70/30; 71 % gives 99/1; two tiers at 25 % each give 35 + 35 = 70,
//! normalized to 50/50 (the spare capacity is shared out, not dropped).
//!
//! When no tier has any eligible endpoint (every health is 0), Envoy is in "total
//! panic" and spreads load by the number of endpoints per tier (`100 x total_P /
//! all`, remainder to the first non-empty tier); this module does the same, so the
//! loads still sum to 1 whenever any endpoint is known, and the caller's panic mode
//! (POLICIES.md `panic_threshold`) then picks among all endpoints of the drawn tier.
//! With no endpoint at all, tier 0 gets 1.0 (as Envoy puts 100 % on P=0) and the
//! call fails with `no_server`. Envoy's per-tier panic and degraded hosts are not
//! modelled here: panic is decided by the caller over the whole view.
//!
//! # Primary/backup
//!
//! All traffic goes to the lowest tier with any eligible endpoint; when none has one,
//! to the lowest tier with any endpoint (where the caller's panic mode applies).
//!
//! # Call order
//!
//! ```text
//! // whenever eligibility may have changed (or before every pick: it is cheap):
//! tier_loads(mode, &tiers, overprovisioning, &mut loads);
//! let tier = pick_tier(&loads, &mut rng);
//! ```

use rand::Rng;

use crate::ConfigError;

/// How traffic is split across tiers (`failover = "..."` in a client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FailoverMode {
    /// Envoy priority levels: each tier takes its overprovisioned health share and the
    /// rest spills to the next tier, so a partly failed primary keeps most traffic.
    #[default]
    Priority,
    /// Classic active/standby: everything to the lowest tier that has any eligible
    /// endpoint; no gradual spill.
    PrimaryBackup,
}

/// What the caller knows of one tier: endpoints eligible for picks, and all endpoints
/// in its discovery view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierHealth {
    /// Endpoints that may take traffic (not ejected, healthy, breaker admits).
    pub eligible: u32,
    /// Endpoints the client knows in this tier (`eligible <= total`).
    pub total: u32,
}

/// Envoy's default overprovisioning factor: a tier still counts as fully healthy with
/// 1 / 1.4 = 71.4 % of its endpoints eligible.
pub const DEFAULT_OVERPROVISIONING: f64 = 1.4;

/// The largest overprovisioning accepted: beyond it one eligible endpoint in a large
/// tier would already count as fully healthy, which is surely a typo.
const MAX_OVERPROVISIONING: f64 = 100.0;

/// Checks an `overprovisioning` value once at load time (Envoy requires > 0).
pub fn check_overprovisioning(value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 && value <= MAX_OVERPROVISIONING {
        Ok(())
    } else {
        Err(ConfigError::new(
            "overprovisioning",
            format!("= {value} must be in (0, {MAX_OVERPROVISIONING}]; Envoy's default is 1.4"),
        ))
    }
}

/// Writes into `out[i]` the fraction of traffic tier `i` takes (see the module docs
/// for the exact Envoy computation). The fractions are whole percents / 100 and sum to
/// 1 whenever `tiers` is not empty.
///
/// # Panics
///
/// If `out.len() != tiers.len()` or some `eligible > total`: caller bugs.
pub fn tier_loads(
    mode: FailoverMode,
    tiers: &[TierHealth],
    overprovisioning: f64,
    out: &mut [f64],
) {
    assert_eq!(out.len(), tiers.len(), "one load slot per tier");
    assert!(
        tiers.iter().all(|t| t.eligible <= t.total),
        "eligible endpoints must be among the known ones: {tiers:?}"
    );
    out.fill(0.0);
    if tiers.is_empty() {
        return;
    }
    match mode {
        FailoverMode::Priority => priority_loads(tiers, overprovisioning, out),
        FailoverMode::PrimaryBackup => {
            let first = tiers
                .iter()
                .position(|t| t.eligible > 0)
                .or_else(|| tiers.iter().position(|t| t.total > 0))
                .unwrap_or(0);
            out[first] = 1.0;
        }
    }
}

/// Envoy's priority load in integer percents, written as fractions.
fn priority_loads(tiers: &[TierHealth], overprovisioning: f64, out: &mut [f64]) {
    let factor = (overprovisioning * 100.0).round().max(0.0) as u64;
    let health = |t: &TierHealth| match t.total {
        0 => 0,
        total => (factor * u64::from(t.eligible) / u64::from(total)).min(100),
    };
    let normalized = tiers.iter().map(health).sum::<u64>().min(100);
    if normalized == 0 {
        return total_panic_loads(tiers, out);
    }
    let mut left = 100u64;
    for (slot, tier) in out.iter_mut().zip(tiers) {
        let load = (health(tier) * 100 / normalized).min(left);
        left -= load;
        *slot = load as f64;
    }
    let first_healthy = tiers.iter().position(|t| health(t) > 0).unwrap_or(0);
    out[first_healthy] += left as f64;
    out.iter_mut().for_each(|l| *l /= 100.0);
}

/// Envoy's total-panic split: by the number of endpoints per tier.
fn total_panic_loads(tiers: &[TierHealth], out: &mut [f64]) {
    let all: u64 = tiers.iter().map(|t| u64::from(t.total)).sum();
    if all == 0 {
        out[0] = 1.0;
        return;
    }
    let mut left = 100u64;
    for (slot, tier) in out.iter_mut().zip(tiers) {
        let load = 100 * u64::from(tier.total) / all;
        left -= load;
        *slot = load as f64;
    }
    let first_nonempty = tiers.iter().position(|t| t.total > 0).unwrap_or(0);
    out[first_nonempty] += left as f64;
    out.iter_mut().for_each(|l| *l /= 100.0);
}

/// Draws a tier with probability `loads[i]`, with one uniform draw from `rng` (always
/// exactly one, so the stream stays aligned whatever the loads). Loads that do not
/// quite sum to 1 by rounding fall to the last tier with a positive load; all-zero
/// (or empty) loads give tier 0.
pub fn pick_tier<R: Rng + ?Sized>(loads: &[f64], rng: &mut R) -> usize {
    let u = rng.random::<f64>();
    let mut cumulative = 0.0;
    for (i, &load) in loads.iter().enumerate() {
        cumulative += load;
        if load > 0.0 && u < cumulative {
            return i;
        }
    }
    loads.iter().rposition(|&l| l > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{stream, Role};
    use proptest::prelude::*;

    /// Computes the loads for tiers written as `(eligible, total)` and compares them,
    /// in whole percents, with `expected`.
    fn check(mode: FailoverMode, tiers: &[(u32, u32)], expected: &[u32]) {
        let tiers: Vec<TierHealth> = tiers
            .iter()
            .map(|&(eligible, total)| TierHealth { eligible, total })
            .collect();
        let mut out = vec![f64::NAN; tiers.len()];
        tier_loads(mode, &tiers, DEFAULT_OVERPROVISIONING, &mut out);
        let percents: Vec<u32> = out.iter().map(|l| (l * 100.0).round() as u32).collect();
        assert_eq!(percents, expected, "{mode:?} loads for {tiers:?}");
    }

    use FailoverMode::{PrimaryBackup, Priority};

    #[test]
    fn envoy_two_tier_table_with_backup_fully_healthy() {
        // Envoy docs, "Priority levels", P=1 100 % healthy.
        check(Priority, &[(100, 100), (100, 100)], &[100, 0]);
        check(Priority, &[(80, 100), (100, 100)], &[100, 0]);
        check(Priority, &[(72, 100), (100, 100)], &[100, 0]);
        check(Priority, &[(71, 100), (100, 100)], &[99, 1]);
        check(Priority, &[(50, 100), (100, 100)], &[70, 30]);
        check(Priority, &[(25, 100), (100, 100)], &[35, 65]);
        check(Priority, &[(0, 100), (100, 100)], &[0, 100]);
    }

    #[test]
    fn small_tiers_use_integer_health() {
        // 4 of 8: 140 x 4 / 8 = 70. 5 of 7: 700 / 7 = 100. 2 of 3: 280 / 3 = 93.
        check(Priority, &[(4, 8), (4, 4)], &[70, 30]);
        check(Priority, &[(5, 7), (4, 4)], &[100, 0]);
        check(Priority, &[(2, 3), (4, 4)], &[93, 7]);
    }

    #[test]
    fn partly_healthy_backups_are_normalized() {
        // Envoy docs: P=0 and P=1 both 25 % -> 35 + 35 = 70, normalized to 50/50.
        check(Priority, &[(25, 100), (25, 100)], &[50, 50]);
        // 20 % / 20 % / 20 % -> 28 each, sum 84: 33 + 33 + 33 = 99, 1 to tier 0.
        check(Priority, &[(20, 100), (20, 100), (20, 100)], &[34, 33, 33]);
        // Both over 71 %: tier 0 full.
        check(Priority, &[(71, 100), (71, 100)], &[99, 1]);
        // Tier 0 down, tier 1 at 50 %, tier 2 full: 0 / 70 / 30.
        check(Priority, &[(0, 10), (5, 10), (10, 10)], &[0, 70, 30]);
        // Tier 0 partly up, tier 1 down, tier 2 full: spill skips the empty tier.
        check(Priority, &[(5, 10), (0, 10), (10, 10)], &[70, 0, 30]);
    }

    #[test]
    fn nothing_eligible_spreads_by_endpoint_count() {
        check(Priority, &[(0, 6), (0, 2)], &[75, 25]);
        check(Priority, &[(0, 1), (0, 1), (0, 1)], &[34, 33, 33]);
        check(Priority, &[(0, 0), (0, 3)], &[0, 100]);
        check(Priority, &[(0, 0), (0, 0)], &[100, 0]);
    }

    #[test]
    fn primary_backup_sends_everything_to_the_first_tier_with_eligible() {
        check(PrimaryBackup, &[(1, 10), (10, 10)], &[100, 0]);
        check(PrimaryBackup, &[(0, 10), (10, 10)], &[0, 100]);
        check(PrimaryBackup, &[(0, 10), (0, 10), (3, 10)], &[0, 0, 100]);
        check(PrimaryBackup, &[(0, 10), (0, 10)], &[100, 0]);
        check(PrimaryBackup, &[(0, 0), (0, 10)], &[0, 100]);
    }

    #[test]
    fn other_overprovisioning_factors() {
        let tiers = [
            TierHealth {
                eligible: 5,
                total: 10,
            },
            TierHealth {
                eligible: 10,
                total: 10,
            },
        ];
        let mut out = [0.0; 2];
        tier_loads(Priority, &tiers, 1.0, &mut out);
        assert_eq!(out, [0.5, 0.5]);
        tier_loads(Priority, &tiers, 2.0, &mut out);
        assert_eq!(out, [1.0, 0.0]);
        assert!(check_overprovisioning(1.4).is_ok());
        assert!(check_overprovisioning(0.0).is_err());
        assert!(check_overprovisioning(f64::NAN).is_err());
    }

    #[test]
    fn mode_parses_snake_case() {
        #[derive(serde::Deserialize)]
        struct Holder {
            failover: FailoverMode,
        }
        let h: Holder = toml::from_str("failover = \"primary_backup\"").unwrap();
        assert_eq!(h.failover, PrimaryBackup);
        assert_eq!(FailoverMode::default(), Priority);
        assert!(toml::from_str::<Holder>("failover = \"active_active\"").is_err());
    }

    #[test]
    fn pick_tier_follows_the_loads() {
        let mut rng = stream(3, Role::Policy, 0);
        let loads = [0.7, 0.0, 0.3];
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[pick_tier(&loads, &mut rng)] += 1;
        }
        assert_eq!(counts[1], 0, "a tier with no load is never picked");
        assert!((6_800..7_200).contains(&counts[0]), "{counts:?}");
        assert_eq!(pick_tier(&[0.0, 1.0], &mut rng), 1);
        assert_eq!(pick_tier(&[], &mut rng), 0);
    }

    proptest! {
        #[test]
        fn loads_sum_to_one_and_follow_priority(
            raw in prop::collection::vec((0u32..50, 0u32..50), 1..6),
            factor in 0.5f64..3.0,
            backup in any::<bool>(),
        ) {
            let tiers: Vec<TierHealth> = raw
                .iter()
                .map(|&(a, b)| TierHealth { eligible: a.min(b), total: a.max(b) })
                .collect();
            let mode = if backup { PrimaryBackup } else { Priority };
            let mut out = vec![0.0; tiers.len()];
            tier_loads(mode, &tiers, factor, &mut out);
            let sum: f64 = out.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {} of {:?}", sum, out);
            prop_assert!(out.iter().all(|&l| (0.0..=1.0).contains(&l)));
            // Traffic reaches a tier without eligible endpoints only in total panic.
            let any_eligible = tiers.iter().any(|t| t.eligible > 0);
            for (t, &l) in tiers.iter().zip(&out) {
                if any_eligible && t.eligible == 0 {
                    prop_assert!(l == 0.0, "tier {:?} got {}", t, l);
                }
            }
        }
    }
}
