//! [`MerchantStore`] on SQLite: merchants (cached), reps, API keys (cached) and tokens.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{corrupt, name_at, SqliteStore};
use crate::clock::ts;
use crate::domain::{Merchant, MerchantSettings};
use crate::ids::new_id;
use crate::store::{ApiKeyOwner, MerchantStore, RepRecord, StoreResult, TokenKind};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::{ApiKeyId, MerchantId, RepId, Secret};

fn merchant_from_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_merchant(
    (id, code, name, settings): (String, String, String, String),
) -> StoreResult<Merchant> {
    let settings: MerchantSettings =
        serde_json::from_str(&settings).map_err(|e| corrupt(&format!("merchant settings: {e}")))?;
    Ok(Merchant {
        id: MerchantId::new(id),
        code,
        name,
        settings,
    })
}

fn query_merchant(c: &Connection, sql: &str, arg: &str) -> StoreResult<Option<Merchant>> {
    let row = c
        .prepare_cached(sql)?
        .query_row([arg], merchant_from_row)
        .optional()?;
    row.map(to_merchant).transpose()
}

fn rep_from_row(r: &Row<'_>) -> rusqlite::Result<RepRecord> {
    Ok(RepRecord {
        id: RepId::new(r.get::<_, String>(0)?),
        merchant_id: MerchantId::new(r.get::<_, String>(1)?),
        login: r.get(2)?,
        name: r.get(3)?,
        password_hash: Secret::new(r.get::<_, String>(4)?),
        active: r.get::<_, i64>(5)? != 0,
        role: name_at(r, 6, Role::parse)?,
    })
}

const REP_COLS: &str = "id, merchant_id, login, name, password_hash, active, role";

impl MerchantStore for SqliteStore {
    fn create_merchant(
        &self,
        code: &str,
        name: &str,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant> {
        let id = new_id("m");
        let json = serde_json::to_string(settings).map_err(|e| corrupt(&e.to_string()))?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO merchants (id, code, name, settings, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, code, name, json, ts(Utc::now())],
            )?;
            for (i, n) in settings.number_pool.iter().enumerate() {
                tx.execute(
                    "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES (?1, ?2, ?3)",
                    params![n, id, i as i64],
                )?;
            }
            Ok(())
        })?;
        Ok(Merchant {
            id: MerchantId::new(id),
            code: code.into(),
            name: name.into(),
            settings: settings.clone(),
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
            tx.execute("UPDATE merchants SET settings = ?2 WHERE id = ?1", params![merchant_id, json])?;
            tx.execute("DELETE FROM virtual_numbers WHERE merchant_id = ?1", [merchant_id])?;
            for (i, n) in settings.number_pool.iter().enumerate() {
                tx.execute(
                    "INSERT INTO virtual_numbers (number, merchant_id, position) VALUES (?1, ?2, ?3)",
                    params![n, merchant_id, i as i64],
                )?;
            }
            Ok(())
        })?;
        self.merchants.invalidate(|id, _| id == merchant_id);
        Ok(())
    }

    fn merchant(&self, merchant_id: &MerchantId) -> StoreResult<Option<Merchant>> {
        let merchant_id = merchant_id.as_str();
        if let Some(m) = self.merchants.get(merchant_id) {
            return Ok(Some(m));
        }
        let generation = self.merchants.generation();
        let found = self.read(|c| {
            query_merchant(
                c,
                "SELECT id, code, name, settings FROM merchants WHERE id = ?1",
                merchant_id,
            )
        })?;
        if let Some(m) = &found {
            self.merchants.put(generation, merchant_id, m.clone());
        }
        Ok(found)
    }

    fn cached_merchant(&self, merchant_id: &MerchantId) -> Option<Merchant> {
        let merchant_id = merchant_id.as_str();
        self.merchants.get(merchant_id)
    }

    fn merchant_by_code(&self, code: &str) -> StoreResult<Option<Merchant>> {
        self.read(|c| {
            query_merchant(
                c,
                "SELECT id, code, name, settings FROM merchants WHERE code = ?1",
                code,
            )
        })
    }

    fn merchant_by_number(&self, number: &str) -> StoreResult<Option<Merchant>> {
        self.read(|c| {
            query_merchant(
                c,
                "SELECT m.id, m.code, m.name, m.settings FROM merchants m
                 JOIN virtual_numbers v ON v.merchant_id = m.id WHERE v.number = ?1",
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
            tx.execute(
                "INSERT INTO reps (id, merchant_id, login, name, password_hash, role, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    merchant_id,
                    login,
                    name,
                    password_hash,
                    role.as_str(),
                    ts(Utc::now())
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
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {REP_COLS} FROM reps WHERE merchant_id = ?1 AND login = ?2"),
                params![merchant_id, login],
                rep_from_row,
            )
            .optional()?)
        })
    }

    fn create_api_key(
        &self,
        merchant_id: &MerchantId,
        key_hash: &str,
        prefix: &str,
    ) -> StoreResult<ApiKeyId> {
        let merchant_id = merchant_id.as_str();
        let id = new_id("key");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, merchant_id, key_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, merchant_id, key_hash, prefix, ts(Utc::now())],
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
        let found: Option<ApiKeyOwner> = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, merchant_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([key_hash], |r| {
                Ok(ApiKeyOwner {
                    key_id: ApiKeyId::new(r.get::<_, String>(0)?),
                    merchant_id: MerchantId::new(r.get::<_, String>(1)?),
                })
            })
            .optional()?)
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
                "UPDATE api_keys SET revoked_at = ?3 WHERE id = ?1 AND merchant_id = ?2 AND revoked_at IS NULL",
                params![key_id, merchant_id, ts(Utc::now())],
            )? > 0)
        })?;
        self.api_keys.invalidate(|_, owner| owner.key_id == key_id);
        Ok(revoked)
    }

    fn insert_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        rep: &RepRecord,
        device: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let kind = kind.as_str();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (token_hash, kind, rep_id, merchant_id, device, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![token_hash, kind, rep.id.as_str(), rep.merchant_id.as_str(), device, ts(expires_at), ts(Utc::now())],
            )?;
            Ok(())
        })
    }

    fn token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RepRecord>> {
        let kind = kind.as_str();
        self.read(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {} FROM tokens t JOIN reps r ON r.id = t.rep_id
                     WHERE t.token_hash = ?1 AND t.kind = ?2 AND t.revoked = 0 AND t.expires_at > ?3 AND r.active = 1",
                    REP_COLS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
                ),
                params![token_hash, kind, ts(now)],
                rep_from_row,
            )
            .optional()?)
        })
    }

    fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        rep: &RepRecord,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked = 1 WHERE token_hash = ?1 AND kind = 'refresh' AND revoked = 0",
                [old_hash],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO tokens (token_hash, kind, rep_id, merchant_id, device, expires_at, created_at)
                 VALUES (?1, 'refresh', ?2, ?3, NULL, ?4, ?5)",
                params![new_hash, rep.id.as_str(), rep.merchant_id.as_str(), ts(expires_at), ts(Utc::now())],
            )?;
            Ok(true)
        })
    }
}
