//! The facade the shell calls: one [`Engine`] per signed-in device. Reads come from the local
//! database; actions are written locally with their outbox rows and sent by the sync loop.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{
    AccountDetail, AccountSummary, ChargeInput, CreditCheck, DailyClosing, EngineEvent, LineInput,
    LocalCharge, LocalOrder, OrderPreview, PdfDoc, ProductHit, SignatureInput, SyncProblem,
    SyncState, SyncStatus,
};
use fieldpay_protocol::auth::{LoginRequest, RepInfo};
use fieldpay_protocol::charge::{
    Charge, ChargeEvent, ChargeOrigin, ChargeStatus, CreateCharge, Orderer,
};
use fieldpay_protocol::records::{Account, Order, OrderLineInput, OrderStatus, SignatureEvidence};
use fieldpay_protocol::rules::ChargeRequest;
use fieldpay_protocol::sync::MutationKind;
use fieldpay_protocol::validate::format_business_number;
use fieldpay_protocol::{ErrorCode, Secret};
use tokio::sync::{broadcast, Notify};

use crate::client::ServerClient;
use crate::credentials::Credentials;
use crate::db::{ts, Db};
use crate::error::{CoreError, CoreResult};
use crate::orders;
use crate::search::{SearchDoc, SearchIndex};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder of the device database.
    pub data_dir: PathBuf,
    pub server_url: String,
    /// Shown in the signature evidence and the server's token list.
    pub device_name: String,
}

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) db: Db,
    pub(crate) client: Arc<ServerClient>,
    accounts: RwLock<SearchIndex>,
    products: RwLock<SearchIndex>,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    pub(crate) wake: Notify,
    pub(crate) status: Mutex<SyncStatus>,
    session: Mutex<Option<RepInfo>>,
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A file-name-safe form of `name` (no path separators, reserved or control characters).
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect()
}

/// Writes `bytes` to `dir/name` (made file-name safe) through a temporary file and a rename,
/// so a crash never leaves half a document under the final name.
fn write_export(dir: &Path, name: &str, bytes: &[u8]) -> CoreResult<PathBuf> {
    let path = dir.join(file_safe(name));
    let tmp = dir.join(format!(".{}.part", file_safe(name)));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| CoreError::Other(format!("{}: {e}", path.display())))?;
    Ok(path)
}

fn kst_now_string(now: DateTime<Utc>) -> String {
    let kst = chrono::FixedOffset::east_opt(9 * 3600).expect("offset");
    now.with_timezone(&kst).format("%Y-%m-%d %H:%M").to_string()
}

pub(crate) fn account_doc(a: &Account, recent: i64) -> SearchDoc {
    SearchDoc {
        id: a.id.clone(),
        name: a.name.clone(),
        code: a.code.clone(),
        phone: a.phone.clone(),
        business_number: a.business_number.clone(),
        recent,
    }
}

impl Engine {
    /// Opens (or creates) the device database and builds the search indexes. Sync starts with
    /// [`Engine::start`].
    pub fn open(config: EngineConfig) -> CoreResult<Arc<Engine>> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            CoreError::Other(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let db = Db::open(&config.data_dir.join("fieldpay-device.db"))?;
        let dir = config
            .data_dir
            .canonicalize()
            .unwrap_or_else(|_| config.data_dir.clone());
        let creds = Credentials::new(format!(
            "FieldPay {} {}",
            config.server_url.trim_end_matches('/'),
            dir.display()
        ));
        let client = ServerClient::new(&config.server_url, creds)?;
        let session: Option<RepInfo> = db
            .get_state("session")?
            .and_then(|s| serde_json::from_str(&s).ok());
        let last_sync = db.get_state("last_sync")?;
        let last_error = db.get_state("last_error")?.filter(|e| !e.is_empty());
        let engine = Engine {
            config,
            db,
            client: Arc::new(client),
            accounts: RwLock::new(SearchIndex::new()),
            products: RwLock::new(SearchIndex::new()),
            events: broadcast::channel(256).0,
            wake: Notify::new(),
            status: Mutex::new(SyncStatus {
                signed_in: session.is_some(),
                last_sync,
                last_error,
                ..SyncStatus::default()
            }),
            session: Mutex::new(session),
            sync_lock: tokio::sync::Mutex::new(()),
        };
        engine.rebuild_indexes()?;
        engine.refresh_counts()?;
        Ok(Arc::new(engine))
    }

