//! [`ChargeStore`] on PostgreSQL: charges with their binding, events and payment; registered
//! cards; call sessions. The rules (which step a charge allows, what a decline does, how a row
//! reads as a charge) are the shared ones of `store::charges`; this file reads and writes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::{ChargeEvent, ChargeList, ChargeStatus, PaymentInfo, RefundInfo};
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::{ApiKeyId, ChargeId, MerchantId, RepId, Secret};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::records::{account_exists, insert_ledger};
use super::{
    all_ok, apply_effects, changed, changes_sql, check_quotas, corrupt, hold_change_log,
    is_retryable, opt_id_at, EffectWrites, Params, PgStore, Stmt, Tx,
};
use crate::clock::ts;
use crate::ids::new_id;
use crate::store::charges::{
    approving_since, charge_event, charge_ledger_entry, charge_not_found, check_begin_approval,
    check_cancel, check_charge_account, check_charge_id_owner, check_idempotent_retry,
    check_merchant_active, check_refund_completable, check_status_step, decide_refund, decline,
    idempotency_caller, number_pool_exhausted, refund_claim, refund_ledger_entry, refunded_payment,
    with_refunds, ChargeColumns, DeclineWindow, InFlightApproval, RefundDecision, REFUND_DONE,
    REFUND_FAILED, REFUND_PENDING,
};
use crate::store::links::Claim;
use crate::store::{
    ApprovalLimits, CallSessionRecord, ChargeFilter, ChargeRecord, ChargeStore, Compose, Effects,
    NewCharge, NewPayment, PendingRefund, RefundClaim, RegisteredCard, StoreError, StoreResult,
};

/// The columns [`charge_columns`] reads, in its order.
pub(super) const CHARGE_COLS: &str = "id, merchant_id, rep_id, origin, kind, status, amount, goods_name, payer_phone, payer_name, orderer_name, orderer_phone, order_ref, account_id, installments, virtual_number, bound, created_at, expires_at, decline_reason, receipt_token, approving";

/// A charge row from the columns [`CHARGE_COLS`] starting at column `i`.
pub(super) fn charge_columns(r: &Row, i: usize) -> StoreResult<ChargeColumns> {
    Ok(ChargeColumns {
        id: r.try_get(i)?,
        merchant_id: r.try_get(i + 1)?,
        rep_id: r.try_get(i + 2)?,
        origin: r.try_get(i + 3)?,
        kind: r.try_get(i + 4)?,
        status: r.try_get(i + 5)?,
        amount: r.try_get(i + 6)?,
        goods_name: r.try_get(i + 7)?,
        payer_phone: r.try_get(i + 8)?,
        payer_name: r.try_get(i + 9)?,
        orderer_name: r.try_get(i + 10)?,
        orderer_phone: r.try_get(i + 11)?,
        order_ref: r.try_get(i + 12)?,
        account_id: r.try_get(i + 13)?,
        installments: r.try_get::<_, i64>(i + 14)? != 0,
        virtual_number: r.try_get(i + 15)?,
        bound: r.try_get(i + 16)?,
        created_at: r.try_get(i + 17)?,
        expires_at: r.try_get(i + 18)?,
        decline_reason: r.try_get(i + 19)?,
        receipt_token: r.try_get(i + 20)?,
        approving: r.try_get(i + 21)?,
    })
}

