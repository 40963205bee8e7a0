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
//! Panic per priority (Envoy `recalculatePerPriorityPanic`): while the normalized
//! availability is below 100, a tier whose healthy + degraded share of its endpoints
//! is under the panic threshold (50 % by default) is in panic. When *every* tier is in
//! panic, Envoy is in "total panic" and spreads load by the number of endpoints per
//! tier (`100 x total_P / all`, remainder to the first non-empty tier,
//! `recalculateLoadInTotalPanic`): (5 of which 0 up, 5/0, 5/2) gives 34/33/33, and
//! (5/0, 6/2, 3/1) gives 37/42/21 (Envoy `load_balancer_impl_base_test.cc`
//! `GentleFailoverWithExtraLevels`). The caller's panic mode then picks among all
//! endpoints of the drawn tier. With no endpoint at all, tier 0 gets 1.0 (as Envoy
//! puts 100 % on P=0) and the call fails with `no_server`.
//!
//! [`priority_loads`] is the whole computation with degraded hosts (which take load
//! only after the healthy ones, Envoy's `degraded_priority_load`) and the per-tier
//! panic flags; pass weight sums instead of counts for Envoy's
//! `weighted_priority_health`. [`previous_priorities_loads`] gives the loads for a
//! retry that skips the tiers already tried (Envoy `previous_priorities`).
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
/// for the exact Envoy computation), with Envoy's default panic threshold of 50 %
/// ([`DEFAULT_PANIC_THRESHOLD`]). The fractions are whole percents / 100 and sum to 1
/// whenever `tiers` is not empty. Use [`tier_loads_with_panic`] to choose the
/// threshold, or [`priority_loads`] for degraded hosts and the per-tier panic flags.
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
    tier_loads_with_panic(mode, tiers, overprovisioning, DEFAULT_PANIC_THRESHOLD, out);
}

/// Envoy's default `healthy_panic_threshold`: a priority with fewer than 50 % of its
/// hosts healthy or degraded is in panic (when the normalized availability is < 100).
pub const DEFAULT_PANIC_THRESHOLD: f64 = 0.5;

/// [`tier_loads`] with the panic threshold as a fraction in `[0, 1]` (the client's
/// `panic_threshold`; 0 disables panic, and then an all-down view puts 100 % on tier
/// 0 as Envoy does). Returns true when every tier is in panic (Envoy "total panic":
/// the loads then follow the number of endpoints per tier).
///
/// # Panics
///
/// If `out.len() != tiers.len()` or some `eligible > total`: caller bugs.
pub fn tier_loads_with_panic(
    mode: FailoverMode,
    tiers: &[TierHealth],
    overprovisioning: f64,
    panic_threshold: f64,
    out: &mut [f64],
) -> bool {
    assert_eq!(out.len(), tiers.len(), "one load slot per tier");
    assert!(
        tiers.iter().all(|t| t.eligible <= t.total),
        "eligible endpoints must be among the known ones: {tiers:?}"
    );
    out.fill(0.0);
    if tiers.is_empty() {
        return false;
    }
    match mode {
        FailoverMode::Priority => {
            let hosts: Vec<PriorityHosts> = tiers
                .iter()
                .map(|t| PriorityHosts {
                    healthy: u64::from(t.eligible),
                    degraded: 0,
                    total: u64::from(t.total),
                })
                .collect();
            let mut state = PriorityLoads::default();
            priority_loads(
                &hosts,
                overprovisioning_percent(overprovisioning),
                panic_percent(panic_threshold),
                &mut state,
            );
            for (slot, (h, d)) in out
                .iter_mut()
                .zip(state.healthy.iter().zip(&state.degraded))
            {
                *slot = f64::from(h + d) / 100.0;
            }
            state.total_panic
        }
        FailoverMode::PrimaryBackup => {
            let first = tiers
                .iter()
                .position(|t| t.eligible > 0)
                .or_else(|| tiers.iter().position(|t| t.total > 0))
                .unwrap_or(0);
            out[first] = 1.0;
            false
        }
    }
}

/// Envoy's overprovisioning factor as the integer percent it computes with (1.4 -> 140).
pub fn overprovisioning_percent(overprovisioning: f64) -> u64 {
    (overprovisioning * 100.0).round().max(0.0) as u64
}

/// A panic threshold fraction as Envoy's integer percent, capped at 100.
pub fn panic_percent(threshold: f64) -> u64 {
    ((threshold * 100.0).round().max(0.0) as u64).min(100)
}

/// One priority level as Envoy's `recalculatePerPriorityState` sees it: counts of
/// hosts (or, for Envoy's `weighted_priority_health`, sums of their weights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriorityHosts {
    /// Healthy hosts (eligible for normal traffic).
    pub healthy: u64,
    /// Degraded hosts: used only when healthy ones cannot take the load.
    pub degraded: u64,
    /// All hosts of the priority (`healthy + degraded <= total`).
    pub total: u64,
}

