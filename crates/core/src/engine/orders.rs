//! Orders (발주서): reads, preview, drafts, reorder, signature and submission (the signed
//! purchase-order PDF is made here).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{
    CreditCheck, EngineEvent, LineInput, LocalOrder, OrderPreview, SignatureInput, SyncState,
};
use fieldpay_protocol::auth::RepInfo;
use fieldpay_protocol::evidence::SignedContent;
use fieldpay_protocol::numbering;
use fieldpay_protocol::records::{Order, OrderLineInput, OrderStatus, SignatureEvidence};
use fieldpay_protocol::sync::MutationKind;
use fieldpay_protocol::validate::format_business_number;
use fieldpay_protocol::ErrorCode;

use crate::db::ts;
use crate::error::{CoreError, CoreResult};
use crate::orders;

use super::{kst_now_string, new_id, Engine};

impl Engine {
    /// The next purchase-order number of the signed-in rep's series on the KST day of `now`
    /// (`PO-20261203-R01-0001`); `None` when the server gave the rep no series.
    fn next_order_number(
        &self,
        session: &RepInfo,
        now: DateTime<Utc>,
    ) -> CoreResult<Option<String>> {
        if !numbering::is_series(&session.series) {
            return Ok(None);
        }
        let day = now
            .with_timezone(&fieldpay_protocol::time::kst())
            .format("%Y%m%d")
            .to_string();
        let kind = numbering::DocKind::PurchaseOrder;
        let n = self
            .db
            .reserve_number(&numbering::number_prefix(kind, &day, &session.series))?;
        Ok(Some(numbering::series_number(
            kind,
            &day,
            &session.series,
            n,
        )))
    }

    pub fn orders(&self, account_id: Option<&str>, limit: u32) -> CoreResult<Vec<LocalOrder>> {
        self.db.orders(account_id, limit)
    }

    pub fn order(&self, id: &str) -> CoreResult<LocalOrder> {
        self.db.order(id)?.ok_or(CoreError::NotFound("order"))
    }

    /// The purchase-order PDF made when the order was signed.
    pub fn order_pdf(&self, id: &str) -> CoreResult<Vec<u8>> {
        self.db
            .order_files(id)?
            .pdf
            .ok_or(CoreError::NotFound("purchase-order PDF"))
    }

    /// The signature of a signed order as drawn (PNG), kept on the device since signing.
    pub fn order_signature_png(&self, id: &str) -> CoreResult<Vec<u8>> {
        self.db
            .order_files(id)?
            .signature_png
            .ok_or(CoreError::NotFound("signature image"))
    }

    pub fn preview_order(
        &self,
        account_id: &str,
        lines: &[LineInput],
        order_id: Option<&str>,
    ) -> CoreResult<OrderPreview> {
        let session = self.require_session()?;
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        let priced = orders::price_lines(&self.db, account_id, lines)?;
        let totals = orders::totals(&priced)?;
        let credit = orders::credit_check(
            &self.db,
            &account,
            order_id,
            totals.total,
            session.credit_policy,
        )?;
        Ok(OrderPreview {
            account_id: account_id.into(),
            lines: priced,
            totals,
            credit,
        })
    }

