//! [`LimitStore`] on PostgreSQL.

use super::PgStore;
use crate::store::{LimitStore, StoreResult};

impl LimitStore for PgStore {
    fn take_allowance(
        &self,
        key: &str,
        now: i64,
        decide: &mut dyn FnMut(Option<i64>) -> Option<i64>,
    ) -> StoreResult<()> {
        let prune = rand::random_ratio(1, 256);
        self.write(|tx| {
            let stored: Option<i64> = tx
                .query_opt("SELECT next_free FROM rate_limits WHERE key = $1", &[&key])?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(next) = decide(stored) {
                tx.execute(
                    "INSERT INTO rate_limits (key, next_free) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET next_free = EXCLUDED.next_free",
                    &[&key, &next],
                )?;
            }
            // Now and then, forget the keys whose allowance is whole again.
            if prune {
                tx.execute("DELETE FROM rate_limits WHERE next_free <= $1", &[&now])?;
            }
            Ok(())
        })
    }
}
