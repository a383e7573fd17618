//! [`OutboxStore`] on PostgreSQL: the SMS outbox and log, webhook deliveries. Claims are
//! written in serializable transactions: two instances claiming at once are ordered by the
//! database (one runs again and sees the other's claims).

use chrono::{DateTime, Utc};
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::sms::{SmsKind, SmsStatus};
use fieldpay_protocol::{ChargeId, MerchantId};
use tokio_postgres::Row;

use super::charges::charge_by_id;
use super::{
    all_ok, apply_effects, changed, changes_sql, corrupt, id_at, name_at, opt_id_at, u32_at,
    PgStore, Stmt, Tx,
};
use crate::clock::ts;
use crate::store::{
    text_failed_detail, Compose, DeliveryStatus, Effects, NewSms, OutboxStore, SmsAttempt,
    SmsRecord, StatusChange, StoreResult, WebhookAttempt, WebhookRecord,
};

const SMS_COLS: &str =
    "id, merchant_id, to_phone, kind, body, charge_id, status, created_at, attempts, last_error";

const WEBHOOK_COLS: &str = "id, merchant_id, event_type, payload, url, status, attempts, next_attempt_at, last_status, last_error, created_at";

/// Records one failed attempt of a text (sent ones go together, [`mark_sent`]): tried again
/// later, or given up, which adds a `text_failed` event to its charge (status unchanged).
/// Returns what changed of its charge, if anything.
fn mark_failed(
    tx: &Tx<'_>,
    id: i64,
    reason: &str,
    retry_at: Option<&DateTime<Utc>>,
    now: &str,
    on_given_up: Compose<'_>,
) -> StoreResult<Option<StatusChange>> {
    if let Some(at) = retry_at {
        tx.execute(
            "UPDATE sms_messages SET attempts = attempts + 1, claimed_until = NULL,
                next_attempt_at = $2, last_error = $3 WHERE id = $1 AND status = 'pending'",
            &[&id, &ts(*at), &reason],
        )?;
        return Ok(None);
    }
    let given_up = tx.execute(
        "UPDATE sms_messages SET status = 'failed', attempts = attempts + 1, claimed_until = NULL,
            next_attempt_at = NULL, last_error = $2 WHERE id = $1 AND status = 'pending'",
        &[&id, &reason],
    )?;
    if given_up == 0 {
        return Ok(None);
    }
    let charge = tx.query_opt(
        "SELECT c.id, c.merchant_id, c.status, s.kind FROM sms_messages s
         JOIN charges c ON c.merchant_id = s.merchant_id AND c.id = s.charge_id
         WHERE s.id = $1",
        &[&id],
    )?;
    let Some(row) = charge else {
        return Ok(None);
    };
    let (cid, merchant_id, status, kind): (String, String, String, String) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    );
    let kind = SmsKind::parse(&kind).ok_or_else(|| corrupt("sms kind"))?;
    tx.execute(
        "INSERT INTO charge_events (merchant_id, charge_id, status, at, detail, kind)
         VALUES ($1, $2, $3, $4, $5, 'text_failed')",
        &[
            &merchant_id,
            &cid,
            &status,
            &now,
            &text_failed_detail(kind, reason),
        ],
    )?;
    changed(tx, &merchant_id, "charge", &cid)?;
    let rec = charge_by_id(tx, &cid)?;
    apply_effects(tx, &merchant_id, Some(&cid), &on_given_up(&rec), now)?;
    Ok(Some(rec.status_change()))
}

