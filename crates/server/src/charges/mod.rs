//! The charge service: creation, cancel, refund, approval, expiry and recovery, with their
//! texts, webhooks and live events. Every state change is one store transaction whose texts
//! and webhooks are written with it (outbox); this module composes them.

pub mod writer;

use chrono::Duration;
use fieldpay_ivr as ivr;
use fieldpay_protocol::charge::{ChargeKind, ChargeOrigin, ChargeStatus};
use fieldpay_protocol::sms::SmsKind;
use fieldpay_protocol::{ApiKeyId, ChargeId, ErrorCode, MerchantId, RepId};

use crate::card::{
    approve_with_recovery, ApprovalFailure, ApproveRequest, CancelRequest, CardInput,
    ConnectorError, DeclineCode, PaymentMethod, TxnState,
};
use crate::domain::{ChargeRequest, Merchant};
use crate::error::{AppError, AppResult};
use crate::ids::{new_id, random_token};
use crate::state::AppState;
use crate::store::{
    ApprovalLimits, ChargeRecord, Effects, NewCharge, NewPayment, NewSms, TextLimits,
};
use writer::ComposeOwned;
pub use writer::Pending;

/// The texts and webhooks that follow a charge reaching its current status.
pub fn effects(state: &AppState, merchant: &Merchant, rec: &ChargeRecord) -> Effects {
    let now = state.clock.now();
    let mut fx = Effects::default();
    let payer = rec.payer_phone.clone();
    match rec.charge.status {
        ChargeStatus::Requested => {
            let expires = crate::clock::parse_ts(&rec.charge.expires_at).unwrap_or(now);
            fx.sms.push(NewSms {
                to: payer,
                kind: SmsKind::Bill,
                body: crate::messages::bill(&merchant.name, rec, expires),
                quota: Some(text_limits(state, merchant)),
            });
        }
        ChargeStatus::Approved => {
            if let Some(token) = &rec.receipt_token {
                if let Some(body) = crate::messages::slip(merchant, rec, &state.receipt_url(token))
                {
                    fx.sms.push(NewSms {
                        to: payer,
                        kind: SmsKind::Slip,
                        body,
                        quota: None,
                    });
                }
            }
        }
        _ => {}
    }
    if let Some(w) = crate::webhooks::charge_webhook(merchant, rec, now) {
        fx.webhooks.push(w);
    }
    fx
}

/// The hourly bill quotas: per payer phone (the server's setting) and per merchant (its own).
fn text_limits(state: &AppState, m: &Merchant) -> TextLimits {
    TextLimits {
        per_phone_per_hour: state.settings.bills_per_phone_per_hour,
        per_merchant_per_hour: m.settings.texts_per_hour,
    }
}

/// The merchant, shared: from the store's cache without a copy (a charge request reads it;
/// looking it up and copying its settings were 3.6 % of the server's samples at 8,000/s).
pub(crate) async fn merchant(
    state: &AppState,
    merchant_id: &MerchantId,
) -> AppResult<std::sync::Arc<Merchant>> {
    if let Some(m) = state.store.cached_merchant(merchant_id) {
        return Ok(m);
    }
    let id = merchant_id.clone();
    state
        .db(move |s| s.merchant(&id))
        .await?
        .map(std::sync::Arc::new)
        .ok_or_else(|| AppError::not_found("merchant"))
}

/// Where a charge request comes from and who made it.
#[derive(Debug, Clone)]
pub struct Requester {
    pub merchant_id: MerchantId,
    pub rep_id: Option<RepId>,
    pub api_key_id: Option<ApiKeyId>,
    pub origin: ChargeOrigin,
    /// The payment link the charge pays (see [`NewCharge::link`]).
    pub link: Option<crate::store::LinkUse>,
}

