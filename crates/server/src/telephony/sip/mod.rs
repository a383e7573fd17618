//! The SIP adapter: a user-agent server (UDP and TCP on one address) that answers calls to
//! the merchants' virtual numbers and drives the same call flow as the TwiML webhooks
//! (`crate::calls`), with prompts played as G.711 audio and keys read from RFC 4733
//! telephone-events or SIP INFO.
//!
//! Signalling is our own small UAS core for exactly what a payment line needs: INVITE (with
//! an SDP offer), ACK, BYE (both ways), CANCEL, OPTIONS, INFO, re-INVITE/UPDATE (answered with
//! the same SDP), 2xx retransmission until ACK (RFC 3261 13.3.1.4), request retransmissions
//! absorbed by CSeq. Messages are parsed by rsipstack (`rsipstack::sip`); its transport layer
//! is not used because it logs every message in full, and INFO bodies carry card digits.
//!
//! Trust: the endpoint talks only to `sip_trusted_peers` (the trunk; loopback by default).
//! Requests from other addresses get 403 and start nothing, so nobody else can claim a
//! payer's number; P-Asserted-Identity is believed only from a trusted peer (RFC 3325). A
//! call's RTP is read only from the address its SDP named (or the first packet's source with
//! `sip_symmetric_rtp`), and one address has at most `sip_max_calls_per_source` calls at once.
//! Trust by source address assumes the network drops spoofed source addresses (UDP).
//!
//! Privacy: keys are never logged; the SIP messages we log are named by method and Call-ID,
//! refused ones by source address.
//!
//! # Files
//!
//! - `transport`: the UDP and TCP sockets, their receive loops, and [`Peer`](transport::Peer),
//!   the way back to a sender;
//! - `dialog`: the state of one dialog (a call);
//! - `uas`: the UAS core: the dialogs table and the server and client transactions;
//! - `call`: a call's media task (prompts out, keys in) driving the call flow;
//! - `msg`, `sdp`, `rtp`, `audio`: message parsing and building, SDP offer/answer, RTP and
//!   telephone-events, prompt audio.

mod audio;
mod call;
mod dialog;
pub mod msg;
pub mod rtp;
pub mod sdp;
mod transport;
mod uas;

pub use audio::{prompt_key, speakable, PromptAudio};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::state::AppState;
use uas::Core;

/// The call-flow id of a SIP call: stable for a dialog (Call-ID and the caller's tag), so a
/// retransmitted INVITE finds the same call. Public for tests and tools.
pub fn session_id(sip_call_id: &str, from_tag: &str) -> String {
    let mut h = Sha256::new();
    h.update(sip_call_id.as_bytes());
    h.update(b"\n");
    h.update(from_tag.as_bytes());
    format!("SIP{}", &hex::encode(h.finalize())[..24])
}

/// A running SIP endpoint.
pub struct SipEndpoint {
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    core: Arc<Core>,
    tasks: Vec<JoinHandle<()>>,
}

impl SipEndpoint {
    /// The UDP address (TCP listens on the same).
    pub fn local_addr(&self) -> SocketAddr {
        self.udp_addr
    }
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }
    /// SIP dialogs held (in progress or recently ended).
    pub fn dialogs(&self) -> usize {
        self.core
            .dialogs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
    /// Stops listening and ends the calls in progress (BYE sent). The app's shutdown signal
    /// does the same; this waits for it.
    pub async fn stop(self) {
        let _ = self.core.state.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
    /// Ends only the SIP endpoint (the app keeps running).
    pub async fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.core.end_all().await;
    }
}

/// Starts the SIP endpoint on `listen` (UDP and TCP on the same port; port 0 picks one).
pub async fn start(state: AppState, listen: SocketAddr) -> anyhow::Result<SipEndpoint> {
    let (udp, tcp) = transport::bind(listen).await?;
    let udp_addr = udp.local_addr()?;
    let tcp_addr = tcp.local_addr()?;
    let core = Arc::new(Core {
        audio: Arc::new(PromptAudio::new(&state.settings.data_dir)),
        state: state.clone(),
        bind_ip: udp_addr.ip(),
        port: udp_addr.port(),
        dialogs: Mutex::new(HashMap::new()),
        client_tx: Mutex::new(HashMap::new()),
    });
    let tasks = transport::serve(core.clone(), udp, tcp);
    let settings = &state.settings;
    if settings.sip_trusted_peers.trusts_everyone() {
        tracing::warn!(trusted = %settings.sip_trusted_peers, "sip_trusted_peers trusts every address: anyone who reaches the SIP port can claim a payer's number");
    }
    tracing::info!(udp = %udp_addr, tcp = %tcp_addr, trusted = %settings.sip_trusted_peers, symmetric_rtp = settings.sip_symmetric_rtp, max_calls_per_source = settings.sip_max_calls_per_source, "SIP endpoint listening");
    Ok(SipEndpoint {
        udp_addr,
        tcp_addr,
        core,
        tasks,
    })
}
