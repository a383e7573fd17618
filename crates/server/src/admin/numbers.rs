//! Virtual numbers as an operator writes them: `1600-0010`, lists (`1600-0010, 1600-0012`)
//! and ranges (`1600-0010..1600-0019`).

use std::collections::BTreeSet;

use fieldpay_protocol::phone::{Phone, PhoneKind};

use super::{AdminError, AdminResult};

/// The most numbers one call adds.
pub const MAX_NUMBERS: usize = 1000;

fn number(input: &str) -> AdminResult<Phone> {
    let p = Phone::parse(input).map_err(|e| AdminError::Phone {
        field: "numbers".into(),
        input: input.into(),
        why: e.to_string(),
    })?;
    if p.kind() == PhoneKind::Mobile {
        return Err(AdminError::Phone {
            field: "numbers".into(),
            input: input.into(),
            why: "a mobile number cannot be a virtual ARS number".into(),
        });
    }
    Ok(p)
}

/// Parses numbers and ranges (entries separated by commas or spaces, or given one an item)
/// into national digits, in the order given. Each is checked as a Korean number (not a
/// mobile one); a number given twice (overlapping ranges) is refused.
pub fn parse_numbers(inputs: &[String]) -> AdminResult<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let entries = inputs
        .iter()
        .flat_map(|i| i.split([',', ' ', '\n', '\t']))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    for entry in entries {
        let found: Vec<String> = match entry.split_once("..") {
            Some((from, to)) => {
                let (a, b) = (number(from)?, number(to)?);
                let (da, db) = (a.digits(), b.digits());
                let (Ok(x), Ok(y)) = (da.parse::<u64>(), db.parse::<u64>()) else {
                    return Err(AdminError::invalid(
                        "numbers",
                        format!("{entry}: not a range"),
                    ));
                };
                if da.len() != db.len() || y < x {
                    return Err(AdminError::invalid(
                        "numbers",
                        format!(
                            "{entry}: a range goes from a number to a larger one of as many digits"
                        ),
                    ));
                }
                if (y - x) as usize >= MAX_NUMBERS {
                    return Err(AdminError::invalid(
                        "numbers",
                        format!("{entry}: at most {MAX_NUMBERS} numbers at once"),
                    ));
                }
                let width = da.len();
                (x..=y)
                    .map(|n| {
                        let digits = format!("{n:0width$}");
                        number(&digits).map(|p| p.digits().to_string())
                    })
                    .collect::<AdminResult<_>>()?
            }
            None => vec![number(entry)?.digits().to_string()],
        };
        for n in found {
            if !seen.insert(n.clone()) {
                return Err(AdminError::invalid(
                    "numbers",
                    format!(
                        "{} is given twice (the ranges overlap)",
                        Phone::parse(&n).map(|p| p.display()).unwrap_or(n)
                    ),
                ));
            }
            out.push(n);
        }
        if out.len() > MAX_NUMBERS {
            return Err(AdminError::invalid(
                "numbers",
                format!("at most {MAX_NUMBERS} numbers at once"),
            ));
        }
    }
    if out.is_empty() {
        return Err(AdminError::invalid("numbers", "no number given"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> AdminResult<Vec<String>> {
        parse_numbers(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn ranges_and_lists() {
        let n = parse(&["1600-0010..1600-0013", "1600-0020, 1588-1234"]).unwrap();
        assert_eq!(
            n,
            ["16000010", "16000011", "16000012", "16000013", "16000020", "15881234"]
        );
        assert_eq!(parse(&["02-1234-5678"]).unwrap(), ["0212345678"]);
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            &["1600-0010..1600-0012", "1600-0012"][..],
            &["1600-0019..1600-0010"],
            &["010-1234-5678"],
            &["12"],
            &["1600-00x0"],
            &[""],
            &["1600-0000..1600-9999"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse(&["1600-0010..1600-0012", "1600-0011"]),
            Err(AdminError::Invalid { .. })
        ));
        assert!(matches!(
            parse(&["1600-00x0"]),
            Err(AdminError::Phone { .. })
        ));
    }
}
