//! hasim's policy stack in front of real HTTP servers.
//!
//! Starts three hyper servers on 127.0.0.1 (ports chosen by the OS), one of them ten
//! times slower, and calls them through a [`hasim_tower::HasimService`] built from a
//! `[[clients]]` table (p2c, a 100 ms attempt timeout, 3 attempts), with a few callers
//! at once. It prints each server's share of the answers: p2c sends less to the slow
//! server because its in-flight count stays higher.
//!
//! `cargo run --release -p hasim-tower --example hyper_client`. The integration test
//! `tests/hyper_example.rs` runs the same [`run`] with fewer calls.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{BoxError, ServiceExt};

use hasim_tower::hasim_policy::{FailureKind, Outcome};

/// The policies, as a scenario's `[[clients]]` table writes them (`name`, `target`
/// and `arrival` are the simulator's and are ignored here).
const CLIENT: &str = r#"
name = "web"
target = "api"
arrival = { process = "poisson", rate = 1000 }
balancer = "p2c"
timeout = "100ms"
retry = { attempts = 3 }
"#;

/// What one run saw.
#[derive(Debug)]
pub struct Report {
    /// Server names, in start order.
    pub servers: Vec<&'static str>,
    /// Answers from each server.
    pub answers: Vec<u32>,
    /// Calls that failed.
    pub failed: u32,
}

/// Starts one HTTP/1.1 server on 127.0.0.1 that answers its `name` after `delay`.
async fn start_server(name: &'static str, delay: Duration) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(move |_request| async move {
                tokio::time::sleep(delay).await;
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(name))))
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}

/// Maps an HTTP result to what the policies learn: a 503 is a rejection, another 5xx
/// an error, a failed connect a refused connection.
fn classify(result: &Result<(u16, String), BoxError>) -> Outcome {
    match result {
        Ok((503, _)) => Outcome::Failure(FailureKind::Rejected),
        Ok((status, _)) if *status >= 500 => Outcome::Failure(FailureKind::Error),
        Ok(_) => Outcome::Success,
        Err(e) => match e.downcast_ref::<hyper_util::client::legacy::Error>() {
            Some(e) if e.is_connect() => Outcome::Failure(FailureKind::Refused),
            _ => Outcome::Failure(FailureKind::Error),
        },
    }
}

/// Runs `callers` concurrent callers of `calls_each` calls against three servers
/// (one 10x slower) through the hasim service.
pub async fn run(callers: u32, calls_each: u32) -> Result<Report, BoxError> {
    let servers = [
        ("fast-1", Duration::from_millis(2)),
        ("fast-2", Duration::from_millis(2)),
        ("slow", Duration::from_millis(20)),
    ];
    let http: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut builder = hasim_tower::Builder::from_toml(CLIENT)?
        .seed(1)
        .classify(classify);
    for (name, delay) in servers {
        let base = start_server(name, delay).await?;
        let http = http.clone();
        // The endpoint service: a path in, (status, body) out, on this server.
        let endpoint = tower::service_fn(move |path: String| {
            let (http, uri) = (http.clone(), format!("{base}{path}"));
            async move {
                let response = http.get(uri.parse()?).await?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await?.to_bytes();
                Ok::<_, BoxError>((status, String::from_utf8_lossy(&body).into_owned()))
            }
        });
        builder = builder.endpoint(name, endpoint);
    }
    let (service, _handle) = builder.build()?;
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..calls_each {
                answers.push(
                    service
                        .clone()
                        .oneshot("/".to_string())
                        .await
                        .ok()
                        .map(|(_, b)| b),
                );
            }
            answers
        }));
    }
    let names: Vec<&'static str> = servers.iter().map(|(n, _)| *n).collect();
    let mut report = Report {
        answers: vec![0; names.len()],
        servers: names,
        failed: 0,
    };
    for task in tasks {
        for answer in task.await? {
            match answer.and_then(|b| report.servers.iter().position(|n| *n == b)) {
                Some(i) => report.answers[i] += 1,
                None => report.failed += 1,
            }
        }
    }
    Ok(report)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let report = run(8, 200).await?;
    let total: u32 = report.answers.iter().sum::<u32>() + report.failed;
    for (name, n) in report.servers.iter().zip(&report.answers) {
        println!(
            "{name:>8}: {n:>5} answers, share {:.3}",
            f64::from(*n) / f64::from(total)
        );
    }
    println!("  failed: {:>5}", report.failed);
    Ok(())
}
