//! The sandbox card network: a simulated EXTERNAL card network with its own ledger.
//!
//! Because it stands for a network outside our server, its ledger lives in its own SQLite file
//! ([`SandboxCardNetwork::open`]) and survives a restart of our server, so that recovery after
//! a crash (inquire, network cancel) can be exercised for real. [`SandboxCardNetwork::open_in_memory`]
//! is for tests.
//!
//! # What it stores
//!
//! Transactions: key, merchant, amount, installments, issuer and acquirer codes, masked card,
//! last 4, approval number, state, approval/cancel times and cancel reason, and whether it was
//! an auto-pay. Registrations (auto-pay): token, merchant, issuer, masked card, last 4, the
//! test outcome of the card, time. **Never** the card number, expiry, birth date / business
//! number or password: card data is checked on the calling task and only the derived,
//! card-data-free facts are handed to the database thread.
//!
//! # Rules
//!
//! Checks, in this order (declines carry the masked number and issuer once they are known):
//!
//! 1. number: ASCII digits only, 14..=19 of them, Luhn-valid — checked when the caller parsed
//!    the [`CardNumber`](fieldpay_protocol::CardNumber) of [`CardInput`], so an invalid number
//!    never reaches the network;
//! 2. BIN (first six digits) in the sandbox table ([`super::company`]) — else `UnknownBin`;
//! 3. expiry `MMYY`: month 01..=12, and the month not before the current month in Korean time
//!    (UTC+9), the card being valid through the end of its month — else `Expired`;
//! 4. birth date / business number, when given: 6 digits `YYMMDD` (month 01–12, day 01–31) or a
//!    valid 10-digit business registration number — else `Other`;
//!    password2, when given: two digits — else `WrongPassword`;
//! 5. installments 0 or 2..=12, and installments only when the amount is
//!    [`INSTALLMENT_MIN_KRW`] (50,000 KRW) or more —
//!    else `InvalidInstallments`; amount > 0 — else `Other`;
//! 6. the key: a key already approved with the same merchant, amount, installments and card
//!    returns the SAME approval (nothing more is charged); a key that is already canceled, or
//!    that was approved for a different merchant/amount/installments/card, is declined with
//!    `Other`. A declined or timed-out attempt leaves no row, so the same key may be tried
//!    again (e.g. with another card after a decline);
//! 7. the card's fixed outcome ([`super::testcards`]): issuer timeout, lost/stolen, wrong
//!    password (also any card keyed with password `"00"`), insufficient funds, over limit;
//!    lost answer (approved and stored, but answered with `Timeout`); otherwise approved.
//!
//! An empty key or merchant id is a protocol error: `Unavailable`, nothing happens.
//!
//! Approval numbers are 8 random digits (no leading zero), unique within the ledger.
//!
//! Auto-pay: [`CardConnector::register`] checks the card like approve (1–4, and lost/stolen,
//! wrong password and issuer timeout), and stores only issuer, masked number, last 4 and the
//! card's test outcome; insufficient funds / over limit / lost answer then apply to each
//! approval with the token. An unknown token, or a token of another merchant, is declined with
//! `InvalidCard`. Each registration gets a new token.
//!
//! Fault injection for tests: [`SandboxCardNetwork::fail_next_inquiries`] and
//! [`SandboxCardNetwork::fail_next_cancels`] make the next n calls answer `Timeout`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use fieldpay_protocol::money::INSTALLMENT_MIN_KRW;
use fieldpay_protocol::validate::business_number_valid;
use fieldpay_protocol::Secret;
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::Serialize;
use zeroize::Zeroizing;

use super::testcards::{scenario_of, TestOutcome};
use super::{
    Approval, ApproveRequest, CardCompany, CardConnector, CardInput, ConnectorError, DeclineCode,
    PaymentMethod, RegisteredCardToken, TxnState,
};
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
     canceled_at_ms, cancel_reason, auto_pay";

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

/// The sandbox card network. Cheap to clone (shared ledger).
#[derive(Clone)]
pub struct SandboxCardNetwork {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    fail_inquiries: AtomicU32,
    fail_cancels: AtomicU32,
}

impl std::fmt::Debug for SandboxCardNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCardNetwork").finish_non_exhaustive()
    }
}

/// Card-data-free facts derived from a checked [`CardInput`]; the only thing that crosses to
/// the database thread.
#[derive(Debug, Clone)]
struct CheckedCard {
    issuer: CardCompany,
    masked: String,
    last4: String,
    outcome: TestOutcome,
}

enum Source {
    Card(CheckedCard),
    Token(Secret),
}

struct ApproveJob {
    key: String,
    merchant_id: String,
    amount: i64,
    installment_months: u8,
    source: Source,
}