/// The charges of many rows with their events and payments, in the rows' order: two
/// statements whatever the number of charges.
pub(super) fn build_charges(
    tx: &Tx<'_>,
    rows: Vec<ChargeColumns>,
) -> StoreResult<Vec<ChargeRecord>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let merchants: Vec<&str> = rows.iter().map(|r| r.merchant_id.as_str()).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut events: HashMap<String, Vec<ChargeEvent>> = HashMap::new();
    for r in tx.query(
        "SELECT e.charge_id, e.status, e.at, e.detail, e.kind
         FROM unnest($1::text[], $2::text[]) AS k(merchant_id, charge_id)
         JOIN charge_events e ON e.merchant_id = k.merchant_id AND e.charge_id = k.charge_id
         ORDER BY e.charge_id, e.id",
        &[&merchants, &ids],
    )? {
        let status: String = r.try_get(1)?;
        events.entry(r.try_get(0)?).or_default().push(charge_event(
            &status,
            r.try_get(2)?,
            r.try_get(3)?,
            &r.try_get::<_, String>(4)?,
        )?);
    }
    let mut payments: HashMap<String, (PaymentInfo, String)> = HashMap::new();
    for r in tx.query(
        "SELECT p.charge_id, p.approval_number, p.issuer_code, p.issuer_name, p.masked_card,
                p.installment_months, p.amount, p.approved_at, p.refunded_at, p.acquirer_code
         FROM unnest($1::text[], $2::text[]) AS k(merchant_id, charge_id)
         JOIN payments p ON p.merchant_id = k.merchant_id AND p.charge_id = k.charge_id",
        &[&merchants, &ids],
    )? {
        let months: i64 = r.try_get(5)?;
        let info = PaymentInfo {
            approval_number: r.try_get(1)?,
            issuer_code: r.try_get(2)?,
            issuer_name: r.try_get(3)?,
            masked_card: r.try_get(4)?,
            installment_months: u8::try_from(months)
                .map_err(|_| corrupt("payment installment months"))?,
            amount: r.try_get(6)?,
            approved_at: r.try_get(7)?,
            refunded_at: r.try_get(8)?,
            receipt_url: None,
            refunded_amount: 0,
            refunds: Vec::new(),
        };
        payments.insert(r.try_get(0)?, (info, r.try_get(9)?));
    }
    if !payments.is_empty() {
        let mut refunds: HashMap<String, Vec<RefundInfo>> = HashMap::new();
        for r in tx.query(
            "SELECT f.charge_id, f.n, f.amount, f.refunded_at, f.reason
             FROM unnest($1::text[], $2::text[]) AS k(merchant_id, charge_id)
             JOIN refunds f ON f.merchant_id = k.merchant_id AND f.charge_id = k.charge_id
             WHERE f.state = 'done'
             ORDER BY f.charge_id, f.n",
            &[&merchants, &ids],
        )? {
            let n: i64 = r.try_get(1)?;
            refunds.entry(r.try_get(0)?).or_default().push(RefundInfo {
                n: u32::try_from(n).map_err(|_| corrupt("refund number"))?,
                amount: r.try_get(2)?,
                refunded_at: r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
                reason: r.try_get(4)?,
            });
        }
        for (id, (p, _)) in payments.iter_mut() {
            with_refunds(p, refunds.remove(id).unwrap_or_default());
        }
    }
    rows.into_iter()
        .map(|row| {
            let ev = events.remove(&row.id).unwrap_or_default();
            let pay = payments.remove(&row.id);
            row.into_record(ev, pay)
        })
        .collect()
}

/// The charges `where_sql` selects (over `charges` with no alias; it may end with an
/// `ORDER BY`), with their events and payments.
fn load_charges(tx: &Tx<'_>, where_sql: &str, args: Params<'_>) -> StoreResult<Vec<ChargeRecord>> {
    let rows = tx
        .query(
            &format!("SELECT {CHARGE_COLS} FROM charges WHERE {where_sql}"),
            args,
        )?
        .iter()
        .map(|r| charge_columns(r, 0))
        .collect::<StoreResult<Vec<_>>>()?;
    build_charges(tx, rows)
}

/// The one charge `where_sql` selects, if any.
pub(super) fn load_charge(
    tx: &Tx<'_>,
    where_sql: &str,
    args: Params<'_>,
) -> StoreResult<Option<ChargeRecord>> {
    Ok(load_charges(tx, where_sql, args)?.into_iter().next())
}

/// A charge by its id (unique across merchants), or `not_found`.
pub(super) fn charge_by_id(tx: &Tx<'_>, id: &str) -> StoreResult<ChargeRecord> {
    load_charge(tx, "id = $1", &[&id])?.ok_or_else(charge_not_found)
}

/// A charge's event: merchant, charge, status, time, detail.
const ADD_EVENT: &str =
    "INSERT INTO charge_events (merchant_id, charge_id, status, at, detail) VALUES ($1, $2, $3, $4, $5)";

pub(super) fn add_event(
    tx: &Tx<'_>,
    merchant_id: &str,
    charge_id: &str,
    status: ChargeStatus,
    detail: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    tx.execute(
        ADD_EVENT,
        &[&merchant_id, &charge_id, &status.as_str(), &now, &detail],
    )?;
    Ok(())
}

/// The receivables entry of a charge that pays (or refunds) a client account's debt, when the
/// charge names an account of its merchant.
fn ledger_for_charge(
    tx: &Tx<'_>,
    rec: &ChargeRecord,
    kind: LedgerKind,
    approval_number: &str,
    amount: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(entry) = charge_ledger_entry(rec, kind, approval_number, amount, at) else {
        return Ok(());
    };
    if account_exists(tx, rec.merchant_id.as_str(), entry.account_id.as_str())? {
        insert_ledger(tx, rec.merchant_id.as_str(), &entry)?;
    }
    Ok(())
}

/// Sets status (and writes the event, change-log row and effects) in one go.
pub(super) fn transition(
    tx: &Tx<'_>,
    charge_id: &str,
    status: ChargeStatus,
    detail: Option<&str>,
    now: &str,
    compose: Compose<'_>,
) -> StoreResult<ChargeRecord> {
    let merchant_id: String = tx
        .query_opt(
            "UPDATE charges SET status = $2, updated_at = $3 WHERE id = $1 RETURNING merchant_id",
            &[&charge_id, &status.as_str(), &now],
        )?
        .ok_or_else(charge_not_found)?
        .try_get(0)?;
    add_event(tx, &merchant_id, charge_id, status, detail, now)?;
    let rec = charge_by_id(tx, charge_id)?;
    changed(tx, &merchant_id, "charge", charge_id)?;
    apply_effects(tx, &merchant_id, Some(charge_id), &compose(&rec), now)?;
    Ok(rec)
}

