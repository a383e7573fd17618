//! Device sync: the change feed read by cursor, and the saved answers of pushed mutations
//! (each mutation's client id is its idempotency key).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fieldpay_protocol::sync::{MutationOutcome, SyncPage};
use fieldpay_protocol::{MerchantId, RepId};

use super::StoreResult;

/// The change-log entity that tells an account's former rep's devices to drop it (its id is
/// `account_id:old_rep_id`; both stores log and read it the same way).
pub const ACCOUNT_MOVED: &str = "account_moved";

/// The largest pull page (changes).
pub const MAX_PULL_PAGE: u32 = 20_000;

pub trait SyncStore {
    /// The merchant's changes after `cursor` (at most `limit`, clamped to [`MAX_PULL_PAGE`]),
    /// each with the record as it stands now; a consistent snapshot.
    /// `rep`: a plain rep's device gets the orders and charges of that rep only (the other
    /// records are the merchant's).
    fn pull(
        &self,
        merchant_id: &MerchantId,
        cursor: i64,
        limit: u32,
        rep: Option<&RepId>,
    ) -> StoreResult<SyncPage>;
    /// The saved answers of those client ids that have one.
    fn mutation_results(
        &self,
        merchant_id: &MerchantId,
        client_ids: &[String],
    ) -> StoreResult<HashMap<String, MutationOutcome>>;
    /// Saves many answers in one transaction; returns, in order, the answer kept for each
    /// (the one saved first when a concurrent retry saved before).
    fn save_mutation_results(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        results: &[(String, MutationOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MutationOutcome>>;
}
