//! The simulator against queueing theory (VALIDATION.md). Each check runs several
//! seeds and requires the analytic value inside the 99% Student-t interval of the
//! per-seed means, and the interval to be narrow enough to mean something.

mod common;

use common::{assert_matches_theory, per_seed, scenario};

/// One group of `count` servers with `concurrency` workers and exponential service of
/// `mean_ms`, one Poisson client at `rate`, no network delay, `balancer`.
fn queue(
    count: u32,
    concurrency: u32,
    mean_ms: f64,
    rate: f64,
    balancer: &str,
    seconds: u32,
) -> String {
    format!(
        r#"
[run]
duration = "{seconds}s"
warmup = "2s"
[network]
latency = "0s"
[[servers]]
group = "q"
count = {count}
concurrency = {concurrency}
service = {{ dist = "exponential", mean = "{mean_ms}ms" }}
[[clients]]
name = "c"
target = "q"
balancer = "{balancer}"
arrival = {{ process = "poisson", rate = {rate} }}
"#
    )
}

fn mean_latency_ms(s: &hasim::metrics::Summary) -> f64 {
    s.latency_mean_ms.expect("ok calls")
}

/// M/M/1: W = 1/(mu - lambda), for rho 0.5 and 0.7.
#[test]
fn mm1_sojourn_time() {
    for rho in [0.5, 0.7] {
        let mu = 1000.0;
        let lambda = rho * mu;
        let s = scenario(&queue(1, 1, 1.0, lambda, "round_robin", 300), &[]);
        let theory = 1000.0 / (mu - lambda);
        assert_matches_theory(
            &format!("M/M/1 rho {rho}"),
            &per_seed(&s, 1..9, mean_latency_ms),
            theory,
            0.03,
        );
    }
}

/// M/M/1 p50 and p99: quantiles of Exp(mu - lambda) (the histogram's percentiles).
#[test]
fn mm1_percentiles() {
    let (mu, lambda) = (1000.0, 500.0);
    let s = scenario(&queue(1, 1, 1.0, lambda, "round_robin", 300), &[]);
    let q = |p: f64| -(1.0 - p).ln() / (mu - lambda) * 1000.0;
    assert_matches_theory(
        "M/M/1 p50",
        &per_seed(&s, 1..9, |s| s.latency_p50_ms.unwrap()),
        q(0.5),
        0.03,
    );
    assert_matches_theory(
        "M/M/1 p99",
        &per_seed(&s, 1..9, |s| s.latency_p99_ms.unwrap()),
        q(0.99),
        0.05,
    );
}

/// Erlang C: W = C / (c mu - lambda) + 1/mu.
fn erlang_c_sojourn_ms(c: u32, mean_ms: f64, lambda: f64) -> f64 {
    let mu = 1000.0 / mean_ms;
    let a = lambda / mu;
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c_f = f64::from(c);
    let erlang_c = c_f * b / (c_f - a * (1.0 - b));
    (erlang_c / (c_f * mu - lambda) + 1.0 / mu) * 1000.0
}

/// A server with `concurrency = c` and one FIFO queue is an M/M/c queue.
#[test]
fn mmc_matches_erlang_c() {
    assert!(
        (erlang_c_sojourn_ms(2, 10.0, 160.0) - 27.7778).abs() < 1e-3,
        "formula vs VALIDATION.md"
    );
    for (c, rho) in [(2u32, 0.8), (4, 0.8), (8, 0.7)] {
        let lambda = rho * f64::from(c) * 100.0;
        let s = scenario(&queue(1, c, 10.0, lambda, "round_robin", 1500), &[]);
        let theory = erlang_c_sojourn_ms(c, 10.0, lambda);
        assert_matches_theory(
            &format!("M/M/{c} rho {rho}"),
            &per_seed(&s, 1..9, mean_latency_ms),
            theory,
            0.04,
        );
    }
}

/// Round robin over a Poisson stream: each of N servers sees Erlang-N gaps (E_N/M/1).
/// sigma solves sigma = (N lambda / (N lambda + 1 - sigma))^N; T = 1/(1 - sigma).
fn round_robin_sojourn(n: u32, lambda: f64) -> f64 {
    let nl = f64::from(n) * lambda;
    let mut sigma: f64 = 0.5;
    for _ in 0..10_000 {
        sigma = (nl / (nl + 1.0 - sigma)).powi(n as i32);
    }
    1.0 / (1.0 - sigma)
}

#[test]
fn round_robin_matches_erlang_arrivals() {
    assert!(
        (round_robin_sojourn(2, 0.7) - 2.6006).abs() < 1e-3,
        "formula vs VALIDATION.md"
    );
    assert!(
        (round_robin_sojourn(10, 0.9) - 5.6603).abs() < 1e-3,
        "formula vs VALIDATION.md"
    );
    for n in [2u32, 4, 10] {
        let lambda = 0.7;
        let s = scenario(
            &queue(
                n,
                1,
                1.0,
                lambda * 1000.0 * f64::from(n),
                "round_robin",
                200,
            ),
            &[],
        );
        let theory = round_robin_sojourn(n, lambda);
        assert_matches_theory(
            &format!("E_{n}/M/1 rho {lambda}"),
            &per_seed(&s, 1..9, mean_latency_ms),
            theory,
            0.03,
        );
    }
}

/// Random routing: each server is M/M/1 with its share of the traffic.
#[test]
fn random_routing_is_mm1_per_server() {
    let (n, lambda) = (4u32, 0.7);
    let s = scenario(
        &queue(n, 1, 1.0, lambda * 1000.0 * f64::from(n), "random", 150),
        &[],
    );
    assert_matches_theory(
        "random over 4",
        &per_seed(&s, 1..9, mean_latency_ms),
        1.0 / (1.0 - lambda),
        0.03,
    );
}

/// With a constant one-way latency L, a call's latency is W + 2L.
#[test]
fn network_latency_adds_two_legs() {
    let text = queue(1, 1, 1.0, 500.0, "round_robin", 300)
        .replace("latency = \"0s\"", "latency = \"250us\"");
    let s = scenario(&text, &[]);
    assert_matches_theory(
        "M/M/1 + 2L",
        &per_seed(&s, 1..9, mean_latency_ms),
        2.0 + 0.5,
        0.03,
    );
}