/// What a charge's savepoint ends with, sent in the next round trip (with the next charge's
/// reads, or alone after the last): kept when the charge was created (or answered as a
/// replay), undone when it was refused.
const KEEP: &[&str] = &["RELEASE SAVEPOINT one_charge"];
const UNDO: &[&str] = &[
    "ROLLBACK TO SAVEPOINT one_charge",
    "RELEASE SAVEPOINT one_charge",
];

/// Creates one charge inside `tx` (see [`ChargeStore::create_charges`]) in its own savepoint,
/// in two round trips on the usual path: the savepoint and every read the checks need (with
/// `end`, the end of the previous charge's savepoint), then every write. The outer error is
/// the group's (the previous savepoint's end failed, or PostgreSQL could not order the group
/// with a concurrent one: the group runs again); the inner one is this charge's refusal, to
/// be undone with [`UNDO`]. Every refusal is found by a read before anything is written,
/// except the text quotas of the effects.
fn insert_charge(
    tx: &Tx<'_>,
    new: &NewCharge,
    now: &str,
    compose: Compose<'_>,
    end: &[&str],
) -> StoreResult<StoreResult<(ChargeRecord, bool)>> {
    let req = &new.request;
    let merchant_id = new.merchant_id.as_str();
    let charge_id = new.id.as_str();
    let caller = idempotency_caller(new);
    let payer = req.payer_phone.digits();
    let mut stmts: Vec<Stmt<'_>> = end.iter().map(|sql| (*sql, Vec::new())).collect();
    stmts.push(("SAVEPOINT one_charge", Vec::new()));
    let reads = stmts.len();
    // The key is the caller's own (an API key's or a rep's), as the unique index says.
    if let Some(key) = &new.idempotency_key {
        stmts.push((
            "SELECT id, request_hash FROM charges WHERE merchant_id = $1
               AND COALESCE(api_key_id, rep_id, '') = $2 AND idempotency_key = $3",
            vec![&merchant_id, &caller, key],
        ));
    }
    stmts.push((
        "SELECT merchant_id FROM charges WHERE id = $1",
        vec![&charge_id],
    ));
    if let Some(acc) = &req.account_id {
        stmts.push((
            "SELECT closed FROM accounts WHERE merchant_id = $1 AND id = $2",
            vec![&merchant_id, acc],
        ));
    }
    stmts.push((
        "SELECT status FROM merchants WHERE id = $1",
        vec![&merchant_id],
    ));
    stmts.push((
        "SELECT v.number FROM virtual_numbers v WHERE v.merchant_id = $1 AND NOT EXISTS (
             SELECT 1 FROM charges c WHERE c.bound AND c.virtual_number = v.number AND c.payer_phone = $2)
         ORDER BY v.position LIMIT 1",
        vec![&merchant_id, &payer],
    ));
    let mut answers = tx.pipeline(&stmts).into_iter();
    for _ in 0..reads {
        if let Some(Err(e)) = answers.next() {
            return Err(e);
        }
    }
    Ok(created(tx, new, now, compose, answers))
}

