//! The policies of one client instance, and how they decide which endpoints are
//! eligible for a pick.
//!
//! This is the glue a production client would have around the sans-IO policies: it
//! owns one copy of each (`instances = 10` means ten of these), feeds them outcomes,
//! and combines their views into the eligible set handed to the balancer.

use rand::Rng;

use crate::policy::breaker::{Breaker, Scope};
use crate::policy::failover::{pick_tier, tier_loads, FailoverMode, TierHealth};
use crate::policy::health::HealthChecker;
use crate::policy::hedge::Hedger;
use crate::policy::limiter::Limiter;
use crate::policy::outlier::OutlierDetector;
use crate::policy::retry::Retrier;
use crate::policy::{Endpoint, EndpointId, Outcome};
use crate::scenario::ClientConfig;
use crate::time::Instant;

/// Every policy of one client instance except the balancer.
#[derive(Debug)]
pub struct ClientPolicies {
    /// Retry decisions, budget or throttle.
    pub retrier: Retrier,
    /// A breaker around whole calls (`scope = "client"`).
    pub call_breaker: Option<Breaker>,
    /// One breaker per endpoint, indexed by endpoint id (`scope = "endpoint"`).
    pub endpoint_breakers: Vec<Breaker>,
    /// Hedged requests.
    pub hedger: Option<Hedger>,
    /// Active health checks.
    pub health: Option<HealthChecker>,
    /// Outlier detection.
    pub outlier: Option<OutlierDetector>,
    /// Client-side limiter.
    pub limiter: Option<Limiter>,
    failover: FailoverMode,
    /// The target groups span several tiers (failover decides among them).
    multi_tier: bool,
    overprovisioning: f64,
    panic_threshold: f64,
    /// Scratch: tier numbers present in the view, and their health and loads.
    tiers: Vec<u32>,
    tier_health: Vec<TierHealth>,
    tier_loads: Vec<f64>,
}

impl ClientPolicies {
    /// The policies of `config` for one instance; `endpoints` is the number of
    /// endpoint ids in the world (per-endpoint state is indexed by id).
    pub fn new(
        config: &ClientConfig,
        endpoints: usize,
        multi_tier: bool,
        now: Instant,
    ) -> ClientPolicies {
        let (call_breaker, endpoint_breakers) = match &config.breaker {
            Some(b) if b.scope == Scope::Endpoint => (None, vec![Breaker::new(b); endpoints]),
            Some(b) => (Some(Breaker::new(b)), Vec::new()),
            None => (None, Vec::new()),
        };
        ClientPolicies {
            retrier: Retrier::new(&config.retry),
            call_breaker,
            endpoint_breakers,
            hedger: config.hedge.as_ref().map(Hedger::new),
            health: config.health_check.as_ref().map(HealthChecker::new),
            outlier: config
                .outlier
                .as_ref()
                .map(|o| OutlierDetector::new(o, now)),
            limiter: config.limiter.as_ref().map(|l| Limiter::new(l, now)),
            failover: config.failover,
            multi_tier,
            overprovisioning: config.overprovisioning,
            panic_threshold: config.panic_threshold,
            tiers: Vec::new(),
            tier_health: Vec::new(),
            tier_loads: Vec::new(),
        }
    }

    /// True if a pick for a call that has `tried` nothing yet may choose from the whole
    /// view as it is (no health, ejection, endpoint breakers or tiers to consider), so
    /// the caller can skip building the eligible set.
    pub fn whole_view_is_eligible(&self, tried: &[EndpointId]) -> bool {
        tried.is_empty() && !self.multi_tier && !self.filters_endpoints()
    }

    /// True if some policy can make an endpoint unavailable (health checks, outlier
    /// detection, endpoint breakers); otherwise every endpoint in the view is.
    fn filters_endpoints(&self) -> bool {
        self.health.is_some() || self.outlier.is_some() || !self.endpoint_breakers.is_empty()
    }

    /// True if health checks, ejection and the endpoint's breaker all let it be used.
    fn is_available(&mut self, now: Instant, ep: EndpointId) -> bool {
        if self.health.as_ref().is_some_and(|h| !h.is_healthy(ep)) {
            return false;
        }
        if self.outlier.as_ref().is_some_and(|o| o.is_ejected(ep)) {
            return false;
        }
        match self.endpoint_breakers.get_mut(ep.index()) {
            Some(b) => {
                b.handle_timeout(now);
                b.would_admit(now)
            }
            None => true,
        }
    }

