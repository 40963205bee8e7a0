//! Load-time limits: what a valid scenario may ask for before it is run.
//!
//! DESIGN.md invariant 7 says every run is bounded. The run-time budget
//! (`sim/budget.rs`) watches what grows while a run goes; this file rejects, before
//! anything is built, scenarios whose *fixed* state or work already cannot fit:
//!
//! - **memory**: per-client per-endpoint state (instances x servers), balancer tables
//!   (ring and maglev sizes x instances), closed-loop callers, time-series windows and
//!   servers, estimated from the sizes below and compared with `run.max_memory`;
//! - **work**: periodic ticks (autoscaling, health checks, outlier detection,
//!   heartbeats, registry polls, `random_crash` failures and repairs) have a floor of
//!   [`MIN_TICK`], and the events the ticks are certain to cause (health probes,
//!   heartbeats) must fit in `run.max_events`, so a run cannot become an effective hang;
//! - **names and text**: the scenario `name` becomes a folder, so it is restricted
//!   like group names (plus `.`, never `.` or `..`); names and descriptions have
//!   lengths capped, so tables and file names stay sane;
//! - **files**: [`read_capped`] reads scenario and data files only from regular files
//!   and only up to a size cap (a FIFO or `/dev/zero` is refused, not read forever).
//!
//! Each problem names the keys at fault and what to change, and exits 2 like every
//! other scenario error.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde::{de, Deserializer};

use super::faults::FaultConfig;
use super::schema::{ArrivalConfig, ScenarioFile};
use super::validate::Problem;
use crate::policy::balancer::BalancerConfig;

/// The default `run.max_memory`: 1 GiB per run.
pub const DEFAULT_MAX_MEMORY: u64 = 1 << 30;

/// The smallest `run.max_memory` accepted: below it even small runs cannot work.
pub const MIN_MAX_MEMORY: u64 = 16 << 20;

/// The largest scenario file read (bytes). Scenario files are hand-written; 4 MiB is
/// far beyond any of them, and every planned run keeps a copy of the text.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;

/// The largest data file (an empirical distribution's samples) read, in bytes.
pub const MAX_DATA_BYTES: u64 = 64 << 20;

/// The shortest interval of any periodic tick. A tick every nanosecond would need
/// 1e9 events per simulated second, for nothing any real system does.
pub const MIN_TICK: Duration = Duration::from_millis(1);

/// Longest scenario, group, client and variant name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4096;

/// Bytes of one time-series window with its latency histogram (measured: ~6.8 KB).
const WINDOW_BYTES: u64 = 7 * 1024;
/// Bytes of one server (counters, queue, names, random streams).
const SERVER_BYTES: u64 = 1024;
/// Bytes one client instance keeps per endpoint id (view, eligible list, probing
/// flag, health and outlier state).
const ENDPOINT_STATE_BYTES: u64 = 64;
/// Bytes of one endpoint's breaker, when breakers are per endpoint.
const BREAKER_BYTES: u64 = 256;
/// Bytes of one client instance without per-endpoint state.
const INSTANCE_BYTES: u64 = 4096;
/// Bytes of one ring-hash ring entry (hash and endpoint).
const RING_ENTRY_BYTES: u64 = 16;
/// Bytes of one maglev table entry, with its share of the fill permutations.
const MAGLEV_ENTRY_BYTES: u64 = 8;
/// Bytes of one closed-loop caller: its call, attempt and pending events.
const CALLER_BYTES: u64 = 512;

