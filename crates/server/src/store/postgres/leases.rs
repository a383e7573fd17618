//! [`LeaseStore`] on PostgreSQL: leases timed by the database's clock, so instances whose
//! clocks differ still agree on when a lease ran out.

use std::time::Duration;

use super::PgStore;
use crate::store::{LeaseStore, StoreResult};

impl LeaseStore for PgStore {
    fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> StoreResult<bool> {
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.write(|tx| {
            let taken = tx.execute(
                "INSERT INTO leases (name, holder, until)
                 VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
                 WHERE leases.holder = EXCLUDED.holder OR leases.until <= clock_timestamp()",
                &[&name, &holder, &(ms as f64)],
            )?;
            Ok(taken > 0)
        })
    }

    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )?;
            Ok(())
        })
    }

    fn lease_holder(&self, name: &str) -> StoreResult<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT holder FROM leases WHERE name = $1 AND until > clock_timestamp()",
                    &[&name],
                )?
                .map(|r| r.try_get(0))
                .transpose()?)
        })
    }
}
