//! The charge form's checks and defaults, apart from the view: plain functions of the typed
//! values, unit-tested on the host (`cargo test -p fieldpay-ui`). Each check answers the message
//! key shown under its field, or None. The engine checks the request again with the server's
//! own rules (`fieldpay_protocol::rules::ChargeRequest`); these only catch mistakes early.

use fieldpay_protocol::app::ChargeInput;
use fieldpay_protocol::charge::ChargeKind;
use fieldpay_protocol::mobile;

use crate::format::{self, INSTALLMENT_MIN_KRW, MAX_AMOUNT_KRW};
use crate::i18n::T;

/// The payer's phone: a mobile number (it receives the ARS text), by the protocol's one rule.
pub fn phone_error(phone: &str) -> Option<T> {
    (!mobile::is_mobile(phone)).then_some(T::ErrPhone)
}

/// The amount as typed ([`format::parse_amount`]): 1 ..= [`MAX_AMOUNT_KRW`] won.
pub fn amount_error(amount: Option<i64>) -> Option<T> {
    match amount {
        None => Some(T::ErrAmountZero),
        Some(v) if v <= 0 => Some(T::ErrAmountZero),
        Some(v) if v > MAX_AMOUNT_KRW => Some(T::ErrAmountMax),
        Some(_) => None,
    }
}

/// The goods name must not be blank.
pub fn goods_error(goods: &str) -> Option<T> {
    goods.trim().is_empty().then_some(T::ErrGoods)
}

/// Third-party payment: the orderer's name must not be blank.
pub fn orderer_name_error(third_party: bool, name: &str) -> Option<T> {
    (third_party && name.trim().is_empty()).then_some(T::ErrOrdererName)
}

/// Third-party payment: the orderer's phone is a mobile number too (the engine and the server
/// refuse any other).
pub fn orderer_phone_error(third_party: bool, phone: &str) -> Option<T> {
    (third_party && !mobile::is_mobile(phone)).then_some(T::ErrOrdererPhone)
}

/// Installments (할부) can be offered from [`INSTALLMENT_MIN_KRW`] up.
pub fn installments_allowed(amount: Option<i64>) -> bool {
    amount.is_some_and(|v| v >= INSTALLMENT_MIN_KRW)
}

/// The payer's phone proposed for a client: its phone when that is a mobile, else empty.
pub fn payer_default(client_phone: &str) -> String {
    mobile::mobile_digits(client_phone).unwrap_or_default()
}

/// The amount proposed: the order's total for an order's payment, else the client's balance
/// when it owes something, else the order's total when collecting; 0 (empty) otherwise.
pub fn initial_amount(order_total: Option<i64>, balance: i64, collect: bool) -> i64 {
    match (order_total, collect) {
        (Some(total), false) => total,
        _ if balance > 0 => balance,
        (Some(total), true) => total,
        _ => 0,
    }
}

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargeForm {
    pub account_id: Option<String>,
    pub order_id: Option<String>,
    pub phone: String,
    pub payer_name: String,
    pub third_party: bool,
    pub orderer_name: String,
    pub orderer_phone: String,
    pub amount: String,
    pub goods: String,
    pub installments: bool,
}

impl ChargeForm {
    pub fn amount_value(&self) -> Option<i64> {
        format::parse_amount(&self.amount)
    }

    /// The first field error, in the form's order, or None when the form can be sent.
    pub fn first_error(&self) -> Option<T> {
        let amount = self.amount_value();
        phone_error(&self.phone)
            .or_else(|| amount_error(amount))
            .or_else(|| goods_error(&self.goods))
            .or_else(|| orderer_name_error(self.third_party, &self.orderer_name))
            .or_else(|| orderer_phone_error(self.third_party, &self.orderer_phone))
    }

