//! [`AdminStore`] on PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use fieldpay_protocol::admin::{ApiKeyInfo, AuditEntry};
use fieldpay_protocol::{ApiKeyId, ErrorCode, MerchantId, RepId, Secret};

use super::merchants::{merchant_from_row, rep_from_row, MERCHANT_COLS, REP_COLS};
use super::{corrupt, rejected, PgStore};
use crate::clock::ts;
use crate::domain::{Merchant, MerchantProfile, MerchantStatus};
use crate::ids::new_id;
use crate::store::admin::API_KEY_USE_RESOLUTION_SECS;
use crate::store::{AdminStore, NewAudit, OperatorToken, RepRecord, StoreResult};

impl AdminStore for PgStore {
    fn list_merchants(&self) -> StoreResult<Vec<Merchant>> {
        self.read(|tx| {
            tx.query(
                &format!("SELECT {MERCHANT_COLS} FROM merchants m ORDER BY m.code COLLATE \"C\""),
                &[],
            )?
            .iter()
            .map(merchant_from_row)
            .collect()
        })
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
                "UPDATE merchants SET name = $2, representative = $3, phone = $4, address = $5 WHERE id = $1",
                &[&id, &name, &profile.representative, &profile.phone, &profile.address],
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
                "UPDATE merchants SET status = $2 WHERE id = $1 AND status <> $2",
                &[&id, &status.as_str()],
            )? > 0)
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(changed)
    }

    fn add_numbers(&self, merchant_id: &MerchantId, numbers: &[String]) -> StoreResult<()> {
        let id = merchant_id.as_str();
        let numbers = numbers.to_vec();
        self.write(|tx| {
            let taken = tx.query_opt(
                "SELECT number, merchant_id FROM virtual_numbers WHERE number = ANY($1) ORDER BY number LIMIT 1",
                &[&numbers],
            )?;
            if let Some(row) = taken {
                let n: String = row.try_get(0)?;
                let owner: String = row.try_get(1)?;
                let whose = if owner == id { "this" } else { "another" };
                return Err(rejected(
                    ErrorCode::Conflict,
                    format!("number {n} is already in {whose} merchant's pool; nothing was added"),
                ));
            }
            let next: i64 = tx
                .query_one(
                    "SELECT coalesce(max(position) + 1, 0)::BIGINT FROM virtual_numbers WHERE merchant_id = $1",
                    &[&id],
                )?
                .try_get(0)?;
            tx.execute(
                "INSERT INTO virtual_numbers (number, merchant_id, position)
                 SELECT n, $1, $3 + ord - 1 FROM unnest($2::text[]) WITH ORDINALITY AS t(n, ord)",
                &[&id, &numbers, &next],
            )?;
            Ok(())
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(())
    }

    fn remove_number(&self, merchant_id: &MerchantId, number: &str) -> StoreResult<()> {
        let id = merchant_id.as_str();
        self.write(|tx| {
            let ours = tx
                .query_opt(
                    "SELECT 1 FROM virtual_numbers WHERE number = $1 AND merchant_id = $2 FOR UPDATE",
                    &[&number, &id],
                )?
                .is_some();
            if !ours {
                return Err(rejected(
                    ErrorCode::NotFound,
                    format!("number {number} is not in this merchant's pool"),
                ));
            }
            let bound = tx
                .query_opt(
                    "SELECT 1 FROM charges WHERE virtual_number = $1 AND bound LIMIT 1",
                    &[&number],
                )?
                .is_some();
            if bound {
                return Err(rejected(
                    ErrorCode::InvalidState,
                    format!("number {number} has a pending charge bound to it; try again when it is finished"),
                ));
            }
            tx.execute("DELETE FROM virtual_numbers WHERE number = $1", &[&number])?;
            Ok(())
        })?;
        self.merchants.invalidate(|k, _| k == id);
        Ok(())
    }

    fn list_reps(&self, merchant_id: &MerchantId) -> StoreResult<Vec<RepRecord>> {
        let id = merchant_id.as_str();
        self.read(|tx| {
            tx.query(
                &format!(
                    "SELECT {REP_COLS} FROM reps r WHERE r.merchant_id = $1 ORDER BY r.login COLLATE \"C\""
                ),
                &[&id],
            )?
            .iter()
            .map(rep_from_row)
            .collect()
        })
    }

    fn rep(&self, merchant_id: &MerchantId, rep_id: &RepId) -> StoreResult<Option<RepRecord>> {
        let (mid, rid) = (merchant_id.as_str(), rep_id.as_str());
        self.read(|tx| {
            tx.query_opt(
                &format!("SELECT {REP_COLS} FROM reps r WHERE r.merchant_id = $1 AND r.id = $2"),
                &[&mid, &rid],
            )?
            .as_ref()
            .map(rep_from_row)
            .transpose()
        })
    }

    fn set_rep_password(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        password_hash: &Secret,
        must_change: bool,
    ) -> StoreResult<bool> {
        let (mid, rid, hash) = (
            merchant_id.as_str(),
            rep_id.as_str(),
            password_hash.expose(),
        );
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE reps SET password_hash = $3, must_change_password = $4 WHERE merchant_id = $1 AND id = $2",
                &[&mid, &rid, &hash, &must_change],
            )? > 0)
        })
    }

    fn list_api_keys(&self, merchant_id: &MerchantId) -> StoreResult<Vec<ApiKeyInfo>> {
        let id = merchant_id.as_str();
        self.read(|tx| {
            tx.query(
                "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys
                 WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC",
                &[&id],
            )?
            .iter()
            .map(|r| {
                Ok(ApiKeyInfo {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    prefix: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    last_used_at: r.try_get(4)?,
                    revoked_at: r.try_get(5)?,
                })
            })
            .collect()
        })
    }

    fn touch_api_key(&self, key_id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        let id = key_id.as_str();
        let before = ts(at - Duration::seconds(API_KEY_USE_RESOLUTION_SECS));
        // Read first: most uses fall within the resolution and need no write at all.
        let stale = self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT 1 FROM api_keys WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                    &[&id, &before],
                )?
                .is_some())
        })?;
        if stale {
            let now = ts(at);
            self.write(|tx| {
                tx.execute(
                    "UPDATE api_keys SET last_used_at = $2
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                    &[&id, &now, &before],
                )?;
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
                "INSERT INTO operator_tokens (id, token_hash, prefix, name, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &token_hash, &prefix, &name, &ts(Utc::now())],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    fn operator_token(&self, token_hash: &str) -> StoreResult<Option<OperatorToken>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT id, name FROM operator_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
                &[&token_hash],
            )?
            .map(|r| {
                Ok(OperatorToken {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                })
            })
            .transpose()
        })
    }

    fn revoke_operator_token(&self, id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE operator_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &ts(Utc::now())],
            )? > 0)
        })
    }

    fn append_audit(&self, e: &NewAudit<'_>) -> StoreResult<()> {
        let detail = e.detail.to_string();
        let merchant_id = e.merchant_id.map(MerchantId::as_str);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at, actor, action, merchant_id, detail) VALUES ($1, $2, $3, $4, $5)",
                &[&ts(Utc::now()), &e.actor, &e.action, &merchant_id, &detail],
            )?;
            Ok(())
        })
    }

    fn audit(&self, merchant_id: Option<&MerchantId>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let merchant_id = merchant_id.map(MerchantId::as_str);
        let limit = i64::from(limit);
        self.read(|tx| {
            tx.query(
                "SELECT id, at, actor, action, merchant_id, detail FROM audit_log
                 WHERE $1::TEXT IS NULL OR merchant_id = $1 ORDER BY id DESC LIMIT $2",
                &[&merchant_id, &limit],
            )?
            .iter()
            .map(|r| {
                let detail: String = r.try_get(5)?;
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    merchant_id: r.try_get(4)?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| corrupt(&format!("audit detail: {e}")))?,
                })
            })
            .collect()
        })
    }
}