impl SandboxCardNetwork {
    /// Open (or create) the ledger file at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode = %mode, "sandbox card ledger: WAL not available");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    /// A ledger that lives in memory only (tests).
    pub fn open_in_memory() -> Result<Self, rusqlite::Error> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, rusqlite::Error> {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SandboxCardNetwork {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                fail_inquiries: AtomicU32::new(0),
                fail_cancels: AtomicU32::new(0),
            }),
        })
    }

    /// Fault injection: the next `n` calls to `inquire` answer `Timeout` (replaces any count
    /// still pending).
    pub fn fail_next_inquiries(&self, n: u32) {
        self.inner.fail_inquiries.store(n, Ordering::SeqCst);
    }

    /// Fault injection: the next `n` calls to `cancel` answer `Timeout` without canceling
    /// (replaces any count still pending).
    pub fn fail_next_cancels(&self, n: u32) {
        self.inner.fail_cancels.store(n, Ordering::SeqCst);
    }

    /// How many transactions the ledger holds under `key` (approved or since canceled): 0 or 1.
    ///
    /// Blocks briefly on the ledger; meant for tests and the sandbox pages.
    ///
    /// # Panics
    /// If the ledger cannot be read.
    pub fn approval_count(&self, key: &str) -> usize {
        let conn = self.inner.lock();
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sandbox_txn WHERE key = ?1",
                [key],
                |row| row.get(0),
            )
            .expect("sandbox card ledger readable");
        usize::try_from(n).unwrap_or(0)
    }

    /// Every transaction in the ledger, oldest first.
    pub async fn transactions(&self) -> Result<Vec<SandboxTransaction>, ConnectorError> {
        self.blocking(|conn| {
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
        })
        .await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, ConnectorError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ConnectorError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.lock();
            f(&mut conn)
        })
        .await
        .map_err(|_| ConnectorError::Unavailable("sandbox card network task failed".into()))?
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock rolls back its open transaction; the ledger stays usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn take_fault(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn db(e: rusqlite::Error) -> ConnectorError {
    ConnectorError::Unavailable(format!("sandbox card ledger: {e}"))
}

fn corrupt(what: &str) -> ConnectorError {
    ConnectorError::Unavailable(format!("sandbox card ledger: bad {what}"))
}

fn declined(code: DeclineCode, card: Option<&CheckedCard>) -> ConnectorError {
    ConnectorError::Declined {
        code,
        masked_card: card.map(|c| c.masked.clone()),
        issuer: card.map(|c| c.issuer),
    }
}

fn protocol_checks(key: &str, merchant_id: &str) -> Result<(), ConnectorError> {
    if key.trim().is_empty() {
        return Err(ConnectorError::Unavailable("empty transaction key".into()));
    }
    if merchant_id.trim().is_empty() {
        return Err(ConnectorError::Unavailable("empty merchant id".into()));
    }
    Ok(())
}

/// `true` when `mmyy` is a valid `MMYY` and its month is not before the current month in
/// Korean time (UTC+9).
pub(crate) fn expiry_valid(mmyy: &str, now: DateTime<Utc>) -> bool {
    if mmyy.len() != 4 || !mmyy.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Ok(month), Ok(yy)) = (mmyy[..2].parse::<u32>(), mmyy[2..].parse::<i32>()) else {
        return false;
    };
    if !(1..=12).contains(&month) {
        return false;
    }
    let kst = FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset");
    let today = now.with_timezone(&kst);
    (2000 + yy, month) >= (today.year(), today.month())
}

fn birth_or_business_valid(value: &str) -> bool {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match value.len() {
        6 => {
            let month: u32 = value[2..4].parse().unwrap_or(0);
            let day: u32 = value[4..6].parse().unwrap_or(0);
            (1..=12).contains(&month) && (1..=31).contains(&day)
        }
        10 => business_number_valid(value),
        _ => false,
    }
}

/// Checks 1–4 of the module docs, and the card's fixed outcome. Reads the card data, keeps
/// none of it.
fn check_card(card: &CardInput<'_>, now: DateTime<Utc>) -> Result<CheckedCard, ConnectorError> {
    // Check 1 is the type's: a `CardNumber` is digits only, 14..=19 long and Luhn-valid.
    let number = card.number;
    let masked = number.masked();
    let Some(issuer) = CardCompany::from_bin(number.bin()) else {
        return Err(ConnectorError::Declined {
            code: DeclineCode::UnknownBin,
            masked_card: Some(masked),
            issuer: None,
        });
    };
    let mut checked = CheckedCard {
        issuer,
        masked,
        last4: number.last4().to_owned(),
        // The network reads the whole number: its test cards are told by digits 7 to 15.
        outcome: scenario_of(number.expose_digits()),
    };
    if !expiry_valid(card.expiry_mmyy, now) {
        return Err(declined(DeclineCode::Expired, Some(&checked)));
    }
    if let Some(value) = card.birth_or_business {
        if !birth_or_business_valid(value) {
            return Err(declined(DeclineCode::Other, Some(&checked)));
        }
    }
    if let Some(pw) = card.password2 {
        if pw.len() != 2 || !pw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(declined(DeclineCode::WrongPassword, Some(&checked)));
        }
        if pw == "00"
            && !matches!(
                checked.outcome,
                TestOutcome::LostOrStolen | TestOutcome::IssuerTimeout
            )
        {
            checked.outcome = TestOutcome::WrongPassword;
        }
    }
    Ok(checked)
}