    pub(crate) fn rebuild_indexes(&self) -> CoreResult<()> {
        let recent: std::collections::HashMap<String, String> =
            self.db.recent_activity()?.into_iter().collect();
        let rank = |id: &str| {
            recent
                .get(id)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp())
                .unwrap_or(0)
        };
        let accounts = self.db.accounts()?;
        let idx = SearchIndex::with_docs(accounts.iter().map(|a| account_doc(a, rank(&a.id))));
        *self.accounts.write().unwrap_or_else(|p| p.into_inner()) = idx;
        let products = self.db.products()?;
        let idx = SearchIndex::with_docs(products.iter().filter(|p| p.active).map(|p| SearchDoc {
            id: p.id.clone(),
            name: p.name.clone(),
            code: p.code.clone(),
            phone: String::new(),
            business_number: String::new(),
            recent: 0,
        }));
        *self.products.write().unwrap_or_else(|p| p.into_inner()) = idx;
        Ok(())
    }

    /// Puts pulled accounts and products into the search indexes (one rebuild at most per
    /// call; accounts keep their recent-activity rank). A product that is no longer active
    /// leaves the product index.
    pub(crate) fn index_pulled(
        &self,
        accounts: Vec<SearchDoc>,
        products: Vec<fieldpay_protocol::records::Product>,
    ) {
        if !accounts.is_empty() {
            let mut idx = self.accounts.write().unwrap_or_else(|p| p.into_inner());
            let docs: Vec<SearchDoc> = accounts
                .into_iter()
                .map(|mut d| {
                    d.recent = idx.recent(&d.id).unwrap_or(0);
                    d
                })
                .collect();
            idx.extend(docs);
        }
        if !products.is_empty() {
            let mut idx = self.products.write().unwrap_or_else(|p| p.into_inner());
            for p in products.iter().filter(|p| !p.active) {
                idx.remove(&p.id);
            }
            idx.extend(
                products
                    .into_iter()
                    .filter(|p| p.active)
                    .map(|p| SearchDoc {
                        id: p.id,
                        name: p.name,
                        code: p.code,
                        phone: String::new(),
                        business_number: String::new(),
                        recent: 0,
                    }),
            );
        }
    }

    fn touch_account(&self, account_id: &str, now: DateTime<Utc>) {
        let mut idx = self.accounts.write().unwrap_or_else(|p| p.into_inner());
        idx.set_recent(account_id, now.timestamp());
    }

    // ------------------------------------------------------------ session

    pub fn session(&self) -> Option<RepInfo> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn require_session(&self) -> CoreResult<RepInfo> {
        self.session().ok_or(CoreError::NotSignedIn)
    }

    /// Signs in (needs the network). The refresh token goes to the OS credential store.
    pub async fn login(
        &self,
        merchant: &str,
        rep_id: &str,
        password: &Secret,
    ) -> CoreResult<RepInfo> {
        if merchant.trim().is_empty() || rep_id.trim().is_empty() || password.is_empty() {
            return Err(CoreError::invalid(ErrorCode::InvalidField, "가맹점 코드, 아이디, 비밀번호를 모두 입력하세요 (merchant, rep id and password are required)"));
        }
        let t = self
            .client
            .login(&LoginRequest {
                merchant: merchant.trim().into(),
                rep_id: rep_id.trim().into(),
                password: password.clone(),
                device_name: Some(self.config.device_name.clone()),
            })
            .await?;
        if let Some(prev) = self.session() {
            if prev.merchant_id != t.rep.merchant_id {
                return Err(CoreError::invalid(
                    ErrorCode::Forbidden,
                    "this device folder holds another merchant's data; use a new data folder",
                ));
            }
        }
        self.db
            .set_state("session", &serde_json::to_string(&t.rep)?)?;
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.rep.clone());
        self.update_status(|s| s.signed_in = true);
        self.wake.notify_one();
        Ok(t.rep)
    }

    /// Signs out: forgets the tokens (the local data stays for the next sign-in).
    pub fn sign_out(&self) -> CoreResult<()> {
        self.client.sign_out()?;
        self.db.set_state("session", "null")?;
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.update_status(|s| s.signed_in = false);
        Ok(())
    }

    // ------------------------------------------------------------ status and events

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub fn status(&self) -> SyncStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn update_status(&self, f: impl FnOnce(&mut SyncStatus)) {
        let snapshot = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let before = s.clone();
            f(&mut s);
            (*s != before).then(|| s.clone())
        };
        if let Some(s) = snapshot {
            let _ = self.events.send(EngineEvent::Status(s));
        }
    }

    pub(crate) fn refresh_counts(&self) -> CoreResult<()> {
        let queued = self.db.queued_count()?;
        let problems = self.db.problems()?.len() as u64;
        self.update_status(|s| {
            s.queued = queued;
            s.problems = problems;
        });
        Ok(())
    }

    fn after_local_change(&self) -> CoreResult<()> {
        self.refresh_counts()?;
        self.wake.notify_one();
        Ok(())
    }

    // ------------------------------------------------------------ reads

    pub fn search_accounts(&self, query: &str, limit: usize) -> CoreResult<Vec<AccountSummary>> {
        let hits = self
            .accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .search(query, limit);
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        Ok(self
            .db
            .account_summaries(&ids)?
            .into_iter()
            .map(|(account, balance)| AccountSummary { account, balance })
            .collect())
    }

    pub fn search_products(
        &self,
        query: &str,
        account_id: Option<&str>,
        limit: usize,
    ) -> CoreResult<Vec<ProductHit>> {
        let hits = self
            .products
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .search(query, limit);
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(product) = self.db.product(&h.id)? {
                let unit_price = match account_id {
                    Some(a) => self
                        .db
                        .account_price(a, &product.id)?
                        .unwrap_or(product.unit_price),
                    None => product.unit_price,
                };
                out.push(ProductHit {
                    product,
                    unit_price,
                });
            }
        }
        Ok(out)
    }

    pub fn account_detail(
        &self,
        account_id: &str,
        today: chrono::NaiveDate,
    ) -> CoreResult<AccountDetail> {
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        let balance = self.db.balance(account_id)?;
        let all_ledger = self.db.ledger(account_id, 10_000)?;
        let pending = self.db.pending_order_total(account_id, None)?;
        Ok(AccountDetail {
            aging: orders::aging(&all_ledger, today),
            credit_available: account.credit_limit - balance - pending,
            recent_orders: self.db.orders(Some(account_id), 20)?,
            recent_charges: self.db.charges(Some(account_id), 20)?,
            ledger: all_ledger.into_iter().take(50).collect(),
            account,
            balance,
        })
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

    pub fn charges(&self, account_id: Option<&str>, limit: u32) -> CoreResult<Vec<LocalCharge>> {
        self.db.charges(account_id, limit)
    }

    pub fn charge(&self, id: &str) -> CoreResult<LocalCharge> {
        self.db.charge(id)?.ok_or(CoreError::NotFound("charge"))
    }

    pub fn problems(&self) -> CoreResult<Vec<SyncProblem>> {
        self.db.problems()
    }

    // ------------------------------------------------------------ orders

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
        let mut doc = crate::po_pdf::PurchaseOrderDoc {
            title: "발주서".into(),
            order_number: order.number.clone().unwrap_or_else(|| {
                format!("임시-{}", &order.id[order.id.len().saturating_sub(8)..])
            }),
            date: signed_at[..10].to_string(),
            merchant: crate::po_pdf::Party {
                name: session.merchant_name.clone(),
                business_number: format_business_number(&session.merchant_business_number),
                owner: String::new(),
                phone: String::new(),
                address: String::new(),
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
        let hash = crate::po_pdf::content_hash(&doc);
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

    // ------------------------------------------------------------ charges

    /// Requests an ARS charge: checked here with the server's own rules, stored as queued and
    /// sent by the sync loop (at once when online).
    pub fn request_charge(
        &self,
        input: &ChargeInput,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalCharge> {
        let session = self.require_session()?;
        if let Some(a) = &input.account_id {
            self.db.account(a)?.ok_or(CoreError::NotFound("account"))?;
        }
        let body = CreateCharge {
            amount: input.amount,
            goods_name: input.goods_name.clone(),
            payer_phone: input.payer_phone.clone(),
            payer_name: input.payer_name.clone(),
            kind: Some(input.kind),
            order_ref: input.order_id.clone(),
            account_id: input.account_id.clone(),
            orderer: input
                .orderer
                .clone()
                .map(|(name, phone)| Orderer { name, phone }),
            installments: Some(input.installments),
            expires_in_minutes: input.expires_in_minutes,
        };
        let req = ChargeRequest::parse(&body).map_err(CoreError::Server)?;
        let id = new_id();
        let expires =
            now + chrono::Duration::minutes(i64::from(input.expires_in_minutes.unwrap_or(60)));
        let charge = Charge {
            id: id.clone(),
            status: ChargeStatus::Queued,
            kind: req.kind,
            origin: ChargeOrigin::App,
            amount: req.amount.get(),
            goods_name: req.goods_name.clone(),
            payer_phone: req.payer_phone.display(),
            payer_name: req.payer_name.clone(),
            orderer: req.orderer.as_ref().map(|(n, p)| Orderer {
                name: n.clone(),
                phone: p.display(),
            }),
            third_party: req.is_third_party(),
            order_ref: req.order_ref.clone(),
            account_id: req.account_id.clone(),
            rep_id: Some(session.id),
            installments: req.installments,
            virtual_number: None,
            created_at: ts(now),
            expires_at: ts(expires),
            events: vec![ChargeEvent {
                status: ChargeStatus::Queued,
                at: ts(now),
                detail: None,
            }],
            payment: None,
            decline_reason: None,
        };
        self.db.queue_charge(
            &charge,
            &new_id(),
            &MutationKind::RequestCharge {
                charge_id: id,
                request: body,
            },
            now,
        )?;
        if let Some(a) = &charge.account_id {
            self.touch_account(a, now);
        }
        self.after_local_change()?;
        let _ = self
            .events
            .send(EngineEvent::ChargeChanged(Box::new(charge.clone())));
        Ok(LocalCharge {
            charge,
            sync_state: SyncState::Queued,
        })
    }

    /// Cancels a charge before payment. The server decides (a payer may be paying right now).
    pub fn cancel_charge(
        &self,
        charge_id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalCharge> {
        self.require_session()?;
        let local = self.charge(charge_id)?;
        if local.charge.status.is_final() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                format!(
                    "{} 상태의 결제는 취소할 수 없습니다 (cannot cancel)",
                    local.charge.status.label_ko()
                ),
            ));
        }
        // Never sent: take it back here; the payer gets no text at all.
        if local.charge.status == ChargeStatus::Queued {
            let mut c = local.charge.clone();
            c.status = ChargeStatus::Canceled;
            c.events.push(ChargeEvent {
                status: ChargeStatus::Canceled,
                at: ts(now),
                detail: reason.map(str::to_string),
            });
            if self.db.withdraw_unsent_charge(&c)? {
                self.refresh_counts()?;
                let _ = self
                    .events
                    .send(EngineEvent::ChargeChanged(Box::new(c.clone())));
                return Ok(LocalCharge {
                    charge: c,
                    sync_state: SyncState::Local,
                });
            }
        }
        let op = MutationKind::CancelCharge {
            charge_id: charge_id.into(),
            reason: reason.map(str::to_string),
        };
        self.db.queue_charge(&local.charge, &new_id(), &op, now)?;
        self.after_local_change()?;
        Ok(LocalCharge {
            charge: local.charge,
            sync_state: SyncState::Queued,
        })
    }

    /// Full refund of an approved payment (needs the network: the card company must agree).
    pub async fn refund_charge(
        &self,
        charge_id: &str,
        reason: Option<&str>,
    ) -> CoreResult<LocalCharge> {
        self.require_session()?;
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(
                fieldpay_protocol::rules::parse_text("reason", r, 200)
                    .map_err(CoreError::Server)?,
            ),
            None => None,
        };
        let c = self.client.refund(charge_id, reason.as_deref()).await?;
        self.store_live_charge(c)
    }

    /// Texts the bill to the payer again (needs the network).
    pub async fn resend_charge_sms(&self, charge_id: &str) -> CoreResult<LocalCharge> {
        self.require_session()?;
        let c = self.client.resend_bill(charge_id).await?;
        self.store_live_charge(c)
    }

    /// The day's settlement by card company and by rep (needs the network).
    /// The daily closing of KST day `date` (`YYYY-MM-DD`; today when absent): the server's
    /// settlement (online only) and this device's payment requests of the day by status.
    pub async fn daily_closing(
        &self,
        date: Option<&str>,
        now: DateTime<Utc>,
    ) -> CoreResult<DailyClosing> {
        let session = self.require_session()?;
        let date = crate::closing::closing_date(date, now)?;
        let settlement = self.client.settlement(Some(&date)).await?;
        let charges = self.db.charges(None, u32::MAX)?;
        Ok(DailyClosing {
            by_status: crate::closing::totals_by_status(charges.iter().map(|c| &c.charge), &date),
            date,
            merchant_name: session.merchant_name,
            rep_name: session.name,
            settlement,
        })
    }

    /// The daily closing as a PDF (online only, like [`Engine::daily_closing`]).
    pub async fn closing_pdf(&self, date: Option<&str>, now: DateTime<Utc>) -> CoreResult<Vec<u8>> {
        let closing = self.daily_closing(date, now).await?;
        crate::po_pdf::closing::render(&closing, &kst_now_string(now))
            .map_err(|e| CoreError::Other(format!("daily-closing PDF: {e}")))
    }

    /// A document's file name and PDF bytes (a closing needs the server).
    pub async fn document(
        &self,
        doc: &PdfDoc,
        now: DateTime<Utc>,
    ) -> CoreResult<(String, Vec<u8>)> {
        match doc {
            PdfDoc::Order { order_id } => {
                let order = self.order(order_id)?;
                let name = order.order.number.as_deref().unwrap_or(&order.order.id);
                Ok((format!("발주서-{name}.pdf"), self.order_pdf(order_id)?))
            }
            PdfDoc::Closing { date } => {
                let date = crate::closing::closing_date(date.as_deref(), now)?;
                let pdf = self.closing_pdf(Some(&date), now).await?;
                Ok((format!("일일마감-{date}.pdf"), pdf))
            }
        }
    }

    /// Writes a document into `dir` under its file name; returns the file's path.
    pub async fn export_document(
        &self,
        doc: &PdfDoc,
        now: DateTime<Utc>,
        dir: &Path,
    ) -> CoreResult<PathBuf> {
        let (name, pdf) = self.document(doc, now).await?;
        write_export(dir, &name, &pdf)
    }

    fn store_live_charge(&self, c: Charge) -> CoreResult<LocalCharge> {
        self.db.update_charge(&c)?;
        let local = self.charge(&c.id)?;
        let _ = self.events.send(EngineEvent::ChargeChanged(Box::new(c)));
        self.wake.notify_one();
        Ok(local)
    }

    /// Sends a refused action again (the rep fixed the cause elsewhere, e.g. the account was
    /// reopened).
    pub fn retry_problem(&self, client_id: &str, now: DateTime<Utc>) -> CoreResult<()> {
        self.db.retry_problem(client_id, &new_id(), None, now)?;
        self.after_local_change()
    }

    pub fn discard_problem(&self, client_id: &str) -> CoreResult<()> {
        self.db.discard_problem(client_id)?;
        self.after_local_change()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_file_names_are_safe() {
        assert_eq!(
            super::file_safe("발주서-PO-2026/0001.pdf"),
            "발주서-PO-2026-0001.pdf"
        );
        assert_eq!(super::file_safe("a\\b:c*?\"<>|\n.pdf"), "a-b-c-------.pdf");
        assert_eq!(super::file_safe("임시-1a2b3c4d"), "임시-1a2b3c4d");
    }
}
