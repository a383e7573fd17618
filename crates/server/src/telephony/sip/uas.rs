//! The UAS core: the dialogs table, and the server and client transactions of a payment line
//! (INVITE with its 2xx retransmissions until ACK, CANCEL, BYE both ways, OPTIONS, INFO keys,
//! re-INVITE/UPDATE answered with the same SDP, retransmitted requests absorbed by CSeq).
//!
//! Who may call: only trusted peers (`sip_trusted_peers`, the trunk's signalling addresses)
//! are talked to; every request from elsewhere gets 403 before anything else is looked at,
//! and their responses are dropped. At most `sip_max_calls_per_source` calls at once come
//! from one address (more get 503).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::sip::{Request, SipMessage};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::call::{self, CallEvent};
use super::dialog::{Dialog, DialogInner, DialogState};
use super::transport::Peer;
use super::{msg, sdp, session_id, PromptAudio};
use crate::ids;
use crate::state::AppState;

/// Calls at once beyond which new INVITEs get 503.
const MAX_CALLS: usize = 2000;
/// What a 503 for too many calls asks the caller to wait, in seconds.
const RETRY_AFTER_SECS: &str = "30";
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
/// 64*T1: how long a transaction (ACK wait, BYE retransmission) lasts at most.
const TIMER_H: Duration = Duration::from_secs(32);
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK";
const ACCEPT: &str = "application/sdp, application/dtmf-relay, application/dtmf";

/// Why an INVITE found no room.
enum Full {
    /// `MAX_CALLS` dialogs held.
    Server,
    /// The source address has this many calls in progress (`sip_max_calls_per_source`).
    Source(usize),
}

pub(crate) struct Core {
    pub(super) state: AppState,
    /// The address in Contact, Via and SDP (the bound one, or found per peer when bound to
    /// the unspecified address).
    pub(super) bind_ip: IpAddr,
    pub(super) port: u16,
    pub(super) audio: Arc<PromptAudio>,
    pub(super) dialogs: Mutex<HashMap<String, Arc<Dialog>>>,
    /// Our client transactions (BYE) waiting for a final response, by Via branch.
    pub(super) client_tx: Mutex<HashMap<String, oneshot::Sender<u16>>>,
}

impl Core {
    fn dialog(&self, call_id: &str) -> Option<Arc<Dialog>> {
        self.dialogs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(call_id)
            .cloned()
    }