fn check_terms(
    amount: i64,
    installment_months: u8,
    card: Option<&CheckedCard>,
) -> Result<(), ConnectorError> {
    if installment_months == 1 || installment_months > 12 {
        return Err(declined(DeclineCode::InvalidInstallments, card));
    }
    if installment_months >= 2 && amount < INSTALLMENT_MIN_KRW {
        return Err(declined(DeclineCode::InvalidInstallments, card));
    }
    if amount <= 0 {
        return Err(declined(DeclineCode::Other, card));
    }
    Ok(())
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

fn load_txn(conn: &Connection, key: &str) -> Result<Option<SandboxTransaction>, ConnectorError> {
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
        outcome: TestOutcome::from_name(&outcome).ok_or_else(|| corrupt("outcome"))?,
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

fn approve_in(conn: &mut Connection, job: ApproveJob) -> Result<Approval, ConnectorError> {
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

fn cancel_in(conn: &mut Connection, key: &str, reason: &str) -> Result<TxnState, ConnectorError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let existing = load_txn(&tx, key)?.ok_or(ConnectorError::NotFound)?;
    let approval = match existing.state {
        TxnState::Canceled { .. } => return Err(ConnectorError::AlreadyCanceled),
        TxnState::Approved(approval) => approval,
    };
    let canceled_at = now_millis();
    tx.execute(
        "UPDATE sandbox_txn SET state = 'canceled', canceled_at_ms = ?2, cancel_reason = ?3 \
         WHERE key = ?1 AND state = 'approved'",
        params![key, canceled_at.timestamp_millis(), reason],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    tracing::info!(key, approval_number = %approval.approval_number, "sandbox: canceled");
    Ok(TxnState::Canceled {
        approval,
        canceled_at,
    })
}

fn register_in(
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

#[async_trait::async_trait]
impl CardConnector for SandboxCardNetwork {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn approve(&self, req: &ApproveRequest<'_>) -> Result<Approval, ConnectorError> {
        protocol_checks(req.key, req.merchant_id)?;
        let source = match &req.method {
            PaymentMethod::Card(card) => {
                let checked = check_card(card, Utc::now())?;
                check_terms(req.amount, req.installment_months, Some(&checked))?;
                Source::Card(checked)
            }
            PaymentMethod::Registered { token } => {
                check_terms(req.amount, req.installment_months, None)?;
                Source::Token((*token).clone())
            }
        };
        let job = ApproveJob {
            key: req.key.to_owned(),
            merchant_id: req.merchant_id.to_owned(),
            amount: req.amount,
            installment_months: req.installment_months,
            source,
        };
        self.blocking(move |conn| approve_in(conn, job)).await
    }

    async fn cancel(&self, key: &str, reason: &str) -> Result<TxnState, ConnectorError> {
        if take_fault(&self.inner.fail_cancels) {
            tracing::info!(key, "sandbox: injected cancel timeout");
            return Err(ConnectorError::Timeout);
        }
        let key = key.to_owned();
        let reason = reason.to_owned();
        self.blocking(move |conn| cancel_in(conn, &key, &reason))
            .await
    }

    async fn inquire(&self, key: &str) -> Result<Option<TxnState>, ConnectorError> {
        if take_fault(&self.inner.fail_inquiries) {
            tracing::info!(key, "sandbox: injected inquire timeout");
            return Err(ConnectorError::Timeout);
        }
        let key = key.to_owned();
        self.blocking(move |conn| Ok(load_txn(conn, &key)?.map(|t| t.state)))
            .await
    }

    async fn register(
        &self,
        merchant_id: &str,
        card: &CardInput<'_>,
    ) -> Result<RegisteredCardToken, ConnectorError> {
        if merchant_id.trim().is_empty() {
            return Err(ConnectorError::Unavailable("empty merchant id".into()));
        }
        let checked = check_card(card, Utc::now())?;
        match checked.outcome {
            TestOutcome::IssuerTimeout => return Err(ConnectorError::Timeout),
            TestOutcome::LostOrStolen | TestOutcome::WrongPassword => {
                let code = checked.outcome.decline_code().unwrap_or(DeclineCode::Other);
                return Err(declined(code, Some(&checked)));
            }
            _ => {}
        }
        let merchant_id = merchant_id.to_owned();
        self.blocking(move |conn| register_in(conn, &merchant_id, checked))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testcards::TEST_CARDS;
    use super::super::{
        approve_with_recovery, approve_with_recovery_policy, ApprovalFailure, RecoveryPolicy,
        NETWORK_CANCEL_REASON,
    };
    use super::*;
    use chrono::TimeZone;
    use fieldpay_protocol::validate::luhn_check_digit;
    use fieldpay_protocol::{CardNumber, CardNumberError};
    use std::path::PathBuf;

    const MERCHANT: &str = "m_demo";

    /// A valid expiry a few years ahead.
    fn future_expiry() -> String {
        let kst = Utc::now().with_timezone(&FixedOffset::east_opt(9 * 3600).unwrap());
        format!("12{:02}", (kst.year() + 3) % 100)
    }

    fn num(number: &str) -> CardNumber {
        CardNumber::parse(number).unwrap_or_else(|e| panic!("{number}: {e}"))
    }

    fn card<'a>(number: &'a CardNumber, expiry: &'a str) -> CardInput<'a> {
        CardInput {
            number,
            expiry_mmyy: expiry,
            birth_or_business: Some("880714"),
            password2: Some("12"),
        }
    }

    fn req<'a>(
        key: &'a str,
        amount: i64,
        installments: u8,
        card: CardInput<'a>,
    ) -> ApproveRequest<'a> {
        ApproveRequest {
            key,
            amount,
            installment_months: installments,
            method: PaymentMethod::Card(card),
            merchant_id: MERCHANT,
        }
    }

    fn net() -> SandboxCardNetwork {
        SandboxCardNetwork::open_in_memory().unwrap()
    }

    fn fast() -> RecoveryPolicy {
        RecoveryPolicy {
            inquire_attempts: 3,
            cancel_attempts: 3,
            retry_delay: Duration::from_millis(1),
        }
    }

    fn code_of(r: Result<Approval, ConnectorError>) -> DeclineCode {
        match r {
            Err(ConnectorError::Declined { code, .. }) => code,
            other => panic!("expected a decline, got {other:?}"),
        }
    }

    fn with_check_digit(partial: &str) -> String {
        format!("{partial}{}", luhn_check_digit(partial).unwrap())
    }

    struct TempDb(PathBuf);

    impl TempDb {
        fn new(name: &str) -> Self {
            let n: u64 = rand::rng().random();
            TempDb(std::env::temp_dir().join(format!(
                "fieldpay-card-{name}-{}-{n:x}.sqlite",
                std::process::id()
            )))
        }
        fn files(&self) -> Vec<PathBuf> {
            ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(|s| PathBuf::from(format!("{}{s}", self.0.display())))
                .collect()
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            for f in self.files() {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    #[tokio::test]
    async fn every_test_card_has_its_outcome() {
        let net = net();
        let exp = future_expiry();
        for (i, tc) in TEST_CARDS.iter().enumerate() {
            let key = format!("chg_tc_{i}");
            let r = net
                .approve(&req(&key, 10_000, 0, card(&num(tc.number), &exp)))
                .await;
            match tc.outcome {
                TestOutcome::Approve => {
                    let a = r.unwrap_or_else(|e| panic!("{}: {e:?}", tc.number));
                    assert_eq!(a.issuer, tc.company);
                    assert_eq!(a.acquirer_code, tc.company.acquirer_code());
                    assert_eq!(a.amount, 10_000);
                    assert_eq!(a.approval_number.len(), 8);
                    assert!(a.approval_number.bytes().all(|b| b.is_ascii_digit()));
                    assert_eq!(a.card_last4, &tc.number[12..]);
                    assert_eq!(
                        a.masked_card,
                        format!("{}******{}", &tc.number[..6], &tc.number[12..])
                    );
                    assert_eq!(net.approval_count(&key), 1);
                    assert_eq!(
                        net.inquire(&key).await.unwrap(),
                        Some(TxnState::Approved(a))
                    );
                }
                TestOutcome::IssuerTimeout => {
                    assert_eq!(r, Err(ConnectorError::Timeout));
                    assert_eq!(net.inquire(&key).await.unwrap(), None);
                    assert_eq!(net.approval_count(&key), 0);
                }
                TestOutcome::LostAnswer => {
                    assert_eq!(r, Err(ConnectorError::Timeout));
                    let state = net.inquire(&key).await.unwrap().expect("approved");
                    assert!(matches!(state, TxnState::Approved(ref a) if a.issuer == tc.company));
                    assert_eq!(net.approval_count(&key), 1);
                    // A repeat of the key returns the approval that was lost.
                    let again = net
                        .approve(&req(&key, 10_000, 0, card(&num(tc.number), &exp)))
                        .await
                        .unwrap();
                    assert_eq!(&again, state.approval());
                    assert_eq!(net.approval_count(&key), 1);
                }
                outcome => {
                    let Err(ConnectorError::Declined {
                        code,
                        masked_card,
                        issuer,
                    }) = r
                    else {
                        panic!("{}: expected decline, got {r:?}", tc.number);
                    };
                    assert_eq!(Some(code), outcome.decline_code());
                    assert_eq!(issuer, Some(tc.company));
                    assert_eq!(
                        masked_card.as_deref(),
                        Some(&*format!("{}******{}", &tc.number[..6], &tc.number[12..]))
                    );
                    assert_eq!(net.approval_count(&key), 0);
                    assert_eq!(net.inquire(&key).await.unwrap(), None);
                }
            }
        }
    }

    #[tokio::test]
    async fn password_00_is_wrong_password_for_any_card() {
        let net = net();
        let exp = future_expiry();
        for (i, tc) in TEST_CARDS.iter().enumerate() {
            let n = num(tc.number);
            let mut c = card(&n, &exp);
            c.password2 = Some("00");
            let r = net
                .approve(&req(&format!("chg_pw_{i}"), 10_000, 0, c))
                .await;
            match tc.outcome {
                TestOutcome::IssuerTimeout => assert_eq!(r, Err(ConnectorError::Timeout)),
                TestOutcome::LostOrStolen => assert_eq!(code_of(r), DeclineCode::LostOrStolen),
                _ => assert_eq!(code_of(r), DeclineCode::WrongPassword, "{}", tc.number),
            }
        }
        assert!(net.transactions().await.unwrap().is_empty());
        // Malformed password digits, too.
        let n = num(TEST_CARDS[0].number);
        let mut c = card(&n, &exp);
        c.password2 = Some("1");
        assert_eq!(
            code_of(net.approve(&req("chg_pw_x", 1000, 0, c)).await),
            DeclineCode::WrongPassword
        );
    }

    #[tokio::test]
    async fn other_valid_cards_with_known_bins_approve() {
        let net = net();
        let exp = future_expiry();
        for (i, (bin, company)) in super::super::company::BIN_TABLE.iter().enumerate() {
            let number = with_check_digit(&format!("{bin}123456789"));
            let a = net
                .approve(&req(
                    &format!("chg_any_{i}"),
                    1_000,
                    0,
                    card(&num(&number), &exp),
                ))
                .await
                .unwrap();
            assert_eq!(a.issuer, *company);
        }
        // 14- and 19-digit numbers are accepted lengths.
        for (i, len) in [14usize, 19].into_iter().enumerate() {
            let partial = format!("{}{}", "457973", "1".repeat(len - 7));
            let number = with_check_digit(&partial);
            assert_eq!(number.len(), len);
            let a = net
                .approve(&req(
                    &format!("chg_len_{i}"),
                    1_000,
                    0,
                    card(&num(&number), &exp),
                ))
                .await
                .unwrap();
            assert_eq!(a.masked_card, format!("457973******{}", &number[len - 4..]));
        }
    }

    #[tokio::test]
    async fn invalid_number_bin_expiry_and_installments() {
        let net = net();
        let exp = future_expiry();
        let good_digits = TEST_CARDS[1].number; // KB, approves
        let good = num(good_digits);
        let cases: Vec<(String, &str)> = vec![
            // Luhn failure
            (
                format!(
                    "{}{}",
                    &good_digits[..15],
                    (good_digits.as_bytes()[15] - b'0' + 1) % 10
                ),
                "invalid",
            ),
            ("4579-7300-0000-0013".into(), "invalid"),
            ("4579730000000014".into(), "invalid"), // Luhn failure
            ("45797300000a0013".into(), "invalid"),
            (with_check_digit("457973000000"), "invalid"), // 13 digits
            (with_check_digit("4579730000000000000"), "invalid"), // 20 digits
            (String::new(), "invalid"),
            (with_check_digit("123456000000001"), "bin"),
        ];
        for (i, (number, want)) in cases.iter().enumerate() {
            match *want {
                // Check 1 is the card number's type: an invalid number cannot be sent at all.
                "invalid" => assert!(CardNumber::parse(number).is_err(), "{number}"),
                _ => {
                    let n = num(number);
                    let r = net
                        .approve(&req(&format!("chg_bad_{i}"), 1_000, 0, card(&n, &exp)))
                        .await;
                    let Err(ConnectorError::Declined {
                        code,
                        masked_card,
                        issuer,
                    }) = r
                    else {
                        panic!()
                    };
                    assert_eq!(code, DeclineCode::UnknownBin);
                    assert_eq!(issuer, None);
                    assert_eq!(
                        masked_card.as_deref(),
                        Some(&*format!("123456******{}", &number[12..]))
                    );
                }
            }
        }

        for bad_exp in ["0120", "1300", "0025", "12", "12345", "ab30", "0030"] {
            let r = net
                .approve(&req("chg_exp", 1_000, 0, card(&good, bad_exp)))
                .await;
            assert_eq!(code_of(r), DeclineCode::Expired, "{bad_exp}");
        }

        let mut c = card(&good, &exp);
        c.birth_or_business = Some("881399");
        assert_eq!(
            code_of(net.approve(&req("chg_birth", 1_000, 0, c)).await),
            DeclineCode::Other
        );
        c.birth_or_business = Some("1234567890");
        assert_eq!(
            code_of(net.approve(&req("chg_birth", 1_000, 0, c)).await),
            DeclineCode::Other
        );
        c.birth_or_business = None;
        c.password2 = None;
        net.approve(&req("chg_nobirth", 1_000, 0, c)).await.unwrap();

        for (amount, months) in [
            (49_999, 2u8),
            (100_000, 1),
            (100_000, 13),
            (100_000, 24),
            (1_000, 3),
        ] {
            let r = net
                .approve(&req("chg_inst", amount, months, card(&good, &exp)))
                .await;
            assert_eq!(
                code_of(r),
                DeclineCode::InvalidInstallments,
                "{amount} {months}"
            );
        }
        for (i, months) in [0u8, 2, 3, 6, 12].into_iter().enumerate() {
            let a = net
                .approve(&req(
                    &format!("chg_inst_ok_{i}"),
                    50_000,
                    months,
                    card(&good, &exp),
                ))
                .await
                .unwrap();
            assert_eq!(a.installment_months, months);
        }
        for amount in [0, -1] {
            assert_eq!(
                code_of(
                    net.approve(&req("chg_amt", amount, 0, card(&good, &exp)))
                        .await
                ),
                DeclineCode::Other
            );
        }
        assert!(matches!(
            net.approve(&req("", 1_000, 0, card(&good, &exp))).await,
            Err(ConnectorError::Unavailable(_))
        ));
        assert_eq!(
            net.approval_count("chg_exp")
                + net.approval_count("chg_inst")
                + net.approval_count("chg_amt"),
            0
        );
    }

    #[test]
    fn expiry_uses_korean_time() {
        // 2026-01-31 14:59 UTC is still January in Korea; 15:00 UTC is 1 February 00:00 KST.
        let jan = Utc.with_ymd_and_hms(2026, 1, 31, 14, 59, 0).unwrap();
        let feb = Utc.with_ymd_and_hms(2026, 1, 31, 15, 0, 0).unwrap();
        assert!(expiry_valid("0126", jan));
        assert!(!expiry_valid("0126", feb));
        assert!(expiry_valid("0226", feb));
        assert!(!expiry_valid("1225", feb));
        assert!(expiry_valid("0199", feb));
        assert!(!expiry_valid("0026", feb));
        assert!(!expiry_valid("1326", feb));
    }

    #[tokio::test]
    async fn approve_is_idempotent_by_key() {
        let net = net();
        let exp = future_expiry();
        let n = num(TEST_CARDS[2].number);
        let c = card(&n, &exp);
        let a1 = net.approve(&req("chg_idem", 77_000, 3, c)).await.unwrap();
        let a2 = net.approve(&req("chg_idem", 77_000, 3, c)).await.unwrap();
        assert_eq!(a1, a2);
        assert_eq!(net.approval_count("chg_idem"), 1);
        assert_eq!(net.transactions().await.unwrap().len(), 1);

        // Same key, different amount / card / merchant: not the same transaction.
        assert_eq!(
            code_of(net.approve(&req("chg_idem", 78_000, 3, c)).await),
            DeclineCode::Other
        );
        assert_eq!(
            code_of(
                net.approve(&req(
                    "chg_idem",
                    77_000,
                    3,
                    card(&num(TEST_CARDS[3].number), &exp)
                ))
                .await
            ),
            DeclineCode::Other
        );
        let mut other_merchant = req("chg_idem", 77_000, 3, c);
        other_merchant.merchant_id = "m_other";
        assert_eq!(
            code_of(net.approve(&other_merchant).await),
            DeclineCode::Other
        );
        assert_eq!(net.transactions().await.unwrap().len(), 1);

        // A declined attempt leaves the key free for another card.
        let poor_number = num("5404470000000519");
        let poor = card(&poor_number, &exp);
        assert_eq!(
            code_of(net.approve(&req("chg_retry", 10_000, 0, poor)).await),
            DeclineCode::InsufficientFunds
        );
        let ok = net.approve(&req("chg_retry", 10_000, 0, c)).await.unwrap();
        assert_eq!(
            net.approve(&req("chg_retry", 10_000, 0, c)).await.unwrap(),
            ok
        );
        assert_eq!(net.approval_count("chg_retry"), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_approves_of_one_key_make_one_transaction() {
        let net = net();
        let exp = future_expiry();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let net = net.clone();
            let exp = exp.clone();
            tasks.push(tokio::spawn(async move {
                net.approve(&req(
                    "chg_race",
                    55_000,
                    2,
                    card(&num(TEST_CARDS[4].number), &exp),
                ))
                .await
            }));
        }
        let mut numbers = std::collections::HashSet::new();
        for t in tasks {
            let a = t.await.unwrap().expect("every caller gets the approval");
            numbers.insert(a.approval_number);
        }
        assert_eq!(numbers.len(), 1);
        assert_eq!(net.approval_count("chg_race"), 1);
        assert_eq!(net.transactions().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn ledger_survives_reopen() {
        let file = TempDb::new("reopen");
        let exp = future_expiry();
        let approval = {
            let net = SandboxCardNetwork::open(&file.0).unwrap();
            net.approve(&req(
                "chg_persist",
                12_300,
                0,
                card(&num(TEST_CARDS[5].number), &exp),
            ))
            .await
            .unwrap()
        };
        let net = SandboxCardNetwork::open(&file.0).unwrap();
        assert_eq!(
            net.inquire("chg_persist").await.unwrap(),
            Some(TxnState::Approved(approval.clone()))
        );
        // Still idempotent after the restart.
        let again = net
            .approve(&req(
                "chg_persist",
                12_300,
                0,
                card(&num(TEST_CARDS[5].number), &exp),
            ))
            .await
            .unwrap();
        assert_eq!(again, approval);
        let canceled = net.cancel("chg_persist", "refund").await.unwrap();
        drop(net);
        let net = SandboxCardNetwork::open(&file.0).unwrap();
        assert_eq!(net.inquire("chg_persist").await.unwrap(), Some(canceled));
        let journal: String = net
            .inner
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal.to_ascii_lowercase(), "wal");
    }

    #[tokio::test]
    async fn cancel_and_inquire() {
        let net = net();
        let exp = future_expiry();
        assert_eq!(net.inquire("chg_none").await.unwrap(), None);
        assert_eq!(
            net.cancel("chg_none", "x").await,
            Err(ConnectorError::NotFound)
        );

        let a = net
            .approve(&req(
                "chg_c",
                60_000,
                0,
                card(&num(TEST_CARDS[6].number), &exp),
            ))
            .await
            .unwrap();
        let state = net.cancel("chg_c", "고객 요청 환불").await.unwrap();
        let TxnState::Canceled {
            approval,
            canceled_at,
        } = &state
        else {
            panic!("{state:?}")
        };
        assert_eq!(approval, &a);
        assert!(*canceled_at >= a.approved_at);
        assert_eq!(net.inquire("chg_c").await.unwrap(), Some(state.clone()));
        assert_eq!(
            net.cancel("chg_c", "again").await,
            Err(ConnectorError::AlreadyCanceled)
        );

        // Approving a canceled key again is refused, and charges nothing.
        assert_eq!(
            code_of(
                net.approve(&req(
                    "chg_c",
                    60_000,
                    0,
                    card(&num(TEST_CARDS[6].number), &exp)
                ))
                .await
            ),
            DeclineCode::Other
        );
        let txns = net.transactions().await.unwrap();
        assert_eq!(txns.len(), 1);
        assert_eq!(txns[0].cancel_reason.as_deref(), Some("고객 요청 환불"));
        assert_eq!(txns[0].state, state);

        // Injected cancel failures.
        net.approve(&req(
            "chg_c2",
            1_000,
            0,
            card(&num(TEST_CARDS[6].number), &exp),
        ))
        .await
        .unwrap();
        net.fail_next_cancels(1);
        assert_eq!(
            net.cancel("chg_c2", "x").await,
            Err(ConnectorError::Timeout)
        );
        assert!(net.cancel("chg_c2", "x").await.unwrap().is_canceled());
    }

    #[tokio::test]
    async fn injected_inquire_failures_count_down() {
        let net = net();
        net.fail_next_inquiries(2);
        assert_eq!(net.inquire("k").await, Err(ConnectorError::Timeout));
        assert_eq!(net.inquire("k").await, Err(ConnectorError::Timeout));
        assert_eq!(net.inquire("k").await, Ok(None));
    }

    #[tokio::test]
    async fn recovery_issuer_timeout_is_not_charged() {
        let net = net();
        let exp = future_expiry();
        let r = approve_with_recovery(
            &net,
            &req("chg_to", 10_000, 0, card(&num("5409260000000915"), &exp)),
        )
        .await;
        assert_eq!(r, Err(ApprovalFailure::NotCharged));
        assert_eq!(net.approval_count("chg_to"), 0);
    }

    #[tokio::test]
    async fn recovery_lost_answer_is_approved_once() {
        let net = net();
        let exp = future_expiry();
        let lost_number = num("9401010000000682");
        let lost = card(&lost_number, &exp);
        let a = approve_with_recovery(&net, &req("chg_lost", 10_000, 0, lost))
            .await
            .unwrap();
        assert_eq!(a.issuer, CardCompany::Bc);
        assert_eq!(net.approval_count("chg_lost"), 1);
        assert_eq!(
            net.inquire("chg_lost").await.unwrap(),
            Some(TxnState::Approved(a.clone()))
        );
        // Running it again with the same key changes nothing.
        let again = approve_with_recovery(&net, &req("chg_lost", 10_000, 0, lost))
            .await
            .unwrap();
        assert_eq!(again, a);
        assert_eq!(net.approval_count("chg_lost"), 1);
        // Inquire failing once still resolves.
        net.fail_next_inquiries(2);
        let b = approve_with_recovery_policy(&net, &req("chg_lost2", 10_000, 0, lost), &fast())
            .await
            .unwrap();
        assert_eq!(
            net.inquire("chg_lost2").await.unwrap(),
            Some(TxnState::Approved(b))
        );
    }

    #[tokio::test]
    async fn recovery_in_doubt_sends_network_cancel() {
        let net = net();
        let exp = future_expiry();
        net.fail_next_inquiries(100);
        let r = approve_with_recovery(
            &net,
            &req("chg_doubt", 10_000, 0, card(&num("9401010000000682"), &exp)),
        )
        .await;
        assert_eq!(r, Err(ApprovalFailure::NotCharged));
        net.fail_next_inquiries(0);
        let txns = net.transactions().await.unwrap();
        assert_eq!(txns.len(), 1);
        assert_eq!(txns[0].key, "chg_doubt");
        assert!(txns[0].state.is_canceled());
        assert_eq!(
            txns[0].cancel_reason.as_deref(),
            Some(NETWORK_CANCEL_REASON)
        );

        // In doubt on a card that approved nothing: the cancel answers NotFound -> not charged.
        net.fail_next_inquiries(100);
        let r = approve_with_recovery_policy(
            &net,
            &req(
                "chg_doubt2",
                10_000,
                0,
                card(&num("5409260000000915"), &exp),
            ),
            &fast(),
        )
        .await;
        assert_eq!(r, Err(ApprovalFailure::NotCharged));
        assert_eq!(net.approval_count("chg_doubt2"), 0);

        // Neither inquire nor cancel gets through: in doubt, and the approval stands.
        net.fail_next_inquiries(100);
        net.fail_next_cancels(100);
        let r = approve_with_recovery_policy(
            &net,
            &req(
                "chg_doubt3",
                10_000,
                0,
                card(&num("9401010000000682"), &exp),
            ),
            &fast(),
        )
        .await;
        assert_eq!(r, Err(ApprovalFailure::InDoubt));
        net.fail_next_inquiries(0);
        net.fail_next_cancels(0);
        assert!(matches!(
            net.inquire("chg_doubt3").await.unwrap(),
            Some(TxnState::Approved(_))
        ));
    }

    #[tokio::test]
    async fn recovery_passes_declines_and_approvals_through() {
        let net = net();
        let exp = future_expiry();
        let a = approve_with_recovery(
            &net,
            &req("chg_ok", 10_000, 0, card(&num(TEST_CARDS[7].number), &exp)),
        )
        .await
        .unwrap();
        assert_eq!(a.issuer, CardCompany::Woori);
        let r = approve_with_recovery(
            &net,
            &req("chg_no", 10_000, 0, card(&num("5401590000000616"), &exp)),
        )
        .await;
        assert_eq!(
            r,
            Err(ApprovalFailure::Declined {
                code: DeclineCode::OverLimit,
                masked_card: Some("540159******0616".into()),
                issuer: Some(CardCompany::Lotte),
            })
        );
        let r = approve_with_recovery(
            &net,
            &req("", 10_000, 0, card(&num(TEST_CARDS[7].number), &exp)),
        )
        .await;
        assert_eq!(r, Err(ApprovalFailure::NotCharged));
    }

    #[tokio::test]
    async fn register_and_auto_pay() {
        let net = net();
        let exp = future_expiry();
        let tok = net
            .register(MERCHANT, &card(&num(TEST_CARDS[8].number), &exp))
            .await
            .unwrap();
        assert!(tok.token.expose().starts_with("tok_") && tok.token.expose().len() > 12);
        assert_eq!(tok.issuer, CardCompany::Nh);
        assert_eq!(tok.last4, "0015");
        assert_eq!(tok.masked_card, "546112******0015");
        let tok2 = net
            .register(MERCHANT, &card(&num(TEST_CARDS[8].number), &exp))
            .await
            .unwrap();
        assert_ne!(tok.token, tok2.token);

        fn auto<'a>(key: &'a str, token: &'a Secret, amount: i64) -> ApproveRequest<'a> {
            ApproveRequest {
                key,
                amount,
                installment_months: 0,
                method: PaymentMethod::Registered { token },
                merchant_id: MERCHANT,
            }
        }
        let token = &tok.token;
        let a = net.approve(&auto("chg_auto", token, 33_000)).await.unwrap();
        assert_eq!(a.issuer, CardCompany::Nh);
        assert_eq!(a.masked_card, tok.masked_card);
        assert_eq!(
            net.approve(&auto("chg_auto", token, 33_000)).await.unwrap(),
            a
        );
        let txns = net.transactions().await.unwrap();
        assert!(txns[0].auto_pay);

        // Unknown token, or another merchant's token.
        assert_eq!(
            code_of(
                net.approve(&auto("chg_auto2", &Secret::new("tok_nope"), 1_000))
                    .await
            ),
            DeclineCode::InvalidCard
        );
        let mut foreign = auto("chg_auto3", token, 1_000);
        foreign.merchant_id = "m_other";
        assert_eq!(
            code_of(net.approve(&foreign).await),
            DeclineCode::InvalidCard
        );

        // Registration declines like approval; issuer state applies at each charge.
        assert_eq!(
            net.register(MERCHANT, &card(&num("4512450000000414"), &exp))
                .await
                .unwrap_err(),
            ConnectorError::Declined {
                code: DeclineCode::LostOrStolen,
                masked_card: Some("451245******0414".into()),
                issuer: Some(CardCompany::Samsung)
            }
        );
        // A number failing Luhn cannot be registered: it is not a `CardNumber`.
        assert_eq!(
            CardNumber::parse("4579730000000014").unwrap_err(),
            CardNumberError::CheckDigit
        );
        assert!(matches!(
            net.register(MERCHANT, &card(&num(TEST_CARDS[0].number), "0120"))
                .await,
            Err(ConnectorError::Declined {
                code: DeclineCode::Expired,
                ..
            })
        ));
        assert_eq!(
            net.register(MERCHANT, &card(&num("5409260000000915"), &exp))
                .await,
            Err(ConnectorError::Timeout)
        );
        let poor = net
            .register(MERCHANT, &card(&num("5404470000000519"), &exp))
            .await
            .unwrap();
        assert_eq!(
            code_of(net.approve(&auto("chg_auto4", &poor.token, 1_000)).await),
            DeclineCode::InsufficientFunds
        );
    }

    #[tokio::test]
    async fn canary_card_data_never_reaches_the_ledger_file() {
        const CANARY: &str = "5409263141592659";
        const EXPIRY: &str = "0839";
        const BIRTH: &str = "880714";
        let file = TempDb::new("canary");
        let net = SandboxCardNetwork::open(&file.0).unwrap();
        let canary_number = num(CANARY);
        let canary = CardInput {
            number: &canary_number,
            expiry_mmyy: EXPIRY,
            birth_or_business: Some(BIRTH),
            password2: Some("47"),
        };
        let a = net
            .approve(&req("chg_canary", 120_000, 3, canary))
            .await
            .unwrap();
        assert_eq!(a.masked_card, "540926******2659");
        let tok = net.register(MERCHANT, &canary).await.unwrap();
        net.cancel("chg_canary", "canary refund").await.unwrap();
        let _ = net
            .approve(&req("chg_canary2", 1_000, 0, canary))
            .await
            .unwrap();

        let mut scrub: Vec<String> = vec![tok.token.expose().to_owned()];
        for t in net.transactions().await.unwrap() {
            scrub.push(t.state.approval().approval_number.clone());
        }
        let check = |when: &str| {
            let mut found_any = false;
            let mut masked_seen = false;
            for path in file.files() {
                let Ok(mut bytes) = std::fs::read(&path) else {
                    continue;
                };
                found_any = true;
                // Random values we did store may contain any 4 digits by chance: blank them.
                for s in &scrub {
                    let s = s.as_bytes();
                    let mut i = 0;
                    while i + s.len() <= bytes.len() {
                        if &bytes[i..i + s.len()] == s {
                            bytes[i..i + s.len()].fill(0);
                        }
                        i += 1;
                    }
                }
                for secret in [CANARY, "3141592", EXPIRY, BIRTH] {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{secret} found in {} ({when})",
                        path.display()
                    );
                }
                // The masked form is what is kept (and shows the search sees the data).
                masked_seen |= bytes.windows(16).any(|w| w == b"540926******2659");
            }
            assert!(found_any && masked_seen, "ledger files not read ({when})");
        };
        check("open");
        drop(net);
        check("closed");
    }
}