/// Checks every limit of this file; the first problem wins.
pub fn check(s: &ScenarioFile) -> Result<(), Problem> {
    names(s)?;
    memory(s)?;
    ticks(s)?;
    work(s)
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

/// Names and descriptions appear in tables, charts and JSON; a cap keeps every table
/// printable. (The scenario `name` is never a path: the default output folder is
/// named after the file.)
fn names(s: &ScenarioFile) -> Result<(), Problem> {
    if let Some(name) = &s.name {
        length(name, MAX_NAME_CHARS, "name")?;
    }
    length(&s.description, MAX_DESCRIPTION_CHARS, "description")?;
    for (i, g) in s.servers.iter().enumerate() {
        length(&g.group, MAX_NAME_CHARS, &format!("servers[{i}].group"))?;
        length(&g.zone, MAX_NAME_CHARS, &format!("servers[{i}].zone"))?;
    }
    for (i, c) in s.clients.iter().enumerate() {
        length(&c.name, MAX_NAME_CHARS, &format!("clients[{i}].name"))?;
    }
    for (i, v) in s.variants.iter().enumerate() {
        length(&v.name, MAX_NAME_CHARS, &format!("variants[{i}].name"))?;
    }
    Ok(())
}

fn length(text: &str, max: usize, path: &str) -> Result<(), Problem> {
    let n = text.chars().count();
    if n > max {
        return Err(problem(
            path,
            format!("is {n} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// One fixed cost of the run, with the keys that make it.
struct Cost {
    bytes: u64,
    path: String,
    what: String,
}

/// The fixed state of one run must fit in `run.max_memory`.
fn memory(s: &ScenarioFile) -> Result<(), Problem> {
    let budget = s.run.max_memory;
    if budget < MIN_MAX_MEMORY {
        return Err(problem(
            "run.max_memory",
            format!(
                "= {} is too small to run anything; use at least {}",
                format_bytes(budget),
                format_bytes(MIN_MAX_MEMORY)
            ),
        ));
    }
    let costs = costs(s);
    let total = costs.iter().fold(0u64, |a, c| a.saturating_add(c.bytes));
    if total <= budget {
        return Ok(());
    }
    let worst = costs.into_iter().max_by_key(|c| c.bytes).expect("costs");
    let (what, fix) = worst.what.split_once("; ").unwrap_or((&worst.what, ""));
    Err(problem(
        worst.path.clone(),
        format!(
            "{what} need about {}, more than run.max_memory = {}; {fix}",
            format_bytes(total),
            format_bytes(budget),
        ),
    ))
}

/// Every fixed cost, estimated from the sizes above.
fn costs(s: &ScenarioFile) -> Vec<Cost> {
    let mut costs = Vec::new();
    let windows = (s.run.duration.as_nanos() / s.run.window.as_nanos().max(1)) as u64 + 1;
    costs.push(Cost {
        bytes: windows.saturating_mul(WINDOW_BYTES),
        path: "run.window".into(),
        what: format!(
            "{windows} time-series windows (run.duration / run.window); use a longer \
             run.window, a shorter run.duration, or raise run.max_memory"
        ),
    });
    let mut servers: u64 = s.servers.iter().map(|g| u64::from(g.count)).sum();
    if let Some(a) = &s.autoscale {
        servers = servers.saturating_add(u64::from(a.max));
    }
    costs.push(Cost {
        bytes: servers.saturating_mul(SERVER_BYTES),
        path: "servers".into(),
        what: format!("{servers} servers; use fewer servers (`count`), or raise run.max_memory"),
    });
    for (i, c) in s.clients.iter().enumerate() {
        let instances = u64::from(c.instances);
        let mut per_endpoint = ENDPOINT_STATE_BYTES;
        if c.breaker.is_some() {
            per_endpoint += BREAKER_BYTES;
        }
        let per_instance = INSTANCE_BYTES.saturating_add(servers.saturating_mul(per_endpoint));
        costs.push(Cost {
            bytes: instances.saturating_mul(per_instance),
            path: format!("clients[{i}].instances"),
            what: format!(
                "clients.{}.instances x servers ({instances} x {servers}, each instance \
                 keeping state per server); use fewer instances or servers, or raise \
                 run.max_memory",
                c.name
            ),
        });
        let (table, entry, key) = match &c.balancer {
            BalancerConfig::RingHash(r) => (r.ring_size, RING_ENTRY_BYTES, "ring_size"),
            BalancerConfig::Maglev(m) => (m.table_size, MAGLEV_ENTRY_BYTES, "table_size"),
            _ => (0, 0, ""),
        };
        if table > 0 {
            costs.push(Cost {
                bytes: instances.saturating_mul(table.saturating_mul(entry)),
                path: format!("clients[{i}].balancer.{key}"),
                what: format!(
                    "clients.{}.balancer.{key} x instances ({table} x {instances}, one table \
                     per instance); use a smaller {key} or fewer instances, or raise \
                     run.max_memory",
                    c.name
                ),
            });
        }
        if let ArrivalConfig::Closed { concurrency, .. } = &c.arrival {
            let callers = instances.saturating_mul(u64::from(*concurrency));
            costs.push(Cost {
                bytes: callers.saturating_mul(CALLER_BYTES),
                path: format!("clients[{i}].arrival.concurrency"),
                what: format!(
                    "clients.{}.arrival.concurrency x instances ({concurrency} x {instances} \
                     callers); use fewer callers, or raise run.max_memory",
                    c.name
                ),
            });
        }
    }
    costs
}

/// Periodic ticks have a floor, so no setting makes events without end.
fn ticks(s: &ScenarioFile) -> Result<(), Problem> {
    let mut ticks: Vec<(String, Duration)> = Vec::new();
    if let Some(a) = &s.autoscale {
        ticks.push(("autoscale.interval".into(), a.interval));
    }
    if let Some(h) = s.discovery.heartbeat {
        ticks.push(("discovery.heartbeat".into(), h));
    }
    if let Some(r) = s.discovery.refresh {
        ticks.push(("discovery.refresh".into(), r));
    }
    for (i, c) in s.clients.iter().enumerate() {
        if let Some(h) = &c.health_check {
            ticks.push((format!("clients[{i}].health_check.interval"), h.interval));
        }
        if let Some(o) = &c.outlier {
            ticks.push((format!("clients[{i}].outlier.interval"), o.interval));
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        random_crash_ticks(i, f, &mut ticks);
    }
    for (path, every) in ticks {
        if every < MIN_TICK {
            return Err(problem(
                path,
                format!(
                    "= {every:?} is below the floor of {MIN_TICK:?}: a tick that often would \
                     cost more events than the rest of the run; use {MIN_TICK:?} or more"
                ),
            ));
        }
    }
    Ok(())
}

fn random_crash_ticks(i: usize, f: &FaultConfig, ticks: &mut Vec<(String, Duration)>) {
    if f.kind == "random_crash" {
        if let Some(m) = f.mtbf {
            ticks.push((format!("faults[{i}].mtbf"), m));
        }
        if let Some(m) = f.mttr {
            ticks.push((format!("faults[{i}].mttr"), m));
        }
    }
}

/// Events periodic ticks are certain to cause must fit in `run.max_events`:
/// otherwise the run would go on for a long time and fail anyway. (Arrivals are left
/// to the run-time bound: `run.max_events` there ends the run with exit 1.)
fn work(s: &ScenarioFile) -> Result<(), Problem> {
    let seconds = (s.run.warmup + s.run.duration).as_secs_f64();
    let servers: f64 = s.servers.iter().map(|g| f64::from(g.count)).sum();
    let mut sources: Vec<(String, f64, String)> = Vec::new();
    for (i, c) in s.clients.iter().enumerate() {
        if let Some(h) = &c.health_check {
            let targets: f64 = s
                .servers
                .iter()
                .filter(|g| c.target.0.contains(&g.group))
                .map(|g| f64::from(g.count))
                .sum();
            let probes = f64::from(c.instances) * targets * seconds / h.interval.as_secs_f64();
            sources.push((
                format!("clients[{i}].health_check.interval"),
                probes,
                format!(
                    "clients.{} probes every target server from every instance each interval",
                    c.name
                ),
            ));
        }
    }
    if s.discovery.kind == super::schema::DiscoveryKind::Registry {
        let beats = servers * seconds / s.discovery.heartbeat().as_secs_f64();
        sources.push((
            "discovery.heartbeat".into(),
            beats,
            "every server heartbeats each interval".into(),
        ));
    }
    for (i, f) in s.faults.iter().enumerate() {
        if let (true, Some(mtbf)) = (f.kind == "random_crash", f.mtbf) {
            // A failure per mtbf per targeted server; a whole group counts its
            // servers, any other selector one (a lower bound: these are certain).
            let targeted = s
                .servers
                .iter()
                .find(|g| f.target.as_deref() == Some(g.group.as_str()))
                .map_or(1.0, |g| f64::from(g.count));
            sources.push((
                format!("faults[{i}].mtbf"),
                targeted * seconds / mtbf.as_secs_f64(),
                "every targeted server fails about once per mtbf".into(),
            ));
        }
    }
    let total: f64 = sources.iter().map(|s| s.1).sum();
    if total <= s.run.max_events as f64 {
        return Ok(());
    }
    let (path, _, why) = sources
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("sources");
    Err(problem(
        path,
        format!(
            "the run would need at least {total:.3e} events ({why}), more than \
             run.max_events = {}; lower the rate, lengthen the interval, shorten run.duration, \
             or raise run.max_events",
            s.run.max_events
        ),
    ))
}

/// Reads a text file of at most `cap` bytes, refusing anything but a regular file (a
/// FIFO would block, a device such as `/dev/zero` never ends).
pub fn read_capped(path: &Path, cap: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file (a folder, FIFO or device cannot be read)".into());
    }
    if meta.len() > cap {
        return Err(format!(
            "is {}, more than the {} allowed",
            format_bytes(meta.len()),
            format_bytes(cap)
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow between the check and the read: read one byte past the cap.
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(format!("is more than the {} allowed", format_bytes(cap)));
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())
}

/// `1073741824` -> `1 GiB`; `1536` -> `1.5 KiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

/// Parses `"512MiB"`, `"1 GiB"`, `"2GB"`, `"1000000"` (bytes). Binary and decimal
/// units, case-insensitive.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as \"1GiB\" or \"512MiB\""))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
            ))
        }
    };
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes as u64)
}

/// Serde for `run.max_memory`: a size string (`"1GiB"`) or a number of bytes.
pub mod bytes_str {
    use super::*;

    /// Deserializes a size string or an integer number of bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size such as \"1GiB\" or \"512MiB\", or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                parse_bytes(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom("a size must not be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
        }
        d.deserialize_any(V)
    }
}

