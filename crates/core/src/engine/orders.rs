//! Orders (발주서) and returns (반품서): reads, preview, drafts, reorder, a return of an order,
//! signature and submission (the signed PDF is made here).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{
    CreditCheck, EngineEvent, LineInput, LocalOrder, OrderPreview, SignatureInput, SyncState,
};
use fieldpay_protocol::auth::RepInfo;
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::evidence::SignedContent;
use fieldpay_protocol::numbering;
use fieldpay_protocol::records::{
    Order, OrderKind, OrderLineInput, OrderStatus, SignatureEvidence,
};
use fieldpay_protocol::sync::MutationKind;
use fieldpay_protocol::validate::format_business_number;
use fieldpay_protocol::ErrorCode;

use crate::db::ts;
use crate::error::{CoreError, CoreResult};
use crate::orders;

use super::{kst_now_string, new_id, Engine};

impl Engine {
    /// The next number of an order of `kind` in the signed-in rep's series on the KST day of
    /// `now` (`PO-20261203-R01-0001`, `RT-20261203-R01-0001`); `None` when the server gave the
    /// rep no series.
    fn next_order_number(
        &self,
        session: &RepInfo,
        kind: OrderKind,
        now: DateTime<Utc>,
    ) -> CoreResult<Option<String>> {
        if !numbering::is_series(&session.series) {
            return Ok(None);
        }
        let day = now
            .with_timezone(&fieldpay_protocol::time::kst())
            .format("%Y%m%d")
            .to_string();
        let kind = kind.doc_kind();
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

    /// Prices `lines` of an order of `kind` (a return of `original`, or not) for an account.
    fn price(
        &self,
        account_id: &str,
        kind: OrderKind,
        original: Option<&str>,
        order_id: Option<&str>,
        lines: &[LineInput],
    ) -> CoreResult<Vec<fieldpay_protocol::records::OrderLine>> {
        let basis = match (kind, original) {
            (OrderKind::Return, Some(o)) => {
                Some(orders::return_basis(&self.db, account_id, o, order_id)?)
            }
            (OrderKind::Purchase, Some(_)) => {
                return Err(CoreError::invalid(
                    ErrorCode::InvalidField,
                    "only a return names an original order",
                ))
            }
            _ => None,
        };
        orders::price_lines(&self.db, account_id, kind, basis.as_ref(), lines)
    }

    /// Prices an order or return being edited; a purchase is checked against the credit
    /// limit, a return (which only lowers what is owed) is not: it shows what is available.
    pub fn preview_order(&self, p: &cmd::PreviewOrder) -> CoreResult<OrderPreview> {
        let session = self.require_session()?;
        let account_id = p.account_id.as_str();
        let order_id = p.order_id.as_ref().map(|o| o.as_str());
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        let original = p.original_order_id.as_ref().map(|o| o.as_str());
        let priced = self.price(account_id, p.kind, original, order_id, &p.lines)?;
        let totals = orders::totals(&priced)?;
        let counted = if p.kind.is_return() { 0 } else { totals.total };
        let credit =
            orders::credit_check(&self.db, &account, order_id, counted, session.credit_policy)?;
        Ok(OrderPreview {
            account_id: account_id.into(),
            lines: priced,
            totals,
            credit,
        })
    }

    /// Creates or updates a draft on this device (nothing is sent until it is signed).
    pub fn save_draft(&self, d: &cmd::SaveDraft, now: DateTime<Utc>) -> CoreResult<LocalOrder> {
        let session = self.require_session()?;
        let account_id = d.account_id.as_str();
        let order_id = d.order_id.as_ref().map(|o| o.as_str());
        let original = d.original_order_id.as_ref().map(|o| o.as_str());
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        // A return only lowers what a client owes: a closed account may still send goods back.
        if account.closed && !d.kind.is_return() {
            return Err(CoreError::invalid(
                ErrorCode::AccountClosed,
                format!(
                    "{}: 거래가 종료된 거래처입니다 (account closed)",
                    account.name
                ),
            ));
        }
        let priced = self.price(account_id, d.kind, original, order_id, &d.lines)?;
        let totals = orders::totals(&priced)?;
        let memo = if d.memo.trim().is_empty() {
            String::new()
        } else {
            fieldpay_protocol::rules::parse_text("memo", &d.memo, 500).map_err(CoreError::Server)?
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
            kind: d.kind,
            original_order_id: original.map(str::to_string),
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
        if past.order.kind.is_return() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                "반품서는 재주문할 수 없습니다 (a return cannot be reordered)",
            ));
        }
        let lines = orders::reorder_lines(&past.order);
        let draft = cmd::SaveDraft {
            order_id: None,
            account_id: past.order.account_id.as_str().into(),
            lines,
            memo: past.order.memo.clone(),
            kind: OrderKind::Purchase,
            original_order_id: None,
        };
        self.save_draft(&draft, now)
    }

    /// A new return draft (반품) of a registered order: each of its products with what may still
    /// come back; the rep lowers quantities, removes lines and picks the reasons.
    pub fn start_return(&self, original_id: &str, now: DateTime<Utc>) -> CoreResult<LocalOrder> {
        let original = self.order(original_id)?.order;
        let basis = orders::return_basis(&self.db, &original.account_id, original_id, None)?;
        let mut lines: Vec<LineInput> = Vec::new();
        for l in &original.lines {
            let left = basis.get(&l.product_id).map(|r| r.left).unwrap_or(0);
            let listed: i64 = lines
                .iter()
                .filter(|x| x.product_id == l.product_id)
                .map(|x| x.quantity)
                .sum();
            let q = l.quantity.min(left - listed);
            if q > 0 {
                lines.push(LineInput {
                    product_id: l.product_id.clone(),
                    quantity: q,
                    reason: None,
                });
            }
        }
        if lines.is_empty() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                "이 주문은 이미 모두 반품되었습니다 (everything on this order has come back)",
            ));
        }
        let draft = cmd::SaveDraft {
            order_id: None,
            account_id: original.account_id.as_str().into(),
            lines,
            memo: String::new(),
            kind: OrderKind::Return,
            original_order_id: Some(original_id.into()),
        };
        self.save_draft(&draft, now)
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
        for (i, l) in lines.iter().enumerate() {
            fieldpay_protocol::returns::check_reason(order.kind, i, l.reason)
                .map_err(CoreError::Server)?;
        }
        order.lines = self.price(
            &account.id,
            order.kind,
            order.original_order_id.as_deref(),
            Some(order_id),
            &lines,
        )?;
        order.totals = orders::totals(&order.lines)?;
        let original_number = match &order.original_order_id {
            Some(o) => self.db.order(o)?.and_then(|o| o.order.number),
            None => None,
        };
        if order.kind.is_return() {
            // No credit check: a return only lowers what is owed.
        } else if let CreditCheck::Block { message, .. } = orders::credit_check(
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
        order.number = self.next_order_number(&session, order.kind, now)?;
        let mut doc = crate::po_pdf::PurchaseOrderDoc {
            title: order.kind.title_ko().into(),
            kind: order.kind,
            original_number,
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
                    reason: l.return_reason.map(|r| r.label_ko().to_string()),
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
        let hash = fieldpay_protocol::evidence::content_hash(&SignedContent::of(
            &session.merchant_id,
            &order,
            &doc.date,
        ));
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
                            reason: l.return_reason,
                        })
                        .collect(),
                    memo: order.memo.clone(),
                    kind: order.kind,
                    original_order_id: order.original_order_id.clone(),
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
