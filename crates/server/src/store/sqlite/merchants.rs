//! [`MerchantStore`] on SQLite: merchants (cached), reps, API keys (cached), sign-in sessions
//! (token families) and their tokens.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::{corrupt, id_at, name_at, SqliteStore};
use crate::clock::ts;
use crate::domain::{Merchant, MerchantProfile, MerchantSettings, MerchantStatus};
use crate::ids::new_id;
use crate::store::merchants::{NewTokens, Revocation, Rotation, TokenFamily};
use crate::store::{ApiKeyOwner, MerchantStore, RepRecord, StoreResult, TokenKind};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::{ApiKeyId, MerchantId, RepId, Secret};

/// The columns of a merchant (table aliased `m`), as [`merchant_from_row`] reads them.
pub(super) const MERCHANT_COLS: &str =
    "m.id, m.code, m.name, m.settings, m.status, m.representative, m.phone, m.address";

type MerchantRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn merchant_from_row(r: &Row<'_>) -> rusqlite::Result<MerchantRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

/// A merchant from its row, its pool of numbers read from `virtual_numbers` (their one
/// source of truth).
fn to_merchant(
    c: &Connection,
    (id, code, name, settings, status, representative, phone, address): MerchantRow,
) -> StoreResult<Merchant> {
    let mut settings: MerchantSettings =
        serde_json::from_str(&settings).map_err(|e| corrupt(&format!("merchant settings: {e}")))?;
    settings.number_pool = c
        .prepare_cached(
            "SELECT number FROM virtual_numbers WHERE merchant_id = ?1 ORDER BY position",
        )?
        .query_map([&id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let status = MerchantStatus::parse(&status)
        .ok_or_else(|| corrupt(&format!("merchant status {status:?}")))?;
    Ok(Merchant {
        id: MerchantId::new(id),
        code,
        name,
        settings,
        profile: MerchantProfile {
            representative,
            phone,
            address,
        },
        status,
    })
}

/// The merchants `filter` (a condition on `merchants m`, after `WHERE`) picks.
pub(super) fn query_merchants(
    c: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<Merchant>> {
    let rows: Vec<MerchantRow> = c
        .prepare_cached(&format!(
            "SELECT {MERCHANT_COLS} FROM merchants m WHERE {filter}"
        ))?
        .query_map(args, merchant_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter().map(|row| to_merchant(c, row)).collect()
}

fn query_merchant(c: &Connection, filter: &str, arg: &str) -> StoreResult<Option<Merchant>> {
    Ok(query_merchants(c, filter, [arg])?.into_iter().next())
}

/// Settings as stored: without the pool of numbers (kept in `virtual_numbers`).
pub(super) fn settings_json(settings: &MerchantSettings) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(|e| corrupt(&e.to_string()))
}

pub(super) fn rep_from_row(r: &Row<'_>) -> rusqlite::Result<RepRecord> {
    Ok(RepRecord {
        id: RepId::new(r.get::<_, String>(0)?),
        merchant_id: MerchantId::new(r.get::<_, String>(1)?),
        login: r.get(2)?,
        name: r.get(3)?,
        password_hash: Secret::new(r.get::<_, String>(4)?),
        active: r.get::<_, i64>(5)? != 0,
        role: name_at(r, 6, Role::parse)?,
        must_change_password: r.get::<_, i64>(7)? != 0,
        series: r.get(8)?,
    })
}

pub(super) const REP_COLS: &str =
    "id, merchant_id, login, name, password_hash, active, role, must_change_password, series";

/// [`REP_COLS`] of the table aliased `alias`.
fn rep_cols(alias: &str) -> String {
    REP_COLS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_tokens(
    tx: &Transaction<'_>,
    family_id: &str,
    rep: &RepRecord,
    device: Option<&str>,
    tokens: &NewTokens,
) -> StoreResult<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO tokens (token_hash, kind, family_id, rep_id, merchant_id, device, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
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
        st.execute(params![
            hash,
            kind.as_str(),
            family_id,
            rep.id.as_str(),
            rep.merchant_id.as_str(),
            device,
            ts(expires_at),
            now
        ])?;
    }
    Ok(())
}

/// Revokes the live families `filter` picks (a condition on `token_families` with one
/// parameter, `arg`), numbering them next in the revocation order. Returns how many.
fn revoke_families(
    tx: &Transaction<'_>,
    filter: &str,
    arg: &str,
    why: Revocation,
) -> StoreResult<usize> {
    // One writer at a time (an immediate transaction), so the next number is free.
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(revoked_seq), 0) FROM token_families",
        [],
        |r| r.get(0),
    )?;
    let ids: Vec<String> = tx
        .prepare(&format!(
            "SELECT id FROM token_families WHERE {filter} AND revoked_at IS NULL ORDER BY id"
        ))?
        .query_map([arg], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let now = ts(Utc::now());
    for (i, id) in ids.iter().enumerate() {
        tx.prepare_cached(
            "UPDATE token_families SET revoked_at = ?2, revoked_why = ?3, revoked_seq = ?4 WHERE id = ?1",
        )?
        .execute(params![id, now, why.as_str(), next + 1 + i as i64])?;
    }
    Ok(ids.len())
}

impl MerchantStore for SqliteStore {
    fn create_merchant_with(
        &self,
        code: &str,
        name: &str,
        profile: &MerchantProfile,
        settings: &MerchantSettings,
    ) -> StoreResult<Merchant> {
        let id = new_id("m");
        let json = settings_json(settings)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO merchants (id, code, name, settings, created_at, representative, phone, address)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    code,
                    name,
                    json,
                    ts(Utc::now()),
                    profile.representative,
                    profile.phone,
                    profile.address
                ],
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
        let json = settings_json(settings)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE merchants SET settings = ?2 WHERE id = ?1",
                params![merchant_id, json],
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
        let found = self.read(|c| query_merchant(c, "m.id = ?1", merchant_id))?;
        if let Some(m) = &found {
            self.merchants
                .put(generation, merchant_id, std::sync::Arc::new(m.clone()));
        }
        Ok(found)
    }

    fn cached_merchant(&self, merchant_id: &MerchantId) -> Option<std::sync::Arc<Merchant>> {
        let merchant_id = merchant_id.as_str();
        self.merchants.get(merchant_id)
    }

    fn merchant_by_code(&self, code: &str) -> StoreResult<Option<Merchant>> {
        self.read(|c| query_merchant(c, "m.code = ?1", code))
    }

    fn merchant_by_number(&self, number: &str) -> StoreResult<Option<Merchant>> {
        self.read(|c| {
            query_merchant(
                c,
                "m.id = (SELECT merchant_id FROM virtual_numbers WHERE number = ?1)",
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
            let last: i64 = tx.query_row(
                "SELECT COALESCE(MAX(CAST(SUBSTR(series, 2) AS INTEGER)), 0) FROM reps
                 WHERE merchant_id = ?1 AND series <> ''",
                [merchant_id],
                |r| r.get(0),
            )?;
            let series = fieldpay_protocol::numbering::series_code(
                u32::try_from(last + 1).map_err(|_| corrupt("rep series"))?,
            );
            tx.execute(
                "INSERT INTO reps (id, merchant_id, login, name, password_hash, role, created_at, series)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    merchant_id,
                    login,
                    name,
                    password_hash,
                    role.as_str(),
                    ts(Utc::now()),
                    series
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
        name: &str,
    ) -> StoreResult<ApiKeyId> {
        let merchant_id = merchant_id.as_str();
        let id = new_id("key");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, merchant_id, key_hash, prefix, created_at, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, merchant_id, key_hash, prefix, ts(Utc::now()), name],
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
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    family_id,
                    rep.id.as_str(),
                    rep.merchant_id.as_str(),
                    device,
                    ts(Utc::now())
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
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {} FROM tokens t
                   JOIN token_families f ON f.id = t.family_id
                   JOIN reps r ON r.id = t.rep_id
                 WHERE t.token_hash = ?1 AND t.kind = ?2 AND t.rotated_at IS NULL
                   AND t.expires_at > ?3 AND f.revoked_at IS NULL AND r.active = 1",
                rep_cols("r")
            ))?
            .query_row(params![token_hash, kind, ts(now)], rep_from_row)
            .optional()?)
        })
    }

    fn token_family(&self, token_hash: &str) -> StoreResult<Option<TokenFamily>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT f.id, f.rep_id, f.merchant_id, f.revoked_at IS NOT NULL
                 FROM tokens t JOIN token_families f ON f.id = t.family_id
                 WHERE t.token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(TokenFamily {
                    id: r.get(0)?,
                    rep_id: id_at(r, 1)?,
                    merchant_id: id_at(r, 2)?,
                    revoked: r.get(3)?,
                })
            })
            .optional()?)
        })
    }

    fn rotate_refresh(
        &self,
        old_hash: &str,
        next: &NewTokens,
        now: DateTime<Utc>,
        reuse_grace: chrono::Duration,
    ) -> StoreResult<Rotation> {
        self.write(|tx| {
            let found = tx
                .prepare_cached(&format!(
                    "SELECT {}, t.family_id, t.device, t.rotated_at FROM tokens t
                       JOIN token_families f ON f.id = t.family_id
                       JOIN reps r ON r.id = t.rep_id
                     WHERE t.token_hash = ?1 AND t.kind = 'refresh' AND t.expires_at > ?2
                       AND f.revoked_at IS NULL AND r.active = 1",
                    rep_cols("r")
                ))?
                .query_row(params![old_hash, ts(now)], |r| {
                    let n = REP_COLS.split(", ").count();
                    Ok((
                        rep_from_row(r)?,
                        r.get::<_, String>(n)?,
                        r.get::<_, Option<String>>(n + 1)?,
                        r.get::<_, Option<String>>(n + 2)?,
                    ))
                })
                .optional()?;
            let Some((rep, family_id, device, rotated_at)) = found else {
                return Ok(Rotation::Refused);
            };
            if let Some(at) = rotated_at {
                // The stored form sorts as the time does.
                if at > ts(now - reuse_grace) {
                    return Ok(Rotation::AlreadyUsed);
                }
                revoke_families(tx, "id = ?1", &family_id, Revocation::Reuse)?;
                return Ok(Rotation::Reused {
                    rep_id: rep.id,
                    family_id,
                });
            }
            tx.prepare_cached("UPDATE tokens SET rotated_at = ?2 WHERE token_hash = ?1")?
                .execute(params![old_hash, ts(now)])?;
            insert_tokens(tx, &family_id, &rep, device.as_deref(), next)?;
            Ok(Rotation::Rotated { rep, family_id })
        })
    }

    fn revoke_family(&self, family_id: &str, why: Revocation) -> StoreResult<bool> {
        self.write(|tx| Ok(revoke_families(tx, "id = ?1", family_id, why)? > 0))
    }

    fn deactivate_rep(&self, merchant_id: &MerchantId, rep_id: &RepId) -> StoreResult<bool> {
        self.write(|tx| {
            let was_active = tx.execute(
                "UPDATE reps SET active = 0 WHERE id = ?1 AND merchant_id = ?2 AND active = 1",
                params![rep_id.as_str(), merchant_id.as_str()],
            )? > 0;
            // Only the merchant's own rep: another merchant's rep id changes nothing.
            let ours = tx
                .prepare_cached("SELECT 1 FROM reps WHERE id = ?1 AND merchant_id = ?2")?
                .exists(params![rep_id.as_str(), merchant_id.as_str()])?;
            if ours {
                revoke_families(tx, "rep_id = ?1", rep_id.as_str(), Revocation::Deactivated)?;
            }
            Ok(was_active)
        })
    }

    fn revoked_families_after(&self, after: i64, limit: u32) -> StoreResult<Vec<(i64, String)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT revoked_seq, id FROM token_families WHERE revoked_seq > ?1
                 ORDER BY revoked_seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn last_revocation(&self) -> StoreResult<i64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT coalesce(max(revoked_seq), 0) FROM token_families",
                [],
                |r| r.get(0),
            )?)
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::MerchantSettings;

    fn tokens(tag: &str, now: DateTime<Utc>) -> NewTokens {
        NewTokens {
            refresh_hash: format!("refresh-{tag}"),
            refresh_expires_at: now + Duration::days(30),
            access_hash: format!("access-{tag}"),
            access_expires_at: now + Duration::minutes(15),
        }
    }

    fn store_with_rep() -> (tempfile::TempDir, SqliteStore, RepRecord) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let m = store
            .create_merchant("m", "M", &MerchantSettings::default())
            .unwrap();
        store
            .create_rep(&m.id, "rep", "Rep", &Secret::from("hash"), Role::Rep)
            .unwrap();
        let rep = store.rep_by_login(&m.id, "rep").unwrap().unwrap();
        (dir, store, rep)
    }

    #[test]
    fn a_rotation_within_the_grace_period_keeps_the_family_and_later_ends_it() {
        let (_dir, store, rep) = store_with_rep();
        let t0 = Utc::now();
        let grace = Duration::seconds(10);
        let family = store
            .start_session(&rep, Some("phone"), &tokens("1", t0))
            .unwrap();
        let live = |hash: &str, kind| store.token(hash, kind, t0).unwrap().is_some();
        // Presents refresh token `old` at `at`, for new tokens tagged `tag`.
        let rotate = |old: &str, tag: &str, at: DateTime<Utc>| {
            store
                .rotate_refresh(old, &tokens(tag, at), at, grace)
                .unwrap()
        };
        assert!(live("access-1", TokenKind::Access) && live("refresh-1", TokenKind::Refresh));

        let r = rotate("refresh-1", "2", t0);
        assert!(matches!(r, Rotation::Rotated { family_id, .. } if family_id == family));
        assert!(
            !live("refresh-1", TokenKind::Refresh),
            "a used refresh token"
        );
        assert!(live("refresh-2", TokenKind::Refresh) && live("access-2", TokenKind::Access));
        // The loser of a race: refused, nothing revoked, nothing stored.
        let r = rotate("refresh-1", "3", t0 + Duration::seconds(9));
        assert!(matches!(r, Rotation::AlreadyUsed));
        assert!(live("refresh-2", TokenKind::Refresh));
        assert!(store.token_family("refresh-3").unwrap().is_none());
        assert_eq!(store.last_revocation().unwrap(), 0);
        // Past the grace period: the family ends, every token of it with it.
        let r = rotate("refresh-1", "4", t0 + Duration::seconds(11));
        assert!(matches!(r, Rotation::Reused { family_id, .. } if family_id == family));
        for hash in ["access-1", "access-2"] {
            assert!(!live(hash, TokenKind::Access), "{hash}");
        }
        assert!(!live("refresh-2", TokenKind::Refresh));
        let r = rotate("refresh-2", "5", t0);
        assert!(matches!(r, Rotation::Refused));
        assert!(store.token_family("refresh-2").unwrap().unwrap().revoked);
        assert_eq!(
            store.revoked_families_after(0, 10).unwrap(),
            vec![(1, family.clone())]
        );
        assert!(!store.revoke_family(&family, Revocation::Logout).unwrap());
        // An expired refresh token is refused without ending anything.
        let other = store.start_session(&rep, None, &tokens("6", t0)).unwrap();
        let late = t0 + Duration::days(31);
        let r = rotate("refresh-6", "7", late);
        assert!(matches!(r, Rotation::Refused));
        assert!(!store.token_family("refresh-6").unwrap().unwrap().revoked);
        // Deactivation ends every live family of the rep, numbered after the first.
        let third = store.start_session(&rep, None, &tokens("8", t0)).unwrap();
        assert!(store.deactivate_rep(&rep.merchant_id, &rep.id).unwrap());
        let mut revoked = store.revoked_families_after(1, 10).unwrap();
        revoked.sort();
        let mut expected = vec![other, third];
        expected.sort();
        assert_eq!(revoked.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [2, 3]);
        let mut ids: Vec<String> = revoked.into_iter().map(|(_, id)| id).collect();
        ids.sort();
        assert_eq!(ids, expected);
        assert_eq!(store.last_revocation().unwrap(), 3);
    }

    #[test]
    fn version_3_refresh_tokens_become_sessions_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            for (version, sql) in &super::super::MIGRATIONS[..3] {
                c.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                    .unwrap();
            }
            c.execute_batch(
                "INSERT INTO merchants (id, code, name, settings, created_at) VALUES ('m1', 'a', 'A', '{}', 'x');
                 INSERT INTO reps (id, merchant_id, login, name, password_hash, created_at)
                   VALUES ('rep1', 'm1', 'r', 'R', 'h', 'x');
                 INSERT INTO tokens (token_hash, kind, rep_id, merchant_id, device, expires_at, revoked, created_at) VALUES
                   ('live', 'refresh', 'rep1', 'm1', 'phone', '2999-01-01T00:00:00.000Z', 0, 'x'),
                   ('used', 'refresh', 'rep1', 'm1', 'phone', '2999-01-01T00:00:00.000Z', 1, 'x'),
                   ('acc', 'access', 'rep1', 'm1', 'phone', '2999-01-01T00:00:00.000Z', 0, 'x');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            super::super::MIGRATIONS.last().unwrap().0
        );
        let now = Utc::now();
        assert!(store
            .token("live", TokenKind::Refresh, now)
            .unwrap()
            .is_some());
        assert!(store
            .token("used", TokenKind::Refresh, now)
            .unwrap()
            .is_none());
        assert!(store
            .token("acc", TokenKind::Access, now)
            .unwrap()
            .is_none());
        let family = store.token_family("live").unwrap().unwrap();
        assert_eq!((family.rep_id.as_str(), family.revoked), ("rep1", false));
        let r = store
            .rotate_refresh("live", &tokens("next", now), now, Duration::seconds(10))
            .unwrap();
        assert!(matches!(r, Rotation::Rotated { family_id, .. } if family_id == family.id));
    }
}
