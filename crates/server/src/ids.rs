//! Unguessable ids for jobs and images.

/// 128 random bits from the OS-seeded CSPRNG, as 32 lowercase hex characters.
pub fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