/// Records texts the provider took (`marks`, all [`SmsAttempt::Sent`]) in three round trips
/// whatever their number: each text sent; the charge of each sent bill moved from requested
/// to sms_sent, with its event and change (a charge past requested, its bill sent again, is
/// left as it is). Answers the moved charges in the order of their texts.
fn mark_sent(
    tx: &Tx<'_>,
    marks: &[(i64, SmsAttempt)],
    now: &str,
) -> StoreResult<Vec<StatusChange>> {
    let mut ids = Vec::with_capacity(marks.len());
    let mut providers = Vec::with_capacity(marks.len());
    let mut provider_ids = Vec::with_capacity(marks.len());
    for (id, attempt) in marks {
        if let SmsAttempt::Sent {
            provider,
            provider_id,
        } = attempt
        {
            ids.push(*id);
            providers.push(provider.as_str());
            provider_ids.push(provider_id.as_deref());
        }
    }
    let mut sent: Vec<(i64, String, Option<String>)> = Vec::new();
    for r in tx.query(
        "UPDATE sms_messages s SET status = 'sent', attempts = s.attempts + 1, sent_at = $1,
            claimed_until = NULL, next_attempt_at = NULL, provider = m.provider, provider_id = m.provider_id
         FROM unnest($2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS m(id, provider, provider_id, ord)
         WHERE s.id = m.id
         RETURNING m.ord, s.merchant_id, CASE s.kind WHEN 'bill' THEN s.charge_id END",
        &[&now, &ids, &providers, &provider_ids],
    )? {
        sent.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
    }
    sent.sort_by_key(|t| t.0);
    // The bills' charges, in the texts' order, each once.
    let mut bills: Vec<(String, String)> = Vec::new();
    for (_, m, charge) in sent {
        if let Some(c) = charge {
            if !bills.iter().any(|(bm, bc)| *bm == m && *bc == c) {
                bills.push((m, c));
            }
        }
    }
    if bills.is_empty() {
        return Ok(Vec::new());
    }
    let merchants: Vec<&str> = bills.iter().map(|(m, _)| m.as_str()).collect();
    let charges: Vec<&str> = bills.iter().map(|(_, c)| c.as_str()).collect();
    let mut moved: Vec<(i64, StatusChange)> = Vec::new();
    for r in tx.query(
        "UPDATE charges c SET status = 'sms_sent', updated_at = $1
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(merchant_id, id, ord)
         WHERE c.merchant_id = k.merchant_id AND c.id = k.id AND c.status = 'requested'
         RETURNING k.ord, c.merchant_id, c.id, c.account_id, c.rep_id, c.amount",
        &[&now, &merchants, &charges],
    )? {
        let (m, c): (String, String) = (r.try_get(1)?, r.try_get(2)?);
        let change =
            StatusChange::bill_sent(&m, &c, now, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?);
        moved.push((r.try_get(0)?, change));
    }
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    moved.sort_by_key(|m| m.0);
    let moved: Vec<StatusChange> = moved.into_iter().map(|(_, c)| c).collect();
    let event_merchants: Vec<&str> = moved.iter().map(|c| c.merchant_id.as_str()).collect();
    let event_charges: Vec<&str> = moved.iter().map(|c| c.event.charge_id.as_str()).collect();
    let sms_sent = ChargeStatus::SmsSent.as_str();
    // The change rows, per merchant in the texts' order; the merchants' counter rows in
    // sorted order, as a group of charges takes them (`hold_change_log`), so two calls never
    // wait for each other in a circle.
    let mut logged: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for c in &moved {
        logged
            .entry(c.merchant_id.as_str())
            .or_default()
            .push(c.event.charge_id.clone());
    }
    let changes = changes_sql("charge")?;
    let mut stmts: Vec<Stmt<'_>> = vec![(
        "INSERT INTO charge_events (merchant_id, charge_id, status, at, detail)
         SELECT k.merchant_id, k.charge_id, $3, $4, NULL
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(merchant_id, charge_id, ord)
         ORDER BY k.ord",
        vec![&event_merchants, &event_charges, &sms_sent, &now],
    )];
    for (merchant_id, ids) in &logged {
        stmts.push((&changes, vec![merchant_id, &"charge", ids]));
    }
    all_ok(tx.pipeline(&stmts))?;
    Ok(moved)
}

fn webhook_from_row(r: &Row) -> StoreResult<WebhookRecord> {
    let last_status = r
        .try_get::<_, Option<i64>>(8)?
        .map(|s| u16::try_from(s).map_err(|_| corrupt("webhook last status")))
        .transpose()?;
    Ok(WebhookRecord {
        id: r.try_get(0)?,
        merchant_id: id_at(r, 1)?,
        event_type: r.try_get(2)?,
        payload: r.try_get(3)?,
        url: r.try_get(4)?,
        status: name_at(r, 5, DeliveryStatus::parse)?,
        attempts: u32_at(r, 6)?,
        next_attempt_at: r.try_get(7)?,
        last_status,
        last_error: r.try_get(9)?,
        created_at: r.try_get(10)?,
    })
}

fn sms_from_row(r: &Row) -> StoreResult<SmsRecord> {
    Ok(SmsRecord {
        id: r.try_get(0)?,
        merchant_id: id_at(r, 1)?,
        to: r.try_get(2)?,
        kind: name_at(r, 3, SmsKind::parse)?,
        body: r.try_get(4)?,
        charge_id: opt_id_at(r, 5)?,
        status: name_at(r, 6, SmsStatus::parse)?,
        created_at: r.try_get(7)?,
        attempts: u32_at(r, 8)?,
        last_error: r.try_get(9)?,
    })
}