pub async fn create(
    state: &AppState,
    who: Requester,
    request: ChargeRequest,
    id: Option<ChargeId>,
    idempotency: Option<(String, String)>,
) -> AppResult<(ChargeRecord, bool)> {
    let prepared = prepare(state, who, request, id, idempotency).await?;
    let answer = submit(state, prepared)?;
    finish(state, answer).await
}

/// A charge ready for the writer.
pub struct Prepared {
    new: NewCharge,
    compose: ComposeOwned,
}

/// Queues a prepared charge on the writer (without waiting): charges submitted one after the
/// other are created in that order.
pub fn submit(state: &AppState, p: Prepared) -> AppResult<Pending> {
    state.charge_writer.submit(p.new, p.compose)
}

/// Waits for the writer's answer; tells live listeners about a new charge.
pub async fn finish(state: &AppState, answer: Pending) -> AppResult<(ChargeRecord, bool)> {
    let (rec, created) = answer
        .await
        .map_err(|_| AppError::internal("the charge writer stopped"))??;
    if created {
        tracing::info!(charge_id = %rec.charge.id, amount = rec.charge.amount, "charge created");
        state.publish(&rec);
    }
    Ok((rec, created))
}

/// Checks what needs the merchant and builds the charge to create.
pub async fn prepare(
    state: &AppState,
    who: Requester,
    mut request: ChargeRequest,
    id: Option<ChargeId>,
    idempotency: Option<(String, String)>,
) -> AppResult<Prepared> {
    let m = merchant(state, &who.merchant_id).await?;
    if m.status == crate::domain::MerchantStatus::Suspended {
        return Err(AppError::new(
            ErrorCode::MerchantSuspended,
            "이용이 정지된 가맹점입니다 (this merchant is suspended: no new charges)",
        ));
    }
    if !m.settings.installments_allowed {
        // Paid in one go: the payer is not offered installments.
        request.installments = false;
    }
    if request.kind == ChargeKind::AutoPay && !m.settings.auto_pay {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "자동결제(등록 카드 결제)를 쓰지 않는 가맹점입니다 (auto-pay is not enabled for this merchant)",
        ));
    }
    if m.settings.number_pool.is_empty() {
        return Err(AppError::new(
            ErrorCode::NumberPoolExhausted,
            "this merchant has no virtual ARS numbers",
        ));
    }
    let now = state.clock.now();
    let minutes = request
        .expires_in_minutes
        .unwrap_or(m.settings.default_expiry_minutes)
        .max(1);
    let (idempotency_key, request_hash) = match idempotency {
        Some((k, h)) => (Some(k), Some(h)),
        None => (None, None),
    };
    let new = NewCharge {
        id: id.unwrap_or_else(|| ChargeId::new(new_id("ch"))),
        merchant_id: who.merchant_id,
        rep_id: who.rep_id,
        api_key_id: who.api_key_id,
        origin: who.origin,
        request,
        expires_at: now + Duration::minutes(i64::from(minutes)),
        idempotency_key,
        request_hash,
        link: who.link,
    };
    let st = state.clone();
    Ok(Prepared {
        new,
        compose: Box::new(move |rec| effects(&st, &m, rec)),
    })
}

pub async fn cancel(
    state: &AppState,
    merchant_id: &MerchantId,
    charge_id: &ChargeId,
    reason: Option<String>,
) -> AppResult<ChargeRecord> {
    cancel_with(state, merchant_id, charge_id, reason, false).await
}

/// [`cancel`]; with `tell_payer`, the payer is also texted that the bill was withdrawn (in
/// the same transaction as the cancel): a merchant's suspension cancels bills the merchant
/// did not cancel itself.
pub async fn cancel_with(
    state: &AppState,
    merchant_id: &MerchantId,
    charge_id: &ChargeId,
    reason: Option<String>,
    tell_payer: bool,
) -> AppResult<ChargeRecord> {
    let m = merchant(state, merchant_id).await?;
    let now = state.clock.now();
    let (mid, cid, st) = (merchant_id.clone(), charge_id.clone(), state.clone());
    let rec = state
        .db(move |s| {
            s.cancel_charge(&mid, &cid, reason.as_deref(), now, &|rec| {
                let mut fx = effects(&st, &m, rec);
                if tell_payer {
                    fx.sms.push(NewSms {
                        to: rec.payer_phone.clone(),
                        kind: SmsKind::Notice,
                        body: crate::messages::bill_withdrawn(&m.name, rec),
                        quota: None,
                    });
                }
                fx
            })
        })
        .await?;
    state.publish(&rec);
    Ok(rec)
}

