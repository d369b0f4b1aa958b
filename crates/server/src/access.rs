//! The optional access password (`ACCESS_PASSWORD`) for a shared instance. When set, every page
//! and API call except `/healthz` and the login page needs the `refinery_access` cookie, which
//! `POST /login` sets after a correct password. Login attempts are rate-limited per client
//! (`client_addr`: IPv6 per /64) and for everyone together.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::Json;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use contracts::{ApiErrorBody, codes, paths};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_cookies::{Cookie, Cookies};

use crate::client_addr::limit_key;
use crate::rate_limit::KeyedLimit;

/// Name of the cookie that remembers a correct password.
pub const ACCESS_COOKIE: &str = "refinery_access";
/// Paths reachable without the password.
pub const OPEN_PATHS: &[&str] = &[
    paths::HEALTHZ,
    paths::LOGIN,
    paths::LOGIN_CSS,
    paths::LOGOUT,
];
/// Wrong or right, at most this many login attempts per client per minute.
const ATTEMPTS_PER_MINUTE: u32 = 5;
/// And at most this many from everyone together: guessing from many addresses gains nothing.
const ATTEMPTS_PER_MINUTE_GLOBAL: u32 = 60;
/// Clients whose attempts are remembered at most (stale ones are dropped first; see
/// `KeyedLimit`), so a flood from many addresses cannot grow the table without bound.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// Checks passwords and access cookies.
pub struct AccessGate {
    password_digest: [u8; 32],
    /// The cookie value a correct login sets. It is an HMAC of the password's digest under the
    /// session secret, so rotating either invalidates every earlier login.
    token: String,
    attempts: KeyedLimit<IpAddr>,
    all_attempts: DefaultDirectRateLimiter,
}

impl std::fmt::Debug for AccessGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessGate([redacted])")
    }
}

/// A login attempt that was refused before checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAttempts {
    pub retry_after: Duration,
}

impl AccessGate {
    pub fn new(password: &SecretString, session_secret: &SecretString) -> AccessGate {
        let password_digest: [u8; 32] = Sha256::digest(password.expose_secret().as_bytes()).into();
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(session_secret.expose_secret().as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"refinery-access-v1:");
        mac.update(&password_digest);
        let per_minute = |n| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        AccessGate {
            password_digest,
            token: B64.encode(mac.finalize().into_bytes()),
            attempts: KeyedLimit::per_minute(per_minute(ATTEMPTS_PER_MINUTE), MAX_TRACKED_CLIENTS),
            all_attempts: RateLimiter::direct(Quota::per_minute(per_minute(
                ATTEMPTS_PER_MINUTE_GLOBAL,
            ))),
        }
    }

    /// True if `given` is the password. Both sides are hashed first, so the comparison takes the
    /// same time whatever the lengths, and runs in constant time.
    pub fn password_matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.ct_eq(&self.password_digest).into()
    }

    /// True if the request carries the cookie of a correct login.
    pub fn admits(&self, cookies: &Cookies) -> bool {
        cookies
            .get(ACCESS_COOKIE)
            .is_some_and(|c| c.value().as_bytes().ct_eq(self.token.as_bytes()).into())
    }

    /// Counts a login attempt from `ip`: against the client's own budget first, so one client
    /// hammering away is turned away there without using up everyone's, then against everyone's.
    pub fn attempt(&self, ip: IpAddr) -> Result<(), TooManyAttempts> {
        self.attempts
            .check(&limit_key(ip))
            .and_then(|()| {
                self.all_attempts
                    .check()
                    .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
            })
            .map_err(|retry_after| TooManyAttempts { retry_after })
    }

    /// The cookie a correct login sets.
    pub fn cookie(&self, secure: bool) -> Cookie<'static> {
        Cookie::build((ACCESS_COOKIE, self.token.clone()))
            .http_only(true)
            .same_site(tower_cookies::cookie::SameSite::Lax)
            .path("/")
            .secure(secure)
            .max_age(tower_cookies::cookie::time::Duration::days(30))
            .build()
    }
}

