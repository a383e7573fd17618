//! Collections other than card (현금·계좌이체·어음 수금): recorded offline (a local row and its
//! outbox item in one transaction; the client's balance drops at once, marked pending until the
//! server's ledger has it), listed per account, and voided by a manager (online).

use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{CollectionForm, EngineEvent, LocalCollection, SyncState};
use fieldpay_protocol::collection::{
    check_input, check_text, Collection, CollectionInput, MAX_REASON,
};
use fieldpay_protocol::sync::MutationKind;
use fieldpay_protocol::time::kst_date;
use fieldpay_protocol::ErrorCode;

use crate::db::ts;
use crate::error::{CoreError, CoreResult};

use super::{new_id, Engine};

impl Engine {
    /// Records a collection against an account's receivables: checked with the server's own
    /// rules, stored as queued and sent by the sync loop (at once when online). The device
    /// chooses the id: it is the idempotency key of the mutation.
    pub fn record_collection(
        &self,
        form: &CollectionForm,
        now: DateTime<Utc>,
    ) -> CoreResult<LocalCollection> {
        let session = self.require_session()?;
        let account = self
            .db
            .account(&form.account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        if account.closed {
            return Err(CoreError::invalid(
                ErrorCode::AccountClosed,
                format!(
                    "{}: 거래가 종료된 거래처입니다 (account closed)",
                    account.name
                ),
            ));
        }
        let id = new_id();
        let input = CollectionInput {
            collection_id: id.clone(),
            account_id: form.account_id.clone(),
            method: form.method,
            amount: form.amount,
            memo: form.memo.clone(),
            note: form.note.clone(),
            collected_at: ts(now),
        };
        let input = check_input(&input, &kst_date(now)).map_err(CoreError::Server)?;
        let collection = Collection {
            id: id.clone(),
            account_id: input.account_id.clone(),
            rep_id: Some(session.id),
            method: input.method,
            amount: input.amount,
            memo: input.memo.clone(),
            note: input.note.clone(),
            collected_at: input.collected_at.clone(),
            recorded_at: ts(now),
            voided: None,
        };
        self.db.queue_collection(
            &collection,
            &new_id(),
            &MutationKind::RecordCollection { collection: input },
            now,
        )?;
        self.touch_account(&collection.account_id, now);
        self.after_local_change()?;
        let _ = self.events.send(EngineEvent::RecordsChanged);
        Ok(LocalCollection {
            collection,
            sync_state: SyncState::Queued,
        })
    }

    /// The collections of an account on this device, newest first.
    pub fn collections_for(&self, account_id: &str) -> CoreResult<Vec<LocalCollection>> {
        self.db.collections(Some(account_id), 200)
    }

    pub fn collection(&self, id: &str) -> CoreResult<LocalCollection> {
        self.db
            .collection(id)?
            .ok_or(CoreError::NotFound("collection"))
    }

    /// A manager voids a collection with a reason (needs the network): the server books the
    /// offsetting entry; the device has the voided collection at once and the entry at the
    /// next pull.
    pub async fn void_collection(
        &self,
        collection_id: &str,
        reason: &str,
    ) -> CoreResult<LocalCollection> {
        self.require_session()?;
        let reason = check_text("reason", reason, MAX_REASON, false).map_err(CoreError::Server)?;
        let c = self.client.void_collection(collection_id, &reason).await?;
        self.db.update_collection(&c)?;
        let _ = self.events.send(EngineEvent::RecordsChanged);
        self.wake.notify_one();
        self.collection(&c.id)
    }
}
