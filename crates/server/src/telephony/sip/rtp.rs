//! RTP for the SIP adapter: the 12-byte header (RFC 3550), G.711 mu-law / A-law encoding,
//! a 20 ms frame sender for prompts, and RFC 4733 telephone-event packets (decoder with end
//! detection and duplicate suppression; an encoder for test callers).

use std::time::{Duration, Instant};

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Static payload types of G.711.
pub const PT_PCMU: u8 = 0;
pub const PT_PCMA: u8 = 8;

/// The G.711 variant answered on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => PT_PCMU,
            Codec::Pcma => PT_PCMA,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => linear_to_ulaw(sample),
            Codec::Pcma => linear_to_alaw(sample),
        }
    }
    /// The encoded value of digital silence.
    pub fn silence(self) -> u8 {
        self.encode(0)
    }
}

/// ITU-T G.711 mu-law (with the usual bias of 0x84 and clipping at 32635).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let exponent = (31 - (s as u32).leading_zeros()).saturating_sub(7).min(7) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let sign = u & 0x80;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if sign != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// ITU-T G.711 A-law (even bits inverted with 0x55).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = i32::from(sample) >> 3; // 13-bit magnitude
    let sign = if s >= 0 {
        0x80
    } else {
        s = -s - 1;
        0
    };
    let s = s.min(0x0FFF);
    let out = if s < 32 {
        (s >> 1) as u8
    } else {
        let exponent = (31 - (s as u32).leading_zeros()) as i32 - 4; // 1..=7
        ((exponent << 4) | ((s >> exponent) & 0x0F)) as u8
    };
    (out | sign) ^ 0x55
}

pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let sign = a & 0x80;
    let exponent = i32::from((a >> 4) & 0x07);
    let mantissa = i32::from(a & 0x0F);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    if sign != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// A parsed RTP packet (header fields and payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

/// Parses an RTP packet: version 2, CSRCs, header extension and padding handled. None for
/// anything else (RTCP on the same port, STUN, garbage).
pub fn parse_rtp(buf: &[u8]) -> Option<RtpPacket<'_>> {
    if buf.len() < 12 || buf[0] >> 6 != 2 {
        return None;
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let csrc = usize::from(buf[0] & 0x0F);
    let payload_type = buf[1] & 0x7F;
    // RTCP packet types 200..=204 land on 72..=76 with the marker bit set.
    if (72..=76).contains(&payload_type) && buf[1] & 0x80 != 0 {
        return None;
    }
    let mut start = 12 + 4 * csrc;
    if buf.len() < start {
        return None;
    }
    if extension {
        if buf.len() < start + 4 {
            return None;
        }
        let words = usize::from(u16::from_be_bytes([buf[start + 2], buf[start + 3]]));
        start += 4 + 4 * words;
        if buf.len() < start {
            return None;
        }
    }
    let mut end = buf.len();
    if padding {
        let pad = usize::from(*buf.last()?);
        if pad == 0 || end - start < pad {
            return None;
        }
        end -= pad;
    }
    Some(RtpPacket {
        marker: buf[1] & 0x80 != 0,
        payload_type,
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        payload: &buf[start..end],
    })
}