/// The check in front of everything (only when a password is configured), as a tower-http
/// request validator: a request passes when the path is open or the access cookie is valid.
/// Otherwise API calls get 401 `access_required` and pages go to /login.
#[expect(
    clippy::result_large_err,
    reason = "a tower-http request validator answers a refusal as `Err(Response)`"
)]
pub fn require_access(gate: &AccessGate, request: &mut Request) -> Result<(), Response> {
    let path = request.uri().path();
    let admitted = OPEN_PATHS.contains(&path)
        || request
            .extensions()
            .get::<Cookies>()
            .is_some_and(|cookies| gate.admits(cookies));
    if admitted {
        return Ok(());
    }
    if path.starts_with("/api") || request.method() != Method::GET {
        return Err(access_required());
    }
    let wanted = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    Err(Redirect::to(&format!(
        "{}?next={}",
        paths::LOGIN,
        encode_component(wanted)
    ))
    .into_response())
}

fn access_required() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(ApiErrorBody {
            error: "This Prompt Refinery needs its access password. Sign in at /login in a browser, or POST /login with {\"password\": \"...\"} and keep the cookie.".into(),
            code: codes::ACCESS_REQUIRED.into(),
        }),
    )
        .into_response()
}

/// Only a path on this site: `/x` yes; `//host`, `https://...` or anything a browser or proxy
/// could turn into one no. Control characters (TAB, CR, LF, which browsers drop or which would
/// break the `Location` header), spaces, non-ASCII, backslashes (`/\\host` is `//host` to a
/// browser) and encoded slashes or backslashes (`%2f`, `%5c`) are refused, for `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    let Some(next) = next else { return "/" };
    let lower = next.to_ascii_lowercase();
    let on_this_site = next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !lower.contains("%2f")
        && !lower.contains("%5c");
    if on_this_site { next } else { "/" }
}

fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(password: &str) -> AccessGate {
        AccessGate::new(
            &SecretString::from(password.to_owned()),
            &SecretString::from("s".repeat(32)),
        )
    }

    #[test]
    fn only_the_password_matches() {
        let g = gate("correct horse battery staple");
        assert!(g.password_matches("correct horse battery staple"));
        for wrong in [
            "",
            "correct horse",
            "Correct horse battery staple",
            "correct horse battery staple ",
        ] {
            assert!(!g.password_matches(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn rotating_the_password_changes_the_token() {
        assert_ne!(gate("one").token, gate("two").token);
        assert_eq!(gate("one").token, gate("one").token);
    }

    #[test]
    fn attempts_are_limited_per_client() {
        let g = gate("pw");
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..ATTEMPTS_PER_MINUTE {
            assert!(g.attempt(a).is_ok());
        }
        let refused = g.attempt(a).expect_err("sixth attempt");
        assert!(refused.retry_after > Duration::ZERO);
        assert!(g.attempt(b).is_ok(), "another client has its own budget");
    }

    #[test]
    fn attempts_from_many_clients_meet_the_global_limit() {
        let g = gate("pw");
        for n in 0..ATTEMPTS_PER_MINUTE_GLOBAL {
            assert!(g.attempt(IpAddr::from(n.to_be_bytes())).is_ok(), "{n}");
        }
        let refused = g
            .attempt([192, 0, 2, 1].into())
            .expect_err("everyone's budget is used");
        assert!(refused.retry_after > Duration::ZERO);
    }

    #[test]
    fn one_client_hammering_does_not_use_up_everyone_s_attempts() {
        let g = gate("pw");
        let hammer: IpAddr = [203, 0, 113, 66].into();
        let refused = (0..ATTEMPTS_PER_MINUTE_GLOBAL * 2)
            .filter(|_| g.attempt(hammer).is_err())
            .count();
        assert_eq!(
            refused,
            (ATTEMPTS_PER_MINUTE_GLOBAL * 2 - ATTEMPTS_PER_MINUTE) as usize
        );
        assert!(g.attempt([198, 51, 100, 1].into()).is_ok());
    }

    #[test]
    fn next_stays_on_this_site() {
        for good in ["/", "/session?x=1", "/a/b-c_d.e~f", "/result#top"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/\\evil",
            "/a\\b",
            "/\t/evil.example",
            "/ok\r\nSet-Cookie: x=1",
            "/ok\r",
            "/ok\n",
            "/%2f%2fevil.example",
            "/%2F%2Fevil.example",
            "/%5cevil",
            "/%5C%5Cevil",
            "/a%2Fb",
            "/caf\u{e9}",
            "/with space",
            "/nul\0",
            "/del\x7f",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
