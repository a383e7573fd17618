//! [`CredentialStore`] on SQLite.

use fieldpay_protocol::MerchantId;
use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::credentials::{CredentialKind, CredentialStore, SealedCredentials};
use crate::store::StoreResult;

impl CredentialStore for SqliteStore {
    fn save_credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
        sealed: &SealedCredentials,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO merchant_credentials (merchant_id, kind, provider, nonce, ciphertext, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (merchant_id, kind) DO UPDATE SET provider = excluded.provider,
                    nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                params![
                    merchant_id.as_str(),
                    kind.as_str(),
                    sealed.provider,
                    sealed.nonce,
                    sealed.ciphertext,
                    sealed.updated_at
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
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT provider, nonce, ciphertext, updated_at FROM merchant_credentials
                     WHERE merchant_id = ?1 AND kind = ?2",
            )?
            .query_row(params![merchant_id.as_str(), kind.as_str()], |r| {
                Ok(SealedCredentials {
                    provider: r.get(0)?,
                    nonce: r.get(1)?,
                    ciphertext: r.get(2)?,
                    updated_at: r.get(3)?,
                })
            })
            .optional()?)
        })
    }

    fn remove_credentials(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM merchant_credentials WHERE merchant_id = ?1 AND kind = ?2",
                params![merchant_id.as_str(), kind.as_str()],
            )? > 0)
        })
    }

    fn credentials_count(&self) -> StoreResult<u64> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached("SELECT COUNT(*) FROM merchant_credentials")?
                .query_row([], |r| r.get(0))?;
            Ok(n as u64)
        })
    }
}
