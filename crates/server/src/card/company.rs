//! The nine Korean card companies, with the sandbox network's issuer codes, acquirer codes and
//! BIN (first six digits) table.
//!
//! The codes and BINs here are the **sandbox network's** values. Real VANs/PGs each have their
//! own issuer/acquirer code tables and BIN files; a real connector maps its codes onto
//! [`CardCompany`] itself. Some sandbox BINs resemble live ones, but this table is not a
//! statement about which live BIN belongs to which issuer. Each BIN maps to exactly one company.
//!
//! | company | 한국어 | issuer code | acquirer code | sandbox BINs |
//! |---|---|---|---|---|
//! | `bc` | BC카드 | 01 | 11 | 940100, 940101 |
//! | `kb` | KB국민카드 | 02 | 12 | 457973, 540926 |
//! | `samsung` | 삼성카드 | 03 | 13 | 531070, 451245 |
//! | `shinhan` | 신한카드 | 04 | 14 | 451842, 540447 |
//! | `hyundai` | 현대카드 | 05 | 15 | 433290, 515594 |
//! | `lotte` | 롯데카드 | 06 | 16 | 467309, 540159 |
//! | `hana` | 하나카드 | 07 | 17 | 465887, 524040 |
//! | `woori` | 우리카드 | 08 | 18 | 536181, 949019 |
//! | `nh` | NH농협카드 | 09 | 19 | 546112, 944116 |

use serde::{Deserialize, Serialize};

/// A Korean card company (카드사). Serialized in snake_case (`bc`, `kb`, `samsung`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardCompany {
    Bc,
    Kb,
    Samsung,
    Shinhan,
    Hyundai,
    Lotte,
    Hana,
    Woori,
    Nh,
}

/// The sandbox BIN table: (BIN, company). Each BIN appears once.
pub const BIN_TABLE: &[(&str, CardCompany)] = &[
    ("940100", CardCompany::Bc),
    ("940101", CardCompany::Bc),
    ("457973", CardCompany::Kb),
    ("540926", CardCompany::Kb),
    ("531070", CardCompany::Samsung),
    ("451245", CardCompany::Samsung),
    ("451842", CardCompany::Shinhan),
    ("540447", CardCompany::Shinhan),
    ("433290", CardCompany::Hyundai),
    ("515594", CardCompany::Hyundai),
    ("467309", CardCompany::Lotte),
    ("540159", CardCompany::Lotte),
    ("465887", CardCompany::Hana),
    ("524040", CardCompany::Hana),
    ("536181", CardCompany::Woori),
    ("949019", CardCompany::Woori),
    ("546112", CardCompany::Nh),
    ("944116", CardCompany::Nh),
];

impl CardCompany {
    /// All nine, in a fixed order (the order of their issuer codes).
    pub fn all() -> [CardCompany; 9] {
        use CardCompany::*;
        [Bc, Kb, Samsung, Shinhan, Hyundai, Lotte, Hana, Woori, Nh]
    }

