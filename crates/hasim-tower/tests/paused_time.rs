//! The tower service in virtual time (`start_paused`): each test checks one thing the
//! driver must do with the stack's actions, with mock endpoints that count their
//! calls and notice when their future is dropped before it finished.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hasim_tower::hasim_policy::client::FailReason;
use hasim_tower::{Builder, Error};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

/// One endpoint: answers its name after `delay`, or fails if `fail` is set.
#[derive(Clone)]
struct Mock {
    name: &'static str,
    delay: Duration,
    fail: Arc<AtomicBool>,
    calls: Arc<AtomicU32>,
    /// Futures dropped before they finished (cancelled).
    dropped: Arc<AtomicU32>,
}

impl Mock {
    fn new(name: &'static str, delay_ms: u64) -> Mock {
        Mock {
            name,
            delay: Duration::from_millis(delay_ms),
            fail: Arc::new(AtomicBool::new(false)),
            calls: Arc::new(AtomicU32::new(0)),
            dropped: Arc::new(AtomicU32::new(0)),
        }
    }
    fn failing(self) -> Mock {
        self.fail.store(true, Ordering::SeqCst);
        self
    }
    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
    fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Counts a drop unless disarmed (the future finished).
struct DropGuard(Option<Arc<AtomicU32>>);
impl DropGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}
impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Service<u32> for Mock {
    type Response = &'static str;
    type Error = &'static str;
    type Future = Pin<Box<dyn Future<Output = Result<&'static str, &'static str>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: u32) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let guard = DropGuard(Some(self.dropped.clone()));
        let (name, delay, fail) = (self.name, self.delay, self.fail.clone());
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            guard.disarm();
            if fail.load(Ordering::SeqCst) {
                Err(name)
            } else {
                Ok(name)
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_goes_to_another_endpoint() {
    let (a, b) = (Mock::new("a", 5).failing(), Mock::new("b", 5));
    let (svc, _handle) = Builder::from_toml(
        "retry = { attempts = 2, backoff = { kind = \"exponential\", base = \"1ms\", max = \"1ms\", jitter = \"none\" } }",
    )
    .unwrap()
    .endpoint("a", a.clone())
    .endpoint("b", b.clone())
    .build()
    .unwrap();
    for _ in 0..4 {
        assert_eq!(svc.clone().oneshot(1).await.unwrap(), "b");
    }
    // Two attempts per call at most: a call that started at `a` succeeded only because
    // its retry went to `b`.
    assert!(a.calls() >= 1, "round robin tries a");
    assert_eq!(b.calls(), 4, "every call ends at b, once");
}

#[tokio::test(start_paused = true)]
async fn the_hedge_loser_is_cancelled() {
    let (slow, fast) = (Mock::new("slow", 1_000), Mock::new("fast", 5));
    let (svc, _handle) = Builder::from_toml("hedge = { delay = \"10ms\" }")
        .unwrap()
        .endpoint("slow", slow.clone())
        .endpoint("fast", fast.clone())
        .build()
        .unwrap();
    let start = Instant::now();
    for _ in 0..2 {
        assert_eq!(svc.clone().oneshot(1).await.unwrap(), "fast");
    }
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "no call waits for slow"
    );
    tokio::task::yield_now().await;
    assert!(slow.calls() >= 1, "round robin starts a call at slow");
    assert_eq!(
        slow.dropped(),
        slow.calls(),
        "every slow attempt's future was dropped when its hedge won"
    );
    assert_eq!(fast.calls(), 2, "one answer per call from fast");
    assert_eq!(fast.dropped(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_fails_fast_without_calling() {
    let down = Mock::new("down", 1).failing();
    let (svc, handle) = Builder::from_toml(
        "breaker = { kind = \"consecutive\", consecutive_failures = 3, wait_in_open = \"10s\" }",
    )
    .unwrap()
    .endpoint("down", down.clone())
    .build()
    .unwrap();
    for _ in 0..3 {
        let err = svc.clone().oneshot(1).await.unwrap_err();
        assert_eq!(err.reason(), Some(FailReason::Error));
        assert!(matches!(
            err,
            Error::Failed {
                source: Some("down"),
                ..
            }
        ));
    }
    assert_eq!(down.calls(), 3);
    let start = Instant::now();
    let err = svc.clone().oneshot(1).await.unwrap_err();
    assert_eq!(err.reason(), Some(FailReason::BreakerOpen));
    assert_eq!(start.elapsed(), Duration::ZERO, "it fails at once");
    assert_eq!(down.calls(), 3, "the inner service is not called");
    let open = handle
        .inspect(|c| c.call_breaker().is_some())
        .await
        .unwrap();
    assert!(open, "a client-scope breaker by default");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_the_call_with_timeout_and_drops_the_attempt() {
    let stuck = Mock::new("stuck", 60_000);
    let (svc, _handle) = Builder::from_toml("timeout = \"50ms\"")
        .unwrap()
        .endpoint("stuck", stuck.clone())
        .build()
        .unwrap();
    let start = Instant::now();
    let err = svc.oneshot(1).await.unwrap_err();
    assert_eq!(err.reason(), Some(FailReason::Timeout));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(50) && waited <= Duration::from_millis(52),
        "{waited:?}"
    );
    tokio::task::yield_now().await;
    assert_eq!(
        stuck.dropped(),
        1,
        "the timed-out request's future is dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn removing_an_endpoint_mid_flight_is_safe_and_its_id_is_reused() {
    let (a, b, c) = (Mock::new("a", 100), Mock::new("b", 100), Mock::new("c", 1));
    let (svc, handle) = Builder::from_toml("balancer = \"round_robin\"")
        .unwrap()
        .endpoint("a", a.clone())
        .build()
        .unwrap();
    let in_flight = tokio::spawn(svc.clone().oneshot(1));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(a.calls(), 1);
    handle.remove_endpoint("a");
    handle.add_endpoint("b", b.clone());
    // `a`'s attempt is still out: its id stays taken.
    let ids = handle
        .inspect(|c| c.known().iter().map(|e| e.id.0).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(ids, vec![1]);
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        "a",
        "the answer still arrives"
    );
    assert_eq!(svc.clone().oneshot(1).await.unwrap(), "b");
    // Now `a`'s id is free again.
    handle.add_endpoint("c", c.clone());
    let ids = handle
        .inspect(|c| c.known().iter().map(|e| e.id.0).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(ids, vec![0, 1], "c takes a's freed id");
    handle.remove_endpoint("b");
    assert_eq!(svc.clone().oneshot(1).await.unwrap(), "c");
    handle.remove_endpoint("c");
    let err = svc.oneshot(1).await.unwrap_err();
    assert_eq!(err.reason(), Some(FailReason::NoServer));
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn the_layer_follows_a_discover_stream() {
    use tower::Layer;
    let (a, b) = (Mock::new("a", 1), Mock::new("b", 1));
    let layer = hasim_tower::HasimLayer::new(|| Builder::new(Default::default())).unwrap();
    let svc = layer.layer(tower::discover::ServiceList::new(vec![
        a.clone(),
        b.clone(),
    ]));
    for _ in 0..4 {
        svc.clone().oneshot(1).await.unwrap();
    }
    assert_eq!((a.calls(), b.calls()), (2, 2), "round robin over both");
}
