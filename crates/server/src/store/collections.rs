//! Collections other than card (현금·계좌이체·어음 수금): recorded from a rep's device (the
//! device's id is the idempotency key), each with its receivables ledger entry, its change-log
//! rows and the client's receipt text in one transaction; voided by a manager with an
//! offsetting ledger entry (the ledger is never changed), an audit row and the change-log.

use chrono::{DateTime, Utc};
use fieldpay_protocol::collection::{
    Collection, CollectionInput, CollectionMethod, CollectionVoid, PromissoryNote,
};
use fieldpay_protocol::money::format_krw;
use fieldpay_protocol::records::Account;
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId, RepId};

use super::{NewSms, StoreError, StoreResult};

/// Builds the receipt text of a collection from the collection, its account and the account's
/// balance after it (None: no text, e.g. the account has no mobile phone).
pub type Receipt<'a> = &'a (dyn Fn(&Collection, &Account, i64) -> Option<NewSms> + Sync);

pub trait CollectionStore {
    /// Records a collection whose fields were checked ([`fieldpay_protocol::collection::check_input`]):
    /// the account must be the merchant's and open and, when `only` names a plain rep, not
    /// another rep's. Writes the collection, its ledger entry (kind `collection`, the amount
    /// negative, `ref_id` the collection id), the change-log rows and the receipt text.
    /// A collection id the merchant already has is answered as stored, nothing written
    /// (refused when it is another rep's).
    fn record_collection(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        only: Option<&RepId>,
        input: &CollectionInput,
        now: DateTime<Utc>,
        receipt: Receipt<'_>,
    ) -> StoreResult<Collection>;
    /// Voids a collection: an offsetting ledger entry (kind `collection_void`), the collection
    /// marked voided, an audit row (actor `manager:<by>`) and the change-log rows. A voided
    /// collection is refused (`conflict`).
    fn void_collection(
        &self,
        merchant_id: &MerchantId,
        collection_id: &str,
        reason: &str,
        by: &RepId,
        now: DateTime<Utc>,
    ) -> StoreResult<Collection>;
    fn collection(
        &self,
        merchant_id: &MerchantId,
        collection_id: &str,
    ) -> StoreResult<Option<Collection>>;
    /// The newest first, at most `limit`, of one account or all.
    fn collections(
        &self,
        merchant_id: &MerchantId,
        account_id: Option<&AccountId>,
        limit: u32,
    ) -> StoreResult<Vec<Collection>>;
}

// ---- the rules every store applies around its own SQL

/// Whether a collection may be recorded against `account` (None: not the merchant's) by
/// `only` (a plain rep; None: a manager).
/// The columns both stores read a collection from, in [`RawCollection`]'s order.
pub(crate) const COLLECTION_COLS: &str = "id, account_id, rep_id, method, amount, memo, note_number, note_bank, note_due, collected_at, recorded_at, void_reason, voided_at, voided_by";

/// A collection row as either store reads it ([`COLLECTION_COLS`]).
pub(crate) struct RawCollection {
    pub id: String,
    pub account_id: String,
    pub rep_id: Option<String>,
    pub method: String,
    pub amount: i64,
    pub memo: String,
    pub note_number: Option<String>,
    pub note_bank: Option<String>,
    pub note_due: Option<String>,
    pub collected_at: String,
    pub recorded_at: String,
    pub void_reason: Option<String>,
    pub voided_at: Option<String>,
    pub voided_by: Option<String>,
}

impl RawCollection {
    pub(crate) fn collection(self) -> StoreResult<Collection> {
        let method = CollectionMethod::parse(&self.method)
            .ok_or_else(|| StoreError::Corrupt(format!("collection method {:?}", self.method)))?;
        let note = self.note_number.map(|number| PromissoryNote {
            number,
            issuer_bank: self.note_bank.unwrap_or_default(),
            due_date: self.note_due.unwrap_or_default(),
        });
        let voided = self.void_reason.map(|reason| CollectionVoid {
            reason,
            at: self.voided_at.unwrap_or_default(),
            by: self.voided_by.unwrap_or_default(),
        });
        Ok(Collection {
            id: self.id,
            account_id: self.account_id,
            rep_id: self.rep_id,
            method,
            amount: self.amount,
            memo: self.memo,
            note,
            collected_at: self.collected_at,
            recorded_at: self.recorded_at,
            voided,
        })
    }
}

pub(crate) fn check_account(
    account: Option<Account>,
    only: Option<&RepId>,
) -> StoreResult<Account> {
    let account = account.ok_or_else(|| {
        StoreError::rejected(
            ErrorCode::NotFound,
            "거래처를 찾을 수 없습니다 (account not found)",
        )
    })?;
    if account.closed {
        return Err(StoreError::rejected(
            ErrorCode::AccountClosed,
            format!(
                "{} 거래처는 거래가 종료되었습니다 (account closed)",
                account.name
            ),
        ));
    }
    if let (Some(rep), Some(owner)) = (only, account.rep_id.as_deref()) {
        if owner != rep.as_str() {
            return Err(StoreError::rejected(
                ErrorCode::Forbidden,
                "다른 담당자의 거래처입니다 (another rep's account)",
            ));
        }
    }
    Ok(account)
}

/// A collection id already stored: answered as it is to its own rep, refused to another.
pub(crate) fn check_existing(existing: Collection, rep_id: &RepId) -> StoreResult<Collection> {
    if existing.rep_id.as_deref() == Some(rep_id.as_str()) {
        Ok(existing)
    } else {
        Err(StoreError::rejected(
            ErrorCode::Conflict,
            "collection_id is already taken",
        ))
    }
}

/// Whether a collection may be voided.
pub(crate) fn check_voidable(c: Option<Collection>) -> StoreResult<Collection> {
    let c = c.ok_or_else(|| {
        StoreError::rejected(
            ErrorCode::NotFound,
            "수금 내역을 찾을 수 없습니다 (collection not found)",
        )
    })?;
    if c.voided.is_some() {
        return Err(StoreError::rejected(
            ErrorCode::Conflict,
            "이미 취소된 수금입니다 (the collection is already voided)",
        ));
    }
    Ok(c)
}

/// The memo of a collection's ledger entry, e.g. `현금 수금` or `어음 수금 AB-1 (국민은행, 만기 2027-01-04)`.
pub(crate) fn ledger_memo(c: &CollectionInput) -> String {
    let mut memo = match &c.note {
        Some(n) => format!(
            "{} 수금 {} ({}, 만기 {})",
            c.method.label_ko(),
            n.number,
            n.issuer_bank,
            n.due_date
        ),
        None => format!("{} 수금", c.method.label_ko()),
    };
    if !c.memo.is_empty() {
        memo.push_str(" - ");
        memo.push_str(&c.memo);
    }
    memo
}

/// The memo of a void's offsetting entry.
pub(crate) fn void_memo(c: &Collection, reason: &str) -> String {
    format!(
        "{} 수금 취소 {}: {reason}",
        c.method.label_ko(),
        format_krw(c.amount)
    )
}

/// The audit detail of a void.
pub(crate) fn void_audit(c: &Collection, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "collection_id": c.id,
        "account_id": c.account_id,
        "method": c.method.as_str(),
        "amount": c.amount,
        "reason": reason,
    })
}

/// The audit action of a void.
pub(crate) const VOID_ACTION: &str = "collection.void";
