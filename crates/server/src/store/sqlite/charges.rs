//! [`ChargeStore`] on SQLite: charges with their binding, events and payment; registered
//! cards; call sessions.

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::{ChargeList, ChargeStatus, PaymentInfo, RefundInfo};
use fieldpay_protocol::records::LedgerKind;
use fieldpay_protocol::{ApiKeyId, ChargeId, MerchantId, RepId, Secret};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::records::{account_exists, insert_ledger};
use super::{apply_effects, changed, opt_id_at, queue_effects, GroupQuotas, SqliteStore};
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
    NewCharge, NewPayment, PendingRefund, RefundClaim, RegisteredCard, StoreResult,
};

const CHARGE_COLS: &str = "id, merchant_id, rep_id, origin, kind, status, amount, goods_name, payer_phone, payer_name, orderer_name, orderer_phone, order_ref, account_id, installments, virtual_number, bound, created_at, expires_at, decline_reason, receipt_token, approving";

fn charge_row(r: &Row<'_>) -> rusqlite::Result<ChargeColumns> {
    Ok(ChargeColumns {
        id: r.get(0)?,
        merchant_id: r.get(1)?,
        rep_id: r.get(2)?,
        origin: r.get(3)?,
        kind: r.get(4)?,
        status: r.get(5)?,
        amount: r.get(6)?,
        goods_name: r.get(7)?,
        payer_phone: r.get(8)?,
        payer_name: r.get(9)?,
        orderer_name: r.get(10)?,
        orderer_phone: r.get(11)?,
        order_ref: r.get(12)?,
        account_id: r.get(13)?,
        installments: r.get(14)?,
        virtual_number: r.get(15)?,
        bound: r.get(16)?,
        created_at: r.get(17)?,
        expires_at: r.get(18)?,
        decline_reason: r.get(19)?,
        receipt_token: r.get(20)?,
        approving: r.get(21)?,
    })
}

fn payment_info(c: &Connection, charge_id: &str) -> StoreResult<Option<(PaymentInfo, String)>> {
    c.prepare_cached(
        "SELECT approval_number, issuer_code, issuer_name, masked_card, installment_months, amount,
                approved_at, refunded_at, acquirer_code
         FROM payments WHERE charge_id = ?1",
    )?
    .query_row([charge_id], |r| {
        Ok((
            PaymentInfo {
                approval_number: r.get(0)?,
                issuer_code: r.get(1)?,
                issuer_name: r.get(2)?,
                masked_card: r.get(3)?,
                installment_months: r.get(4)?,
                amount: r.get(5)?,
                approved_at: r.get(6)?,
                refunded_at: r.get(7)?,
                receipt_url: None,
                refunded_amount: 0,
                refunds: Vec::new(),
            },
            r.get(8)?,
        ))
    })
    .optional()?
    .map(|(mut p, acquirer)| -> StoreResult<_> {
        with_refunds(&mut p, done_refunds(c, charge_id)?);
        Ok((p, acquirer))
    })
    .transpose()
}

