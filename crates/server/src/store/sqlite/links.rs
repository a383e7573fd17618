//! [`PaymentLinkStore`] on SQLite, and the claim of a link inside a charge's transaction.

use chrono::{DateTime, Utc};
use fieldpay_protocol::{ChargeId, ErrorCode, MerchantId};
use rusqlite::{params, Connection, OptionalExtension, ToSql};

use super::{rejected, SqliteStore};
use crate::clock::ts;
use crate::store::links::{
    cancel_rule, claim_rule, Claim, LinkUse, NewPaymentLink, PaymentLinkRecord, PaymentLinkStore,
    RawLink, LINK_COLS, LINK_FROM,
};
use crate::store::StoreResult;

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawLink> {
    Ok(RawLink {
        id: r.get(0)?,
        merchant_id: r.get(1)?,
        source: r.get(2)?,
        signature: r.get(3)?,
        mode: r.get(4)?,
        goods_name: r.get(5)?,
        amount: r.get(6)?,
        payer_name: r.get(7)?,
        payer_phone: r.get(8)?,
        payer_email: r.get(9)?,
        order_ref: r.get(10)?,
        orderer_name: r.get(11)?,
        orderer_phone: r.get(12)?,
        expires_at: r.get(13)?,
        installments: r.get(14)?,
        status_token: r.get(15)?,
        created_by: r.get(16)?,
        status: r.get(17)?,
        charge_id: r.get(18)?,
        created_at: r.get(19)?,
        canceled_at: r.get(20)?,
        charge_status: r.get(21)?,
        charge_bound: r.get(22)?,
    })
}

fn load(
    c: &Connection,
    filter: &str,
    args: &[&dyn ToSql],
) -> StoreResult<Option<PaymentLinkRecord>> {
    let sql = format!("SELECT {LINK_COLS} FROM {LINK_FROM} WHERE {filter}");
    let row = c.prepare_cached(&sql)?.query_row(args, raw).optional()?;
    row.map(RawLink::record).transpose()
}

fn insert(c: &Connection, new: &NewPaymentLink, now: &str) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO payment_links (id, merchant_id, source, signature, mode, goods_name, amount,
            payer_name, payer_phone, payer_email, order_ref, orderer_name, orderer_phone,
            expires_at, installments, status_token, created_by, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 'open', ?18)",
    )?
    .execute(params![
        new.id,
        new.merchant_id.as_str(),
        new.source.as_str(),
        new.signature,
        new.mode.as_str(),
        new.goods_name,
        new.amount,
        new.payer_name,
        new.payer_phone,
        new.payer_email,
        new.order_ref,
        new.orderer_name,
        new.orderer_phone,
        ts(new.expires_at),
        new.installments,
        new.status_token,
        new.created_by,
        now
    ])?;
    Ok(())
}

/// Claims the link a new charge uses (inside the charge's transaction): stores a signed link
/// on its first use; answers the live charge it has, or refuses a paid, canceled or expired
/// link (see [`claim_rule`]).
pub(super) fn claim(
    c: &Connection,
    merchant_id: &MerchantId,
    link: &LinkUse,
    now: DateTime<Utc>,
) -> StoreResult<Claim> {
    let m = merchant_id.as_str();
    let rec = match link {
        LinkUse::Stored(id) => load(c, "l.merchant_id = ?1 AND l.id = ?2", &[&m, id])?
            .ok_or_else(|| rejected(ErrorCode::NotFound, "payment link not found"))?,
        LinkUse::Signed(new) => {
            let sig = new.signature.as_deref().unwrap_or_default();
            match load(c, "l.merchant_id = ?1 AND l.signature = ?2", &[&m, &sig])? {
                Some(rec) => rec,
                None => {
                    insert(c, new, &ts(now))?;
                    load(c, "l.id = ?1", &[&new.id])?
                        .ok_or_else(|| rejected(ErrorCode::Internal, "link not stored"))?
                }
            }
        }
    };
    claim_rule(&rec, now)
}

/// Makes `charge_id` the link's current charge.
pub(super) fn attach(c: &Connection, link_id: &str, charge_id: &ChargeId) -> StoreResult<()> {
    c.prepare_cached("UPDATE payment_links SET charge_id = ?2 WHERE id = ?1")?
        .execute(params![link_id, charge_id.as_str()])?;
    Ok(())
}

impl PaymentLinkStore for SqliteStore {
    fn create_payment_link(
        &self,
        new: &NewPaymentLink,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentLinkRecord> {
        self.write(|tx| {
            let taken: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM payment_links WHERE id = ?1 OR status_token = ?2)",
                )?
                .query_row(params![new.id, new.status_token], |r| r.get(0))?;
            if taken {
                return Err(rejected(ErrorCode::Conflict, "payment link id already taken"));
            }
            insert(tx, new, &ts(now))?;
            load(tx, "l.id = ?1", &[&new.id])?
                .ok_or_else(|| rejected(ErrorCode::Internal, "link not stored"))
        })
    }

    fn payment_link(
        &self,
        merchant_id: &MerchantId,
        id: &str,
    ) -> StoreResult<Option<PaymentLinkRecord>> {
        let m = merchant_id.as_str();
        self.read(|c| load(c, "l.merchant_id = ?1 AND l.id = ?2", &[&m, &id]))
    }

    fn payment_link_any(&self, id: &str) -> StoreResult<Option<PaymentLinkRecord>> {
        self.read(|c| load(c, "l.id = ?1", &[&id]))
    }

    fn payment_link_by_token(&self, token: &str) -> StoreResult<Option<PaymentLinkRecord>> {
        self.read(|c| load(c, "l.status_token = ?1", &[&token]))
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
                "l.merchant_id = ?1 AND l.signature = ?2",
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
            let rec = load(tx, "l.merchant_id = ?1 AND l.id = ?2", &[&m, &id])?
                .ok_or_else(|| rejected(ErrorCode::NotFound, "payment link not found"))?;
            cancel_rule(&rec, now)?;
            if !rec.canceled {
                tx.execute(
                    "UPDATE payment_links SET status = 'canceled', canceled_at = ?2 WHERE id = ?1",
                    params![id, ts(now)],
                )?;
            }
            load(tx, "l.id = ?1", &[&id])?.ok_or_else(|| rejected(ErrorCode::Internal, "link gone"))
        })
    }
}
