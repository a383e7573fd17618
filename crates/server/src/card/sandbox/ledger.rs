//! The sandbox network's own ledger: its SQLite schema, and the transactions that approve,
//! cancel and register against it. Runs on the database thread; what reaches it is already
//! free of card data (a [`CheckedCard`] or a registered-card token).

use chrono::{DateTime, Utc};
use fieldpay_protocol::Secret;
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::Serialize;
use zeroize::Zeroizing;

use super::super::testcards::TestOutcome;
use super::super::{
    Approval, CardCompany, ConnectorError, DeclineCode, RegisteredCardToken, TxnState,
};
use super::rules::{declined, CheckedCard};
use crate::ids::random_token;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sandbox_txn (
    id                 INTEGER PRIMARY KEY,
    key                TEXT NOT NULL UNIQUE,
    merchant_id        TEXT NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    installment_months INTEGER NOT NULL,
    issuer_code        TEXT NOT NULL,
    acquirer_code      TEXT NOT NULL,
    masked_card        TEXT NOT NULL,
    card_last4         TEXT NOT NULL,
    approval_number    TEXT NOT NULL UNIQUE,
    state              TEXT NOT NULL CHECK (state IN ('approved', 'canceled')),
    approved_at_ms     INTEGER NOT NULL,
    canceled_at_ms     INTEGER,
    cancel_reason      TEXT,
    auto_pay           INTEGER NOT NULL DEFAULT 0
);
-- Cancels, whole or partial, once per idempotency key: the amount canceled and the
-- transaction's canceled total after it. Added after the first ledgers were made: the
-- IF NOT EXISTS adds it to an existing file; a transaction canceled before it has no row here.
CREATE TABLE IF NOT EXISTS sandbox_cancel (
    idempotency_key  TEXT PRIMARY KEY,
    key              TEXT NOT NULL REFERENCES sandbox_txn(key),
    requested_amount INTEGER,
    amount           INTEGER NOT NULL CHECK (amount > 0),
    canceled_total   INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    canceled_at_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_cancel_key ON sandbox_cancel (key);
CREATE TABLE IF NOT EXISTS sandbox_registration (
    token         TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL,
    issuer_code   TEXT NOT NULL,
    masked_card   TEXT NOT NULL,
    card_last4    TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
";

const TXN_COLUMNS: &str = "key, merchant_id, amount, installment_months, issuer_code, \
     acquirer_code, masked_card, card_last4, approval_number, state, approved_at_ms, \
     canceled_at_ms, cancel_reason, auto_pay, \
     (SELECT COALESCE(SUM(c.amount), 0) FROM sandbox_cancel c WHERE c.key = sandbox_txn.key), \
     (SELECT MAX(c.canceled_at_ms) FROM sandbox_cancel c WHERE c.key = sandbox_txn.key)";

/// A transaction as the sandbox ledger holds it (for assertions and the sandbox pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxTransaction {
    pub key: String,
    pub merchant_id: String,
    pub state: TxnState,
    pub cancel_reason: Option<String>,
    /// Approved with a registered card token.
    pub auto_pay: bool,
}

pub(super) enum Source {
    Card(CheckedCard),
    Token(Secret),
}

pub(super) struct ApproveJob {
    pub(super) key: String,
    pub(super) merchant_id: String,
    pub(super) amount: i64,
    pub(super) installment_months: u8,
    pub(super) source: Source,
}

pub(super) fn db(e: rusqlite::Error) -> ConnectorError {
    ConnectorError::Unavailable(format!("sandbox card ledger: {e}"))
}

fn corrupt(what: &str) -> ConnectorError {
    ConnectorError::Unavailable(format!("sandbox card ledger: bad {what}"))
}

fn now_millis() -> DateTime<Utc> {
    let ms = Utc::now().timestamp_millis();
    DateTime::from_timestamp_millis(ms).expect("current time in range")
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>, ConnectorError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt("time"))
}

