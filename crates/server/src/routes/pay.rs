//! The payment link pages (server-rendered, [`crate::web::layout`]):
//! - `/pay/{merchant_code}?...&sig=..`: a signed link ([`crate::links`]); `/l/{id}`: a link
//!   made through the API. GET shows the pay page (shop mode: the payer's mobile number,
//!   consent, one button) or the agent page (agent mode: every field editable, "send"); POST
//!   asks for the charge (the link claimed in the charge's transaction) and answers 303 to
//!   the link's status page.
//! - `/pay/s/{token}`: the status page, reachable only with the link's unguessable token:
//!   "주문 등록 완료" with the virtual number, the deadline and the live status; the result with
//!   the receipt link; for agents the status and "send again". `/state` (JSON) and `/events`
//!   (server-sent events) feed the live status script.
//!
//! Every form carries a CSRF token (double submit: a `fp_csrf` cookie, SameSite=Strict, and
//! the same value in the form); a POST without it gets the 403 page and creates nothing.
//! Charge creation here is limited per client address and per payer phone (the store's
//! allowance, shared by all instances): past it, the 429 page.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fieldpay_protocol::charge::{ChargeStatus, Orderer};
use fieldpay_protocol::money::format_krw;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::ErrorCode;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::limits::{address_key, KeyedLimit};
use crate::clock::kst_long;
use crate::domain::{Merchant, MerchantStatus};
use crate::error::AppError;
use crate::ids::{random_token, sha256_hex};
use crate::links::{self, LinkError, LinkMode, SignedLink};
use crate::paylinks::{self, PayRequest};
use crate::state::AppState;
use crate::store::{ChargeRecord, LinkState, LinkUse, PaymentLinkRecord};
use crate::web::layout::{escape, Icon, Lang, Page, PageKind};

use super::extract::ClientIp;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signed_page, signed_submit))
        .routes(routes!(stored_page, stored_submit))
        .routes(routes!(status_page, status_again))
        .routes(routes!(status_state))
        .routes(routes!(status_events))
}

// ------------------------------------------------------------------ errors

/// The error pages' codes (the DOM contract's `#error[data-code]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    BadSignature,
    Invalid,
    Expired,
    Paid,
    Canceled,
    NotFound,
    Suspended,
    RateLimited,
    Csrf,
    Unavailable,
}

impl PageError {
    fn code(self) -> &'static str {
        match self {
            PageError::BadSignature => "bad_signature",
            PageError::Invalid => "invalid",
            PageError::Expired => "expired",
            PageError::Paid => "paid",
            PageError::Canceled => "canceled",
            PageError::NotFound => "not_found",
            PageError::Suspended => "suspended",
            PageError::RateLimited => "rate_limited",
            PageError::Csrf => "csrf",
            PageError::Unavailable => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            PageError::BadSignature | PageError::Suspended | PageError::Csrf => {
                StatusCode::FORBIDDEN
            }
            PageError::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            PageError::Expired | PageError::Canceled => StatusCode::GONE,
            PageError::Paid => StatusCode::CONFLICT,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Title and explanation, in Korean and in English.
    fn text(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            PageError::BadSignature => (
                "유효하지 않은 결제 링크입니다",
                "링크의 서명이 없거나 맞지 않습니다. 링크가 바뀌었을 수 있습니다. 가맹점에 새 링크를 요청하세요.",
                "This payment link is not valid",
                "The link's signature is missing or does not match: the link may have been changed. Ask the merchant for a new link.",
            ),
            PageError::Invalid => (
                "결제 링크의 내용이 올바르지 않습니다",
                "가맹점에 링크를 확인해 달라고 요청하세요.",
                "This payment link has invalid contents",
                "Ask the merchant to check the link.",
            ),
            PageError::Expired => (
                "결제 기한이 지난 링크입니다",
                "가맹점에 새 링크를 요청하세요.",
                "This payment link has expired",
                "Ask the merchant for a new link.",
            ),
            PageError::Paid => (
                "이미 결제가 완료된 링크입니다",
                "같은 주문을 두 번 결제하지 않도록 이 링크로는 더 결제할 수 없습니다.",
                "This link has already been paid",
                "So that an order is not paid twice, this link takes no further payment.",
            ),
            PageError::Canceled => (
                "취소된 결제 링크입니다",
                "가맹점이 이 결제 요청을 취소했습니다.",
                "This payment link was canceled",
                "The merchant canceled this payment request.",
            ),
            PageError::NotFound => (
                "결제 링크를 찾을 수 없습니다",
                "주소를 다시 확인하세요.",
                "Payment link not found",
                "Check the address.",
            ),
            PageError::Suspended => (
                "지금은 결제를 받을 수 없는 가맹점입니다",
                "가맹점에 문의하세요.",
                "This merchant cannot take payments now",
                "Please contact the merchant.",
            ),
            PageError::RateLimited => (
                "요청이 너무 많습니다",
                "잠시 후 다시 시도하세요.",
                "Too many requests",
                "Please try again in a little while.",
            ),
            PageError::Csrf => (
                "요청을 확인할 수 없습니다",
                "페이지를 새로 고친 뒤 다시 시도하세요.",
                "The request could not be verified",
                "Reload the page and try again.",
            ),
            PageError::Unavailable => (
                "지금은 결제 요청을 만들 수 없습니다",
                "잠시 후 다시 시도하거나 가맹점에 문의하세요.",
                "The payment request cannot be made now",
                "Try again later or contact the merchant.",
            ),
        }
    }
}

/// The error page (both languages: the chosen one first).
pub fn error_page(lang: Lang, e: PageError, merchant: Option<&str>) -> Response {
    let (ko_title, ko_text, en_title, en_text) = e.text();
    let (t1, x1, t2, x2) = match lang {
        Lang::Ko => (ko_title, ko_text, en_title, en_text),
        Lang::En => (en_title, en_text, ko_title, ko_text),
    };
    let body = format!(
        "<div id=\"error\" data-code=\"{code}\"><h1 class=\"error-head\">{icon}<span>{t1}</span></h1>\
         <p>{x1}</p><p class=\"muted\" lang=\"{other}\">{t2}. {x2}</p></div>",
        code = e.code(),
        icon = Icon::Alert.svg(),
        t1 = escape(t1),
        x1 = escape(x1),
        t2 = escape(t2),
        x2 = escape(x2),
        other = lang.other().code(),
    );
    let mut p = Page::new(lang, PageKind::Error, t1, body);
    p.status = e.status();
    p.merchant = merchant.map(str::to_string);
    p.into_response()
}

