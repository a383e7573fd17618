//! Korean text messages: the bill (결제 요청) and the sales slip (매출 전표).

use chrono::DateTime;
use chrono::Utc;
use fieldpay_protocol::money::format_krw;
use fieldpay_protocol::records::OrderKind;

use crate::clock::kst_short;
use crate::domain::Merchant;
use crate::store::ChargeRecord;

fn display(digits: &str) -> String {
    fieldpay_protocol::phone::Phone::parse(digits)
        .map(|p| p.display())
        .unwrap_or_else(|_| digits.to_string())
}

/// The bill text: merchant, goods, amount, the virtual number as a `tel:` link, the deadline;
/// third-party wording when someone else ordered.
pub fn bill(merchant_name: &str, rec: &ChargeRecord, expires_at: DateTime<Utc>) -> String {
    let c = &rec.charge;
    let number = display(&rec.virtual_number);
    let opening = match (&c.orderer, c.third_party) {
        (Some(o), true) => format!(
            "[{merchant_name}] {}({})님이 결제를 요청하셨습니다.",
            o.name, o.phone
        ),
        _ => match &c.payer_name {
            Some(n) => format!("[{merchant_name}] {n}님, 결제 요청입니다."),
            None => format!("[{merchant_name}] 결제 요청입니다."),
        },
    };
    format!(
        "{opening}\n상품: {}\n금액: {}\n아래 번호를 누르면 전화로 카드 결제가 진행됩니다.\n☎ {number}\ntel:{}\n결제기한: {}까지",
        c.goods_name,
        format_krw(c.amount),
        rec.virtual_number,
        kst_short(expires_at),
    )
}

fn installments_ko(months: u8) -> String {
    if months == 0 {
        "일시불".into()
    } else {
        format!("{months}개월 할부")
    }
}

/// The notice that a bill will not be collected: the merchant withdrew it (its service was
/// suspended), so the virtual number no longer takes the payment.
pub fn bill_withdrawn(merchant_name: &str, rec: &ChargeRecord) -> String {
    format!(
        "[{merchant_name}] 결제 요청이 취소되었습니다.\n상품: {}\n금액: {}\n이 요청은 더 이상 결제할 수 없습니다.",
        rec.charge.goods_name,
        format_krw(rec.charge.amount),
    )
}

/// The sales-slip text after approval: approval number, masked card, amount, installments,
/// the merchant's phone for questions (when it has one), receipt link. Only the masked card
/// number ever appears.
pub fn slip(merchant: &Merchant, rec: &ChargeRecord, receipt_url: &str) -> Option<String> {
    let p = rec.charge.payment.as_ref()?;
    let merchant_name = &merchant.name;
    let contact = match fieldpay_protocol::phone::Phone::parse(&merchant.profile.phone) {
        Ok(phone) => format!("\n문의: {}", phone.display()),
        Err(_) => String::new(),
    };
    Some(format!(
        "[{merchant_name}] 카드 결제가 승인되었습니다.\n승인번호: {}\n카드: {} {}\n금액: {} ({})\n상품: {}{contact}\n영수증: {receipt_url}",
        p.approval_number,
        p.issuer_name,
        p.masked_card,
        format_krw(p.amount),
        installments_ko(p.installment_months),
        rec.charge.goods_name,
    ))
}

/// The text of a refund of `amount` KRW: what was canceled and, after a partial refund, what
/// stands of the payment.
pub fn refund(merchant_name: &str, rec: &ChargeRecord, amount: i64) -> Option<String> {
    let p = rec.charge.payment.as_ref()?;
    let rest = p.refundable();
    let (title, rest_line) = match rest {
        0 => ("카드 결제가 취소되었습니다.", String::new()),
        r => (
            "카드 결제가 부분 취소되었습니다.",
            format!("\n남은 결제금액: {}", format_krw(r)),
        ),
    };
    Some(format!(
        "[{merchant_name}] {title}\n승인번호: {}\n카드: {} {}\n취소금액: {}{rest_line}",
        p.approval_number,
        p.issuer_name,
        p.masked_card,
        format_krw(amount),
    ))
}

/// The receipt text of a collection (현금·계좌이체·어음 수금): merchant, client, method,
/// amount (and the note's number, bank and due date), when, and what the client still owes.
pub fn collection_receipt(
    merchant: &Merchant,
    c: &fieldpay_protocol::collection::Collection,
    account_name: &str,
    balance_after: i64,
    collected_at: DateTime<Utc>,
) -> String {
    let merchant_name = &merchant.name;
    let note = match &c.note {
        Some(n) => format!(
            "\n어음번호: {} ({})\n만기일: {}",
            n.number, n.issuer_bank, n.due_date
        ),
        None => String::new(),
    };
    let contact = match fieldpay_protocol::phone::Phone::parse(&merchant.profile.phone) {
        Ok(phone) => format!("\n문의: {}", phone.display()),
        Err(_) => String::new(),
    };
    format!(
        "[{merchant_name}] 수금 영수증\n{account_name} 님, {} {}을 받았습니다.{note}\n수금일시: {}\n남은 미수금: {}{contact}",
        c.method.label_ko(),
        format_krw(c.amount),
        kst_short(collected_at),
        format_krw(balance_after.max(0)),
    )
}

/// The text of a purchase order (or a return: 반품서) sent by the rep: the order's number and
/// its PDF link.
pub fn share_purchase_order(
    merchant_name: &str,
    kind: OrderKind,
    number: &str,
    total: i64,
    link: &str,
) -> String {
    let title = kind.title_ko();
    let (number_label, total_label) = match kind {
        OrderKind::Purchase => ("발주번호", "합계"),
        OrderKind::Return => ("반품번호", "반품 합계"),
    };
    format!(
        "[{merchant_name}] {title}를 보내드립니다.\n{number_label}: {number}\n{total_label}: {}\n{title}(PDF): {link}",
        format_krw(total),
    )
}

/// The text of a receipt link sent by the rep.
pub fn share_receipt(merchant_name: &str, rec: &ChargeRecord, link: &str) -> String {
    format!(
        "[{merchant_name}] 결제 영수증을 보내드립니다.\n상품: {}\n금액: {}\n영수증: {link}",
        rec.charge.goods_name,
        format_krw(rec.charge.amount),
    )
}