struct RawTxn {
    key: String,
    merchant_id: String,
    amount: i64,
    installment_months: i64,
    issuer_code: String,
    acquirer_code: String,
    masked_card: String,
    card_last4: String,
    approval_number: String,
    state: String,
    approved_at_ms: i64,
    canceled_at_ms: Option<i64>,
    cancel_reason: Option<String>,
    auto_pay: bool,
    /// Canceled in part so far (the cancels' sum).
    partly_canceled: i64,
    last_cancel_ms: Option<i64>,
}

fn read_txn(row: &Row<'_>) -> rusqlite::Result<RawTxn> {
    Ok(RawTxn {
        key: row.get(0)?,
        merchant_id: row.get(1)?,
        amount: row.get(2)?,
        installment_months: row.get(3)?,
        issuer_code: row.get(4)?,
        acquirer_code: row.get(5)?,
        masked_card: row.get(6)?,
        card_last4: row.get(7)?,
        approval_number: row.get(8)?,
        state: row.get(9)?,
        approved_at_ms: row.get(10)?,
        canceled_at_ms: row.get(11)?,
        cancel_reason: row.get(12)?,
        auto_pay: row.get(13)?,
        partly_canceled: row.get(14)?,
        last_cancel_ms: row.get(15)?,
    })
}

impl RawTxn {
    fn into_txn(self) -> Result<SandboxTransaction, ConnectorError> {
        let approval = Approval {
            approval_number: self.approval_number,
            issuer: CardCompany::from_code(&self.issuer_code).ok_or_else(|| corrupt("issuer"))?,
            acquirer_code: self.acquirer_code,
            masked_card: self.masked_card,
            card_last4: self.card_last4,
            installment_months: u8::try_from(self.installment_months)
                .map_err(|_| corrupt("installments"))?,
            amount: self.amount,
            approved_at: from_millis(self.approved_at_ms)?,
        };
        let state = match (self.state.as_str(), self.canceled_at_ms) {
            ("approved", _) if self.partly_canceled > 0 => TxnState::PartiallyCanceled {
                approval,
                canceled_amount: self.partly_canceled,
                canceled_at: from_millis(self.last_cancel_ms.ok_or_else(|| corrupt("cancel"))?)?,
            },
            ("approved", _) => TxnState::Approved(approval),
            ("canceled", Some(ms)) => TxnState::Canceled {
                approval,
                canceled_at: from_millis(ms)?,
            },
            _ => return Err(corrupt("state")),
        };
        Ok(SandboxTransaction {
            key: self.key,
            merchant_id: self.merchant_id,
            state,
            cancel_reason: self.cancel_reason,
            auto_pay: self.auto_pay,
        })
    }
}

pub(super) fn load_txn(
    conn: &Connection,
    key: &str,
) -> Result<Option<SandboxTransaction>, ConnectorError> {
    conn.query_row(
        &format!("SELECT {TXN_COLUMNS} FROM sandbox_txn WHERE key = ?1"),
        [key],
        read_txn,
    )
    .optional()
    .map_err(db)?
    .map(RawTxn::into_txn)
    .transpose()
}

fn load_registration(
    tx: &Transaction<'_>,
    token: &str,
    merchant_id: &str,
) -> Result<Option<CheckedCard>, ConnectorError> {
    let row = tx
        .query_row(
            "SELECT issuer_code, masked_card, card_last4, outcome FROM sandbox_registration \
             WHERE token = ?1 AND merchant_id = ?2",
            params![token, merchant_id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let Some((issuer_code, masked, last4, outcome)) = row else {
        return Ok(None);
    };
    Ok(Some(CheckedCard {
        issuer: CardCompany::from_code(&issuer_code).ok_or_else(|| corrupt("issuer"))?,
        masked,
        last4,
        outcome: TestOutcome::parse(&outcome).ok_or_else(|| corrupt("outcome"))?,
    }))
}

fn fresh_approval_number(tx: &Transaction<'_>) -> Result<String, ConnectorError> {
    let mut rng = rand::rng();
    loop {
        let candidate = rng.random_range(10_000_000u32..100_000_000).to_string();
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sandbox_txn WHERE approval_number = ?1)",
                [&candidate],
                |row| row.get(0),
            )
            .map_err(db)?;
        if !taken {
            return Ok(candidate);
        }
    }
}

