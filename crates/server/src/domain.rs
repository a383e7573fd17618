//! Domain values that parse: whatever crosses the API is turned into one of these first, so
//! the store only ever sees valid data.

use fieldpay_protocol::charge::{ChargeKind, CreateCharge};
use fieldpay_protocol::money::MAX_AMOUNT_KRW;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What to do when an order would take an account over its credit limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditPolicy {
    /// Register the order and flag it.
    Warn,
    /// Reject the order.
    #[default]
    Block,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    pub require_birth_date: bool,
    pub require_password: bool,
    /// Virtual ARS numbers of this merchant, national digits.
    pub number_pool: Vec<String>,
    pub webhook_url: Option<String>,
    /// Standard Webhooks secret, `whsec_` + base64.
    pub webhook_secret: Option<String>,
    pub credit_policy: CreditPolicy,
    pub default_expiry_minutes: u32,
    /// Auto-pay (registered cards) allowed for this merchant.
    pub auto_pay: bool,
}

impl Default for MerchantSettings {
    fn default() -> Self {
        MerchantSettings {
            require_birth_date: true,
            require_password: true,
            number_pool: Vec::new(),
            webhook_url: None,
            webhook_secret: None,
            credit_policy: CreditPolicy::Block,
            default_expiry_minutes: 60,
            auto_pay: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Merchant {
    pub id: String,
    pub code: String,
    pub name: String,
    pub settings: MerchantSettings,
}

/// A KRW amount of one charge or order: 1..=100,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(v: i64) -> Result<Amount, AppError> {
        if v <= 0 {
            return Err(AppError::new(
                ErrorCode::InvalidAmount,
                "amount must be a positive number of won",
            ));
        }
        if v > MAX_AMOUNT_KRW {
            return Err(AppError::new(
                ErrorCode::InvalidAmount,
                format!("amount must be at most {MAX_AMOUNT_KRW} won"),
            ));
        }
        Ok(Amount(v))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Free text shown to people (goods name, names, memo): trimmed, no control characters,
/// 1..=max characters.
pub fn parse_text(field: &str, v: &str, max: usize) -> Result<String, AppError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(AppError::invalid(field, "must not contain control characters"));
    }
    Ok(t.to_string())
}

pub fn parse_optional_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    match v {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_text(field, s, max).map(Some),
    }
}

pub fn parse_mobile(field: &str, v: &str) -> Result<Phone, AppError> {
    Phone::parse_mobile(v).map_err(|e| AppError::new(ErrorCode::InvalidPhone, format!("{field}: {e}")))
}

/// A validated charge request, whatever its origin (API, app mutation, web link).
#[derive(Debug, Clone, PartialEq)]
pub struct ChargeRequest {
    pub amount: Amount,
    pub goods_name: String,
    pub payer_phone: Phone,
    pub payer_name: Option<String>,
    pub kind: ChargeKind,
    pub order_ref: Option<String>,
    pub account_id: Option<String>,
    pub orderer: Option<(String, Phone)>,
    pub installments: bool,
    pub expires_in_minutes: Option<u32>,
}

impl ChargeRequest {
    pub fn parse(body: &CreateCharge) -> Result<ChargeRequest, AppError> {
        let amount = Amount::parse(body.amount)?;
        let goods_name = parse_text("goods_name", &body.goods_name, 100)?;
        let payer_phone = parse_mobile("payer_phone", &body.payer_phone)?;
        let payer_name = parse_optional_text("payer_name", body.payer_name.as_deref(), 50)?;
        let order_ref = parse_optional_text("order_ref", body.order_ref.as_deref(), 64)?;
        let account_id = parse_optional_text("account_id", body.account_id.as_deref(), 64)?;
        let orderer = match &body.orderer {
            None => None,
            Some(o) => Some((
                parse_text("orderer.name", &o.name, 50)?,
                parse_mobile("orderer.phone", &o.phone)?,
            )),
        };
        if let Some(m) = body.expires_in_minutes {
            if !(1..=10_080).contains(&m) {
                return Err(AppError::invalid(
                    "expires_in_minutes",
                    "must be between 1 and 10080 (7 days)",
                ));
            }
        }
        Ok(ChargeRequest {
            amount,
            goods_name,
            payer_phone,
            payer_name,
            kind: body.kind.unwrap_or_default(),
            order_ref,
            account_id,
            orderer,
            installments: body.installments.unwrap_or(true),
            expires_in_minutes: body.expires_in_minutes,
        })
    }

    /// Third-party payment (조르기): the orderer is someone other than the payer.
    pub fn is_third_party(&self) -> bool {
        matches!(&self.orderer, Some((_, p)) if p != &self.payer_phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> CreateCharge {
        CreateCharge {
            amount: 55_000,
            goods_name: "감기약".into(),
            payer_phone: "010-1234-5678".into(),
            payer_name: None,
            kind: None,
            order_ref: None,
            account_id: None,
            orderer: None,
            installments: None,
            expires_in_minutes: None,
        }
    }

    #[test]
    fn amounts() {
        for bad in [0, -1, MAX_AMOUNT_KRW + 1] {
            let mut b = body();
            b.amount = bad;
            assert_eq!(ChargeRequest::parse(&b).unwrap_err().code, ErrorCode::InvalidAmount);
        }
        assert!(ChargeRequest::parse(&body()).is_ok());
    }

    #[test]
    fn phones_and_text() {
        let mut b = body();
        b.payer_phone = "02-123-4567".into();
        assert_eq!(ChargeRequest::parse(&b).unwrap_err().code, ErrorCode::InvalidPhone);
        let mut b = body();
        b.goods_name = "  ".into();
        assert_eq!(ChargeRequest::parse(&b).unwrap_err().code, ErrorCode::InvalidField);
        let mut b = body();
        b.expires_in_minutes = Some(0);
        assert!(ChargeRequest::parse(&b).is_err());
    }
}
