//! Range checks and references between sections, after the file has been typed.
//!
//! Each problem is reported with its key path in the deserializer's form
//! (`clients[0].arrival.rate`), which the loader turns into a line and a readable key.

use std::collections::BTreeSet;
use std::time::Duration;

use super::faults::{Fault, FaultKind, Selector};
use super::schema::{ArrivalConfig, DiscoveryKind, ScenarioFile};
use crate::dist::Dist;
use crate::policy::failover::check_overprovisioning;
use crate::policy::ConfigError;

/// A problem at a key path.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Key path, deserializer form.
    pub path: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

/// A policy's `ConfigError` at `prefix.key`.
pub fn policy_problem(prefix: &str, e: ConfigError) -> Problem {
    problem(format!("{prefix}.{}", e.key), e.to_string())
}

fn check(ok: bool, path: impl Into<String>, message: impl Into<String>) -> Result<(), Problem> {
    if ok {
        Ok(())
    } else {
        Err(problem(path, message))
    }
}

fn fraction(value: f64, path: String) -> Result<(), Problem> {
    check(
        (0.0..=1.0).contains(&value),
        path,
        format!("{value} is not a probability in [0, 1]"),
    )
}

/// Checks every value's range and every reference; the first problem wins.
pub fn validate(s: &ScenarioFile) -> Result<(), Problem> {
    let run = &s.run;
    check(run.duration > Duration::ZERO, "run.duration", "must be > 0")?;
    check(run.window > Duration::ZERO, "run.window", "must be > 0")?;
    check(
        run.window <= run.duration,
        "run.window",
        "must not be longer than `run.duration`",
    )?;
    check(
        run.duration.as_nanos() / run.window.as_nanos() <= 1_000_000,
        "run.window",
        "gives more than 1,000,000 windows; use a longer window",
    )?;
    fraction(run.slo, "run.slo".into())?;
    check(run.max_events > 0, "run.max_events", "must be >= 1")?;
    check(
        run.warmup.as_nanos() + run.duration.as_nanos() + run.drain.as_nanos()
            < u64::MAX as u128 / 2,
        "run.duration",
        "warmup + duration + drain is too long to simulate",
    )?;
    fraction(s.network.loss, "network.loss".into())?;
    check(
        s.network.loss < 1.0,
        "network.loss",
        "1.0 drops every message; use < 1",
    )?;

    check(
        !s.servers.is_empty(),
        "servers",
        "at least one [[servers]] group is needed",
    )?;
    let mut groups = BTreeSet::new();
    for (i, g) in s.servers.iter().enumerate() {
        let at = |key: &str| format!("servers[{i}].{key}");
        check(!g.group.is_empty(), at("group"), "must not be empty")?;
        check(
            valid_name(&g.group),
            at("group"),
            "may hold only letters, digits, '-' and '_'",
        )?;
        check(
            groups.insert(g.group.as_str()),
            at("group"),
            format!("`{}` is used twice", g.group),
        )?;
        check(g.count >= 1, at("count"), "must be >= 1")?;
        check(g.count <= 100_000, at("count"), "must be <= 100000")?;
        check(g.weight >= 1, at("weight"), "must be >= 1")?;
        check(g.concurrency >= 1, at("concurrency"), "must be >= 1")?;
        fraction(g.error_rate, at("error_rate"))?;
        // A zero service time is allowed: an instant server is a normal model for
        // network-only and breaker studies. Only a mean that is not a number is not.
        check(
            !g.service.mean_ns().is_nan(),
            at("service"),
            "has no mean (an empty sample?)",
        )?;
    }

    check(
        !s.clients.is_empty(),
        "clients",
        "at least one [[clients]] population is needed",
    )?;
    let mut names = BTreeSet::new();
    for (i, c) in s.clients.iter().enumerate() {
        let at = |key: &str| format!("clients[{i}].{key}");
        check(
            valid_name(&c.name),
            at("name"),
            "must be non-empty letters, digits, '-' and '_'",
        )?;
        check(
            names.insert(c.name.as_str()),
            at("name"),
            format!("`{}` is used twice", c.name),
        )?;
        check(
            !groups.contains(c.name.as_str()),
            at("name"),
            "is also a server group name",
        )?;
        check(c.instances >= 1, at("instances"), "must be >= 1")?;
        check(c.instances <= 100_000, at("instances"), "must be <= 100000")?;
        check(
            !c.target.0.is_empty(),
            at("target"),
            "names no server group",
        )?;
        for t in &c.target.0 {
            let valid: Vec<&str> = s.servers.iter().map(|g| g.group.as_str()).collect();
            check(
                groups.contains(t.as_str()),
                at("target"),
                format!("`{t}` is not a server group (valid: {})", valid.join(", ")),
            )?;
        }
        match &c.arrival {
            ArrivalConfig::Poisson { rate } | ArrivalConfig::Constant { rate } => {
                check(
                    rate.is_finite() && *rate > 0.0,
                    at("arrival.rate"),
                    "must be > 0 calls/s",
                )?;
                check(*rate <= 1e9, at("arrival.rate"), "must be <= 1e9 calls/s")?;
            }
            ArrivalConfig::Burst {
                rate,
                burst_rate,
                duration,
                ..
            } => {
                for (key, r) in [("arrival.rate", rate), ("arrival.burst_rate", burst_rate)] {
                    check(
                        r.is_finite() && *r > 0.0 && *r <= 1e9,
                        at(key),
                        "must be > 0 and <= 1e9 calls/s",
                    )?;
                }
                check(!duration.is_zero(), at("arrival.duration"), "must be > 0")?;
            }
            ArrivalConfig::Closed { concurrency, think } => {
                check(*concurrency >= 1, at("arrival.concurrency"), "must be >= 1")?;
                check(
                    think.mean_ns() > 0.0,
                    at("arrival.think"),
                    "must have a mean > 0: a call that fails at once would restart at the same instant forever",
                )?;
            }
        }
        for (key, value) in [("timeout", c.timeout), ("deadline", c.deadline)] {
            check(
                value != Some(Duration::ZERO),
                at(key),
                "must be > 0 (leave it out for none)",
            )?;
        }
        c.balancer
            .validate()
            .map_err(|e| policy_problem(&at("balancer"), e))?;
        let known: u32 = s
            .servers
            .iter()
            .filter(|g| c.target.0.contains(&g.group))
            .map(|g| g.count)
            .sum();
        c.balancer
            .validate_endpoints(known as usize)
            .map_err(|e| policy_problem(&at("balancer"), e))?;
        // Nested tables first, so an error names `retry.budget.ratio`, not `retry.ratio`.
        c.retry
            .backoff
            .validate()
            .map_err(|e| policy_problem(&at("retry.backoff"), e))?;
        if let Some(budget) = &c.retry.budget {
            budget
                .validate()
                .map_err(|e| policy_problem(&at("retry.budget"), e))?;
        }
        if let Some(throttle) = &c.retry.throttle {
            throttle
                .validate()
                .map_err(|e| policy_problem(&at("retry.throttle"), e))?;
        }
        c.retry
            .validate()
            .map_err(|e| policy_problem(&at("retry"), e))?;
        if let Some(b) = &c.breaker {
            b.validate()
                .map_err(|e| policy_problem(&at("breaker"), e))?;
        }
        if let Some(h) = &c.hedge {
            h.validate().map_err(|e| policy_problem(&at("hedge"), e))?;
        }
        if let Some(h) = &c.health_check {
            h.validate()
                .map_err(|e| policy_problem(&at("health_check"), e))?;
        }
        if let Some(o) = &c.outlier {
            o.validate()
                .map_err(|e| policy_problem(&at("outlier"), e))?;
        }
        if let Some(l) = &c.limiter {
            l.validate()
                .map_err(|e| policy_problem(&at("limiter"), e))?;
        }
        check_overprovisioning(c.overprovisioning)
            .map_err(|e| problem(at("overprovisioning"), e.problem))?;
        fraction(c.panic_threshold, at("panic_threshold"))?;
    }
    super::limits::check(s)
}