/// Texts the bill again (the payer lost or missed it). Only while the charge waits for payment.
pub async fn resend_bill(
    state: &AppState,
    merchant_id: &MerchantId,
    charge_id: &ChargeId,
) -> AppResult<ChargeRecord> {
    let m = merchant(state, merchant_id).await?;
    let (mid, cid) = (merchant_id.clone(), charge_id.clone());
    let rec = state
        .db(move |s| s.charge(&mid, &cid))
        .await?
        .ok_or_else(|| AppError::not_found("charge"))?;
    if !rec.bound || !rec.charge.status.is_pending() {
        return Err(AppError::new(
            ErrorCode::InvalidState,
            format!("a {} charge has no bill to send again", rec.charge.status),
        ));
    }
    let expires =
        crate::clock::parse_ts(&rec.charge.expires_at).unwrap_or_else(|| state.clock.now());
    let sms = NewSms {
        to: rec.payer_phone.clone(),
        kind: SmsKind::Bill,
        body: crate::messages::bill(&m.name, &rec, expires),
        quota: Some(text_limits(state, &m)),
    };
    let now = state.clock.now();
    let (mid, cid) = (merchant_id.clone(), charge_id.clone());
    state
        .db(move |s| s.enqueue_sms(&mid, Some(&cid), &sms, now))
        .await?;
    state.wake.notify_one();
    tracing::info!(%charge_id, "bill text sent again");
    Ok(rec)
}

/// The texts and webhooks of a refund of `amount` KRW, whole or partial: a notice to the payer
/// and `charge.refunded`.
fn refund_effects(
    state: &AppState,
    merchant: &Merchant,
    rec: &ChargeRecord,
    amount: i64,
) -> Effects {
    let mut fx = Effects::default();
    if let Some(body) = crate::messages::refund(&merchant.name, rec, amount) {
        fx.sms.push(NewSms {
            to: rec.payer_phone.clone(),
            kind: SmsKind::Notice,
            body,
            quota: None,
        });
    }
    if let Some(w) = crate::webhooks::refund_webhook(merchant, rec, state.clock.now()) {
        fx.webhooks.push(w);
    }
    fx
}

