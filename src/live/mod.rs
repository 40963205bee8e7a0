//! `hasim live`: a scenario on real sockets on 127.0.0.1, in real time.
//!
//! Every server of the scenario becomes a real HTTP/1.1 server (hyper) on its own
//! port ([`server`]); every client instance runs its own copy of the production client
//! stack (`hasim_policy::client::Client`) with its own connection pool ([`driver`],
//! [`transport`]); faults start and end on the wall clock ([`faults`]). Measurement
//! goes into the same [`Recorder`] as the simulator's, with wall time mapped onto run
//! instants ([`clock`]), so the CSV files have the same columns and `hasim plot` draws
//! them. [`against`] holds a live run against the simulator over several seeds.
//!
//! Time and randomness are real where they must be (the clock, the kernel's
//! scheduling), but every draw the scenario makes (arrivals, service times, errors,
//! network, policy decisions) comes from the run's seeded streams, split by entity and
//! role exactly as in the simulator.

pub mod against;
mod check;
mod clock;
mod driver;
mod error;
mod faults;
mod server;
mod timer;
mod transport;

pub use check::{check, MAX_CALLERS, MAX_RATE, MAX_REAL_TIME};
pub use error::LiveError;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::metrics::{Measured, Recorder, RecorderConfig, RunMetrics, ServerStats};
use crate::policy::client::Client;
use crate::policy::{Endpoint, EndpointId};
use crate::rng::{stream, Role};
use crate::scenario::Scenario;
use crate::sim::{idle_stats, Arrivals};
use crate::time::{nanos, Instant};

use clock::Clock;
use driver::{Instance, RunShared};
use faults::LiveFaults;
use server::{lock, LiveServer, ServerSpec};

/// Entity numbers of client streams, as in the simulator (`sim/world.rs`), so a live
/// instance draws the same arrivals and policy decisions as its simulated twin.
const CLIENT_ENTITY_BASE: u64 = 1 << 40;

/// Worker threads of the live runtime: servers and clients share them.
const WORKERS: usize = 2;

/// Runs `scenario` live with `seed` and returns what it measured.
pub fn run(scenario: &Scenario, seed: u64) -> Result<RunMetrics, LiveError> {
    check(scenario)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()?;
    let metrics = runtime.block_on(run_async(scenario, seed));
    runtime.shutdown_timeout(Duration::from_millis(200));
    metrics
}

async fn run_async(scenario: &Scenario, seed: u64) -> Result<RunMetrics, LiveError> {
    let cfg = &scenario.config;
    let measure_start = Instant::ZERO.after(cfg.run.warmup);
    let measure_end = measure_start.after(cfg.run.duration);
    let measure = Measured::new(measure_start, measure_end);
    let drain_end = measure_end.after(cfg.run.drain);
    // The clock starts before the servers bind; they are ready within milliseconds,
    // long before the first measured call.
    let clock = Clock::start();
    let mut servers = Vec::new();
    for g in &cfg.servers {
        let in_target = cfg.clients.iter().any(|c| c.target.0.contains(&g.group));
        for i in 0..g.count {
            let id = servers.len() as u64;
            let spec = ServerSpec {
                concurrency: g.concurrency,
                queue: g.queue,
                service: g.service.clone(),
                error_rate: g.error_rate,
                stats: idle_stats(g, i, in_target),
                rng: stream(seed, Role::Service, id),
            };
            servers.push(LiveServer::start(spec, clock, measure).await?);
        }
    }
    let recorder = Arc::new(Mutex::new(Recorder::new(RecorderConfig {
        measure_start,
        measure_end,
        window: cfg.run.window,
        slo: cfg.run.slo,
    })));
    lock(&recorder).on_servers_up(Instant::ZERO, servers.len() as u32);
    let faults = Arc::new(LiveFaults::new(scenario, measure_start, seed));
    let shared = Arc::new(RunShared {
        clock,
        recorder: Arc::clone(&recorder),
        faults: Arc::clone(&faults),
        addrs: servers.iter().map(|s| s.addr).collect(),
        measure,
        drain_end,
        events: AtomicU64::new(0),
    });
    let instances = instances(scenario, seed);
    let schedule = tokio::spawn(Arc::clone(&faults).run(
        clock,
        servers.clone(),
        Arc::clone(&recorder),
        drain_end,
    ));
    let tasks: Vec<_> = instances
        .into_iter()
        .map(|inst| tokio::spawn(driver::run(inst, Arc::clone(&shared))))
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    schedule.abort();
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::ZERO, schedule).await {
        return Err(e.into());
    }
    let end = clock.now().max(measure_end);
    let stats: Vec<ServerStats> = servers.iter().map(|s| s.finish(end)).collect();
    let events = shared.events.load(Ordering::Relaxed);
    let recorder = std::mem::replace(
        &mut *lock(&recorder),
        Recorder::new(RecorderConfig {
            measure_start,
            measure_end,
            window: cfg.run.window,
            slo: cfg.run.slo,
        }),
    );
    let mut metrics = recorder.finish(&stats, events);
    let window_ns = match nanos(cfg.run.window) {
        0 => nanos(cfg.run.duration).max(1),
        w => w,
    };
    metrics.faults = faults.rows(&servers, &metrics.windows, window_ns, cfg.run.slo, measure);
    Ok(metrics)
}

/// Every client instance of the scenario with its stack, endpoints and streams.
fn instances(scenario: &Scenario, seed: u64) -> Vec<Instance> {
    let cfg = &scenario.config;
    let mut view_of_group = Vec::new();
    let mut next_id = 0u32;
    for g in &cfg.servers {
        let ids: Vec<u32> = (next_id..next_id + g.count).collect();
        next_id += g.count;
        view_of_group.push(ids);
    }
    let mut out = Vec::new();
    for c in &cfg.clients {
        let policy = c.policy();
        let view: Vec<(Endpoint, u32)> = cfg
            .servers
            .iter()
            .zip(&view_of_group)
            .filter(|(g, _)| c.target.0.contains(&g.group))
            .flat_map(|(g, ids)| {
                ids.iter().map(|&id| {
                    (
                        Endpoint {
                            id: EndpointId(id),
                            weight: g.weight,
                        },
                        g.tier,
                    )
                })
            })
            .collect();
        let give_up_after = policy
            .timeout
            .or(policy.deadline)
            .map(|t| t + Duration::from_millis(500));
        for _ in 0..c.instances {
            let index = out.len() as u32;
            let entity = CLIENT_ENTITY_BASE + u64::from(index);
            let Ok(mut stack) =
                Client::try_new(&policy, Instant::ZERO, stream(seed, Role::Policy, entity))
            else {
                continue; // the scenario loader validated every client config
            };
            for &(ep, tier) in &view {
                stack.on_endpoint_added(Instant::ZERO, ep, tier);
            }
            out.push(Instance {
                index,
                stack,
                arrivals: Arrivals::per_instance(&c.arrival, c.instances, nanos(cfg.run.warmup)),
                arrivals_rng: stream(seed, Role::Arrivals, entity),
                calls_rng: stream(seed, Role::Calls, entity),
                net_rng: stream(seed, Role::Network, entity),
                probe_cost: c.health_check.as_ref().and_then(|h| h.probe_cost),
                give_up_after,
            });
        }
    }
    out
}
