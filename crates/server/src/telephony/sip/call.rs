//! One answered SIP call: plays each turn's prompts as 20 ms G.711 frames, collects keys
//! (RFC 4733 events on the RTP port, or SIP INFO) per the turn's gather (max digits, finish
//! key, first-digit and inter-digit timeout), and hands them to `crate::calls`.
//!
//! Keys pressed while a prompt plays stop it (barge-in); keys pressed while no question is
//! open (the next turn is being prepared) are kept for the next question (type-ahead). Keys
//! live only in zeroized buffers and are never logged.
//!
//! RTP is taken only from the address and port the caller's SDP named, or, with
//! `sip_symmetric_rtp`, from wherever the call's first packet came from (and our audio goes
//! there too); packets from anywhere else are dropped before they are read, and counted.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldpay_protocol::secret::REDACTED;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::audio::Samples;
use super::dialog::Dialog;
use super::rtp::{self, Codec, DtmfDecoder, FrameSender, FRAME_SAMPLES};
use super::sdp::Offer;
use super::uas::Core;
use crate::calls::{self, GatherSpec, Input, Turn};

/// The longest a SIP call may last.
const MAX_CALL: Duration = Duration::from_secs(20 * 60);
/// Keys kept for the next question at most.
const TYPE_AHEAD_MAX: usize = 64;

pub(crate) enum CallEvent {
    /// A key from SIP INFO.
    Key(char),
    /// BYE from the caller.
    HangUp,
    /// A new SDP offer (re-INVITE, UPDATE) or a late answer: new remote address.
    Media(Offer),
    /// Our 200 OK was never acknowledged.
    AckTimeout,
    /// The server is stopping.
    Shutdown,
}

impl std::fmt::Debug for CallEvent {
    /// Like a derived `Debug`, but a key (a card digit, mid-entry) is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallEvent::Key(_) => f.debug_tuple("Key").field(&REDACTED).finish(),
            CallEvent::HangUp => f.write_str("HangUp"),
            CallEvent::Media(offer) => f.debug_tuple("Media").field(offer).finish(),
            CallEvent::AckTimeout => f.write_str("AckTimeout"),
            CallEvent::Shutdown => f.write_str("Shutdown"),
        }
    }
}

/// The one remote RTP address of a call: where our audio goes and the only source whose
/// packets are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RtpPeer {
    /// Latch onto the first packet's source instead of trusting the SDP's address.
    symmetric: bool,
    /// The address the caller's SDP named (None: none, or held).
    named: Option<SocketAddr>,
    /// With `symmetric`: the source of the first packet since the last address change.
    latched: Option<SocketAddr>,
}

impl RtpPeer {
    pub(crate) fn new(named: Option<SocketAddr>, symmetric: bool) -> Self {
        RtpPeer {
            symmetric,
            named: named.map(canonical),
            latched: None,
        }
    }

    /// Whether a packet from `from` is the caller's (latching it when symmetric and nothing is
    /// latched yet).
    pub(crate) fn accept(&mut self, from: SocketAddr) -> bool {
        let from = canonical(from);
        if self.symmetric {
            match self.latched {
                Some(l) => l == from,
                None => {
                    self.latched = Some(from);
                    true
                }
            }
        } else {
            self.named == Some(from)
        }
    }

    /// Where our audio goes.
    pub(crate) fn send_to(&self) -> Option<SocketAddr> {
        if self.symmetric {
            self.latched.or(self.named)
        } else {
            self.named
        }
    }

    /// A new SDP (re-INVITE, UPDATE): a changed address is the caller moving its media, and
    /// is latched anew when symmetric.
    pub(crate) fn update(&mut self, named: Option<SocketAddr>) {
        let named = named.map(canonical);
        if named != self.named {
            self.latched = None;
        }
        self.named = named;
    }
}

/// An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 peer) as IPv4.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

pub(crate) struct Media {
    sock: UdpSocket,
    peer: RtpPeer,
    /// Packets dropped for their source address.
    dropped: u64,
    sender: FrameSender,
    telephone_event: Option<u8>,
}