/// Refunds an approved charge through the card connector, whole (`amount` None: all that
/// remains) or in part. The refund is claimed in the store first (so refunds racing never
/// refund more than was approved), then the network cancels it under the idempotency key
/// `{attempt key}-r{n}`, then the store completes it. When the network's answer is in doubt
/// the claim stays pending: the same refund asked again reuses n, and the network does not
/// refund twice.
pub async fn refund(
    state: &AppState,
    merchant_id: &MerchantId,
    charge_id: &ChargeId,
    amount: Option<i64>,
    reason: Option<String>,
) -> AppResult<ChargeRecord> {
    let m = merchant(state, merchant_id).await?;
    // Before the refund is claimed: a merchant whose connector cannot be built claims none.
    let connector = state.card_connector(merchant_id).await?;
    let now = state.clock.now();
    let (mid, cid, why) = (merchant_id.clone(), charge_id.clone(), reason.clone());
    let claim = state
        .db(move |s| s.begin_refund(&mid, &cid, amount, why.as_deref(), now))
        .await?;
    let rec = claim.record;
    let Some(claimed) = claim.refund else {
        return Ok(rec); // refunded in full already
    };
    let n = claimed.n;
    let key = attempt_key(&rec);
    let idempotency_key = format!("{key}-r{n}");
    let why = reason.unwrap_or_else(|| "refund".into());
    // What the network must have canceled in all once this refund is made.
    let refunded_before = rec.charge.payment.as_ref().map_or(0, |p| p.refunded_amount);
    let expected = refunded_before + claimed.amount;
    let cancel = CancelRequest {
        key: &key,
        idempotency_key: &idempotency_key,
        reason: &why,
        // The rest as a whole cancel, so a network without partial cancels still refunds it.
        amount: (!(claimed.whole_rest && refunded_before == 0)).then_some(claimed.amount),
    };
    tracing::info!(%charge_id, n, amount = claimed.amount, retry = claimed.retry, "refund claimed");
    let answer = match connector.cancel(&cancel).await {
        Err(ConnectorError::AlreadyCanceled) => {
            // Nothing left at the network: a retry of a refund it made, or a cancel made
            // elsewhere. Its record says which.
            connector
                .inquire(&key)
                .await
                .and_then(|t| t.ok_or(ConnectorError::NotFound))
        }
        other => other,
    };
    let failure = match answer {
        Ok(t) if t.canceled_amount() >= expected => None,
        Ok(t) => {
            tracing::warn!(%charge_id, n, canceled = t.canceled_amount(), expected, "the network canceled less than asked");
            Some((
                AppError::new(
                    ErrorCode::ConnectorFailed,
                    "the card network did not cancel the payment",
                ),
                false,
            ))
        }
        Err(ConnectorError::Timeout) => Some((
            AppError::new(
                ErrorCode::ConnectorFailed,
                "the card network did not answer; the refund may or may not be made: ask for the same refund again",
            ),
            true,
        )),
        Err(e) => Some((
            AppError::new(
                ErrorCode::ConnectorFailed,
                format!("the card network could not cancel the payment: {e}"),
            ),
            false,
        )),
    };
    if let Some((err, in_doubt)) = failure {
        tracing::warn!(%charge_id, n, in_doubt, error = %err.message, "refund failed at the connector");
        if !in_doubt {
            let cid = charge_id.clone();
            let now = state.clock.now();
            if let Err(e) = state.db(move |s| s.fail_refund(&cid, n, now)).await {
                tracing::error!(%charge_id, n, error = %e.message, "cannot give up the refund claim");
            }
        }
        return Err(err);
    }
    let now = state.clock.now();
    let (cid, st, amount) = (charge_id.clone(), state.clone(), claimed.amount);
    let rec = state
        .db(move |s| s.record_refund(&cid, n, now, &|rec| refund_effects(&st, &m, rec, amount)))
        .await?;
    tracing::info!(%charge_id, n, amount, status = %rec.charge.status, "charge refunded");
    state.publish(&rec);
    Ok(rec)
}

pub async fn expire_due(state: &AppState) -> usize {
    let now = state.clock.now();
    let st = state.clone();
    let result = state
        .db(move |s| {
            s.expire_due(now, &|rec| match s.merchant(&rec.merchant_id) {
                Ok(Some(m)) => effects(&st, &m, rec),
                _ => Effects::default(),
            })
        })
        .await;
    match result {
        Ok(expired) => {
            for rec in &expired {
                tracing::info!(charge_id = %rec.charge.id, "charge expired");
                state.publish(rec);
            }
            expired.len()
        }
        Err(e) => {
            tracing::error!(error = %e.message, "expiry sweep failed");
            0
        }
    }
}

fn decline_reason(code: DeclineCode) -> ivr::DeclineReason {
    use ivr::DeclineReason as R;
    match code {
        DeclineCode::InsufficientFunds => R::InsufficientFunds,
        DeclineCode::LostOrStolen => R::LostOrStolen,
        DeclineCode::WrongPassword => R::WrongPassword,
        DeclineCode::OverLimit => R::OverLimit,
        DeclineCode::InvalidCard | DeclineCode::UnknownBin => R::InvalidCard,
        DeclineCode::Expired => R::Expired,
        DeclineCode::InvalidInstallments | DeclineCode::Other => R::Other,
    }
}