/// The load split of Envoy's `LoadBalancerBase`, in integer percents, one slot per
/// priority: `healthy[p]` of the traffic goes to priority `p`'s healthy hosts and
/// `degraded[p]` to its degraded hosts (together they sum to 100), and `panic[p]`
/// says whether priority `p` is in panic (its picks then use all its hosts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriorityLoads {
    /// Percent of traffic to each priority's healthy hosts.
    pub healthy: Vec<u32>,
    /// Percent of traffic to each priority's degraded hosts.
    pub degraded: Vec<u32>,
    /// Per-priority panic (Envoy `per_priority_panic_`).
    pub panic: Vec<bool>,
    /// Every priority is in panic: loads follow host counts (Envoy "total panic").
    pub total_panic: bool,
}

/// Envoy's per-priority load, panic flags and total-panic split in one call
/// (`recalculatePerPriorityState` for every priority, then
/// `recalculatePerPriorityPanic`, which calls `recalculateLoadInTotalPanic`).
/// `overprovisioning` is Envoy's integer percent (140 by default) and
/// `panic_threshold` an integer percent (50 by default; 0 disables panic).
pub fn priority_loads(
    hosts: &[PriorityHosts],
    overprovisioning: u64,
    panic_threshold: u64,
    out: &mut PriorityLoads,
) {
    let n = hosts.len();
    out.healthy.clear();
    out.healthy.resize(n, 0);
    out.degraded.clear();
    out.degraded.resize(n, 0);
    out.panic.clear();
    out.panic.resize(n, false);
    out.total_panic = false;
    if n == 0 {
        return;
    }
    recalculate_per_priority_state(hosts, overprovisioning, out);
    out.total_panic = recalculate_per_priority_panic(hosts, overprovisioning, panic_threshold, out);
}

/// `(health, degraded)` availability of one priority in percent (Envoy: `min(100,
/// factor x healthy / total)` in integers; 0 for an empty priority).
fn availability(h: &PriorityHosts, overprovisioning: u64) -> (u64, u64) {
    if h.total == 0 {
        return (0, 0);
    }
    (
        (overprovisioning * h.healthy / h.total).min(100),
        (overprovisioning * h.degraded / h.total).min(100),
    )
}

/// `min(100, sum of health + degraded availability)` (Envoy
/// `calculateNormalizedTotalAvailability`).
fn normalized_total_availability(hosts: &[PriorityHosts], overprovisioning: u64) -> u64 {
    hosts
        .iter()
        .map(|h| {
            let (a, d) = availability(h, overprovisioning);
            a + d
        })
        .sum::<u64>()
        .min(100)
}

/// Envoy `recalculatePerPriorityState` (for every priority): healthy load first,
/// then what is left to degraded hosts, each by availability scaled to the
/// normalized total, rounding left-overs to the first healthy (else degraded)
/// priority. Leaves the loads at 0 when nothing is available.
pub fn recalculate_per_priority_state(
    hosts: &[PriorityHosts],
    overprovisioning: u64,
    out: &mut PriorityLoads,
) {
    out.healthy.iter_mut().for_each(|l| *l = 0);
    out.degraded.iter_mut().for_each(|l| *l = 0);
    let normalized = normalized_total_availability(hosts, overprovisioning);
    if normalized == 0 {
        return;
    }
    let distribute = |load: &mut [u32], avail: &dyn Fn(&PriorityHosts) -> u64, mut total: u64| {
        for (slot, h) in load.iter_mut().zip(hosts) {
            let l = total.min(avail(h) * 100 / normalized);
            *slot = l as u32;
            total -= l;
        }
        total
    };
    let healthy_av = |h: &PriorityHosts| availability(h, overprovisioning).0;
    let degraded_av = |h: &PriorityHosts| availability(h, overprovisioning).1;
    let left = distribute(&mut out.healthy, &healthy_av, 100);
    let left = distribute(&mut out.degraded, &degraded_av, left);
    if left != 0 {
        if let Some(p) = hosts.iter().position(|h| healthy_av(h) > 0) {
            out.healthy[p] += left as u32;
        } else if let Some(p) = hosts.iter().position(|h| degraded_av(h) > 0) {
            out.degraded[p] += left as u32;
        }
    }
}

/// Envoy `isHostSetInPanic`: healthy + degraded share of the hosts below the threshold.
pub fn is_priority_in_panic(h: &PriorityHosts, panic_threshold: u64) -> bool {
    // 100 x (healthy + degraded) / total < threshold, in integers (an empty priority
    // counts as 0 % available).
    let available = if h.total == 0 {
        0
    } else {
        100 * (h.healthy + h.degraded)
    };
    available < panic_threshold.min(100) * h.total.max(1)
}

