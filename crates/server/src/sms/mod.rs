//! SMS behind a sender boundary. Texts are written to the `sms_messages` outbox in the same
//! transaction as the change that causes them; the dispatcher sends pending ones and marks
//! them sent, so a crash never loses a text and a sent text is not sent again.
//!
//! A text that fails is tried again later, after the delays of [`RETRY_SCHEDULE`], when
//! trying again can help ([`sender::SmsError::retryable`]); after the last attempt, or at once
//! when the provider refused the text itself (the number, the content), it is marked failed
//! and, when it is about a charge, the charge's timeline shows "문자 발송 실패" with the
//! provider's reason (a `text_failed` event; the charge's status does not change). The rep can
//! send the bill again (`POST /v1/charges/{id}/resend`).
//!
//! Providers: [`solapi`] (primary), [`nhn`] (NHN Cloud SMS), [`twilio`] (numbers abroad), and
//! the sandbox sink ([`sender::sandbox`]).

pub mod nhn;
pub mod select;
pub mod sender;
pub mod solapi;
pub mod twilio;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fieldpay_protocol::sms::SmsKind;
use futures_util::stream::{self, StreamExt};

use crate::domain::Merchant;
use crate::state::AppState;
use crate::store::{ChargeRecord, Effects, SmsAttempt, SmsRecord};
use fieldpay_protocol::MerchantId;
use sender::{OutgoingSms, SmsError, SmsSender};

/// The delays before the second, third, ... attempt of a text whose attempt failed for a
/// reason that may pass: 10 s, 1 min, 5 min, 30 min. A text is tried at most
/// `RETRY_SCHEDULE.len() + 1` (5) times over about 36 minutes, then given up.
pub const RETRY_SCHEDULE: [std::time::Duration; 4] = [
    std::time::Duration::from_secs(10),
    std::time::Duration::from_secs(60),
    std::time::Duration::from_secs(5 * 60),
    std::time::Duration::from_secs(30 * 60),
];

/// When to try a text again after its attempt number `attempts_before + 1` failed with
/// `err`; None: give up.
pub fn retry_at(attempts_before: u32, err: &SmsError, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !err.retryable() {
        return None;
    }
    let delay = RETRY_SCHEDULE.get(attempts_before as usize)?;
    Some(now + chrono::Duration::from_std(*delay).ok()?)
}

/// The subject of a text when it is long (LMS).
fn subject(kind: SmsKind) -> &'static str {
    match kind {
        SmsKind::Bill => "결제 요청",
        SmsKind::Slip => "매출전표",
        SmsKind::Notice => "안내",
        SmsKind::Receipt => "수금 영수증",
        SmsKind::Share => "공유",
    }
}

/// The sender of a merchant's texts, or why there is none: what [`AppState::sms_sender`] gave.
type SenderOf = Result<Arc<dyn SmsSender>, String>;

async fn send_one(state: &AppState, sms: &SmsRecord, sender: SenderOf) -> SmsAttempt {
    let to = fieldpay_protocol::phone::Phone::parse(&sms.to)
        .map(|p| p.e164())
        .unwrap_or_else(|_| sms.to.clone());
    let out = OutgoingSms {
        to_e164: &to,
        body: &sms.body,
        subject: Some(subject(sms.kind)),
    };
    let sent = match sender {
        Ok(sender) => sender.send(&out).await.map(|sent| (sender.name(), sent)),
        Err(message) => Err(SmsError::Rejected(message)),
    };
    match sent {
        Ok((provider, sent)) => SmsAttempt::Sent {
            provider: provider.to_string(),
            provider_id: sent.provider_id,
        },
        Err(e) => {
            let retry_at = retry_at(sms.attempts, &e, state.clock.now());
            if retry_at.is_some() {
                tracing::warn!(sms_id = sms.id, attempt = sms.attempts + 1, error = %e, "sms send failed; will retry");
            } else {
                tracing::error!(sms_id = sms.id, attempt = sms.attempts + 1, error = %e, "sms send failed; given up");
            }
            SmsAttempt::Failed {
                reason: e.reason().to_string(),
                retry_at,
            }
        }
    }
}

/// Sends one recipient's texts of a batch one after the other; none is started after
/// [`SEND_WITHIN`] (those stay claimed, unmarked).
async fn send_lane(
    state: &AppState,
    senders: &HashMap<MerchantId, SenderOf>,
    lane: Vec<&SmsRecord>,
    started: std::time::Instant,
) -> Vec<(i64, SmsAttempt)> {
    let mut marks = Vec::with_capacity(lane.len());
    for sms in lane {
        if started.elapsed() > SEND_WITHIN {
            break;
        }
        let sender = senders
            .get(&sms.merchant_id)
            .cloned()
            .unwrap_or_else(|| Err("no text sender for the merchant".into()));
        marks.push((sms.id, send_one(state, sms, sender).await));
    }
    marks
}

async fn merchant(state: &AppState, id: &MerchantId) -> Option<Arc<Merchant>> {
    crate::charges::merchant(state, id)
        .await
        .inspect_err(
            |e| tracing::error!(error = %e.message, "cannot read the merchant of a failed text"),
        )
        .ok()
}

/// How long a sender holds the texts it took: past it (the instance crashed while sending),
/// another instance sends them.
const SMS_CLAIM: chrono::Duration = chrono::Duration::seconds(20);
/// No text of a batch is started after this much of its claim has passed: the rest stay
/// claimed and are taken again when the claim runs out, so a slow provider never has a
/// text sent by two instances.
const SEND_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Most texts one sender takes at a time.
pub const SMS_BATCH: u32 = 100;

