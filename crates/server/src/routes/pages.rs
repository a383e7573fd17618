//! Web pages for people: the sales slip (영수증) at `/r/{token}` and the start page.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use fieldpay_protocol::charge::ChargeStatus;
use fieldpay_protocol::money::format_krw;
use fieldpay_protocol::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::{kst_long, parse_ts};
use crate::markup::escape;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(home))
        .routes(routes!(receipt))
}

const STYLE: &str = "body{font-family:'Noto Sans KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif;background:#f3f4f6;margin:0;padding:16px;color:#111}\
main{max-width:420px;margin:0 auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 4px rgba(0,0,0,.1)}\
h1{font-size:1.4rem;margin:0 0 4px}.sub{color:#555;margin:0 0 16px}\
table{width:100%;border-collapse:collapse;font-size:1.05rem}td{padding:8px 0;border-bottom:1px solid #eee}td:last-child{text-align:right;font-weight:600}\
.amount{font-size:2rem;font-weight:700;margin:12px 0}.badge{display:inline-block;padding:4px 10px;border-radius:999px;font-weight:700}\
.ok{background:#dcfce7;color:#166534}.void{background:#fee2e2;color:#991b1b}footer{color:#777;font-size:.85rem;margin-top:16px}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    ))
}

/// The sales slip (매출전표) page
///
/// The link texted to the payer after approval; shows the payment (masked card) or its refund.
#[utoipa::path(
    get,
    path = "/r/{token}",
    operation_id = "receipt_page",
    tag = "pages",
    params(("token" = String, Path, description = "The receipt token of the link")),
    responses(
        (status = 200, description = "The sales slip", body = String, content_type = "text/html"),
        (status = 404, description = "No such receipt, or nothing was paid", body = String, content_type = "text/html"),
        (status = 500, description = "The receipt could not be read", body = ErrorBody),
    )
)]
async fn receipt(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    (PRIVATE_PAGE, receipt_page(&state, token).await).into_response()
}

/// The headers of a private page (a receipt): not cached, its address not passed on to other
/// sites, nothing loaded or run but its own inline style, not framed.
const PRIVATE_PAGE: [(header::HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
];

async fn receipt_page(state: &AppState, token: String) -> Response {
    let t = token.clone();
    let rec = match state.db(move |s| s.receipt(&t)).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                page(
                    "영수증 없음",
                    "<h1>영수증을 찾을 수 없습니다</h1><p class=\"sub\">Receipt not found.</p>",
                ),
            )
                .into_response()
        }
        Err(e) => return e.into_response(),
    };
    let mid = rec.merchant_id.clone();
    let merchant = state.db(move |s| s.merchant(&mid)).await.ok().flatten();
    let merchant_name = merchant
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let c = &rec.charge;
    let Some(p) = &c.payment else {
        return (
            StatusCode::NOT_FOUND,
            page("영수증 없음", "<h1>결제 내역이 없습니다</h1>"),
        )
            .into_response();
    };
    let refunded = c.status == ChargeStatus::Refunded;
    let when = |s: &str| parse_ts(s).map(kst_long).unwrap_or_else(|| s.to_string());
    let installments = if p.installment_months == 0 {
        "일시불".to_string()
    } else {
        format!("{}개월", p.installment_months)
    };
    // Who sold: the merchant's name and, as it has them, its business details.
    let mut rows = vec![("가맹점 Merchant", merchant_name.clone())];
    if let Some(m) = &merchant {
        let bn = &m.settings.business_number;
        let phone = fieldpay_protocol::phone::Phone::parse(&m.profile.phone)
            .map(|p| p.display())
            .unwrap_or_default();
        for (label, value) in [
            (
                "사업자등록번호 Business no.",
                fieldpay_protocol::validate::format_business_number(bn),
            ),
            ("대표자 Representative", m.profile.representative.clone()),
            ("주소 Address", m.profile.address.clone()),
            ("전화 Phone", phone),
        ] {
            if !value.trim().is_empty() {
                rows.push((label, value));
            }
        }
    }
    rows.extend([
        ("상품 Goods", c.goods_name.clone()),
        ("카드 Card", format!("{} {}", p.issuer_name, p.masked_card)),
        ("할부 Installments", installments),
        ("승인번호 Approval no.", p.approval_number.clone()),
        ("승인일시 Approved at", when(&p.approved_at)),
    ]);
    if refunded {
        if let Some(r) = &p.refunded_at {
            rows.push(("취소일시 Canceled at", when(r)));
        }
    } else {
        for r in &p.refunds {
            rows.push((
                "부분 취소 Partly canceled",
                format!("{} ({})", format_krw(r.amount), when(&r.refunded_at)),
            ));
        }
        if p.refunded_amount > 0 {
            rows.push(("남은 금액 Remaining", format_krw(p.refundable())));
        }
    }
    let table: String = rows
        .iter()
        .map(|(k, v)| format!("<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v)))
        .collect();
    let badge = if refunded {
        "<span class=\"badge void\">결제 취소 Canceled</span>"
    } else {
        "<span class=\"badge ok\">승인 Approved</span>"
    };
    let body = format!(
        "<h1>카드 매출전표</h1><p class=\"sub\">Card sales slip · {}</p>{badge}<div class=\"amount\">{}</div><table>{table}</table>\
         <footer>FieldPay ARS 전화결제 · 카드번호는 앞 6자리와 뒤 4자리만 표시됩니다.</footer>",
        escape(&merchant_name),
        escape(&format_krw(p.amount)),
    );
    page("카드 매출전표", &body).into_response()
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
