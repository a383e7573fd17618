//! [`OutboxStore`] on SQLite: the SMS outbox and log, webhook deliveries.

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::sms::{SmsKind, SmsStatus};
use fieldpay_protocol::{ChargeId, MerchantId};
use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::charges::{add_event, charge_by_id};
use super::{apply_effects, changed, id_at, name_at, opt_id_at, SqliteStore};
use crate::clock::ts;
use crate::store::{
    text_failed_detail, Compose, DeliveryStatus, Effects, NewSms, OutboxStore, SmsAttempt,
    SmsRecord, StatusChange, StoreError, StoreResult, WebhookAttempt, WebhookRecord,
};

const WEBHOOK_COLS: &str = "id, merchant_id, event_type, payload, url, status, attempts, next_attempt_at, last_status, last_error, created_at";

const SMS_COLS: &str =
    "id, merchant_id, to_phone, kind, body, charge_id, status, created_at, attempts, last_error";

/// Records one attempt of a text. A sent bill moves its charge to sms_sent (if it is still at
/// requested); a text given up adds a `text_failed` event to its charge (status unchanged).
/// Returns what changed of its charge, if anything.
fn mark_one_sms(
    tx: &Transaction<'_>,
    id: i64,
    attempt: &SmsAttempt,
    now: &str,
    on_given_up: Compose<'_>,
) -> StoreResult<Option<StatusChange>> {
    match attempt {
        SmsAttempt::Failed {
            reason,
            retry_at: Some(at),
        } => {
            tx.prepare_cached(
                "UPDATE sms_messages SET attempts = attempts + 1, claimed_until = NULL,
                    next_attempt_at = ?2, last_error = ?3 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![id, ts(*at), reason])?;
            Ok(None)
        }
        SmsAttempt::Failed {
            reason,
            retry_at: None,
        } => {
            let given_up = tx
                .prepare_cached(
                    "UPDATE sms_messages SET status = 'failed', attempts = attempts + 1, claimed_until = NULL,
                        next_attempt_at = NULL, last_error = ?2 WHERE id = ?1 AND status = 'pending'",
                )?
                .execute(params![id, reason])?;
            if given_up == 0 {
                return Ok(None);
            }
            let charge: Option<(String, String, String, String)> = tx
                .prepare_cached(
                    "SELECT c.id, c.merchant_id, c.status, s.kind FROM sms_messages s
                     JOIN charges c ON c.id = s.charge_id WHERE s.id = ?1",
                )?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let Some((cid, merchant_id, status, kind)) = charge else {
                return Ok(None);
            };
            let kind = SmsKind::parse(&kind).ok_or_else(|| StoreError::corrupt("sms kind"))?;
            tx.prepare_cached(
                "INSERT INTO charge_events (charge_id, status, at, detail, kind) VALUES (?1, ?2, ?3, ?4, 'text_failed')",
            )?
            .execute(params![cid, status, now, text_failed_detail(kind, reason)])?;
            changed(tx, &merchant_id, "charge", &cid)?;
            let rec = charge_by_id(tx, &cid)?;
            apply_effects(tx, &merchant_id, Some(&cid), &on_given_up(&rec), now)?;
            Ok(Some(rec.status_change()))
        }
        SmsAttempt::Sent {
            provider,
            provider_id,
        } => {
            let bill: Option<Option<String>> = tx
                .prepare_cached(
                    "UPDATE sms_messages SET status = 'sent', attempts = attempts + 1, sent_at = ?2, claimed_until = NULL,
                        next_attempt_at = NULL, provider = ?3, provider_id = ?4 WHERE id = ?1
                     RETURNING CASE kind WHEN 'bill' THEN charge_id END",
                )?
                .query_row(params![id, now, provider, provider_id], |r| r.get(0))
                .optional()?;
            match bill.flatten() {
                Some(charge_id) => bill_sent(tx, &charge_id, now),
                None => Ok(None),
            }
        }
    }
}