    fn remove_later(self: &Arc<Self>, call_id: String) {
        let core = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(TIMER_H).await;
            let mut map = core.dialogs.lock().unwrap_or_else(|p| p.into_inner());
            if map
                .get(&call_id)
                .is_some_and(|d| d.lock().state == DialogState::Ended)
            {
                map.remove(&call_id);
            }
        });
    }

    /// The IP we advertise to `peer` (the bound one, or the route's source address).
    fn advertised_ip(&self, peer: SocketAddr) -> IpAddr {
        if !self.bind_ip.is_unspecified() {
            return self.bind_ip;
        }
        let probe = if peer.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        std::net::UdpSocket::bind(probe)
            .and_then(|s| {
                s.connect(peer)?;
                s.local_addr()
            })
            .map(|a| a.ip())
            .unwrap_or(self.bind_ip)
    }

    /// Whether `peer` is a trusted peer (`sip_trusted_peers`).
    fn trusted(&self, peer: &Peer) -> bool {
        self.state
            .settings
            .sip_trusted_peers
            .contains(peer.addr().ip())
    }

    pub(super) async fn on_message(self: Arc<Self>, m: SipMessage, peer: Peer) {
        if !self.trusted(&peer) {
            self.refuse_untrusted(m, &peer).await;
            return;
        }
        match m {
            SipMessage::Request(req) => self.on_request(req, peer).await,
            SipMessage::Response(resp) => {
                let branch = msg::header(&resp, "Via")
                    .map(|v| v.split(',').next().unwrap_or(v).to_string())
                    .and_then(|v| msg::param(&v, "branch"));
                let code = resp.status_code.code();
                if code >= 200 {
                    if let Some(b) = branch {
                        if let Some(tx) = self
                            .client_tx
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&b)
                        {
                            let _ = tx.send(code);
                        }
                    }
                }
            }
        }
    }

    /// A message from an address outside `sip_trusted_peers`: a request gets 403 (ACK
    /// nothing), a response is dropped. Nothing is kept; the log names the source address
    /// only (never the caller ID the request claims).
    async fn refuse_untrusted(&self, m: SipMessage, peer: &Peer) {
        let source = peer.addr();
        let SipMessage::Request(req) = m else {
            tracing::debug!(%source, "SIP response from an untrusted address dropped");
            return;
        };
        let method = req.method.to_string();
        if method == "ACK" {
            return;
        }
        if method == "INVITE" {
            tracing::warn!(%source, transport = peer.transport(), "SIP INVITE from an address outside sip_trusted_peers refused (403)");
        } else {
            tracing::debug!(%source, %method, transport = peer.transport(), "SIP request from an untrusted address refused (403)");
        }
        let tag = ids::random_token(10);
        self.reply(&req, peer, 403, "Forbidden", Some(&tag)).await;
    }

    async fn reply(
        &self,
        req: &Request,
        peer: &Peer,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
    ) {
        let out = msg::response(req, peer.addr(), code, reason, to_tag, &[], None);
        peer.send(&out).await;
    }

    async fn on_request(self: Arc<Self>, req: Request, peer: Peer) {
        let method = req.method.to_string();
        let Some(call_id) = msg::header(&req, "Call-ID").map(str::to_string) else {
            self.reply(&req, &peer, 400, "Missing Call-ID", None).await;
            return;
        };
        let to_tag = msg::header(&req, "To").and_then(msg::tag);
        tracing::debug!(method = %method, %call_id, transport = peer.transport(), "SIP request");
        match method.as_str() {
            "INVITE" if to_tag.is_none() => self.on_invite(req, peer, call_id).await,
            "ACK" => {
                if let Some(d) = self.dialog(&call_id) {
                    let sdp_in_ack = !req.body.is_empty();
                    let mut inner = d.lock();
                    inner.acked = true;
                    if sdp_in_ack {
                        let offer = sdp::parse_offer(&String::from_utf8_lossy(&req.body));
                        if let Some(tx) = &inner.events {
                            let _ = tx.send(CallEvent::Media(offer));
                        }
                    }
                }
            }
            "CANCEL" => self.on_cancel(req, peer, call_id).await,
            "OPTIONS" => {
                let out = msg::response(
                    &req,
                    peer.addr(),
                    200,
                    "OK",
                    None,
                    &[
                        ("Allow", ALLOW.into()),
                        ("Accept", ACCEPT.into()),
                        ("Supported", "".into()),
                    ],
                    None,
                );
                peer.send(&out).await;
            }
            "BYE" | "INFO" | "UPDATE" | "PRACK" | "INVITE" => {
                self.in_dialog(req, peer, call_id, to_tag, &method).await
            }
            _ => {
                let out = msg::response(
                    &req,
                    peer.addr(),
                    405,
                    "Method Not Allowed",
                    None,
                    &[("Allow", ALLOW.into())],
                    None,
                );
                peer.send(&out).await;
            }
        }
    }

    async fn on_invite(self: Arc<Self>, req: Request, peer: Peer, call_id: String) {
        if let Some(d) = self.dialog(&call_id) {
            // A retransmission (or a second fork of the same call): repeat where we are.
            let last = d.lock().invite_response.clone();
            match last {
                Some(r) => peer.send(&r).await,
                None => self.reply(&req, &peer, 100, "Trying", None).await,
            }
            return;
        }
        let Some(from) = msg::header(&req, "From").map(str::to_string) else {
            self.reply(&req, &peer, 400, "Missing From", None).await;
            return;
        };
        let from_tag = msg::tag(&from).unwrap_or_default();
        let to = msg::header(&req, "To").unwrap_or("").to_string();
        let to_tag = ids::random_token(10);
        let remote_target = msg::header(&req, "Contact")
            .map(|c| msg::addr_uri(c).to_string())
            .unwrap_or_else(|| msg::addr_uri(&from).to_string());
        let ids = msg::DialogIds {
            call_id: call_id.clone(),
            local: format!("{to};tag={to_tag}"),
            remote: from,
            remote_target,
            route_set: msg::headers(&req, "Record-Route")
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        };
        let d = Arc::new(Dialog {
            session_id: session_id(&call_id, &from_tag),
            sip_call_id: call_id.clone(),
            invite_branch: msg::top_branch(&req).unwrap_or_default(),
            to_tag,
            peer: peer.clone(),
            local_cseq: AtomicU32::new(1),
            inner: Mutex::new(DialogInner {
                state: DialogState::Proceeding,
                acked: false,
                invite_response: None,
                remote_cseq: msg::cseq(&req).map(|c| c.0).unwrap_or(0),
                last_response: None,
                ids,
                local_sdp: Vec::new(),
                invite: req.clone(),
                events: None,
            }),
        });
        if let Err(why) = self.admit(&call_id, d.clone()) {
            match why {
                Full::Server => tracing::warn!(
                    limit = MAX_CALLS,
                    "SIP INVITE refused (503): the endpoint is at its call limit"
                ),
                Full::Source(limit) => {
                    tracing::warn!(source = %peer.addr(), limit, "SIP INVITE refused (503): too many calls at once from this address (sip_max_calls_per_source)")
                }
            }
            let out = msg::response(
                &req,
                peer.addr(),
                503,
                "Service Unavailable",
                Some(&d.to_tag),
                &[("Retry-After", RETRY_AFTER_SECS.into())],
                None,
            );
            peer.send(&out).await;
            return;
        }
        self.reply(&req, &peer, 100, "Trying", None).await;
        tokio::spawn(self.clone().setup(d, req, peer));
    }

    /// Adds a new dialog to the table unless the endpoint holds `MAX_CALLS` dialogs, or its
    /// source address already has `sip_max_calls_per_source` calls in progress (proceeding or
    /// answered). Counted and added under one lock, so concurrent INVITEs cannot overshoot.
    fn admit(&self, call_id: &str, d: Arc<Dialog>) -> Result<(), Full> {
        let limit = self.state.settings.sip_max_calls_per_source;
        let source = d.peer.addr().ip().to_canonical();
        let mut map = self.dialogs.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CALLS {
            return Err(Full::Server);
        }
        let from_source = map
            .values()
            .filter(|o| o.peer.addr().ip().to_canonical() == source)
            .filter(|o| {
                matches!(
                    o.lock().state,
                    DialogState::Proceeding | DialogState::Answered
                )
            })
            .count();
        if from_source >= limit {
            return Err(Full::Source(limit));
        }
        map.insert(call_id.to_string(), d);
        Ok(())
    }

    /// Refuses the INVITE of dialog `d` with a final response and forgets the dialog.
    async fn refuse(
        self: &Arc<Self>,
        d: &Dialog,
        req: &Request,
        peer: &Peer,
        code: u16,
        reason: &str,
    ) {
        let out = msg::response(req, peer.addr(), code, reason, Some(&d.to_tag), &[], None);
        {
            let mut inner = d.lock();
            inner.state = DialogState::Ended;
            inner.invite_response = Some(out.clone());
        }
        peer.send(&out).await;
        self.remove_later(d.sip_call_id.clone());
    }

    async fn setup(self: Arc<Self>, d: Arc<Dialog>, req: Request, peer: Peer) {
        if msg::content_type(&req) != "application/sdp" || req.body.is_empty() {
            // No offer in the INVITE (late offer) is not supported: trunks and softphones
            // that call payment lines offer in the INVITE.
            self.refuse(&d, &req, &peer, 488, "Not Acceptable Here")
                .await;
            return;
        }
        let offer = sdp::parse_offer(&String::from_utf8_lossy(&req.body));
        if !offer.acceptable() {
            self.refuse(&d, &req, &peer, 488, "Not Acceptable Here")
                .await;
            return;
        }
        let dialled = msg::dialled(&req).unwrap_or_default();
        let caller = msg::caller_id(&req, self.trusted(&peer));
        // Only numbers of a merchant's pool are ours.
        let national = crate::calls::normalize_number(&dialled);
        let merchant = match national {
            Some(n) => self
                .state
                .db(move |s| s.merchant_by_number(&n))
                .await
                .ok()
                .flatten(),
            None => None,
        };
        if merchant.is_none() {
            tracing::info!(call_id = %d.sip_call_id, "SIP call to a number outside every pool refused");
            self.refuse(&d, &req, &peer, 404, "Not Found").await;
            return;
        }
        let ip = self.advertised_ip(peer.addr());
        let rtp = match UdpSocket::bind(SocketAddr::new(
            if self.bind_ip.is_unspecified() {
                self.bind_ip
            } else {
                ip
            },
            0,
        ))
        .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot open an RTP port");
                self.refuse(&d, &req, &peer, 503, "Service Unavailable")
                    .await;
                return;
            }
        };
        let rtp_local = SocketAddr::new(ip, rtp.local_addr().map(|a| a.port()).unwrap_or(0));
        let sess: u64 = rand::random::<u32>().into();
        let local_sdp = sdp::answer(&offer, rtp_local, (sess, sess)).into_bytes();
        let turn = crate::calls::start(
            &self.state,
            "sip",
            &d.session_id,
            &dialled,
            &caller,
            fieldpay_ivr::Lang::Ko,
        )
        .await;
        let transport_param = if peer.reliable() {
            ";transport=tcp"
        } else {
            ""
        };
        let host = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        let contact = format!("<sip:{host}:{}{transport_param}>", self.port);
        let ok = msg::response(
            &req,
            peer.addr(),
            200,
            "OK",
            Some(&d.to_tag),
            &[
                ("Contact", contact),
                ("Allow", ALLOW.into()),
                ("Accept", ACCEPT.into()),
            ],
            Some(("application/sdp", &local_sdp)),
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let cancelled = {
            let mut inner = d.lock();
            if inner.state == DialogState::Cancelled {
                true
            } else {
                inner.state = DialogState::Answered;
                inner.invite_response = Some(ok.clone());
                inner.local_sdp = local_sdp;
                inner.events = Some(tx.clone());
                false
            }
        };
        if cancelled {
            let _ =
                crate::calls::input(&self.state, &d.session_id, crate::calls::Input::HangUp).await;
            return;
        }
        peer.send(&ok).await;
        tracing::info!(call_id = %d.sip_call_id, session = %d.session_id, codec = ?offer.codec, telephone_event = ?offer.telephone_event, transport = peer.transport(), "SIP call answered");
        self.retransmit_until_ack(d.clone(), ok, tx);
        let media = call::Media::new(rtp, &offer, self.state.settings.sip_symmetric_rtp);
        tokio::spawn(call::run(self.clone(), d, media, turn, rx));
    }

    /// Repeats a 2xx to an INVITE until its ACK (UDP: T1 doubling to T2); without an ACK
    /// within 64*T1 the call is ended (RFC 3261 13.3.1.4).
    fn retransmit_until_ack(
        self: &Arc<Self>,
        d: Arc<Dialog>,
        ok: Vec<u8>,
        events: mpsc::UnboundedSender<CallEvent>,
    ) {
        let peer = d.peer.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut wait = T1;
            loop {
                tokio::time::sleep(if peer.reliable() { T1 } else { wait }).await;
                {
                    let inner = d.lock();
                    if inner.acked || inner.state == DialogState::Ended {
                        return;
                    }
                }
                if start.elapsed() >= TIMER_H {
                    tracing::info!(call_id = %d.sip_call_id, "no ACK for our 200 OK: ending the call");
                    let _ = events.send(CallEvent::AckTimeout);
                    return;
                }
                if !peer.reliable() {
                    peer.send(&ok).await;
                    wait = (wait * 2).min(T2);
                }
            }
        });
    }

    async fn on_cancel(self: Arc<Self>, req: Request, peer: Peer, call_id: String) {
        let Some(d) = self.dialog(&call_id) else {
            self.reply(&req, &peer, 481, "Call/Transaction Does Not Exist", None)
                .await;
            return;
        };
        if msg::top_branch(&req).unwrap_or_default() != d.invite_branch {
            self.reply(&req, &peer, 481, "Call/Transaction Does Not Exist", None)
                .await;
            return;
        }
        self.reply(&req, &peer, 200, "OK", None).await;
        let invite = {
            let mut inner = d.lock();
            if inner.state != DialogState::Proceeding {
                return; // already answered: the caller sends BYE
            }
            inner.state = DialogState::Cancelled;
            inner.invite.clone()
        };
        let out = msg::response(
            &invite,
            peer.addr(),
            487,
            "Request Terminated",
            Some(&d.to_tag),
            &[],
            None,
        );
        d.lock().invite_response = Some(out.clone());
        peer.send(&out).await;
        tracing::info!(call_id = %call_id, "SIP call cancelled before answer");
        self.remove_later_cancelled(call_id);
    }

    fn remove_later_cancelled(self: &Arc<Self>, call_id: String) {
        let core = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(TIMER_H).await;
            core.dialogs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&call_id);
        });
    }

    async fn in_dialog(
        self: Arc<Self>,
        req: Request,
        peer: Peer,
        call_id: String,
        to_tag: Option<String>,
        method: &str,
    ) {
        let Some(d) = self
            .dialog(&call_id)
            .filter(|d| to_tag.as_deref() == Some(d.to_tag.as_str()))
        else {
            self.reply(&req, &peer, 481, "Call/Transaction Does Not Exist", None)
                .await;
            return;
        };
        let Some((cseq, _)) = msg::cseq(&req) else {
            self.reply(&req, &peer, 400, "Bad CSeq", None).await;
            return;
        };
        // Retransmissions and stale requests.
        enum Seen {
            Stale,
            Again(Vec<u8>),
            New,
        }
        let seen = {
            let inner = d.lock();
            if cseq < inner.remote_cseq {
                Seen::Stale
            } else {
                match &inner.last_response {
                    Some((c, m, r)) if *c == cseq && m == method => Seen::Again(r.clone()),
                    _ => Seen::New,
                }
            }
        };
        match seen {
            Seen::Stale => {
                self.reply(&req, &peer, 500, "Server Internal Error", None)
                    .await;
                return;
            }
            Seen::Again(r) => {
                peer.send(&r).await;
                return;
            }
            Seen::New => {}
        }
        let state = d.lock().state;
        // (status, reason, extra headers, SDP body)
        type Answer<'a> = (u16, &'a str, Vec<(&'a str, String)>, Option<Vec<u8>>);
        let (code, reason, extra, body): Answer<'_> = match method {
            "BYE" => {
                let was = {
                    let mut inner = d.lock();
                    let was = inner.state;
                    inner.state = DialogState::Ended;
                    was
                };
                if was != DialogState::Ended {
                    d.send_event(CallEvent::HangUp);
                    self.remove_later(call_id.clone());
                    tracing::info!(call_id = %call_id, "SIP call ended by the caller");
                }
                (200, "OK", Vec::new(), None)
            }
            _ if state == DialogState::Ended => {
                (481, "Call/Transaction Does Not Exist", Vec::new(), None)
            }
            "INFO" => {
                let ctype = msg::content_type(&req);
                match msg::info_keys(&ctype, &req.body) {
                    Some(keys) => {
                        for k in keys {
                            d.send_event(CallEvent::Key(k));
                        }
                        (200, "OK", Vec::new(), None)
                    }
                    None if req.body.is_empty() => (200, "OK", Vec::new(), None),
                    None => (
                        415,
                        "Unsupported Media Type",
                        vec![(
                            "Accept",
                            "application/dtmf-relay, application/dtmf".to_string(),
                        )],
                        None,
                    ),
                }
            }
            "INVITE" | "UPDATE" => {
                // Session refresh, hold, a new media address: answered with the same SDP.
                if !req.body.is_empty() {
                    let offer = sdp::parse_offer(&String::from_utf8_lossy(&req.body));
                    if !offer.acceptable() {
                        let out = msg::response(
                            &req,
                            peer.addr(),
                            488,
                            "Not Acceptable Here",
                            None,
                            &[],
                            None,
                        );
                        {
                            let mut inner = d.lock();
                            inner.remote_cseq = cseq;
                            inner.last_response = Some((cseq, method.to_string(), out.clone()));
                        }
                        peer.send(&out).await;
                        return;
                    }
                    d.send_event(CallEvent::Media(offer));
                }
                let sdp = d.lock().local_sdp.clone();
                (
                    200,
                    "OK",
                    vec![
                        ("Contact", self.contact_for(&peer)),
                        ("Allow", ALLOW.into()),
                    ],
                    Some(sdp),
                )
            }
            _ => (200, "OK", Vec::new(), None), // PRACK
        };
        let out = msg::response(
            &req,
            peer.addr(),
            code,
            reason,
            None,
            &extra,
            body.as_deref().map(|b| ("application/sdp", b)),
        );
        {
            let mut inner = d.lock();
            inner.remote_cseq = cseq;
            inner.last_response = Some((cseq, method.to_string(), out.clone()));
            if method == "INVITE" && code == 200 {
                inner.acked = false;
                inner.invite_response = Some(out.clone());
            }
        }
        peer.send(&out).await;
        if method == "INVITE" && code == 200 {
            if let Some(tx) = d.lock().events.clone() {
                self.retransmit_until_ack(d.clone(), out, tx);
            }
        }
    }

    fn contact_for(&self, peer: &Peer) -> String {
        let ip = self.advertised_ip(peer.addr());
        let host = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        let t = if peer.reliable() {
            ";transport=tcp"
        } else {
            ""
        };
        format!("<sip:{host}:{}{t}>", self.port)
    }

    /// Sends BYE on dialog `d` (unless `once`, retransmitted over UDP until a final response
    /// or 64*T1) and marks it ended. Returns once the BYE is answered or given up.
    pub(crate) async fn send_bye(self: &Arc<Self>, d: &Arc<Dialog>, once: bool) {
        let ids = {
            let mut inner = d.lock();
            if inner.state == DialogState::Ended {
                return;
            }
            inner.state = DialogState::Ended;
            inner.ids.clone()
        };
        self.remove_later(d.sip_call_id.clone());
        let cseq = d.local_cseq.fetch_add(1, Ordering::Relaxed);
        let branch = format!("z9hG4bK{}", ids::random_token(16));
        let ip = self.advertised_ip(d.peer.addr());
        let sent_by = match ip {
            IpAddr::V6(v6) => format!("[{v6}]:{}", self.port),
            IpAddr::V4(v4) => format!("{v4}:{}", self.port),
        };
        let bytes = msg::request(
            "BYE",
            &ids,
            cseq,
            &sent_by,
            d.peer.transport(),
            &branch,
            &[],
        );
        let peer = self.bye_destination(d, &ids).await;
        let (tx, mut rx) = oneshot::channel();
        self.client_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(branch.clone(), tx);
        let start = tokio::time::Instant::now();
        let mut wait = T1;
        peer.send(&bytes).await;
        if !once {
            loop {
                let step = if peer.reliable() { TIMER_H } else { wait };
                match tokio::time::timeout(step, &mut rx).await {
                    Ok(_) => break,
                    Err(_) if start.elapsed() >= TIMER_H => break,
                    Err(_) => {
                        peer.send(&bytes).await;
                        wait = (wait * 2).min(T2);
                    }
                }
            }
        }
        self.client_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&branch);
    }

    /// Where an in-dialog request goes: the first route, else the remote target when it is an
    /// IP address, else back where the INVITE came from.
    async fn bye_destination(&self, d: &Dialog, ids: &msg::DialogIds) -> Peer {
        if d.peer.reliable() {
            return d.peer.clone();
        }
        let target = ids.route_set.first().unwrap_or(&ids.remote_target);
        if let Some((host, port)) = msg::uri_hostport(target) {
            let port = port.unwrap_or(5060);
            if let Ok(ip) = host.parse::<IpAddr>() {
                return d.peer.towards(SocketAddr::new(ip, port));
            }
            if let Ok(mut addrs) = tokio::net::lookup_host((host.as_str(), port)).await {
                if let Some(a) = addrs.next() {
                    return d.peer.towards(a);
                }
            }
        }
        d.peer.clone()
    }

    /// On shutdown (or when only the SIP endpoint is aborted): every call in progress is told
    /// to end, and gets a BYE.
    pub(super) async fn end_all(self: &Arc<Self>) {
        let dialogs: Vec<Arc<Dialog>> = self
            .dialogs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for d in dialogs {
            d.send_event(CallEvent::Shutdown);
        }
    }
}