impl Media {
    pub(crate) fn new(sock: UdpSocket, offer: &Offer, symmetric: bool) -> Self {
        Media {
            sock,
            peer: RtpPeer::new(offer.remote_rtp, symmetric),
            dropped: 0,
            sender: FrameSender::new(
                offer.codec.unwrap_or(Codec::Pcmu),
                rand::random(),
                rand::random(),
                rand::random(),
            ),
            telephone_event: offer.telephone_event,
        }
    }

    fn update(&mut self, offer: &Offer) {
        self.peer.update(offer.remote_rtp);
        if offer.telephone_event.is_some() {
            self.telephone_event = offer.telephone_event;
        }
    }
}

struct Gather {
    spec: GatherSpec,
    keys: Zeroizing<String>,
    /// Set when the prompts have finished (first-digit timeout) and after each key
    /// (inter-digit timeout).
    deadline: Option<Instant>,
}

/// The result of handing input to the call flow: the next turn and its audio.
type Pending = JoinHandle<(Option<Turn>, Vec<Samples>)>;

struct CallTask {
    core: Arc<Core>,
    d: Arc<Dialog>,
    media: Media,
    /// Prompt audio still to play, and the position in the first.
    playing: VecDeque<Samples>,
    pos: usize,
    gather: Option<Gather>,
    /// The current turn ends the call once its prompts are played.
    hangup_after: bool,
    pending: Option<Pending>,
    type_ahead: Zeroizing<String>,
    decoder: DtmfDecoder,
}

async fn audio_for(core: &Core, turn: &Turn) -> Vec<Samples> {
    let mut out = Vec::with_capacity(turn.say.len());
    for text in &turn.say {
        out.push(core.audio.get(turn.lang, text).await);
    }
    out
}

/// Runs the call until it ends.
pub(crate) async fn run(
    core: Arc<Core>,
    d: Arc<Dialog>,
    media: Media,
    first: Turn,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
) {
    let mut t = CallTask {
        core,
        d,
        media,
        playing: VecDeque::new(),
        pos: 0,
        gather: None,
        hangup_after: false,
        pending: None,
        type_ahead: Zeroizing::new(String::new()),
        decoder: DtmfDecoder::new(),
    };
    // The first prompts are made (or read from the cache) while silence already flows.
    let core2 = t.core.clone();
    t.pending = Some(tokio::spawn(async move {
        let audio = audio_for(&core2, &first).await;
        (Some(first), audio)
    }));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buf = vec![0u8; 2048];
    let end = loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Some(end) = t.tick().await {
                    break end;
                }
                if started.elapsed() > MAX_CALL {
                    tracing::info!(session = %t.d.session_id, "SIP call too long: ending it");
                    break End::HangUpByUs { tell_flow: true };
                }
            }
            r = t.media.sock.recv_from(&mut buf) => {
                if let Ok((n, from)) = r {
                    if t.media.peer.accept(from) {
                        t.on_rtp(&buf[..n]);
                    } else {
                        t.dropped_rtp(from);
                    }
                }
            }
            e = events.recv() => match e {
                Some(CallEvent::Key(k)) => t.on_key(k),
                Some(CallEvent::Media(offer)) => t.media.update(&offer),
                Some(CallEvent::HangUp) | None => break End::CallerHungUp,
                Some(CallEvent::AckTimeout) => break End::HangUpByUs { tell_flow: true },
                Some(CallEvent::Shutdown) => break End::Shutdown,
            },
            r = async { t.pending.as_mut().expect("guarded").await }, if t.pending.is_some() => {
                t.pending = None;
                match r {
                    Ok((turn, audio)) => t.apply(turn, audio),
                    Err(_) => break End::HangUpByUs { tell_flow: true },
                }
            }
        }
    };
    buf.fill(0);
    t.finish(end).await;
}

enum End {
    /// BYE received: the call flow is told.
    CallerHungUp,
    /// We end the call: BYE sent; the call flow is told unless it ended the call itself.
    HangUpByUs {
        tell_flow: bool,
    },
    Shutdown,
}

