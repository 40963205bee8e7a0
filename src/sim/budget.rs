//! The run's memory budget and the compaction of dead timers.
//!
//! DESIGN.md invariant 7: a run over a bound ends with a clear error, never an
//! out-of-memory abort. What a run holds that grows with time is its pending events,
//! its calls and attempts in flight and its servers' queues; everything else (servers,
//! client state, windows) is fixed when the run is built and checked at load time
//! (`scenario/limits.rs`). Every few thousand events the loop adds up the bytes the
//! growing parts hold (allocated capacity, not length: that is what the allocator
//! gave) and ends the run with [`RunError::OverBudget`] naming the largest part and
//! what to change. The check costs O(servers + client instances) every
//! [`CHECK_EVERY`] events and allocates nothing unless the budget is passed.

use super::client::Attempt;
use super::client::ClientInstance;
use super::closed_form::ClosedForm;
use super::engine::Engine;
use super::engine::ENTRY_BYTES;
use super::event::Event;
use super::server::Server;
use super::slab::Slab;
use super::RunError;
use crate::scenario::format_bytes;
use crate::time::Instant;

/// Events between two budget checks. Between two checks a run can add only a few
/// entries per event, so it cannot overshoot by much.
pub const CHECK_EVERY: u64 = 1 << 14;

/// Events between two looks at whether a queue of pending events wants compacting
/// ([`compact_timers`]). Much more often than the budget check: compaction is also
/// the cheapest way to be rid of dead timers (a deadline or attempt timeout whose
/// call or attempt ended, which is nearly all of them). One popped costs a pass
/// through the event loop to do nothing; one compacted away costs a liveness check
/// in a pass over the queue. Looking costs a comparison per queue. Measured on the
/// fleet workload (callgrind, 200,000 calls): at 10 servers, where the lanes of
/// timers hold a few hundred entries and were never compacted at the old threshold
/// of 4,096 entries looked at every 16,384 events, 962.6M -> 867.8M instructions (at
/// 100 servers 972.9M -> 922.5M, at 1,000 unchanged); 64 entries every 256 events
/// did no better.
pub const COMPACT_EVERY: u64 = 1 << 9;

/// Bytes per slab slot beyond the value: generation and occupancy.
const SLOT_EXTRA_BYTES: usize = 8;

/// What one part of the run's growing state is, with the counts its message names.
/// Messages are written only when the budget is passed: the check itself, made every
/// [`CHECK_EVERY`] events, neither allocates nor formats.
#[derive(Clone, Copy)]
enum What {
    Events { pending: u64 },
    Calls { calls: u64 },
    Requests { requests: u64 },
    Queue { server: usize },
}

/// One part of the run's growing state, and its size.
#[derive(Clone, Copy)]
struct Part {
    bytes: u64,
    /// The bytes this part is the cause of: a queued request also holds its attempt
    /// and its call, so a long queue is blamed for those too.
    blame: u64,
    what: What,
}

/// The parts of a run the budget looks at, borrowed from the world.
pub struct Parts<'a> {
    /// Pending events.
    pub engine: &'a Engine,
    /// Client instances (their stacks hold the calls).
    pub clients: &'a [ClientInstance],
    /// Requests in the world.
    pub attempts: &'a Slab<Attempt>,
    /// Servers (their queues).
    pub servers: &'a [Server],
}

/// Drops dead timers (and messages of requests no longer in the world) from each
/// queue of pending events (the heap, a lane) that has grown fourfold since it was
/// last compacted ([`Engine::compact_grown`]). Called every [`COMPACT_EVERY`] events,
/// so a queue outgrows its live part by at most that many events' pushes.
/// The order of the remaining events does not change, nor any output.
pub fn compact_timers(
    engine: &mut Engine,
    clients: &[ClientInstance],
    attempts: &Slab<Attempt>,
    measure_end: Instant,
    drain_end: Instant,
) {
    if !engine.wants_compaction() {
        return;
    }
    let is_dead = |e: &Event| match *e {
        Event::ClientTimer { client, timer } => !clients[client.index()].stack.is_timer_live(timer),
        Event::RequestArrive { attempt, gen }
        | Event::ServiceDone { attempt, gen, .. }
        | Event::ResponseArrive { attempt, gen, .. } => !attempts.is_live(attempt, gen),
        _ => false,
    };
    engine.compact_grown(is_dead, measure_end, drain_end);
}

