//! [`RecordStore`] on PostgreSQL: accounts, products and the append-only ledger. Imports of
//! many rows go in a few multi-row statements (arrays unnested), not one per row.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use fieldpay_protocol::records::{Account, AccountWithBalance, Product};
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId};
use tokio_postgres::Row;

use super::{
    account_moved, changed, changed_many, corrupt, hold_change_log, rejected, PgStore, Tx,
};
use crate::clock::ts;
use crate::ids::new_id;
use crate::store::{AccountQuery, NewAccount, NewLedger, NewProduct, RecordStore, StoreResult};

/// How many rows one multi-row statement of an import carries.
const CHUNK: usize = 5_000;

pub(super) const ACCOUNT_COLS: &str = "id, code, name, owner_name, business_number, phone, address, credit_limit, closed, rep_id, updated_at";

/// An account from the columns [`ACCOUNT_COLS`] starting at column `i`.
pub(super) fn account_from_row_at(r: &Row, i: usize) -> StoreResult<Account> {
    Ok(Account {
        id: r.try_get(i)?,
        code: r.try_get(i + 1)?,
        name: r.try_get(i + 2)?,
        owner_name: r.try_get(i + 3)?,
        business_number: r.try_get(i + 4)?,
        phone: r.try_get(i + 5)?,
        address: r.try_get(i + 6)?,
        credit_limit: r.try_get(i + 7)?,
        closed: r.try_get(i + 8)?,
        rep_id: r.try_get(i + 9)?,
        updated_at: r.try_get(i + 10)?,
    })
}

pub(super) const PRODUCT_COLS: &str = "id, code, name, unit_price, unit, active, updated_at";

/// A product from the columns [`PRODUCT_COLS`] starting at column `i`.
pub(super) fn product_from_row_at(r: &Row, i: usize) -> StoreResult<Product> {
    Ok(Product {
        id: r.try_get(i)?,
        code: r.try_get(i + 1)?,
        name: r.try_get(i + 2)?,
        unit_price: r.try_get(i + 3)?,
        unit: r.try_get(i + 4)?,
        active: r.try_get(i + 5)?,
        updated_at: r.try_get(i + 6)?,
    })
}

/// One of the merchant's accounts.
pub(super) fn load_account(
    tx: &Tx<'_>,
    merchant_id: &str,
    account_id: &str,
) -> StoreResult<Option<Account>> {
    tx.query_opt(
        &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = $1 AND id = $2"),
        &[&merchant_id, &account_id],
    )?
    .map(|r| account_from_row_at(&r, 0))
    .transpose()
}

/// What the account owes: the sum of its ledger.
pub(super) fn sum_balance(tx: &Tx<'_>, merchant_id: &str, account_id: &str) -> StoreResult<i64> {
    Ok(tx
        .query_one(
            "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM ledger
             WHERE merchant_id = $1 AND account_id = $2",
            &[&merchant_id, &account_id],
        )?
        .try_get(0)?)
}

/// Appends one ledger entry (logged for sync); returns its id. The account must be the
/// merchant's (see [`account_exists`]); an entry of a (kind, ref_id) already booked is
/// refused by the database.
pub(super) fn insert_ledger(tx: &Tx<'_>, merchant_id: &str, e: &NewLedger) -> StoreResult<String> {
    let id = new_id("le");
    tx.execute(
        "INSERT INTO ledger (id, merchant_id, account_id, kind, amount, ref_id, memo, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id,
            &merchant_id,
            &e.account_id.as_str(),
            &e.kind.as_str(),
            &e.amount,
            &e.ref_id,
            &e.memo,
            &ts(e.at),
        ],
    )?;
    changed(tx, merchant_id, "ledger", &id)?;
    Ok(id)
}

pub(super) fn account_exists(
    tx: &Tx<'_>,
    merchant_id: &str,
    account_id: &str,
) -> StoreResult<bool> {
    Ok(tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE merchant_id = $1 AND id = $2)",
            &[&merchant_id, &account_id],
        )?
        .try_get(0)?)
}