fn rows_to<T>(rows: Vec<Row>, f: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

impl OutboxStore for PgStore {
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
        let fx = Effects {
            sms: vec![sms.clone()],
            webhooks: Vec::new(),
        };
        self.write(|tx| apply_effects(tx, merchant_id, charge_id, &fx, &now))
    }

    fn pending_sms(&self, limit: u32) -> StoreResult<Vec<SmsRecord>> {
        let limit = i64::from(limit);
        self.read(|tx| {
            rows_to(
                tx.query(
                    &format!(
                        "SELECT {SMS_COLS} FROM sms_messages WHERE status = 'pending' ORDER BY id LIMIT $1"
                    ),
                    &[&limit],
                )?,
                sms_from_row,
            )
        })
    }

    fn claim_sms(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Vec<SmsRecord>> {
        let (now, until) = (ts(now), ts(claim_until));
        let limit = i64::from(limit);
        self.write(|tx| {
            let mut rows = rows_to(
                tx.query(
                    &format!(
                        "UPDATE sms_messages SET claimed_until = $3
                         WHERE id IN (SELECT id FROM sms_messages
                                      WHERE status = 'pending' AND (claimed_until IS NULL OR claimed_until <= $2)
                                        AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
                                      ORDER BY id LIMIT $1)
                         RETURNING {SMS_COLS}"
                    ),
                    &[&limit, &now, &until],
                )?,
                sms_from_row,
            )?;
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
            let mut rest = marks;
            while let Some((id, attempt)) = rest.first() {
                // A run of sent texts together (usually the whole batch); other marks one by one.
                let run = rest
                    .iter()
                    .take_while(|(_, a)| matches!(a, SmsAttempt::Sent { .. }))
                    .count();
                if run > 0 {
                    bills.extend(mark_sent(tx, &rest[..run], &now)?);
                    rest = &rest[run..];
                    continue;
                }
                if let SmsAttempt::Failed { reason, retry_at } = attempt {
                    if let Some(rec) =
                        mark_failed(tx, *id, reason, retry_at.as_ref(), &now, on_given_up)?
                    {
                        bills.push(rec);
                    }
                }
                rest = &rest[1..];
            }
            Ok(bills)
        })
    }

    fn sms_for_phone(&self, phone: &str, limit: u32) -> StoreResult<Vec<SmsRecord>> {
        let limit = i64::from(limit);
        self.read(|tx| {
            rows_to(
                tx.query(
                    &format!(
                        "SELECT {SMS_COLS} FROM sms_messages
                         WHERE to_phone = $1 AND status = 'sent' ORDER BY id DESC LIMIT $2"
                    ),
                    &[&phone, &limit],
                )?,
                sms_from_row,
            )
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
        let limit = i64::from(limit);
        let busy: Vec<&str> = busy.iter().map(MerchantId::as_str).collect();
        self.write(|tx| {
            // Of each merchant with no delivery held by a sender (here or in another
            // instance, or in `busy`), its first due delivery; the first `limit` of those.
            let mut picked = rows_to(
                tx.query(
                    &format!(
                        "WITH first AS (
                             SELECT DISTINCT ON (merchant_id) merchant_id, id, next_attempt_at
                             FROM webhook_deliveries
                             WHERE status = 'pending' AND next_attempt_at <= $1
                               AND (claimed_until IS NULL OR claimed_until <= $1)
                               AND merchant_id <> ALL($2::text[])
                               AND merchant_id NOT IN (
                                   SELECT merchant_id FROM webhook_deliveries
                                   WHERE status = 'pending' AND claimed_until > $1)
                             ORDER BY merchant_id, next_attempt_at COLLATE \"C\", id COLLATE \"C\"),
                         picked AS (
                             SELECT merchant_id, id FROM first
                             ORDER BY next_attempt_at COLLATE \"C\", id COLLATE \"C\" LIMIT $3)
                         UPDATE webhook_deliveries w SET claimed_until = $4
                         FROM picked p WHERE w.merchant_id = p.merchant_id AND w.id = p.id
                         RETURNING {}",
                        WEBHOOK_COLS
                            .split(", ")
                            .map(|c| format!("w.{c}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    &[&now, &busy, &limit, &until],
                )?,
                webhook_from_row,
            )?;
            // Oldest first, as they were picked.
            picked.sort_by(|a, b| {
                (a.next_attempt_at.as_bytes(), a.id.as_bytes())
                    .cmp(&(b.next_attempt_at.as_bytes(), b.id.as_bytes()))
            });
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
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = $2,
                        last_error = NULL, delivered_at = $3, claimed_until = NULL WHERE id = $1",
                    &[&id, &i64::from(*status), &now],
                )?,
                WebhookAttempt::Failed {
                    status,
                    error,
                    retry_at,
                } => tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,
                        status = $4, next_attempt_at = $5, claimed_until = NULL WHERE id = $1",
                    &[
                        &id,
                        &status.map(i64::from),
                        error,
                        &if retry_at.is_some() { "pending" } else { "failed" },
                        &retry_at.map(ts).unwrap_or_else(|| now.clone()),
                    ],
                )?,
            };
            Ok(())
        })
    }

    fn webhooks(&self, merchant_id: &MerchantId, limit: u32) -> StoreResult<Vec<WebhookRecord>> {
        let merchant_id = merchant_id.as_str();
        let limit = i64::from(limit);
        self.read(|tx| {
            rows_to(
                tx.query(
                    &format!(
                        "SELECT {WEBHOOK_COLS} FROM webhook_deliveries WHERE merchant_id = $1
                         ORDER BY created_at COLLATE \"C\" DESC LIMIT $2"
                    ),
                    &[&merchant_id, &limit],
                )?,
                webhook_from_row,
            )
        })
    }
}
