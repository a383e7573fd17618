//! Input rules shared by the server and the app's engine: amounts, free text, phone numbers
//! and charge requests. Every rule answers a typed `ApiError`.

use crate::charge::{ChargeKind, CreateCharge};
use crate::error::{ApiError, ErrorCode};
use crate::money::MAX_AMOUNT_KRW;
use crate::phone::Phone;

fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, format!("{field}: {why}"))
}

/// A KRW amount of one charge or order: 1..=100,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(v: i64) -> Result<Amount, ApiError> {
        if v <= 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidAmount,
                "amount must be a positive number of won",
            ));
        }
        if v > MAX_AMOUNT_KRW {
            return Err(ApiError::new(
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
pub fn parse_text(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(t.to_string())
}

pub fn parse_optional_text(
    field: &str,
    v: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_text(field, s, max).map(Some),
    }
}

pub fn parse_mobile(field: &str, v: &str) -> Result<Phone, ApiError> {
    Phone::parse_mobile(v)
        .map_err(|e| ApiError::new(ErrorCode::InvalidPhone, format!("{field}: {e}")))
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
    pub fn parse(body: &CreateCharge) -> Result<ChargeRequest, ApiError> {
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
                return Err(invalid(
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
            assert_eq!(
                ChargeRequest::parse(&b).unwrap_err().code,
                ErrorCode::InvalidAmount
            );
        }
        assert!(ChargeRequest::parse(&body()).is_ok());
    }

    #[test]
    fn phones_and_text() {
        let mut b = body();
        b.payer_phone = "02-123-4567".into();
        assert_eq!(
            ChargeRequest::parse(&b).unwrap_err().code,
            ErrorCode::InvalidPhone
        );
        let mut b = body();
        b.goods_name = "  ".into();
        assert_eq!(
            ChargeRequest::parse(&b).unwrap_err().code,
            ErrorCode::InvalidField
        );
        let mut b = body();
        b.expires_in_minutes = Some(0);
        assert!(ChargeRequest::parse(&b).is_err());
    }
}