async fn store_approval(
    state: &AppState,
    m: std::sync::Arc<Merchant>,
    charge_id: &ChargeId,
    connector: &str,
    a: &crate::card::Approval,
) -> AppResult<ChargeRecord> {
    let payment = NewPayment {
        connector: connector.to_string(),
        approval_number: a.approval_number.clone(),
        issuer_code: a.issuer.code().to_string(),
        issuer_name: a.issuer.name_ko().to_string(),
        acquirer_code: a.acquirer_code.clone(),
        masked_card: a.masked_card.clone(),
        installment_months: a.installment_months,
        amount: a.amount,
        // The network dates approvals in real time; the server's clock may run ahead (sandbox).
        approved_at: a.approved_at + state.clock.offset(),
        receipt_token: random_token(24),
    };
    let now = state.clock.now();
    let (cid, st) = (charge_id.clone(), state.clone());
    let rec = state
        .db(move |s| s.record_approval(&cid, &payment, now, &|rec| effects(&st, &m, rec)))
        .await?;
    tracing::info!(%charge_id, approval = %a.approval_number, "charge approved");
    state.publish(&rec);
    Ok(rec)
}

/// [`store_approval`], tried a few times: the approval exists at the network, and a record
/// that fails now (a busy database) would otherwise leave the charge in flight until the
/// in-doubt recovery.
async fn store_approval_retrying(
    state: &AppState,
    m: std::sync::Arc<Merchant>,
    charge_id: &ChargeId,
    connector: &str,
    a: &crate::card::Approval,
) -> AppResult<ChargeRecord> {
    let mut tries = 0;
    loop {
        tries += 1;
        match store_approval(state, m.clone(), charge_id, connector, a).await {
            Err(e) if tries < 4 => {
                tracing::warn!(%charge_id, error = %e.message, tries, "approved, recording it failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(250 * tries)).await;
            }
            out => return out,
        }
    }
}

async fn end_approval(
    state: &AppState,
    m: std::sync::Arc<Merchant>,
    charge_id: &ChargeId,
    declined: Option<&'static str>,
) {
    let limits = approval_limits(state, Some(&m));
    // Tried a few times: a charge left in flight is refused to the payer until the in-doubt
    // recovery.
    for tries in 1..=4u64 {
        let now = state.clock.now();
        let (cid, st, m) = (charge_id.clone(), state.clone(), m.clone());
        match state
            .db(move |s| s.end_approval(&cid, declined, &limits, now, &|rec| effects(&st, &m, rec)))
            .await
        {
            Ok(rec) => return state.publish(&rec),
            Err(e) if tries < 4 => {
                tracing::warn!(%charge_id, error = %e.message, tries, "cannot end approval; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(250 * tries)).await;
            }
            Err(e) => tracing::error!(%charge_id, error = %e.message, "cannot end approval"),
        }
    }
}

fn approval_limits(state: &AppState, m: Option<&Merchant>) -> ApprovalLimits {
    ApprovalLimits {
        declines_per_charge: m.map_or(u32::MAX, |m| m.settings.approval_attempt_limit.max(1)),
        declines_per_caller_per_hour: state.settings.declines_per_caller_per_hour,
    }
}

/// Gets a card approval for a charge the IVR collected. At most one approval per charge: the
/// store refuses a second one in flight, and the connector is keyed by the charge id.
pub async fn approve(state: &AppState, request: ivr::ApprovalRequest) -> ivr::ApprovalOutcome {
    let charge_id = ChargeId::new(request.charge_id.clone());
    let now = state.clock.now();
    let cid = charge_id.clone();
    // The merchant's own limit applies when the approval ends; here only the caller's counts.
    let limits = approval_limits(state, None);
    let rec = match state
        .db({
            let owner = state.instance_id.clone();
            move |s| s.begin_approval(&cid, &limits, &owner, now)
        })
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(charge_id = %charge_id, error = %e.message, "approval refused");
            return ivr::ApprovalOutcome::Failed;
        }
    };
    state.publish(&rec);
    let Ok(m) = merchant(state, &rec.merchant_id).await else {
        return ivr::ApprovalOutcome::Failed;
    };
    let token;
    let method = match &request.card {
        ivr::CardSource::Entered(card) => PaymentMethod::Card(CardInput {
            number: card.number(),
            expiry_mmyy: card.expiry_mmyy(),
            birth_or_business: card.birth_or_business(),
            password2: card.password2(),
        }),
        ivr::CardSource::Registered => {
            // Only an auto-pay charge of a merchant that (still) allows auto-pay.
            let allowed = m.settings.auto_pay && rec.charge.kind == ChargeKind::AutoPay;
            let (mid, phone) = (rec.merchant_id.clone(), rec.payer_phone.clone());
            let found = match allowed {
                true => state.db(move |s| s.registered_card(&mid, &phone)).await,
                false => Ok(None),
            };
            match found {
                Ok(Some(rc)) => {
                    token = rc.token;
                    PaymentMethod::Registered { token: &token }
                }
                _ => {
                    end_approval(state, m, &charge_id, None).await;
                    return ivr::ApprovalOutcome::Failed;
                }
            }
        }
    };
    let key = attempt_key(&rec);
    let req = ApproveRequest {
        key: &key,
        order_name: &rec.charge.goods_name,
        amount: rec.charge.amount,
        installment_months: request.installment_months,
        method,
        merchant_id: rec.merchant_id.as_str(),
    };
    let connector = match state.card_connector(&rec.merchant_id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(charge_id = %charge_id, error = %e.message, "no card connector; nothing charged");
            end_approval(state, m, &charge_id, None).await;
            return ivr::ApprovalOutcome::Failed;
        }
    };
    let result = approve_with_recovery(connector.as_ref(), &req).await;
    drop(request); // the card digits are zeroized here
    match result {
        Ok(a) => match store_approval_retrying(state, m, &charge_id, connector.name(), &a).await {
            Ok(_) => ivr::ApprovalOutcome::Approved {
                approval_number: a.approval_number.clone(),
                issuer_name: a.issuer.name_ko().to_string(),
                masked_card: a.masked_card.clone(),
                installment_months: a.installment_months,
            },
            Err(e) => {
                // The network approved but we could not record it: leave the charge marked
                // in flight; recovery will find the approval by inquiry.
                tracing::error!(charge_id = %charge_id, error = %e.message, "approved but not recorded; recovery will retry");
                ivr::ApprovalOutcome::Failed
            }
        },
        Err(ApprovalFailure::Declined { code, .. }) => {
            tracing::info!(charge_id = %charge_id, code = code.as_str(), "card declined");
            end_approval(state, m, &charge_id, Some(code.as_str())).await;
            ivr::ApprovalOutcome::Declined {
                reason: decline_reason(code),
            }
        }
        Err(ApprovalFailure::NotCharged) => {
            tracing::warn!(charge_id = %charge_id, "approval failed; nothing charged");
            end_approval(state, m, &charge_id, None).await;
            ivr::ApprovalOutcome::Failed
        }
        Err(ApprovalFailure::InDoubt) => {
            tracing::error!(charge_id = %charge_id, "approval in doubt; recovery will resolve it");
            ivr::ApprovalOutcome::Failed
        }
    }
}

