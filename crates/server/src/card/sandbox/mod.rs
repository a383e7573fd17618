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
//! an auto-pay. Cancels: idempotency key, transaction key, amount, canceled total, reason, time. Registrations (auto-pay): token, merchant, issuer, masked card, last 4, the
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
//! Cancels ([`CardConnector::cancel`]): whole (no amount: all that remains) or partial. Each is
//! kept once under its idempotency key with the amount and the canceled total after it; the
//! answer is `PartiallyCanceled` with that total, or `Canceled` once nothing remains. The same
//! idempotency key again answers what that cancel answered and cancels nothing more (the same
//! key for another transaction or amount: `Unavailable`); an amount more than remains:
//! `Unavailable`, nothing changes; a transaction canceled in full: `AlreadyCanceled`.
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
//!
//! # Files
//!
//! - `rules`: the checks above and the answers they give (reads card data, keeps none);
//! - `ledger`: the network's own SQLite ledger and the approve / cancel / register transactions;
//! - `faults`: fault injection;
//! - `connector`: the [`CardConnector`](super::CardConnector) implementation tying them together;
//! - `tests`.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use super::ConnectorError;
use faults::Faults;

mod connector;
mod faults;
mod ledger;
mod rules;
#[cfg(test)]
mod tests;

pub use ledger::SandboxTransaction;

/// The sandbox card network. Cheap to clone (shared ledger).
#[derive(Clone)]
pub struct SandboxCardNetwork {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    faults: Faults,
}

impl std::fmt::Debug for SandboxCardNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCardNetwork").finish_non_exhaustive()
    }
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
        ledger::create(&conn)?;
        Ok(SandboxCardNetwork {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                faults: Faults::default(),
            }),
        })
    }

    /// How many transactions the ledger holds under `key` (approved or since canceled): 0 or 1.
    ///
    /// Blocks briefly on the ledger; meant for tests and the sandbox pages.
    ///
    /// # Panics
    /// If the ledger cannot be read.
    /// Approvals of one charge, whichever attempt made them (`{id}`, `{id}-2`, ...): a
    /// charge is paid at most once, so this is 0 or 1.
    pub fn charge_approval_count(&self, charge_id: &str) -> usize {
        let n = ledger::count_charge_txns(&self.inner.lock(), charge_id)
            .expect("sandbox card ledger readable");
        usize::try_from(n).unwrap_or(0)
    }

    pub fn approval_count(&self, key: &str) -> usize {
        let n = ledger::count_txns(&self.inner.lock(), key).expect("sandbox card ledger readable");
        usize::try_from(n).unwrap_or(0)
    }

    /// Every transaction in the ledger, oldest first.
    pub async fn transactions(&self) -> Result<Vec<SandboxTransaction>, ConnectorError> {
        self.blocking(|conn| ledger::all_txns(conn)).await
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
