//! Identifiers and random secrets.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

/// A new time-ordered id with a type prefix, e.g. `ch_0193...`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A random URL-safe secret of `len` alphanumeric characters (from the OS RNG).
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Ids chosen by devices (UUIDs) or API clients: 8..=64 of `[A-Za-z0-9_-]`.
pub fn is_valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