fn internal(lang: Lang, e: AppError) -> Response {
    tracing::warn!(code = %e.code, message = %e.message, "a payment page failed");
    error_page(lang, PageError::Unavailable, None)
}

// ------------------------------------------------------------------ csrf, limits, language

const CSRF_COOKIE: &str = "fp_csrf";

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The browser's CSRF token: its cookie, or a new one (then `Set-Cookie` is needed).
struct Csrf {
    token: String,
    new: bool,
}

fn csrf(headers: &HeaderMap) -> Csrf {
    match cookie(headers, CSRF_COOKIE) {
        Some(token) => Csrf { token, new: false },
        None => Csrf {
            token: random_token(32),
            new: true,
        },
    }
}

fn with_csrf(state: &AppState, c: &Csrf, mut res: Response) -> Response {
    if c.new {
        let secure = if state.settings.public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            c.token
        )) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// A POST's CSRF check: the form's token is the cookie's (compared in constant time).
fn csrf_holds(headers: &HeaderMap, form: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), form) {
        (Some(c), Some(f)) => c.len() == f.len() && bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    }
}

fn hidden_csrf(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    )
}

/// Takes one charge creation from the client address's and the payer phone's allowances.
async fn admit(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    phone_digits: &str,
) -> Result<bool, AppError> {
    let s = &state.settings;
    let per_ip = KeyedLimit::new(s.web_charges_ip_per_minute, s.web_charges_ip_burst);
    let per_phone = KeyedLimit::new(s.web_charges_phone_per_minute, s.web_charges_phone_burst);
    let ip_key = format!(
        "web_ip:{}",
        ip.map(address_key).unwrap_or_else(|| "unknown".into())
    );
    let phone_key = format!("web_phone:{}", sha256_hex(phone_digits.as_bytes()));
    state
        .db(move |store| {
            let now = chrono::Utc::now().timestamp_millis();
            if let Some(l) = per_ip {
                if l.take(store, &ip_key, now)?.is_err() {
                    return Ok(false);
                }
            }
            if let Some(l) = per_phone {
                if l.take(store, &phone_key, now)?.is_err() {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
}

fn lang_of(params: &BTreeMap<String, String>, headers: &HeaderMap) -> Lang {
    Lang::from_request(params.get("lang").map(String::as_str), headers)
}

fn query_map(raw: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A path with `lang` set (for the language link).
fn with_lang(path: &str, lang: Lang) -> String {
    format!("{path}?lang={}", lang.code())
}

// ------------------------------------------------------------------ the link being opened

/// A link as opened: its merchant, what it asks for, and its stored row (if any).
struct Opened {
    merchant: Merchant,
    link: paylinks_view::Fields,
    stored: Option<PaymentLinkRecord>,
    /// How a charge of it uses it.
    use_: LinkUse,
}

mod paylinks_view {
    use super::*;

    /// What a pay or agent page shows and prefills.
    #[derive(Clone)]
    pub struct Fields {
        pub mode: LinkMode,
        pub goods_name: String,
        pub amount: i64,
        pub payer_name: Option<String>,
        pub payer_phone: Option<String>,
        pub payer_email: Option<String>,
        pub order_ref: Option<String>,
        pub orderer: Option<Orderer>,
        pub installments: bool,
        pub expires_at: chrono::DateTime<chrono::Utc>,
    }

    impl From<&crate::store::NewPaymentLink> for Fields {
        fn from(l: &crate::store::NewPaymentLink) -> Self {
            Fields {
                mode: l.mode,
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
                expires_at: l.expires_at,
            }
        }
    }
}

/// A signed link: the merchant by code (read fresh: a rotated key or a suspension counts at
/// once), the signature, the values, the stored row of that signature.
async fn open_signed(
    state: &AppState,
    code: String,
    params: &BTreeMap<String, String>,
) -> Result<Opened, (PageError, Option<String>)> {
    let c = code.clone();
    let merchant = state
        .db(move |s| s.merchant_by_code(&c))
        .await
        .map_err(|_| (PageError::Unavailable, None))?
        .ok_or((PageError::NotFound, None))?;
    let name = Some(merchant.name.clone());
    let key = merchant
        .settings
        .link_key
        .as_ref()
        .map(|k| k.expose().to_string());
    let signed: SignedLink = links::verify(key.as_deref(), params).map_err(|e| match e {
        LinkError::BadSignature => (PageError::BadSignature, name.clone()),
        LinkError::Invalid(_) => (PageError::Invalid, name.clone()),
    })?;
    if merchant.status == MerchantStatus::Suspended {
        return Err((PageError::Suspended, name));
    }
    let (mid, sig) = (merchant.id.clone(), signed.signature.clone());
    let stored = state
        .db(move |s| s.payment_link_by_signature(&mid, &sig))
        .await
        .map_err(|_| (PageError::Unavailable, name.clone()))?;
    let new = paylinks::signed_link(&merchant.id, &signed);
    let fields = match &stored {
        Some(rec) => paylinks_view::Fields::from(&rec.link),
        None => paylinks_view::Fields::from(&new),
    };
    Ok(Opened {
        merchant,
        link: fields,
        stored,
        use_: LinkUse::Signed(Box::new(new)),
    })
}

/// A link made through the API, by id.
async fn open_stored(state: &AppState, id: String) -> Result<Opened, (PageError, Option<String>)> {
    let rec = state
        .db(move |s| s.payment_link_any(&id))
        .await
        .map_err(|_| (PageError::Unavailable, None))?
        .ok_or((PageError::NotFound, None))?;
    let mid = rec.link.merchant_id.clone();
    let merchant = state
        .db(move |s| s.merchant(&mid))
        .await
        .map_err(|_| (PageError::Unavailable, None))?
        .ok_or((PageError::NotFound, None))?;
    if merchant.status == MerchantStatus::Suspended {
        return Err((PageError::Suspended, Some(merchant.name)));
    }
    Ok(Opened {
        link: paylinks_view::Fields::from(&rec.link),
        use_: LinkUse::Stored(rec.link.id.clone()),
        stored: Some(rec),
        merchant,
    })
}

/// The state that stops a link's page: paid, canceled, expired (a link with a live charge
/// goes to its status page instead).
fn closed(state: &AppState, o: &Opened) -> Option<PageError> {
    let now = state.clock.now();
    match o.stored.as_ref().map(|r| r.state(now)) {
        Some(LinkState::Paid) => Some(PageError::Paid),
        Some(LinkState::Canceled) => Some(PageError::Canceled),
        Some(LinkState::Expired) => Some(PageError::Expired),
        Some(LinkState::Open) => None,
        None if now >= o.link.expires_at => Some(PageError::Expired),
        None => None,
    }
}

fn status_path(token: &str) -> String {
    format!("/pay/s/{token}")
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

// ------------------------------------------------------------------ the pay and agent pages

/// What a form posted back (the fields of the agent page; the pay page sends the phone and
/// consent only).
#[derive(Debug, Default, Deserialize)]
pub struct PayForm {
    csrf: Option<String>,
    payer_phone: Option<String>,
    consent: Option<String>,
    order_ref: Option<String>,
    goods_name: Option<String>,
    amount: Option<String>,
    payer_name: Option<String>,
    payer_email: Option<String>,
}

fn facts(lang: Lang, f: &paylinks_view::Fields) -> String {
    let mut rows = vec![(lang.t("상품", "Goods"), f.goods_name.clone())];
    if let Some(o) = &f.order_ref {
        rows.push((lang.t("주문번호", "Order no."), o.clone()));
    }
    rows.push((
        lang.t("결제 기한", "Pay by"),
        format!("{} KST", kst_long(f.expires_at)),
    ));
    let dl: String = rows
        .iter()
        .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(v)))
        .collect();
    format!(
        "<div class=\"amount\" id=\"amount\">{}</div><dl class=\"facts\">{dl}</dl>",
        escape(&format_krw(f.amount))
    )
}

fn phone_display(digits: &str) -> String {
    Phone::parse(digits)
        .map(|p| p.display())
        .unwrap_or_else(|_| digits.to_string())
}

fn field_error(msg: Option<&str>) -> String {
    msg.map(|m| format!("<p class=\"field-error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default()
}

/// The shop's pay page.
fn pay_page(
    lang: Lang,
    o: &Opened,
    csrf: &str,
    phone: Option<&str>,
    error: Option<&str>,
    self_href: Option<String>,
) -> Page {
    let f = &o.link;
    let phone = phone
        .map(str::to_string)
        .or_else(|| f.payer_phone.as_deref().map(phone_display))
        .unwrap_or_default();
    let body = format!(
        "<h1>{h1}</h1><p class=\"sub\">{sub}</p>{facts}\
         <form id=\"pay-form\" method=\"post\">{csrf}\
         <label for=\"payer_phone\">{phone_label}</label>\
         <input id=\"payer_phone\" name=\"payer_phone\" type=\"tel\" inputmode=\"tel\" autocomplete=\"tel\" required maxlength=\"20\" placeholder=\"010-1234-5678\" value=\"{phone}\">\
         {err}\
         <label class=\"check\"><input id=\"consent\" type=\"checkbox\" name=\"consent\" value=\"yes\" required>\
         <span>{consent}</span></label>\
         <button id=\"submit\" type=\"submit\">{icon}<span>{button}</span></button></form>\
         <p class=\"note\">{shield}<span>{note}</span></p>",
        h1 = escape(lang.t("결제 요청", "Payment request")),
        sub = escape(&o.merchant.name),
        facts = facts(lang, f),
        csrf = hidden_csrf(csrf),
        phone_label = escape(lang.t("휴대폰 번호", "Mobile number")),
        phone = escape(&phone),
        err = field_error(error),
        consent = escape(lang.t(
            "결제 안내 문자 수신과 전화(ARS) 결제 진행에 동의합니다.",
            "I agree to receive the payment text and to pay by phone (ARS).",
        )),
        icon = Icon::Message.svg(),
        button = escape(lang.t("결제 문자 받기", "Send me the payment text")),
        shield = Icon::Shield.svg(),
        note = escape(lang.t(
            "카드 정보는 이 페이지에 입력하지 않습니다. 문자로 받은 번호로 전화해 안내에 따라 입력하세요.",
            "You never type card details on this page: call the number in the text and enter them by keypad.",
        )),
    );
    let mut p = Page::new(
        lang,
        PageKind::Pay,
        lang.t("결제 요청", "Payment request"),
        body,
    );
    p.merchant = Some(o.merchant.name.clone());
    p.other_lang_href = self_href;
    p
}

/// The agent's page: every field editable.
fn agent_page(
    lang: Lang,
    o: &Opened,
    csrf: &str,
    form: Option<&PayForm>,
    error: Option<&str>,
) -> Page {
    let f = &o.link;
    let val = |given: Option<&Option<String>>, default: Option<String>| -> String {
        match given {
            Some(Some(v)) => v.clone(),
            _ => default.unwrap_or_default(),
        }
    };
    let field = |name: &str, label: &str, kind: &str, value: String, extra: &str| {
        format!(
            "<label for=\"{name}\">{}</label><input id=\"{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\"{extra}>",
            escape(label),
            escape(&value)
        )
    };
    let body = format!(
        "<h1>{h1}</h1><p class=\"sub\">{sub}</p>\
         <p class=\"note warn\">{shield}<span>{never}</span></p>\
         <form id=\"agent-form\" method=\"post\">{csrf}{order}{goods}{amount}{name}{phone}{email}{err}\
         <button id=\"send\" type=\"submit\">{icon}<span>{button}</span></button></form>\
         <p class=\"muted\">{expires}</p>",
        h1 = escape(lang.t("결제 요청 보내기 (상담원)", "Send a payment request (agent)")),
        sub = escape(&o.merchant.name),
        shield = Icon::Shield.svg(),
        never = escape(lang.t(
            "상담원은 카드 정보를 묻거나 보지 않습니다. 고객은 문자로 받은 번호로 전화해 직접 입력합니다.",
            "The agent never asks for or sees card data: the payer calls the number in the text and enters it by keypad.",
        )),
        csrf = hidden_csrf(csrf),
        order = field("order_ref", lang.t("주문번호", "Order no."), "text", val(form.map(|f| &f.order_ref), f.order_ref.clone()), " maxlength=\"64\""),
        goods = field("goods_name", lang.t("상품명", "Goods"), "text", val(form.map(|f| &f.goods_name), Some(f.goods_name.clone())), " required maxlength=\"100\""),
        amount = field("amount", lang.t("금액 (원)", "Amount (KRW)"), "number", val(form.map(|f| &f.amount), Some(f.amount.to_string())), " required min=\"1\" max=\"100000000\" inputmode=\"numeric\""),
        name = field("payer_name", lang.t("고객 이름", "Payer's name"), "text", val(form.map(|f| &f.payer_name), f.payer_name.clone()), " maxlength=\"50\""),
        phone = field("payer_phone", lang.t("휴대폰 번호", "Mobile number"), "tel", val(form.map(|f| &f.payer_phone), f.payer_phone.as_deref().map(phone_display)), " required maxlength=\"20\" inputmode=\"tel\""),
        email = field("payer_email", lang.t("이메일", "E-mail"), "email", val(form.map(|f| &f.payer_email), f.payer_email.clone()), " maxlength=\"100\""),
        err = field_error(error),
        icon = Icon::Send.svg(),
        button = escape(lang.t("결제 문자 보내기", "Send the payment text")),
        expires = escape(&format!("{} {} KST", lang.t("링크 기한", "Link valid until"), kst_long(f.expires_at))),
    );
    let mut p = Page::new(
        lang,
        PageKind::Agent,
        lang.t("결제 요청 보내기", "Send a payment request"),
        body,
    );
    p.merchant = Some(o.merchant.name.clone());
    p
}

fn show_link(
    state: &AppState,
    lang: Lang,
    headers: &HeaderMap,
    o: Opened,
    self_href: Option<String>,
) -> Response {
    if let Some(e) = closed(state, &o) {
        return error_page(lang, e, Some(&o.merchant.name));
    }
    // A charge under way: its status page (the same browser, or another: the link holder).
    if let Some(rec) = o.stored.as_ref().filter(|r| r.charge_live) {
        return see_other(&status_path(&rec.link.status_token));
    }
    let c = csrf(headers);
    let page = match o.link.mode {
        LinkMode::Shop => pay_page(lang, &o, &c.token, None, None, self_href),
        LinkMode::Agent => agent_page(lang, &o, &c.token, None, None),
    };
    with_csrf(state, &c, page.into_response())
}

/// Checks and sends a pay or agent form: the charge (one per link at a time), then 303 to
/// the status page.
async fn submit(
    state: &AppState,
    lang: Lang,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    o: Opened,
    form: PayForm,
    self_href: Option<String>,
) -> Response {
    let name = o.merchant.name.clone();
    if !csrf_holds(headers, form.csrf.as_deref()) {
        return error_page(lang, PageError::Csrf, Some(&name));
    }
    if let Some(e) = closed(state, &o) {
        return error_page(lang, e, Some(&name));
    }
    let c = csrf(headers);
    let refuse = |msg: &str, o: &Opened, form: &PayForm| -> Response {
        let page = match o.link.mode {
            LinkMode::Shop => pay_page(
                lang,
                o,
                &c.token,
                form.payer_phone.as_deref(),
                Some(msg),
                self_href.clone(),
            ),
            LinkMode::Agent => agent_page(lang, o, &c.token, Some(form), Some(msg)),
        };
        let mut res = page.into_response();
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        res
    };
    let phone_text = form.payer_phone.clone().unwrap_or_default();
    let Ok(phone) = fieldpay_protocol::rules::parse_mobile("payer_phone", &phone_text) else {
        return refuse(
            lang.t(
                "휴대폰 번호를 확인하세요 (010으로 시작하는 번호).",
                "Check the mobile number (starting with 010).",
            ),
            &o,
            &form,
        );
    };
    let f = &o.link;
    let request = match f.mode {
        LinkMode::Shop => {
            if form.consent.as_deref() != Some("yes") {
                return refuse(
                    lang.t("동의에 표시해 주세요.", "Please tick the consent box."),
                    &o,
                    &form,
                );
            }
            PayRequest {
                goods_name: f.goods_name.clone(),
                amount: f.amount,
                payer_name: f.payer_name.clone(),
                payer_phone: phone.digits().to_string(),
                order_ref: f.order_ref.clone(),
                orderer: f.orderer.clone(),
                installments: f.installments,
            }
        }
        LinkMode::Agent => {
            let amount = form
                .amount
                .as_deref()
                .map(|a| a.trim().replace(',', ""))
                .and_then(|a| a.parse::<i64>().ok());
            let Some(amount) = amount else {
                return refuse(lang.t("금액을 확인하세요.", "Check the amount."), &o, &form);
            };
            let checked = paylinks::check_fields(
                form.goods_name.as_deref().unwrap_or(""),
                amount,
                form.payer_name.as_deref(),
                Some(&phone_text),
                form.payer_email.as_deref(),
                form.order_ref.as_deref(),
                f.orderer.as_ref(),
                f.installments,
            );
            let checked = match checked {
                Ok(c) => c,
                Err(e) => return refuse(&e.message, &o, &form),
            };
            PayRequest {
                goods_name: checked.goods_name,
                amount: checked.amount,
                payer_name: checked.payer_name,
                payer_phone: phone.digits().to_string(),
                order_ref: checked.order_ref,
                orderer: f.orderer.clone(),
                installments: f.installments,
            }
        }
    };
    // A double submit after the charge was made: its status page, nothing taken from the
    // limits (one racing with the first is answered by the store's claim).
    if let Some(token) = live_link(state, &o).await {
        return see_other(&status_path(&token));
    }
    match admit(state, ip, phone.digits()).await {
        Ok(true) => {}
        Ok(false) => return error_page(lang, PageError::RateLimited, Some(&name)),
        Err(e) => return internal(lang, e),
    }
    let mid = o.merchant.id.clone();
    match paylinks::pay(state, &mid, o.use_.clone(), request).await {
        Ok((rec, _)) => match link_of_charge(state, &o, &rec).await {
            Some(token) => see_other(&status_path(&token)),
            None => internal(lang, AppError::internal("the link of a new charge is gone")),
        },
        Err(e) => page_for_refusal(state, lang, &o, e).await,
    }
}

/// The status token of the link when it has a live charge now.
async fn live_link(state: &AppState, o: &Opened) -> Option<String> {
    let mid = o.merchant.id.clone();
    let found = match &o.use_ {
        LinkUse::Stored(id) => {
            let id = id.clone();
            state.db(move |s| s.payment_link(&mid, &id)).await
        }
        LinkUse::Signed(new) => {
            let sig = new.signature.clone().unwrap_or_default();
            state
                .db(move |s| s.payment_link_by_signature(&mid, &sig))
                .await
        }
    };
    found
        .ok()
        .flatten()
        .filter(|r| r.charge_live)
        .map(|r| r.link.status_token)
}

/// The status token of the link the charge was made for.
async fn link_of_charge(state: &AppState, o: &Opened, _rec: &ChargeRecord) -> Option<String> {
    let mid = o.merchant.id.clone();
    let found = match &o.use_ {
        LinkUse::Stored(id) => {
            let id = id.clone();
            state.db(move |s| s.payment_link(&mid, &id)).await
        }
        LinkUse::Signed(new) => {
            let sig = new.signature.clone().unwrap_or_default();
            state
                .db(move |s| s.payment_link_by_signature(&mid, &sig))
                .await
        }
    };
    found.ok().flatten().map(|r| r.link.status_token)
}

/// The page for a charge the link's claim (or the charge rules) refused.
async fn page_for_refusal(state: &AppState, lang: Lang, o: &Opened, e: AppError) -> Response {
    let name = Some(o.merchant.name.as_str());
    match e.code {
        ErrorCode::InvalidState => {
            // Paid, canceled or expired in the meantime: read which.
            let reopened = match &o.use_ {
                LinkUse::Stored(id) => open_stored(state, id.clone()).await.ok(),
                LinkUse::Signed(_) => None,
            };
            let stored = match (&o.use_, reopened) {
                (_, Some(r)) => r.stored,
                (LinkUse::Signed(new), None) => {
                    let (mid, sig) = (
                        o.merchant.id.clone(),
                        new.signature.clone().unwrap_or_default(),
                    );
                    state
                        .db(move |s| s.payment_link_by_signature(&mid, &sig))
                        .await
                        .ok()
                        .flatten()
                }
                _ => None,
            };
            let now = state.clock.now();
            let pe = match stored.map(|r| r.state(now)) {
                Some(LinkState::Paid) => PageError::Paid,
                Some(LinkState::Canceled) => PageError::Canceled,
                _ => PageError::Expired,
            };
            error_page(lang, pe, name)
        }
        ErrorCode::MerchantSuspended => error_page(lang, PageError::Suspended, name),
        ErrorCode::RateLimited => error_page(lang, PageError::RateLimited, name),
        ErrorCode::NotFound => error_page(lang, PageError::NotFound, name),
        _ => internal(lang, e),
    }
}

/// A signed payment link's page
///
/// The pay page (shop mode) or the agent page (`mode=agent`) of a link the merchant signed
/// with its link key; a bad or missing signature, a changed value, a past `expires`, an
/// unknown or suspended merchant: an error page, nothing created.
#[utoipa::path(
    get,
    path = "/pay/{merchant_code}",
    operation_id = "signed_link_page",
    tag = "pages",
    params(("merchant_code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 200, description = "The pay or agent page", body = String, content_type = "text/html"),
        (status = 303, description = "A charge of the link is under way: its status page"),
        (status = 403, description = "Bad or missing signature, or the merchant is suspended", body = String, content_type = "text/html"),
        (status = 404, description = "No such merchant", body = String, content_type = "text/html"),
        (status = 409, description = "The link is paid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired", body = String, content_type = "text/html"),
        (status = 422, description = "The signature holds but a value is invalid", body = String, content_type = "text/html"),
    )
)]
async fn signed_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = match links::parse_query(raw.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(_) => return error_page(Lang::from_request(None, &headers), PageError::Invalid, None),
    };
    let lang = lang_of(&params, &headers);
    match open_signed(&state, code, &params).await {
        Ok(o) => show_link(&state, lang, &headers, o, None),
        Err((e, name)) => error_page(lang, e, name.as_deref()),
    }
}

/// Ask for the bill of a signed payment link
///
/// The pay form (the payer's mobile number and consent) or the agent form (every field):
/// with a valid CSRF token, within the limits per address and per phone, makes the link's
/// charge (one live charge per link: a second submit finds the first) and answers 303 to the
/// status page.
#[utoipa::path(
    post,
    path = "/pay/{merchant_code}",
    operation_id = "signed_link_submit",
    tag = "pages",
    params(("merchant_code" = String, Path, description = "The merchant's code")),
    responses(
        (status = 303, description = "The charge is made (or was): its status page"),
        (status = 403, description = "No or a wrong CSRF token, a bad signature, a suspended merchant", body = String, content_type = "text/html"),
        (status = 404, description = "No such merchant", body = String, content_type = "text/html"),
        (status = 409, description = "The link is paid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired or was canceled", body = String, content_type = "text/html"),
        (status = 422, description = "The phone or a field is invalid: the form again", body = String, content_type = "text/html"),
        (status = 429, description = "Too many charges from this address or for this phone", body = String, content_type = "text/html"),
    )
)]
async fn signed_submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ClientIp(peer): ClientIp,
    body: Bytes,
) -> Response {
    // A body that is not a form reads as an empty one: no CSRF token, the 403 page.
    let form: PayForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let params = match links::parse_query(raw.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(_) => return error_page(Lang::from_request(None, &headers), PageError::Invalid, None),
    };
    let lang = lang_of(&params, &headers);
    match open_signed(&state, code, &params).await {
        Ok(o) => submit(&state, lang, &headers, peer, o, form, None).await,
        Err((e, name)) => error_page(lang, e, name.as_deref()),
    }
}

/// A payment link's page
///
/// The page of a link made with `POST /v1/payment-links`.
#[utoipa::path(
    get,
    path = "/l/{id}",
    operation_id = "payment_link_page",
    tag = "pages",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 200, description = "The pay or agent page", body = String, content_type = "text/html"),
        (status = 303, description = "A charge of the link is under way: its status page"),
        (status = 404, description = "No such link", body = String, content_type = "text/html"),
        (status = 409, description = "The link is paid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired or was canceled", body = String, content_type = "text/html"),
    )
)]
async fn stored_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = query_map(raw.as_deref());
    let lang = lang_of(&params, &headers);
    let href = Some(with_lang(&format!("/l/{id}"), lang.other()));
    match open_stored(&state, id).await {
        Ok(o) => show_link(&state, lang, &headers, o, href),
        Err((e, name)) => error_page(lang, e, name.as_deref()),
    }
}

