//! Solapi request and answer types and the pure mapping between them and FieldPay's texts.
//!
//! From Solapi's documentation (developers.solapi.com, "여러건의 메시지 발송",
//! `POST /messages/v4/send-many/detail`; "API Key 인증 방식"):
//! - body `{ "messages": [ { "to", "from", "text", "type", "subject"? } ] }`; `to` and
//!   `from` are digits only; `type` `SMS` (text up to 90 bytes) or `LMS` (up to 2,000 bytes,
//!   optional `subject`); bytes as Korean carriers count them (EUC-KR: Hangul 2, ASCII 1).
//!   Solapi documents the subject as "한글 20자, 영문 40자" (40 bytes).
//! - answer: `groupInfo` (the group: `groupId`, `count`, `status`, ...) and
//!   `failedMessageList` (each message not registered: `to`, `from`, `type`, `messageId`,
//!   `statusCode`, `statusMessage`, ...). A message in `failedMessageList` was not sent, with
//!   HTTP 200.
//! - errors: a JSON body `{ "errorCode", "errorMessage" }` with a 4xx/5xx status. The HTTP
//!   statuses of the authentication errors (`RequestTimeTooSkewed` for a date more than 15
//!   minutes off, a reused signature) are not given in what could be read; they are mapped by
//!   status class and by error code name.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::sms::sender::{clean_reason, euc_kr_len, SmsError};

/// The most bytes (EUC-KR) of a short text (SMS).
pub const SMS_MAX_BYTES: usize = 90;
/// The most bytes (EUC-KR) of a long text (LMS).
pub const LMS_MAX_BYTES: usize = 2000;
/// The most bytes (EUC-KR) of an LMS subject.
pub const SUBJECT_MAX_BYTES: usize = 40;

#[derive(Debug, Serialize)]
pub struct SendManyRequest<'a> {
    pub messages: Vec<Message<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Message<'a> {
    pub to: String,
    pub from: &'a str,
    pub text: &'a str,
    /// `SMS` or `LMS`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// `SMS` up to [`SMS_MAX_BYTES`], `LMS` up to [`LMS_MAX_BYTES`]; longer is refused here.
pub fn message_type(text: &str) -> Result<&'static str, SmsError> {
    match euc_kr_len(text) {
        n if n <= SMS_MAX_BYTES => Ok("SMS"),
        n if n <= LMS_MAX_BYTES => Ok("LMS"),
        n => Err(SmsError::Refused(format!(
            "text too long: {n} bytes (LMS holds {LMS_MAX_BYTES})"
        ))),
    }
}

/// The longest prefix of `s` that fits `max` EUC-KR bytes.
pub fn cut_to_bytes(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let mut buf = [0u8; 4];
        let n = euc_kr_len(c.encode_utf8(&mut buf));
        if used + n > max {
            break;
        }
        used += n;
        out.push(c);
    }
    out
}

/// The body of one text to `to_national` (digits).
pub fn request<'a>(
    to_national: String,
    from: &'a str,
    text: &'a str,
    subject: Option<&str>,
) -> Result<SendManyRequest<'a>, SmsError> {
    if text.is_empty() {
        return Err(SmsError::Refused("empty text".into()));
    }
    let kind = message_type(text)?;
    let subject = match kind {
        "LMS" => subject
            .map(|s| cut_to_bytes(s, SUBJECT_MAX_BYTES))
            .filter(|s| !s.is_empty()),
        _ => None,
    };
    Ok(SendManyRequest {
        messages: vec![Message {
            to: to_national,
            from,
            text,
            kind,
            subject,
        }],
    })
}

/// `Authorization: HMAC-SHA256 apiKey=.., date=.., salt=.., signature=..` where the
/// signature is the hex HMAC-SHA256 of `date + salt` keyed with the API secret.
pub fn authorization(api_key: &str, api_secret: &str, date: &str, salt: &str) -> String {
    format!(
        "HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={}",
        signature(api_secret, date, salt)
    )
}

