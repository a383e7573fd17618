//! [`CredentialStore`] on PostgreSQL.

use fieldpay_protocol::MerchantId;

use super::PgStore;
use crate::store::credentials::{CredentialKind, CredentialStore, SealedCredentials};
use crate::store::StoreResult;

impl CredentialStore for PgStore {
    fn save_credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
        sealed: &SealedCredentials,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO merchant_credentials (merchant_id, kind, provider, nonce, ciphertext, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (merchant_id, kind) DO UPDATE SET provider = EXCLUDED.provider,
                    nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = EXCLUDED.updated_at",
                &[
                    &merchant_id.as_str(),
                    &kind.as_str(),
                    &sealed.provider,
                    &sealed.nonce,
                    &sealed.ciphertext,
                    &sealed.updated_at,
                ],
            )?;
            Ok(())
        })
    }

    fn credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
    ) -> StoreResult<Option<SealedCredentials>> {
        self.read(|tx| {
            let row = tx.query_opt(
                "SELECT provider, nonce, ciphertext, updated_at FROM merchant_credentials
                 WHERE merchant_id = $1 AND kind = $2",
                &[&merchant_id.as_str(), &kind.as_str()],
            )?;
            Ok(match row {
                Some(r) => Some(SealedCredentials {
                    provider: r.try_get(0)?,
                    nonce: r.try_get(1)?,
                    ciphertext: r.try_get(2)?,
                    updated_at: r.try_get(3)?,
                }),
                None => None,
            })
        })
    }

    fn remove_credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM merchant_credentials WHERE merchant_id = $1 AND kind = $2",
                &[&merchant_id.as_str(), &kind.as_str()],
            )? > 0)
        })
    }

    fn credentials_count(&self) -> StoreResult<u64> {
        self.read(|tx| {
            let n: i64 = tx
                .query_one("SELECT COUNT(*) FROM merchant_credentials", &[])?
                .try_get(0)?;
            Ok(n as u64)
        })
    }
}