/// Envoy `recalculatePerPriorityPanic`: sets `out.panic` (never while the
/// normalized availability is 100) and, when every priority is in panic, replaces the
/// loads by [`recalculate_load_in_total_panic`]. With panic disabled (threshold 0)
/// and nothing available, puts 100 % on priority 0. Returns true in total panic.
pub fn recalculate_per_priority_panic(
    hosts: &[PriorityHosts],
    overprovisioning: u64,
    panic_threshold: u64,
    out: &mut PriorityLoads,
) -> bool {
    let normalized = normalized_total_availability(hosts, overprovisioning);
    let threshold = panic_threshold.min(100);
    if threshold == 0 && normalized == 0 {
        out.panic.iter_mut().for_each(|p| *p = false);
        if let Some(first) = out.healthy.first_mut() {
            *first = 100;
        }
        return false;
    }
    let mut total_panic = true;
    for (flag, h) in out.panic.iter_mut().zip(hosts) {
        *flag = normalized != 100 && is_priority_in_panic(h, threshold);
        total_panic &= *flag;
    }
    if total_panic {
        recalculate_load_in_total_panic(hosts, out);
    }
    total_panic
}

/// Envoy `recalculateLoadInTotalPanic`: `100 x total_p / all hosts` to each priority's
/// healthy slot (integer division), the remainder to the first non-empty priority;
/// 100 % on priority 0 when there are no hosts at all.
pub fn recalculate_load_in_total_panic(hosts: &[PriorityHosts], out: &mut PriorityLoads) {
    out.degraded.iter_mut().for_each(|l| *l = 0);
    let all: u64 = hosts.iter().map(|h| h.total).sum();
    out.healthy.iter_mut().for_each(|l| *l = 0);
    if all == 0 {
        if let Some(first) = out.healthy.first_mut() {
            *first = 100;
        }
        return;
    }
    let mut left = 100u64;
    for (slot, h) in out.healthy.iter_mut().zip(hosts) {
        let l = 100 * h.total / all;
        *slot = l as u32;
        left -= l;
    }
    let first = hosts.iter().position(|h| h.total > 0).unwrap_or(0);
    out.healthy[first] += left as u32;
}

/// Envoy `previous_priorities` retry plugin (`PreviousPrioritiesRetryPriority`,
/// `update_frequency = 1`): the loads for a retry that avoids the priorities already
/// tried. `attempted[p]` marks the priorities earlier attempts of the call went to;
/// their availability counts as 0 and the rest is spread over the others by
/// availability (`adjustedAvailability`), healthy first, then degraded, passes
/// repeated until all 100 % is placed. When nothing is left, the marks are
/// forgotten (Envoy resets them) and all priorities count again. Returns false when
/// no priority has any availability at all: the caller then keeps the original
/// loads (Envoy returns `original_priority_load`), and `out` is untouched.
pub fn previous_priorities_loads(
    hosts: &[PriorityHosts],
    attempted: &[bool],
    overprovisioning: u64,
    out: &mut PriorityLoads,
) -> bool {
    let avail: Vec<(u64, u64)> = hosts
        .iter()
        .map(|h| availability(h, overprovisioning))
        .collect();
    let tried = |i: usize| attempted.get(i).copied().unwrap_or(false);
    let adjusted = |exclude: bool| -> Vec<(u64, u64)> {
        avail
            .iter()
            .enumerate()
            .map(|(i, &a)| if exclude && tried(i) { (0, 0) } else { a })
            .collect()
    };
    let total_of = |a: &[(u64, u64)]| a.iter().map(|&(h, d)| h + d).sum::<u64>().min(100);
    let mut adj = adjusted(true);
    let mut total = total_of(&adj);
    if total == 0 {
        adj = adjusted(false);
        total = total_of(&adj);
    }
    if total == 0 {
        return false;
    }
    let n = hosts.len();
    out.healthy.clear();
    out.healthy.resize(n, 0);
    out.degraded.clear();
    out.degraded.resize(n, 0);
    out.panic.clear();
    out.panic.resize(n, false);
    out.total_panic = false;
    let mut left = 100u64;
    while left != 0 {
        for (slot, &(h, _)) in out.healthy.iter_mut().zip(&adj) {
            let delta = left.min(h * 100 / total);
            *slot += delta as u32;
            left -= delta;
        }
        for (slot, &(_, d)) in out.degraded.iter_mut().zip(&adj) {
            let delta = left.min(d * 100 / total);
            *slot += delta as u32;
            left -= delta;
        }
    }
    true
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
            let total_panic = tier_loads_with_panic(mode, &tiers, factor, 0.5, &mut out);
            let sum: f64 = out.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {} of {:?}", sum, out);
            prop_assert!(out.iter().all(|&l| (0.0..=1.0).contains(&l)));
            // Traffic reaches a tier without eligible endpoints only in total panic.
            let any_eligible = tiers.iter().any(|t| t.eligible > 0);
            for (t, &l) in tiers.iter().zip(&out) {
                if any_eligible && !total_panic && t.eligible == 0 {
                    prop_assert!(l == 0.0, "tier {:?} got {}", t, l);
                }
            }
        }
    }
}
