//! [`LimitStore`] on SQLite.

use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::{LimitStore, StoreResult};

impl LimitStore for SqliteStore {
    fn take_allowance(
        &self,
        key: &str,
        now: i64,
        decide: &mut dyn FnMut(Option<i64>) -> Option<i64>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let stored: Option<i64> = tx
                .prepare_cached("SELECT next_free FROM rate_limits WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?;
            if let Some(next) = decide(stored) {
                tx.prepare_cached(
                    "INSERT INTO rate_limits (key, next_free) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET next_free = excluded.next_free",
                )?
                .execute(params![key, next])?;
            }
            // Now and then, forget the keys whose allowance is whole again.
            if rand::random_ratio(1, 256) {
                tx.prepare_cached("DELETE FROM rate_limits WHERE next_free <= ?1")?
                    .execute([now])?;
            }
            Ok(())
        })
    }
}
