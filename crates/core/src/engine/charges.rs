//! ARS charges (결제 요청): reads, request (queued, sent by the sync loop), cancel, and the
//! online-only refund and resend.

use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{ChargeInput, EngineEvent, LocalCharge, SyncState};
use fieldpay_protocol::charge::{
    Charge, ChargeEvent, ChargeOrigin, ChargeStatus, CreateCharge, Orderer,
};
use fieldpay_protocol::rules::ChargeRequest;
use fieldpay_protocol::sync::MutationKind;
use fieldpay_protocol::ErrorCode;

use crate::db::ts;
use crate::error::{CoreError, CoreResult};

use super::{new_id, Engine};

impl Engine {
    pub fn charges(&self, account_id: Option<&str>, limit: u32) -> CoreResult<Vec<LocalCharge>> {
        self.db.charges(account_id, limit)
    }

    pub fn charge(&self, id: &str) -> CoreResult<LocalCharge> {
        self.db.charge(id)?.ok_or(CoreError::NotFound("charge"))
    }

    /// Requests an ARS charge: checked here with the server's own rules, stored as queued and
    /// sent by the sync loop (at once when online).
    pub fn request_charge(
        &self,
        input: &ChargeInput,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalCharge> {
        let session = self.require_session()?;
        if let Some(a) = &input.account_id {
            self.db.account(a)?.ok_or(CoreError::NotFound("account"))?;
        }
        let body = CreateCharge {
            amount: input.amount,
            goods_name: input.goods_name.clone(),
            payer_phone: input.payer_phone.clone(),
            payer_name: input.payer_name.clone(),
            kind: Some(input.kind),
            order_ref: input.order_id.clone(),
            account_id: input.account_id.clone(),
            orderer: input
                .orderer
                .clone()
                .map(|(name, phone)| Orderer { name, phone }),
            installments: Some(input.installments),
            expires_in_minutes: input.expires_in_minutes,
        };
        let req = ChargeRequest::parse(&body).map_err(CoreError::Server)?;
        let id = new_id();
        let expires =
            now + chrono::Duration::minutes(i64::from(input.expires_in_minutes.unwrap_or(60)));
        let charge = Charge {
            id: id.clone(),
            status: ChargeStatus::Queued,
            kind: req.kind,
            origin: ChargeOrigin::App,
            amount: req.amount.get(),
            goods_name: req.goods_name.clone(),
            payer_phone: req.payer_phone.display(),
            payer_name: req.payer_name.clone(),
            orderer: req.orderer.as_ref().map(|(n, p)| Orderer {
                name: n.clone(),
                phone: p.display(),
            }),
            third_party: req.is_third_party(),
            order_ref: req.order_ref.clone(),
            account_id: req.account_id.clone(),
            rep_id: Some(session.id),
            installments: req.installments,
            virtual_number: None,
            created_at: ts(now),
            expires_at: ts(expires),
            events: vec![ChargeEvent::status(ChargeStatus::Queued, ts(now), None)],
            payment: None,
            decline_reason: None,
        };
        self.db.queue_charge(
            &charge,
            &new_id(),
            &MutationKind::RequestCharge {
                charge_id: id,
                request: body,
            },
            now,
        )?;
        if let Some(a) = &charge.account_id {
            self.touch_account(a, now);
        }
        self.after_local_change()?;
        let _ = self
            .events
            .send(EngineEvent::ChargeChanged(Box::new(charge.clone())));
        Ok(LocalCharge {
            charge,
            sync_state: SyncState::Queued,
        })
    }

    /// Cancels a charge before payment. The server decides (a payer may be paying right now).
    pub fn cancel_charge(
        &self,
        charge_id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalCharge> {
        self.require_session()?;
        let local = self.charge(charge_id)?;
        if local.charge.status.is_final() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                format!(
                    "{} 상태의 결제는 취소할 수 없습니다 (cannot cancel)",
                    local.charge.status.label_ko()
                ),
            ));
        }
        // Never sent: take it back here; the payer gets no text at all.
        if local.charge.status == ChargeStatus::Queued {
            let mut c = local.charge.clone();
            c.status = ChargeStatus::Canceled;
            c.events.push(ChargeEvent::status(
                ChargeStatus::Canceled,
                ts(now),
                reason.map(str::to_string),
            ));
            if self.db.withdraw_unsent_charge(&c)? {
                self.refresh_counts()?;
                let _ = self
                    .events
                    .send(EngineEvent::ChargeChanged(Box::new(c.clone())));
                return Ok(LocalCharge {
                    charge: c,
                    sync_state: SyncState::Local,
                });
            }
        }
        let op = MutationKind::CancelCharge {
            charge_id: charge_id.into(),
            reason: reason.map(str::to_string),
        };
        self.db.queue_charge(&local.charge, &new_id(), &op, now)?;
        self.after_local_change()?;
        Ok(LocalCharge {
            charge: local.charge,
            sync_state: SyncState::Queued,
        })
    }

    /// Refund of an approved payment, whole (`amount` None: all that remains) or in part
    /// (needs the network: the card company must agree).
    pub async fn refund_charge(
        &self,
        charge_id: &str,
        amount: Option<i64>,
        reason: Option<&str>,
    ) -> CoreResult<LocalCharge> {
        self.require_session()?;
        let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(
                fieldpay_protocol::rules::parse_text("reason", r, 200)
                    .map_err(CoreError::Server)?,
            ),
            None => None,
        };
        if let Some(a) = amount.filter(|a| *a <= 0) {
            return Err(CoreError::invalid(
                fieldpay_protocol::ErrorCode::InvalidAmount,
                format!("환불 금액은 0원보다 커야 합니다 (a refund is more than 0 KRW; got {a})"),
            ));
        }
        let c = self
            .client
            .refund(charge_id, amount, reason.as_deref())
            .await?;
        self.store_live_charge(c)
    }

    /// Texts the bill to the payer again (needs the network).
    pub async fn resend_charge_sms(&self, charge_id: &str) -> CoreResult<LocalCharge> {
        self.require_session()?;
        let c = self.client.resend_bill(charge_id).await?;
        self.store_live_charge(c)
    }

    fn store_live_charge(&self, c: Charge) -> CoreResult<LocalCharge> {
        self.db.update_charge(&c)?;
        let local = self.charge(&c.id)?;
        let _ = self.events.send(EngineEvent::ChargeChanged(Box::new(c)));
        self.wake.notify_one();
        Ok(local)
    }
}
