//! Request rate limits on `/api`, per client and per session (GCRA via `governor`), so one
//! script or one browser tab cannot monopolise a shared instance. Over a limit: 429 `rate_limited`
//! with `Retry-After`. [`KeyedLimit`], the per-key limiter with bounded memory, serves the login
//! limits too.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use store::SessionId;

use crate::client_addr::{TrustedProxies, client_ip, limit_key};
use crate::error::ApiError;
use crate::extract::verified_cookie;
use crate::session::cookie::SessionCookies;

/// Keys the `/api` limiters track at most (a few MiB). Past it, see [`KeyedLimit::check`].
const MAX_TRACKED_KEYS: usize = 100_000;

/// A rate limit per key whose memory is bounded: at most `max_keys` keys are tracked. When that
/// many are tracked, the keys whose budget has refilled (governor forgets a key one emission interval
/// after its budget is whole again) are dropped first.
pub struct KeyedLimit<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    max_keys: usize,
    /// How long a key that is turned away because the table is full should wait: the time to
    /// refill a whole burst plus one emission interval (at most twice the refill time),
    /// after which every key seen before it has refilled and may be dropped.
    period: Duration,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// `per_minute` events a minute per key (bursts up to the same number).
    pub fn per_minute(per_minute: NonZeroU32, max_keys: usize) -> KeyedLimit<K> {
        KeyedLimit::with_clock(
            Quota::per_minute(per_minute),
            max_keys,
            DefaultClock::default(),
        )
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> KeyedLimit<K, C> {
    fn with_clock(quota: Quota, max_keys: usize, clock: C) -> KeyedLimit<K, C> {
        KeyedLimit {
            period: quota.burst_size_replenished_in() + quota.replenish_interval(),
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            clock,
            max_keys,
        }
    }

    /// Counts one event for `key`; `Err(wait)` when its budget is used up. When the table is
    /// full of keys all active within the last period (a flood from many addresses), new events
    /// are refused until some go idle, rather than letting the table grow without bound.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        if self.limiter.len() >= self.max_keys {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
            if self.limiter.len() >= self.max_keys {
                return Err(self.period);
            }
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

/// The two limiters; either may be off. Each instance keeps its own (docs/operations.md).
pub struct RateLimits {
    per_client: Option<KeyedLimit<IpAddr>>,
    per_session: Option<KeyedLimit<SessionId>>,
    /// `TRUSTED_PROXIES`: whose forwarded headers name the client.
    trusted_proxies: TrustedProxies,
}

fn limiter<K: Hash + Eq + Clone>(per_minute: Option<u32>) -> Option<KeyedLimit<K>> {
    per_minute
        .and_then(NonZeroU32::new)
        .map(|n| KeyedLimit::per_minute(n, MAX_TRACKED_KEYS))
}

impl RateLimits {
    /// Requests per minute (bursts up to the same number); `None` or 0 turns a limit off.
    pub fn new(
        per_ip: Option<u32>,
        per_session: Option<u32>,
        trusted_proxies: TrustedProxies,
    ) -> RateLimits {
        RateLimits {
            per_client: limiter(per_ip),
            per_session: limiter(per_session),
            trusted_proxies,
        }
    }

    /// `Err(wait)` when either limit is reached. `ip` counts per [`limit_key`] (IPv6 per /64).
    fn check(&self, ip: IpAddr, session: Option<SessionId>) -> Result<(), Duration> {
        if let Some(l) = &self.per_client {
            l.check(&limit_key(ip))?;
        }
        if let (Some(l), Some(id)) = (&self.per_session, session) {
            l.check(&id)?;
        }
        Ok(())
    }
}

impl RateLimits {
    /// The check in front of `/api` routes, as a tower-http request validator (`Err` is the
    /// 429). The session cookie it verifies for the per-session limit stays with the request, so
    /// the handler's extractor does not verify it again.
    #[expect(
        clippy::result_large_err,
        reason = "a tower-http request validator answers a refusal as `Err(Response)`"
    )]
    pub fn admit(&self, cookies: &SessionCookies, request: &mut Request) -> Result<(), Response> {
        if !request.uri().path().starts_with("/api") {
            return Ok(());
        }
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        let ip = client_ip(request.headers(), peer, &self.trusted_proxies);
        // A missing or forged cookie counts against the client's limit only; the handler refuses it.
        let session = match self.per_session {
            Some(_) => verified_cookie(request, cookies).ok(),
            None => None,
        };
        self.check(ip, session).map_err(|wait| {
            tracing::info!(%ip, "request rate-limited");
            ApiError::RateLimited {
                what: "requests",
                retry_after: wait,
            }
            .into_response()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ip_and_each_session_has_its_own_budget() {
        let limits = RateLimits::new(Some(3), Some(2), TrustedProxies::default());
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
    fn an_ipv6_client_is_one_client_per_64() {
        let limits = RateLimits::new(Some(2), None, TrustedProxies::default());
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert!(limits.check(ip("2001:db8:0:1::1"), None).is_ok());
        assert!(limits.check(ip("2001:db8:0:1::2"), None).is_ok());
        assert!(limits.check(ip("2001:db8:0:1:ffff::9"), None).is_err());
        assert!(limits.check(ip("2001:db8:0:2::1"), None).is_ok());
    }

    #[test]
    fn the_key_table_never_grows_past_its_bound() {
        let limit = KeyedLimit::per_minute(NonZeroU32::MIN, 100);
        let mut refused = 0;
        for n in 0..1_000u32 {
            let key = IpAddr::from(n.to_be_bytes());
            if limit.check(&key).is_err() {
                refused += 1;
            }
            assert!(limit.tracked() <= 100, "{} keys tracked", limit.tracked());
        }
        // Every key was active within the minute, so none could be dropped: the rest waited.
        assert_eq!(refused, 900);
    }

    #[test]
    fn idle_keys_make_room_for_new_ones() {
        let clock = governor::clock::FakeRelativeClock::default();
        let limit = KeyedLimit::with_clock(Quota::per_minute(NonZeroU32::MIN), 10, clock.clone());
        for n in 0..10u32 {
            assert!(limit.check(&n).is_ok());
        }
        let wait = limit.check(&99).expect_err("full of active keys");
        assert_eq!(wait, Duration::from_secs(120));
        clock.advance(wait);
        assert!(limit.check(&99).is_ok(), "the idle keys were dropped");
        assert_eq!(limit.tracked(), 1);
    }

    #[test]
    fn zero_or_none_turns_a_limit_off() {
        let limits = RateLimits::new(Some(0), None, TrustedProxies::default());
        for _ in 0..1000 {
            assert!(
                limits
                    .check([10, 0, 0, 1].into(), Some(SessionId::random()))
                    .is_ok()
            );
        }
    }
}
