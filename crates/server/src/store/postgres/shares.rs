//! [`ShareStore`] on PostgreSQL.

use chrono::{DateTime, Utc};
use fieldpay_protocol::share::{OrderShare, ShareKind};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::{ChargeId, MerchantId, OrderId};
use tokio_postgres::Row;

use super::{corrupt, PgStore, Tx};
use crate::clock::ts;
use crate::store::shares::{
    check_share_count, no_pdf, order_not_found, same_share, ComposeShare, NewShare, RawShare,
    ShareStore, SHARE_COLS, SHARE_FROM,
};
use crate::store::StoreResult;

fn raw(r: &Row) -> StoreResult<RawShare> {
    Ok(RawShare {
        id: r.try_get(0)?,
        order_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        charge_id: r.try_get(3)?,
        to_phone: r.try_get(4)?,
        link: r.try_get(5)?,
        created_at: r.try_get(6)?,
        status: r.try_get(7)?,
    })
}

fn load(c: &Tx<'_>, merchant_id: &str, id: &str) -> StoreResult<Option<OrderShare>> {
    let sql =
        format!("SELECT {SHARE_COLS} FROM {SHARE_FROM} WHERE s.merchant_id = $1 AND s.id = $2");
    c.query_opt(&sql, &[&merchant_id, &id])?
        .map(|r| raw(&r).and_then(RawShare::share))
        .transpose()
}

impl ShareStore for PgStore {
    fn share_order(
        &self,
        merchant_id: &MerchantId,
        share: &NewShare,
        compose: ComposeShare<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<OrderShare> {
        let mid = merchant_id.as_str();
        let oid = share.order_id.as_str();
        let now = ts(now);
        self.write(|tx| {
            if let Some(stored) = load(tx, mid, &share.id)? {
                same_share(&stored, share)?;
                return Ok(stored);
            }
            let has_pdf: bool = tx
                .query_opt(
                    "SELECT pdf IS NOT NULL FROM orders WHERE merchant_id = $1 AND id = $2",
                    &[&mid, &oid],
                )?
                .ok_or_else(order_not_found)?
                .try_get(0)?;
            let count: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM order_shares WHERE merchant_id = $1 AND order_id = $2",
                    &[&mid, &oid],
                )?
                .try_get(0)?;
            check_share_count(count)?;
            let token = match share.kind {
                ShareKind::PurchaseOrder => {
                    if !has_pdf {
                        return Err(no_pdf());
                    }
                    tx.execute(
                        "INSERT INTO document_links (token, merchant_id, order_id, created_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (merchant_id, order_id) DO NOTHING",
                        &[&share.token, &mid, &oid, &now],
                    )?;
                    tx.query_one(
                        "SELECT token FROM document_links WHERE merchant_id = $1 AND order_id = $2",
                        &[&mid, &oid],
                    )?
                    .try_get::<_, String>(0)?
                }
                ShareKind::Receipt => String::new(),
            };
            let (link, body) = compose(&token);
            let charge_id = share.charge_id.as_ref().map(ChargeId::as_str);
            let sms_id: i64 = tx
                .query_one(
                    "INSERT INTO sms_messages (merchant_id, to_phone, kind, body, charge_id, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
                    &[&mid, &share.to_phone, &SmsKind::Share.as_str(), &body, &charge_id, &now],
                )?
                .try_get(0)?;
            tx.execute(
                "INSERT INTO order_shares (merchant_id, id, order_id, kind, charge_id, to_phone, link, sms_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[&mid, &share.id, &oid, &share.kind.as_str(), &charge_id, &share.to_phone, &link, &sms_id, &now],
            )?;
            load(tx, mid, &share.id)?.ok_or_else(|| corrupt("share vanished"))
        })
    }

    fn order_shares(
        &self,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> StoreResult<Vec<OrderShare>> {
        let sql = format!(
            "SELECT {SHARE_COLS} FROM {SHARE_FROM} WHERE s.merchant_id = $1 AND s.order_id = $2
             ORDER BY s.created_at DESC, s.sms_id DESC"
        );
        let (mid, oid) = (merchant_id.as_str(), order_id.as_str());
        self.read(|c| {
            c.query(&sql, &[&mid, &oid])?
                .iter()
                .map(|r| raw(r).and_then(RawShare::share))
                .collect()
        })
    }

    fn shared_pdf(&self, token: &str) -> StoreResult<Option<(String, Vec<u8>)>> {
        self.read(|c| {
            c.query_opt(
                "SELECT COALESCE(o.number, o.id), o.pdf FROM document_links d
                 JOIN orders o ON o.merchant_id = d.merchant_id AND o.id = d.order_id
                 WHERE d.token = $1 AND o.pdf IS NOT NULL",
                &[&token],
            )?
            .map(|r| -> StoreResult<(String, Vec<u8>)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .transpose()
        })
    }
}
