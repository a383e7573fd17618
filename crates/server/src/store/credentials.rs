//! Merchants' own connector credentials (a merchant with its own PG contract or SMS account),
//! kept sealed: the store holds only what `crate::credentials` encrypted (the provider's name
//! in the clear, the keys as ciphertext), never a key in the clear.

use fieldpay_protocol::MerchantId;

use super::StoreResult;

/// Which connector a merchant's credentials are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    Card,
    Sms,
}

fieldpay_protocol::text_names!(CredentialKind {
    Card => "card",
    Sms => "sms",
});

/// Sealed credentials as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCredentials {
    /// The provider's name (`toss`, `solapi`, ...), in the clear.
    pub provider: String,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// The keys, encrypted and authenticated (bound to the merchant and the kind).
    pub ciphertext: Vec<u8>,
    /// When they were last set (stored time form): a cache of connectors built from them is
    /// stale when this changes.
    pub updated_at: String,
}

pub trait CredentialStore {
    /// Sets (or replaces) the merchant's credentials of `kind`.
    fn save_credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
        sealed: &SealedCredentials,
    ) -> StoreResult<()>;
    fn credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
    ) -> StoreResult<Option<SealedCredentials>>;
    /// Removes them; answers whether there were any.
    fn remove_credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
    ) -> StoreResult<bool>;
    /// How many merchants' credentials are stored (of any kind).
    fn credentials_count(&self) -> StoreResult<u64>;
}
