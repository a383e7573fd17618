//! Collections other than card (현금·계좌이체·어음 수금): the checks of a collection pushed by a
//! rep's device, its receipt text, and the manager's void. The store writes each in one
//! transaction ([`crate::store::CollectionStore`]).

use fieldpay_protocol::collection::{
    check_input, check_text, Collection, CollectionInput, MAX_REASON,
};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::{MerchantId, RepId};

use crate::auth::Caller;
use crate::clock::{kst, parse_ts, ts};
use crate::error::{AppError, AppResult};
use crate::ids::is_valid_client_id;
use crate::state::AppState;
use crate::store::NewSms;

/// How far ahead of the server's clock a device's collection time may be.
const MAX_AHEAD: chrono::Duration = chrono::Duration::minutes(10);
/// How old a collection recorded offline may be when it reaches the server.
const MAX_AGE: chrono::Duration = chrono::Duration::days(90);

/// Checks and records a collection from `caller`'s device (a rep `rep_id`): its fields, its
/// time, then the store checks the account and writes it with its ledger entry and receipt.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    rep_id: &RepId,
    input: CollectionInput,
) -> AppResult<Collection> {
    if !is_valid_client_id(&input.collection_id) {
        return Err(AppError::invalid(
            "collection_id",
            "8 to 64 of A-Z a-z 0-9 _ -",
        ));
    }
    let now = state.clock.now();
    let at = parse_ts(input.collected_at.trim())
        .ok_or_else(|| AppError::invalid("collected_at", "an RFC 3339 time"))?;
    if at > now + MAX_AHEAD || at < now - MAX_AGE {
        return Err(AppError::invalid(
            "collected_at",
            "수금 시각이 올바르지 않습니다 (not in the last 90 days)",
        ));
    }
    let day = at.with_timezone(&kst()).format("%Y-%m-%d").to_string();
    let mut input = check_input(&input, &day)?;
    input.collected_at = ts(at);
    let merchant = crate::charges::merchant(state, &caller.merchant_id).await?;
    let (mid, rid) = (caller.merchant_id.clone(), rep_id.clone());
    let only = caller.limited_to().cloned();
    state
        .db(move |s| {
            s.record_collection(
                &mid,
                &rid,
                only.as_ref(),
                &input,
                now,
                &|c, account, balance| {
                    let to = fieldpay_protocol::phone::Phone::parse_mobile(&account.phone).ok()?;
                    Some(NewSms {
                        to: to.digits().to_string(),
                        kind: SmsKind::Receipt,
                        body: crate::messages::collection_receipt(
                            &merchant,
                            c,
                            &account.name,
                            balance,
                            at,
                        ),
                        quota: None,
                    })
                },
            )
        })
        .await
}

/// A manager voids a collection with a reason (1 to 200 characters).
pub async fn void(
    state: &AppState,
    merchant_id: &MerchantId,
    by: &RepId,
    collection_id: &str,
    reason: &str,
) -> AppResult<Collection> {
    let reason = check_text("reason", reason, MAX_REASON, false)?;
    let (mid, by, id) = (merchant_id.clone(), by.clone(), collection_id.to_string());
    let now = state.clock.now();
    state
        .db(move |s| s.void_collection(&mid, &id, &reason, &by, now))
        .await
}