/// The default `run.max_memory`, for serde.
pub fn default_max_memory() -> u64 {
    DEFAULT_MAX_MEMORY
}

/// How many runs of `max_memory` bytes each may run at once in this process, given
/// what the system allows (the address-space limit and the physical memory, where
/// they can be read); `None` if that cannot be read. The experiment runner checks
/// `--jobs` against it: the budget of every run at once must fit.
pub fn jobs_that_fit(max_memory: u64) -> Option<usize> {
    let available = available_memory()?;
    // Leave room for the process itself and the finished runs' results.
    let usable = available.saturating_sub(256 << 20);
    Some((usable / max_memory.max(1)) as usize)
}

/// The smaller of the address-space limit (`ulimit -v`) and the physical memory.
fn available_memory() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok();
    let address_space = limits.as_deref().and_then(|l| {
        l.lines()
            .find(|line| line.starts_with("Max address space"))
            .and_then(|line| line.split_whitespace().nth(3))
            .and_then(|soft| soft.parse::<u64>().ok())
    });
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let physical = meminfo.as_deref().and_then(|m| {
        m.lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    match (address_space, physical) {
        (Some(a), Some(p)) => Some(a.min(p)),
        (a, p) => a.or(p),
    }
}

/// Checks that `jobs` runs of `max_memory` each fit at once (0 = one per core,
/// which is fitted silently), returning the number of threads to use.
pub fn check_jobs(jobs: usize, max_memory: u64) -> Result<usize, String> {
    let Some(fit) = jobs_that_fit(max_memory) else {
        return Ok(jobs);
    };
    if fit == 0 {
        return Err(format!(
            "run.max_memory = {} is more than this process may use; lower run.max_memory \
             (or raise `ulimit -v`)",
            format_bytes(max_memory)
        ));
    }
    if jobs == 0 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        return Ok(cores.min(fit));
    }
    if jobs > fit {
        return Err(format!(
            "--jobs {jobs} runs at once with run.max_memory = {} each need {}, more than \
             this process may use; use --jobs {fit} or less, or lower run.max_memory",
            format_bytes(max_memory),
            format_bytes(max_memory.saturating_mul(jobs as u64))
        ));
    }
    Ok(jobs)
}