/// The completed refunds of a charge's payment, oldest first.
fn done_refunds(c: &Connection, charge_id: &str) -> StoreResult<Vec<RefundInfo>> {
    let mut stmt = c.prepare_cached(
        "SELECT n, amount, refunded_at, reason FROM refunds
         WHERE charge_id = ?1 AND state = 'done' ORDER BY n",
    )?;
    let rows = stmt
        .query_map([charge_id], |r| {
            Ok(RefundInfo {
                n: r.get(0)?,
                amount: r.get(1)?,
                refunded_at: r.get(2)?,
                reason: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn build_charge(c: &Connection, row: ChargeColumns) -> StoreResult<ChargeRecord> {
    let mut stmt = c.prepare_cached(
        "SELECT status, at, detail, kind FROM charge_events WHERE charge_id = ?1 ORDER BY id",
    )?;
    let events = stmt
        .query_map([&row.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .map(|e| {
            let (s, at, detail, kind) = e?;
            charge_event(&s, at, detail, &kind)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let payment = payment_info(c, &row.id)?;
    row.into_record(events, payment)
}

pub(super) fn load_charge(
    c: &Connection,
    where_sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> StoreResult<Option<ChargeRecord>> {
    let row = c
        .prepare_cached(&format!(
            "SELECT {CHARGE_COLS} FROM charges WHERE {where_sql}"
        ))?
        .query_row(args, charge_row)
        .optional()?;
    row.map(|r| build_charge(c, r)).transpose()
}

pub(super) fn charge_by_id(c: &Connection, id: &str) -> StoreResult<ChargeRecord> {
    load_charge(c, "id = ?1", &[&id])?.ok_or_else(charge_not_found)
}

pub(super) fn add_event(
    tx: &Transaction<'_>,
    charge_id: &str,
    status: ChargeStatus,
    detail: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO charge_events (charge_id, status, at, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![charge_id, status.as_str(), now, detail])?;
    Ok(())
}

/// The receivables entry of a charge that pays (or refunds) a client account's debt, when the
/// charge names an account of its merchant.
fn ledger_for_charge(
    tx: &Transaction<'_>,
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
    tx: &Transaction<'_>,
    charge_id: &str,
    status: ChargeStatus,
    detail: Option<&str>,
    now: &str,
    compose: Compose<'_>,
) -> StoreResult<ChargeRecord> {
    tx.prepare_cached("UPDATE charges SET status = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![charge_id, status.as_str(), now])?;
    add_event(tx, charge_id, status, detail, now)?;
    let rec = charge_by_id(tx, charge_id)?;
    changed(tx, rec.merchant_id.as_str(), "charge", charge_id)?;
    apply_effects(
        tx,
        rec.merchant_id.as_str(),
        Some(charge_id),
        &compose(&rec),
        now,
    )?;
    Ok(rec)
}

/// Creates one charge inside `tx` (see [`Store::create_charge`]). Everything that may refuse
/// it is checked before its first write, so a refused charge needs no undoing (the lean pass
/// of [`create_group`] counts on this; it checks it too).
fn insert_charge(
    tx: &Transaction<'_>,
    new: &NewCharge,
    now: &str,
    compose: Compose<'_>,
    quotas: &mut GroupQuotas,
) -> StoreResult<(ChargeRecord, bool)> {
    let req = &new.request;

    if let Some(key) = &new.idempotency_key {
        // The key is the caller's own (an API key's or a rep's), as the unique index says.
        let caller = idempotency_caller(new);
        let prior: Option<(String, Option<String>)> = tx
            .prepare_cached(
                "SELECT id, request_hash FROM charges WHERE merchant_id = ?1
                   AND COALESCE(api_key_id, rep_id, '') = ?2 AND idempotency_key = ?3",
            )?
            .query_row(params![new.merchant_id.as_str(), caller, key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if let Some((id, hash)) = prior {
            check_idempotent_retry(new, hash.as_deref())?;
            return Ok((charge_by_id(tx, &id)?, false));
        }
    }
    let owner: Option<String> = tx
        .prepare_cached("SELECT merchant_id FROM charges WHERE id = ?1")?
        .query_row([new.id.as_str()], |r| r.get(0))
        .optional()?;
    if check_charge_id_owner(new, owner.as_deref())? {
        return Ok((charge_by_id(tx, new.id.as_str())?, false));
    }
    if let Some(acc) = &req.account_id {
        let closed: Option<bool> = tx
            .prepare_cached("SELECT closed FROM accounts WHERE merchant_id = ?1 AND id = ?2")?
            .query_row(params![new.merchant_id.as_str(), acc], |r| r.get(0))
            .optional()?;
        check_charge_account(closed)?;
    }
    let status: Option<String> = tx
        .prepare_cached("SELECT status FROM merchants WHERE id = ?1")?
        .query_row([new.merchant_id.as_str()], |r| r.get(0))
        .optional()?;
    check_merchant_active(status.as_deref())?;
    let link_id = match &new.link {
        Some(link) => match super::links::claim(tx, &new.merchant_id, link, parse_now(now)?)? {
            Claim::Create(id) => Some(id),
            Claim::Existing(id) => return Ok((charge_by_id(tx, id.as_str())?, false)),
        },
        None => None,
    };
    let payer = req.payer_phone.digits();
    let number: Option<String> = tx
                .prepare_cached(
                    "SELECT v.number FROM virtual_numbers v WHERE v.merchant_id = ?1 AND NOT EXISTS (
                        SELECT 1 FROM charges c WHERE c.bound = 1 AND c.virtual_number = v.number AND c.payer_phone = ?2)
                     ORDER BY v.position LIMIT 1",
                )?
                .query_row(
                    params![new.merchant_id.as_str(), payer],
                    |r| r.get(0),
                )
                .optional()?;
    let Some(number) = number else {
        return Err(number_pool_exhausted());
    };
    // Everything that may refuse the charge comes before its writes (the texts' quotas last:
    // a refused take writes nothing), so a refusal leaves nothing to undo.
    let rec = new.created_record(number.clone(), now)?;
    let effects = compose(&rec);
    quotas.take(tx, new.merchant_id.as_str(), &effects, now)?;
    let (orderer_name, orderer_phone) = match &req.orderer {
        Some((n, p)) => (Some(n.as_str()), Some(p.digits())),
        None => (None, None),
    };
    tx.prepare_cached(
                "INSERT INTO charges (id, merchant_id, rep_id, api_key_id, origin, kind, status, amount, goods_name, payer_phone,
                    payer_name, orderer_name, orderer_phone, order_ref, account_id, installments, virtual_number, bound,
                    created_at, expires_at, idempotency_key, request_hash, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'requested', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1, ?17, ?18, ?19, ?20, ?17)",
            )?
            .execute(params![
                    new.id.as_str(), new.merchant_id.as_str(), new.rep_id.as_ref().map(RepId::as_str),
                    new.api_key_id.as_ref().map(ApiKeyId::as_str), new.origin.as_str(), req.kind.as_str(), req.amount.get(),
                    req.goods_name, payer, req.payer_name, orderer_name, orderer_phone, req.order_ref,
                    req.account_id.as_deref(),
                    req.installments, number, now, ts(new.expires_at), new.idempotency_key, new.request_hash
                ])?;
    if let Some(link_id) = &link_id {
        super::links::attach(tx, link_id, &new.id)?;
    }
    add_event(tx, new.id.as_str(), ChargeStatus::Requested, None, now)?;
    changed(tx, new.merchant_id.as_str(), "charge", new.id.as_str())?;
    queue_effects(
        tx,
        new.merchant_id.as_str(),
        Some(new.id.as_str()),
        &effects,
        now,
    )?;
    Ok((rec, true))
}

/// `now` as the store's text was made from it.
fn parse_now(now: &str) -> StoreResult<DateTime<Utc>> {
    crate::clock::parse_ts(now).ok_or_else(|| crate::store::StoreError::corrupt("now"))
}

/// The answer for one charge of a group: the charge and whether this call made it.
type Created = StoreResult<(ChargeRecord, bool)>;

/// How [`create_group`] keeps a refused charge from leaving anything behind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// No savepoints: a charge is refused before its first write (see [`insert_charge`]), so
    /// nothing needs undoing; a charge that fails after writing gives the group up instead.
    Lean,
    /// Each charge in a savepoint of its own, rolled back when it fails.
    Savepoints,
}

/// Creates a group of charges in `tx`, each all or nothing and answered on its own. None: the
/// lean pass met a charge that failed after writing part of itself; the caller rolls the
/// transaction back and creates the group again with [`Guard::Savepoints`].
///
/// The lean pass is the usual one. A savepoint per charge copied every page the charge
/// touched into the statement journal, a fifth of the writer's work at 6,000 charges a second
/// (BENCHMARKS.md, round two, part 6); the guarded pass runs only after a late failure (a
/// payment link refused after it was stored, a database constraint). The merchants' hourly
/// text counts are kept in memory for the group and written at its end ([`GroupQuotas`]).
fn create_group(
    tx: &Transaction<'_>,
    batch: &[NewCharge],
    now: &str,
    compose: Compose<'_>,
    guard: Guard,
) -> StoreResult<Option<Vec<Created>>> {
    let mut out = Vec::with_capacity(batch.len());
    let mut quotas = GroupQuotas::default();
    for new in batch {
        quotas.begin_charge();
        if guard == Guard::Lean {
            let before = tx.total_changes();
            match insert_charge(tx, new, now, compose, &mut quotas) {
                Ok(done) => out.push(Ok(done)),
                // SQLite rolled the whole transaction back (I/O error, disk full): nothing of
                // the batch is kept, every request gets the error.
                Err(e) if tx.is_autocommit() => return Err(e),
                Err(e) if tx.total_changes() == before => {
                    quotas.undo_charge();
                    out.push(Err(e));
                }
                Err(_) => return Ok(None),
            }
            continue;
        }
        tx.prepare_cached("SAVEPOINT one_charge")?.execute([])?;
        match insert_charge(tx, new, now, compose, &mut quotas) {
            Ok(done) => {
                tx.prepare_cached("RELEASE one_charge")?.execute([])?;
                out.push(Ok(done));
            }
            Err(e) if tx.is_autocommit() => return Err(e),
            Err(e) => {
                tx.execute_batch("ROLLBACK TO one_charge; RELEASE one_charge")?;
                quotas.undo_charge();
                out.push(Err(e));
            }
        }
    }
    quotas.write(tx)?;
    Ok(Some(out))
}

impl ChargeStore for SqliteStore {
    fn create_charges(
        &self,
        batch: &[NewCharge],
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<StoreResult<(ChargeRecord, bool)>>> {
        let now = ts(now);
        self.write_or_redo(
            |tx| create_group(tx, batch, &now, compose, Guard::Lean),
            |tx| {
                create_group(tx, batch, &now, compose, Guard::Savepoints)?
                    .ok_or_else(|| super::corrupt("a guarded charge group gave up"))
            },
        )
    }

    fn charge(
        &self,
        merchant_id: &MerchantId,
        charge_id: &ChargeId,
    ) -> StoreResult<Option<ChargeRecord>> {
        let merchant_id = merchant_id.as_str();
        let charge_id = charge_id.as_str();
        self.read(|c| {
            load_charge(
                c,
                "merchant_id = ?1 AND id = ?2",
                &[&merchant_id, &charge_id],
            )
        })
    }

    fn charge_any(&self, charge_id: &ChargeId) -> StoreResult<Option<ChargeRecord>> {
        let charge_id = charge_id.as_str();
        self.read(|c| load_charge(c, "id = ?1", &[&charge_id]))
    }

    fn list_charges(&self, merchant_id: &MerchantId, f: &ChargeFilter) -> StoreResult<ChargeList> {
        let merchant_id = merchant_id.as_str();
        let limit = f.limit.clamp(1, 200);
        self.read(|c| {
            let mut sql = format!("SELECT {CHARGE_COLS} FROM charges WHERE merchant_id = ?1");
            let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(merchant_id.to_string())];
            let mut add = |clause: &str, v: String| {
                args.push(Box::new(v));
                sql.push_str(&format!(" AND {clause} ?{}", args.len()));
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
                add("created_at >=", t.clone());
            }
            if let Some(t) = &f.created_to {
                add("created_at <", t.clone());
            }
            if let Some(a) = &f.after {
                add("id <", a.to_string());
            }
            sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit + 1));
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(
                    rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())),
                    charge_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let more = rows.len() > limit as usize;
            let mut items = Vec::with_capacity(rows.len());
            for r in rows.into_iter().take(limit as usize) {
                items.push(build_charge(c, r)?.charge);
            }
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
        self.read(|c| {
            load_charge(
                c,
                "bound = 1 AND virtual_number = ?1 AND payer_phone = ?2 AND expires_at > ?3",
                &[&number, &caller, &ts(now)],
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
                    "UPDATE charges SET decline_reason = ?2 WHERE id = ?1",
                    params![charge_id, detail],
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
                "merchant_id = ?1 AND id = ?2",
                &[&merchant_id, &charge_id],
            )?
            .ok_or_else(charge_not_found)?;
            if check_cancel(&rec)? {
                return Ok(rec);
            }
            tx.execute("UPDATE charges SET bound = 0 WHERE id = ?1", [charge_id])?;
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
                .prepare_cached(
                    "SELECT COUNT(*) FROM charges c JOIN charge_events e ON e.charge_id = c.id
                     WHERE c.payer_phone = ?1 AND c.created_at > ?2 AND e.status = 'declined' AND e.kind = 'status' AND e.at > ?3",
                )?
                .query_row(params![rec.payer_phone, window.recent, window.hour_ago], |r| r.get(0))?;
            check_begin_approval(&rec, caller_declines, limits)?;
            tx.execute(
                "UPDATE charges SET approving = 1, approving_owner = ?2 WHERE id = ?1",
                params![charge_id, owner],
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
        self.write(|tx| {
            let rec = charge_by_id(tx, charge_id)?;
            if rec.charge.payment.is_some() {
                return Ok(rec);
            }
            tx.execute(
                "INSERT INTO payments (charge_id, merchant_id, rep_id, connector, approval_number, issuer_code, issuer_name,
                    acquirer_code, masked_card, installment_months, amount, approved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    charge_id, rec.merchant_id.as_str(), rec.charge.rep_id, p.connector, p.approval_number, p.issuer_code, p.issuer_name,
                    p.acquirer_code, p.masked_card, p.installment_months, p.amount, ts(p.approved_at)
                ],
            )?;
            tx.execute(
                "UPDATE charges SET approving = 0, approving_owner = NULL, bound = 0, receipt_token = ?2, decline_reason = NULL WHERE id = ?1",
                params![charge_id, p.receipt_token],
            )?;
            ledger_for_charge(tx, &rec, LedgerKind::Payment, &p.approval_number, -p.amount, now)?;
            transition(tx, charge_id, ChargeStatus::Approved, Some(&p.approval_number), &now_s, compose)
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
                "UPDATE charges SET approving = 0, approving_owner = NULL WHERE id = ?1",
                [charge_id],
            )?;
            if rec.charge.payment.is_some() || !rec.charge.status.is_pending() {
                return charge_by_id(tx, charge_id);
            }
            match declined {
                Some(reason) => {
                    let declines: u32 = tx.query_row(
                        "UPDATE charges SET declines = declines + 1 WHERE id = ?1 RETURNING declines",
                        [charge_id],
                        |r| r.get(0),
                    )?;
                    let d = decline(declines, reason, limits);
                    tx.execute(
                        "UPDATE charges SET decline_reason = ?2,
                            bound = CASE WHEN ?3 THEN 0 ELSE bound END WHERE id = ?1",
                        params![charge_id, d.reason, d.spent],
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
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {CHARGE_COLS}, approving_owner FROM charges WHERE approving = 1
                 ORDER BY updated_at, id"
            ))?;
            let n = CHARGE_COLS.split(", ").count();
            let rows = stmt
                .query_map([], |r| Ok((charge_row(r)?, r.get::<_, Option<String>>(n)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(row, owner)| {
                    let record = build_charge(c, row)?;
                    let since = approving_since(&record);
                    Ok(InFlightApproval {
                        record,
                        owner,
                        since,
                    })
                })
                .collect()
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
        // On the writer: the claim and the check of what remains are one transaction, so two
        // refunds racing are decided one after the other.
        self.write(|tx| {
            let rec = load_charge(
                tx,
                "merchant_id = ?1 AND id = ?2",
                &[&merchant_id, &charge_id],
            )?
            .ok_or_else(charge_not_found)?;
            let pending: Option<(u32, i64)> = tx
                .prepare_cached(
                    "SELECT n, amount FROM refunds WHERE charge_id = ?1 AND state = ?2",
                )?
                .query_row(params![charge_id, REFUND_PENDING], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let decision = decide_refund(&rec, pending, amount)?;
            let next_n: u32 = tx
                .prepare_cached("SELECT COALESCE(MAX(n), 0) + 1 FROM refunds WHERE charge_id = ?1")?
                .query_row([charge_id], |r| r.get(0))?;
            if let RefundDecision::New { amount } = decision {
                tx.prepare_cached(
                    "INSERT INTO refunds (charge_id, n, merchant_id, amount, reason, state, requested_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    charge_id,
                    next_n,
                    merchant_id,
                    amount,
                    reason,
                    REFUND_PENDING,
                    now
                ])?;
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
        self.write(|tx| {
            let row: Option<(i64, Option<String>, String)> = tx
                .prepare_cached(
                    "SELECT amount, reason, state FROM refunds WHERE charge_id = ?1 AND n = ?2",
                )?
                .query_row(params![charge_id, n], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let state = row.as_ref().map(|(_, _, s)| s.as_str());
            if !check_refund_completable(n, state)? {
                return charge_by_id(tx, charge_id);
            }
            let (amount, reason, _) = row.expect("checked above");
            tx.prepare_cached(
                "UPDATE refunds SET state = ?3, refunded_at = ?4 WHERE charge_id = ?1 AND n = ?2",
            )?
            .execute(params![charge_id, n, REFUND_DONE, now])?;
            let rec = charge_by_id(tx, charge_id)?;
            if let Some(entry) = refund_ledger_entry(&rec, n, amount, now_t) {
                if account_exists(tx, rec.merchant_id.as_str(), entry.account_id.as_str())? {
                    insert_ledger(tx, rec.merchant_id.as_str(), &entry)?;
                }
            }
            let payment = refunded_payment(&rec)?;
            if payment.refundable() == 0 {
                tx.execute(
                    "UPDATE payments SET refunded_at = ?2, refund_reason = ?3 WHERE charge_id = ?1",
                    params![charge_id, now, reason],
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
            tx.prepare_cached("UPDATE charges SET updated_at = ?2 WHERE id = ?1")?
                .execute(params![charge_id, now])?;
            changed(tx, rec.merchant_id.as_str(), "charge", charge_id)?;
            apply_effects(
                tx,
                rec.merchant_id.as_str(),
                Some(charge_id),
                &compose(&rec),
                &now,
            )?;
            Ok(rec)
        })
    }

    fn fail_refund(&self, charge_id: &ChargeId, n: u32, _now: DateTime<Utc>) -> StoreResult<()> {
        let charge_id = charge_id.as_str();
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE refunds SET state = ?3 WHERE charge_id = ?1 AND n = ?2 AND state = ?4",
            )?
            .execute(params![charge_id, n, REFUND_FAILED, REFUND_PENDING])?;
            Ok(())
        })
    }

    fn pending_refunds(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PendingRefund>> {
        let before = ts(before);
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT merchant_id, charge_id, n, amount, reason FROM refunds
                     WHERE state = ?1 AND requested_at < ?2 ORDER BY requested_at LIMIT ?3",
                )?
                .query_map(params![REFUND_PENDING, before, limit], |r| {
                    Ok(PendingRefund {
                        merchant_id: MerchantId::new(r.get::<_, String>(0)?),
                        charge_id: ChargeId::new(r.get::<_, String>(1)?),
                        n: r.get(2)?,
                        amount: r.get(3)?,
                        reason: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn expire_due(
        &self,
        now: DateTime<Utc>,
        compose: Compose<'_>,
    ) -> StoreResult<Vec<ChargeRecord>> {
        let now = ts(now);
        // Most passes find nothing: look on a reader first, without taking the writer.
        let due: bool = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM charges WHERE bound = 1 AND approving = 0 AND expires_at <= ?1)",
            )?
            .query_row([&now], |r| r.get(0))?)
        })?;
        if !due {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let ids: Vec<String> = {
                let mut stmt = tx.prepare("SELECT id FROM charges WHERE bound = 1 AND approving = 0 AND expires_at <= ?1 LIMIT 500")?;
                let rows = stmt.query_map([&now], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                rows
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute("UPDATE charges SET bound = 0 WHERE id = ?1", [&id])?;
                out.push(transition(tx, &id, ChargeStatus::Expired, None, &now, compose)?);
            }
            Ok(out)
        })
    }

    fn receipt(&self, token: &str) -> StoreResult<Option<ChargeRecord>> {
        self.read(|c| load_charge(c, "receipt_token = ?1", &[&token]))
    }

    fn save_registered_card(
        &self,
        merchant_id: &MerchantId,
        card: &RegisteredCard,
    ) -> StoreResult<()> {
        let merchant_id = merchant_id.as_str();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO registered_cards (id, merchant_id, payer_phone, token, issuer_code, issuer_name, last4, masked_card, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (merchant_id, payer_phone) DO UPDATE SET token = excluded.token, issuer_code = excluded.issuer_code,
                    issuer_name = excluded.issuer_name, last4 = excluded.last4, masked_card = excluded.masked_card",
                params![new_id("rc"), merchant_id, card.payer_phone, card.token.expose(), card.issuer_code, card.issuer_name, card.last4, card.masked_card, ts(Utc::now())],
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
        self.read(|c| {
            Ok(c.query_row(
                "SELECT payer_phone, token, issuer_code, issuer_name, last4, masked_card FROM registered_cards
                 WHERE merchant_id = ?1 AND payer_phone = ?2",
                params![merchant_id, payer_phone],
                |r| {
                    Ok(RegisteredCard {
                        payer_phone: r.get(0)?,
                        token: Secret::new(r.get::<_, String>(1)?),
                        issuer_code: r.get(2)?,
                        issuer_name: r.get(3)?,
                        last4: r.get(4)?,
                        masked_card: r.get(5)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn save_call(&self, call: &CallSessionRecord, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO call_sessions (call_id, adapter, merchant_id, charge_id, dialled, caller, checkpoint, trace, outcome, started_at, updated_at, ended_at, owner, owner_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (call_id) DO UPDATE SET merchant_id = excluded.merchant_id, charge_id = excluded.charge_id,
                    checkpoint = excluded.checkpoint, trace = excluded.trace, outcome = excluded.outcome,
                    updated_at = excluded.updated_at, ended_at = excluded.ended_at,
                    owner = excluded.owner, owner_url = excluded.owner_url",
                params![
                    call.call_id, call.adapter, call.merchant_id.as_ref().map(MerchantId::as_str),
                    call.charge_id.as_ref().map(ChargeId::as_str), call.dialled, call.caller, call.checkpoint,
                    call.trace, call.outcome, call.started_at, ts(now), call.ended_at, call.owner, call.owner_url
                ],
            )?;
            Ok(())
        })
    }

    fn call(&self, call_id: &str) -> StoreResult<Option<CallSessionRecord>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT call_id, adapter, merchant_id, charge_id, dialled, caller, checkpoint, trace, outcome, started_at, ended_at, owner, owner_url
                 FROM call_sessions WHERE call_id = ?1",
                [call_id],
                |r| {
                    Ok(CallSessionRecord {
                        call_id: r.get(0)?,
                        adapter: r.get(1)?,
                        merchant_id: opt_id_at(r, 2)?,
                        charge_id: opt_id_at(r, 3)?,
                        dialled: r.get(4)?,
                        caller: r.get(5)?,
                        checkpoint: r.get(6)?,
                        trace: r.get(7)?,
                        outcome: r.get(8)?,
                        started_at: r.get(9)?,
                        ended_at: r.get(10)?,
                        owner: r.get(11)?,
                        owner_url: r.get(12)?,
                    })
                },
            )
            .optional()?)
        })
    }
}
