//! [`LeaseStore`] on SQLite: leases timed by this machine's clock.

use std::time::Duration;

use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::clock::ts;
use crate::store::{LeaseStore, StoreResult};

impl LeaseStore for SqliteStore {
    fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> StoreResult<bool> {
        let now = chrono::Utc::now();
        let until = chrono::Duration::from_std(ttl)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now + chrono::Duration::days(365));
        let (now, until) = (ts(now), ts(until));
        self.write(|tx| {
            let taken = tx
                .prepare_cached(
                    "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                     WHERE leases.holder = excluded.holder OR leases.until <= ?4",
                )?
                .execute(params![name, holder, until, now])?;
            Ok(taken > 0)
        })
    }

    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")?
                .execute(params![name, holder])?;
            Ok(())
        })
    }

    fn lease_holder(&self, name: &str) -> StoreResult<Option<String>> {
        let now = ts(chrono::Utc::now());
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT holder FROM leases WHERE name = ?1 AND until > ?2")?
                    .query_row(params![name, now], |r| r.get(0))
                    .optional()?,
            )
        })
    }
}
