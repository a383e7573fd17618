//! Twilio Messages request and answer types and the pure mapping.
//!
//! From Twilio's documentation (Messaging > API > Message resource; "Twilio API responses";
//! the error pages such as 21602):
//! - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields `To` (E.164),
//!   `From` (a Twilio number, E.164), `Body`; HTTP Basic auth `AccountSid:AuthToken`.
//! - answer 201 with the Message resource as JSON: `sid` (`SM...`), `status` (`queued`,
//!   `accepted`, ...), `error_code`, `error_message`, ...
//! - errors: JSON `{ "code", "message", "more_info", "status" }` with the HTTP status; e.g.
//!   20003 (authentication, 401), 21211 (invalid `To`), 21602 (body required), 21610
//!   (recipient unsubscribed), 21408 (region not enabled), 20429 (too many requests, 429).

use serde::{Deserialize, Serialize};

use crate::sms::sender::{clean_reason, SmsError};

#[derive(Debug, Serialize)]
pub struct CreateMessage<'a> {
    #[serde(rename = "To")]
    pub to: &'a str,
    #[serde(rename = "From")]
    pub from: &'a str,
    #[serde(rename = "Body")]
    pub body: &'a str,
}

/// The part of the Message resource FieldPay reads.
#[derive(Debug, Deserialize)]
pub struct MessageResource {
    pub sid: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorAnswer {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Error codes that are our account's problem, not the text's: authentication (20003),
/// account suspended or not active (20005, 30002), `From` not ours / not able to send
/// (21606, 21659, 21212).
const ACCOUNT_CODES: &[i64] = &[20003, 20005, 30002, 21606, 21659, 21212];

/// A created message: its sid, or its failure when Twilio already marked it failed.
pub fn created(m: &MessageResource) -> Result<String, SmsError> {
    if matches!(m.status.as_deref(), Some("failed") | Some("undelivered")) {
        return Err(SmsError::Refused(format!(
            "{} (Twilio {})",
            clean_reason(m.error_message.as_deref().unwrap_or("failed")),
            m.error_code.map(|c| c.to_string()).unwrap_or_default()
        )));
    }
    Ok(m.sid.clone())
}

/// An error answer as an [`SmsError`].
pub fn error(status: u16, body: &str) -> SmsError {
    let parsed: Option<ErrorAnswer> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().and_then(|e| e.code);
    let reason = match (&parsed, code) {
        (Some(e), Some(c)) => format!(
            "{} (Twilio {c})",
            clean_reason(e.message.as_deref().unwrap_or(""))
        ),
        _ => crate::sms::sender::unexpected("Twilio", status, body),
    };
    match status {
        500..=599 | 429 => SmsError::Unavailable(reason),
        401 | 403 => SmsError::Rejected(reason),
        _ if code.is_some_and(|c| ACCOUNT_CODES.contains(&c)) => SmsError::Rejected(reason),
        _ => SmsError::Refused(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_has_twilios_names() {
        let f = serde_urlencoded::to_string(CreateMessage {
            to: "+14155550100",
            from: "+15005550006",
            body: "결제 요청 & more",
        })
        .unwrap();
        assert_eq!(
            f,
            "To=%2B14155550100&From=%2B15005550006&Body=%EA%B2%B0%EC%A0%9C+%EC%9A%94%EC%B2%AD+%26+more"
        );
    }

    #[test]
    fn answers() {
        let m: MessageResource =
            serde_json::from_str(r#"{"sid": "SM123", "status": "queued", "error_code": null}"#)
                .unwrap();
        assert_eq!(created(&m).unwrap(), "SM123");
        assert_eq!(
            error(
                400,
                r#"{"code": 21211, "message": "Invalid 'To' Phone Number", "more_info": "x", "status": 400}"#
            ),
            SmsError::Refused("Invalid 'To' Phone Number (Twilio 21211)".into())
        );
        assert!(matches!(
            error(
                401,
                r#"{"code": 20003, "message": "Authenticate", "status": 401}"#
            ),
            SmsError::Rejected(_)
        ));
        assert!(matches!(error(503, "down"), SmsError::Unavailable(_)));
        assert!(matches!(
            error(
                429,
                r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#
            ),
            SmsError::Unavailable(_)
        ));
    }
}
