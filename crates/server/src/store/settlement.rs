//! Daily settlement (정산): approved and refunded amounts of a KST day, by card company and
//! by rep.

use chrono::NaiveDate;
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::{MerchantId, RepId};

use super::StoreResult;

pub trait SettlementStore {
    /// The settlement of a KST day; of one rep's payments only when `rep` is given.
    fn settlement(
        &self,
        merchant_id: &MerchantId,
        date: NaiveDate,
        rep: Option<&RepId>,
    ) -> StoreResult<SettlementReport>;
}
