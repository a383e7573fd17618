//! NHN Cloud SMS (API v3.0) request and answer types and the pure mapping.
//!
//! From NHN Cloud's documentation (Notification > SMS > API guide; the v2.2 guide read in
//! full, v3.0 keeps its bodies and adds the `X-Secret-Key` header) and its result code table:
//! - short text: `POST /sms/v3.0/appKeys/{appKey}/sender/sms`, body `{ "body", "sendNo",
//!   "recipientList": [ { "recipientNo" } ] }`; the standard size is 90 bytes (EUC-KR).
//! - long text: `POST /sms/v3.0/appKeys/{appKey}/sender/mms` with `title` (40 bytes standard)
//!   and `body` (2,000 bytes standard).
//! - every answer: `{ "header": { "isSuccessful", "resultCode", "resultMessage" }, "body": {
//!   "data": { "requestId", "statusCode", "sendResultList": [ { "recipientNo", "resultCode",
//!   "resultMessage", "recipientSeq", ... } ] } } }`.
//! - result codes (table "API Result Code"): `0` success; `-1000` invalid appkey, `-1001` no
//!   such appkey, `-1002` terminated, `-1003` not a project member, `-1004` IP not allowed,
//!   `-1007` invalid member, `-1008` blocked project (our account); `-9999` system error;
//!   others (`4` parameter validation, `-2001` no recipient, ...) refuse the request.
//!   The answer to a wrong `X-Secret-Key` is not in what could be read: any 401/403 is taken
//!   as our account's problem.

use serde::{Deserialize, Serialize};

use crate::sms::sender::{clean_reason, euc_kr_len, SmsError};

pub const SMS_MAX_BYTES: usize = 90;
pub const MMS_MAX_BYTES: usize = 2000;
pub const TITLE_MAX_BYTES: usize = 40;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest<'a> {
    /// Only for `/sender/mms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub body: &'a str,
    pub send_no: &'a str,
    pub recipient_list: Vec<Recipient>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub recipient_no: String,
}

/// Which endpoint: `sms` (up to 90 bytes) or `mms` (long text, up to 2,000 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Sms,
    Mms,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Sms => "sms",
            Endpoint::Mms => "mms",
        }
    }
}

/// The endpoint and body of one text.
pub fn request<'a>(
    to_national: String,
    send_no: &'a str,
    text: &'a str,
    subject: Option<&str>,
) -> Result<(Endpoint, SendRequest<'a>), SmsError> {
    if text.is_empty() {
        return Err(SmsError::Refused("empty text".into()));
    }
    let n = euc_kr_len(text);
    let endpoint = if n <= SMS_MAX_BYTES {
        Endpoint::Sms
    } else if n <= MMS_MAX_BYTES {
        Endpoint::Mms
    } else {
        return Err(SmsError::Refused(format!(
            "text too long: {n} bytes (a long text holds {MMS_MAX_BYTES})"
        )));
    };
    let title = match endpoint {
        Endpoint::Sms => None,
        // The title is required for a long text: the subject, or the text's start.
        Endpoint::Mms => Some(crate::sms::solapi::transformers::cut_to_bytes(
            subject.filter(|s| !s.is_empty()).unwrap_or(text),
            TITLE_MAX_BYTES,
        )),
    };
    Ok((
        endpoint,
        SendRequest {
            title,
            body: text,
            send_no,
            recipient_list: vec![Recipient {
                recipient_no: to_national,
            }],
        },
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub header: Header,
    #[serde(default)]
    pub body: Option<AnswerBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub is_successful: bool,
    pub result_code: i64,
    #[serde(default)]
    pub result_message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AnswerBody {
    #[serde(default)]
    pub data: Option<AnswerData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerData {
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub send_result_list: Vec<SendResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResult {
    pub result_code: i64,
    #[serde(default)]
    pub result_message: Option<String>,
}

/// Result codes that are our account's problem, not the text's.
fn account_code(code: i64) -> bool {
    matches!(code, -1008..=-1000)
}

fn reason(message: Option<&str>, code: i64) -> String {
    format!("{} (NHN {code})", clean_reason(message.unwrap_or("")))
}

/// An answer (any HTTP status with the documented body) as the request id or an error.
pub fn result(status: u16, answer: &Answer) -> Result<Option<String>, SmsError> {
    let h = &answer.header;
    if !h.is_successful || h.result_code != 0 {
        let why = reason(h.result_message.as_deref(), h.result_code);
        return Err(
            if status >= 500 || status == 429 || h.result_code == -9999 {
                SmsError::Unavailable(why)
            } else if status == 401 || status == 403 || account_code(h.result_code) {
                SmsError::Rejected(why)
            } else {
                SmsError::Refused(why)
            },
        );
    }
    let data = answer.body.as_ref().and_then(|b| b.data.as_ref());
    if let Some(r) = data
        .and_then(|d| d.send_result_list.first())
        .filter(|r| r.result_code != 0)
    {
        return Err(SmsError::Refused(reason(
            r.result_message.as_deref(),
            r.result_code,
        )));
    }
    Ok(data.and_then(|d| d.request_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_texts() {
        let h45 = "가".repeat(45);
        let (e, r) = request("01012345678".into(), "0212345678", &h45, Some("결제")).unwrap();
        assert_eq!(e, Endpoint::Sms);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"body": "가".repeat(45), "sendNo": "0212345678", "recipientList": [{"recipientNo": "01012345678"}]})
        );
        let text = format!("{}a", "가".repeat(45));
        let (e, r) = request("01012345678".into(), "0212345678", &text, Some("결제 요청")).unwrap();
        assert_eq!(e, Endpoint::Mms);
        assert_eq!(serde_json::to_value(&r).unwrap()["title"], "결제 요청");
        assert!(request("0101".into(), "02", &"가".repeat(1001), None).is_err());
    }

    #[test]
    fn answers() {
        let ok: Answer = serde_json::from_str(r#"{"header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"},
            "body": {"data": {"requestId": "20240101-abc", "statusCode": "2", "sendResultList": [{"recipientNo": "01012345678", "resultCode": 0, "resultMessage": "SUCCESS", "recipientSeq": 1}]}}}"#).unwrap();
        assert_eq!(result(200, &ok).unwrap().as_deref(), Some("20240101-abc"));
        let refused: Answer = serde_json::from_str(r#"{"header": {"isSuccessful": true, "resultCode": 0, "resultMessage": "SUCCESS"},
            "body": {"data": {"requestId": "r", "sendResultList": [{"recipientNo": "0101", "resultCode": -2019, "resultMessage": "Invalid recipient number."}]}}}"#).unwrap();
        assert_eq!(
            result(200, &refused).unwrap_err(),
            SmsError::Refused("Invalid recipient number. (NHN -2019)".into())
        );
        let appkey: Answer = serde_json::from_str(r#"{"header": {"isSuccessful": false, "resultCode": -1000, "resultMessage": "Invalid appKey."}}"#).unwrap();
        assert!(matches!(result(200, &appkey), Err(SmsError::Rejected(_))));
        let system: Answer = serde_json::from_str(r#"{"header": {"isSuccessful": false, "resultCode": -9999, "resultMessage": "System error."}}"#).unwrap();
        assert!(matches!(
            result(500, &system),
            Err(SmsError::Unavailable(_))
        ));
    }
}