pub(super) fn approve_in(
    conn: &mut Connection,
    job: ApproveJob,
) -> Result<Approval, ConnectorError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let auto_pay = matches!(job.source, Source::Token(_));
    let card = match job.source {
        Source::Card(card) => card,
        Source::Token(token) => load_registration(&tx, token.expose(), &job.merchant_id)?
            .ok_or_else(|| declined(DeclineCode::InvalidCard, None))?,
    };

    if let Some(existing) = load_txn(&tx, &job.key)? {
        let prior = existing.state.approval();
        let same = !existing.state.is_canceled()
            && existing.merchant_id == job.merchant_id
            && prior.amount == job.amount
            && prior.installment_months == job.installment_months
            && prior.masked_card == card.masked
            && prior.issuer == card.issuer;
        if same {
            tracing::info!(key = %job.key, approval_number = %prior.approval_number, "sandbox: repeated approve, same approval");
            return Ok(prior.clone());
        }
        tracing::warn!(key = %job.key, canceled = existing.state.is_canceled(), "sandbox: key already used; declined");
        return Err(declined(DeclineCode::Other, Some(&card)));
    }

    match card.outcome {
        TestOutcome::IssuerTimeout => {
            tracing::info!(key = %job.key, "sandbox: issuer timeout (nothing approved)");
            return Err(ConnectorError::Timeout);
        }
        outcome => {
            if let Some(code) = outcome.decline_code() {
                tracing::info!(key = %job.key, %code, masked = %card.masked, "sandbox: declined");
                return Err(declined(code, Some(&card)));
            }
        }
    }

    let approval = Approval {
        approval_number: fresh_approval_number(&tx)?,
        issuer: card.issuer,
        acquirer_code: card.issuer.acquirer_code().to_owned(),
        masked_card: card.masked,
        card_last4: card.last4,
        installment_months: job.installment_months,
        amount: job.amount,
        approved_at: now_millis(),
    };
    tx.execute(
        "INSERT INTO sandbox_txn (key, merchant_id, amount, installment_months, issuer_code, \
         acquirer_code, masked_card, card_last4, approval_number, state, approved_at_ms, auto_pay) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'approved', ?10, ?11)",
        params![
            job.key,
            job.merchant_id,
            approval.amount,
            approval.installment_months,
            approval.issuer.code(),
            approval.acquirer_code,
            approval.masked_card,
            approval.card_last4,
            approval.approval_number,
            approval.approved_at.timestamp_millis(),
            auto_pay,
        ],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    tracing::info!(key = %job.key, approval_number = %approval.approval_number, masked = %approval.masked_card, "sandbox: approved");

    if card.outcome == TestOutcome::LostAnswer {
        tracing::info!(key = %job.key, "sandbox: approved, answer lost");
        return Err(ConnectorError::Timeout);
    }
    Ok(approval)
}

/// A cancel as the connector asks it.
pub(super) struct CancelJob {
    pub(super) key: String,
    pub(super) idempotency_key: String,
    pub(super) reason: String,
    /// None: all that remains.
    pub(super) amount: Option<i64>,
}

/// The state a cancel left: canceled in full when its total is the approved amount.
fn state_after(
    approval: Approval,
    canceled_total: i64,
    at_ms: i64,
) -> Result<TxnState, ConnectorError> {
    let canceled_at = from_millis(at_ms)?;
    Ok(if canceled_total >= approval.amount {
        TxnState::Canceled {
            approval,
            canceled_at,
        }
    } else {
        TxnState::PartiallyCanceled {
            approval,
            canceled_amount: canceled_total,
            canceled_at,
        }
    })
}

