//! CSV import of client accounts and products: every row is checked first, errors name their
//! row (1 = the header line, so data starts at row 2), and nothing is stored unless every row
//! is valid (one transaction).

use std::collections::HashSet;
use std::io::Read;

use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::validate::normalize_business_number;
use serde::Deserialize;

use crate::domain::parse_text;
use crate::store::{NewAccount, NewProduct, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} invalid row(s); nothing was imported:\n{}", .0.len(), .0.iter().map(|e| format!("  row {}: {}: {}", e.row, e.field, e.message)).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
    #[error("the file has no data rows")]
    Empty,
    #[error("cannot read the CSV file: {0}")]
    Read(String),
    #[error("merchant {0} does not exist")]
    NoMerchant(String),
    #[error("storing failed, nothing was imported: {0}")]
    Store(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRow {
    code: String,
    name: String,
    owner_name: String,
    business_number: String,
    phone: String,
    address: String,
    credit_limit: String,
    #[serde(default)]
    rep_login: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductRow {
    code: String,
    name: String,
    unit_price: String,
    #[serde(default)]
    unit: Option<String>,
}

fn check_code(v: &str) -> Result<String, String> {
    let t = v.trim();
    if t.is_empty()
        || t.len() > 32
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("must be 1 to 32 of A-Z a-z 0-9 - _".into());
    }
    Ok(t.to_string())
}

fn check_won(v: &str, max: i64) -> Result<i64, String> {
    let digits: String = v.trim().chars().filter(|c| *c != ',').collect();
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("'{}' is not a whole number of won", v.trim()))?;
    if !(0..=max).contains(&n) {
        return Err(format!("must be between 0 and {max}"));
    }
    Ok(n)
}

fn rows<T: for<'de> Deserialize<'de>>(
    input: impl Read,
    errors: &mut Vec<RowError>,
) -> Result<Vec<(usize, T)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let mut out = Vec::new();
    for (i, rec) in reader.deserialize::<T>().enumerate() {
        let row = i + 2;
        match rec {
            Ok(r) => out.push((row, r)),
            Err(e) => errors.push(RowError {
                row,
                field: "row".into(),
                message: match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
                    _ => e.to_string(),
                },
            }),
        }
    }
    Ok(out)
}

/// The errors of one row, named by field.
struct RowCheck<'a> {
    row: usize,
    errors: &'a mut Vec<RowError>,
}

impl RowCheck<'_> {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            field: field.into(),
            message: message.into(),
        });
    }

    /// The value, or `None` with the field's error recorded.
    fn ok<T>(&mut self, field: &str, checked: Result<T, String>) -> Option<T> {
        checked.map_err(|m| self.err(field, m)).ok()
    }

    fn text(&mut self, field: &str, value: &str, max_chars: usize) -> Option<String> {
        let checked = parse_text(field, value, max_chars).map_err(|e| e.message);
        self.ok(field, checked)
    }
}

/// A CSV row with a `code` column, unique within the file.
trait CodedRow: for<'de> Deserialize<'de> {
    fn code(&self) -> &str;
}

impl CodedRow for AccountRow {
    fn code(&self) -> &str {
        &self.code
    }
}

impl CodedRow for ProductRow {
    fn code(&self) -> &str {
        &self.code
    }
}