/// Ask for the bill of a payment link
///
/// As for a signed link.
#[utoipa::path(
    post,
    path = "/l/{id}",
    operation_id = "payment_link_submit",
    tag = "pages",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 303, description = "The charge is made (or was): its status page"),
        (status = 403, description = "No or a wrong CSRF token, or a suspended merchant", body = String, content_type = "text/html"),
        (status = 404, description = "No such link", body = String, content_type = "text/html"),
        (status = 409, description = "The link is paid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired or was canceled", body = String, content_type = "text/html"),
        (status = 422, description = "The phone or a field is invalid: the form again", body = String, content_type = "text/html"),
        (status = 429, description = "Too many charges from this address or for this phone", body = String, content_type = "text/html"),
    )
)]
async fn stored_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ClientIp(peer): ClientIp,
    body: Bytes,
) -> Response {
    // A body that is not a form reads as an empty one: no CSRF token, the 403 page.
    let form: PayForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let params = query_map(raw.as_deref());
    let lang = lang_of(&params, &headers);
    let href = Some(with_lang(&format!("/l/{id}"), lang.other()));
    match open_stored(&state, id).await {
        Ok(o) => submit(&state, lang, &headers, peer, o, form, href).await,
        Err((e, name)) => error_page(lang, e, name.as_deref()),
    }
}