/// The rest of [`insert_charge`] after its reads, whose answers are `answers`: this charge's
/// own outcome.
fn created(
    tx: &Tx<'_>,
    new: &NewCharge,
    now: &str,
    compose: Compose<'_>,
    mut answers: impl Iterator<Item = StoreResult<Vec<Row>>>,
) -> StoreResult<(ChargeRecord, bool)> {
    let mut next_row = || -> StoreResult<Option<Row>> {
        Ok(answers
            .next()
            .ok_or_else(|| corrupt("a pipelined read went unanswered"))??
            .into_iter()
            .next())
    };
    let req = &new.request;
    let merchant_id = new.merchant_id.as_str();
    if new.idempotency_key.is_some() {
        if let Some(r) = next_row()? {
            let id: String = r.try_get(0)?;
            let hash: Option<String> = r.try_get(1)?;
            check_idempotent_retry(new, hash.as_deref())?;
            return Ok((charge_by_id(tx, &id)?, false));
        }
    }
    let owner: Option<String> = next_row()?.map(|r| r.try_get(0)).transpose()?;
    if check_charge_id_owner(new, owner.as_deref())? {
        return Ok((charge_by_id(tx, new.id.as_str())?, false));
    }
    if req.account_id.is_some() {
        let closed: Option<bool> = next_row()?.map(|r| r.try_get(0)).transpose()?;
        check_charge_account(closed)?;
    }
    let status: Option<String> = next_row()?.map(|r| r.try_get(0)).transpose()?;
    check_merchant_active(status.as_deref())?;
    let number: Option<String> = next_row()?.map(|r| r.try_get(0)).transpose()?;
    let link_id = match &new.link {
        Some(link) => match super::links::claim(tx, &new.merchant_id, link, parse_now(now)?)? {
            Claim::Create(id) => Some(id),
            Claim::Existing(id) => return Ok((charge_by_id(tx, id.as_str())?, false)),
        },
        None => None,
    };
    let Some(number) = number else {
        return Err(number_pool_exhausted());
    };
    let payer = req.payer_phone.digits();
    let (orderer_name, orderer_phone) = match &req.orderer {
        Some((n, p)) => (Some(n.as_str()), Some(p.digits())),
        None => (None, None),
    };
    let installments = i64::from(req.installments);
    let expires_at = ts(new.expires_at);
    let rec = new.created_record(number, now)?;
    let effects = compose(&rec);
    let writes = EffectWrites::new(merchant_id, Some(new.id.as_str()), &effects, now);
    let rep_id = new.rep_id.as_ref().map(RepId::as_str);
    let api_key_id = new.api_key_id.as_ref().map(ApiKeyId::as_str);
    let (origin, kind, amount) = (new.origin.as_str(), req.kind.as_str(), req.amount.get());
    let charge_id = new.id.as_str();
    let requested = ChargeStatus::Requested.as_str();
    let no_detail: Option<&str> = None;
    let changes = changes_sql("charge")?;
    let logged = vec![charge_id.to_string()];
    let mut stmts: Vec<Stmt<'_>> = vec![
        (
            "INSERT INTO charges (id, merchant_id, rep_id, api_key_id, origin, kind, status, amount, goods_name, payer_phone,
                payer_name, orderer_name, orderer_phone, order_ref, account_id, installments, virtual_number, bound,
                created_at, expires_at, idempotency_key, request_hash, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, TRUE, $17, $18, $19, $20, $17)",
            vec![
                &charge_id,
                &merchant_id,
                &rep_id,
                &api_key_id,
                &origin,
                &kind,
                &amount,
                &req.goods_name,
                &payer,
                &req.payer_name,
                &orderer_name,
                &orderer_phone,
                &req.order_ref,
                &req.account_id,
                &installments,
                &rec.virtual_number,
                &now,
                &expires_at,
                &new.idempotency_key,
                &new.request_hash,
            ],
        ),
        (
            ADD_EVENT,
            vec![&merchant_id, &charge_id, &requested, &now, &no_detail],
        ),
        (&changes, vec![&merchant_id, &"charge", &logged]),
    ];
    let counted = writes.push(&mut stmts);
    let answers = all_ok(tx.pipeline(&stmts))?;
    check_quotas(&answers, &counted)?;
    if let Some(link_id) = &link_id {
        super::links::attach(tx, link_id, &new.id)?;
    }
    Ok((rec, true))
}

/// `now` as the store's text was made from it.
fn parse_now(now: &str) -> StoreResult<DateTime<Utc>> {
    crate::clock::parse_ts(now).ok_or_else(|| crate::store::StoreError::corrupt("now"))
}

