//! SMS behind a sender boundary. Texts are written to the `sms_messages` outbox in the same
//! transaction as the change that causes them; the dispatcher sends pending ones and marks
//! them sent, so a crash never loses a text and a sent text is not sent again.

pub mod select;
pub mod sender;

use crate::state::AppState;
use crate::store::SmsRecord;

async fn send_one(state: &AppState, sms: &SmsRecord) -> bool {
    let to = fieldpay_protocol::phone::Phone::parse(&sms.to)
        .map(|p| p.e164())
        .unwrap_or_else(|_| sms.to.clone());
    match state.sms.send(&to, &sms.body).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(sms_id = sms.id, error = %e, "sms send failed; will retry");
            false
        }
    }
}

/// How long a sender holds the texts it took: past it (the instance crashed while sending),
/// another instance sends them.
const SMS_CLAIM: chrono::Duration = chrono::Duration::seconds(20);
/// No text of a batch is started after this much of its claim has passed: the rest stay
/// claimed and are taken again when the claim runs out, so a slow provider never has a
/// text sent by two instances.
const SEND_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends the pending texts no other sender holds, once each. Returns how many were sent.
pub async fn dispatch_pending(state: &AppState) -> usize {
    let now = state.clock.now();
    let pending = match state
        .db(move |s| s.claim_sms(100, now, now + SMS_CLAIM))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e.message, "cannot read sms outbox");
            return 0;
        }
    };
    let started = std::time::Instant::now();
    let mut marks = Vec::with_capacity(pending.len());
    for sms in &pending {
        if started.elapsed() > SEND_WITHIN {
            tracing::warn!(
                left = pending.len() - marks.len(),
                "the text provider is slow: the rest of this batch is sent later"
            );
            break;
        }
        marks.push((sms.id, send_one(state, sms).await));
    }
    // The whole batch is marked in one transaction (a crash before it commits sends these
    // texts again: at least once, as before, with a window of one batch instead of one text).
    let sent = marks.iter().filter(|(_, ok)| *ok).count();
    let now = state.clock.now();
    match state.db(move |s| s.mark_sms_batch(&marks, now)).await {
        Ok(bills) => {
            for rec in &bills {
                state.publish(rec);
            }
        }
        Err(e) => tracing::error!(error = %e.message, "cannot mark sms"),
    }
    sent
}
