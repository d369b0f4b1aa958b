//! The session cookie: a random 128-bit id, signed with HMAC-SHA256 under `SESSION_SECRET`.
//! Value format: `base64url(id).base64url(mac)`. Only the id rides in the cookie; the state stays
//! on the server. [`SessionCookies`] is the one place a request's cookie is read and verified.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
pub use store::SessionId;
use tower_cookies::{Cookie, Cookies};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "refinery_session";
/// Cookie lifetime; the server-side idle timeout usually ends a session first.
const COOKIE_MAX_AGE_DAYS: i64 = 30;

/// Signs and verifies cookie values.
#[derive(Clone)]
pub struct CookieSigner {
    /// HMAC keyed once with `SESSION_SECRET` (the key's inner and outer pads already hashed):
    /// each cookie then costs a copy of this state and two hash blocks, not a fresh key setup.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSigner([redacted])")
    }
}

/// A cookie that failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSignature;

impl CookieSigner {
    pub fn new(secret: SecretString) -> CookieSigner {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        CookieSigner { keyed }
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }

    /// The cookie value for `id`.
    pub fn sign(&self, id: &SessionId) -> String {
        let mut mac = self.mac();
        mac.update(id.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", B64.encode(id.as_bytes()), B64.encode(tag))
    }

    /// The id in `value`, if its signature verifies (compared in constant time).
    pub fn verify(&self, value: &str) -> Result<SessionId, BadSignature> {
        let (id_part, tag_part) = value.split_once('.').ok_or(BadSignature)?;
        let id: [u8; 16] = B64
            .decode(id_part)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(BadSignature)?;
        let tag = B64.decode(tag_part).map_err(|_| BadSignature)?;
        let mut mac = self.mac();
        mac.update(&id);
        mac.verify_slice(&tag).map_err(|_| BadSignature)?;
        Ok(SessionId::from_bytes(id))
    }
}

/// Why a request has no usable session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieProblem {
    Missing,
    BadSignature,
}

/// Reads, verifies, sets and clears the session cookie (signer plus the https rule).
#[derive(Clone, Debug)]
pub struct SessionCookies {
    signer: CookieSigner,
    trust_forwarded_proto: bool,
}

impl SessionCookies {
    pub fn new(signer: CookieSigner, trust_forwarded_proto: bool) -> SessionCookies {
        SessionCookies {
            signer,
            trust_forwarded_proto,
        }
    }

    /// The verified session id in the request's `Cookie` headers. Read from the headers rather
    /// than tower-cookies' jar, which would parse and copy every cookie the browser sent to find
    /// this one. As in the jar, names and values are trimmed and the last of two same-named
    /// cookies counts; percent-decoding is not needed, as a signed value is base64url.
    pub fn read(&self, headers: &HeaderMap) -> Result<SessionId, CookieProblem> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|line| std::str::from_utf8(line.as_bytes()).ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.split_once('='))
            .filter(|(name, _)| name.trim() == COOKIE_NAME)
            .map(|(_, value)| value.trim())
            .next_back()
            .ok_or(CookieProblem::Missing)?;
        self.signer
            .verify(value)
            .map_err(|BadSignature| CookieProblem::BadSignature)
    }

    /// Sets the signed session cookie: HttpOnly, SameSite=Lax, Path=/, Secure behind https.
    pub fn set(&self, cookies: &Cookies, headers: &HeaderMap, id: &SessionId) {
        let cookie = Cookie::build((COOKIE_NAME, self.signer.sign(id)))
            .http_only(true)
            .same_site(tower_cookies::cookie::SameSite::Lax)
            .path("/")
            .secure(is_https(self.trust_forwarded_proto, headers))
            .max_age(tower_cookies::cookie::time::Duration::days(
                COOKIE_MAX_AGE_DAYS,
            ))
            .build();
        cookies.add(cookie);
    }

    /// Expires the session cookie in the browser.
    pub fn clear(&self, cookies: &Cookies) {
        cookies.remove(Cookie::build((COOKIE_NAME, "")).path("/").build());
    }

    /// True when a trusted proxy says the request arrived over https (cookies then get `Secure`).
    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        is_https(self.trust_forwarded_proto, headers)
    }
}

fn is_https(trust_forwarded_proto: bool, headers: &HeaderMap) -> bool {
    trust_forwarded_proto
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> CookieSigner {
        CookieSigner::new(SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_signed_id_verifies() {
        let s = signer("k".repeat(32).as_str());
        let id = SessionId::random();
        assert_eq!(s.verify(&s.sign(&id)), Ok(id));
    }

    #[test]
    fn tampered_unsigned_or_foreign_cookies_are_refused() {
        let s = signer("k".repeat(32).as_str());
        let id = SessionId::random();
        let value = s.sign(&id);
        let (id_part, tag_part) = value.split_once('.').expect("dot");
        let other = SessionId::random();
        let swapped_id = format!("{}.{tag_part}", B64.encode(other.as_bytes()));
        let mut flipped = tag_part.to_owned();
        flipped.replace_range(0..1, if flipped.starts_with('A') { "B" } else { "A" });
        for bad in [
            id_part.to_owned(),
            swapped_id,
            format!("{id_part}.{flipped}"),
            format!("{id_part}."),
            "garbage".to_owned(),
            String::new(),
        ] {
            assert_eq!(s.verify(&bad), Err(BadSignature), "{bad:?}");
        }
        assert_eq!(
            signer("x".repeat(32).as_str()).verify(&value),
            Err(BadSignature)
        );
    }

    #[test]
    fn ids_are_random_and_debug_does_not_show_them() {
        let a = SessionId::random();
        assert_ne!(a, SessionId::random());
        let shown = format!("{a:?}");
        assert!(!shown.contains(&B64.encode(a.as_bytes())));
    }

    #[test]
    fn the_session_cookie_is_found_among_the_others_a_browser_sends() {
        use axum::http::HeaderValue;
        let cookies = SessionCookies::new(signer("k".repeat(32).as_str()), false);
        let (id, other) = (SessionId::random(), SessionId::random());
        let (good, stale) = (cookies.signer.sign(&id), cookies.signer.sign(&other));
        let headers = |lines: &[String]| {
            let mut map = HeaderMap::new();
            for line in lines {
                let value = HeaderValue::from_bytes(line.as_bytes()).expect("a header value");
                map.append(header::COOKIE, value);
            }
            map
        };
        let found = |lines: &[String]| cookies.read(&headers(lines));
        assert_eq!(found(&[format!("{COOKIE_NAME}={good}")]), Ok(id));
        assert_eq!(
            found(&[
                "theme=dark".to_owned(),
                format!("caf\u{e9}=cr\u{e8}me; a=1;{COOKIE_NAME}={good} ;b=2"),
            ]),
            Ok(id),
            "other cookies, spaces, UTF-8 beside it"
        );
        assert_eq!(
            found(&[format!("{COOKIE_NAME}={stale}; {COOKIE_NAME}={good}")]),
            Ok(id),
            "the last of two counts, as in tower-cookies' jar"
        );
        assert_eq!(found(&[]), Err(CookieProblem::Missing));
        assert_eq!(
            found(&["refinery_sessionx=1; x_refinery_session=2".to_owned()]),
            Err(CookieProblem::Missing)
        );
        assert_eq!(
            found(&[format!("{COOKIE_NAME}={good}x")]),
            Err(CookieProblem::BadSignature)
        );
    }
}