    /// The request sent to the engine: trimmed text, bare digits, no empty payer name, the
    /// orderer only for a third-party payment, installments only where allowed.
    pub fn input(&self) -> ChargeInput {
        let amount = self.amount_value().unwrap_or(0);
        let payer_name = self.payer_name.trim();
        ChargeInput {
            account_id: self.account_id.clone(),
            order_id: self.order_id.clone(),
            amount,
            goods_name: self.goods.trim().to_string(),
            payer_phone: format::digits_only(&self.phone),
            payer_name: (!payer_name.is_empty()).then(|| payer_name.to_string()),
            orderer: self.third_party.then(|| {
                (
                    self.orderer_name.trim().to_string(),
                    format::digits_only(&self.orderer_phone),
                )
            }),
            installments: self.installments && installments_allowed(Some(amount)),
            kind: ChargeKind::General,
            expires_in_minutes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_phone() {
        // The cases of the UI's former own rule (format::valid_mobile), now protocol's.
        assert_eq!(phone_error("01012345678"), None);
        assert_eq!(phone_error("010-1234-5678"), None);
        assert_eq!(phone_error("0111234567"), None);
        for bad in ["0101234567", "0212345678", "010123", "010-1234-567a", ""] {
            assert_eq!(phone_error(bad), Some(T::ErrPhone), "{bad}");
        }
        assert_eq!(payer_default("010-2345-6789"), "01023456789");
        assert_eq!(payer_default("0231456789"), "");
    }

    #[test]
    fn amounts_and_installments() {
        assert_eq!(amount_error(None), Some(T::ErrAmountZero));
        assert_eq!(amount_error(Some(0)), Some(T::ErrAmountZero));
        assert_eq!(amount_error(Some(-5)), Some(T::ErrAmountZero));
        assert_eq!(amount_error(Some(1)), None);
        assert_eq!(amount_error(Some(MAX_AMOUNT_KRW)), None);
        assert_eq!(
            amount_error(Some(MAX_AMOUNT_KRW + 1)),
            Some(T::ErrAmountMax)
        );
        assert!(!installments_allowed(None));
        assert!(!installments_allowed(Some(INSTALLMENT_MIN_KRW - 1)));
        assert!(installments_allowed(Some(INSTALLMENT_MIN_KRW)));
        assert_eq!(initial_amount(Some(30_000), 50_000, false), 30_000);
        assert_eq!(initial_amount(Some(30_000), 50_000, true), 50_000);
        assert_eq!(initial_amount(Some(30_000), 0, true), 30_000);
        assert_eq!(initial_amount(None, 0, true), 0);
        assert_eq!(initial_amount(None, -10, false), 0);
    }

    #[test]
    fn text_and_orderer() {
        assert_eq!(goods_error("  "), Some(T::ErrGoods));
        assert_eq!(goods_error("감기약"), None);
        assert_eq!(orderer_name_error(false, ""), None);
        assert_eq!(orderer_name_error(true, " "), Some(T::ErrOrdererName));
        assert_eq!(orderer_name_error(true, "김한빛"), None);
        assert_eq!(orderer_phone_error(false, ""), None);
        assert_eq!(orderer_phone_error(true, "01098765432"), None);
        // A landline cannot be the orderer's number: the engine would refuse it.
        assert_eq!(
            orderer_phone_error(true, "0231456789"),
            Some(T::ErrOrdererPhone)
        );
    }

    fn form() -> ChargeForm {
        ChargeForm {
            account_id: Some("acc_1".into()),
            order_id: None,
            phone: "010-1234-5678".into(),
            payer_name: "  ".into(),
            third_party: false,
            orderer_name: "김한빛".into(),
            orderer_phone: "0231456789".into(),
            amount: "12,000".into(),
            goods: " 감기약 ".into(),
            installments: true,
        }
    }

    #[test]
    fn whole_form() {
        let f = form();
        assert_eq!(f.first_error(), None);
        let input = f.input();
        assert_eq!(input.payer_phone, "01012345678");
        assert_eq!(input.payer_name, None);
        assert_eq!(input.goods_name, "감기약");
        assert_eq!(input.amount, 12_000);
        assert_eq!(input.orderer, None);
        assert!(
            !input.installments,
            "12,000 won is below the installment minimum"
        );
        let mut f = form();
        f.third_party = true;
        assert_eq!(f.first_error(), Some(T::ErrOrdererPhone));
        f.orderer_phone = "010-9876-5432".into();
        f.amount = INSTALLMENT_MIN_KRW.to_string();
        assert_eq!(f.first_error(), None);
        let input = f.input();
        assert_eq!(
            input.orderer,
            Some(("김한빛".to_string(), "01098765432".to_string()))
        );
        assert!(input.installments);
        let mut f = form();
        f.phone.clear();
        f.amount.clear();
        assert_eq!(f.first_error(), Some(T::ErrPhone));
        f.phone = "01012345678".into();
        assert_eq!(f.first_error(), Some(T::ErrAmountZero));
    }
}
