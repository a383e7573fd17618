//! Collections other than card (현금·계좌이체·어음 수금): a rep records money received from a
//! client against its receivables, in the field and offline; the device chooses the id, which
//! is also the idempotency key of its mutation. A manager may void one (an offsetting ledger
//! entry; nothing is deleted).

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// How the money was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// 현금.
    Cash,
    /// 계좌이체.
    Transfer,
    /// 어음 (a promissory note: number, issuer bank, due date).
    Note,
}

text_names!(CollectionMethod {
    Cash => "cash",
    Transfer => "transfer",
    Note => "note",
});

impl CollectionMethod {
    /// The Korean name (receipts, ledger memos, the closing).
    pub fn label_ko(self) -> &'static str {
        match self {
            CollectionMethod::Cash => "현금",
            CollectionMethod::Transfer => "계좌이체",
            CollectionMethod::Note => "어음",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CollectionMethod::Cash => "Cash",
            CollectionMethod::Transfer => "Bank transfer",
            CollectionMethod::Note => "Promissory note",
        }
    }
}

/// A promissory note (어음) received as payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromissoryNote {
    /// The note's number as printed (어음번호).
    pub number: String,
    /// The paying bank (지급은행).
    pub issuer_bank: String,
    /// The due date (만기일), `YYYY-MM-DD`.
    pub due_date: String,
}

/// Who voided a collection, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionVoid {
    pub reason: String,
    pub at: String,
    /// The manager's rep id.
    pub by: String,
}

/// A recorded collection as it travels to devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Collection {
    /// Chosen by the device (8 to 64 of A-Z a-z 0-9 _ -).
    pub id: String,
    pub account_id: String,
    pub rep_id: Option<String>,
    pub method: CollectionMethod,
    /// KRW, more than 0.
    pub amount: i64,
    pub memo: String,
    /// Only for [`CollectionMethod::Note`].
    pub note: Option<PromissoryNote>,
    /// When the rep received the money (device time, RFC 3339).
    pub collected_at: String,
    /// When the server recorded it (the device's own time until then).
    pub recorded_at: String,
    pub voided: Option<CollectionVoid>,
}

/// A collection as the device records it (the body of the `record_collection` mutation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CollectionInput {
    pub collection_id: String,
    pub account_id: String,
    pub method: CollectionMethod,
    pub amount: i64,
    #[serde(default)]
    pub memo: String,
    #[serde(default)]
    pub note: Option<PromissoryNote>,
    /// RFC 3339.
    pub collected_at: String,
}

/// The body of `POST /v1/manager/collections/{id}/void`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VoidCollection {
    /// Why (1 to 200 characters).
    pub reason: String,
}

/// The largest memo of a collection (characters).
pub const MAX_MEMO: usize = 200;
/// The largest void reason (characters).
pub const MAX_REASON: usize = 200;

fn invalid(code: ErrorCode, field: &str, msg: &str) -> ApiError {
    ApiError::new(code, format!("{field}: {msg}"))
}