    /// Creates or updates a draft on this device (nothing is sent until it is signed).
    pub fn save_draft(
        &self,
        order_id: Option<&str>,
        account_id: &str,
        lines: &[LineInput],
        memo: &str,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalOrder> {
        let session = self.require_session()?;
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        if account.closed {
            return Err(CoreError::invalid(
                ErrorCode::AccountClosed,
                format!(
                    "{}: 거래가 종료된 거래처입니다 (account closed)",
                    account.name
                ),
            ));
        }
        let priced = orders::price_lines(&self.db, account_id, lines)?;
        let totals = orders::totals(&priced)?;
        let memo = if memo.trim().is_empty() {
            String::new()
        } else {
            fieldpay_protocol::rules::parse_text("memo", memo, 500).map_err(CoreError::Server)?
        };
        let id = order_id.map(str::to_string).unwrap_or_else(new_id);
        let created_at = match self.db.order(&id)? {
            Some(existing) => {
                if !matches!(existing.sync_state, SyncState::Local | SyncState::Rejected) {
                    return Err(CoreError::invalid(
                        ErrorCode::InvalidState,
                        "this order was already sent and can no longer change",
                    ));
                }
                existing.order.created_at
            }
            None => ts(now),
        };
        let order = Order {
            id,
            number: None,
            account_id: account_id.into(),
            rep_id: Some(session.id.clone()),
            status: OrderStatus::Draft,
            lines: priced,
            totals,
            memo,
            signature: None,
            has_signature_image: false,
            has_pdf: false,
            reject_reason: None,
            created_at,
            updated_at: ts(now),
        };
        self.db.save_draft(&order)?;
        self.touch_account(account_id, now);
        Ok(LocalOrder {
            order,
            sync_state: SyncState::Local,
        })
    }

    /// A new draft with the lines of a past order (current prices).
    pub fn reorder(&self, past_order_id: &str, now: DateTime<Utc>) -> CoreResult<LocalOrder> {
        let past = self.order(past_order_id)?;
        let lines = orders::reorder_lines(&past.order);
        self.save_draft(None, &past.order.account_id, &lines, &past.order.memo, now)
    }

    /// The client signs: renders the signature and the purchase-order PDF, records the evidence
    /// and queues the order for the server (upsert, sign, submit) in one transaction.
    pub fn sign_and_submit(
        &self,
        order_id: &str,
        sig: &SignatureInput,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalOrder> {
        let session = self.require_session()?;
        let local = self.order(order_id)?;
        if !matches!(local.sync_state, SyncState::Local | SyncState::Rejected) {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                "this order was already sent",
            ));
        }
        let signer = fieldpay_protocol::rules::parse_text("signer_name", &sig.signer_name, 50)
            .map_err(CoreError::Server)?;
        let mut order = local.order;
        let account = self
            .db
            .account(&order.account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        // Prices and totals as of now (the signed document must match what is sent).
        let lines: Vec<LineInput> = orders::reorder_lines(&order);
        order.lines = orders::price_lines(&self.db, &account.id, &lines)?;
        order.totals = orders::totals(&order.lines)?;
        if let CreditCheck::Block { message, .. } = orders::credit_check(
            &self.db,
            &account,
            Some(order_id),
            order.totals.total,
            session.credit_policy,
        )? {
            return Err(CoreError::invalid(ErrorCode::CreditLimitExceeded, message));
        }
        let opts = crate::signature::RenderOptions {
            width: sig.width.clamp(100, 2000),
            height: sig.height.clamp(50, 1000),
            ..Default::default()
        };
        let png = crate::signature::render_png(&sig.strokes, &opts)
            .map_err(|e| CoreError::invalid(ErrorCode::InvalidField, format!("서명: {e}")))?;
        let signed_at = kst_now_string(now);
        // The final number, from the rep's own series (no server needed); a session from a
        // server without series signs without one (the server numbers it at registration).
        order.number = self.next_order_number(&session, now)?;
        let mut doc = crate::po_pdf::PurchaseOrderDoc {
            title: "발주서".into(),
            order_number: order.number.clone().unwrap_or_else(|| {
                format!("임시-{}", &order.id[order.id.len().saturating_sub(8)..])
            }),
            date: signed_at[..10].to_string(),
            merchant: crate::po_pdf::Party {
                name: session.merchant_name.clone(),
                business_number: format_business_number(&session.merchant_business_number),
                owner: session.merchant_representative.clone(),
                phone: session.merchant_phone.clone(),
                address: session.merchant_address.clone(),
            },
            client: crate::po_pdf::Party {
                name: account.name.clone(),
                business_number: format_business_number(&account.business_number),
                owner: account.owner_name.clone(),
                phone: fieldpay_protocol::phone::Phone::parse(&account.phone)
                    .map(|p| p.display())
                    .unwrap_or(account.phone.clone()),
                address: account.address.clone(),
            },
            rep_name: session.name.clone(),
            lines: order
                .lines
                .iter()
                .map(|l| crate::po_pdf::PoLine {
                    code: l.product_code.clone(),
                    name: l.product_name.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    line_total: l.line_total,
                })
                .collect(),
            supply: order.totals.supply,
            vat: order.totals.vat,
            total: order.totals.total,
            memo: order.memo.clone(),
            signature_png: Some(png.clone()),
            signer_name: signer.clone(),
            signed_at: signed_at.clone(),
            document_hash: String::new(),
        };
        // What the client signs: the order as the server will hold it (it checks the hash).
        let hash = fieldpay_protocol::evidence::content_hash(&SignedContent {
            merchant_id: &session.merchant_id,
            account_id: &order.account_id,
            order_id: &order.id,
            date: &doc.date,
            lines: &order.lines,
            totals: order.totals,
            memo: &order.memo,
        });
        doc.document_hash = hash.clone();
        let pdf = crate::po_pdf::render(&doc)
            .map_err(|e| CoreError::Other(format!("purchase-order PDF: {e}")))?;
        let evidence = SignatureEvidence {
            signer_name: signer,
            signed_at: ts(now),
            device: self.config.device_name.clone(),
            gps: sig.gps,
            content_hash: hash,
            strokes_json: Some(serde_json::to_string(&sig.strokes)?),
        };
        order.status = OrderStatus::Signed;
        order.signature = Some(evidence.clone());
        order.has_signature_image = true;
        order.has_pdf = true;
        order.reject_reason = None;
        order.updated_at = ts(now);
        let ops = vec![
            (
                new_id(),
                MutationKind::UpsertOrder {
                    order_id: order.id.clone(),
                    account_id: order.account_id.clone(),
                    lines: order
                        .lines
                        .iter()
                        .map(|l| OrderLineInput {
                            product_id: l.product_id.clone(),
                            quantity: l.quantity,
                            unit_price: Some(l.unit_price),
                        })
                        .collect(),
                    memo: order.memo.clone(),
                },
            ),
            (
                new_id(),
                MutationKind::SignOrder {
                    order_id: order.id.clone(),
                    evidence,
                    signature_png: B64.encode(&png),
                    pdf: Some(B64.encode(&pdf)),
                    number: order.number.clone(),
                },
            ),
            (
                new_id(),
                MutationKind::SubmitOrder {
                    order_id: order.id.clone(),
                },
            ),
        ];
        // A re-sent rejected order replaces its refused actions.
        for p in self
            .db
            .problems()?
            .into_iter()
            .filter(|p| p.entity_id == order.id)
        {
            self.db.discard_problem(&p.client_id)?;
        }
        self.db
            .queue_order(&order, Some(&png), Some(&pdf), &ops, now)?;
        self.touch_account(&order.account_id, now);
        self.after_local_change()?;
        let local = LocalOrder {
            order,
            sync_state: SyncState::Queued,
        };
        let _ = self
            .events
            .send(EngineEvent::OrderChanged(Box::new(local.clone())));
        Ok(local)
    }
}