/// How long a refund may stay claimed before the worker asks the network again: a refund
/// whose answer was lost (a timeout) or whose server stopped mid-way is finished without the
/// rep asking again.
pub const REFUND_RETRY_AFTER: chrono::Duration = chrono::Duration::minutes(1);

/// Finishes the refunds left pending for longer than [`REFUND_RETRY_AFTER`]: each is asked
/// again exactly as first asked (its own number, so its own idempotency key at the network:
/// a refund the network made is recorded, never made twice). Runs on one instance at a time
/// (the recovery job). Returns how many were finished.
pub async fn finish_pending_refunds(state: &AppState) -> usize {
    let before = state.clock.now() - REFUND_RETRY_AFTER;
    let pending = match state.db(move |s| s.pending_refunds(before, 50)).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e.message, "cannot list pending refunds");
            return 0;
        }
    };
    let mut finished = 0;
    for p in pending {
        match refund(
            state,
            &p.merchant_id,
            &p.charge_id,
            Some(p.amount),
            p.reason.clone(),
        )
        .await
        {
            Ok(_) => {
                tracing::info!(charge_id = %p.charge_id, n = p.n, "a pending refund finished");
                finished += 1;
            }
            Err(e) => {
                tracing::warn!(charge_id = %p.charge_id, n = p.n, error = %e.message, "a pending refund is still not finished")
            }
        }
    }
    finished
}