impl CallTask {
    /// One 20 ms step: send a frame, notice the end of the prompts, time out questions.
    async fn tick(&mut self) -> Option<End> {
        let now = Instant::now();
        for k in self.decoder.flush_stale(now) {
            self.on_key(k);
        }
        let frame: Option<&[i16]> = match self.playing.front() {
            Some(s) => {
                let end = (self.pos + FRAME_SAMPLES).min(s.len());
                Some(&s[self.pos.min(end)..end])
            }
            None => None,
        };
        let packet = self.media.sender.next_frame(frame);
        if let Some(to) = self.media.peer.send_to() {
            let _ = self.media.sock.send_to(packet, to).await;
        }
        if let Some(s) = self.playing.front() {
            self.pos += FRAME_SAMPLES;
            if self.pos >= s.len() {
                self.playing.pop_front();
                self.pos = 0;
            }
        }
        if !self.playing.is_empty() || self.pending.is_some() {
            return None;
        }
        // Prompts done.
        if self.hangup_after {
            return Some(End::HangUpByUs { tell_flow: false });
        }
        if let Some(g) = &mut self.gather {
            match g.deadline {
                None => g.deadline = Some(now + secs(g.spec.timeout_secs)),
                Some(dl) if now >= dl => {
                    let g = self.gather.take().expect("present");
                    let input = if g.keys.is_empty() {
                        Input::Timeout
                    } else {
                        Input::Digits(g.keys.as_str().to_string())
                    };
                    self.submit(input);
                }
                Some(_) => {}
            }
        }
        None
    }

    /// A packet from an address that is not the caller's media address: not read (its keys do
    /// not count). The first one is logged with its source, the rest only counted.
    fn dropped_rtp(&mut self, from: SocketAddr) {
        self.media.dropped += 1;
        if self.media.dropped == 1 {
            tracing::info!(session = %self.d.session_id, source = %from, expected = ?self.media.peer.send_to(), "RTP from an address other than the caller's media address dropped (further ones are counted)");
        }
    }

    fn on_rtp(&mut self, packet: &[u8]) {
        let Some(p) = rtp::parse_rtp(packet) else {
            return;
        };
        if Some(p.payload_type) != self.media.telephone_event {
            return; // audio, comfort noise, or a payload type we did not agree to
        }
        let Some(ev) = rtp::parse_event(p.payload) else {
            return;
        };
        let now = Instant::now();
        let keys = self.decoder.push(p.timestamp, ev, now);
        self.decoder.touch(p.timestamp, ev.event, now);
        for k in keys {
            self.on_key(k);
        }
    }

    fn on_key(&mut self, key: char) {
        if self.pending.is_some() || self.gather.is_none() || self.hangup_after {
            if !self.hangup_after && self.type_ahead.len() < TYPE_AHEAD_MAX {
                self.type_ahead.push(key);
            }
            return;
        }
        // Barge-in: a key stops the prompts of the question.
        self.playing.clear();
        self.pos = 0;
        let g = self.gather.as_mut().expect("checked");
        if Some(key) == g.spec.finish_on_key {
            let g = self.gather.take().expect("present");
            self.submit(Input::Digits(g.keys.as_str().to_string()));
            return;
        }
        g.keys.push(key);
        if g.keys.len() >= usize::from(g.spec.max_digits.max(1)) {
            let g = self.gather.take().expect("present");
            self.submit(Input::Digits(g.keys.as_str().to_string()));
            return;
        }
        g.deadline = Some(Instant::now() + secs(g.spec.timeout_secs));
    }

    /// Hands the input to the call flow in the background (frames keep flowing meanwhile).
    fn submit(&mut self, input: Input) {
        let core = self.core.clone();
        let id = self.d.session_id.clone();
        self.playing.clear();
        self.pos = 0;
        self.pending = Some(tokio::spawn(async move {
            let turn = calls::input(&core.state, &id, input).await;
            let audio = match &turn {
                Some(t) => audio_for(&core, t).await,
                None => Vec::new(),
            };
            (turn, audio)
        }));
    }

