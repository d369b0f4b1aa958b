//! Ids and clocks: the random session id the cookie carries, unguessable job and image ids, and
//! the epoch times rows are stamped with.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// A session's random 128-bit id. Stored as 32 hex characters; signed into the cookie.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// A fresh id from the OS-seeded CSPRNG.
    pub fn random() -> SessionId {
        SessionId(rand::random())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> SessionId {
        SessionId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Short, non-reversible label for logs: the first 8 hex characters of SHA-256(id).
    pub fn log_label(&self) -> String {
        hex(&Sha256::digest(self.0)[..4])
    }

    /// The form rows key on.
    pub(crate) fn to_hex(self) -> String {
        hex(&self.0)
    }

    pub(crate) fn from_hex(text: &str) -> Option<SessionId> {
        if text.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(SessionId(bytes))
    }
}

impl std::fmt::Debug for SessionId {
    // The id is a bearer credential: never print it whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", self.log_label())
    }
}

/// 128 random bits from the OS-seeded CSPRNG, as 32 lowercase hex characters (job and image ids).
pub fn random_id() -> String {
    hex(&rand::random::<[u8; 16]>())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Milliseconds since the Unix epoch (the clock leases and expiry use).
pub fn now_ms() -> i64 {
    now_us() / 1000
}

/// Microseconds since the Unix epoch (orders rows created close together).
pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_anything_else() {
        let id = SessionId::random();
        assert_eq!(SessionId::from_hex(&id.to_hex()), Some(id));
        for bad in [
            "",
            "zz",
            &"g".repeat(32),
            &"0".repeat(31),
            "ü".repeat(16).as_str(),
        ] {
            assert_eq!(SessionId::from_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_are_long_distinct_and_debug_hides_them() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let id = SessionId::random();
        assert!(!format!("{id:?}").contains(&id.to_hex()));
    }
}
