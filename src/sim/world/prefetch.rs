//! Prefetching for the next events (issue 8): the world's side of
//! [`crate::policy::prefetch`].
//!
//! At fleet scale most of a call's time is spent waiting on memory: the state an
//! event touches (a request's slot, its server, the client instance it answers) has
//! left the cache since it was last used. The engine knows its next events before
//! the current one runs, so the loop asks for their memory first, in two stages, and
//! the lines are on their way while the current event does its work. Nothing here
//! changes a value: only when a cache line arrives.

use super::{Event, Owner, World};
use crate::policy::prefetch::prefetch;
use crate::policy::EndpointId;

/// The number of (client instance, server) pairs from which the loop prefetches for
/// the next events. Each pair is an endpoint state of 128 bytes in a client stack, so
/// this is 4 MiB of them, twice this machine's per-core L2: below it an event's state
/// is usually in cache and looking ahead only costs time. Measured with `cargo bench
/// --bench fleet` (the fleet workload, 100 instances): at 1,000 servers prefetching
/// cut the CPU time per call by about a third; at 10 servers (1,000 pairs) it added
/// a fifth, at 100 it was even.
pub(super) const PREFETCH_FROM: usize = 32_768;

impl World {
    /// Starts fetching what the next two events will touch, in two stages (see
    /// [`crate::policy::prefetch`]). For the event after next, the first lines it
    /// reads: a request's slot, a timer's ticket, or the random streams of the
    /// instance a call is about to start at. For the next event, whose first lines
    /// were asked for one event ago and are at hand by now, what they lead to: a
    /// request's server and its stream, the client state an answer will update, or
    /// the slots and endpoint states of the call about to start.
    #[inline]
    pub(super) fn prefetch_ahead(&mut self) {
        let (next, after) = self.engine.peek_two();
        if let Some(event) = next {
            self.prefetch_deep(event);
        }
        if let Some(event) = after {
            self.prefetch_shallow(event);
        }
    }

    /// The first stage of [`World::prefetch_ahead`]: what `event` reads first (for a
    /// call about to start, the instance's random streams, which the second stage's
    /// speculative pick reads).
    #[inline]
    fn prefetch_shallow(&self, event: Event) {
        match event {
            Event::RequestArrive { attempt, .. }
            | Event::ServiceDone { attempt, .. }
            | Event::ResponseArrive { attempt, .. } => self.attempts.prefetch(attempt),
            Event::ClientTimer { client, timer } => {
                if let Some(c) = self.clients.get(client.index()) {
                    c.stack.prefetch_timer(timer);
                }
            }
            Event::ArrivalTick { client } | Event::CallerWake { client } => {
                if let Some(c) = self.clients.get(client.index()) {
                    c.prefetch_streams();
                }
            }
            _ => {}
        }
    }

    /// The second stage of [`World::prefetch_ahead`]: what the lines the first stage
    /// fetched for `event` lead to.
    #[inline]
    fn prefetch_deep(&self, event: Event) {
        match event {
            Event::RequestArrive { attempt, .. } | Event::ServiceDone { attempt, .. } => {
                let Some(a) = self.attempts.peek(attempt) else {
                    return;
                };
                if let Some(server) = self.servers.get(a.server.index()) {
                    prefetch(server, 3);
                    // An arriving request draws its service time; an end of service
                    // draws its answer's transit (a queued request that starts next
                    // draws a service time too, but at half load rarely waits).
                    let stream = match event {
                        Event::RequestArrive { .. } => &server.rng,
                        _ => &server.net_rng,
                    };
                    prefetch(stream, 8);
                }
            }
            Event::ResponseArrive { attempt, .. } => {
                let Some(a) = self.attempts.peek(attempt) else {
                    return;
                };
                if let (Owner::Attempt(id), Some(c)) = (a.owner, self.clients.get(a.client.index()))
                {
                    c.stack.prefetch_outcome(id, EndpointId(a.server.0));
                }
            }
            Event::ArrivalTick { client } | Event::CallerWake { client } => {
                if let Some(c) = self.clients.get(client.index()) {
                    c.stack.prefetch_start_call();
                }
            }
            _ => {}
        }
    }
}
