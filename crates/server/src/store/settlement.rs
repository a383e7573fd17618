//! Daily settlement (정산): approved and refunded amounts of a KST day, by card company and
//! by rep.

use chrono::NaiveDate;
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::MerchantId;

use super::StoreResult;

pub trait SettlementStore {
    fn settlement(
        &self,
        merchant_id: &MerchantId,
        date: NaiveDate,
    ) -> StoreResult<SettlementReport>;
}
