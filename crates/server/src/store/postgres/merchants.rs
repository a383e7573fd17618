//! [`MerchantStore`] on PostgreSQL: merchants (cached), reps, API keys (cached), sign-in
//! sessions (token families) and their tokens.

use chrono::{DateTime, Utc};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::{ApiKeyId, MerchantId, RepId, Secret};
use tokio_postgres::Row;

use super::{corrupt, id_at, name_at, Params, PgStore, Tx};
use crate::clock::ts;
use crate::domain::{Merchant, MerchantProfile, MerchantSettings, MerchantStatus};
use crate::ids::new_id;
use crate::store::merchants::{NewTokens, Revocation, Rotation, TokenFamily};
use crate::store::{ApiKeyOwner, MerchantStore, RepRecord, StoreResult, TokenKind};

pub(super) const MERCHANT_COLS: &str = "m.id, m.code, m.name, m.settings, m.status, m.representative, m.phone, m.address, \
     coalesce((SELECT array_agg(v.number ORDER BY v.position) FROM virtual_numbers v WHERE v.merchant_id = m.id), '{}')";

/// A merchant from a row of [`MERCHANT_COLS`]: its pool of numbers comes from
/// `virtual_numbers` (their one source of truth).
pub(super) fn merchant_from_row(r: &Row) -> StoreResult<Merchant> {
    let settings: String = r.try_get(3)?;
    let mut settings: MerchantSettings =
        serde_json::from_str(&settings).map_err(|e| corrupt(&format!("merchant settings: {e}")))?;
    settings.number_pool = r.try_get(8)?;
    Ok(Merchant {
        id: id_at(r, 0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        settings,
        profile: MerchantProfile {
            representative: r.try_get(5)?,
            phone: r.try_get(6)?,
            address: r.try_get(7)?,
        },
        status: name_at(r, 4, MerchantStatus::parse)?,
    })
}

fn query_merchant(tx: &Tx<'_>, filter: &str, arg: &str) -> StoreResult<Option<Merchant>> {
    tx.query_opt(
        &format!("SELECT {MERCHANT_COLS} FROM merchants m {filter}"),
        &[&arg],
    )?
    .as_ref()
    .map(merchant_from_row)
    .transpose()
}

/// The virtual numbers of a merchant's settings, in their order.
fn insert_numbers(tx: &Tx<'_>, merchant_id: &str, settings: &MerchantSettings) -> StoreResult<()> {
    if settings.number_pool.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO virtual_numbers (number, merchant_id, position)
         SELECT n, $1, ord - 1 FROM unnest($2::text[]) WITH ORDINALITY AS t(n, ord)",
        &[&merchant_id, &settings.number_pool],
    )?;
    Ok(())
}

pub(super) const REP_COLS: &str =
    "r.id, r.merchant_id, r.login, r.name, r.password_hash, r.active, r.role, r.must_change_password, r.series";
/// How many columns [`REP_COLS`] has.
const REP_COL_COUNT: usize = 9;

pub(super) fn rep_from_row(r: &Row) -> StoreResult<RepRecord> {
    Ok(RepRecord {
        id: id_at(r, 0)?,
        merchant_id: id_at(r, 1)?,
        login: r.try_get(2)?,
        name: r.try_get(3)?,
        password_hash: Secret::new(r.try_get::<_, String>(4)?),
        active: r.try_get(5)?,
        role: name_at(r, 6, Role::parse)?,
        must_change_password: r.try_get(7)?,
        series: r.try_get(8)?,
    })
}

fn insert_tokens(
    tx: &Tx<'_>,
    family_id: &str,
    rep: &RepRecord,
    device: Option<&str>,
    tokens: &NewTokens,
) -> StoreResult<()> {
    let now = ts(Utc::now());
    for (hash, kind, expires_at) in [
        (
            &tokens.refresh_hash,
            TokenKind::Refresh,
            tokens.refresh_expires_at,
        ),
        (
            &tokens.access_hash,
            TokenKind::Access,
            tokens.access_expires_at,
        ),
    ] {
        tx.execute(
            "INSERT INTO tokens (token_hash, kind, family_id, rep_id, merchant_id, device, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                hash,
                &kind.as_str(),
                &family_id,
                &rep.id.as_str(),
                &rep.merchant_id.as_str(),
                &device,
                &ts(expires_at),
                &now,
            ],
        )?;
    }
    Ok(())
}

