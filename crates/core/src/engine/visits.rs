//! Visits (방문 기록): check in at a client (now, with the location the OS gave and a note),
//! check out; written locally with their outbox row and sent by the sync loop like orders.
//! Today's route for the home screen, a client's recent visits, and the manager's list
//! (online).

use chrono::{DateTime, TimeZone, Utc};
use fieldpay_protocol::app::{LocalVisit, RouteStop, SyncState, TodayRoute};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::sync::MutationKind;
use fieldpay_protocol::time::{kst, kst_today};
use fieldpay_protocol::visit::{clean_note, GeoPoint, Visit, VisitList};
use fieldpay_protocol::ErrorCode;

use crate::db::ts;
use crate::error::{CoreError, CoreResult};

use super::{new_id, Engine};

/// The stored-time bounds `[from, to)` of the KST day of `now`.
fn kst_day_bounds(now: DateTime<Utc>) -> (String, String, String) {
    let day = kst_today(now);
    let start = kst()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("KST has no gaps")
        .with_timezone(&Utc);
    (
        day.format("%Y-%m-%d").to_string(),
        ts(start),
        ts(start + chrono::Duration::days(1)),
    )
}

impl Engine {
    /// Checks in at a client account at `now`. The location is kept only when it is a real
    /// one (a bad one from the OS is dropped, never a reason to refuse the check-in).
    pub fn check_in(
        &self,
        account_id: &str,
        note: &str,
        location: Option<GeoPoint>,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalVisit> {
        let session = self.require_session()?;
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        // The server's rule, checked here too so the rep hears it at once (offline as well):
        // a plain rep checks in at its own clients and the unassigned ones.
        if session.role == Role::Rep && account.rep_id.as_ref().is_some_and(|r| *r != session.id) {
            return Err(CoreError::invalid(
                ErrorCode::Forbidden,
                "다른 담당자의 거래처입니다 (the account is another rep's)",
            ));
        }
        let note = clean_note(note).map_err(|e| CoreError::invalid(ErrorCode::InvalidField, e))?;
        let location = location.filter(|l| l.problem().is_none());
        let at = ts(now);
        let visit = Visit {
            id: new_id(),
            account_id: account.id.clone(),
            account_name: account.name.clone(),
            rep_id: session.id.clone(),
            rep_name: session.name.clone(),
            checked_in_at: at.clone(),
            checked_out_at: None,
            location,
            note: note.clone(),
        };
        let op = MutationKind::CheckIn {
            visit_id: visit.id.clone(),
            account_id: account.id.clone(),
            at,
            location,
            note,
        };
        self.db.queue_visit(&visit, &new_id(), &op, now)?;
        self.touch_account(&account.id, now);
        self.after_local_change()?;
        Ok(LocalVisit {
            visit,
            sync_state: SyncState::Queued,
        })
    }

    /// Checks out of an open visit at `now`.
    pub fn check_out(&self, visit_id: &str, now: DateTime<Utc>) -> CoreResult<LocalVisit> {
        self.require_session()?;
        let mut local = self
            .db
            .visit(visit_id)?
            .ok_or(CoreError::NotFound("visit"))?;
        if local.visit.checked_out_at.is_some() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                "이미 체크아웃했습니다 (already checked out)",
            ));
        }
        // Never before the check-in (a clock moved back).
        let at = ts(now).max(local.visit.checked_in_at.clone());
        local.visit.checked_out_at = Some(at.clone());
        let op = MutationKind::CheckOut {
            visit_id: visit_id.to_string(),
            at,
        };
        self.db.queue_visit(&local.visit, &new_id(), &op, now)?;
        self.after_local_change()?;
        local.sync_state = SyncState::Queued;
        Ok(local)
    }

    /// The KST day of `now`: this device's visits in order and the clients with orders made
    /// that day.
    pub fn today_route(&self, now: DateTime<Utc>) -> CoreResult<TodayRoute> {
        let (date, from, to) = kst_day_bounds(now);
        let visits = self.db.visits_between(&from, &to)?;
        let order_clients = self
            .db
            .order_clients_between(&from, &to)?
            .into_iter()
            .map(|(account_id, orders, total)| {
                let account_name = self
                    .db
                    .account(&account_id)
                    .ok()
                    .flatten()
                    .map(|a| a.name)
                    .unwrap_or_default();
                RouteStop {
                    account_id,
                    account_name,
                    orders,
                    total,
                }
            })
            .collect();
        Ok(TodayRoute {
            date,
            visits,
            order_clients,
        })
    }

    pub fn account_visits(&self, account_id: &str, limit: u32) -> CoreResult<Vec<LocalVisit>> {
        self.db.account_visits(account_id, limit)
    }

    /// The reps' visits of a KST day (today when None), of one rep or all (online; the
    /// server refuses a plain rep).
    pub async fn manager_visits(
        &self,
        date: Option<&str>,
        rep_id: Option<&str>,
    ) -> CoreResult<VisitList> {
        self.require_session()?;
        let date = crate::closing::closing_date(date, Utc::now())?;
        self.client.manager_visits(&date, rep_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kst_day_starts_at_15_utc() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 16, 0, 0).unwrap();
        let (date, from, to) = kst_day_bounds(now);
        assert_eq!(date, "2026-12-05");
        assert_eq!(from, "2026-12-04T15:00:00.000Z");
        assert_eq!(to, "2026-12-05T15:00:00.000Z");
    }
}
