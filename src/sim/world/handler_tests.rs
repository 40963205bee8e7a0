//! The world's handlers one at a time, in the style of `policy/health.rs`: a small
//! world is built, nothing is scheduled until a test says so, and each test tells it
//! one thing (a call starts, a server crashes, a fault's effects arrive, a view
//! changes) and checks what the world did with it: which events follow, what the
//! servers, the network, the stack and the fault log hold.

use std::path::Path;

use super::*;
use crate::metrics::FailReason;
use crate::scenario::Override;

/// Two `api` servers (one worker each) that `web` targets, one `other` server it
/// does not; a 1 ms network, one attempt per call, a 100 ms timeout. Faults at
/// 1-2 s: 0 slows `api[0]` down, 1 cuts `web` off from `api[1]`.
const BASE: &str = r#"
name = "handlers"
[run]
duration = "10s"
warmup = "0s"
[network]
latency = "1ms"
[[servers]]
group = "api"
count = 2
service = "5ms"
[[servers]]
group = "other"
count = 1
service = "5ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 10 }
timeout = "100ms"
retry = { attempts = 1 }
[[faults]]
kind = "slow"
target = "api[0]"
at = "1s"
duration = "1s"
factor = 4
[[faults]]
kind = "partition"
between = ["web", "api[1]"]
at = "1s"
duration = "1s"
"#;

const WEB: ClientId = ClientId(0);

/// The world of `text`, every server driven by events, nothing scheduled yet.
fn world(text: &str) -> World {
    let scenario = Scenario::from_text(Path::new("x.toml"), text, &[] as &[Override])
        .expect("a valid scenario");
    let mut world = World::build(&scenario, 7);
    for server in &mut world.servers {
        server.closed_form = None;
    }
    world
}

/// Pops the next event, runs its handler and returns it.
fn step(world: &mut World) -> Event {
    let next = world.engine.peek().expect("an event is pending");
    let event = world.engine.pop_peeked(next);
    world.dispatch(event);
    event
}

/// Runs every pending event; returns them in order.
fn drain(world: &mut World) -> Vec<Event> {
    let mut events = Vec::new();
    while world.engine.peek().is_some() {
        events.push(step(world));
    }
    events
}

/// Starts a call and runs it until its request is in service.
fn start_one_service(world: &mut World) {
    world.start_call(WEB);
    assert!(matches!(step(world), Event::RequestArrive { .. }));
}

/// Checks that no answer reached a client among `events`.
fn assert_no_answer(events: Vec<Event>) {
    let answers = events
        .iter()
        .filter(|e| matches!(e, Event::ResponseArrive { .. }))
        .count();
    assert_eq!(answers, 0, "{events:?}");
}

/// The id of the one server serving a request.
fn busy_server(world: &World) -> ServerId {
    let busy: Vec<usize> = (0..world.servers.len())
        .filter(|&s| !world.servers[s].in_service.is_empty())
        .collect();
    assert_eq!(busy.len(), 1, "one server serves");
    ServerId(busy[0] as u32)
}

#[test]
fn a_call_is_sent_served_and_answered() {
    let mut w = world(BASE);
    w.start_call(WEB);
    assert_eq!((w.open_measured, w.attempts.len()), (1, 1));
    let events = drain(&mut w);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::RequestArrive { .. } => "arrive",
            Event::ServiceDone { .. } => "done",
            Event::ResponseArrive {
                reply: Reply::Ok, ..
            } => "ok",
            Event::ClientTimer { .. } => "timer",
            _ => "other",
        })
        .collect();
    // The timeout timer still fires; the stack knows it is stale.
    assert_eq!(kinds, ["arrive", "done", "ok", "timer"]);
    assert_eq!(w.engine.now(), Instant::from_nanos(100_000_000));
    assert_eq!((w.open_measured, w.attempts.len()), (0, 0));
}

#[test]
fn a_refuse_crash_answers_the_request_in_service_refused() {
    let mut w = world(BASE);
    start_one_service(&mut w);
    let s = busy_server(&w);
    w.crash_server(s, CrashMode::Refuse);
    assert_eq!(w.servers_up, 2);
    assert!(w.servers[s.index()].in_service.is_empty());
    // The reset reaches the client after the network's 1 ms, long before the
    // crashed service would have ended.
    let next = step(&mut w);
    assert!(
        matches!(
            next,
            Event::ResponseArrive {
                reply: Reply::Refused,
                ..
            }
        ),
        "{next:?}"
    );
    assert_eq!(w.engine.now(), Instant::from_nanos(2_000_000));
    assert_eq!((w.open_measured, w.attempts.len()), (0, 0));
    // The lost service's end finds nothing to answer.
    assert_no_answer(drain(&mut w));
}

#[test]
fn a_blackhole_crash_lets_the_request_vanish_until_the_timeout() {
    let mut w = world(BASE);
    start_one_service(&mut w);
    w.crash_server(busy_server(&w), CrashMode::Blackhole);
    assert_eq!(w.attempts.len(), 0, "the request left the world");
    assert_eq!(w.open_measured, 1, "the call waits");
    assert_no_answer(drain(&mut w));
    assert_eq!(w.open_measured, 0, "the timeout ended the call");
    assert_eq!(w.engine.now(), Instant::from_nanos(100_000_000));
}

#[test]
fn a_server_crashed_twice_comes_back_after_two_repairs() {
    let mut w = world(BASE);
    let s = ServerId(0);
    w.crash_server(s, CrashMode::Refuse);
    w.crash_server(s, CrashMode::Refuse);
    assert_eq!(w.servers_up, 2, "a second reason takes nothing more down");
    w.repair_server(s);
    assert!(!w.servers[0].is_up());
    assert_eq!(w.servers_up, 2);
    w.repair_server(s);
    assert!(w.servers[0].is_up());
    assert_eq!(w.servers_up, 3);
}

