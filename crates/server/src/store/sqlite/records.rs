//! [`RecordStore`] on SQLite: accounts, products and the append-only ledger.

use chrono::Utc;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::{account_moved, audience_sql, changed, rejected, SqliteStore};
use crate::clock::ts;
use crate::ids::new_id;
use crate::store::{AccountQuery, NewAccount, NewLedger, NewProduct, RecordStore, StoreResult};
use fieldpay_protocol::records::{Account, AccountWithBalance, Product};
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId};

pub(super) const ACCOUNT_COLS: &str = "id, code, name, owner_name, business_number, phone, address, credit_limit, closed, rep_id, updated_at";

pub(super) fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    account_from_row_at(r, 0)
}

/// An account from the columns `ACCOUNT_COLS` starting at column `i`.
pub(super) fn account_from_row_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(i)?,
        code: r.get(i + 1)?,
        name: r.get(i + 2)?,
        owner_name: r.get(i + 3)?,
        business_number: r.get(i + 4)?,
        phone: r.get(i + 5)?,
        address: r.get(i + 6)?,
        credit_limit: r.get(i + 7)?,
        closed: r.get::<_, i64>(i + 8)? != 0,
        rep_id: r.get(i + 9)?,
        updated_at: r.get(i + 10)?,
    })
}

pub(super) const PRODUCT_COLS: &str = "id, code, name, unit_price, unit, active, updated_at";

pub(super) fn product_from_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    product_from_row_at(r, 0)
}

/// A product from the columns `PRODUCT_COLS` starting at column `i`.
pub(super) fn product_from_row_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Product> {
    Ok(Product {
        id: r.get(i)?,
        code: r.get(i + 1)?,
        name: r.get(i + 2)?,
        unit_price: r.get(i + 3)?,
        unit: r.get(i + 4)?,
        active: r.get::<_, i64>(i + 5)? != 0,
        updated_at: r.get(i + 6)?,
    })
}

pub(super) fn sum_balance(c: &Connection, account_id: &str) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

pub(super) fn insert_ledger(
    tx: &Transaction<'_>,
    merchant_id: &str,
    e: &NewLedger,
) -> StoreResult<String> {
    let id = new_id("le");
    tx.execute(
        "INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            merchant_id,
            e.account_id.as_str(),
            e.kind.as_str(),
            e.amount,
            e.ref_id,
            e.memo,
            ts(e.at)
        ],
    )?;
    changed(tx, merchant_id, "ledger", &id)?;
    Ok(id)
}

pub(super) fn account_exists(
    c: &Connection,
    merchant_id: &str,
    account_id: &str,
) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE merchant_id = ?1 AND id = ?2)",
        params![merchant_id, account_id],
        |r| r.get(0),
    )?)
}

impl RecordStore for SqliteStore {
    fn upsert_accounts(&self, merchant_id: &MerchantId, rows: &[NewAccount]) -> StoreResult<usize> {
        let merchant_id = merchant_id.as_str();
        let now = ts(Utc::now());
        self.write(|tx| {
            for a in rows {
                let rep_id: Option<String> = match &a.rep_login {
                    None => None,
                    Some(login) => Some(
                        tx.query_row(
                            "SELECT id FROM reps WHERE merchant_id = ?1 AND login = ?2",
                            params![merchant_id, login],
                            |r| r.get(0),
                        )
                        .optional()?
                        .ok_or_else(|| rejected(ErrorCode::InvalidField, format!("rep {login} does not exist")))?,
                    ),
                };
                let existing: Option<(String, Option<String>)> = tx
                    .query_row(
                        "SELECT id, rep_id FROM accounts WHERE merchant_id = ?1 AND code = ?2",
                        params![merchant_id, a.code],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let moved_from = existing
                    .as_ref()
                    .filter(|(_, old)| *old != rep_id)
                    .map(|(_, old)| old.clone());
                let id = existing.map_or_else(|| new_id("acc"), |(id, _)| id);
                tx.execute(
                    "INSERT INTO accounts (id, merchant_id, code, name, owner_name, business_number, phone, address, credit_limit, rep_id, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner_name = excluded.owner_name,
                        business_number = excluded.business_number, phone = excluded.phone, address = excluded.address,
                        credit_limit = excluded.credit_limit, rep_id = excluded.rep_id, updated_at = excluded.updated_at",
                    params![id, merchant_id, a.code, a.name, a.owner_name, a.business_number, a.phone, a.address, a.credit_limit, rep_id, now],
                )?;
                changed(tx, merchant_id, "account", &id)?;
                if let Some(old) = moved_from {
                    account_moved(tx, merchant_id, &id, old.as_deref())?;
                }
            }
            Ok(rows.len())
        })
    }

    fn upsert_products(&self, merchant_id: &MerchantId, rows: &[NewProduct]) -> StoreResult<usize> {
        let merchant_id = merchant_id.as_str();
        let now = ts(Utc::now());
        self.write(|tx| {
            for p in rows {
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT id FROM products WHERE merchant_id = ?1 AND code = ?2",
                        params![merchant_id, p.code],
                        |r| r.get(0),
                    )
                    .optional()?;
                let id = existing.unwrap_or_else(|| new_id("prd"));
                tx.execute(
                    "INSERT INTO products (id, merchant_id, code, name, unit_price, unit, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, unit_price = excluded.unit_price,
                        unit = excluded.unit, updated_at = excluded.updated_at",
                    params![id, merchant_id, p.code, p.name, p.unit_price, p.unit, now],
                )?;
                changed(tx, merchant_id, "product", &id)?;
            }
            Ok(rows.len())
        })
    }

