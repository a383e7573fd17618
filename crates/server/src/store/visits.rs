//! Visits (방문 기록): a rep's check-ins at client accounts, with an optional location and
//! note, and their check-outs. Written by the device's `CheckIn` / `CheckOut` mutations; read
//! by the manager per KST day and rep.

use chrono::{DateTime, Utc};
use fieldpay_protocol::visit::{GeoPoint, Visit};
use fieldpay_protocol::{AccountId, ErrorCode, MerchantId, RepId};

use super::{StoreError, StoreResult};

/// A check-in, checked by the route (coordinates, note, time) before it reaches the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    pub id: String,
    pub account_id: AccountId,
    pub rep_id: RepId,
    pub at: DateTime<Utc>,
    pub location: Option<GeoPoint>,
    pub note: String,
}

pub trait VisitStore {
    /// Records a check-in. Refused (nothing stored): an account the merchant does not have
    /// (`not_found`), an account assigned to another rep when `only_own` (`forbidden`), an id
    /// already used for a different visit (`conflict`). The same visit again answers the
    /// stored one.
    fn check_in(
        &self,
        merchant_id: &MerchantId,
        visit: &NewVisit,
        only_own: bool,
    ) -> StoreResult<Visit>;
    /// Records the check-out of the rep's own visit. Refused: an unknown visit or another
    /// rep's (`not_found`), a time before the check-in (`invalid_field`), a visit already
    /// checked out at another time (`invalid_state`).
    fn check_out(
        &self,
        merchant_id: &MerchantId,
        rep_id: &RepId,
        visit_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Visit>;
    /// The merchant's visits checked in within `[from, to)`, of one rep or all, oldest first,
    /// with account and rep names.
    fn visits(
        &self,
        merchant_id: &MerchantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rep: Option<&RepId>,
    ) -> StoreResult<Vec<Visit>>;
}

/// The columns both stores read a visit from, in [`RawVisit`]'s order (`v` visits, `a`
/// accounts, `r` reps).
pub(crate) const VISIT_COLS: &str = "v.id, v.account_id, COALESCE(a.name, ''), v.rep_id, COALESCE(r.name, ''), v.checked_in_at, v.checked_out_at, v.lat, v.lng, v.accuracy_m, v.note";
pub(crate) const VISIT_FROM: &str = "visits v
    LEFT JOIN accounts a ON a.merchant_id = v.merchant_id AND a.id = v.account_id
    LEFT JOIN reps r ON r.merchant_id = v.merchant_id AND r.id = v.rep_id";

/// A visit row as either store reads it.
pub(crate) struct RawVisit {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub rep_id: String,
    pub rep_name: String,
    pub checked_in_at: String,
    pub checked_out_at: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub note: String,
}

impl RawVisit {
    pub(crate) fn visit(self) -> Visit {
        let location = match (self.lat, self.lng) {
            (Some(lat), Some(lng)) => Some(GeoPoint {
                lat,
                lng,
                accuracy_m: self.accuracy_m,
            }),
            _ => None,
        };
        Visit {
            id: self.id,
            account_id: self.account_id,
            account_name: self.account_name,
            rep_id: self.rep_id,
            rep_name: self.rep_name,
            checked_in_at: self.checked_in_at,
            checked_out_at: self.checked_out_at,
            location,
            note: self.note,
        }
    }
}

/// The check-in rule on the account's row: `None` when the merchant has no such account;
/// `Some(rep)` its assigned rep.
pub(crate) fn check_account(
    account: Option<Option<String>>,
    rep_id: &RepId,
    only_own: bool,
) -> StoreResult<()> {
    match account {
        None => Err(StoreError::rejected(
            ErrorCode::NotFound,
            "거래처를 찾을 수 없습니다 (account not found)",
        )),
        Some(Some(owner)) if only_own && owner != rep_id.as_str() => Err(StoreError::rejected(
            ErrorCode::Forbidden,
            "다른 담당자의 거래처입니다 (the account is another rep's)",
        )),
        Some(_) => Ok(()),
    }
}

/// Whether a stored visit is the same check-in again (a retry under another client id).
pub(crate) fn same_check_in(stored: &Visit, new: &NewVisit) -> StoreResult<()> {
    let same = stored.account_id == new.account_id.as_str()
        && stored.rep_id == new.rep_id.as_str()
        && crate::clock::ts(new.at) == stored.checked_in_at
        && stored.note == new.note
        && stored.location == new.location;
    if same {
        Ok(())
    } else {
        Err(StoreError::rejected(
            ErrorCode::Conflict,
            "이미 다른 방문에 쓰인 번호입니다 (the visit id is taken)",
        ))
    }
}

/// The check-out rule on the stored visit.
pub(crate) fn check_out_rule(
    stored: Option<&Visit>,
    rep_id: &RepId,
    at: &str,
) -> StoreResult<bool> {
    let Some(v) = stored.filter(|v| v.rep_id == rep_id.as_str()) else {
        return Err(StoreError::rejected(
            ErrorCode::NotFound,
            "방문 기록을 찾을 수 없습니다 (visit not found)",
        ));
    };
    if at < v.checked_in_at.as_str() {
        return Err(StoreError::rejected(
            ErrorCode::InvalidField,
            "at: 체크아웃은 체크인 이후여야 합니다 (check-out before check-in)",
        ));
    }
    match &v.checked_out_at {
        None => Ok(true),
        Some(t) if t == at => Ok(false),
        Some(_) => Err(StoreError::rejected(
            ErrorCode::InvalidState,
            "이미 체크아웃한 방문입니다 (already checked out)",
        )),
    }
}