/// The connector key of a charge's latest approval attempt (the one in flight, or the one
/// approved): the charge id for the first attempt, `{charge id}-{n}` for the n-th (a card
/// declined, the payer tries another). Each attempt is a new order at the provider, so a
/// retry of one attempt is never a second approval, and a new card is never refused as a
/// reused order id.
pub fn attempt_key(rec: &ChargeRecord) -> String {
    let n = rec
        .charge
        .events
        .iter()
        .filter(|e| e.is_transition() && e.status == ChargeStatus::CardEntered)
        .count();
    match n {
        0 | 1 => rec.charge.id.clone(),
        n => format!("{}-{n}", rec.charge.id),
    }
}

/// How long an approval may stay in flight before the worker resolves it by inquiry (an
/// answer that was in doubt, or a failure to record it).
pub const IN_DOUBT_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Resolves the approvals in flight that are in doubt: asks the network what happened and
/// records it (approved), or releases the charge (nothing charged). In doubt: those of an
/// instance that is gone (its lease ran out or was given up: it stopped or was killed before
/// the answer was recorded), every one at start when `at_start` (a database of its own: the
/// stop interrupted them all), and any older than [`IN_DOUBT_AFTER`] (an answer in doubt, or
/// a failure to record it).
pub async fn recover_in_flight(state: &AppState, at_start: bool) {
    let old = crate::clock::ts(state.clock.now() - IN_DOUBT_AFTER);
    let all = match state.db(|s| s.approvals_in_flight()).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e.message, "cannot list approvals in flight");
            return;
        }
    };
    let mut in_flight = Vec::new();
    for a in all {
        let in_doubt = at_start
            || a.since < old
            || match &a.owner {
                Some(owner) if owner.as_str() != &*state.instance_id => {
                    !crate::coordination::instance_alive(state, owner).await
                }
                _ => false,
            };
        if in_doubt {
            in_flight.push(a.record);
        }
    }
    for rec in in_flight {
        let id = rec.id();
        let Ok(m) = merchant(state, &rec.merchant_id).await else {
            continue;
        };
        let connector = match state.card_connector(&rec.merchant_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(charge_id = %id, error = %e.message, "cannot resolve approval yet");
                continue;
            }
        };
        match connector.inquire(&attempt_key(&rec)).await {
            Ok(Some(TxnState::Approved(a))) => {
                tracing::info!(charge_id = %id, "recovered an approval made before the restart");
                let _ = store_approval(state, m, &id, connector.name(), &a).await;
            }
            Ok(Some(TxnState::Canceled { .. } | TxnState::PartiallyCanceled { .. }))
            | Ok(None)
            | Err(ConnectorError::NotFound) => {
                tracing::info!(charge_id = %id, "approval in flight at restart: nothing was charged");
                end_approval(state, m, &id, None).await;
            }
            Err(e) => tracing::warn!(charge_id = %id, error = %e, "cannot resolve approval yet"),
        }
    }
}