/// A one-line text of at most `max` characters, trimmed; `empty_ok`: may be empty.
pub fn check_text(field: &str, v: &str, max: usize, empty_ok: bool) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() && !empty_ok {
        return Err(invalid(
            ErrorCode::InvalidField,
            field,
            "필수 항목입니다 (must not be empty)",
        ));
    }
    if t.chars().count() > max {
        return Err(invalid(
            ErrorCode::InvalidField,
            field,
            &format!("{max}자 이하로 입력하세요 (at most {max} characters)"),
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(invalid(
            ErrorCode::InvalidField,
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

/// `YYYY-MM-DD` as (year, month, day) when it is a calendar date.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, m, d) = (digits(0..4)? as i32, digits(5..7)?, digits(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
}

/// Checks a collection's fields (not its time, nor its account: see the callers) and gives it
/// back trimmed. `collected_day`: the KST day (`YYYY-MM-DD`) it was collected; a note falls
/// due on that day or within the year after it.
pub fn check_input(
    input: &CollectionInput,
    collected_day: &str,
) -> Result<CollectionInput, ApiError> {
    if input.amount <= 0 {
        return Err(invalid(
            ErrorCode::InvalidAmount,
            "amount",
            "수금액은 0원보다 커야 합니다 (must be more than 0)",
        ));
    }
    if input.amount > crate::money::MAX_AMOUNT_KRW {
        return Err(invalid(
            ErrorCode::InvalidAmount,
            "amount",
            "수금액은 1억원 이하입니다 (at most 100,000,000 KRW)",
        ));
    }
    let memo = check_text("memo", &input.memo, MAX_MEMO, true)?;
    let note = match (input.method, &input.note) {
        (CollectionMethod::Note, None) => return Err(invalid(
            ErrorCode::InvalidField,
            "note",
            "어음 번호, 지급은행, 만기일이 필요합니다 (a note needs its number, bank and due date)",
        )),
        (CollectionMethod::Note, Some(n)) => {
            let number = check_text("note.number", &n.number, 30, false)?;
            if !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(invalid(
                    ErrorCode::InvalidField,
                    "note.number",
                    "영문, 숫자, - 만 쓸 수 있습니다 (letters, digits and - only)",
                ));
            }
            let issuer_bank = check_text("note.issuer_bank", &n.issuer_bank, 30, false)?;
            let due = n.due_date.trim();
            if parse_date(due).is_none() {
                return Err(invalid(
                    ErrorCode::InvalidField,
                    "note.due_date",
                    "만기일은 YYYY-MM-DD 형식의 날짜입니다 (a date, YYYY-MM-DD)",
                ));
            }
            let until = match parse_date(collected_day) {
                Some((cy, _, _)) => format!("{:04}{}", cy + 1, &collected_day[4..]),
                None => "9999-12-31".into(),
            };
            if due < collected_day || due > until.as_str() {
                return Err(invalid(
                    ErrorCode::InvalidField,
                    "note.due_date",
                    "만기일은 수금일부터 1년 안이어야 합니다 (due on the day of collection or within a year after it)",
                ));
            }
            Some(PromissoryNote {
                number,
                issuer_bank,
                due_date: due.to_string(),
            })
        }
        (_, Some(_)) => {
            return Err(invalid(
                ErrorCode::InvalidField,
                "note",
                "어음 정보는 어음 수금에만 씁니다 (only for a note)",
            ))
        }
        (_, None) => None,
    };
    Ok(CollectionInput {
        collection_id: input.collection_id.trim().to_string(),
        account_id: input.account_id.clone(),
        method: input.method,
        amount: input.amount,
        memo,
        note,
        collected_at: input.collected_at.trim().to_string(),
    })
}

/// Collections of one method: how many and how much (voided ones left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MethodTotal {
    pub method: CollectionMethod,
    pub count: u32,
    pub amount: i64,
}

/// Subtotals per method (in [`CollectionMethod::ALL`] order, methods without collections left
/// out) of the collections that are not voided.
pub fn totals_by_method<'a>(list: impl IntoIterator<Item = &'a Collection>) -> Vec<MethodTotal> {
    let mut by: Vec<MethodTotal> = CollectionMethod::ALL
        .iter()
        .map(|m| MethodTotal {
            method: *m,
            count: 0,
            amount: 0,
        })
        .collect();
    for c in list {
        if c.voided.is_some() {
            continue;
        }
        if let Some(t) = by.iter_mut().find(|t| t.method == c.method) {
            t.count += 1;
            t.amount += c.amount;
        }
    }
    by.retain(|t| t.count > 0);
    by
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        method: CollectionMethod,
        amount: i64,
        note: Option<PromissoryNote>,
    ) -> CollectionInput {
        CollectionInput {
            collection_id: "col_12345678".into(),
            account_id: "acc_1".into(),
            method,
            amount,
            memo: " 1월분 ".into(),
            note,
            collected_at: "2026-12-04T01:00:00Z".into(),
        }
    }

    fn note(due: &str) -> Option<PromissoryNote> {
        Some(PromissoryNote {
            number: "AB-1234".into(),
            issuer_bank: "국민은행".into(),
            due_date: due.into(),
        })
    }

    #[test]
    fn names_match_serde() {
        for m in CollectionMethod::ALL {
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
            assert_eq!(CollectionMethod::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn checks() {
        let day = "2026-12-04";
        let ok = check_input(&input(CollectionMethod::Cash, 50_000, None), day).unwrap();
        assert_eq!(ok.memo, "1월분");
        for bad in [0, -1, 100_000_001] {
            let e = check_input(&input(CollectionMethod::Cash, bad, None), day).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidAmount, "{bad}");
        }
        let e = check_input(&input(CollectionMethod::Note, 1, None), day).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidField);
        let e =
            check_input(&input(CollectionMethod::Cash, 1, note("2027-01-01")), day).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidField);
        assert!(check_input(&input(CollectionMethod::Note, 1, note("2027-01-01")), day).is_ok());
        assert!(check_input(&input(CollectionMethod::Note, 1, note("2027-12-04")), day).is_ok());
        for bad in ["2027-12-05", "2026-12-03", "2027-02-30", "27-01-01", ""] {
            let e = check_input(&input(CollectionMethod::Note, 1, note(bad)), day).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidField, "{bad}");
        }
        let mut long = input(CollectionMethod::Transfer, 1, None);
        long.memo = "가".repeat(201);
        assert!(check_input(&long, day).is_err());
    }

    #[test]
    fn subtotals() {
        let c = |method, amount, voided: bool| Collection {
            id: "c".into(),
            account_id: "a".into(),
            rep_id: None,
            method,
            amount,
            memo: String::new(),
            note: None,
            collected_at: String::new(),
            recorded_at: String::new(),
            voided: voided.then(|| CollectionVoid {
                reason: "x".into(),
                at: String::new(),
                by: String::new(),
            }),
        };
        let list = [
            c(CollectionMethod::Note, 5, false),
            c(CollectionMethod::Cash, 10, false),
            c(CollectionMethod::Cash, 20, false),
            c(CollectionMethod::Transfer, 99, true),
        ];
        assert_eq!(
            totals_by_method(&list),
            vec![
                MethodTotal {
                    method: CollectionMethod::Cash,
                    count: 2,
                    amount: 30
                },
                MethodTotal {
                    method: CollectionMethod::Note,
                    count: 1,
                    amount: 5
                },
            ]
        );
    }
}
