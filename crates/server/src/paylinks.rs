//! The payment link service: links made through the API, signed links read from their URL,
//! and the charge a link's page asks for (through [`crate::charges::create`], the link claimed
//! in the charge's own transaction so a double submit makes one charge).

use chrono::{DateTime, Duration, Utc};
use fieldpay_protocol::charge::{ChargeOrigin, CreateCharge, Orderer};
use fieldpay_protocol::payment_link::{
    CreatePaymentLink, PaymentLink, PaymentLinkMode, PaymentLinkStatus,
};
use fieldpay_protocol::rules::{parse_mobile, parse_optional_text, parse_text, Amount};
use fieldpay_protocol::{ErrorCode, MerchantId};

use crate::charges::{self, Requester};
use crate::domain::ChargeRequest;
use crate::error::{AppError, AppResult};
use crate::ids::random_token;
use crate::links::{LinkMode, SignedLink};
use crate::state::AppState;
use crate::store::{
    ChargeRecord, LinkSource, LinkState, LinkUse, NewPaymentLink, PaymentLinkRecord,
};

/// Default and longest life of an API-made link, in minutes.
pub const DEFAULT_EXPIRY_MINUTES: u32 = 24 * 60;
pub const MAX_EXPIRY_MINUTES: u32 = 30 * 24 * 60;

/// A new link id: `pl_` and 24 random characters (it is in the link's public URL).
fn new_link_id() -> String {
    format!("pl_{}", random_token(24))
}

/// A new status page token (32 random characters).
fn new_status_token() -> String {
    random_token(32)
}