// ------------------------------------------------------------------ the status page

/// The contract's `data-status` of a charge (`pending` before there is one or before the
/// text goes).
fn live_status(c: Option<&ChargeRecord>) -> &'static str {
    match c.map(|c| c.charge.status) {
        None | Some(ChargeStatus::Queued | ChargeStatus::Requested) => "pending",
        Some(ChargeStatus::SmsSent) => "text_sent",
        Some(ChargeStatus::CallConnected | ChargeStatus::Verified | ChargeStatus::CardEntered) => {
            "call_connected"
        }
        Some(ChargeStatus::Approved | ChargeStatus::Refunded) => "approved",
        Some(ChargeStatus::Declined) => "declined",
        Some(ChargeStatus::Expired) => "expired",
        Some(ChargeStatus::Canceled) => "canceled",
    }
}

fn status_text(lang: Lang, status: &str, live: bool) -> &'static str {
    match status {
        "pending" => lang.t("결제 문자를 보내는 중입니다", "Sending the payment text"),
        "text_sent" => lang.t(
            "결제 문자를 보냈습니다. 전화를 기다리고 있습니다",
            "Text sent: waiting for your call",
        ),
        "call_connected" => lang.t(
            "전화가 연결되었습니다. 안내에 따라 카드 정보를 입력하세요",
            "Call connected: enter the card details as the voice guides you",
        ),
        "approved" => lang.t("결제가 승인되었습니다", "Payment approved"),
        "declined" if live => lang.t(
            "카드 승인이 거절되었습니다. 같은 번호로 다시 전화해 다른 카드로 결제할 수 있습니다",
            "The card was declined: call the same number again to pay with another card",
        ),
        "declined" => lang.t("카드 승인이 거절되었습니다", "The card was declined"),
        "expired" => lang.t("결제 기한이 지났습니다", "The payment request expired"),
        _ => lang.t(
            "결제 요청이 취소되었습니다",
            "The payment request was canceled",
        ),
    }
}

