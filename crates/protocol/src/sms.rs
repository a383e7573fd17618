//! Text messages (문자) the server sends: what kind each is and where it stands.

use serde::{Deserialize, Serialize};

/// Why a text is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SmsKind {
    /// The bill (결제 요청) with the virtual ARS number.
    Bill,
    /// The sales slip (매출전표) after approval.
    Slip,
    /// A notice, e.g. a refund.
    Notice,
    /// The receipt (수금 영수증) of a cash, transfer or note collection.
    Receipt,
    /// A purchase order's PDF link or a receipt link, sent by the rep from the order screen.
    Share,
}

/// Where a text stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SmsStatus {
    /// Waiting to be sent (or to be tried again).
    Pending,
    Sent,
    /// Given up after the last attempt.
    Failed,
}

text_names!(SmsKind { Bill => "bill", Slip => "slip", Notice => "notice", Receipt => "receipt", Share => "share" });
text_names!(SmsStatus { Pending => "pending", Sent => "sent", Failed => "failed" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for k in SmsKind::ALL {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
            assert_eq!(SmsKind::parse(k.as_str()), Some(k));
        }
        for s in SmsStatus::ALL {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
            assert_eq!(SmsStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SmsKind::parse("spam"), None);
    }
}