    /// Fills `out` with the endpoints a pick may choose, from the client's `view`:
    /// available ones (or all, in panic mode), in one tier chosen by the failover rule,
    /// minus those this call already `tried` when `other_endpoint` allows and any remain.
    /// `tier_of` gives each endpoint's tier by id.
    pub fn eligible<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        view: &[Endpoint],
        tier_of: &[u32],
        tried: &[EndpointId],
        out: &mut Vec<Endpoint>,
        rng: &mut R,
    ) {
        out.clear();
        if self.filters_endpoints() {
            for ep in view {
                if self.is_available(now, ep.id) {
                    out.push(*ep);
                }
            }
            let panic = (out.len() as f64) < self.panic_threshold * view.len() as f64;
            if panic {
                out.clear();
                out.extend_from_slice(view);
            }
        } else {
            out.extend_from_slice(view);
        }
        self.restrict_to_one_tier(view, tier_of, out, rng);
        if !tried.is_empty()
            && self.retrier.other_endpoint()
            && out.iter().any(|ep| !tried.contains(&ep.id))
        {
            out.retain(|ep| !tried.contains(&ep.id));
        }
    }

    /// With several tiers in the view, picks one by the failover rule and keeps only
    /// its endpoints in `out`.
    fn restrict_to_one_tier<R: Rng + ?Sized>(
        &mut self,
        view: &[Endpoint],
        tier_of: &[u32],
        out: &mut Vec<Endpoint>,
        rng: &mut R,
    ) {
        if !self.multi_tier {
            return;
        }
        self.tiers.clear();
        self.tiers
            .extend(view.iter().map(|ep| tier_of[ep.id.index()]));
        self.tiers.sort_unstable();
        self.tiers.dedup();
        self.tier_health.clear();
        for &tier in &self.tiers {
            let total = view
                .iter()
                .filter(|ep| tier_of[ep.id.index()] == tier)
                .count() as u32;
            let eligible = out
                .iter()
                .filter(|ep| tier_of[ep.id.index()] == tier)
                .count() as u32;
            self.tier_health.push(TierHealth { eligible, total });
        }
        self.tier_loads.clear();
        self.tier_loads.resize(self.tiers.len(), 0.0);
        tier_loads(
            self.failover,
            &self.tier_health,
            self.overprovisioning,
            &mut self.tier_loads,
        );
        let chosen = self.tiers[pick_tier(&self.tier_loads, rng)];
        let before = out.len();
        out.retain(|ep| tier_of[ep.id.index()] == chosen);
        if out.is_empty() && before > 0 {
            // The chosen tier has no eligible endpoint (total panic): use all of it.
            out.extend(view.iter().filter(|ep| tier_of[ep.id.index()] == chosen));
        }
    }

    /// An attempt to `ep` ended: every per-attempt policy learns the outcome.
    pub fn on_attempt_outcome(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        latency: std::time::Duration,
        known: usize,
    ) {
        self.retrier.on_attempt_outcome(now, outcome);
        if let (Some(h), Outcome::Success) = (&mut self.hedger, outcome) {
            h.on_latency(now, latency);
        }
        if let Some(o) = &mut self.outlier {
            let _ejection = o.on_outcome(now, ep, outcome, known);
        }
        if let Some(b) = self.endpoint_breakers.get_mut(ep.index()) {
            b.on_outcome(now, outcome, latency);
        }
        if let Some(l) = &mut self.limiter {
            l.on_complete(now, outcome, latency);
        }
    }

    /// `ep` left the client's view: a later return counts as a new endpoint.
    pub fn forget(&mut self, ep: EndpointId) {
        if let Some(h) = &mut self.health {
            h.forget(ep);
        }
        if let Some(o) = &mut self.outlier {
            o.forget(ep);
        }
    }

    /// An attempt to `ep` was abandoned without an answer.
    pub fn on_attempt_cancel(&mut self, now: Instant, ep: EndpointId) {
        if let Some(b) = self.endpoint_breakers.get_mut(ep.index()) {
            b.on_cancel(now);
        }
        if let Some(l) = &mut self.limiter {
            l.on_cancel(now);
        }
    }
}
