//! The SDP we need (RFC 4566 / 3264 offer-answer): read an audio offer, answer it with one
//! G.711 codec and the caller's telephone-event payload type.

use std::net::{IpAddr, SocketAddr};

use super::rtp::Codec;

/// What we took from an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Where to send our RTP (None: no usable audio stream, or held with 0.0.0.0).
    pub remote_rtp: Option<SocketAddr>,
    /// The codec answered: the first of PCMU/PCMA in the caller's order.
    pub codec: Option<Codec>,
    /// The caller's telephone-event payload type (8 kHz), if offered.
    pub telephone_event: Option<u8>,
    /// Its fmtp (e.g. "0-16"), echoed in the answer.
    pub telephone_event_fmtp: Option<String>,
    /// The m= lines in order: (media, proto, first format), to answer every one.
    pub media: Vec<(String, String, String)>,
    /// Index of the audio m= line answered.
    pub audio_index: Option<usize>,
    /// The direction attribute of the audio stream (sendrecv when absent).
    pub direction: String,
}

impl Offer {
    /// Whether the offer can be answered (an RTP/AVP audio stream with PCMU or PCMA).
    pub fn acceptable(&self) -> bool {
        self.codec.is_some() && self.audio_index.is_some()
    }
}

/// Parses an offer. Session-level `c=` applies unless the audio m= has its own.
pub fn parse_offer(body: &str) -> Offer {
    let mut session_ip: Option<IpAddr> = None;
    let mut offer = Offer {
        remote_rtp: None,
        codec: None,
        telephone_event: None,
        telephone_event_fmtp: None,
        media: Vec::new(),
        audio_index: None,
        direction: "sendrecv".into(),
    };
    let mut session_dir: Option<String> = None;
    // Per audio stream being read.
    let mut in_audio = false;
    let mut audio_port: u16 = 0;
    let mut audio_ip: Option<IpAddr> = None;
    let mut fmts: Vec<String> = Vec::new();
    let mut rtpmaps: Vec<(String, String)> = Vec::new();
    let mut fmtps: Vec<(String, String)> = Vec::new();
    let mut audio_dir: Option<String> = None;
    let mut done_audio = false;
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "c" => {
                let ip = parse_connection(value);
                if offer.media.is_empty() {
                    session_ip = ip;
                } else if in_audio {
                    audio_ip = ip;
                }
            }
            "m" => {
                in_audio = false;
                let mut parts = value.split_whitespace();
                let media = parts.next().unwrap_or("").to_string();
                let port: u16 = parts
                    .next()
                    .and_then(|p| p.split('/').next()?.parse().ok())
                    .unwrap_or(0);
                let proto = parts.next().unwrap_or("").to_string();
                let formats: Vec<String> = parts.map(str::to_string).collect();
                offer.media.push((
                    media.clone(),
                    proto.clone(),
                    formats.first().cloned().unwrap_or_else(|| "0".into()),
                ));
                if media == "audio"
                    && !done_audio
                    && port != 0
                    && proto.eq_ignore_ascii_case("RTP/AVP")
                {
                    in_audio = true;
                    done_audio = true;
                    audio_port = port;
                    fmts = formats;
                    offer.audio_index = Some(offer.media.len() - 1);
                }
            }
            "a" => {
                let (name, val) = value.split_once(':').unwrap_or((value, ""));
                let is_dir = matches!(name, "sendrecv" | "sendonly" | "recvonly" | "inactive");
                if offer.media.is_empty() {
                    if is_dir {
                        session_dir = Some(name.to_string());
                    }
                } else if in_audio {
                    if is_dir {
                        audio_dir = Some(name.to_string());
                    } else if name == "rtpmap" {
                        if let Some((pt, enc)) = val.split_once(' ') {
                            rtpmaps.push((pt.trim().to_string(), enc.trim().to_string()));
                        }
                    } else if name == "fmtp" {
                        if let Some((pt, p)) = val.split_once(' ') {
                            fmtps.push((pt.trim().to_string(), p.trim().to_string()));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if offer.audio_index.is_none() {
        return offer;
    }
    let encoding = |pt: &str| -> Option<String> {
        rtpmaps
            .iter()
            .find(|(p, _)| p == pt)
            .map(|(_, e)| e.to_ascii_lowercase())
    };
    // Static payload types only (a dynamic PCMU mapping is too rare to carry).
    offer.codec = fmts.iter().find_map(|f| match f.as_str() {
        "0" => Some(Codec::Pcmu),
        "8" => Some(Codec::Pcma),
        _ => None,
    });
    for f in &fmts {
        if encoding(f).is_some_and(|e| e.starts_with("telephone-event/8000")) {
            if let Ok(pt) = f.parse::<u8>() {
                if (96..=127).contains(&pt) {
                    offer.telephone_event = Some(pt);
                    offer.telephone_event_fmtp =
                        fmtps.iter().find(|(p, _)| p == f).map(|(_, v)| v.clone());
                    break;
                }
            }
        }
    }
    offer.direction = audio_dir
        .or(session_dir)
        .unwrap_or_else(|| "sendrecv".into());
    let ip = audio_ip.or(session_ip);
    offer.remote_rtp = match ip {
        Some(ip) if !ip.is_unspecified() && offer.direction != "inactive" => {
            Some(SocketAddr::new(ip, audio_port))
        }
        _ => None,
    };
    offer
}

fn parse_connection(value: &str) -> Option<IpAddr> {
    // c=IN IP4 192.0.2.1  (a multicast TTL suffix "/127" is cut off)
    let mut parts = value.split_whitespace();
    let (_net, _kind, addr) = (parts.next()?, parts.next()?, parts.next()?);
    addr.split('/').next()?.parse().ok()
}

/// Our answer to `offer`: the audio stream on `local` with the chosen codec (and the caller's
/// telephone-event type), every other m= line refused with port 0. `session` is (id, version)
/// of the o= line: the same for a re-INVITE answered unchanged.
pub fn answer(offer: &Offer, local: SocketAddr, session: (u64, u64)) -> String {
    let ip = local.ip();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = format!(
        "v=0\r\no=FieldPay {} {} IN {family} {ip}\r\ns=FieldPay\r\nc=IN {family} {ip}\r\nt=0 0\r\n",
        session.0, session.1
    );
    for (i, (media, proto, first)) in offer.media.iter().enumerate() {
        if Some(i) == offer.audio_index {
            let codec = offer.codec.unwrap_or(Codec::Pcmu);
            let pt = codec.payload_type();
            match offer.telephone_event {
                Some(te) => {
                    s.push_str(&format!("m=audio {} RTP/AVP {pt} {te}\r\n", local.port()));
                    s.push_str(&format!("a=rtpmap:{pt} {}/8000\r\n", codec.name()));
                    s.push_str(&format!("a=rtpmap:{te} telephone-event/8000\r\n"));
                    let fmtp = offer.telephone_event_fmtp.as_deref().unwrap_or("0-16");
                    s.push_str(&format!("a=fmtp:{te} {fmtp}\r\n"));
                }
                None => {
                    s.push_str(&format!("m=audio {} RTP/AVP {pt}\r\n", local.port()));
                    s.push_str(&format!("a=rtpmap:{pt} {}/8000\r\n", codec.name()));
                }
            }
            s.push_str("a=ptime:20\r\n");
            let dir = match offer.direction.as_str() {
                "sendonly" => "recvonly",
                "recvonly" => "sendonly",
                "inactive" => "inactive",
                _ => "sendrecv",
            };
            s.push_str(&format!("a={dir}\r\n"));
        } else {
            s.push_str(&format!("m={media} 0 {proto} {first}\r\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n";

    #[test]
    fn sipp_offer() {
        let o = parse_offer(SIPP);
        assert!(o.acceptable());
        assert_eq!(o.codec, Some(Codec::Pcmu));
        assert_eq!(o.telephone_event, Some(96));
        assert_eq!(o.remote_rtp, Some("127.0.0.1:6000".parse().unwrap()));
        let a = answer(&o, "127.0.0.1:40000".parse().unwrap(), (7, 7));
        assert!(a.contains("m=audio 40000 RTP/AVP 0 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n"));
        assert!(a.contains("o=FieldPay 7 7 IN IP4 127.0.0.1\r\n"));
        assert!(a.contains("a=sendrecv"));
    }

    #[test]
    fn baresip_like_offer_prefers_the_callers_order() {
        let body = "v=0\r\no=- 1 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\n\
            a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
            m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
        let o = parse_offer(body);
        assert_eq!(o.codec, Some(Codec::Pcma));
        assert_eq!(o.telephone_event, Some(101));
        let a = answer(&o, "10.0.0.1:30000".parse().unwrap(), (1, 1));
        assert!(
            a.contains("m=audio 30000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"),
            "{a}"
        );
        assert!(a.contains("m=video 0 RTP/AVP 96\r\n"), "{a}");
    }

    #[test]
    fn media_level_connection_and_no_dtmf() {
        let body = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
            m=audio 7078 RTP/AVP 0\r\nc=IN IP4 192.0.2.9\r\n";
        let o = parse_offer(body);
        assert_eq!(o.remote_rtp, Some("192.0.2.9:7078".parse().unwrap()));
        assert_eq!(o.telephone_event, None);
        let a = answer(&o, "127.0.0.1:1".parse().unwrap(), (1, 1));
        assert!(a.contains("m=audio 1 RTP/AVP 0\r\n"));
        assert!(!a.contains("telephone-event"));
    }

    #[test]
    fn unacceptable_offers() {
        let g729 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
        assert!(!parse_offer(g729).acceptable());
        let srtp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/SAVP 0\r\n";
        assert!(!parse_offer(srtp).acceptable());
        assert!(!parse_offer("").acceptable());
        // A telephone-event at 16 kHz is not ours; PCMU still is.
        let te16 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 2 RTP/AVP 0 100\r\n\
            a=rtpmap:100 telephone-event/16000\r\n";
        let o = parse_offer(te16);
        assert!(o.acceptable());
        assert_eq!(o.telephone_event, None);
    }

    #[test]
    fn hold_and_direction() {
        let hold = "v=0\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\n";
        let o = parse_offer(hold);
        assert!(o.acceptable());
        assert_eq!(o.remote_rtp, None);
        let a = answer(&o, "127.0.0.1:2".parse().unwrap(), (1, 1));
        assert!(a.contains("a=recvonly"));
    }
}
