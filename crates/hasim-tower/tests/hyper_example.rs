//! Runs the `hyper_client` example's body against real servers on 127.0.0.1, so the
//! example is compiled and exercised by `cargo test` (a few hundred calls, well under
//! a second).

#[allow(dead_code)]
#[path = "../examples/hyper_client.rs"]
mod hyper_client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2c_over_real_hyper_servers_avoids_the_slow_one() {
    let report = hyper_client::run(6, 40).await.unwrap();
    let total: u32 = report.answers.iter().sum();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(total, 240, "{report:?}");
    let slow = f64::from(report.answers[2]) / f64::from(total);
    // Round robin would give it 1/3; p2c on in-flight counts gives it much less.
    assert!(slow < 0.25, "slow server's share {slow:.3}: {report:?}");
    assert!(report.answers[0] > 0 && report.answers[1] > 0, "{report:?}");
}