/// Cancels a transaction whole or in part, once per idempotency key: the same key again
/// answers the state that cancel left (nothing more is canceled); the same key with another
/// transaction or amount is refused, as is an amount more than what remains.
pub(super) fn cancel_in(conn: &mut Connection, job: CancelJob) -> Result<TxnState, ConnectorError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let prior = tx
        .query_row(
            "SELECT key, requested_amount, canceled_total, canceled_at_ms FROM sandbox_cancel \
             WHERE idempotency_key = ?1",
            [&job.idempotency_key],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let existing = load_txn(&tx, &job.key)?.ok_or(ConnectorError::NotFound)?;
    if let Some((key, requested, total, at_ms)) = prior {
        if key != job.key || requested != job.amount {
            return Err(ConnectorError::Unavailable(
                "sandbox: this idempotency key was used for another cancel".into(),
            ));
        }
        tracing::info!(key = %job.key, idempotency_key = %job.idempotency_key, "sandbox: repeated cancel, same answer");
        return state_after(existing.state.approval().clone(), total, at_ms);
    }
    let (approval, canceled) = match existing.state {
        TxnState::Canceled { .. } => return Err(ConnectorError::AlreadyCanceled),
        TxnState::PartiallyCanceled {
            approval,
            canceled_amount,
            ..
        } => (approval, canceled_amount),
        TxnState::Approved(approval) => (approval, 0),
    };
    let remaining = approval.amount - canceled;
    let amount = job.amount.unwrap_or(remaining);
    if amount <= 0 || amount > remaining {
        return Err(ConnectorError::Unavailable(format!(
            "sandbox: cannot cancel {amount} KRW; {remaining} KRW remains"
        )));
    }
    let total = canceled + amount;
    let at_ms = now_millis().timestamp_millis();
    tx.execute(
        "INSERT INTO sandbox_cancel (idempotency_key, key, requested_amount, amount, canceled_total, \
         reason, canceled_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![job.idempotency_key, job.key, job.amount, amount, total, job.reason, at_ms],
    )
    .map_err(db)?;
    if total == approval.amount {
        tx.execute(
            "UPDATE sandbox_txn SET state = 'canceled', canceled_at_ms = ?2, cancel_reason = ?3 \
             WHERE key = ?1 AND state = 'approved'",
            params![job.key, at_ms, job.reason],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)?;
    tracing::info!(key = %job.key, approval_number = %approval.approval_number, amount, total, "sandbox: canceled");
    state_after(approval, total, at_ms)
}

pub(super) fn register_in(
    conn: &mut Connection,
    merchant_id: &str,
    card: CheckedCard,
) -> Result<RegisteredCardToken, ConnectorError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let token = loop {
        let suffix = Zeroizing::new(random_token(24));
        let candidate = Secret::new(format!("tok_{}", suffix.as_str()));
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sandbox_registration WHERE token = ?1)",
                [candidate.expose()],
                |row| row.get(0),
            )
            .map_err(db)?;
        if !taken {
            break candidate;
        }
    };
    tx.execute(
        "INSERT INTO sandbox_registration (token, merchant_id, issuer_code, masked_card, \
         card_last4, outcome, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token.expose(),
            merchant_id,
            card.issuer.code(),
            card.masked,
            card.last4,
            card.outcome.as_str(),
            Utc::now().timestamp_millis(),
        ],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    tracing::info!(merchant_id, masked = %card.masked, "sandbox: card registered for auto-pay");
    Ok(RegisteredCardToken {
        token,
        issuer: card.issuer,
        last4: card.last4,
        masked_card: card.masked,
    })
}

/// Creates the ledger's tables when they are missing.
pub(super) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// How many transactions the ledger holds under `key` (approved or since canceled): 0 or 1.
pub(super) fn count_txns(conn: &Connection, key: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM sandbox_txn WHERE key = ?1",
        [key],
        |row| row.get(0),
    )
}

/// Approvals under any attempt key of the charge `charge_id` (`{id}` or `{id}-{n}`).
pub(super) fn count_charge_txns(conn: &Connection, charge_id: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM sandbox_txn WHERE key = ?1 OR (key > ?1 || '-' AND key < ?1 || '.')",
        [charge_id],
        |row| row.get(0),
    )
}

/// Every transaction in the ledger, oldest first.
pub(super) fn all_txns(conn: &Connection) -> Result<Vec<SandboxTransaction>, ConnectorError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {TXN_COLUMNS} FROM sandbox_txn ORDER BY id"
        ))
        .map_err(db)?;
    let rows = stmt.query_map([], read_txn).map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(db)?.into_txn()?);
    }
    Ok(out)
}