#[test]
fn fault_effects_reach_the_servers_the_network_and_the_log() {
    let mut w = world(BASE);
    let (web, api1) = (Node::Client(0), Node::Server(1));
    w.on_faults(|f, out| f.start(0, out));
    w.on_faults(|f, out| f.start(1, out));
    assert_eq!(w.servers[0].slow_factor, 4.0);
    assert_eq!(w.servers[1].slow_factor, 1.0);
    assert!(w.network.partitioned(web, api1) && w.network.partitioned(api1, web));
    assert!(!w.network.partitioned(web, Node::Server(0)));
    // The slow server last received an attempt 1.5 s in: the end of the fault
    // records it for faults.csv's time to drain.
    let hit = Instant::from_nanos(1_500_000_000);
    w.servers[0].last_arrival = Some(hit);
    w.on_faults(|f, out| f.end(0, out));
    w.on_faults(|f, out| f.end(1, out));
    assert_eq!(w.servers[0].slow_factor, 1.0);
    assert!(!w.network.partitioned(web, api1));
    assert_eq!(w.fault_log.spans[0].last_hit, Some(hit));
    assert_eq!(w.fault_log.spans[1].last_hit, None);
}

#[test]
fn a_request_the_network_drops_leaves_nothing_in_flight() {
    let mut w = world(BASE);
    w.on_faults(|f, out| f.start(1, out));
    // Round robin sends the first call to one api server and the second to the
    // other: one of the two requests crosses the partition.
    w.start_call(WEB);
    w.start_call(WEB);
    assert_eq!(w.attempts.len(), 1, "the request to api[1] was dropped");
    let arrivals = drain(&mut w)
        .into_iter()
        .filter(|e| matches!(e, Event::RequestArrive { .. }))
        .count();
    assert_eq!(arrivals, 1);
    assert_eq!(w.open_measured, 0, "its timeout ended the other call");
}

#[test]
fn random_crash_steps_come_back_as_events() {
    let text = format!(
        "{BASE}\n[[faults]]\nkind = \"random_crash\"\ntarget = \"api\"\nat = \"0s\"\nmtbf = \"1s\"\nmttr = \"100ms\"\n"
    );
    let mut w = world(&text);
    w.on_faults(|f, out| f.start(2, out));
    let mut crashes = 0;
    let mut repairs = 0;
    while w.engine.now() < Instant::from_nanos(10_000_000_000) {
        match step(&mut w) {
            Event::ServerFail { server, .. } => {
                crashes += 1;
                assert!(!w.servers[server.index()].is_up());
            }
            Event::ServerRepair { server, .. } => {
                repairs += 1;
                assert!(w.servers[server.index()].is_up());
            }
            other => panic!("only the fault's steps are pending: {other:?}"),
        }
    }
    // Two servers, 10 s, mean up time 1 s: about ten failures each.
    assert!((10..40).contains(&crashes), "{crashes} crashes");
    assert!(
        repairs + 2 >= crashes,
        "{repairs} repairs, {crashes} crashes"
    );
    assert_eq!(
        w.servers_up,
        w.servers.iter().filter(|s| s.is_up()).count() as u32
    );
}

#[test]
fn view_changes_reach_only_clients_that_target_the_server() {
    let mut w = world(BASE);
    let known = |w: &World, s: u32| w.clients[0].stack.knows(EndpointId(s));
    assert!(known(&w, 0) && known(&w, 1) && !known(&w, 2));
    w.apply_view_change(WEB, ServerId(2), true);
    assert!(!known(&w, 2), "`other` is not among web's targets");
    w.apply_view_change(WEB, ServerId(1), false);
    assert!(!known(&w, 1));
    w.apply_view_change(WEB, ServerId(1), true);
    assert!(known(&w, 1));
}

#[test]
fn an_answer_for_an_earlier_use_of_a_slot_is_ignored() {
    let mut w = world(BASE);
    w.start_call(WEB);
    let slot = RequestId(0);
    let stale = w.attempts.generation(slot).wrapping_add(1);
    w.on_response(slot, stale, Reply::Ok);
    assert_eq!((w.open_measured, w.attempts.len()), (1, 1));
}

#[test]
fn failed_measured_calls_count_against_the_faults_on_at_their_start() {
    let mut w = world(BASE);
    w.open_measured = 3;
    let at = |ms: u64| Instant::from_nanos(ms * 1_000_000);
    let failed = CallResult::Failed(FailReason::Timeout);
    w.on_call_finished(WEB, at(500), failed);
    w.on_call_finished(WEB, at(1500), failed);
    w.on_call_finished(WEB, at(1600), CallResult::Ok);
    let counted: Vec<u64> = w.fault_log.spans.iter().map(|f| f.calls_failed).collect();
    assert_eq!(counted, [1, 1]);
    assert_eq!(w.open_measured, 0);
}

#[test]
fn an_added_server_starts_down_and_unknown() {
    let mut w = world(BASE);
    let id = w.add_server(GroupId(0));
    assert_eq!(id, ServerId(3));
    assert!(!w.servers[3].is_up());
    assert_eq!(w.servers[3].stats.name, "api[2]");
    assert_eq!(w.tier_of.len(), 4);
    assert!(!w.clients[0].stack.knows(EndpointId(3)));
    assert_eq!(w.servers_up, 3, "it was never counted up");
}
