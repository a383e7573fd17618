//! KRW amounts: whole won, thousands separators.

/// Largest amount a single charge or order may carry (1억 원). Above it the API refuses.
pub const MAX_AMOUNT_KRW: i64 = 100_000_000;

/// Installments (할부) are offered only from this amount up (Korean card rule).
pub const INSTALLMENT_MIN_KRW: i64 = 50_000;

/// `1234567` -> `1,234,567` (negative amounts keep their sign).
pub fn group_thousands(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if amount < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1234567` -> `1,234,567원`.
pub fn format_krw(amount: i64) -> String {
    format!("{}원", group_thousands(amount))
}

/// VAT (부가세) included in a supply amount: 10%, rounded down to the won
/// (the rule used for purchase orders and charges: `vat = floor(supply / 10)`).
pub fn vat_of_supply(supply: i64) -> i64 {
    supply.div_euclid(10)
}

/// A total that includes VAT split into (supply, VAT), as card slips print it: the VAT is
/// `floor(total / 11)`, the supply the rest (`55,000` -> `50,000 + 5,000`, `10,000` ->
/// `9,091 + 909`). The inverse of [`vat_of_supply`]: an order's total splits back into its
/// own supply and VAT.
pub fn supply_and_vat_of_total(total: i64) -> (i64, i64) {
    let vat = total.div_euclid(11);
    (total - vat, vat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_krw(0), "0원");
        assert_eq!(format_krw(999), "999원");
        assert_eq!(format_krw(1000), "1,000원");
        assert_eq!(format_krw(1_234_567), "1,234,567원");
        assert_eq!(format_krw(-50_000), "-50,000원");
        assert_eq!(vat_of_supply(12_345), 1_234);
        assert_eq!(supply_and_vat_of_total(55_000), (50_000, 5_000));
        assert_eq!(supply_and_vat_of_total(10_000), (9_091, 909));
        assert_eq!(supply_and_vat_of_total(0), (0, 0));
        assert_eq!(supply_and_vat_of_total(1), (1, 0));
        // Every total an order can have (supply + floor(supply / 10)) splits back into it.
        for supply in 0..5_000 {
            let total = supply + vat_of_supply(supply);
            assert_eq!(
                supply_and_vat_of_total(total),
                (supply, vat_of_supply(supply)),
                "{total}"
            );
        }
    }
}