/// Writes a 12-byte RTP header followed by `payload`.
pub fn write_rtp(
    out: &mut Vec<u8>,
    marker: bool,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
    payload: &[u8],
) {
    out.clear();
    out.push(0x80);
    out.push(if marker { 0x80 } else { 0 } | (payload_type & 0x7F));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// The sending side of one call's audio stream: numbers 20 ms G.711 frames (sequence number
/// +1 and timestamp +160 per frame, one SSRC, the marker bit on the first frame of each
/// talkspurt).
pub struct FrameSender {
    codec: Codec,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    talking: bool,
    buf: Vec<u8>,
}

impl FrameSender {
    pub fn new(codec: Codec, ssrc: u32, seq: u16, timestamp: u32) -> Self {
        FrameSender {
            codec,
            ssrc,
            seq,
            timestamp,
            talking: false,
            buf: Vec::with_capacity(12 + FRAME_SAMPLES),
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The next packet: `samples` (up to 160; the rest is filled with silence) or a silent
    /// frame when None. A talkspurt starts (marker bit) on the first voiced frame after
    /// silence.
    pub fn next_frame(&mut self, samples: Option<&[i16]>) -> &[u8] {
        let mut payload = [self.codec.silence(); FRAME_SAMPLES];
        let voiced = samples.is_some();
        if let Some(s) = samples {
            for (o, &v) in payload.iter_mut().zip(s.iter().take(FRAME_SAMPLES)) {
                *o = self.codec.encode(v);
            }
        }
        let marker = voiced && !self.talking;
        self.talking = voiced;
        let (seq, ts) = (self.seq, self.timestamp);
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        write_rtp(
            &mut self.buf,
            marker,
            self.codec.payload_type(),
            seq,
            ts,
            self.ssrc,
            &payload,
        );
        &self.buf
    }
}

// ---------------------------------------------------------------- RFC 4733

/// One telephone-event payload (RFC 4733 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

pub fn parse_event(payload: &[u8]) -> Option<TelephoneEvent> {
    if payload.len() < 4 {
        return None;
    }
    Some(TelephoneEvent {
        event: payload[0],
        end: payload[1] & 0x80 != 0,
        volume: payload[1] & 0x3F,
        duration: u16::from_be_bytes([payload[2], payload[3]]),
    })
}

/// The key of a DTMF event code (0-9, *, #); None for A-D, flash and tones.
pub fn event_key(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        _ => None,
    }
}

pub fn key_event(key: char) -> Option<u8> {
    match key {
        '0'..='9' => Some(key as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        _ => None,
    }
}

/// Turns a stream of telephone-event packets into key presses, once each.
///
/// A key is reported when its end packet arrives (the end packet is sent three times: the
/// copies are dropped by `(timestamp, event)`), or when a later event starts while an earlier
/// one never showed its end (all its end packets lost), or when an event stays silent for
/// [`DtmfDecoder::STALE`] (see [`DtmfDecoder::flush_stale`]). A start packet for an event
/// already reported counts as a new press only when it comes well after the report (a caller
/// that replays identical packets, as sipp does with its stock pcap files); a late, reordered
/// continuation packet does not.
#[derive(Debug, Default)]
pub struct DtmfDecoder {
    /// The event in progress: (timestamp, event code, last packet time).
    current: Option<(u32, u8, Instant)>,
    /// Recently reported (timestamp, event, when).
    reported: Vec<(u32, u8, Instant)>,
}

impl DtmfDecoder {
    /// An event with no packet for this long while not ended is taken as ended.
    pub const STALE: Duration = Duration::from_millis(400);
    /// A start packet for a reported (timestamp, event) this long after the report is a new
    /// press of the same key.
    pub const REPLAY: Duration = Duration::from_millis(1000);
    const KEEP: usize = 32;

    pub fn new() -> Self {
        Self::default()
    }

    fn was_reported(&self, ts: u32, event: u8) -> Option<Instant> {
        self.reported
            .iter()
            .rev()
            .find(|(t, e, _)| *t == ts && *e == event)
            .map(|(_, _, at)| *at)
    }

    fn report(&mut self, ts: u32, event: u8, now: Instant, out: &mut Vec<char>) {
        self.reported.retain(|(t, e, _)| !(*t == ts && *e == event));
        self.reported.push((ts, event, now));
        if self.reported.len() > Self::KEEP {
            self.reported.remove(0);
        }
        if let Some(k) = event_key(event) {
            out.push(k);
        }
    }

    /// Feeds one telephone-event packet (already matched on payload type); returns the keys
    /// completed by it (usually none or one).
    pub fn push(&mut self, timestamp: u32, ev: TelephoneEvent, now: Instant) -> Vec<char> {
        let mut out = Vec::new();
        // A different event in progress that never ended: report it now.
        if let Some((cts, cev, _)) = self.current {
            if (cts, cev) != (timestamp, ev.event) {
                self.current = None;
                if self.was_reported(cts, cev).is_none() {
                    self.report(cts, cev, now, &mut out);
                }
            }
        }
        let reported_at = self.was_reported(timestamp, ev.event);
        if ev.end {
            self.current = None;
            if reported_at.is_none() {
                self.report(timestamp, ev.event, now, &mut out);
            }
        } else {
            match reported_at {
                Some(at) if now.duration_since(at) >= Self::REPLAY => {
                    // The same packets again, much later: a new press.
                    self.reported
                        .retain(|(t, e, _)| !(*t == timestamp && *e == ev.event));
                    self.current = Some((timestamp, ev.event, now));
                }
                Some(_) => {} // reordered continuation of a reported event
                None => self.current = Some((timestamp, ev.event, now)),
            }
        }
        out
    }

    /// Reports an event whose packets stopped without an end packet.
    pub fn flush_stale(&mut self, now: Instant) -> Vec<char> {
        let mut out = Vec::new();
        if let Some((ts, ev, last)) = self.current {
            if now.duration_since(last) >= Self::STALE {
                self.current = None;
                if self.was_reported(ts, ev).is_none() {
                    self.report(ts, ev, now, &mut out);
                }
            }
        }
        out
    }

    /// Updates the last-packet time of the event in progress.
    pub fn touch(&mut self, timestamp: u32, event: u8, now: Instant) {
        if let Some((ts, ev, last)) = &mut self.current {
            if *ts == timestamp && *ev == event {
                *last = now;
            }
        }
    }
}

/// The packets of one key press as a sender makes them (RFC 4733 section 2.5): a start
/// packet with the marker bit, updates every 20 ms, and the end packet three times. All share
/// the event's timestamp. Returns `(marker, seq, payload)` in order; `seq` starts at
/// `first_seq`.
pub fn event_packets(key: char, first_seq: u16, frames: u16) -> Vec<(bool, u16, [u8; 4])> {
    let Some(event) = key_event(key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seq = first_seq;
    let frames = frames.max(1);
    for i in 0..frames {
        let duration = (i + 1) * FRAME_SAMPLES as u16;
        let d = duration.to_be_bytes();
        out.push((i == 0, seq, [event, 10, d[0], d[1]]));
        seq = seq.wrapping_add(1);
    }
    let d = ((frames + 1) * FRAME_SAMPLES as u16).to_be_bytes();
    for _ in 0..3 {
        out.push((false, seq, [event, 0x80 | 10, d[0], d[1]]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values_and_round_trip() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        for s in (-32000i32..32000).step_by(7) {
            let s = s as i16;
            let back = ulaw_to_linear(linear_to_ulaw(s));
            let err = (i32::from(back) - i32::from(s)).abs();
            // mu-law keeps about 1/16 of the magnitude as precision.
            assert!(err <= (i32::from(s).abs() / 16).max(8) + 4, "{s} -> {back}");
        }
        // Every code decodes and re-encodes to itself (except the two zeros).
        for u in 0..=255u8 {
            let l = ulaw_to_linear(u);
            if u != 0x7F {
                assert_eq!(linear_to_ulaw(l), u, "code {u:#x} -> {l}");
            }
        }
    }

    #[test]
    fn alaw_known_values_and_round_trip() {
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        for a in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(a)), a, "code {a:#x}");
        }
        for s in (-32000i32..32000).step_by(7) {
            let s = s as i16;
            let back = alaw_to_linear(linear_to_alaw(s));
            let err = (i32::from(back) - i32::from(s)).abs();
            assert!(
                err <= (i32::from(s).abs() / 16).max(16) + 8,
                "{s} -> {back}"
            );
        }
    }

    #[test]
    fn rtp_header_round_trip_and_frames() {
        let mut f = FrameSender::new(Codec::Pcmu, 0xDEADBEEF, 65535, u32::MAX - 100);
        let voice = [1000i16; FRAME_SAMPLES];
        let p1 = f.next_frame(None).to_vec();
        let p2 = f.next_frame(Some(&voice)).to_vec();
        let p3 = f.next_frame(Some(&voice[..80])).to_vec();
        let p4 = f.next_frame(None).to_vec();
        let p5 = f.next_frame(Some(&voice)).to_vec();
        let r: Vec<RtpPacket<'_>> = [&p1, &p2, &p3, &p4, &p5]
            .iter()
            .map(|p| parse_rtp(p).unwrap())
            .collect();
        assert_eq!(
            r.iter().map(|p| p.seq).collect::<Vec<_>>(),
            [65535, 0, 1, 2, 3]
        );
        assert_eq!(r[1].timestamp, (u32::MAX - 100).wrapping_add(160));
        assert_eq!(r[4].timestamp.wrapping_sub(r[0].timestamp), 640);
        assert_eq!(
            r.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [false, true, false, false, true]
        );
        assert!(r
            .iter()
            .all(|p| p.ssrc == 0xDEADBEEF && p.payload_type == 0));
        assert!(r.iter().all(|p| p.payload.len() == FRAME_SAMPLES));
        assert!(r[0].payload.iter().all(|&b| b == 0xFF));
        assert_eq!(r[2].payload[79], linear_to_ulaw(1000));
        assert_eq!(r[2].payload[80], 0xFF);
        let mut a = FrameSender::new(Codec::Pcma, 1, 0, 0);
        let pa = parse_rtp(a.next_frame(None)).unwrap().payload_type;
        assert_eq!(pa, 8);
    }

    #[test]
    fn parse_rtp_edge_cases() {
        assert!(parse_rtp(&[0x80; 11]).is_none());
        assert!(parse_rtp(&[0x40; 20]).is_none(), "version 1");
        // RTCP sender report (PT 200) is not RTP.
        let mut rtcp = vec![0x80, 200, 0, 6];
        rtcp.extend([0; 24]);
        assert!(parse_rtp(&rtcp).is_none());
        // CSRC count, extension and padding.
        let mut p = vec![0x80 | 0x20 | 0x10 | 1, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend([9, 9, 9, 9]); // one CSRC
        p.extend([0xBE, 0xDE, 0, 1, 7, 7, 7, 7]); // extension of one word
        p.extend([5, 0x8A, 0, 160]); // payload
        p.extend([0, 0, 3]); // padding of 3
        let r = parse_rtp(&p).unwrap();
        assert_eq!(r.payload, &[5, 0x8A, 0, 160]);
        assert_eq!(r.payload_type, 96);
        let e = parse_event(r.payload).unwrap();
        assert_eq!((e.event, e.end, e.volume, e.duration), (5, true, 10, 160));
    }

    fn feed(dec: &mut DtmfDecoder, ts: u32, key: char, t0: Instant) -> Vec<char> {
        let mut out = Vec::new();
        for (i, (_, _, payload)) in event_packets(key, 0, 4).into_iter().enumerate() {
            let ev = parse_event(&payload).unwrap();
            out.extend(dec.push(ts, ev, t0 + Duration::from_millis(20 * i as u64)));
        }
        out
    }

    #[test]
    fn decoder_reports_each_press_once() {
        let mut d = DtmfDecoder::new();
        let t = Instant::now();
        assert_eq!(feed(&mut d, 1000, '1', t), ['1']);
        // The same key again: a new timestamp is a new press.
        assert_eq!(feed(&mut d, 2000, '1', t), ['1']);
        assert_eq!(feed(&mut d, 3000, '#', t), ['#']);
        // A duplicate end packet, later: dropped.
        let end = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert!(d.push(3000, end, t + Duration::from_millis(300)).is_empty());
        // A reordered continuation after the end: dropped.
        let cont = TelephoneEvent { end: false, ..end };
        assert!(d
            .push(3000, cont, t + Duration::from_millis(310))
            .is_empty());
        assert!(d.push(3000, end, t + Duration::from_millis(320)).is_empty());
    }

    #[test]
    fn decoder_lost_end_packets() {
        let mut d = DtmfDecoder::new();
        let t = Instant::now();
        let start = |e: u8| TelephoneEvent {
            event: e,
            end: false,
            volume: 10,
            duration: 160,
        };
        // '4' starts, its end packets are lost, then '5' starts: '4' is reported.
        assert!(d.push(100, start(4), t).is_empty());
        assert_eq!(d.push(900, start(5), t + Duration::from_millis(100)), ['4']);
        // '5' goes silent: flushed after STALE.
        assert!(d.flush_stale(t + Duration::from_millis(200)).is_empty());
        assert_eq!(d.flush_stale(t + Duration::from_millis(600)), ['5']);
        // A late end packet for '5' is a duplicate.
        let end5 = TelephoneEvent {
            end: true,
            ..start(5)
        };
        assert!(d.push(900, end5, t + Duration::from_millis(650)).is_empty());
    }

    #[test]
    fn decoder_replayed_packets_count_again_after_a_while() {
        let mut d = DtmfDecoder::new();
        let t = Instant::now();
        assert_eq!(feed(&mut d, 5000, '7', t), ['7']);
        // The identical packets replayed 2 s later (sipp's stock pcap files).
        assert_eq!(feed(&mut d, 5000, '7', t + Duration::from_secs(2)), ['7']);
        // A-D and flash are not keys.
        assert!(feed(&mut d, 6000, '9', t).len() == 1);
        let a = TelephoneEvent {
            event: 12,
            end: true,
            volume: 10,
            duration: 160,
        };
        assert!(d.push(7000, a, t).is_empty());
    }

    #[test]
    fn event_packets_shape() {
        let p = event_packets('#', 65534, 3);
        assert_eq!(p.len(), 6);
        assert!(p[0].0 && !p[1].0);
        assert_eq!(p[0].1, 65534);
        assert_eq!(p[2].1, 0);
        assert_eq!(p[3].1, 1);
        assert_eq!(p[5].1, 1, "end packet copies share a sequence number");
        assert_eq!(p[3].2, [11, 0x8A, 2, 128]);
        assert!(event_packets('x', 0, 3).is_empty());
    }
}