impl ChargeStore for PgStore {
    fn create_charges(
        &self,
        batch: &[NewCharge],
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<StoreResult<(ChargeRecord, bool)>>> {
        let now = ts(now);
        let merchants: Vec<&str> = batch.iter().map(|n| n.merchant_id.as_str()).collect();
        self.write(|tx| {
            hold_change_log(tx, &merchants)?;
            let mut out = Vec::with_capacity(batch.len());
            // Each charge in its own savepoint: one that fails leaves no trace and does not
            // disturb the others (a failed statement would otherwise abort the whole
            // transaction); all of them commit (and are answered) together.
            let mut end: &[&str] = &[];
            for new in batch {
                match insert_charge(tx, new, &now, compose, end)? {
                    Ok(done) => {
                        end = KEEP;
                        out.push(Ok(done));
                    }
                    // PostgreSQL could not order this batch with a concurrent one: the whole
                    // batch runs again.
                    Err(e) if is_retryable(&e) => return Err(e),
                    Err(e) => {
                        end = UNDO;
                        out.push(Err(e));
                    }
                }
            }
            let end: Vec<Stmt<'_>> = end.iter().map(|sql| (*sql, Vec::new())).collect();
            all_ok(tx.pipeline(&end))?;
            Ok(out)
        })
    }

    fn charge(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
    ) -> StoreResult<Option<ChargeRecord>> {
        let merchant_id = merchant_id.as_str();
        let charge_id = charge_id.as_str();
        self.read(|tx| {
            load_charge(
                tx,
                "merchant_id = $1 AND id = $2",
                &[&merchant_id, &charge_id],
            )
        })
    }

    fn charge_any(&self, charge_id: &ChargeId) -> StoreResult<Option<ChargeRecord>> {
        let charge_id = charge_id.as_str();
        self.read(|tx| load_charge(tx, "id = $1", &[&charge_id]))
    }

    fn list_charges(&self, merchant_id: &MerchantId, f: &ChargeFilter) -> StoreResult<ChargeList> {
        let limit = f.limit.clamp(1, 200);
        // Ids and times compare byte by byte, as in SQLite, whatever the database's collation.
        let mut sql = format!("SELECT {CHARGE_COLS} FROM charges WHERE merchant_id = $1");
        let mut args: Vec<String> = vec![merchant_id.to_string()];
        let mut add = |clause: &str, v: String| {
            args.push(v);
            sql.push_str(&format!(" AND {clause} ${}", args.len()));
        };
        if let Some(s) = f.status {
            add("status =", s.as_str().into());
        }
        if let Some(a) = &f.account_id {
            add("account_id =", a.to_string());
        }
        if let Some(r) = &f.rep_id {
            add("rep_id =", r.to_string());
        }
        if let Some(p) = &f.payer_phone {
            add("payer_phone =", p.clone());
        }
        if let Some(i) = &f.issuer_code {
            add(
                "(SELECT p.issuer_code FROM payments p WHERE p.charge_id = charges.id) =",
                i.clone(),
            );
        }
        if let Some(t) = &f.created_from {
            add("created_at COLLATE \"C\" >=", t.clone());
        }
        if let Some(t) = &f.created_to {
            add("created_at COLLATE \"C\" <", t.clone());
        }
        if let Some(a) = &f.after {
            add("id COLLATE \"C\" <", a.to_string());
        }
        sql.push_str(&format!(
            " ORDER BY id COLLATE \"C\" DESC LIMIT {}",
            limit + 1
        ));
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        self.read(|tx| {
            let mut rows = tx
                .query(&sql, &params)?
                .iter()
                .map(|r| charge_columns(r, 0))
                .collect::<StoreResult<Vec<_>>>()?;
            let more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let items: Vec<_> = build_charges(tx, rows)?
                .into_iter()
                .map(|r| r.charge)
                .collect();
            let next = if more {
                items.last().map(|c| c.id.clone())
            } else {
                None
            };
            Ok(ChargeList { items, next })
        })
    }

    fn charge_by_binding(
        &self,
        number: &str,
        caller: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChargeRecord>> {
        let now = ts(now);
        self.read(|tx| {
            load_charge(
                tx,
                "bound AND virtual_number = $1 AND payer_phone = $2 AND expires_at > $3",
                &[&number, &caller, &now],
            )
        })
    }

    fn record_status(
        &self,
        charge_id: &ChargeId,
        status: ChargeStatus,
        detail: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let charge_id = charge_id.as_str();
        let now = ts(now);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            check_status_step(&rec)?;
            if matches!(status, ChargeStatus::Declined) {
                tx.execute(
                    "UPDATE charges SET decline_reason = $2 WHERE id = $1",
                    &[&charge_id, &detail],
                )?;
            }
            transition(tx, charge_id, status, detail, &now, compose)
        })
    }

    fn cancel_charge(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
        reason: Option<&str>,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let merchant_id = merchant_id.as_str();
        let charge_id = charge_id.as_str();
        let now = ts(now);
        self.write(|tx| {
            let rec = load_charge(
                tx,
                "merchant_id = $1 AND id = $2",
                &[&merchant_id, &charge_id],
            )?
            .ok_or_else(charge_not_found)?;
            if check_cancel(&rec)? {
                return Ok(rec);
            }
            tx.execute(
                "UPDATE charges SET bound = FALSE WHERE merchant_id = $1 AND id = $2",
                &[&merchant_id, &charge_id],
            )?;
            transition(tx, charge_id, ChargeStatus::Canceled, reason, &now, compose)
        })
    }