/// The most runs one command may plan.
pub const MAX_RUNS: u64 = 1_000_000;

/// Bytes each variant keeps besides its scenario text: its typed config and name.
const VARIANT_BYTES: u64 = 16 * 1024;
/// Bytes each finished run keeps until the tables are printed: its summary values.
/// (Its time series, server and fault rows go to disk as it finishes; the runs in
/// progress are bounded by `--jobs` and checked per run at load time.)
const RUN_BYTES: u64 = 512;

/// Checks, before any variant is built, that a sweep of `declared` file variants
/// (0 if none) crossed with `--vary` axes of `axis_lengths` values, times `seeds`, is
/// at most [`MAX_RUNS`] runs, and that its variants (each a copy of the scenario text
/// of `text_len` bytes) and the summary values of its runs fit in `run.max_memory`.
/// The plan itself is streamed, so seeds cost only their summary values.
pub fn check_sweep(
    s: &ScenarioFile,
    text_len: usize,
    declared: usize,
    axis_lengths: impl IntoIterator<Item = usize>,
    seeds: u64,
) -> Result<(), String> {
    let variants = axis_lengths
        .into_iter()
        .fold(declared.max(1) as u64, |n, l| {
            n.saturating_mul(l.max(1) as u64)
        });
    let runs = variants.saturating_mul(seeds.max(1));
    if runs > MAX_RUNS {
        return Err(format!(
            "{variants} variants x {seeds} seeds make {runs} runs, more than the {MAX_RUNS} \
             one command may plan; use fewer --vary values, [[variants]] or --seeds"
        ));
    }
    let total = variants
        .saturating_mul((text_len as u64).saturating_add(VARIANT_BYTES))
        .saturating_add(runs.saturating_mul(RUN_BYTES));
    if total > s.run.max_memory {
        return Err(format!(
            "{variants} variants x {seeds} seeds need about {} for their scenarios and \
             results, more than run.max_memory = {}; use fewer --vary values or \
             [[variants]], a shorter scenario file, or raise run.max_memory",
            format_bytes(total),
            format_bytes(s.run.max_memory)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("1 parsec").is_err());
        assert!(parse_bytes("-1GiB").is_err());
        assert_eq!(format_bytes(1 << 30), "1 GiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(10), "10 B");
    }
}