/// The file's `[[variants]]`: names that are unique and usable, and no `run.seed`
/// (every variant runs the same seeds, so runs can be paired). Whether each `set`
/// makes a valid scenario is checked by loading the variant (`Scenario::check_variants`).
pub fn variants(s: &ScenarioFile) -> Result<(), Problem> {
    let mut names = BTreeSet::new();
    for (i, v) in s.variants.iter().enumerate() {
        let at = |key: &str| format!("variants[{i}].{key}");
        check(
            !v.name.trim().is_empty(),
            at("name"),
            "must not be empty: it names the variant in every output",
        )?;
        check(
            !v.name.contains(['\n', '\r']),
            at("name"),
            "must be one line (it labels tables and charts)",
        )?;
        check(
            names.insert(v.name.as_str()),
            at("name"),
            format!("`{}` is used twice; variant names must be unique", v.name),
        )?;
        check(
            !v.set.contains_key("run.seed"),
            at("set"),
            "must not set `run.seed`: every variant runs the same seeds (use --seed)",
        )?;
    }
    Ok(())
}

/// Checks every fault and resolves nothing yet: selectors must name existing groups,
/// populations or zones, and ranges must fit their counts.
pub fn faults(s: &ScenarioFile) -> Result<Vec<Fault>, Problem> {
    let mut out = Vec::new();
    for (i, f) in s.faults.iter().enumerate() {
        let fault = f
            .check()
            .map_err(|(key, message)| problem(format!("faults[{i}].{key}"), message))?;
        check(
            fault.at < s.run.duration,
            format!("faults[{i}].at"),
            format!(
                "starts after the measured interval ends (run.duration = {})",
                crate::time::format_duration(s.run.duration)
            ),
        )?;
        let sides: Vec<(&Selector, &str)> = match &fault.kind {
            FaultKind::Partition { a, b, .. } => vec![(a, "between"), (b, "between")],
            _ => fault.target.iter().map(|t| (t, "target")).collect(),
        };
        for (selector, key) in sides {
            check_selector(s, selector).map_err(|m| problem(format!("faults[{i}].{key}"), m))?;
        }
        if matches!(fault.kind, FaultKind::RegistryDown) {
            check(
                s.discovery.kind == DiscoveryKind::Registry,
                format!("faults[{i}].kind"),
                "registry_down needs `[discovery] kind = \"registry\"`",
            )?;
        }
        let server_only = matches!(
            fault.kind,
            FaultKind::Crash { .. }
                | FaultKind::RandomCrash { .. }
                | FaultKind::Slow { .. }
                | FaultKind::Errors { .. }
        );
        if let (true, Some(Selector::Named { name, .. })) = (server_only, &fault.target) {
            check(
                s.servers.iter().any(|g| &g.group == name),
                format!("faults[{i}].target"),
                format!(
                    "fault kind `{}` hits servers; `{name}` is a client population",
                    fault.kind.name()
                ),
            )?;
        }
        out.push(fault);
    }
    Ok(out)
}

