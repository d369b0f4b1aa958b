//! Request rate limits on `/api`, per client IP and per session (GCRA via `governor`), so one
//! script or one browser tab cannot monopolise a shared instance. Over a limit: 429 `rate_limited`
//! with `Retry-After`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::sync::Arc;

use store::SessionId;

use crate::access::client_ip;
use crate::error::ApiError;
use crate::extract::SessionCookie;

/// Above this many tracked keys, forget the ones whose budget has refilled.
const KEYS_BEFORE_CLEANUP: usize = 10_000;

/// The two limiters; either may be off. Each instance keeps its own (docs/operations.md).
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_session: Option<DefaultKeyedRateLimiter<SessionId>>,
    /// `TRUST_FORWARDED_FOR`: the client IP comes from the proxy's header.
    trust_forwarded_for: bool,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_minute: Option<u32>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    per_minute
        .and_then(NonZeroU32::new)
        .map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    /// Requests per minute (bursts up to the same number); `None` or 0 turns a limit off.
    pub fn new(
        per_ip: Option<u32>,
        per_session: Option<u32>,
        trust_forwarded_for: bool,
    ) -> RateLimits {
        RateLimits {
            per_ip: limiter(per_ip),
            per_session: limiter(per_session),
            trust_forwarded_for,
        }
    }

    /// `Err(wait)` when either limit is reached.
    fn check(&self, ip: IpAddr, session: Option<SessionId>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let Some(l) = &self.per_ip {
            if l.len() > KEYS_BEFORE_CLEANUP {
                l.retain_recent();
            }
            l.check_key(&ip).map_err(|n| n.wait_time_from(now))?;
        }
        if let (Some(l), Some(id)) = (&self.per_session, session) {
            if l.len() > KEYS_BEFORE_CLEANUP {
                l.retain_recent();
            }
            l.check_key(&id).map_err(|n| n.wait_time_from(now))?;
        }
        Ok(())
    }
}

/// Middleware for `/api` routes.
pub async fn limit(
    State(limits): State<Arc<RateLimits>>,
    session: Option<SessionCookie>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/api") {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let ip = client_ip(request.headers(), peer, limits.trust_forwarded_for);
    match limits.check(ip, session.map(|SessionCookie(id)| id)) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::info!(%ip, "request rate-limited");
            ApiError::RateLimited {
                what: "requests",
                retry_after: wait,
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ip_and_each_session_has_its_own_budget() {
        let limits = RateLimits::new(Some(3), Some(2), false);
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let (s1, s2) = (SessionId::random(), SessionId::random());
        assert!(limits.check(a, Some(s1)).is_ok());
        assert!(limits.check(a, Some(s1)).is_ok());
        assert!(limits.check(a, Some(s1)).is_err(), "session s1 used its 2");
        assert!(
            limits.check(a, Some(s2)).is_err(),
            "ip a used its 3 (the refused try counted)"
        );
        assert!(limits.check(b, Some(s2)).is_ok());
        let wait = limits
            .check(b, Some(s2))
            .and_then(|()| limits.check(b, Some(s2)));
        assert!(wait.is_err_and(|w| w > Duration::ZERO));
    }

    #[test]
    fn zero_or_none_turns_a_limit_off() {
        let limits = RateLimits::new(Some(0), None, false);
        for _ in 0..1000 {
            assert!(
                limits
                    .check([10, 0, 0, 1].into(), Some(SessionId::random()))
                    .is_ok()
            );
        }
    }
}
