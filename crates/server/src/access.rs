//! The optional access password (`ACCESS_PASSWORD`) for a shared instance. When set, every page
//! and API call except `/healthz` and the login page needs the `refinery_access` cookie, which
//! `POST /login` sets after a correct password. Login attempts are rate-limited per client IP.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use contracts::{ApiErrorBody, codes, paths};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_cookies::{Cookie, Cookies};

/// Name of the cookie that remembers a correct password.
pub const ACCESS_COOKIE: &str = "refinery_access";
/// Paths reachable without the password.
pub const OPEN_PATHS: &[&str] = &[
    paths::HEALTHZ,
    paths::LOGIN,
    paths::LOGIN_CSS,
    paths::LOGOUT,
];
/// Wrong or right, at most this many login attempts per IP per minute.
const ATTEMPTS_PER_MINUTE: u32 = 5;

/// Checks passwords and access cookies.
pub struct AccessGate {
    password_digest: [u8; 32],
    /// The cookie value a correct login sets. It is an HMAC of the password's digest under the
    /// session secret, so rotating either invalidates every earlier login.
    token: String,
    attempts: DefaultKeyedRateLimiter<IpAddr>,
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
        let quota =
            Quota::per_minute(NonZeroU32::new(ATTEMPTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN));
        AccessGate {
            password_digest,
            token: B64.encode(mac.finalize().into_bytes()),
            attempts: RateLimiter::keyed(quota),
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

    /// Counts a login attempt from `ip`.
    pub fn attempt(&self, ip: IpAddr) -> Result<(), TooManyAttempts> {
        self.attempts
            .check_key(&ip)
            .map_err(|not_until| TooManyAttempts {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
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

/// The client's IP: the socket peer, or (when `TRUST_FORWARDED_FOR` is on, behind a tunnel or
/// proxy) `CF-Connecting-IP`, else the last `X-Forwarded-For` hop the proxy appended.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded: bool) -> IpAddr {
    let forwarded = || {
        let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        header_text("cf-connecting-ip")
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| {
                header_text("x-forwarded-for")?
                    .rsplit(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
    };
    trust_forwarded
        .then(forwarded)
        .flatten()
        .or(peer.map(|p| p.ip()))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Middleware: lets a request through when no password is configured, the path is open, or the
/// access cookie is valid. Otherwise API calls get 401 `access_required` and pages go to /login.
pub async fn require_access(
    State(gate): State<Option<Arc<AccessGate>>>,
    cookies: Cookies,
    request: Request,
    next: Next,
) -> Response {
    let Some(gate) = &gate else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if OPEN_PATHS.contains(&path) || gate.admits(&cookies) {
        return next.run(request).await;
    }
    if path.starts_with("/api") || request.method() != Method::GET {
        return access_required();
    }
    let wanted = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    Redirect::to(&format!(
        "{}?next={}",
        paths::LOGIN,
        encode_component(wanted)
    ))
    .into_response()
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

/// Only same-site paths: `/x` yes, `//host` or `https://...` no (no open redirect).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
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
    fn attempts_are_limited_per_ip() {
        let g = gate("pw");
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..ATTEMPTS_PER_MINUTE {
            assert!(g.attempt(a).is_ok());
        }
        let refused = g.attempt(a).expect_err("sixth attempt");
        assert!(refused.retry_after > Duration::ZERO);
        assert!(g.attempt(b).is_ok(), "another IP has its own budget");
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/session?x=1")), "/session?x=1");
        for bad in [
            Some("//evil.example"),
            Some("https://evil.example"),
            Some("/\\evil"),
            None,
        ] {
            assert_eq!(safe_next(bad), "/");
        }
    }

    #[test]
    fn forwarded_addresses_count_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().expect("value"),
        );
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(client_ip(&headers, Some(peer), false), peer.ip());
        assert_eq!(
            client_ip(&headers, Some(peer), true),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
        headers.insert("cf-connecting-ip", "192.0.2.4".parse().expect("value"));
        assert_eq!(
            client_ip(&headers, Some(peer), true),
            "192.0.2.4".parse::<IpAddr>().expect("ip")
        );
    }
}