/// Everything about a status page that changes: read fresh.
struct StatusView {
    link: PaymentLinkRecord,
    merchant: Merchant,
    charge: Option<ChargeRecord>,
}

async fn status_view(state: &AppState, token: String) -> Result<Option<StatusView>, AppError> {
    let Some(link) = state.db(move |s| s.payment_link_by_token(&token)).await? else {
        return Ok(None);
    };
    let mid = link.link.merchant_id.clone();
    let Some(merchant) = state.db(move |s| s.merchant(&mid)).await? else {
        return Ok(None);
    };
    let charge = match link.charge_id.clone() {
        Some(cid) => {
            let mid = merchant.id.clone();
            state.db(move |s| s.charge(&mid, &cid)).await?
        }
        None => None,
    };
    Ok(Some(StatusView {
        link,
        merchant,
        charge,
    }))
}

impl StatusView {
    fn status(&self) -> &'static str {
        live_status(self.charge.as_ref())
    }
    /// Nothing more will change by itself.
    fn is_final(&self) -> bool {
        match &self.charge {
            None => false,
            Some(c) => c.charge.status.is_final() || !c.bound,
        }
    }
    fn page_kind(&self) -> PageKind {
        match self.link.link.mode {
            LinkMode::Agent => PageKind::Agent,
            LinkMode::Shop if self.is_final() => PageKind::Result,
            LinkMode::Shop => PageKind::Registered,
        }
    }
}