/// Ends the run if its growing state holds more than `max_memory` bytes
/// (`run.max_memory`).
pub fn check_budget(run: &Parts<'_>, max_memory: u64) -> Result<(), RunError> {
    let parts = run.growing_parts();
    let total: u64 = parts.iter().flatten().map(|p| p.bytes).sum();
    if total <= max_memory {
        return Ok(());
    }
    let largest = parts
        .into_iter()
        .flatten()
        .max_by_key(|p| p.blame)
        .expect("there are parts");
    Err(RunError::OverBudget {
        limit: format_bytes(max_memory),
        at: run.engine.now(),
        what: run.describe(largest.what),
    })
}

impl Parts<'_> {
    /// The growing parts: pending events, the client stacks' calls, requests in the
    /// world, and the server queues (absent when there are no servers).
    fn growing_parts(&self) -> [Option<Part>; 4] {
        let events_bytes = (self.engine.capacity() * ENTRY_BYTES) as u64;
        let events = Part {
            bytes: events_bytes,
            blame: events_bytes,
            what: What::Events {
                pending: self.engine.len() as u64,
            },
        };
        let (mut calls, mut stack_bytes) = (0u64, 0u64);
        for c in self.clients {
            calls += c.stack.calls_in_progress() as u64;
            stack_bytes += c.stack.bytes_in_flight() as u64;
        }
        let stacks = Part {
            bytes: stack_bytes,
            blame: stack_bytes,
            what: What::Calls { calls },
        };
        let attempt_bytes = std::mem::size_of::<Attempt>() + SLOT_EXTRA_BYTES;
        let requests = Part {
            bytes: (self.attempts.slots() * attempt_bytes) as u64,
            blame: (self.attempts.len() * attempt_bytes) as u64,
            what: What::Requests {
                requests: self.attempts.len() as u64,
            },
        };
        let mut queued_bytes = 0u64;
        let mut queued = 0u64;
        let mut longest: Option<usize> = None;
        for (i, s) in self.servers.iter().enumerate() {
            queued_bytes += (s.queue.capacity() * std::mem::size_of::<u32>()) as u64;
            queued_bytes += s.closed_form.as_ref().map_or(0, ClosedForm::bytes) as u64;
            queued += s.queued() as u64;
            if longest.is_none_or(|l| s.queued() > self.servers[l].queued()) {
                longest = Some(i);
            }
        }
        // A queued request also holds its call in the client stack.
        let per_call = stack_bytes / calls.max(1);
        let per_request = (std::mem::size_of::<u32>() + attempt_bytes) as u64 + per_call;
        let queues = longest.map(|server| Part {
            bytes: queued_bytes,
            blame: queued * per_request,
            what: What::Queue { server },
        });
        [Some(events), Some(stacks), Some(requests), queues]
    }

    /// The message for a part over the budget: what grew, and what to change.
    fn describe(&self, what: What) -> String {
        match what {
            What::Events { pending } => format!(
                "{} events are pending (timers, and messages in flight); lower the load, \
                 shorten the clients' `timeout`, `deadline`, hedge and backoff delays, \
                 or raise run.max_memory",
                thousands(pending)
            ),
            What::Calls { calls } => format!(
                "{} calls are in progress at once; set a `deadline` or `timeout` on the \
                 clients, set a `queue` limit on the servers, or lower the load",
                thousands(calls)
            ),
            What::Requests { requests } => format!(
                "{} requests are in the world at once; set a `timeout` on the clients, \
                 a `queue` limit on the servers, or lower the load",
                thousands(requests)
            ),
            What::Queue { server } => {
                let s = &self.servers[server];
                format!(
                    "server {} holds {} queued requests; set a `queue` limit on \
                     servers.{} or lower the load",
                    s.stats.name,
                    thousands(s.queued() as u64),
                    s.stats.group
                )
            }
        }
    }
}

/// `4000000` -> `4,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4_000_000), "4,000,000");
    }
}