    fn begin_approval(
        &self,
        charge_id: &ChargeId,
        limits: &ApprovalLimits,
        owner: &str,
        now_t: DateTime<Utc>,
    ) -> StoreResult<ChargeRecord> {
        let charge_id = charge_id.as_str();
        let now = ts(now_t);
        let window = DeclineWindow::at(now_t);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            let caller_declines: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM charges c
                     JOIN charge_events e ON e.merchant_id = c.merchant_id AND e.charge_id = c.id
                     WHERE c.payer_phone = $1 AND c.created_at > $2 AND e.status = 'declined' AND e.kind = 'status' AND e.at > $3",
                    &[&rec.payer_phone, &window.recent, &window.hour_ago],
                )?
                .try_get(0)?;
            check_begin_approval(&rec, caller_declines, limits)?;
            tx.execute(
                "UPDATE charges SET approving = TRUE, approving_owner = $2 WHERE id = $1",
                &[&charge_id, &owner],
            )?;
            transition(
                tx,
                charge_id,
                ChargeStatus::CardEntered,
                None,
                &now,
                &|_| Effects::default(),
            )
        })
    }

    fn record_approval(
        &self,
        charge_id: &ChargeId,
        p: &NewPayment,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let charge_id = charge_id.as_str();
        let now_s = ts(now);
        let approved_at = ts(p.approved_at);
        let months = i64::from(p.installment_months);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            if rec.charge.payment.is_some() {
                return Ok(rec);
            }
            tx.execute(
                "INSERT INTO payments (charge_id, merchant_id, rep_id, connector, approval_number, issuer_code, issuer_name,
                    acquirer_code, masked_card, installment_months, amount, approved_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &charge_id,
                    &rec.merchant_id.as_str(),
                    &rec.charge.rep_id,
                    &p.connector,
                    &p.approval_number,
                    &p.issuer_code,
                    &p.issuer_name,
                    &p.acquirer_code,
                    &p.masked_card,
                    &months,
                    &p.amount,
                    &approved_at,
                ],
            )?;
            tx.execute(
                "UPDATE charges SET approving = FALSE, approving_owner = NULL, bound = FALSE, receipt_token = $2, decline_reason = NULL
                 WHERE id = $1",
                &[&charge_id, &p.receipt_token],
            )?;
            ledger_for_charge(
                tx,
                &rec,
                LedgerKind::Payment,
                &p.approval_number,
                -p.amount,
                now,
            )?;
            transition(
                tx,
                charge_id,
                ChargeStatus::Approved,
                Some(&p.approval_number),
                &now_s,
                compose,
            )
        })
    }

    fn end_approval(
        &self,
        charge_id: &ChargeId,
        declined: Option<&str>,
        limits: &ApprovalLimits,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let charge_id = charge_id.as_str();
        let now = ts(now);
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            tx.execute(
                "UPDATE charges SET approving = FALSE, approving_owner = NULL WHERE id = $1",
                &[&charge_id],
            )?;
            if rec.charge.payment.is_some() || !rec.charge.status.is_pending() {
                return charge_by_id(tx, charge_id);
            }
            match declined {
                Some(reason) => {
                    let declines: i64 = tx
                        .query_one(
                            "UPDATE charges SET declines = declines + 1 WHERE id = $1 RETURNING declines",
                            &[&charge_id],
                        )?
                        .try_get(0)?;
                    let declines =
                        u32::try_from(declines).map_err(|_| corrupt("charge declines"))?;
                    let d = decline(declines, reason, limits);
                    tx.execute(
                        "UPDATE charges SET decline_reason = $2, bound = bound AND NOT $3 WHERE id = $1",
                        &[&charge_id, &d.reason, &d.spent],
                    )?;
                    transition(
                        tx,
                        charge_id,
                        ChargeStatus::Declined,
                        Some(&d.detail),
                        &now,
                        compose,
                    )
                }
                None => {
                    // Nothing was charged: back to waiting for the payer (the last pre-card step).
                    transition(
                        tx,
                        charge_id,
                        ChargeStatus::Verified,
                        Some("approval_failed"),
                        &now,
                        compose,
                    )
                }
            }
        })
    }

    fn approvals_in_flight(&self) -> StoreResult<Vec<InFlightApproval>> {
        self.read(|tx| {
            let owners: HashMap<String, Option<String>> = tx
                .query(
                    "SELECT id, approving_owner FROM charges WHERE approving",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<StoreResult<_>>()?;
            let mut found: Vec<InFlightApproval> = load_charges(tx, "approving", &[])?
                .into_iter()
                .map(|record| InFlightApproval {
                    owner: owners.get(record.charge.id.as_str()).cloned().flatten(),
                    since: approving_since(&record),
                    record,
                })
                .collect();
            found.sort_by(|a, b| {
                (&a.since, &a.record.charge.id).cmp(&(&b.since, &b.record.charge.id))
            });
            Ok(found)
        })
    }

    fn begin_refund(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
        amount: Option<i64>,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<RefundClaim> {
        let merchant_id = merchant_id.as_str();
        let charge_id = charge_id.as_str();
        let now = ts(now);
        // One serializable transaction reads what remains and claims: of two refunds racing,
        // one commits and the other is retried and sees the first (the unique index of
        // pending refunds stands behind it).
        self.write(|tx| {
            let rec = load_charge(
                tx,
                "merchant_id = $1 AND id = $2",
                &[&merchant_id, &charge_id],
            )?
            .ok_or_else(charge_not_found)?;
            let pending = match tx.query_opt(
                "SELECT n, amount FROM refunds
                 WHERE merchant_id = $1 AND charge_id = $2 AND state = $3",
                &[&merchant_id, &charge_id, &REFUND_PENDING],
            )? {
                Some(r) => {
                    let n: i64 = r.try_get(0)?;
                    Some((
                        u32::try_from(n).map_err(|_| corrupt("refund number"))?,
                        r.try_get::<_, i64>(1)?,
                    ))
                }
                None => None,
            };
            let decision = decide_refund(&rec, pending, amount)?;
            let next: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(n), 0) + 1 FROM refunds WHERE merchant_id = $1 AND charge_id = $2",
                    &[&merchant_id, &charge_id],
                )?
                .try_get(0)?;
            let next_n = u32::try_from(next).map_err(|_| corrupt("refund number"))?;
            if let RefundDecision::New { amount } = decision {
                tx.execute(
                    "INSERT INTO refunds (merchant_id, charge_id, n, amount, reason, state, requested_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&merchant_id, &charge_id, &next, &amount, &reason, &REFUND_PENDING, &now],
                )?;
            }
            Ok(refund_claim(rec, &decision, next_n))
        })
    }

    fn record_refund(
        &self,
        charge_id: &ChargeId,
        n: u32,
        now_t: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<ChargeRecord> {
        let charge_id = charge_id.as_str();
        let now = ts(now_t);
        let n_db = i64::from(n);
        self.write(|tx| {
            let row = tx.query_opt(
                "SELECT f.amount, f.reason, f.state, f.merchant_id FROM refunds f
                 JOIN charges c ON c.merchant_id = f.merchant_id AND c.id = f.charge_id
                 WHERE c.id = $1 AND f.n = $2",
                &[&charge_id, &n_db],
            )?;
            let state: Option<String> = row.as_ref().map(|r| r.try_get(2)).transpose()?;
            if !check_refund_completable(n, state.as_deref())? {
                return charge_by_id(tx, charge_id);
            }
            let row = row.expect("checked above");
            let amount: i64 = row.try_get(0)?;
            let reason: Option<String> = row.try_get(1)?;
            let merchant_id: String = row.try_get(3)?;
            tx.execute(
                "UPDATE refunds SET state = $4, refunded_at = $5
                 WHERE merchant_id = $1 AND charge_id = $2 AND n = $3",
                &[&merchant_id, &charge_id, &n_db, &REFUND_DONE, &now],
            )?;
            let rec = charge_by_id(tx, charge_id)?;
            if let Some(entry) = refund_ledger_entry(&rec, n, amount, now_t) {
                if account_exists(tx, &merchant_id, entry.account_id.as_str())? {
                    insert_ledger(tx, &merchant_id, &entry)?;
                }
            }
            let payment = refunded_payment(&rec)?;
            if payment.refundable() == 0 {
                tx.execute(
                    "UPDATE payments SET refunded_at = $3, refund_reason = $4
                     WHERE merchant_id = $1 AND charge_id = $2",
                    &[&merchant_id, &charge_id, &now, &reason],
                )?;
                return transition(
                    tx,
                    charge_id,
                    ChargeStatus::Refunded,
                    reason.as_deref(),
                    &now,
                    compose,
                );
            }
            // A partial refund: the charge stays approved, with its refunded total.
            tx.execute(
                "UPDATE charges SET updated_at = $3 WHERE merchant_id = $1 AND id = $2",
                &[&merchant_id, &charge_id, &now],
            )?;
            changed(tx, &merchant_id, "charge", charge_id)?;
            apply_effects(tx, &merchant_id, Some(charge_id), &compose(&rec), &now)?;
            Ok(rec)
        })
    }

    fn fail_refund(&self, charge_id: &ChargeId, n: u32, _now: DateTime<Utc>) -> StoreResult<()> {
        let charge_id = charge_id.as_str();
        let n = i64::from(n);
        self.write(|tx| {
            tx.execute(
                "UPDATE refunds SET state = $3 WHERE charge_id = $1 AND n = $2 AND state = $4
                   AND merchant_id = (SELECT merchant_id FROM charges WHERE id = $1)",
                &[&charge_id, &n, &REFUND_FAILED, &REFUND_PENDING],
            )?;
            Ok(())
        })
    }

    fn pending_refunds(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PendingRefund>> {
        let before = ts(before);
        let limit = i64::from(limit);
        self.read(|tx| {
            let rows = tx.query(
                "SELECT merchant_id, charge_id, n, amount, reason FROM refunds
                 WHERE state = $1 AND requested_at < $2 ORDER BY requested_at LIMIT $3",
                &[&REFUND_PENDING, &before, &limit],
            )?;
            rows.iter()
                .map(|r| {
                    let n: i64 = r.try_get(2)?;
                    Ok(PendingRefund {
                        merchant_id: MerchantId::new(r.try_get::<_, String>(0)?),
                        charge_id: ChargeId::new(r.try_get::<_, String>(1)?),
                        n: u32::try_from(n).map_err(|_| StoreError::corrupt("refund number"))?,
                        amount: r.try_get(3)?,
                        reason: r.try_get(4)?,
                    })
                })
                .collect()
        })
    }

    fn expire_due(
        &self,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<ChargeRecord>> {
        let now = ts(now);
        // Most passes find nothing: look in a read-only snapshot first.
        let due: bool = self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM charges WHERE bound AND NOT approving AND expires_at <= $1)",
                    &[&now],
                )?
                .try_get(0)?)
        })?;
        if !due {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let ids: Vec<String> = tx
                .query(
                    "SELECT id FROM charges WHERE bound AND NOT approving AND expires_at <= $1
                     ORDER BY expires_at, id LIMIT 500",
                    &[&now],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute("UPDATE charges SET bound = FALSE WHERE id = $1", &[&id])?;
                out.push(transition(
                    tx,
                    &id,
                    ChargeStatus::Expired,
                    None,
                    &now,
                    compose,
                )?);
            }
            Ok(out)
        })
    }

    fn receipt(&self, token: &str) -> StoreResult<Option<ChargeRecord>> {
        self.read(|tx| load_charge(tx, "receipt_token = $1", &[&token]))
    }

    fn save_registered_card(
        &self,
        merchant_id: &MerchantId,
        card: &RegisteredCard,
    ) -> StoreResult<()> {
        let merchant_id = merchant_id.as_str();
        let created_at = ts(Utc::now());
        let id = new_id("rc");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO registered_cards (id, merchant_id, payer_phone, token, issuer_code, issuer_name, last4, masked_card, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (merchant_id, payer_phone) DO UPDATE SET token = EXCLUDED.token, issuer_code = EXCLUDED.issuer_code,
                    issuer_name = EXCLUDED.issuer_name, last4 = EXCLUDED.last4, masked_card = EXCLUDED.masked_card",
                &[
                    &id,
                    &merchant_id,
                    &card.payer_phone,
                    &card.token.expose(),
                    &card.issuer_code,
                    &card.issuer_name,
                    &card.last4,
                    &card.masked_card,
                    &created_at,
                ],
            )?;
            Ok(())
        })
    }

    fn registered_card(
        &self,
        merchant_id: &MerchantId,
        payer_phone: &str,
    ) -> StoreResult<Option<RegisteredCard>> {
        let merchant_id = merchant_id.as_str();
        self.read(|tx| {
            tx.query_opt(
                "SELECT payer_phone, token, issuer_code, issuer_name, last4, masked_card FROM registered_cards
                 WHERE merchant_id = $1 AND payer_phone = $2",
                &[&merchant_id, &payer_phone],
            )?
            .map(|r| {
                Ok(RegisteredCard {
                    payer_phone: r.try_get(0)?,
                    token: Secret::new(r.try_get::<_, String>(1)?),
                    issuer_code: r.try_get(2)?,
                    issuer_name: r.try_get(3)?,
                    last4: r.try_get(4)?,
                    masked_card: r.try_get(5)?,
                })
            })
            .transpose()
        })
    }

    fn save_call(&self, call: &CallSessionRecord, now: DateTime<Utc>) -> StoreResult<()> {
        let now = ts(now);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO call_sessions (call_id, adapter, merchant_id, charge_id, dialled, caller, checkpoint, trace, outcome, started_at, updated_at, ended_at, owner, owner_url)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (call_id) DO UPDATE SET merchant_id = EXCLUDED.merchant_id, charge_id = EXCLUDED.charge_id,
                    checkpoint = EXCLUDED.checkpoint, trace = EXCLUDED.trace, outcome = EXCLUDED.outcome,
                    updated_at = EXCLUDED.updated_at, ended_at = EXCLUDED.ended_at,
                    owner = EXCLUDED.owner, owner_url = EXCLUDED.owner_url",
                &[
                    &call.call_id,
                    &call.adapter,
                    &call.merchant_id.as_ref().map(MerchantId::as_str),
                    &call.charge_id.as_ref().map(ChargeId::as_str),
                    &call.dialled,
                    &call.caller,
                    &call.checkpoint,
                    &call.trace,
                    &call.outcome,
                    &call.started_at,
                    &now,
                    &call.ended_at,
                    &call.owner,
                    &call.owner_url,
                ],
            )?;
            Ok(())
        })
    }

    fn call(&self, call_id: &str) -> StoreResult<Option<CallSessionRecord>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT call_id, adapter, merchant_id, charge_id, dialled, caller, checkpoint, trace, outcome, started_at, ended_at, owner, owner_url
                 FROM call_sessions WHERE call_id = $1",
                &[&call_id],
            )?
            .map(|r| {
                Ok(CallSessionRecord {
                    call_id: r.try_get(0)?,
                    adapter: r.try_get(1)?,
                    merchant_id: opt_id_at(&r, 2)?,
                    charge_id: opt_id_at(&r, 3)?,
                    dialled: r.try_get(4)?,
                    caller: r.try_get(5)?,
                    checkpoint: r.try_get(6)?,
                    trace: r.try_get(7)?,
                    outcome: r.try_get(8)?,
                    started_at: r.try_get(9)?,
                    ended_at: r.try_get(10)?,
                    owner: r.try_get(11)?,
                    owner_url: r.try_get(12)?,
                })
            })
            .transpose()
        })
    }
}
