//! [`PaymentLinkStore`] on PostgreSQL, and the claim of a link inside a charge's transaction.

use chrono::{DateTime, Utc};
use fieldpay_protocol::{ChargeId, ErrorCode, MerchantId};
use tokio_postgres::Row;

use super::{rejected, PgStore, Tx};
use crate::clock::ts;
use crate::store::links::{
    cancel_rule, claim_rule, Claim, LinkUse, NewPaymentLink, PaymentLinkRecord, PaymentLinkStore,
    RawLink, LINK_COLS, LINK_FROM,
};
use crate::store::StoreResult;

fn raw(r: &Row) -> StoreResult<RawLink> {
    Ok(RawLink {
        id: r.try_get(0)?,
        merchant_id: r.try_get(1)?,
        source: r.try_get(2)?,
        signature: r.try_get(3)?,
        mode: r.try_get(4)?,
        goods_name: r.try_get(5)?,
        amount: r.try_get(6)?,
        payer_name: r.try_get(7)?,
        payer_phone: r.try_get(8)?,
        payer_email: r.try_get(9)?,
        order_ref: r.try_get(10)?,
        orderer_name: r.try_get(11)?,
        orderer_phone: r.try_get(12)?,
        expires_at: r.try_get(13)?,
        installments: r.try_get(14)?,
        status_token: r.try_get(15)?,
        created_by: r.try_get(16)?,
        status: r.try_get(17)?,
        charge_id: r.try_get(18)?,
        created_at: r.try_get(19)?,
        canceled_at: r.try_get(20)?,
        charge_status: r.try_get(21)?,
        charge_bound: r.try_get(22)?,
    })
}

fn load(
    c: &Tx<'_>,
    filter: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> StoreResult<Option<PaymentLinkRecord>> {
    let sql = format!("SELECT {LINK_COLS} FROM {LINK_FROM} WHERE {filter}");
    c.query_opt(&sql, args)?
        .map(|r| raw(&r).and_then(RawLink::record))
        .transpose()
}

fn insert(c: &Tx<'_>, new: &NewPaymentLink, now: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO payment_links (id, merchant_id, source, signature, mode, goods_name, amount,
            payer_name, payer_phone, payer_email, order_ref, orderer_name, orderer_phone,
            expires_at, installments, status_token, created_by, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'open', $18)",
        &[
            &new.id,
            &new.merchant_id.as_str(),
            &new.source.as_str(),
            &new.signature,
            &new.mode.as_str(),
            &new.goods_name,
            &new.amount,
            &new.payer_name,
            &new.payer_phone,
            &new.payer_email,
            &new.order_ref,
            &new.orderer_name,
            &new.orderer_phone,
            &ts(new.expires_at),
            &new.installments,
            &new.status_token,
            &new.created_by,
            &now,
        ],
    )?;
    Ok(())
}

/// Claims the link a new charge uses (inside the charge's transaction): stores a signed link
/// on its first use; answers the live charge it has, or refuses a paid, canceled or expired
/// link (see [`claim_rule`]).
pub(super) fn claim(
    c: &Tx<'_>,
    merchant_id: &MerchantId,
    link: &LinkUse,
    now: DateTime<Utc>,
) -> StoreResult<Claim> {
    let m = merchant_id.as_str();
    let rec = match link {
        LinkUse::Stored(id) => load(c, "l.merchant_id = $1 AND l.id = $2", &[&m, id])?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "payment link not found"))?,
        LinkUse::Signed(new) => {
            let sig = new.signature.as_deref().unwrap_or_default();
            match load(c, "l.merchant_id = $1 AND l.signature = $2", &[&m, &sig])? {
                Some(rec) => rec,
                None => {
                    insert(c, new, &ts(now))?;
                    load(c, "l.id = $1", &[&new.id])?
                        .ok_or_else(|| rejected(ErrorCode::Internal, "link not stored"))?
                }
            }
        }
    };
    claim_rule(&rec, now)
}

/// Makes `charge_id` the link's current charge.
pub(super) fn attach(c: &Tx<'_>, link_id: &str, charge_id: &ChargeId) -> StoreResult<()> {
    c.execute(
        "UPDATE payment_links SET charge_id = $2 WHERE id = $1",
        &[&link_id, &charge_id.as_str()],
    )?;
    Ok(())
}

impl PaymentLinkStore for PgStore {
    fn create_payment_link(
        &self,
        new: &NewPaymentLink,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentLinkRecord> {
        self.write(|tx| {
            let taken: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM payment_links WHERE id = $1 OR status_token = $2)",
                    &[&new.id, &new.status_token],
                )?
                .try_get(0)?;
            if taken {
                return Err(rejected(ErrorCode::Conflict, "payment link id already taken"));
            }
            insert(tx, new, &ts(now))?;
            load(tx, "l.id = $1", &[&new.id])?
                .ok_or_else(|| rejected(ErrorCode::Internal, "link not stored"))
        })
    }

    fn payment_link(
        &self,
        merchant_id: &MerchantId,
        id: &str,
    ) -> StoreResult<Option<PaymentLinkRecord>> {
        let m = merchant_id.as_str();
        self.read(|c| load(c, "l.merchant_id = $1 AND l.id = $2", &[&m, &id]))
    }

    fn payment_link_any(&self, id: &str) -> StoreResult<Option<PaymentLinkRecord>> {
        self.read(|c| load(c, "l.id = $1", &[&id]))
    }

    fn payment_link_by_token(&self, token: &str) -> StoreResult<Option<PaymentLinkRecord>> {
        self.read(|c| load(c, "l.status_token = $1", &[&token]))
    }

    fn payment_link_by_signature(
        &self,
        merchant_id: &MerchantId,
        signature: &str,
    ) -> StoreResult<Option<PaymentLinkRecord>> {
        let m = merchant_id.as_str();
        self.read(|c| {
            load(
                c,
                "l.merchant_id = $1 AND l.signature = $2",
                &[&m, &signature],
            )
        })
    }

    fn cancel_payment_link(
        &self,
        merchant_id: &MerchantId,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentLinkRecord> {
        let m = merchant_id.as_str();
        self.write(|tx| {
            let rec = load(tx, "l.merchant_id = $1 AND l.id = $2", &[&m, &id])?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "payment link not found"))?;
            cancel_rule(&rec, now)?;
            if !rec.canceled {
                tx.execute(
                    "UPDATE payment_links SET status = 'canceled', canceled_at = $2 WHERE id = $1",
                    &[&id, &ts(now)],
                )?;
            }
            load(tx, "l.id = $1", &[&id])?.ok_or_else(|| rejected(ErrorCode::Internal, "link gone"))
        })
    }
}
