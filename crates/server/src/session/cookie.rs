//! The session cookie: a random 128-bit id, signed with HMAC-SHA256 under `SESSION_SECRET`.
//! Value format: `base64url(id).base64url(mac)`. Only the id rides in the cookie; the state stays
//! on the server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "refinery_session";

/// A session's random id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// A fresh id from the OS-seeded CSPRNG.
    pub fn random() -> SessionId {
        SessionId(rand::random())
    }

    /// Short, non-reversible label for logs: the first 8 hex characters of SHA-256(id).
    pub fn log_label(&self) -> String {
        use sha2::Digest;
        let digest = Sha256::digest(self.0);
        hex::encode(&digest[..4])
    }
}

impl std::fmt::Debug for SessionId {
    // The id is a bearer credential: never print it whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", self.log_label())
    }
}

/// Signs and verifies cookie values.
#[derive(Clone)]
pub struct CookieSigner {
    key: SecretString,
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
        CookieSigner { key: secret }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// The cookie value for `id`.
    pub fn sign(&self, id: &SessionId) -> String {
        let mut mac = self.mac();
        mac.update(&id.0);
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", B64.encode(id.0), B64.encode(tag))
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
        Ok(SessionId(id))
    }
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
        let swapped_id = format!("{}.{tag_part}", B64.encode(other.0));
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
        assert!(!shown.contains(&B64.encode(a.0)));
    }
}