/// The changing part of a status page (`#live`'s content): the same HTML for the page, the
/// poll and the event stream.
fn live_html(state: &AppState, lang: Lang, v: &StatusView, csrf: &str) -> String {
    let status = v.status();
    let live = v.charge.as_ref().is_some_and(|c| c.bound);
    let icon = match status {
        "approved" => Icon::Check,
        "declined" | "expired" | "canceled" => Icon::Cross,
        "call_connected" => Icon::Phone,
        "text_sent" => Icon::Message,
        _ => Icon::Clock,
    };
    let status_line = format!(
        "<p id=\"status\" class=\"status\" data-status=\"{status}\" role=\"status\" aria-live=\"polite\">{}<span>{}</span></p>",
        icon.svg(),
        escape(status_text(lang, status, live))
    );
    let token = &v.link.link.status_token;
    let now = state.clock.now();
    let link_open = v.link.state(now) == LinkState::Open;
    let receipt = match (&v.charge, status) {
        (Some(c), "approved") => c
            .receipt_token
            .as_deref()
            .map(|t| {
                format!(
                    "<a id=\"receipt-link\" class=\"button\" href=\"/r/{}\">{}<span>{}</span></a>",
                    escape(t),
                    Icon::Receipt.svg(),
                    escape(lang.t("영수증 보기", "View the receipt"))
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    match v.link.link.mode {
        LinkMode::Agent => {
            let again = if link_open && status != "approved" {
                format!(
                    "<form id=\"send-again-form\" method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"action\" value=\"again\">\
                     <button id=\"send-again\" type=\"submit\" class=\"secondary\">{}<span>{}</span></button></form>",
                    escape(&status_path(token)),
                    hidden_csrf(csrf),
                    Icon::Send.svg(),
                    escape(lang.t("문자 다시 보내기", "Send again")),
                )
            } else {
                String::new()
            };
            let phone = v
                .charge
                .as_ref()
                .map(|c| phone_display(&c.payer_phone))
                .unwrap_or_default();
            format!(
                "<h1>{}</h1><p>{}</p>{status_line}{receipt}{again}",
                escape(lang.t("결제 문자를 보냈습니다", "Payment text sent")),
                escape(&format!("{} {phone}", lang.t("받는 번호", "To"))),
            )
        }
        LinkMode::Shop if !v.is_final() => {
            let (number, deadline) = match &v.charge {
                Some(c) => (
                    c.virtual_number.clone(),
                    crate::clock::parse_ts(&c.charge.expires_at)
                        .map(kst_long)
                        .unwrap_or_default(),
                ),
                None => (String::new(), String::new()),
            };
            format!(
                "<h1>{h1}</h1><p class=\"sub\">{sub}</p>\
                 <a id=\"virtual-number\" class=\"number\" href=\"tel:{num}\">{phone_icon}<span>{shown}</span></a>\
                 <p>{deadline_label} <strong id=\"deadline\">{deadline} KST</strong></p>\
                 <ol class=\"steps\"><li>{s1}</li><li>{s2}</li><li>{s3}</li></ol>{status_line}",
                h1 = escape(lang.t("주문 등록 완료", "Order registered")),
                sub = escape(lang.t("아래 번호는 이 휴대폰 번호 전용 결제 번호입니다.", "The number below is the payment number for your phone.")),
                num = escape(&number),
                phone_icon = Icon::Phone.svg(),
                shown = escape(&phone_display(&number)),
                deadline_label = escape(lang.t("결제 기한", "Pay by")),
                deadline = escape(&deadline),
                s1 = escape(lang.t("문자로 받은 번호로 전화해 카드 정보를 입력하세요", "Call the number you received by text and enter your card details")),
                s2 = escape(lang.t("결제를 요청한 휴대폰으로 전화해야 합니다", "Call from the phone the text was sent to")),
                s3 = escape(lang.t("승인되면 이 화면이 바뀌고 영수증 문자가 옵니다", "Once approved this page changes and a receipt text follows")),
            )
        }
        LinkMode::Shop => {
            let (h1, icon, head) = if status == "approved" {
                (
                    lang.t("결제 완료", "Payment complete"),
                    Icon::Check,
                    "ok-head",
                )
            } else {
                (
                    lang.t("결제되지 않았습니다", "Not paid"),
                    Icon::Alert,
                    "error-head",
                )
            };
            let again = if link_open && status != "approved" {
                format!(
                    "<form id=\"again-form\" method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"action\" value=\"again\">\
                     <button id=\"try-again\" type=\"submit\">{}<span>{}</span></button></form>",
                    escape(&status_path(token)),
                    hidden_csrf(csrf),
                    Icon::Message.svg(),
                    escape(lang.t("결제 문자 다시 받기", "Send me the payment text again")),
                )
            } else {
                String::new()
            };
            format!(
                "<h1 class=\"{head}\">{}<span>{}</span></h1>{status_line}{receipt}{again}",
                icon.svg(),
                escape(h1)
            )
        }
    }
}

fn status_html(state: &AppState, lang: Lang, v: &StatusView, csrf: &str) -> Page {
    let l = &v.link.link;
    let token = &l.status_token;
    let body = format!(
        "<p class=\"muted\">{goods} · <strong>{amount}</strong></p>\
         <div id=\"live\" data-events=\"{path}/events?lang={code}\" data-poll=\"{path}/state?lang={code}\">{live}</div>",
        goods = escape(&l.goods_name),
        amount = escape(&format_krw(v.charge.as_ref().map(|c| c.charge.amount).unwrap_or(l.amount))),
        path = escape(&status_path(token)),
        code = lang.code(),
        live = live_html(state, lang, v, csrf),
    );
    let mut p = Page::new(
        lang,
        v.page_kind(),
        lang.t("결제 진행 상황", "Payment status"),
        body,
    );
    p.merchant = Some(v.merchant.name.clone());
    p.script = true;
    p.other_lang_href = Some(with_lang(&status_path(token), lang.other()));
    p
}

/// A payment link's status page
///
/// "주문 등록 완료" with the virtual number (a `tel:` link), the deadline and the live status;
/// then the result with the receipt link; for agents, the status and "send again". Only
/// with the link's unguessable token; never cached.
#[utoipa::path(
    get,
    path = "/pay/s/{token}",
    operation_id = "payment_status_page",
    tag = "pages",
    params(("token" = String, Path, description = "The link's status token")),
    responses(
        (status = 200, description = "The status page", body = String, content_type = "text/html"),
        (status = 404, description = "No such token", body = String, content_type = "text/html"),
    )
)]
async fn status_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&query_map(raw.as_deref()), &headers);
    match status_view(&state, token).await {
        Ok(Some(v)) => {
            let c = csrf(&headers);
            with_csrf(
                &state,
                &c,
                status_html(&state, lang, &v, &c.token).into_response(),
            )
        }
        Ok(None) => error_page(lang, PageError::NotFound, None),
        Err(e) => internal(lang, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AgainForm {
    csrf: Option<String>,
    #[allow(dead_code)]
    action: Option<String>,
}

/// Send the bill again
///
/// From the status page: while the link's charge waits for the payer, its bill is texted
/// again; once it was declined for good or expired (the link still open), a new charge is
/// made for the same phone. CSRF token and the limits as for the first one.
#[utoipa::path(
    post,
    path = "/pay/s/{token}",
    operation_id = "payment_status_again",
    tag = "pages",
    params(("token" = String, Path, description = "The link's status token")),
    responses(
        (status = 303, description = "Done: the status page"),
        (status = 403, description = "No or a wrong CSRF token", body = String, content_type = "text/html"),
        (status = 404, description = "No such token", body = String, content_type = "text/html"),
        (status = 409, description = "The link is paid", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired or was canceled", body = String, content_type = "text/html"),
        (status = 429, description = "Too many charges from this address or for this phone", body = String, content_type = "text/html"),
    )
)]
async fn status_again(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ClientIp(peer): ClientIp,
    body: Bytes,
) -> Response {
    let form: AgainForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let lang = lang_of(&query_map(raw.as_deref()), &headers);
    if !csrf_holds(&headers, form.csrf.as_deref()) {
        return error_page(lang, PageError::Csrf, None);
    }
    let v = match status_view(&state, token.clone()).await {
        Ok(Some(v)) => v,
        Ok(None) => return error_page(lang, PageError::NotFound, None),
        Err(e) => return internal(lang, e),
    };
    let name = v.merchant.name.clone();
    match v.link.state(state.clock.now()) {
        LinkState::Paid => return error_page(lang, PageError::Paid, Some(&name)),
        LinkState::Canceled => return error_page(lang, PageError::Canceled, Some(&name)),
        LinkState::Expired => return error_page(lang, PageError::Expired, Some(&name)),
        LinkState::Open => {}
    }
    let Some(charge) = v.charge else {
        return see_other(&status_path(&token));
    };
    if !admit(&state, peer, &charge.payer_phone)
        .await
        .unwrap_or(false)
    {
        return error_page(lang, PageError::RateLimited, Some(&name));
    }
    let result = if charge.bound {
        crate::charges::resend_bill(&state, &v.merchant.id, &charge.id())
            .await
            .map(|_| ())
    } else {
        let c = &charge.charge;
        let request = PayRequest {
            goods_name: c.goods_name.clone(),
            amount: c.amount,
            payer_name: c.payer_name.clone(),
            payer_phone: charge.payer_phone.clone(),
            order_ref: c.order_ref.clone(),
            orderer: c.orderer.clone(),
            installments: c.installments,
        };
        paylinks::pay(
            &state,
            &v.merchant.id,
            LinkUse::Stored(v.link.link.id.clone()),
            request,
        )
        .await
        .map(|_| ())
    };
    match result {
        Ok(()) => see_other(&status_path(&token)),
        // The charge moved on meanwhile (paid, ended): the page shows where it is.
        Err(e) if e.code == ErrorCode::InvalidState => see_other(&status_path(&token)),
        Err(e) if e.code == ErrorCode::RateLimited => {
            error_page(lang, PageError::RateLimited, Some(&name))
        }
        Err(e) => internal(lang, e),
    }
}

/// One live status message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveStatus {
    /// `registered`, `result` or `agent`.
    page: &'static str,
    /// `pending`, `text_sent`, `call_connected`, `approved`, `declined`, `expired`, `canceled`.
    status: &'static str,
    /// Nothing more will change by itself.
    #[serde(rename = "final")]
    done: bool,
    /// The new content of the page's `#live`.
    html: String,
}

fn live_message(state: &AppState, lang: Lang, v: &StatusView, csrf: &str) -> LiveStatus {
    LiveStatus {
        page: v.page_kind().name(),
        status: v.status(),
        done: v.is_final(),
        html: live_html(state, lang, v, csrf),
    }
}

fn no_store<T: IntoResponse>(r: T) -> Response {
    let mut res = r.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A status page's state (polling)
///
/// The live status as JSON, for the status script when server-sent events do not get through.
#[utoipa::path(
    get,
    path = "/pay/s/{token}/state",
    operation_id = "payment_status_state",
    tag = "pages",
    params(("token" = String, Path, description = "The link's status token")),
    responses(
        (status = 200, description = "The status", body = LiveStatus),
        (status = 404, description = "No such token", body = fieldpay_protocol::ErrorBody),
    )
)]
async fn status_state(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&query_map(raw.as_deref()), &headers);
    match status_view(&state, token).await {
        Ok(Some(v)) => {
            let c = csrf(&headers);
            no_store(Json(live_message(&state, lang, &v, &c.token)))
        }
        Ok(None) => no_store(AppError::not_found("payment status")),
        Err(e) => e.into_response(),
    }
}

