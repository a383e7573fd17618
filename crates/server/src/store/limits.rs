//! Rate-limit counts kept in the store (sign-in attempts per address and per account), so
//! every instance on one database takes from the same allowance.

use super::StoreResult;

pub trait LimitStore {
    /// In one transaction: reads the instant stored for `key` (milliseconds since the epoch;
    /// None when there is none), and stores what `decide` answers (nothing when it answers
    /// None). `decide` may be called more than once (a retried transaction); its last answer
    /// is the one kept. Instants at or before `now` are as good as absent: such rows may be
    /// removed at any time.
    fn take_allowance(
        &self,
        key: &str,
        now: i64,
        decide: &mut dyn FnMut(Option<i64>) -> Option<i64>,
    ) -> StoreResult<()>;
}
