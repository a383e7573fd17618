//! Settlement (정산) of a day or a month: per card company and per rep.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementRow {
    /// Card company code, or rep id, depending on the table.
    pub key: String,
    pub name: String,
    pub approved_count: u64,
    pub approved_amount: i64,
    /// Refunds made that day (whole or partial; a payment refunded in parts counts each).
    pub refunded_count: u64,
    /// KRW refunded that day, by the refunds' amounts.
    pub refunded_amount: i64,
    /// `approved_amount - refunded_amount`.
    pub net_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettlementReport {
    /// The KST day `YYYY-MM-DD`, or the month `YYYY-MM`.
    pub date: String,
    #[serde(default)]
    pub period: SettlementPeriod,
    pub by_card_company: Vec<SettlementRow>,
    pub by_rep: Vec<SettlementRow>,
    pub total: SettlementRow,
}

/// Whether a settlement covers a day or a month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SettlementPeriod {
    #[default]
    Day,
    Month,
}