    fn apply(&mut self, turn: Option<Turn>, audio: Vec<Samples>) {
        let Some(turn) = turn else {
            // The call flow no longer knows this call.
            self.playing.clear();
            self.gather = None;
            self.hangup_after = true;
            return;
        };
        tracing::debug!(session = %self.d.session_id, step = ?turn.step, prompts = turn.say.len(), gather = turn.gather.is_some(), hangup = turn.hangup, "SIP call turn");
        self.playing = audio.into_iter().filter(|a| !a.is_empty()).collect();
        self.pos = 0;
        self.hangup_after = turn.hangup || turn.gather.is_none();
        self.gather = if self.hangup_after {
            None
        } else {
            turn.gather.map(|spec| Gather {
                spec,
                keys: Zeroizing::new(String::with_capacity(24)),
                deadline: None,
            })
        };
        if self.hangup_after {
            self.type_ahead.clear();
            return;
        }
        // Keys typed ahead answer this question (and maybe the next ones).
        while self.gather.is_some() && self.pending.is_none() && !self.type_ahead.is_empty() {
            let k = self.type_ahead.remove(0);
            self.on_key(k);
        }
    }

    async fn finish(mut self, end: End) {
        if let Some(p) = self.pending.take() {
            // Let a running step (e.g. an approval) complete before the hang-up is told.
            let _ = p.await;
        }
        match end {
            End::CallerHungUp => {
                let _ = calls::input(&self.core.state, &self.d.session_id, Input::HangUp).await;
            }
            End::HangUpByUs { tell_flow } => {
                if tell_flow {
                    let _ = calls::input(&self.core.state, &self.d.session_id, Input::HangUp).await;
                }
                let core = self.core.clone();
                core.send_bye(&self.d, false).await;
            }
            End::Shutdown => {
                let core = self.core.clone();
                core.send_bye(&self.d, true).await;
            }
        }
        if self.media.dropped > 0 {
            tracing::info!(session = %self.d.session_id, dropped = self.media.dropped, "SIP call media ended; RTP packets from other addresses dropped");
        } else {
            tracing::info!(session = %self.d.session_id, "SIP call media ended");
        }
    }
}

fn secs(s: u8) -> Duration {
    Duration::from_secs(u64::from(s.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rtp_only_from_the_address_the_sdp_named() {
        let mut p = RtpPeer::new(Some(addr("192.0.2.1:4000")), false);
        assert!(!p.accept(addr("192.0.2.9:5555")), "another host");
        assert!(
            !p.accept(addr("192.0.2.1:4001")),
            "another port of the same host"
        );
        assert!(p.accept(addr("192.0.2.1:4000")));
        assert!(
            p.accept(addr("[::ffff:192.0.2.1]:4000")),
            "the same, dual-stack"
        );
        assert!(!p.accept(addr("192.0.2.9:5555")), "nothing is latched");
        assert_eq!(p.send_to(), Some(addr("192.0.2.1:4000")));
        // A re-INVITE moves the media.
        p.update(Some(addr("192.0.2.1:4100")));
        assert!(!p.accept(addr("192.0.2.1:4000")));
        assert!(p.accept(addr("192.0.2.1:4100")));
        // Held (no address): nothing is read.
        p.update(None);
        assert!(!p.accept(addr("192.0.2.1:4100")));
        assert_eq!(p.send_to(), None);
    }

    #[test]
    fn symmetric_rtp_latches_the_first_source() {
        let mut p = RtpPeer::new(Some(addr("10.0.0.5:4000")), true);
        assert_eq!(
            p.send_to(),
            Some(addr("10.0.0.5:4000")),
            "the SDP's until a packet"
        );
        assert!(
            p.accept(addr("198.51.100.7:31000")),
            "the first packet latches"
        );
        assert_eq!(p.send_to(), Some(addr("198.51.100.7:31000")));
        assert!(!p.accept(addr("10.0.0.5:4000")));
        assert!(!p.accept(addr("198.51.100.7:31002")));
        assert!(p.accept(addr("198.51.100.7:31000")));
        // The same SDP again (a session refresh) keeps the latch; a new address re-latches.
        p.update(Some(addr("10.0.0.5:4000")));
        assert!(!p.accept(addr("198.51.100.8:1")));
        p.update(Some(addr("10.0.0.5:4200")));
        assert!(p.accept(addr("198.51.100.7:32000")));
        assert!(!p.accept(addr("198.51.100.7:31000")));
    }

    #[test]
    fn a_key_is_never_printed() {
        let shown = format!("{:?} {:#?}", CallEvent::Key('7'), CallEvent::Key('7'));
        assert!(!shown.contains('7'), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
        assert_eq!(format!("{:?}", CallEvent::HangUp), "HangUp");
    }
}