/// Moves the charge of a sent bill from requested to sms_sent. The usual `charges::transition`, in
/// fewer statements (one text per charge, so this ran as often as charge creation: the
/// guarded update instead of a read of the status, no read-back of the charge): a charge past
/// requested (its bill sent again) is left as it is.
fn bill_sent(
    tx: &Transaction<'_>,
    charge_id: &str,
    now: &str,
) -> StoreResult<Option<StatusChange>> {
    let moved = tx
        .prepare_cached(
            "UPDATE charges SET status = 'sms_sent', updated_at = ?2 WHERE id = ?1 AND status = 'requested'
             RETURNING merchant_id, account_id, rep_id, amount",
        )?
        .query_row(params![charge_id, now], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let Some((merchant_id, account_id, rep_id, amount)) = moved else {
        return Ok(None);
    };
    add_event(tx, charge_id, ChargeStatus::SmsSent, None, now)?;
    changed(tx, &merchant_id, "charge", charge_id)?;
    Ok(Some(StatusChange::bill_sent(
        &merchant_id,
        charge_id,
        now,
        account_id,
        rep_id,
        amount,
    )))
}

fn webhook_from_row(r: &Row<'_>) -> rusqlite::Result<WebhookRecord> {
    Ok(WebhookRecord {
        id: r.get(0)?,
        merchant_id: id_at(r, 1)?,
        event_type: r.get(2)?,
        payload: r.get(3)?,
        url: r.get(4)?,
        status: name_at(r, 5, DeliveryStatus::parse)?,
        attempts: r.get(6)?,
        next_attempt_at: r.get(7)?,
        last_status: r.get(8)?,
        last_error: r.get(9)?,
        created_at: r.get(10)?,
    })
}

fn sms_from_row(r: &Row<'_>) -> rusqlite::Result<SmsRecord> {
    Ok(SmsRecord {
        id: r.get(0)?,
        merchant_id: id_at(r, 1)?,
        to: r.get(2)?,
        kind: name_at(r, 3, SmsKind::parse)?,
        body: r.get(4)?,
        charge_id: opt_id_at(r, 5)?,
        status: name_at(r, 6, SmsStatus::parse)?,
        created_at: r.get(7)?,
        attempts: r.get(8)?,
        last_error: r.get(9)?,
    })
}

impl OutboxStore for SqliteStore {
    fn enqueue_sms(
        &self,
        merchant_id: &MerchantId,
        charge_id: Option<&ChargeId>,
        sms: &NewSms,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let merchant_id = merchant_id.as_str();
        let charge_id = charge_id.map(ChargeId::as_str);
        let now = ts(now);
        self.write(|tx| {
            let fx = Effects {
                sms: vec![sms.clone()],
                webhooks: Vec::new(),
            };
            apply_effects(tx, merchant_id, charge_id, &fx, &now)
        })
    }

    fn pending_sms(&self, limit: u32) -> StoreResult<Vec<SmsRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {SMS_COLS} FROM sms_messages WHERE status = 'pending' ORDER BY id LIMIT ?1"
            ))?;
            let rows = stmt
                .query_map([limit], sms_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn claim_sms(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Vec<SmsRecord>> {
        let (now, until) = (ts(now), ts(claim_until));
        self.write(|tx| {
            // The limit is written into the statement, not bound: SQLite plans `LIMIT ?` with
            // the bound value and so compiles the statement again every time one is bound
            // (a tenth of the server's time at 250 charges a second, seen in a profile).
            let rows = tx
                .prepare_cached(&format!(
                    "UPDATE sms_messages SET claimed_until = ?2
                     WHERE id IN (SELECT id FROM sms_messages
                                  WHERE status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?1)
                                    AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                                  ORDER BY id LIMIT {limit})
                     RETURNING {SMS_COLS}"
                ))?
                .query_map(params![now, until], sms_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut rows = rows;
            rows.sort_by_key(|r| r.id);
            Ok(rows)
        })
    }

    fn mark_sms_batch(
        &self,
        marks: &[(i64, SmsAttempt)],
        now: DateTime<Utc>,
        on_given_up: Compose<'_>,
    ) -> StoreResult<Vec<StatusChange>> {
        let now = ts(now);
        self.write(|tx| {
            let mut bills = Vec::new();
            for (id, attempt) in marks {
                if let Some(rec) = mark_one_sms(tx, *id, attempt, &now, on_given_up)? {
                    bills.push(rec);
                }
            }
            Ok(bills)
        })
    }

    fn sms_for_phone(&self, phone: &str, limit: u32) -> StoreResult<Vec<SmsRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {SMS_COLS} FROM sms_messages
                 WHERE to_phone = ?1 AND status = 'sent' ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = stmt
                .query_map(params![phone, limit], sms_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        busy: &[MerchantId],
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Vec<WebhookRecord>> {
        let (now, until) = (ts(now), ts(claim_until));
        self.write(|tx| {
            // Merchants with a delivery held by a sender (here or in another instance).
            let mut held: std::collections::HashSet<String> = tx
                .prepare_cached(
                    "SELECT DISTINCT merchant_id FROM webhook_deliveries
                     WHERE status = 'pending' AND claimed_until > ?1",
                )?
                .query_map([&now], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            held.extend(busy.iter().map(|m| m.as_str().to_string()));
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {WEBHOOK_COLS} FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= ?1
                   AND (claimed_until IS NULL OR claimed_until <= ?1)
                 ORDER BY next_attempt_at, id"
            ))?;
            let mut rows = stmt.query(params![now])?;
            let mut picked = Vec::new();
            while let Some(r) = rows.next()? {
                if picked.len() >= limit as usize {
                    break;
                }
                let w = webhook_from_row(r)?;
                // One per merchant: the merchant's next one waits for this one's answer.
                if held.insert(w.merchant_id.as_str().to_string()) {
                    picked.push(w);
                }
            }
            drop(rows);
            let mut claim = tx
                .prepare_cached("UPDATE webhook_deliveries SET claimed_until = ?2 WHERE id = ?1")?;
            for w in &picked {
                claim.execute(params![w.id, until])?;
            }
            Ok(picked)
        })
    }

    fn record_webhook_attempt(
        &self,
        id: &str,
        attempt: &WebhookAttempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = ts(now);
        self.write(|tx| {
            match attempt {
                WebhookAttempt::Delivered { status } => tx.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?2,
                        last_error = NULL, delivered_at = ?3, claimed_until = NULL WHERE id = ?1",
                    params![id, status, now],
                )?,
                WebhookAttempt::Failed { status, error, retry_at } => tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?2, last_error = ?3,
                        status = ?4, next_attempt_at = ?5, claimed_until = NULL WHERE id = ?1",
                    params![
                        id,
                        status,
                        error,
                        if retry_at.is_some() { "pending" } else { "failed" },
                        retry_at.map(ts).unwrap_or(now)
                    ],
                )?,
            };
            Ok(())
        })
    }

    fn webhooks(&self, merchant_id: &MerchantId, limit: u32) -> StoreResult<Vec<WebhookRecord>> {
        let merchant_id = merchant_id.as_str();
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WEBHOOK_COLS} FROM webhook_deliveries WHERE merchant_id = ?1 ORDER BY created_at DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![merchant_id, limit], webhook_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