/// Revokes the live families `filter` picks (a condition on `token_families` with the
/// parameters `args`), numbering them next in the revocation order (from the counter
/// row, held until commit, so the numbers become visible in order). Returns how many.
fn revoke_families(
    tx: &Tx<'_>,
    filter: &str,
    args: Params<'_>,
    why: Revocation,
) -> StoreResult<usize> {
    let ids: Vec<String> = tx
        .query(
            &format!(
                "SELECT id FROM token_families WHERE {filter} AND revoked_at IS NULL
                 ORDER BY id COLLATE \"C\""
            ),
            args,
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    let n = ids.len() as i64;
    let last: i64 = tx
        .query_one(
            "INSERT INTO global_counters (name, value) VALUES ('revocations', $1)
             ON CONFLICT (name) DO UPDATE SET value = global_counters.value + EXCLUDED.value
             RETURNING value",
            &[&n],
        )?
        .try_get(0)?;
    tx.execute(
        "UPDATE token_families f SET revoked_at = $2, revoked_why = $3, revoked_seq = $4 + t.ord - 1
         FROM unnest($1::text[]) WITH ORDINALITY AS t(id, ord) WHERE f.id = t.id",
        &[&ids, &ts(Utc::now()), &why.as_str(), &(last - n + 1)],
    )?;
    Ok(ids.len())
}

impl MerchantStore for PgStore {
    fn create_merchant_with(
        &self,
        code: &str,
        name: &str,
        profile: &MerchantProfile,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant> {
        let id = new_id("m");
        let json = serde_json::to_string(settings).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO merchants (id, code, name, settings, created_at, representative, phone, address)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &id,
                    &code,
                    &name,
                    &json,
                    &ts(Utc::now()),
                    &profile.representative,
                    &profile.phone,
                    &profile.address,
                ],
            )?;
            insert_numbers(tx, &id, settings)
        })?;
        Ok(Merchant {
            id: MerchantId::new(id),
            code: code.into(),
            name: name.into(),
            settings: settings.clone(),
            profile: profile.clone(),
            status: MerchantStatus::Active,
        })
    }

    fn update_merchant_settings(
        &self,
        merchant_id: &MerchantId,
        settings: &MerchantSettings,
    ) -> StoreResult<()> {
        let merchant_id = merchant_id.as_str();
        let json = serde_json::to_string(settings).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "UPDATE merchants SET settings = $2 WHERE id = $1",
                &[&merchant_id, &json],
            )?;
            Ok(())
        })?;
        self.merchants.invalidate(|id, _| id == merchant_id);
        Ok(())
    }

    fn merchant(&self, merchant_id: &MerchantId) -> StoreResult<Option<Merchant>> {
        let merchant_id = merchant_id.as_str();
        if let Some(m) = self.merchants.get(merchant_id) {
            return Ok(Some((*m).clone()));
        }
        let generation = self.merchants.generation();
        let found = self.read(|tx| query_merchant(tx, "WHERE m.id = $1", merchant_id))?;
        if let Some(m) = &found {
            self.merchants
                .put(generation, merchant_id, std::sync::Arc::new(m.clone()));
        }
        Ok(found)
    }

    fn cached_merchant(&self, merchant_id: &MerchantId) -> Option<std::sync::Arc<Merchant>> {
        self.merchants.get(merchant_id.as_str())
    }

    fn merchant_by_code(&self, code: &str) -> StoreResult<Option<Merchant>> {
        self.read(|tx| query_merchant(tx, "WHERE m.code = $1", code))
    }

    fn merchant_by_number(&self, number: &str) -> StoreResult<Option<Merchant>> {
        self.read(|tx| {
            query_merchant(
                tx,
                "WHERE m.id = (SELECT merchant_id FROM virtual_numbers WHERE number = $1)",
                number,
            )
        })
    }

    fn create_rep(
        &self,
        merchant_id: &MerchantId,
        login: &str,
        name: &str,
        password_hash: &Secret,
        role: Role,
    ) -> StoreResult<RepId> {
        let merchant_id = merchant_id.as_str();
        let password_hash = password_hash.expose();
        let id = new_id("rep");
        self.write(|tx| {
            // The next series of the merchant (one past the highest given).
            let last: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(SUBSTR(series, 2)::BIGINT), 0) FROM reps
                     WHERE merchant_id = $1 AND series <> ''",
                    &[&merchant_id],
                )?
                .try_get(0)?;
            let series = fieldpay_protocol::numbering::series_code(
                u32::try_from(last + 1).map_err(|_| corrupt("rep series"))?,
            );
            tx.execute(
                "INSERT INTO reps (id, merchant_id, login, name, password_hash, role, created_at, series)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &id,
                    &merchant_id,
                    &login,
                    &name,
                    &password_hash,
                    &role.as_str(),
                    &ts(Utc::now()),
                    &series,
                ],
            )?;
            Ok(())
        })?;
        Ok(RepId::new(id))
    }

    fn rep_by_login(
        &self,
        merchant_id: &MerchantId,
        login: &str,
    ) -> StoreResult<Option<RepRecord>> {
        let merchant_id = merchant_id.as_str();
        self.read(|tx| {
            tx.query_opt(
                &format!("SELECT {REP_COLS} FROM reps r WHERE r.merchant_id = $1 AND r.login = $2"),
                &[&merchant_id, &login],
            )?
            .as_ref()
            .map(rep_from_row)
            .transpose()
        })
    }

    fn create_api_key(
        &self,
        merchant_id: &MerchantId,
        key_hash: &str,
        prefix: &str,
        name: &str,
    ) -> StoreResult<ApiKeyId> {
        let merchant_id = merchant_id.as_str();
        let id = new_id("key");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, merchant_id, key_hash, prefix, created_at, name) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &merchant_id, &key_hash, &prefix, &ts(Utc::now()), &name],
            )?;
            Ok(())
        })?;
        Ok(ApiKeyId::new(id))
    }

    fn api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyOwner>> {
        if let Some(k) = self.api_keys.get(key_hash) {
            return Ok(Some(k));
        }
        let generation = self.api_keys.generation();
        let found = self.read(|tx| {
            tx.query_opt(
                "SELECT id, merchant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                &[&key_hash],
            )?
            .map(|r| {
                Ok(ApiKeyOwner {
                    key_id: id_at(&r, 0)?,
                    merchant_id: id_at(&r, 1)?,
                })
            })
            .transpose()
        })?;
        // Only live keys are kept: unknown keys (guesses) must not fill the memory.
        if let Some(k) = &found {
            self.api_keys.put(generation, key_hash, k.clone());
        }
        Ok(found)
    }

    fn cached_api_key(&self, key_hash: &str) -> Option<ApiKeyOwner> {
        self.api_keys.get(key_hash)
    }

    fn revoke_api_key(&self, merchant_id: &MerchantId, key_id: &ApiKeyId) -> StoreResult<bool> {
        let merchant_id = merchant_id.as_str();
        let key_id = key_id.as_str();
        let revoked = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE api_keys SET revoked_at = $3
                 WHERE id = $1 AND merchant_id = $2 AND revoked_at IS NULL",
                &[&key_id, &merchant_id, &ts(Utc::now())],
            )? > 0)
        })?;
        // After the commit: a retried transaction must not have dropped entries early.
        self.api_keys.invalidate(|_, owner| owner.key_id == key_id);
        Ok(revoked)
    }

    fn start_session(
        &self,
        rep: &RepRecord,
        device: Option<&str>,
        tokens: &NewTokens,
    ) -> StoreResult<String> {
        let family_id = new_id("fam");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO token_families (id, rep_id, merchant_id, device, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &family_id,
                    &rep.id.as_str(),
                    &rep.merchant_id.as_str(),
                    &device,
                    &ts(Utc::now()),
                ],
            )?;
            insert_tokens(tx, &family_id, rep, device, tokens)
        })?;
        Ok(family_id)
    }

    fn token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RepRecord>> {
        let kind = kind.as_str();
        let now = ts(now);
        self.read(|tx| {
            tx.query_opt(
                &format!(
                    "SELECT {REP_COLS} FROM tokens t
                       JOIN token_families f ON f.id = t.family_id
                       JOIN reps r ON r.merchant_id = t.merchant_id AND r.id = t.rep_id
                     WHERE t.token_hash = $1 AND t.kind = $2 AND t.rotated_at IS NULL
                       AND t.expires_at > $3 AND f.revoked_at IS NULL AND r.active"
                ),
                &[&token_hash, &kind, &now],
            )?
            .as_ref()
            .map(rep_from_row)
            .transpose()
        })
    }

    fn token_family(&self, token_hash: &str) -> StoreResult<Option<TokenFamily>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT f.id, f.rep_id, f.merchant_id, f.revoked_at IS NOT NULL
                 FROM tokens t JOIN token_families f ON f.id = t.family_id
                 WHERE t.token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| {
                Ok(TokenFamily {
                    id: r.try_get(0)?,
                    rep_id: id_at(&r, 1)?,
                    merchant_id: id_at(&r, 2)?,
                    revoked: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    fn rotate_refresh(
        &self,
        old_hash: &str,
        next: &NewTokens,
        now: DateTime<Utc>,
        reuse_grace: chrono::Duration,
    ) -> StoreResult<Rotation> {
        let now_ts = ts(now);
        self.write(|tx| {
            let found = tx.query_opt(
                &format!(
                    "SELECT {REP_COLS}, t.family_id, t.device, t.rotated_at FROM tokens t
                       JOIN token_families f ON f.id = t.family_id
                       JOIN reps r ON r.merchant_id = t.merchant_id AND r.id = t.rep_id
                     WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.expires_at > $2
                       AND f.revoked_at IS NULL AND r.active"
                ),
                &[&old_hash, &now_ts],
            )?;
            let Some(row) = found else {
                return Ok(Rotation::Refused);
            };
            let rep = rep_from_row(&row)?;
            let family_id: String = row.try_get(REP_COL_COUNT)?;
            let device: Option<String> = row.try_get(REP_COL_COUNT + 1)?;
            let rotated_at: Option<String> = row.try_get(REP_COL_COUNT + 2)?;
            if let Some(at) = rotated_at {
                // The stored form sorts as the time does.
                if at > ts(now - reuse_grace) {
                    return Ok(Rotation::AlreadyUsed);
                }
                revoke_families(tx, "id = $1", &[&family_id], Revocation::Reuse)?;
                return Ok(Rotation::Reused {
                    rep_id: rep.id,
                    family_id,
                });
            }
            tx.execute(
                "UPDATE tokens SET rotated_at = $2 WHERE token_hash = $1",
                &[&old_hash, &now_ts],
            )?;
            insert_tokens(tx, &family_id, &rep, device.as_deref(), next)?;
            Ok(Rotation::Rotated { rep, family_id })
        })
    }

    fn revoke_family(&self, family_id: &str, why: Revocation) -> StoreResult<bool> {
        self.write(|tx| Ok(revoke_families(tx, "id = $1", &[&family_id], why)? > 0))
    }

    fn deactivate_rep(&self, merchant_id: &MerchantId, rep_id: &RepId) -> StoreResult<bool> {
        let merchant_id = merchant_id.as_str();
        let rep_id = rep_id.as_str();
        self.write(|tx| {
            let was_active = tx.execute(
                "UPDATE reps SET active = FALSE WHERE id = $1 AND merchant_id = $2 AND active",
                &[&rep_id, &merchant_id],
            )? > 0;
            revoke_families(
                tx,
                "rep_id = $1 AND merchant_id = $2",
                &[&rep_id, &merchant_id],
                Revocation::Deactivated,
            )?;
            Ok(was_active)
        })
    }

    fn revoked_families_after(&self, after: i64, limit: u32) -> StoreResult<Vec<(i64, String)>> {
        let limit = i64::from(limit);
        self.read(|tx| {
            tx.query(
                "SELECT revoked_seq, id FROM token_families WHERE revoked_seq > $1
                 ORDER BY revoked_seq LIMIT $2",
                &[&after, &limit],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    fn last_revocation(&self) -> StoreResult<i64> {
        self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT COALESCE(MAX(revoked_seq), 0)::BIGINT FROM token_families",
                    &[],
                )?
                .try_get(0)?)
        })
    }
}
