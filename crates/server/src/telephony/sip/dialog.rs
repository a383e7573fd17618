//! The state of one SIP dialog (a call): where it is (proceeding, cancelled, answered,
//! ended), what we answered last (for retransmissions), its identifiers and the channel to the
//! call's media task.

use std::sync::atomic::AtomicU32;
use std::sync::Mutex;

use rsipstack::sip::Request;
use tokio::sync::mpsc;

use super::call::CallEvent;
use super::msg;
use super::transport::Peer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DialogState {
    /// INVITE received, the call flow is starting.
    Proceeding,
    /// CANCEL came before our answer.
    Cancelled,
    /// 200 OK sent.
    Answered,
    /// BYE sent or received (kept a while to answer retransmissions).
    Ended,
}

pub(super) struct DialogInner {
    pub(super) state: DialogState,
    /// Whether the ACK for the last 2xx to an INVITE arrived.
    pub(super) acked: bool,
    /// The last final response to an INVITE (initial or re-INVITE), for retransmissions.
    pub(super) invite_response: Option<Vec<u8>>,
    /// The CSeq of the last in-dialog request from them (not ACK/CANCEL) and our response.
    pub(super) remote_cseq: u32,
    pub(super) last_response: Option<(u32, String, Vec<u8>)>,
    pub(super) ids: msg::DialogIds,
    /// Our SDP (the same in answers to re-INVITEs).
    pub(super) local_sdp: Vec<u8>,
    /// The original INVITE (for the 487 after a CANCEL).
    pub(super) invite: Request,
    pub(super) events: Option<mpsc::UnboundedSender<CallEvent>>,
}

pub(crate) struct Dialog {
    pub(super) sip_call_id: String,
    pub(super) session_id: String,
    pub(super) invite_branch: String,
    pub(super) to_tag: String,
    pub(super) peer: Peer,
    pub(super) local_cseq: AtomicU32,
    pub(super) inner: Mutex<DialogInner>,
}

impl Dialog {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, DialogInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(super) fn send_event(&self, e: CallEvent) {
        if let Some(tx) = &self.lock().events {
            let _ = tx.send(e);
        }
    }
}
