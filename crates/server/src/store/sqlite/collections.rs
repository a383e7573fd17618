//! [`CollectionStore`] on SQLite: a collection with its ledger entry, change-log rows and
//! receipt text in one transaction; a void with its offsetting entry and audit row.

use chrono::{DateTime, Utc};
use fieldpay_protocol::collection::{Collection, CollectionInput};
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::{AccountId, MerchantId, RepId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::records::{account_from_row, insert_ledger, sum_balance, ACCOUNT_COLS};
use super::{apply_effects, changed, SqliteStore};
use crate::clock::ts;
use crate::store::collections::{self, CollectionStore, RawCollection, Receipt, COLLECTION_COLS};
use crate::store::{Effects, NewLedger, StoreResult};

/// A collection from the columns [`COLLECTION_COLS`] starting at column `i`.
pub(super) fn collection_from_row_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Collection> {
    RawCollection {
        id: r.get(i)?,
        account_id: r.get(i + 1)?,
        rep_id: r.get(i + 2)?,
        method: r.get(i + 3)?,
        amount: r.get(i + 4)?,
        memo: r.get(i + 5)?,
        note_number: r.get(i + 6)?,
        note_bank: r.get(i + 7)?,
        note_due: r.get(i + 8)?,
        collected_at: r.get(i + 9)?,
        recorded_at: r.get(i + 10)?,
        void_reason: r.get(i + 11)?,
        voided_at: r.get(i + 12)?,
        voided_by: r.get(i + 13)?,
    }
    .collection()
    .map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            i + 3,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    })
}

pub(super) fn load_collection(
    c: &Connection,
    merchant_id: &str,
    id: &str,
) -> StoreResult<Option<Collection>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLLECTION_COLS} FROM collections WHERE merchant_id = ?1 AND id = ?2"
    ))?
    .query_row(params![merchant_id, id], |r| collection_from_row_at(r, 0))
    .optional()?)
}

impl CollectionStore for SqliteStore {
    fn record_collection(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        only: Option<&RepId>,
        input: &CollectionInput,
        now_t: DateTime<Utc>,
        receipt: Receipt<'_>,
    ) -> StoreResult<Collection> {
        let mid = merchant_id.as_str();
        let now = ts(now_t);
        self.write(|tx| {
            if let Some(existing) = load_collection(tx, mid, &input.collection_id)? {
                return collections::check_existing(existing, rep_id);
            }
            let account = tx
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = ?1 AND id = ?2"
                    ),
                    params![mid, input.account_id],
                    account_from_row,
                )
                .optional()?;
            let account = collections::check_account(account, only)?;
            let note = input.note.as_ref();
            tx.execute(
                "INSERT INTO collections (merchant_id, id, account_id, rep_id, method, amount, memo,
                    note_number, note_bank, note_due, collected_at, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    mid,
                    input.collection_id,
                    account.id,
                    rep_id.as_str(),
                    input.method.as_str(),
                    input.amount,
                    input.memo,
                    note.map(|n| n.number.as_str()),
                    note.map(|n| n.issuer_bank.as_str()),
                    note.map(|n| n.due_date.as_str()),
                    input.collected_at,
                    now
                ],
            )?;
            insert_ledger(
                tx,
                mid,
                &NewLedger {
                    account_id: AccountId::new(account.id.clone()),
                    kind: LedgerKind::Collection,
                    amount: -input.amount,
                    ref_id: Some(input.collection_id.clone()),
                    memo: collections::ledger_memo(input),
                    at: now_t,
                },
            )?;
            changed(tx, mid, "collection", &input.collection_id)?;
            let stored = load_collection(tx, mid, &input.collection_id)?
                .ok_or_else(|| super::corrupt("collection vanished"))?;
            let balance = sum_balance(tx, &account.id)?;
            if let Some(sms) = receipt(&stored, &account, balance) {
                let effects = Effects {
                    sms: vec![sms],
                    webhooks: Vec::new(),
                };
                apply_effects(tx, mid, None, &effects, &now)?;
            }
            Ok(stored)
        })
    }

    fn void_collection(
        &self,
        merchant_id: &MerchantId,
        collection_id: &str,
        reason: &str,
        by: &RepId,
        now_t: DateTime<Utc>,
    ) -> StoreResult<Collection> {
        let mid = merchant_id.as_str();
        let now = ts(now_t);
        self.write(|tx| {
            let c = collections::check_voidable(load_collection(tx, mid, collection_id)?)?;
            tx.execute(
                "UPDATE collections SET void_reason = ?3, voided_at = ?4, voided_by = ?5
                 WHERE merchant_id = ?1 AND id = ?2 AND void_reason IS NULL",
                params![mid, collection_id, reason, now, by.as_str()],
            )?;
            insert_ledger(
                tx,
                mid,
                &NewLedger {
                    account_id: AccountId::new(c.account_id.clone()),
                    kind: LedgerKind::CollectionVoid,
                    amount: c.amount,
                    ref_id: Some(c.id.clone()),
                    memo: collections::void_memo(&c, reason),
                    at: now_t,
                },
            )?;
            changed(tx, mid, "collection", collection_id)?;
            tx.execute(
                "INSERT INTO audit_log (at, actor, action, merchant_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    now,
                    format!("manager:{by}"),
                    collections::VOID_ACTION,
                    mid,
                    collections::void_audit(&c, reason).to_string()
                ],
            )?;
            load_collection(tx, mid, collection_id)?
                .ok_or_else(|| super::corrupt("collection vanished"))
        })
    }

    fn collection(
        &self,
        merchant_id: &MerchantId,
        collection_id: &str,
    ) -> StoreResult<Option<Collection>> {
        self.read(|c| load_collection(c, merchant_id.as_str(), collection_id))
    }

    fn collections(
        &self,
        merchant_id: &MerchantId,
        account_id: Option<&AccountId>,
        limit: u32,
    ) -> StoreResult<Vec<Collection>> {
        let mid = merchant_id.as_str();
        let account = account_id.map(AccountId::as_str);
        self.read(|c| {
            let rows = c
                .prepare_cached(&format!(
                    "SELECT {COLLECTION_COLS} FROM collections
                     WHERE merchant_id = ?1 AND (?2 IS NULL OR account_id = ?2)
                     ORDER BY recorded_at DESC, id DESC LIMIT ?3"
                ))?
                .query_map(params![mid, account, limit], |r| {
                    collection_from_row_at(r, 0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