/// An e-mail address, loosely: something@something.tld, no spaces, at most 100 characters.
pub fn parse_email(v: Option<&str>) -> AppResult<Option<String>> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let ok = v.len() <= 100
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && v.split_once('@').is_some_and(|(a, d)| {
            !a.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if ok {
        Ok(Some(v.to_string()))
    } else {
        Err(AppError::invalid("payer_email", "is not an e-mail address"))
    }
}

/// The fields of a link, checked as a charge's would be (the phone only when given).
pub struct LinkFields {
    pub goods_name: String,
    pub amount: i64,
    pub payer_name: Option<String>,
    pub payer_phone: Option<String>,
    pub payer_email: Option<String>,
    pub order_ref: Option<String>,
    pub orderer: Option<(String, String)>,
    pub installments: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn check_fields(
    goods_name: &str,
    amount: i64,
    payer_name: Option<&str>,
    payer_phone: Option<&str>,
    payer_email: Option<&str>,
    order_ref: Option<&str>,
    orderer: Option<&Orderer>,
    installments: bool,
) -> AppResult<LinkFields> {
    Ok(LinkFields {
        goods_name: parse_text("goods_name", goods_name, 100)?,
        amount: Amount::parse(amount)?.get(),
        payer_name: parse_optional_text("payer_name", payer_name, 50)?,
        payer_phone: match payer_phone.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(parse_mobile("payer_phone", p)?.digits().to_string()),
            None => None,
        },
        payer_email: parse_email(payer_email)?,
        order_ref: parse_optional_text("order_ref", order_ref, 64)?,
        orderer: match orderer {
            Some(o) => Some((
                parse_text("orderer.name", &o.name, 50)?,
                parse_mobile("orderer.phone", &o.phone)?
                    .digits()
                    .to_string(),
            )),
            None => None,
        },
        installments,
    })
}

/// The page of a stored link.
pub fn link_url(state: &AppState, id: &str) -> String {
    format!("{}/l/{id}", state.settings.public_url.trim_end_matches('/'))
}

/// Makes a link through the API (`created_by`: `api_key:<id>` or `manager:<rep>`).
pub async fn create(
    state: &AppState,
    merchant_id: &MerchantId,
    created_by: String,
    req: CreatePaymentLink,
) -> AppResult<PaymentLinkRecord> {
    let f = check_fields(
        &req.goods_name,
        req.amount,
        req.payer_name.as_deref(),
        req.payer_phone.as_deref(),
        req.payer_email.as_deref(),
        req.order_ref.as_deref(),
        req.orderer.as_ref(),
        req.installments.unwrap_or(true),
    )?;
    let minutes = req.expires_in_minutes.unwrap_or(DEFAULT_EXPIRY_MINUTES);
    if !(1..=MAX_EXPIRY_MINUTES).contains(&minutes) {
        return Err(AppError::invalid(
            "expires_in_minutes",
            format!("must be 1 to {MAX_EXPIRY_MINUTES}"),
        ));
    }
    let now = state.clock.now();
    let new = NewPaymentLink {
        id: new_link_id(),
        merchant_id: merchant_id.clone(),
        source: LinkSource::Api,
        signature: None,
        mode: match req.mode.unwrap_or_default() {
            PaymentLinkMode::Shop => LinkMode::Shop,
            PaymentLinkMode::Agent => LinkMode::Agent,
        },
        goods_name: f.goods_name,
        amount: f.amount,
        payer_name: f.payer_name,
        payer_phone: f.payer_phone,
        payer_email: f.payer_email,
        order_ref: f.order_ref,
        orderer_name: f.orderer.as_ref().map(|o| o.0.clone()),
        orderer_phone: f.orderer.map(|o| o.1),
        expires_at: now + Duration::minutes(i64::from(minutes)),
        installments: f.installments,
        status_token: new_status_token(),
        created_by,
    };
    state.db(move |s| s.create_payment_link(&new, now)).await
}

/// The link a signed URL describes, as it would be stored on its first use (a new id and
/// token; the store keeps the first one stored for that signature).
pub fn signed_link(merchant_id: &MerchantId, l: &SignedLink) -> NewPaymentLink {
    NewPaymentLink {
        id: new_link_id(),
        merchant_id: merchant_id.clone(),
        source: LinkSource::Signed,
        signature: Some(l.signature.clone()),
        mode: l.mode,
        goods_name: l.goods_name.clone(),
        amount: l.amount,
        payer_name: l.payer_name.clone(),
        payer_phone: l.payer_phone.clone(),
        payer_email: l.payer_email.clone(),
        order_ref: l.order_ref.clone(),
        orderer_name: None,
        orderer_phone: None,
        expires_at: DateTime::<Utc>::from_timestamp(l.expires, 0).unwrap_or_default(),
        installments: l.installments,
        status_token: new_status_token(),
        created_by: "signed".into(),
    }
}

/// What the page sends to make the charge: the link's fields (an agent may have changed
/// them) and the payer's phone.
pub struct PayRequest {
    pub goods_name: String,
    pub amount: i64,
    pub payer_name: Option<String>,
    pub payer_phone: String,
    pub order_ref: Option<String>,
    pub orderer: Option<Orderer>,
    pub installments: bool,
}

/// Makes (or, on a double submit, finds) the link's charge. The link is claimed in the
/// charge's transaction; a refused claim (paid, canceled, expired) is `invalid_state`.
pub async fn pay(
    state: &AppState,
    merchant_id: &MerchantId,
    link: LinkUse,
    req: PayRequest,
) -> AppResult<(ChargeRecord, bool)> {
    let body = CreateCharge {
        amount: req.amount,
        goods_name: req.goods_name,
        payer_phone: req.payer_phone,
        payer_name: req.payer_name,
        kind: None,
        order_ref: req.order_ref,
        account_id: None,
        orderer: req.orderer,
        installments: Some(req.installments),
        expires_in_minutes: None,
    };
    let request = ChargeRequest::parse(&body)?;
    let who = Requester {
        merchant_id: merchant_id.clone(),
        rep_id: None,
        api_key_id: None,
        origin: ChargeOrigin::WebLink,
        link: Some(link),
    };
    charges::create(state, who, request, None, None).await
}

/// The link as the API shows it.
pub fn view(state: &AppState, rec: &PaymentLinkRecord) -> PaymentLink {
    let l = &rec.link;
    PaymentLink {
        id: l.id.clone(),
        url: (l.source == LinkSource::Api).then(|| link_url(state, &l.id)),
        source: l.source.as_str().into(),
        mode: match l.mode {
            LinkMode::Shop => PaymentLinkMode::Shop,
            LinkMode::Agent => PaymentLinkMode::Agent,
        },
        status: match rec.state(state.clock.now()) {
            LinkState::Open => PaymentLinkStatus::Open,
            LinkState::Paid => PaymentLinkStatus::Paid,
            LinkState::Expired => PaymentLinkStatus::Expired,
            LinkState::Canceled => PaymentLinkStatus::Canceled,
        },
        goods_name: l.goods_name.clone(),
        amount: l.amount,
        payer_name: l.payer_name.clone(),
        payer_phone: l.payer_phone.clone(),
        payer_email: l.payer_email.clone(),
        order_ref: l.order_ref.clone(),
        orderer: match (&l.orderer_name, &l.orderer_phone) {
            (Some(n), Some(p)) => Some(Orderer {
                name: n.clone(),
                phone: p.clone(),
            }),
            _ => None,
        },
        installments: l.installments,
        expires_at: crate::clock::ts(l.expires_at),
        charge_id: rec.charge_id.as_ref().map(|c| c.to_string()),
        created_at: rec.created_at.clone(),
        created_by: l.created_by.clone(),
        canceled_at: rec.canceled_at.clone(),
    }
}

/// Cancels the link and its live charge, if any (through [`charges::cancel`], which texts
/// nothing more than a cancel from the API would). A paid link is `invalid_state`.
pub async fn cancel(
    state: &AppState,
    merchant_id: &MerchantId,
    id: String,
) -> AppResult<PaymentLinkRecord> {
    let now = state.clock.now();
    let mid = merchant_id.clone();
    let rec = state
        .db(move |s| s.cancel_payment_link(&mid, &id, now))
        .await?;
    if let (true, Some(charge_id)) = (rec.charge_live, &rec.charge_id) {
        match charges::cancel(
            state,
            merchant_id,
            charge_id,
            Some("payment link canceled".into()),
        )
        .await
        {
            Ok(_) => {}
            // Paid or ended in the meantime: the link's state says which.
            Err(e) if e.code == ErrorCode::InvalidState => {}
            Err(e) => return Err(e),
        }
        let (mid, id) = (merchant_id.clone(), rec.link.id.clone());
        return state
            .db(move |s| s.payment_link(&mid, &id))
            .await?
            .ok_or_else(|| AppError::not_found("payment link"));
    }
    Ok(rec)
}
