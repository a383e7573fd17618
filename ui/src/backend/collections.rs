//! Collections other than card (현금·계좌이체·어음 수금).

use fieldpay_protocol::app::{CollectionForm, LocalCollection};
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::ApiError;

use super::invoke;

pub async fn record_collection(form: &CollectionForm) -> Result<LocalCollection, ApiError> {
    invoke(&cmd::RecordCollection { form: form.clone() }).await
}

pub async fn collections(account_id: &str) -> Result<Vec<LocalCollection>, ApiError> {
    invoke(&cmd::Collections {
        account_id: account_id.into(),
    })
    .await
}

pub async fn void_collection(
    collection_id: &str,
    reason: &str,
) -> Result<LocalCollection, ApiError> {
    invoke(&cmd::VoidCollection {
        collection_id: collection_id.into(),
        reason: reason.into(),
    })
    .await
}
