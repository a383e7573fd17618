//! The boundary to a text-message provider, and the sandbox sink.
//!
//! A sender takes one [`OutgoingSms`] and answers [`SentSms`] (the provider took it) or an
//! [`SmsError`] that says whether trying again later can help ([`SmsError::retryable`]) and
//! carries the provider's reason (never a secret: credentials are never put in an error).
//! Texts never contain card data (the bill holds the amount, the goods and the virtual
//! number; the slip the masked card only).

use std::sync::Arc;

use async_trait::async_trait;

/// One text to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingSms<'a> {
    /// The recipient in E.164 (`+821012345678`).
    pub to_e164: &'a str,
    pub body: &'a str,
    /// The subject of a long text (LMS), for providers that have one; a sender that needs a
    /// subject and gets none uses its default.
    pub subject: Option<&'a str>,
}

/// A text the provider took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The provider's id of the message (Solapi `messageId`, NHN `requestId`, Twilio `sid`).
    pub provider_id: Option<String>,
}

/// Why a text was not sent.
///
/// What is tried again (the outbox's [`crate::sms::RETRY_SCHEDULE`]):
/// - [`SmsError::Unavailable`]: the provider was not reached, did not answer in time, or
///   answered 5xx / 429. Trying again later can help. (A timeout after the request was sent
///   may mean the text was sent: a retry may deliver it twice; a duplicate bill is harmless,
///   a lost one is not.)
/// - [`SmsError::Rejected`]: the provider refused our credentials or our account (bad key,
///   signature, sender number not registered, balance used up). Nothing about the text is
///   wrong: it is tried again on the schedule, so an operator who fixes the account within it
///   loses no text; after the schedule it is given up.
///
/// What is not tried again:
/// - [`SmsError::Refused`]: the provider refused this text: the number (invalid, blocked,
///   spam-listed) or the content (too long, characters it cannot send). The same text to the
///   same number would be refused again: it is given up at once, the charge shows why, and
///   the rep can correct the number and send the bill again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("SMS provider unreachable: {0}")]
    Unavailable(String),
    #[error("SMS provider refused our account: {0}")]
    Rejected(String),
    #[error("SMS provider refused the message: {0}")]
    Refused(String),
}

impl SmsError {
    /// Whether trying again later can help.
    pub fn retryable(&self) -> bool {
        !matches!(self, SmsError::Refused(_))
    }

    /// The provider's reason, as the charge timeline shows it.
    pub fn reason(&self) -> &str {
        match self {
            SmsError::Unavailable(r) | SmsError::Rejected(r) | SmsError::Refused(r) => r,
        }
    }
}

#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn send(&self, sms: &OutgoingSms<'_>) -> Result<SentSms, SmsError>;
}

/// The sandbox sink: texts go nowhere but the SMS log, where the sandbox phone reads them.
pub struct SandboxSms;

#[async_trait]
impl SmsSender for SandboxSms {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    async fn send(&self, _sms: &OutgoingSms<'_>) -> Result<SentSms, SmsError> {
        Ok(SentSms { provider_id: None })
    }
}

pub fn sandbox() -> Arc<dyn SmsSender> {
    Arc::new(SandboxSms)
}

/// A reason from a provider made safe to store and show: one line, printable, bounded.
pub(crate) fn clean_reason(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    let mut out: String = trimmed.chars().take(200).collect();
    if out.is_empty() {
        out.push_str("(no reason given)");
    }
    out
}

/// The HTTP status and a short piece of a body the provider answered unexpectedly.
pub(crate) fn unexpected(provider: &str, status: u16, body: &str) -> String {
    format!(
        "{provider} answered HTTP {status}: {}",
        clean_reason(&body.chars().take(120).collect::<String>())
    )
}

/// Maps a transport failure (no answer) to an [`SmsError`]. reqwest's error text may contain
/// the URL (with NHN's app key in its path): only the kind of failure is kept.
pub(crate) fn transport_error(provider: &str, e: &reqwest::Error) -> SmsError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "answer unreadable"
    } else {
        "request failed"
    };
    SmsError::Unavailable(format!("{provider}: {what}"))
}

/// The text of a message as it goes over the air in Korea: KS X 1001 (EUC-KR; providers count
/// in it). Characters it cannot hold are counted as the 2-byte replacement providers send, so
/// the count never under-estimates.
pub fn euc_kr_len(s: &str) -> usize {
    let (bytes, _, had_errors) = encoding_rs::EUC_KR.encode(s);
    if !had_errors {
        return bytes.len();
    }
    // Unmappable characters come out as HTML numeric references (`&#NNNNN;`): count each as 2.
    s.chars()
        .map(|c| {
            let mut buf = [0u8; 4];
            let (b, _, err) = encoding_rs::EUC_KR.encode(c.encode_utf8(&mut buf));
            if err {
                2
            } else {
                b.len()
            }
        })
        .sum()
}

/// Whether every character of `s` can be sent as EUC-KR (KS X 1001). Emoji and some Hanja or
/// symbols cannot: Korean providers refuse or mangle them.
pub fn euc_kr_clean(s: &str) -> bool {
    !encoding_rs::EUC_KR.encode(s).2
}

/// A Korean number's national digits from E.164 (`+821012345678` -> `01012345678`,
/// `+8216000012` -> `16000012`); None for a number abroad.
pub fn korean_national(to_e164: &str) -> Option<String> {
    if !to_e164.starts_with("+82") {
        return None;
    }
    fieldpay_protocol::phone::Phone::parse(to_e164)
        .ok()
        .map(|p| p.digits().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euc_kr_counts_hangul_as_two_bytes() {
        assert_eq!(euc_kr_len("abc"), 3);
        assert_eq!(euc_kr_len("가나다"), 6);
        assert_eq!(euc_kr_len("결제 1,000원"), 12);
        // An emoji has no EUC-KR form: counted as 2, and flagged.
        assert_eq!(euc_kr_len("a😀"), 3);
        assert!(!euc_kr_clean("a😀"));
        assert!(euc_kr_clean("가a"));
    }

    #[test]
    fn national_numbers() {
        assert_eq!(korean_national("+821012345678").unwrap(), "01012345678");
        assert_eq!(korean_national("+8216000012").unwrap(), "16000012");
        assert!(korean_national("+14155550100").is_none());
        assert!(korean_national("+82").is_none());
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(clean_reason(" a\nb\t"), "a b");
        assert_eq!(clean_reason(""), "(no reason given)");
        assert_eq!(clean_reason(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn only_refusals_are_final() {
        assert!(SmsError::Unavailable("t".into()).retryable());
        assert!(SmsError::Rejected("auth".into()).retryable());
        assert!(!SmsError::Refused("number".into()).retryable());
    }
}