    /// The 2-digit issuer (발급사) code of the sandbox network.
    pub fn code(&self) -> &'static str {
        match self {
            CardCompany::Bc => "01",
            CardCompany::Kb => "02",
            CardCompany::Samsung => "03",
            CardCompany::Shinhan => "04",
            CardCompany::Hyundai => "05",
            CardCompany::Lotte => "06",
            CardCompany::Hana => "07",
            CardCompany::Woori => "08",
            CardCompany::Nh => "09",
        }
    }

    /// The 2-digit acquirer (매입사) code of the sandbox network. In the sandbox every company
    /// acquires its own cards.
    pub fn acquirer_code(&self) -> &'static str {
        match self {
            CardCompany::Bc => "11",
            CardCompany::Kb => "12",
            CardCompany::Samsung => "13",
            CardCompany::Shinhan => "14",
            CardCompany::Hyundai => "15",
            CardCompany::Lotte => "16",
            CardCompany::Hana => "17",
            CardCompany::Woori => "18",
            CardCompany::Nh => "19",
        }
    }

    /// The snake_case name, the same as its serde form.
    pub fn as_str(&self) -> &'static str {
        match self {
            CardCompany::Bc => "bc",
            CardCompany::Kb => "kb",
            CardCompany::Samsung => "samsung",
            CardCompany::Shinhan => "shinhan",
            CardCompany::Hyundai => "hyundai",
            CardCompany::Lotte => "lotte",
            CardCompany::Hana => "hana",
            CardCompany::Woori => "woori",
            CardCompany::Nh => "nh",
        }
    }

    /// The Korean name as printed on slips and read by the IVR.
    pub fn name_ko(&self) -> &'static str {
        match self {
            CardCompany::Bc => "BC카드",
            CardCompany::Kb => "KB국민카드",
            CardCompany::Samsung => "삼성카드",
            CardCompany::Shinhan => "신한카드",
            CardCompany::Hyundai => "현대카드",
            CardCompany::Lotte => "롯데카드",
            CardCompany::Hana => "하나카드",
            CardCompany::Woori => "우리카드",
            CardCompany::Nh => "NH농협카드",
        }
    }

    /// The English name.
    pub fn name_en(&self) -> &'static str {
        match self {
            CardCompany::Bc => "BC Card",
            CardCompany::Kb => "KB Kookmin Card",
            CardCompany::Samsung => "Samsung Card",
            CardCompany::Shinhan => "Shinhan Card",
            CardCompany::Hyundai => "Hyundai Card",
            CardCompany::Lotte => "Lotte Card",
            CardCompany::Hana => "Hana Card",
            CardCompany::Woori => "Woori Card",
            CardCompany::Nh => "NH NongHyup Card",
        }
    }

    /// The company with this 2-digit issuer code ([`CardCompany::code`]).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::all().into_iter().find(|c| c.code() == code)
    }

    /// The company with this snake_case name ([`CardCompany::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|c| c.as_str() == name)
    }

    /// The company that issues cards starting with this BIN. Only the first six characters
    /// are looked at, so a full card number may be passed (nothing is kept).
    pub fn from_bin(bin6: &str) -> Option<Self> {
        let bin = bin6.get(..6)?;
        BIN_TABLE
            .iter()
            .find(|(b, _)| *b == bin)
            .map(|(_, company)| *company)
    }

    /// The sandbox BINs of this company.
    pub fn bins(&self) -> impl Iterator<Item = &'static str> + '_ {
        BIN_TABLE
            .iter()
            .filter(move |(_, c)| c == self)
            .map(|(b, _)| *b)
    }
}

impl std::fmt::Display for CardCompany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name_ko())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut codes = HashSet::new();
        let mut acquirers = HashSet::new();
        for c in CardCompany::all() {
            assert!(codes.insert(c.code()));
            assert!(acquirers.insert(c.acquirer_code()));
            assert_eq!(c.code().len(), 2);
            assert_eq!(c.acquirer_code().len(), 2);
            assert_eq!(CardCompany::from_code(c.code()), Some(c));
            assert_eq!(CardCompany::from_name(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<CardCompany>(&json).unwrap(), c);
        }
        assert_eq!(CardCompany::from_code("99"), None);
    }

    #[test]
    fn korean_names() {
        let names: Vec<_> = CardCompany::all().iter().map(|c| c.name_ko()).collect();
        assert_eq!(
            names,
            [
                "BC카드",
                "KB국민카드",
                "삼성카드",
                "신한카드",
                "현대카드",
                "롯데카드",
                "하나카드",
                "우리카드",
                "NH농협카드"
            ]
        );
    }

    #[test]
    fn bin_table_is_one_to_one_and_covers_all() {
        let mut seen = HashSet::new();
        for (bin, company) in BIN_TABLE {
            assert_eq!(bin.len(), 6);
            assert!(bin.bytes().all(|b| b.is_ascii_digit()));
            assert!(seen.insert(*bin), "BIN {bin} listed twice");
            assert_eq!(CardCompany::from_bin(bin), Some(*company));
        }
        for c in CardCompany::all() {
            assert!(c.bins().count() >= 1, "{c:?} has no BIN");
        }
        assert_eq!(
            CardCompany::from_bin("4579730000000013"),
            Some(CardCompany::Kb)
        );
        assert_eq!(CardCompany::from_bin("12345"), None);
        assert_eq!(CardCompany::from_bin("123456"), None);
    }
}
