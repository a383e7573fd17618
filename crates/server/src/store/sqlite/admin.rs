//! [`AdminStore`] on SQLite.

use chrono::{DateTime, Duration, Utc};
use fieldpay_protocol::admin::{ApiKeyInfo, AuditEntry};
use fieldpay_protocol::{ApiKeyId, ErrorCode, MerchantId, RepId, Secret};
use rusqlite::{params, OptionalExtension};

use super::merchants::{query_merchants, rep_from_row, REP_COLS};
use super::{corrupt, rejected, SqliteStore};
use crate::clock::ts;
use crate::domain::{Merchant, MerchantProfile, MerchantStatus};
use crate::ids::new_id;
use crate::store::admin::API_KEY_USE_RESOLUTION_SECS;
use crate::store::{AdminStore, NewAudit, OperatorToken, RepRecord, StoreResult};

impl AdminStore for SqliteStore {
    fn list_merchants(&self) -> StoreResult<Vec<Merchant>> {
        self.read(|c| query_merchants(c, "1 = 1 ORDER BY m.code", []))
    }

    fn update_merchant_profile(
        &self,
        merchant_id: &MerchantId,
        name: &str,
        profile: &MerchantProfile,
    ) -> StoreResult<bool> {
        let id = merchant_id.as_str();
        let found = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE merchants SET name = ?2, representative = ?3, phone = ?4, address = ?5 WHERE id = ?1",
                params![id, name, profile.representative, profile.phone, profile.address],
            )? > 0)
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(found)
    }

    fn set_merchant_status(
        &self,
        merchant_id: &MerchantId,
        status: MerchantStatus,
    ) -> StoreResult<bool> {
        let id = merchant_id.as_str();
        let changed = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE merchants SET status = ?2 WHERE id = ?1 AND status <> ?2",
                params![id, status.as_str()],
            )? > 0)
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(changed)
    }

    fn add_numbers(&self, merchant_id: &MerchantId, numbers: &[String]) -> StoreResult<()> {
        let id = merchant_id.as_str();
        self.write(|tx| {
            for n in numbers {
                let owner: Option<String> = tx
                    .prepare_cached("SELECT merchant_id FROM virtual_numbers WHERE number = ?1")?
                    .query_row([n], |r| r.get(0))
                    .optional()?;
                if let Some(owner) = owner {
                    let whose = if owner == id { "this" } else { "another" };
                    return Err(rejected(
                        ErrorCode::Conflict,
                        format!("number {n} is already in {whose} merchant's pool; nothing was added"),
                    ));
                }
            }
            let next: i64 = tx.query_row(
                "SELECT coalesce(max(position) + 1, 0) FROM virtual_numbers WHERE merchant_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            for (i, n) in numbers.iter().enumerate() {
                tx.prepare_cached(
                    "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![n, id, next + i as i64])?;
            }
            Ok(())
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(())
    }

    fn remove_number(&self, merchant_id: &MerchantId, number: &str) -> StoreResult<()> {
        let id = merchant_id.as_str();
        self.write(|tx| {
            let ours = tx
                .prepare_cached("SELECT 1 FROM virtual_numbers WHERE number = ?1 AND merchant_id = ?2")?
                .exists(params![number, id])?;
            if !ours {
                return Err(rejected(
                    ErrorCode::NotFound,
                    format!("number {number} is not in this merchant's pool"),
                ));
            }
            let bound = tx
                .prepare_cached("SELECT 1 FROM charges WHERE virtual_number = ?1 AND bound = 1 LIMIT 1")?
                .exists([number])?;
            if bound {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    format!("number {number} has a pending charge bound to it; try again when it is finished"),
                ));
            }
            tx.execute("DELETE FROM virtual_numbers WHERE number = ?1", [number])?;
            Ok(())
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(())
    }

    fn list_reps(&self, merchant_id: &MerchantId) -> StoreResult<Vec<RepRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {REP_COLS} FROM reps WHERE merchant_id = ?1 ORDER BY login"
            ))?
            .query_map([merchant_id.as_str()], rep_from_row)?
            .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn rep(&self, merchant_id: &MerchantId, rep_id: &RepId) -> StoreResult<Option<RepRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {REP_COLS} FROM reps WHERE merchant_id = ?1 AND id = ?2"
            ))?
            .query_row(params![merchant_id.as_str(), rep_id.as_str()], rep_from_row)
            .optional()?)
        })
    }

    fn set_rep_password(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        password_hash: &Secret,
        must_change: bool,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE reps SET password_hash = ?3, must_change_password = ?4 WHERE merchant_id = ?1 AND id = ?2",
                params![
                    merchant_id.as_str(),
                    rep_id.as_str(),
                    password_hash.expose(),
                    must_change
                ],
            )? > 0)
        })
    }

    fn list_api_keys(&self, merchant_id: &MerchantId) -> StoreResult<Vec<ApiKeyInfo>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys
                 WHERE merchant_id = ?1 ORDER BY created_at DESC, id DESC",
            )?
            .query_map([merchant_id.as_str()], |r| {
                Ok(ApiKeyInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    prefix: r.get(2)?,
                    created_at: r.get(3)?,
                    last_used_at: r.get(4)?,
                    revoked_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn touch_api_key(&self, key_id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        let before = ts(at - Duration::seconds(API_KEY_USE_RESOLUTION_SECS));
        // Read first: most uses fall within the resolution and need no write at all.
        let stale = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT 1 FROM api_keys WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
            )?
            .exists(params![key_id.as_str(), before])?)
        })?;
        if stale {
            self.write(|tx| {
                tx.prepare_cached(
                    "UPDATE api_keys SET last_used_at = ?2
                     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
                )?
                .execute(params![key_id.as_str(), ts(at), before])?;
                Ok(())
            })?;
        }
        Ok(())
    }

    fn create_operator_token(
        &self,
        token_hash: &str,
        prefix: &str,
        name: &str,
    ) -> StoreResult<String> {
        let id = new_id("op");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO operator_tokens (id, token_hash, prefix, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, token_hash, prefix, name, ts(Utc::now())],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    fn operator_token(&self, token_hash: &str) -> StoreResult<Option<OperatorToken>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, name FROM operator_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([token_hash], |r| {
                Ok(OperatorToken {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .optional()?)
        })
    }

    fn revoke_operator_token(&self, id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE operator_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, ts(Utc::now())],
            )? > 0)
        })
    }

    fn append_audit(&self, e: &NewAudit<'_>) -> StoreResult<()> {
        let detail = e.detail.to_string();
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO audit_log (at, actor, action, merchant_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                ts(Utc::now()),
                e.actor,
                e.action,
                e.merchant_id.map(MerchantId::as_str),
                detail
            ])?;
            Ok(())
        })
    }

    fn audit(&self, merchant_id: Option<&MerchantId>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT id, at, actor, action, merchant_id, detail FROM audit_log
                     WHERE ?1 IS NULL OR merchant_id = ?1 ORDER BY id DESC LIMIT ?2",
                )?
                .query_map(params![merchant_id.map(MerchantId::as_str), limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, at, actor, action, merchant_id, detail)| {
                    Ok(AuditEntry {
                        id,
                        at,
                        actor,
                        action,
                        merchant_id,
                        detail: serde_json::from_str(&detail)
                            .map_err(|e| corrupt(&format!("audit detail: {e}")))?,
                    })
                })
                .collect()
        })
    }
}
