//! Web pages for people: the card sales slip (매출전표) at `/r/{token}` and the start page.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use fieldpay_protocol::charge::{Charge, ChargeStatus, PaymentInfo};
use fieldpay_protocol::money::{format_krw, supply_and_vat_of_total};
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::validate::format_business_number;
use fieldpay_protocol::{ErrorBody, OrderId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::card::CardCompany;
use crate::clock::{kst_long, parse_ts};
use crate::error::AppError;
use crate::markup::escape;
use crate::state::AppState;
use crate::web::layout::{Icon, Lang, Page, PageKind};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(home))
        .routes(routes!(receipt))
        .routes(routes!(shared_document))
}

const STYLE: &str = "body{font-family:'Noto Sans KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif;background:#f3f4f6;margin:0;padding:16px;color:#111}\
main{max-width:420px;margin:0 auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 4px rgba(0,0,0,.1)}\
h1{font-size:1.4rem;margin:0 0 4px}.sub{color:#555;margin:0 0 16px}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    ))
}

/// The sales slip (매출전표) page
///
/// The link texted to the payer after approval: the card sales slip of the payment as it
/// stands now (approved, partly refunded or canceled). Korean, or English by `?lang=en` or
/// the browser's language.
#[utoipa::path(
    get,
    path = "/r/{token}",
    operation_id = "receipt_page",
    tag = "pages",
    params(
        ("token" = String, Path, description = "The receipt token of the link"),
        ("lang" = Option<String>, Query, description = "`ko` (the default) or `en`"),
    ),
    responses(
        (status = 200, description = "The sales slip", body = String, content_type = "text/html"),
        (status = 404, description = "No such receipt, or nothing was paid", body = String, content_type = "text/html"),
        (status = 500, description = "The receipt could not be read", body = ErrorBody),
    )
)]
async fn receipt(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_request(q.lang.as_deref(), &headers);
    match receipt_page(&state, &token, lang).await {
        Ok(page) => page.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// What a slip says of its payment's state (`#slip[data-status]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlipStatus {
    Approved,
    PartiallyRefunded,
    Canceled,
}

impl SlipStatus {
    fn of(c: &Charge, p: &PaymentInfo) -> SlipStatus {
        if c.status == ChargeStatus::Refunded || (p.amount > 0 && p.refunded_amount >= p.amount) {
            SlipStatus::Canceled
        } else if p.refunded_amount > 0 {
            SlipStatus::PartiallyRefunded
        } else {
            SlipStatus::Approved
        }
    }

    fn name(self) -> &'static str {
        match self {
            SlipStatus::Approved => "approved",
            SlipStatus::PartiallyRefunded => "partially_refunded",
            SlipStatus::Canceled => "canceled",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            SlipStatus::Approved => lang.t("승인", "Approved"),
            SlipStatus::PartiallyRefunded => lang.t("부분취소", "Partly refunded"),
            SlipStatus::Canceled => lang.t("취소", "Canceled"),
        }
    }

    fn icon(self) -> Icon {
        match self {
            SlipStatus::Approved => Icon::Check,
            SlipStatus::PartiallyRefunded => Icon::Alert,
            SlipStatus::Canceled => Icon::Cross,
        }
    }
}