pub fn signature(api_secret: &str, date: &str, salt: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(api_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(date.as_bytes());
    mac.update(salt.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The part of the `send-many/detail` answer FieldPay reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendManyAnswer {
    #[serde(default)]
    pub group_info: Option<GroupInfo>,
    #[serde(default)]
    pub failed_message_list: Vec<FailedMessage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(rename = "_id", default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedMessage {
    #[serde(default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub status_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorAnswer {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// A 200 answer: the group's id, or the refusal of the message.
pub fn sent(answer: &SendManyAnswer) -> Result<Option<String>, SmsError> {
    if let Some(f) = answer.failed_message_list.first() {
        return Err(SmsError::Refused(format!(
            "{} (Solapi {})",
            clean_reason(f.status_message.as_deref().unwrap_or("")),
            f.status_code.as_deref().unwrap_or("?")
        )));
    }
    let group = answer
        .group_info
        .as_ref()
        .ok_or_else(|| SmsError::Unavailable("Solapi answered without groupInfo".into()))?;
    Ok(group.group_id.clone().or_else(|| group.id.clone()))
}

/// An error answer (HTTP `status`, body `{errorCode, errorMessage}`) as an [`SmsError`]:
/// 5xx and 429 may pass; authentication, signature, clock and account errors are our
/// account's ([`SmsError::Rejected`]); any other 4xx refuses this text.
pub fn error(status: u16, body: &str) -> SmsError {
    let parsed: Option<ErrorAnswer> = serde_json::from_str(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|e| e.error_code.clone())
        .unwrap_or_default();
    let message = parsed
        .as_ref()
        .and_then(|e| e.error_message.clone())
        .unwrap_or_default();
    let reason = if code.is_empty() && message.is_empty() {
        crate::sms::sender::unexpected("Solapi", status, body)
    } else {
        format!("{} (Solapi {code})", clean_reason(&message))
    };
    let account_code = [
        "Signature",
        "ApiKey",
        "Unauthorized",
        "Forbidden",
        "TimeTooSkewed",
        "Credential",
        "NotEnoughBalance",
        "SenderNumber",
    ]
    .iter()
    .any(|k| code.contains(k));
    match status {
        500..=599 | 429 => SmsError::Unavailable(reason),
        401..=403 => SmsError::Rejected(reason),
        _ if account_code => SmsError::Rejected(reason),
        _ => SmsError::Refused(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_follows_euc_kr_bytes() {
        // 45 Hangul = 90 bytes: still one SMS; one more byte makes it an LMS.
        let h45 = "가".repeat(45);
        assert_eq!(message_type(&h45).unwrap(), "SMS");
        assert_eq!(message_type(&format!("{h45}a")).unwrap(), "LMS");
        // 90 ASCII bytes is an SMS; 89 ASCII + 1 Hangul is 91 bytes (in UTF-8 it would be 92).
        assert_eq!(message_type(&"a".repeat(90)).unwrap(), "SMS");
        assert_eq!(
            message_type(&format!("{}가", "a".repeat(89))).unwrap(),
            "LMS"
        );
        assert_eq!(message_type(&"가".repeat(1000)).unwrap(), "LMS");
        assert!(matches!(
            message_type(&"가".repeat(1001)),
            Err(SmsError::Refused(_))
        ));
    }

    #[test]
    fn a_long_text_has_a_subject_a_short_one_none() {
        let short = request(
            "01012345678".into(),
            "0212345678",
            "안녕하세요",
            Some("결제 요청"),
        )
        .unwrap();
        let v = serde_json::to_value(&short).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"messages": [{"to": "01012345678", "from": "0212345678", "text": "안녕하세요", "type": "SMS"}]})
        );
        let text = "가".repeat(60);
        let long = request(
            "01012345678".into(),
            "0212345678",
            &text,
            Some(&"제".repeat(30)),
        )
        .unwrap();
        let v = serde_json::to_value(&long).unwrap();
        assert_eq!(v["messages"][0]["type"], "LMS");
        // The subject is cut to 40 bytes: 20 Hangul.
        assert_eq!(v["messages"][0]["subject"], "제".repeat(20));
    }

    #[test]
    fn the_signature_is_hex_hmac_of_date_and_salt() {
        let sig = signature("secret", "2019-07-01T00:41:48Z", "jqsba2jxjnrjor");
        assert_eq!(sig.len(), 64);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"2019-07-01T00:41:48Zjqsba2jxjnrjor");
        assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
        let h = authorization("KEY", "secret", "2019-07-01T00:41:48Z", "jqsba2jxjnrjor");
        assert_eq!(
            h,
            format!("HMAC-SHA256 apiKey=KEY, date=2019-07-01T00:41:48Z, salt=jqsba2jxjnrjor, signature={sig}")
        );
    }

    #[test]
    fn answers_map_to_results() {
        let ok: SendManyAnswer = serde_json::from_str(
            r#"{"groupInfo": {"groupId": "G4V1", "count": {"total": 1}}, "failedMessageList": []}"#,
        )
        .unwrap();
        assert_eq!(sent(&ok).unwrap().as_deref(), Some("G4V1"));
        let refused: SendManyAnswer = serde_json::from_str(
            r#"{"groupInfo": {"groupId": "G4V2"}, "failedMessageList": [{"to": "0101", "statusCode": "1062", "statusMessage": "수신번호 형식 오류"}]}"#,
        )
        .unwrap();
        assert_eq!(
            sent(&refused).unwrap_err(),
            SmsError::Refused("수신번호 형식 오류 (Solapi 1062)".into())
        );
        assert!(matches!(error(500, "oops"), SmsError::Unavailable(_)));
        assert!(matches!(
            error(
                400,
                r#"{"errorCode": "SignatureDoesNotMatch", "errorMessage": "bad"}"#
            ),
            SmsError::Rejected(_)
        ));
        assert!(matches!(
            error(
                401,
                r#"{"errorCode": "InvalidApiKey", "errorMessage": "bad"}"#
            ),
            SmsError::Rejected(_)
        ));
        assert_eq!(
            error(
                400,
                r#"{"errorCode": "ValidationError", "errorMessage": "text is required"}"#
            ),
            SmsError::Refused("text is required (Solapi ValidationError)".into())
        );
    }
}