    fn accounts(&self, merchant_id: &MerchantId) -> StoreResult<Vec<Account>> {
        let merchant_id = merchant_id.as_str();
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 ORDER BY code"
            ))?;
            let rows = stmt
                .query_map([merchant_id], account_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn account(
        &self,
        merchant_id: &MerchantId,
        account_id: &AccountId,
    ) -> StoreResult<Option<Account>> {
        let merchant_id = merchant_id.as_str();
        let account_id = account_id.as_str();
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 AND id = ?2"),
                params![merchant_id, account_id],
                account_from_row,
            )
            .optional()?)
        })
    }

    fn search_accounts(
        &self,
        merchant_id: &MerchantId,
        query: &AccountQuery,
        limit: u32,
    ) -> StoreResult<Vec<AccountWithBalance>> {
        let merchant_id = merchant_id.as_str();
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ACCOUNT_COLS}, (SELECT COALESCE(SUM(l.amount), 0) FROM ledger l
                   WHERE l.merchant_id = accounts.merchant_id AND l.account_id = accounts.id)
                 FROM accounts WHERE merchant_id = ?1
                   AND (instr(lower(name), ?2) > 0 OR instr(lower(owner_name), ?2) > 0
                        OR instr(lower(code), ?2) > 0
                        OR (?3 IS NOT NULL AND (instr(phone, ?3) > 0 OR instr(business_number, ?3) > 0)))
                 ORDER BY name, code LIMIT ?4"
            ))?;
            let rows = stmt
                .query_map(
                    params![merchant_id, query.text, query.digits, limit],
                    |r| {
                        Ok(AccountWithBalance {
                            account: account_from_row(r)?,
                            balance: r.get(11)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn products(&self, merchant_id: &MerchantId) -> StoreResult<Vec<Product>> {
        let merchant_id = merchant_id.as_str();
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PRODUCT_COLS} FROM products WHERE merchant_id = ?1 ORDER BY code"
            ))?;
            let rows = stmt
                .query_map([merchant_id], product_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn add_ledger(&self, merchant_id: &MerchantId, entry: &NewLedger) -> StoreResult<String> {
        let merchant_id = merchant_id.as_str();
        self.write(|tx| {
            if !account_exists(tx, merchant_id, entry.account_id.as_str())? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            insert_ledger(tx, merchant_id, entry)
        })
    }

    fn add_ledger_batch(
        &self,
        merchant_id: &MerchantId,
        entries: &[NewLedger],
    ) -> StoreResult<usize> {
        let merchant_id = merchant_id.as_str();
        self.write(|tx| {
            let mut known = std::collections::HashSet::new();
            let mut insert = tx.prepare_cached(
                "INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            // A new id has no earlier change row to replace (see `changed`).
            let mut change = tx.prepare_cached(&format!(
                "INSERT INTO changes (merchant_id, entity, entity_id, audience) VALUES (?1, ?2, ?3, {})",
                audience_sql("ledger")?
            ))?;
            let mut exists = tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE merchant_id = ?1 AND id = ?2)",
            )?;
            for e in entries {
                if !known.contains(e.account_id.as_str()) {
                    if !exists
                        .query_row(params![merchant_id, e.account_id.as_str()], |r| r.get(0))?
                    {
                        return Err(rejected(
                            ErrorCode::NotFound,
                            format!("account {} not found", e.account_id),
                        ));
                    }
                    known.insert(e.account_id.as_str());
                }
                let id = new_id("le");
                insert.execute(params![
                    id,
                    merchant_id,
                    e.account_id.as_str(),
                    e.kind.as_str(),
                    e.amount,
                    e.ref_id,
                    e.memo,
                    ts(e.at)
                ])?;
                change.execute(params![merchant_id, "ledger", id])?;
            }
            Ok(entries.len())
        })
    }

    fn balance(&self, merchant_id: &MerchantId, account_id: &AccountId) -> StoreResult<i64> {
        let merchant_id = merchant_id.as_str();
        let account_id = account_id.as_str();
        self.read(|c| {
            if !account_exists(c, merchant_id, account_id)? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            sum_balance(c, account_id)
        })
    }
}