/// A masked 16-digit card number as slips print it: `940100******0014` ->
/// `9401-00**-****-0014`. Any other form is shown as it is.
fn card_groups(masked: &str) -> String {
    let chars: Vec<char> = masked.chars().collect();
    if chars.len() != 16 || !chars.iter().all(|c| c.is_ascii_digit() || *c == '*') {
        return masked.to_string();
    }
    chars
        .chunks(4)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// One part of the slip: a heading and label/value rows.
struct Section {
    title: &'static str,
    /// (label, value as HTML).
    rows: Vec<(String, String)>,
}

impl Section {
    fn new(title: &'static str) -> Section {
        Section {
            title,
            rows: Vec::new(),
        }
    }

    /// A row of plain text (escaped here); left out when the value is empty.
    fn row(&mut self, label: &str, value: impl AsRef<str>) {
        let value = value.as_ref();
        if !value.trim().is_empty() {
            self.rows.push((label.to_string(), escape(value)));
        }
    }

    /// A row whose value is HTML already (its text escaped by the caller).
    fn row_html(&mut self, label: &str, html: String) {
        self.rows.push((label.to_string(), html));
    }

    fn html(&self) -> String {
        let rows: String = self
            .rows
            .iter()
            .map(|(k, v)| format!("<tr><th scope=\"row\">{}</th><td>{v}</td></tr>", escape(k)))
            .collect();
        format!(
            "<section class=\"slip-part\"><h2>{}</h2><table class=\"slip-table\">{rows}</table></section>",
            escape(self.title)
        )
    }
}

/// The "not found" page of a receipt link.
fn receipt_not_found(lang: Lang, what: &str) -> Page {
    let mut page = Page::new(
        lang,
        PageKind::Error,
        lang.t("영수증 없음", "No receipt"),
        format!(
            "<div id=\"error\" data-code=\"not_found\"><h1 class=\"error-head\">{}{}</h1><p class=\"sub\">{}</p></div>",
            Icon::Alert.svg(),
            escape(what),
            escape(lang.t(
                "받은 문자의 영수증 주소를 다시 확인해 주세요.",
                "Please check the receipt address in the text you received."
            )),
        ),
    );
    page.status = StatusCode::NOT_FOUND;
    page
}

async fn receipt_page(state: &AppState, token: &str, lang: Lang) -> Result<Page, AppError> {
    let t = token.to_string();
    let Some(rec) = state.db(move |s| s.receipt(&t)).await? else {
        return Ok(receipt_not_found(
            lang,
            lang.t("영수증을 찾을 수 없습니다", "This receipt was not found"),
        ));
    };
    let c = &rec.charge;
    let Some(p) = &c.payment else {
        return Ok(receipt_not_found(
            lang,
            lang.t("결제 내역이 없습니다", "Nothing was paid"),
        ));
    };
    let mid = rec.merchant_id.clone();
    let merchant = state.db(move |s| s.merchant(&mid)).await?;
    // The purchase order the charge pays, when its reference is one of the merchant's orders.
    let order = match &c.order_ref {
        Some(r) => {
            let (mid, oid) = (rec.merchant_id.clone(), OrderId::new(r.clone()));
            state.db(move |s| s.order(&mid, &oid)).await?
        }
        None => None,
    };
    let status = SlipStatus::of(c, p);
    let when = |s: &str| parse_ts(s).map(kst_long).unwrap_or_else(|| s.to_string());

    // The card and the approval.
    let mut card = Section::new(lang.t("카드 정보", "Card"));
    let issuer = match lang {
        Lang::Ko => p.issuer_name.clone(),
        Lang::En => CardCompany::all()
            .into_iter()
            .find(|c| c.name_ko() == p.issuer_name)
            .map_or_else(|| p.issuer_name.clone(), |c| c.name_en().to_string()),
    };
    card.row(lang.t("카드사", "Card company"), issuer);
    card.row(
        lang.t("카드번호", "Card number"),
        card_groups(&p.masked_card),
    );
    card.row(
        lang.t("거래종류", "Transaction"),
        lang.t("신용승인", "Credit approval"),
    );
    card.row(
        lang.t("할부", "Installments"),
        match (p.installment_months, lang) {
            (0, Lang::Ko) => "일시불".to_string(),
            (0, Lang::En) => "Single payment".to_string(),
            (n, Lang::Ko) => format!("{n}개월"),
            (n, Lang::En) => format!("{n} months"),
        },
    );
    card.row(lang.t("승인번호", "Approval number"), &p.approval_number);
    card.row(lang.t("승인일시", "Approved at"), when(&p.approved_at));

    // The amounts: supply, VAT and total of the payment (the order's own figures when the
    // charge pays the whole order), then what was refunded.
    let (supply, vat) = match &order {
        Some(o) if o.totals.total == p.amount => (o.totals.supply, o.totals.vat),
        _ => supply_and_vat_of_total(p.amount),
    };
    let mut money = Section::new(lang.t("금액", "Amounts"));
    money.row(lang.t("공급가액", "Supply amount"), format_krw(supply));
    money.row(lang.t("부가세", "VAT"), format_krw(vat));
    money.row_html(
        lang.t("합계", "Total"),
        format!(
            "<strong class=\"slip-sum\" id=\"slip-total\">{}</strong>",
            escape(&format_krw(p.amount))
        ),
    );
    for r in &p.refunds {
        let label = match lang {
            Lang::Ko => format!("취소 {}", r.n),
            Lang::En => format!("Refund {}", r.n),
        };
        money.row_html(
            &label,
            format!(
                "{}<span class=\"slip-when\">{}</span>",
                escape(&format_krw(-r.amount)),
                escape(&when(&r.refunded_at))
            ),
        );
    }
    if p.refunded_amount > 0 {
        money.row_html(
            lang.t("취소 후 결제 금액", "Paid after refunds"),
            format!(
                "<strong class=\"slip-sum\" id=\"slip-remaining\">{}</strong>",
                escape(&format_krw(p.refundable()))
            ),
        );
    }

    // The order.
    let mut goods = Section::new(lang.t("주문 정보", "Order"));
    let order_number = match &order {
        Some(o) => o.number.clone().unwrap_or_else(|| o.id.clone()),
        None => c.order_ref.clone().unwrap_or_default(),
    };
    goods.row(lang.t("주문번호", "Order number"), order_number);
    goods.row(lang.t("상품명", "Goods"), &c.goods_name);
    if let Some(sig) = order.as_ref().and_then(|o| o.signature.as_ref()) {
        goods.row_html(
            lang.t("발주서 해시", "Purchase order hash"),
            format!(
                "<code class=\"hash\" id=\"order-hash\">{}</code>",
                escape(&sig.content_hash)
            ),
        );
    }

    // Who sold.
    let mut seller = Section::new(lang.t("가맹점 정보", "Merchant"));
    let merchant_name = merchant
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    seller.row(lang.t("가맹점명", "Merchant"), &merchant_name);
    if let Some(m) = &merchant {
        seller.row(
            lang.t("사업자등록번호", "Business number"),
            format_business_number(&m.settings.business_number),
        );
        seller.row(
            lang.t("대표자", "Representative"),
            &m.profile.representative,
        );
        seller.row(lang.t("주소", "Address"), &m.profile.address);
        seller.row(
            lang.t("전화", "Phone"),
            Phone::parse(&m.profile.phone)
                .map(|p| p.display())
                .unwrap_or_default(),
        );
    }

    let stamp = format!(
        "<span class=\"slip-stamp\" data-status=\"{}\">{}{}</span>",
        status.name(),
        status.icon().svg(),
        escape(status.label(lang)),
    );
    let state_note = match status {
        SlipStatus::Approved => String::new(),
        SlipStatus::PartiallyRefunded => format!(
            "<p class=\"note warn\">{}<span>{}</span></p>",
            Icon::Alert.svg(),
            escape(&match lang {
                Lang::Ko => format!(
                    "이 결제 중 {}이 취소되었습니다. 남은 결제 금액은 {}입니다.",
                    format_krw(p.refunded_amount),
                    format_krw(p.refundable())
                ),
                Lang::En => format!(
                    "{} of this payment was refunded; {} remains paid.",
                    format_krw(p.refunded_amount),
                    format_krw(p.refundable())
                ),
            })
        ),
        SlipStatus::Canceled => format!(
            "<p class=\"note warn slip-void\">{}<span>{}</span></p>",
            Icon::Cross.svg(),
            escape(&match (lang, &p.refunded_at) {
                (Lang::Ko, Some(t)) => format!("이 결제는 {}에 취소되었습니다.", when(t)),
                (Lang::Ko, None) => "이 결제는 취소되었습니다.".to_string(),
                (Lang::En, Some(t)) => format!("This payment was canceled at {}.", when(t)),
                (Lang::En, None) => "This payment was canceled.".to_string(),
            })
        ),
    };
    let now = kst_long(state.clock.now());
    let body = format!(
        "<article class=\"slip\" id=\"slip\" data-status=\"{status}\">\
         <div class=\"slip-head\">{icon}<div class=\"slip-title\"><h1>{title}</h1><p class=\"sub\">{sub}</p></div>{stamp}</div>\
         <p class=\"slip-total\"><span>{total_label}</span><span class=\"amount\" id=\"slip-amount\">{amount}</span></p>\
         {state_note}{card}{money}{goods}{seller}\
         <p class=\"muted slip-foot\"><span>{masked}</span><span>{times}</span><span>{viewed}</span></p></article>",
        status = status.name(),
        icon = Icon::Receipt.svg(),
        title = escape(lang.t("카드 매출전표", "Card sales slip")),
        sub = escape(lang.t(
            "신용카드 매출전표 (고객용)",
            "Credit card sales slip (customer copy)"
        )),
        total_label = escape(lang.t("승인 금액", "Amount approved")),
        amount = escape(&format_krw(p.amount)),
        card = card.html(),
        money = money.html(),
        goods = goods.html(),
        seller = seller.html(),
        masked = escape(lang.t(
            "카드번호는 앞 6자리와 뒤 4자리만 표시됩니다.",
            "Only the first 6 and last 4 digits of the card number are shown."
        )),
        times = escape(lang.t(
            "시각은 모두 한국 시간(KST)입니다.",
            "All times are Korea time (KST)."
        )),
        viewed = escape(&match lang {
            Lang::Ko => format!("조회 시각 {now}"),
            Lang::En => format!("Viewed {now}"),
        }),
    );
    let mut page = Page::new(
        lang,
        PageKind::Receipt,
        lang.t("카드 매출전표", "Card sales slip"),
        body,
    );
    page.merchant = (!merchant_name.is_empty()).then_some(merchant_name);
    page.other_lang_href = Some(format!(
        "/r/{}?lang={}",
        link_safe(token),
        lang.other().code()
    ));
    Ok(page)
}

/// A receipt token as it goes back into a link: tokens are URL-safe letters, digits, `-` and
/// `_`; anything else is dropped rather than put into the page's link.
fn link_safe(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The start page
#[utoipa::path(
    get,
    path = "/",
    operation_id = "start_page",
    tag = "pages",
    responses((status = 200, description = "Links to the API description (and the sandbox phone in sandbox mode)", body = String, content_type = "text/html"))
)]
async fn home(State(state): State<AppState>) -> Html<String> {
    let sandbox = if state.settings.sandbox() {
        "<p><a href=\"/sandbox/phone\">샌드박스 전화 (Sandbox phone)</a> — 문자 확인, 가상번호로 전화 걸기, 키 누르기</p>"
    } else {
        ""
    };
    page(
        "FieldPay",
        &format!(
            "<h1>FieldPay ARS 서버</h1><p class=\"sub\">Phone payments by virtual ARS number</p>{sandbox}\
             <p><a href=\"/v1/openapi.json\">API (OpenAPI)</a></p>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_card_numbers_are_grouped_as_slips_print_them() {
        assert_eq!(card_groups("940100******0014"), "9401-00**-****-0014");
        assert_eq!(card_groups("374500*****1007"), "374500*****1007");
        assert_eq!(card_groups("9401-00**-****-0014"), "9401-00**-****-0014");
        assert_eq!(card_groups("****0014"), "****0014");
    }

    #[test]
    fn tokens_put_back_into_links_carry_nothing_but_token_characters() {
        assert_eq!(link_safe("TIfzl4bH-_x"), "TIfzl4bH-_x");
        assert_eq!(link_safe("a\"><script>b"), "ascriptb");
    }
}

/// A purchase order's PDF sent by text
///
/// The public link texted with a purchase order (문자로 보내기): the signed PDF as it was
/// signed. The token is unguessable; an unknown one is a "not found" page.
#[utoipa::path(
    get,
    path = "/d/{token}",
    operation_id = "shared_document",
    tag = "pages",
    params(("token" = String, Path, description = "The document token of the link")),
    responses(
        (status = 200, description = "The purchase order (발주서) as signed", content(("application/pdf"))),
        (status = 404, description = "No such document", body = String, content_type = "text/html"),
        (status = 500, description = "The document could not be read", body = ErrorBody),
    )
)]
async fn shared_document(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_request(None, &headers);
    let found = if token.len() == 32 && token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        state.db(move |s| s.shared_pdf(&token)).await
    } else {
        Ok(None)
    };
    match found {
        Ok(Some((number, pdf))) => {
            let name: String = number
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("inline; filename=\"{name}.pdf\""),
                    ),
                    (header::CACHE_CONTROL, "private, no-store".to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                    (header::REFERRER_POLICY, "no-referrer".to_string()),
                ],
                pdf,
            )
                .into_response()
        }
        Ok(None) => {
            let mut page = Page::new(
                lang,
                PageKind::Error,
                lang.t("문서 없음", "No document"),
                format!(
                    "<div id=\"error\" data-code=\"not_found\"><h1 class=\"error-head\">{}{}</h1><p class=\"sub\">{}</p></div>",
                    Icon::Alert.svg(),
                    escape(lang.t("문서를 찾을 수 없습니다", "This document was not found")),
                    escape(lang.t(
                        "받은 문자의 주소를 다시 확인해 주세요.",
                        "Please check the address in the text you received."
                    )),
                ),
            );
            page.status = StatusCode::NOT_FOUND;
            page.into_response()
        }
        Err(e) => e.into_response(),
    }
}