/// Reads every row, checks its code (format, not twice in the file) and the rest with
/// `check`, and returns every row's value, or every error of the file and nothing.
fn parse_file<T: CodedRow, V>(
    input: impl Read,
    mut check: impl FnMut(&mut RowCheck<'_>, String, T) -> Option<V>,
) -> Result<Vec<V>, ImportError> {
    let mut errors = Vec::new();
    let parsed = rows::<T>(input, &mut errors)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (row, r) in parsed {
        let mut rc = RowCheck {
            row,
            errors: &mut errors,
        };
        let code = rc.ok("code", check_code(r.code()));
        if let Some(c) = &code {
            if !seen.insert(c.clone()) {
                rc.err("code", format!("{c} appears twice in the file"));
            }
        }
        // The other fields are checked even when the code is bad: every error at once.
        let value = check(&mut rc, code.clone().unwrap_or_default(), r);
        if let (Some(_), Some(v)) = (code, value) {
            out.push(v);
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(ImportError::Rows(errors));
    }
    if out.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(out)
}

/// Parses and checks an accounts CSV (header: `code,name,owner_name,business_number,phone,
/// address,credit_limit[,rep_login]`).
pub fn parse_accounts(
    input: impl Read,
    rep_exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<NewAccount>, ImportError> {
    parse_file(input, |rc, code, r: AccountRow| {
        let name = rc.text("name", &r.name, 100);
        let owner_name = rc.text("owner_name", &r.owner_name, 50);
        let business_number = rc.ok(
            "business_number",
            normalize_business_number(&r.business_number).ok_or_else(|| {
                format!(
                    "'{}' is not a valid business registration number (10 digits, check digit)",
                    r.business_number
                )
            }),
        );
        let phone = rc.ok("phone", Phone::parse(&r.phone).map_err(|e| e.to_string()));
        let address = rc.text("address", &r.address, 200);
        let credit_limit = rc.ok("credit_limit", check_won(&r.credit_limit, 10_000_000_000));
        let rep_login = r.rep_login.filter(|s| !s.trim().is_empty());
        if let Some(l) = &rep_login {
            if !rep_exists(l) {
                rc.err("rep_login", format!("no rep with login {l}"));
            }
        }
        Some(NewAccount {
            code,
            name: name?,
            owner_name: owner_name?,
            business_number: business_number?,
            phone: phone?.digits().into(),
            address: address?,
            credit_limit: credit_limit?,
            rep_login,
        })
    })
}

/// Parses and checks a products CSV (header: `code,name,unit_price[,unit]`).
pub fn parse_products(input: impl Read) -> Result<Vec<NewProduct>, ImportError> {
    parse_file(input, |rc, code, r: ProductRow| {
        let name = rc.text("name", &r.name, 100);
        let unit_price = rc.ok(
            "unit_price",
            check_won(&r.unit_price, fieldpay_protocol::money::MAX_AMOUNT_KRW),
        );
        let unit = match r.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => Some("개".to_string()),
            Some(u) => rc.text("unit", u, 10),
        };
        Some(NewProduct {
            code,
            name: name?,
            unit_price: unit_price?,
            unit: unit?,
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Accounts,
    Products,
}

/// Imports a file for a merchant; all rows or none.
pub fn import(
    store: &dyn Store,
    merchant_code: &str,
    kind: ImportKind,
    input: impl Read,
) -> Result<usize, ImportError> {
    let m = store
        .merchant_by_code(merchant_code)
        .map_err(|e| ImportError::Store(e.to_string()))?
        .ok_or_else(|| ImportError::NoMerchant(merchant_code.into()))?;
    match kind {
        ImportKind::Accounts => {
            let rows = parse_accounts(input, &|login| {
                store.rep_by_login(&m.id, login).ok().flatten().is_some()
            })?;
            store
                .upsert_accounts(&m.id, &rows)
                .map_err(|e| ImportError::Store(e.to_string()))
        }
        ImportKind::Products => {
            let rows = parse_products(input)?;
            store
                .upsert_products(&m.id, &rows)
                .map_err(|e| ImportError::Store(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "code,name,owner_name,business_number,phone,address,credit_limit,rep_login\n";

    #[test]
    fn good_accounts() {
        let csv = format!("{HEADER}A1,익수제약,김민수,220-81-62517,02-123-4567,서울 종로구 1,\"5,000,000\",rep1\n");
        let rows = parse_accounts(csv.as_bytes(), &|l| l == "rep1").unwrap();
        assert_eq!(rows[0].business_number, "2208162517");
        assert_eq!(rows[0].phone, "021234567");
        assert_eq!(rows[0].credit_limit, 5_000_000);
    }

    #[test]
    fn bad_rows_are_numbered() {
        let csv = format!(
            "{HEADER}A1,익수제약,김민수,220-81-62517,02-123-4567,서울,1000,\nA1,녹십자약국,이,220-81-62518,abc,서울,-5,ghost\nA3,x,y,220-81-62517,010-1234-5678,z\n"
        );
        let Err(ImportError::Rows(errs)) = parse_accounts(csv.as_bytes(), &|_| false) else {
            panic!("expected row errors")
        };
        let at = |row: usize, field: &str| errs.iter().any(|e| e.row == row && e.field == field);
        assert!(at(3, "code"), "{errs:?}");
        assert!(at(3, "business_number"));
        assert!(at(3, "phone"));
        assert!(at(3, "credit_limit"));
        assert!(at(3, "rep_login"));
        assert!(at(4, "row"), "short row: {errs:?}");
        assert!(!errs.iter().any(|e| e.row == 2));
    }

    #[test]
    fn products() {
        let ok = parse_products(
            "code,name,unit_price,unit\nP1,타이레놀정 10정,\"3,500\",\nP2,게보린,2000,박스\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok[0].unit, "개");
        assert_eq!(ok[0].unit_price, 3500);
        let Err(ImportError::Rows(errs)) =
            parse_products("code,name,unit_price\nP1,,x\n".as_bytes())
        else {
            panic!()
        };
        assert_eq!(errs.len(), 2);
        assert!(matches!(
            parse_products("code,name,unit_price\n".as_bytes()),
            Err(ImportError::Empty)
        ));
        assert!(matches!(
            parse_products("code,name,bogus\nP1,a,1\n".as_bytes()),
            Err(ImportError::Rows(_))
        ));
    }
}