/// A selector names an existing group, population or zone, within its count.
fn check_selector(s: &ScenarioFile, selector: &Selector) -> Result<(), String> {
    match selector {
        Selector::Zone(zone) => {
            let zones: BTreeSet<&str> = s.servers.iter().map(|g| g.zone.as_str()).collect();
            if zones.contains(zone.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "no server is in zone `{zone}` (zones: {})",
                    zones.into_iter().collect::<Vec<_>>().join(", ")
                ))
            }
        }
        Selector::Named { name, range } => {
            let count = s
                .servers
                .iter()
                .find(|g| &g.group == name)
                .map(|g| g.count)
                .or_else(|| {
                    s.clients
                        .iter()
                        .find(|c| &c.name == name)
                        .map(|c| c.instances)
                });
            let Some(count) = count else {
                let names: Vec<&str> = s
                    .servers
                    .iter()
                    .map(|g| g.group.as_str())
                    .chain(s.clients.iter().map(|c| c.name.as_str()))
                    .collect();
                return Err(format!(
                    "`{name}` is not a server group or client population (valid: {}, or zone:NAME)",
                    names.join(", ")
                ));
            };
            match range {
                Some((_, end)) if *end > count => {
                    Err(format!("`{name}` has {count} members (indexes 0..{count})"))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Discovery and autoscaling parameters.
pub fn control_plane(s: &ScenarioFile) -> Result<(), Problem> {
    let d = &s.discovery;
    if d.kind == DiscoveryKind::Static {
        for (key, set) in [
            ("heartbeat", d.heartbeat.is_some()),
            ("ttl", d.ttl.is_some()),
            ("propagation", d.propagation.is_some()),
            ("refresh", d.refresh.is_some()),
        ] {
            check(
                !set,
                format!("discovery.{key}"),
                "applies only to `kind = \"registry\"`",
            )?;
        }
    }
    for (key, value) in [
        ("heartbeat", d.heartbeat),
        ("ttl", d.ttl),
        ("refresh", d.refresh),
    ] {
        check(
            value != Some(Duration::ZERO),
            format!("discovery.{key}"),
            "must be > 0",
        )?;
    }
    check(
        d.heartbeat() < d.ttl(),
        "discovery.ttl",
        "must be longer than `heartbeat`, or servers expire between heartbeats",
    )?;
    if let Some(a) = &s.autoscale {
        a.validate().map_err(|e| policy_problem("autoscale", e))?;
        let group = s.servers.iter().find(|g| g.group == a.group);
        check(
            group.is_some(),
            "autoscale.group",
            format!(
                "`{}` is not a server group (valid: {})",
                a.group,
                s.servers
                    .iter()
                    .map(|g| g.group.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
        check(
            d.kind == DiscoveryKind::Registry,
            "autoscale",
            "new servers register like any other: use `[discovery] kind = \"registry\"`",
        )?;
    }
    Ok(())
}

/// Names appear in selectors (`api[0]`, `zone:a`) and file names: keep them plain.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Every distribution in the file with its key path, for loading empirical files.
pub fn dists_mut(s: &mut ScenarioFile) -> Vec<(String, &mut Dist)> {
    let mut v: Vec<(String, &mut Dist)> = vec![("network.latency".into(), &mut s.network.latency)];
    for (i, g) in s.servers.iter_mut().enumerate() {
        v.push((format!("servers[{i}].service"), &mut g.service));
    }
    for (i, c) in s.clients.iter_mut().enumerate() {
        if let ArrivalConfig::Closed { think, .. } = &mut c.arrival {
            v.push((format!("clients[{i}].arrival.think"), think));
        }
    }
    for (i, f) in s.faults.iter_mut().enumerate() {
        if let Some(latency) = &mut f.latency {
            v.push((format!("faults[{i}].latency"), latency));
        }
    }
    v
}