/// A status page's live status (server-sent events)
///
/// `status` events with the live status (as `/state` answers it): the current one at once,
/// then one at each change of the link's charge, until it is final.
#[utoipa::path(
    get,
    path = "/pay/s/{token}/events",
    operation_id = "payment_status_events",
    tag = "pages",
    params(("token" = String, Path, description = "The link's status token")),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream"),
        (status = 404, description = "No such token", body = fieldpay_protocol::ErrorBody),
    )
)]
async fn status_events(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&query_map(raw.as_deref()), &headers);
    // Listen before reading, so that a change in between is not missed.
    let rx = state.events.subscribe();
    let v = match status_view(&state, token.clone()).await {
        Ok(Some(v)) => v,
        Ok(None) => return no_store(AppError::not_found("payment status")),
        Err(e) => return e.into_response(),
    };
    let c = csrf(&headers).token;
    let first = live_message(&state, lang, &v, &c);
    let first_final = first.done;
    let merchant_id = v.merchant.id.clone();
    let event = |m: &LiveStatus| {
        Event::default()
            .event("status")
            .data(serde_json::to_string(m).unwrap_or_default())
    };
    let first_event = stream::iter([Ok::<Event, Infallible>(event(&first))]);
    let stop = state.clone();
    if first_final {
        return no_store(Sse::new(first_event));
    }
    let st = state.clone();
    let updates = BroadcastStream::new(rx)
        .filter_map(move |msg| {
            let wanted = match msg {
                Ok(p) => p.merchant_id == merchant_id,
                // Missed some: read again anyway.
                Err(_) => true,
            };
            std::future::ready(wanted.then_some(()))
        })
        .then(move |()| {
            let (st, token, c) = (st.clone(), token.clone(), c.clone());
            async move {
                match status_view(&st, token).await {
                    Ok(Some(v)) => Some(live_message(&st, lang, &v, &c)),
                    _ => None,
                }
            }
        })
        // Only changes; the stream ends after the final one.
        .scan(
            (first.status, first.html.clone(), false),
            |(status, html, done), m| {
                if *done {
                    return std::future::ready(None);
                }
                let out = match m {
                    Some(m) if m.status != *status || m.html != *html => {
                        *status = m.status;
                        *html = m.html.clone();
                        *done = m.done;
                        Some(m)
                    }
                    _ => None,
                };
                std::future::ready(Some(out))
            },
        )
        .filter_map(move |m| std::future::ready(m.map(|m| Ok::<Event, Infallible>(event(&m)))));
    let stream = first_event.chain(updates);
    let stream = stream.take_until(async move { stop.stopped().await });
    no_store(Sse::new(stream).keep_alive(KeepAlive::default()))
}
