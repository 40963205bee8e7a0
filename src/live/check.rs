//! What a live run refuses: features that cannot run on real sockets, and sizes this
//! machine cannot keep up with in real time.
//!
//! Refusing is the rule: a key that the live run would silently ignore would make its
//! numbers disagree with the simulation for a reason no one could see.

use std::time::Duration;

use super::error::LiveError;
use crate::scenario::{ArrivalConfig, DiscoveryKind, FaultKind, Scenario};

/// The longest live run (warmup + duration + drain), in real time.
pub const MAX_REAL_TIME: Duration = Duration::from_secs(120);

/// The highest total call rate of open-loop arrivals (calls/s over every population).
/// Two cores run the servers, the clients and the kernel's loopback at once; past a
/// few thousand calls/s the run measures its own CPU starvation, not the scenario.
pub const MAX_RATE: f64 = 5_000.0;

/// The most closed-loop callers over every population and instance.
pub const MAX_CALLERS: u64 = 2_000;

/// The most servers (one port each) and client instances (one task and pool each).
pub const MAX_SERVERS: u64 = 256;
/// See [`MAX_SERVERS`].
pub const MAX_INSTANCES: u64 = 256;

/// Checks that `scenario` can run live; the error names the key.
pub fn check(scenario: &Scenario) -> Result<(), LiveError> {
    let cfg = &scenario.config;
    let file = scenario.file.display().to_string();
    let unsupported = |key: String, why: &str| LiveError::Unsupported {
        file: file.clone(),
        key,
        why: why.to_string(),
    };
    let too_big = |key: &str, why: String| LiveError::TooBig {
        file: file.clone(),
        key: key.to_string(),
        why,
    };
    if cfg.autoscale.is_some() {
        return Err(unsupported(
            "autoscale".into(),
            "a live run has a fixed set of servers; remove [autoscale] or use `hasim run`",
        ));
    }
    if cfg.discovery.kind == DiscoveryKind::Registry {
        return Err(unsupported(
            "discovery.kind".into(),
            "only static discovery runs live (every client knows every server); use `hasim run` for the registry",
        ));
    }
    for (i, f) in scenario.faults.iter().enumerate() {
        if matches!(f.kind, FaultKind::RegistryDown) {
            let why = "registry_down needs registry discovery, which does not run live";
            return Err(unsupported(format!("faults[{i}].kind"), why));
        }
    }
    let real = cfg.run.warmup + cfg.run.duration + cfg.run.drain;
    if real > MAX_REAL_TIME {
        return Err(too_big(
            "run.duration",
            format!(
                "warmup + duration + drain = {:.1} s of real time; a live run takes at most {} s",
                real.as_secs_f64(),
                MAX_REAL_TIME.as_secs()
            ),
        ));
    }
    let servers: u64 = cfg.servers.iter().map(|g| u64::from(g.count)).sum();
    if servers > MAX_SERVERS {
        return Err(too_big(
            "servers.count",
            format!("{servers} servers; a live run starts at most {MAX_SERVERS}"),
        ));
    }
    let instances: u64 = cfg.clients.iter().map(|c| u64::from(c.instances)).sum();
    if instances > MAX_INSTANCES {
        return Err(too_big(
            "clients.instances",
            format!("{instances} client instances; a live run starts at most {MAX_INSTANCES}"),
        ));
    }
    let (mut rate, mut callers) = (0.0, 0u64);
    for c in &cfg.clients {
        match &c.arrival {
            ArrivalConfig::Poisson { rate: r } | ArrivalConfig::Constant { rate: r } => rate += r,
            ArrivalConfig::Burst {
                rate: r,
                burst_rate,
                ..
            } => rate += r.max(*burst_rate),
            ArrivalConfig::Closed { concurrency, .. } => {
                callers += u64::from(*concurrency) * u64::from(c.instances)
            }
        }
    }
    if rate > MAX_RATE {
        return Err(too_big(
            "clients.arrival.rate",
            format!("{rate} calls/s in total; a live run sends at most {MAX_RATE} calls/s"),
        ));
    }
    if callers > MAX_CALLERS {
        return Err(too_big(
            "clients.arrival.concurrency",
            format!("{callers} closed-loop callers in total; a live run has at most {MAX_CALLERS}"),
        ));
    }
    Ok(())
}