/// Texts of a batch in flight to the provider at once. One after the other, a provider that
/// answers in 100 ms (Korean SMS APIs answer in tens to hundreds of milliseconds) let an
/// instance send 10 texts a second: a month-end run of a thousand bills waited minutes.
pub const SEND_AT_ONCE: usize = 16;

/// The texts of a batch in lanes, one per recipient: each lane's texts in the batch's order
/// (a payer gets the bill before the text sent after it), the lanes in the order of their
/// first text.
fn recipient_lanes(batch: &[SmsRecord]) -> Vec<Vec<&SmsRecord>> {
    let mut lane_of: HashMap<&str, usize> = HashMap::new();
    let mut lanes: Vec<Vec<&SmsRecord>> = Vec::new();
    for sms in batch {
        let i = *lane_of.entry(sms.to.as_str()).or_insert_with(|| {
            lanes.push(Vec::new());
            lanes.len() - 1
        });
        lanes[i].push(sms);
    }
    lanes
}

/// Sends the pending texts no other sender holds, once each, up to [`SMS_BATCH`]: up to
/// [`SEND_AT_ONCE`] at a time, one recipient's texts one after the other in the order they
/// were written ([`recipient_lanes`]). Returns how many it took (a full batch: more may be
/// waiting).
pub async fn dispatch_pending(state: &AppState) -> usize {
    let now = state.clock.now();
    let pending = match state
        .db(move |s| s.claim_sms(SMS_BATCH, now, now + SMS_CLAIM))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e.message, "cannot read sms outbox");
            return 0;
        }
    };
    // The merchant's own provider when it has one, else the server's: looked up once per
    // merchant of the batch (a store read on a blocking thread per text was 7.5 % of the
    // server's samples at 5,000 charges/s; BENCHMARKS.md, round two, part 5).
    let mut senders: HashMap<MerchantId, SenderOf> = HashMap::new();
    for sms in &pending {
        if !senders.contains_key(&sms.merchant_id) {
            let sender = state
                .sms_sender(&sms.merchant_id)
                .await
                .map_err(|e| e.message);
            senders.insert(sms.merchant_id.clone(), sender);
        }
    }
    let started = std::time::Instant::now();
    let senders = &senders;
    let lanes = recipient_lanes(&pending)
        .into_iter()
        .map(|lane| send_lane(state, senders, lane, started))
        .collect::<Vec<_>>();
    let mut marks: Vec<(i64, SmsAttempt)> = stream::iter(lanes)
        .buffer_unordered(SEND_AT_ONCE)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    marks.sort_unstable_by_key(|(id, _)| *id);
    if marks.len() < pending.len() {
        tracing::warn!(
            left = pending.len() - marks.len(),
            "the text provider is slow: the rest of this batch is sent later"
        );
    }
    // The whole batch is marked in one transaction (a crash before it commits sends these
    // texts again: at least once, as before, with a window of one batch instead of one text).
    // The merchants of the texts given up: their webhook (charge.text_failed) is written with
    // the event.
    let mut merchants = HashMap::new();
    for sms in &pending {
        let given_up = marks
            .iter()
            .any(|(id, a)| *id == sms.id && matches!(a, SmsAttempt::Failed { retry_at: None, .. }));
        if given_up && sms.charge_id.is_some() && !merchants.contains_key(&sms.merchant_id) {
            if let Some(m) = merchant(state, &sms.merchant_id).await {
                merchants.insert(sms.merchant_id.clone(), m);
            }
        }
    }
    let now = state.clock.now();
    let on_given_up = move |rec: &ChargeRecord| Effects {
        sms: Vec::new(),
        webhooks: merchants
            .get(&rec.merchant_id)
            .and_then(|m| crate::webhooks::text_failed_webhook(m, rec, now))
            .into_iter()
            .collect(),
    };
    match state
        .db(move |s| s.mark_sms_batch(&marks, now, &on_given_up))
        .await
    {
        Ok(changed) => {
            // Bills sent (the charge moved to sms_sent) and texts given up (a text_failed
            // event): the apps see the charge again.
            for change in changed {
                state.publish_change(change);
            }
        }
        Err(e) => tracing::error!(error = %e.message, "cannot mark sms"),
    }
    pending.len()
}

#[cfg(test)]
mod lane_tests {
    use super::*;
    use fieldpay_protocol::sms::SmsStatus;

    fn text(id: i64, to: &str) -> SmsRecord {
        SmsRecord {
            id,
            merchant_id: MerchantId::new("m_1"),
            to: to.into(),
            kind: SmsKind::Bill,
            body: format!("bill {id}"),
            charge_id: None,
            status: SmsStatus::Pending,
            created_at: "2026-12-05T00:00:00Z".into(),
            attempts: 0,
            last_error: None,
        }
    }

    #[test]
    fn one_lane_per_phone_in_the_batchs_order() {
        let batch = [
            text(1, "01011110000"),
            text(2, "01022220000"),
            text(3, "01011110000"),
            text(4, "01033330000"),
            text(5, "01011110000"),
            text(6, "01022220000"),
        ];
        let lanes: Vec<Vec<i64>> = recipient_lanes(&batch)
            .into_iter()
            .map(|lane| lane.into_iter().map(|t| t.id).collect())
            .collect();
        assert_eq!(lanes, vec![vec![1, 3, 5], vec![2, 6], vec![4]]);
        assert!(recipient_lanes(&[]).is_empty());
    }
}