/// The rows of an import to write, by index: the last row of each code (a code given twice is
/// written once, with its last values, as writing the rows one after the other would),
/// ordered by that last position.
fn last_of_each_code<'a>(codes: impl Iterator<Item = &'a str>) -> Vec<usize> {
    let codes: Vec<&str> = codes.collect();
    let mut last = HashMap::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        last.insert(*code, i);
    }
    (0..codes.len()).filter(|i| last[codes[*i]] == *i).collect()
}

/// The ids `RETURNING code, id` answered, in the order of `codes`.
fn ids_by_code(rows: Vec<Row>, codes: &[&str]) -> StoreResult<Vec<String>> {
    let mut by_code = HashMap::with_capacity(rows.len());
    for r in rows {
        by_code.insert(r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?);
    }
    codes
        .iter()
        .map(|c| {
            by_code
                .remove(*c)
                .ok_or_else(|| corrupt("an imported row was not written"))
        })
        .collect()
}

impl RecordStore for PgStore {
    fn upsert_accounts(&self, merchant_id: &MerchantId, rows: &[NewAccount]) -> StoreResult<usize> {
        let merchant_id = merchant_id.as_str();
        let now = ts(Utc::now());
        let keep = last_of_each_code(rows.iter().map(|a| a.code.as_str()));
        self.write(|tx| {
            hold_change_log(tx, &[merchant_id])?;
            let logins: Vec<&str> = rows
                .iter()
                .filter_map(|a| a.rep_login.as_deref())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut reps = HashMap::new();
            if !logins.is_empty() {
                for r in tx.query(
                    "SELECT login, id FROM reps WHERE merchant_id = $1 AND login = ANY($2::text[])",
                    &[&merchant_id, &logins],
                )? {
                    reps.insert(r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?);
                }
            }
            if let Some(login) = rows
                .iter()
                .filter_map(|a| a.rep_login.as_deref())
                .find(|l| !reps.contains_key(*l))
            {
                return Err(rejected(
                    ErrorCode::InvalidField,
                    format!("rep {login} does not exist"),
                ));
            }
            let mut ids = Vec::with_capacity(keep.len());
            // Accounts whose rep changes: (id, the rep before).
            let mut moved: Vec<(String, Option<String>)> = Vec::new();
            for chunk in keep.chunks(CHUNK) {
                let a = |i: &usize| &rows[*i];
                let codes: Vec<&str> = chunk.iter().map(|i| a(i).code.as_str()).collect();
                let mut before: HashMap<String, (String, Option<String>)> = HashMap::new();
                for r in tx.query(
                    "SELECT code, id, rep_id FROM accounts WHERE merchant_id = $1 AND code = ANY($2::text[])",
                    &[&merchant_id, &codes],
                )? {
                    before.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
                }
                for i in chunk {
                    let new_rep = a(i).rep_login.as_deref().map(|l| reps[l].as_str());
                    if let Some((id, old)) = before.remove(a(i).code.as_str()) {
                        if old.as_deref() != new_rep {
                            moved.push((id, old));
                        }
                    }
                }
                let new_ids: Vec<String> = chunk.iter().map(|_| new_id("acc")).collect();
                let names: Vec<&str> = chunk.iter().map(|i| a(i).name.as_str()).collect();
                let owners: Vec<&str> = chunk.iter().map(|i| a(i).owner_name.as_str()).collect();
                let numbers: Vec<&str> =
                    chunk.iter().map(|i| a(i).business_number.as_str()).collect();
                let phones: Vec<&str> = chunk.iter().map(|i| a(i).phone.as_str()).collect();
                let addresses: Vec<&str> = chunk.iter().map(|i| a(i).address.as_str()).collect();
                let limits: Vec<i64> = chunk.iter().map(|i| a(i).credit_limit).collect();
                let rep_ids: Vec<Option<&str>> = chunk
                    .iter()
                    .map(|i| a(i).rep_login.as_deref().map(|l| reps[l].as_str()))
                    .collect();
                let written = tx.query(
                    "INSERT INTO accounts (merchant_id, id, code, name, owner_name, business_number,
                        phone, address, credit_limit, rep_id, updated_at)
                     SELECT $1, t.id, t.code, t.name, t.owner_name, t.business_number, t.phone,
                        t.address, t.credit_limit, t.rep_id, $2
                     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::text[], $10::bigint[], $11::text[])
                        AS t(id, code, name, owner_name, business_number, phone, address,
                             credit_limit, rep_id)
                     ON CONFLICT (merchant_id, code) DO UPDATE SET name = EXCLUDED.name,
                        owner_name = EXCLUDED.owner_name, business_number = EXCLUDED.business_number,
                        phone = EXCLUDED.phone, address = EXCLUDED.address,
                        credit_limit = EXCLUDED.credit_limit, rep_id = EXCLUDED.rep_id,
                        updated_at = EXCLUDED.updated_at
                     RETURNING code, id",
                    &[
                        &merchant_id, &now, &new_ids, &codes, &names, &owners, &numbers, &phones,
                        &addresses, &limits, &rep_ids,
                    ],
                )?;
                ids.extend(ids_by_code(written, &codes)?);
            }
            changed_many(tx, merchant_id, "account", &ids)?;
            for (id, old) in &moved {
                account_moved(tx, merchant_id, id, old.as_deref())?;
            }
            Ok(rows.len())
        })
    }

    fn upsert_products(&self, merchant_id: &MerchantId, rows: &[NewProduct]) -> StoreResult<usize> {
        let merchant_id = merchant_id.as_str();
        let now = ts(Utc::now());
        let keep = last_of_each_code(rows.iter().map(|p| p.code.as_str()));
        self.write(|tx| {
            hold_change_log(tx, &[merchant_id])?;
            let mut ids = Vec::with_capacity(keep.len());
            for chunk in keep.chunks(CHUNK) {
                let p = |i: &usize| &rows[*i];
                let codes: Vec<&str> = chunk.iter().map(|i| p(i).code.as_str()).collect();
                let new_ids: Vec<String> = chunk.iter().map(|_| new_id("prd")).collect();
                let names: Vec<&str> = chunk.iter().map(|i| p(i).name.as_str()).collect();
                let prices: Vec<i64> = chunk.iter().map(|i| p(i).unit_price).collect();
                let units: Vec<&str> = chunk.iter().map(|i| p(i).unit.as_str()).collect();
                let written = tx.query(
                    "INSERT INTO products (merchant_id, id, code, name, unit_price, unit, updated_at)
                     SELECT $1, t.id, t.code, t.name, t.unit_price, t.unit, $2
                     FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
                        AS t(id, code, name, unit_price, unit)
                     ON CONFLICT (merchant_id, code) DO UPDATE SET name = EXCLUDED.name,
                        unit_price = EXCLUDED.unit_price, unit = EXCLUDED.unit,
                        updated_at = EXCLUDED.updated_at
                     RETURNING code, id",
                    &[&merchant_id, &now, &new_ids, &codes, &names, &prices, &units],
                )?;
                ids.extend(ids_by_code(written, &codes)?);
            }
            changed_many(tx, merchant_id, "product", &ids)?;
            Ok(rows.len())
        })
    }

    fn accounts(&self, merchant_id: &MerchantId) -> StoreResult<Vec<Account>> {
        let merchant_id = merchant_id.as_str();
        self.read(|tx| {
            // Byte order, as SQLite sorts.
            tx.query(
                &format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = $1
                     ORDER BY code COLLATE \"C\""
                ),
                &[&merchant_id],
            )?
            .iter()
            .map(|r| account_from_row_at(r, 0))
            .collect()
        })
    }

    fn account(
        &self,
        merchant_id: &MerchantId,
        account_id: &AccountId,
    ) -> StoreResult<Option<Account>> {
        let merchant_id = merchant_id.as_str();
        let account_id = account_id.as_str();
        self.read(|tx| load_account(tx, merchant_id, account_id))
    }

    fn search_accounts(
        &self,
        merchant_id: &MerchantId,
        query: &AccountQuery,
        limit: u32,
    ) -> StoreResult<Vec<AccountWithBalance>> {
        let merchant_id = merchant_id.as_str();
        let limit = i64::from(limit);
        self.read(|tx| {
            tx.query(
                &format!(
                    "SELECT {ACCOUNT_COLS}, (SELECT COALESCE(SUM(l.amount), 0)::bigint FROM ledger l
                       WHERE l.merchant_id = accounts.merchant_id AND l.account_id = accounts.id)
                     FROM accounts WHERE merchant_id = $1
                       AND (strpos(lower(name), $2) > 0 OR strpos(lower(owner_name), $2) > 0
                            OR strpos(lower(code), $2) > 0
                            OR ($3::text IS NOT NULL
                                AND (strpos(phone, $3) > 0 OR strpos(business_number, $3) > 0)))
                     ORDER BY name COLLATE \"C\", code COLLATE \"C\" LIMIT $4"
                ),
                &[&merchant_id, &query.text, &query.digits, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(AccountWithBalance {
                    account: account_from_row_at(r, 0)?,
                    balance: r.try_get(11)?,
                })
            })
            .collect()
        })
    }

    fn products(&self, merchant_id: &MerchantId) -> StoreResult<Vec<Product>> {
        let merchant_id = merchant_id.as_str();
        self.read(|tx| {
            tx.query(
                &format!(
                    "SELECT {PRODUCT_COLS} FROM products WHERE merchant_id = $1
                     ORDER BY code COLLATE \"C\""
                ),
                &[&merchant_id],
            )?
            .iter()
            .map(|r| product_from_row_at(r, 0))
            .collect()
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
            hold_change_log(tx, &[merchant_id])?;
            let wanted: Vec<&str> = entries
                .iter()
                .map(|e| e.account_id.as_str())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut known = HashSet::with_capacity(wanted.len());
            for chunk in wanted.chunks(CHUNK) {
                for r in tx.query(
                    "SELECT id FROM accounts WHERE merchant_id = $1 AND id = ANY($2::text[])",
                    &[&merchant_id, &chunk],
                )? {
                    known.insert(r.try_get::<_, String>(0)?);
                }
            }
            if let Some(e) = entries
                .iter()
                .find(|e| !known.contains(e.account_id.as_str()))
            {
                return Err(rejected(
                    ErrorCode::NotFound,
                    format!("account {} not found", e.account_id),
                ));
            }
            let mut ids = Vec::with_capacity(entries.len());
            for chunk in entries.chunks(CHUNK) {
                let new_ids: Vec<String> = chunk.iter().map(|_| new_id("le")).collect();
                let accounts: Vec<&str> = chunk.iter().map(|e| e.account_id.as_str()).collect();
                let kinds: Vec<&str> = chunk.iter().map(|e| e.kind.as_str()).collect();
                let amounts: Vec<i64> = chunk.iter().map(|e| e.amount).collect();
                let refs: Vec<Option<&str>> = chunk.iter().map(|e| e.ref_id.as_deref()).collect();
                let memos: Vec<&str> = chunk.iter().map(|e| e.memo.as_str()).collect();
                let ats: Vec<String> = chunk.iter().map(|e| ts(e.at)).collect();
                tx.execute(
                    "INSERT INTO ledger (merchant_id, id, account_id, kind, amount, ref_id, memo, at)
                     SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[],
                                                $6::text[], $7::text[], $8::text[])
                        AS t(id, account_id, kind, amount, ref_id, memo, at)",
                    &[&merchant_id, &new_ids, &accounts, &kinds, &amounts, &refs, &memos, &ats],
                )?;
                ids.extend(new_ids);
            }
            changed_many(tx, merchant_id, "ledger", &ids)?;
            Ok(entries.len())
        })
    }

    fn balance(&self, merchant_id: &MerchantId, account_id: &AccountId) -> StoreResult<i64> {
        let merchant_id = merchant_id.as_str();
        let account_id = account_id.as_str();
        self.read(|tx| {
            if !account_exists(tx, merchant_id, account_id)? {
                return Err(rejected(ErrorCode::NotFound, "account not found"));
            }
            sum_balance(tx, merchant_id, account_id)
        })
    }
}
