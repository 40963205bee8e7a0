//! The client's transport: HTTP/1.1 requests to one server over a pooled connection,
//! and what the answer means to the client stack.
//!
//! Each client instance has its own connection pool (hyper-util's), as a production
//! client process would. A refused connect, a reset connection or an answer cut short
//! all mean "refused" to the stack (the simulator's `Reply::Refused`): the server is
//! gone. `200` is a success, `500` an error, `503` a rejection.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::server::{HEALTH_PATH, PROBE_COST_HEADER};
use crate::policy::{FailureKind, Outcome};

/// One instance's HTTP client (a connection pool over every server).
pub type Http = hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>;

/// A new client with its own pool.
pub fn http_client() -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1024)
        .build(connector)
}

/// Sends one call attempt (or a probe when `probe` is set, with its worker cost in
/// ns) to `addr` and returns the outcome as the stack understands it.
pub async fn send(http: &Http, addr: SocketAddr, probe: Option<u64>) -> Outcome {
    let path = if probe.is_some() { HEALTH_PATH } else { "/" };
    let mut builder = Request::get(format!("http://{addr}{path}"));
    if let Some(cost) = probe.filter(|&c| c > 0) {
        builder = builder.header(PROBE_COST_HEADER, cost);
    }
    let Ok(request) = builder.body(Empty::new()) else {
        return Outcome::Failure(FailureKind::Refused); // cannot happen: a fixed URI
    };
    let response = match http.request(request).await {
        Ok(r) => r,
        Err(_) => return Outcome::Failure(FailureKind::Refused),
    };
    let status = response.status();
    if response.into_body().collect().await.is_err() {
        return Outcome::Failure(FailureKind::Refused);
    }
    match status {
        StatusCode::OK => Outcome::Success,
        StatusCode::SERVICE_UNAVAILABLE => Outcome::Failure(FailureKind::Rejected),
        _ => Outcome::Failure(FailureKind::Error),
    }
}
