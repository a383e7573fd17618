//! The SIP endpoint end to end on loopback: real softphones (sipp with an RFC 4733 scenario,
//! baresip driven over its ctrl_tcp interface) pay sandbox charges, and a small Rust caller
//! covers the edge cases (no charge, withheld caller ID, hang-up halfway, slow digits,
//! re-INVITE, SIP INFO keys with PCMA, OPTIONS/CANCEL/unknown numbers over UDP and TCP) and
//! who is trusted (requests from outside `sip_trusted_peers`, P-Asserted-Identity, RTP from
//! other addresses, symmetric RTP, the per-source call limit; 127.0.0.2 stands for a second
//! host).
//!
//! sipp, baresip, espeak-ng and sox must be installed (`scripts/setup.sh`); a test fails with
//! that advice when one is missing. Ports are picked at random on 127.0.0.1.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldpay_server::config::{Settings, TrustedPeers};
use fieldpay_server::telephony::sip::{self, msg, rtp, SipEndpoint};
use rsipstack::sip::SipMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::helpers::{contains, demo_charge, logs, spawn_app, TestApp, APPROVE_CARD};

const VIRTUAL: &str = "16000010";
/// The keys of a whole payment with the demo merchant (birth date and password required) and
/// an amount under 50,000 won (no installment question).
const PAY_STEPS: [&str; 5] = ["1", "9401000000000014#", "1230", "800101#", "12"];

// ------------------------------------------------------------------ setup

/// The path of `tool`, or a failure telling how to install it.
fn require(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{tool}` is not installed: run scripts/setup.sh (it installs the Debian package \
             {package}); the SIP tests need real softphones and speech synthesis"
        )
    })
}

fn require_speech() {
    require("espeak-ng", "espeak-ng");
    require("sox", "sox");
}

async fn sip_app() -> (TestApp, SipEndpoint) {
    sip_app_with(|_| {}).await
}

/// The app, and a SIP endpoint on 127.0.0.1 whose settings `change` made.
async fn sip_app_with(change: impl FnOnce(&mut Settings)) -> (TestApp, SipEndpoint) {
    let app = spawn_app().await;
    let mut state = app.state().clone();
    let mut settings = (*state.settings).clone();
    change(&mut settings);
    state.settings = Arc::new(settings.validate().expect("valid SIP settings"));
    let ep = sip::start(state, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("SIP endpoint");
    (app, ep)
}

/// A UDP port free right now on 127.0.0.1 (even, with the next three free too, for RTP/RTCP
/// of tools that take a base port).
fn free_port() -> u16 {
    for _ in 0..200 {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = s.local_addr().unwrap().port();
        if !p.is_multiple_of(2) || p > 65000 {
            continue;
        }
        let others: Vec<_> = (1..4)
            .map(|i| std::net::UdpSocket::bind(("127.0.0.1", p + i)))
            .collect();
        let tcp = std::net::TcpListener::bind(("127.0.0.1", p));
        if others.iter().all(|o| o.is_ok()) && tcp.is_ok() {
            return p;
        }
    }
    panic!("no free port pair found");
}

/// A new payer phone number (never used by another test in this process).
fn new_payer() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("010-77{:02}-{:04}", std::process::id() % 100, 1000 + n)
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// No file the server wrote (data folder) and no log line holds card data.
fn assert_no_card_data(app: &TestApp, extra: &[&Path]) {
    let secrets = [APPROVE_CARD, "9401-0000-0000-0014"];
    for (path, bytes) in app.data_files() {
        for s in secrets {
            assert!(!contains(&bytes, s), "card number in {}", path.display());
        }
    }
    let l = logs();
    for s in secrets {
        assert!(!l.contains(s), "card number in the logs");
    }
    for dir in extra {
        for entry in walk(dir) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            for s in secrets {
                assert!(!contains(&bytes, s), "card number in {}", entry.display());
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

async fn call_record(
    app: &TestApp,
    sip_call_id: &str,
    from_tag: &str,
) -> Option<fieldpay_server::store::CallSessionRecord> {
    let id = sip::session_id(sip_call_id, from_tag);
    app.store().call(&id).unwrap()
}

/// Waits until the call record satisfies `f`.
async fn wait_record(
    app: &TestApp,
    sip_call_id: &str,
    from_tag: &str,
    what: &str,
    f: impl Fn(&fieldpay_server::store::CallSessionRecord) -> bool,
) -> fieldpay_server::store::CallSessionRecord {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(r) = call_record(app, sip_call_id, from_tag).await {
            if f(&r) {
                return r;
            }
            if Instant::now() > deadline {
                panic!("call never reached {what}: trace {}", r.trace);
            }
        } else if Instant::now() > deadline {
            panic!("no call record for {sip_call_id}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks the prompt audio cache: 8 kHz mono WAVs with the prompt texts beside them.
fn assert_prompt_cache(app: &TestApp) {
    let files = walk(&app.data.join("prompt-cache"));
    let wavs: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    assert!(wavs.len() >= 3, "prompt audio was cached: {files:?}");
    for w in &wavs {
        let b = std::fs::read(w).unwrap();
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(b[24..28].try_into().unwrap()),
            8000,
            "{}",
            w.display()
        );
        assert_eq!(u16::from_le_bytes(b[22..24].try_into().unwrap()), 1);
        assert!(
            b.len() > 44 + 8000,
            "at least half a second of speech: {}",
            w.display()
        );
        let text = std::fs::read_to_string(w.with_extension("txt")).unwrap();
        assert!(text.chars().any(|c| ('가'..='힣').contains(&c)), "{text}");
        assert_eq!(
            w.file_stem().unwrap().to_str().unwrap(),
            sip::prompt_key(fieldpay_ivr::Lang::Ko, &text)
        );
    }
}

// ------------------------------------------------------------------ pcap files for sipp

/// A pcap file (Ethernet/IPv4/UDP) of RFC 4733 events for `keys`: per key a start packet with
/// the marker bit, updates every 20 ms, the end packet three times; 120 ms between keys; a new
/// timestamp per key. Returns the file bytes.
fn dtmf_pcap(keys: &str, pt: u8, ssrc: u32, ts0: u32, seq0: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    let mut t_us: u64 = 1_000_000;
    let mut seq = seq0;
    let mut ts = ts0;
    let mut rtp_buf = Vec::new();
    for key in keys.chars() {
        let packets = rtp::event_packets(key, seq, 5);
        let mut last_seq = seq;
        for (i, (marker, s, payload)) in packets.iter().enumerate() {
            rtp::write_rtp(&mut rtp_buf, *marker, pt, *s, ts, ssrc, payload);
            let frame = udp_frame(&rtp_buf);
            out.extend_from_slice(&((t_us / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((t_us % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame);
            if i < 5 {
                t_us += 20_000;
            } else {
                t_us += 1_000;
            }
            last_seq = *s;
        }
        seq = last_seq.wrapping_add(1);
        t_us += 120_000;
        ts = ts.wrapping_add(8 * 260); // the RTP clock moves with the wall clock
    }
    out
}

fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42 + payload.len());
    f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let total = 20 + 8 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
        127,
        0,
        0,
        1,
        127,
        0,
        0,
        1,
    ];
    let mut sum: u32 = 0;
    for c in ip.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    let ck = !(sum as u16);
    ip[10] = (ck >> 8) as u8;
    ip[11] = ck as u8;
    f.extend_from_slice(&ip);
    let ulen = 8 + payload.len();
    f.extend_from_slice(&[0x13, 0x88, 0x13, 0x8a, (ulen >> 8) as u8, ulen as u8, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// The sipp scenario: INVITE offering PCMU and telephone-event/8000 with payload type 96, ACK,
/// then (1) the stock RFC 2833 pcap of key 2 with payload type 101, which the server must
/// ignore (2 would refuse the payment), then each payment step as our own pcap of PT 96
/// events, then waiting for the server's BYE and answering it.
fn sipp_scenario(caller: &str, steps: &[(PathBuf, u32)]) -> String {
    let mut plays = String::new();
    plays.push_str(
        "  <pause milliseconds=\"800\"/>\n  <nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_2.pcap\"/></action></nop>\n  <pause milliseconds=\"600\"/>\n",
    );
    for (file, pause_ms) in steps {
        plays.push_str(&format!(
            "  <nop><action><exec play_pcap_audio=\"{}\"/></action></nop>\n  <pause milliseconds=\"{pause_ms}\"/>\n",
            file.display()
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="fieldpay rfc4733 payment">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Payer" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Subject: FieldPay sipp test
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 96
      a=rtpmap:0 PCMU/8000
      a=rtpmap:96 telephone-event/8000
      a=fmtp:96 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Payer" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
{plays}  <recv request="BYE" timeout="90000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_pays_with_rfc4733_events() {
    let sipp = require("sipp", "sip-tester");
    require_speech();
    let (app, ep) = sip_app().await;
    let payer = new_payer();
    let c = app.charge(demo_charge(30_000, &payer)).await;
    let virtual_number = digits(c.virtual_number.as_deref().unwrap());
    let work = tempfile::tempdir().unwrap();
    let mut steps = Vec::new();
    let (mut ts, mut seq) = (160_000u32, 1000u16);
    for (i, keys) in PAY_STEPS.iter().enumerate() {
        let file = work.path().join(format!("step{i}.pcap"));
        std::fs::write(&file, dtmf_pcap(keys, 96, 0x5eed, ts, seq)).unwrap();
        ts = ts.wrapping_add(100_000);
        seq = seq.wrapping_add(200);
        // Long enough for the keys to play (about 0.26 s each) and the next question to come.
        let pause = 700 + 300 * keys.len() as u32;
        steps.push((file, pause));
    }
    let scen = work.path().join("pay.xml");
    std::fs::write(&scen, sipp_scenario(&digits(&payer), &steps)).unwrap();
    let (sip_port, media_port) = (free_port(), free_port());
    let started = Instant::now();
    let child = tokio::process::Command::new(&sipp)
        .current_dir(work.path())
        .args(["-sf", scen.to_str().unwrap(), "-m", "1", "-l", "1"])
        .args(["-i", "127.0.0.1", "-p", &sip_port.to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
        .args([
            "-s",
            &virtual_number,
            "-timeout",
            "150s",
            "-timeout_error",
            "-nostdin",
        ])
        .args(["-trace_err", "-trace_msg"])
        .arg(ep.local_addr().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp starts");
    let out = tokio::time::timeout(Duration::from_secs(170), child.wait_with_output())
        .await
        .expect("sipp finished in time")
        .unwrap();
    let messages = walk(work.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with("_messages.log"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect::<String>();
    assert!(
        out.status.success(),
        "sipp failed ({}): {}\n{}\nmessages:\n{messages}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The server answered with the caller's telephone-event payload type and one codec.
    assert!(
        messages.contains("a=rtpmap:96 telephone-event/8000"),
        "{messages}"
    );
    assert!(
        messages.contains(" RTP/AVP 0 96\r\n") || messages.contains(" RTP/AVP 0 96\n"),
        "{messages}"
    );
    let charge = app.wait_status(&c.id, "approved").await;
    assert_eq!(charge.payment.as_ref().unwrap().amount, 30_000);
    app.wait_sms(&payer, "slip", &c.id).await;
    println!("sipp paid in {:?}", started.elapsed());
    assert_prompt_cache(&app);
    assert_no_card_data(&app, &[work.path()]);
    ep.abort().await;
}

// ------------------------------------------------------------------ baresip

/// baresip over its ctrl_tcp interface (netstring-framed JSON commands and events).
struct Baresip {
    child: tokio::process::Child,
    ctrl: TcpStream,
    buf: Vec<u8>,
    events: Vec<serde_json::Value>,
}

impl Baresip {
    /// Starts baresip; with `loopback_media` its SDP names 127.0.0.1 (where its packets to us
    /// come from), else the machine's default address (the packets still come from loopback,
    /// as a phone behind NAT names an address it is not seen from).
    async fn start(dir: &Path, caller: &str, loopback_media: bool) -> Baresip {
        // Its ports are picked free but not held: another test may take one first, and then
        // this baresip exits or never listens. A fresh set of ports is tried then.
        for _ in 0..3 {
            if let Some(b) = Self::try_start(dir, caller, loopback_media).await {
                return b;
            }
        }
        panic!("baresip ctrl_tcp never opened, with three sets of ports");
    }

    async fn try_start(dir: &Path, caller: &str, loopback_media: bool) -> Option<Baresip> {
        let exe = require("baresip", "baresip-core");
        let conf = dir.join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        let (sip_port, ctrl_port) = (free_port(), free_port());
        // 8 kHz silence to send for two minutes (baresip ends the call when its source ends).
        let silence = fieldpay_server::telephony::sip::rtp::FRAME_SAMPLES * 50 * 120;
        std::fs::write(dir.join("silence.wav"), wav(&vec![0i16; silence])).unwrap();
        let rtp = free_port();
        std::fs::write(
            conf.join("config"),
            format!(
                "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\n{net}\
                 audio_player aufile,{heard}\naudio_source aufile,{src}\naudio_alert aufile,{alert}\n\
                 audio_srate 8000\naudio_channels 1\nrtp_ports {rtp}-{rtp_end}\n\
                 module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
                 module sndfile.so\nsnd_path {snd}\n\
                 module_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\nctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
                heard = dir.join("heard.wav").display(),
                snd = dir.display(),
                src = dir.join("silence.wav").display(),
                alert = dir.join("alert.wav").display(),
                rtp_end = rtp + 3,
                net = if loopback_media {
                    "net_interface 127.0.0.1\n"
                } else {
                    ""
                },
            ),
        )
        .unwrap();
        std::fs::write(
            conf.join("accounts"),
            format!("<sip:{caller}@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA\n"),
        )
        .unwrap();
        let mut child = tokio::process::Command::new(exe)
            .args(["-f", conf.to_str().unwrap(), "-t", "150"])
            .current_dir(dir)
            .stdin(Stdio::null())
            // baresip prints each DTMF key it sends: not kept anywhere.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("baresip starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        let ctrl = loop {
            match TcpStream::connect(("127.0.0.1", ctrl_port)).await {
                Ok(s) => break s,
                Err(e) => {
                    let exited = child.try_wait().ok().flatten();
                    if exited.is_some() || Instant::now() > deadline {
                        eprintln!("baresip ctrl_tcp on {ctrl_port} never opened ({e}; exited: {exited:?})");
                        let _ = child.kill().await;
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
            }
        };
        Some(Baresip {
            child,
            ctrl,
            buf: Vec::new(),
            events: Vec::new(),
        })
    }

    async fn command(&mut self, command: &str, params: &str) {
        let j =
            serde_json::json!({ "command": command, "params": params, "token": "t" }).to_string();
        let framed = format!("{}:{j},", j.len());
        self.ctrl.write_all(framed.as_bytes()).await.unwrap();
        // Wait for the response.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let m = self.next(deadline).await.expect("a baresip response");
            if m.get("response").is_some() {
                assert_eq!(m["ok"], true, "baresip {command}: {m}");
                return;
            }
        }
    }

    async fn next(&mut self, deadline: Instant) -> Option<serde_json::Value> {
        loop {
            // A whole netstring in the buffer?
            if let Some(colon) = self.buf.iter().position(|&b| b == b':') {
                let len: usize = std::str::from_utf8(&self.buf[..colon]).ok()?.parse().ok()?;
                if self.buf.len() > colon + len + 1 {
                    let body = self.buf[colon + 1..colon + 1 + len].to_vec();
                    self.buf.drain(..colon + len + 2);
                    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
                    if v.get("event").is_some() {
                        self.events.push(v.clone());
                    }
                    return Some(v);
                }
            }
            let mut chunk = [0u8; 4096];
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.ctrl.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }

    async fn wait_event(&mut self, kind: &str, within: Duration) -> serde_json::Value {
        if let Some(e) = self.events.iter().find(|e| e["type"] == kind) {
            return e.clone();
        }
        let deadline = Instant::now() + within;
        while let Some(m) = self.next(deadline).await {
            if m["type"] == kind {
                return m;
            }
        }
        panic!("baresip event {kind} never came; events: {:?}", self.events);
    }
}

fn wav(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_dials_and_pays() {
    baresip_pays(false).await;
}

/// baresip's SDP names an address other than the one its RTP comes from: with
/// `sip_symmetric_rtp` the first packet's source is its media address, and it pays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_naming_another_media_address_pays_with_symmetric_rtp() {
    baresip_pays(true).await;
}

async fn baresip_pays(symmetric_rtp: bool) {
    require("baresip", "baresip-core");
    require_speech();
    let (app, ep) = sip_app_with(|s| s.sip_symmetric_rtp = symmetric_rtp).await;
    let payer = new_payer();
    let c = app.charge(demo_charge(45_000, &payer)).await;
    let work = tempfile::tempdir().unwrap();
    let mut b = Baresip::start(work.path(), &digits(&payer), !symmetric_rtp).await;
    let target = format!(
        "sip:{}@{}",
        c.virtual_number.as_deref().unwrap(), // "1600-0010": the server normalises it
        ep.local_addr()
    );
    b.command("dial", &target).await;
    b.wait_event("CALL_ESTABLISHED", Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for keys in PAY_STEPS {
        b.command("sndcode", keys).await;
        tokio::time::sleep(Duration::from_millis(600 + 250 * keys.len() as u64)).await;
    }
    let charge = app.wait_status(&c.id, "approved").await;
    assert_eq!(charge.payment.as_ref().unwrap().amount, 45_000);
    app.wait_sms(&payer, "slip", &c.id).await;
    // The server says the result and goodbye, then hangs up.
    let closed = b.wait_event("CALL_CLOSED", Duration::from_secs(90)).await;
    let param = closed["param"].as_str().unwrap_or("");
    assert!(
        !param.contains("end of file"),
        "baresip ended the call itself: {closed}"
    );
    // baresip recorded what it heard (its sndfile module, `dump-*-dec.wav`): speech.
    let _ = b.child.kill().await;
    let _ = b.child.wait().await;
    let files = walk(work.path());
    let dec = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .unwrap_or_else(|| panic!("no recording of the received audio in {files:?}"));
    let heard = tokio::fs::read(dec).await.unwrap_or_default();
    let samples: Vec<i16> = heard
        .get(44..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(
        loud > 8000,
        "prompts were heard ({loud} loud samples of {})",
        samples.len()
    );
    assert_no_card_data(&app, &[]);
    ep.abort().await;
}

// ------------------------------------------------------------------ a small Rust caller

#[derive(Default, Debug)]
struct RtpStats {
    packets: u32,
    voiced: u32,
    payload_types: Vec<u8>,
    ssrcs: Vec<u32>,
    seq_gaps: u32,
    last_seq: Option<u16>,
    /// When each talkspurt (marker bit) began.
    spurts: Vec<Instant>,
    last_at: Option<Instant>,
    /// The longest time between two packets, and how many gaps exceeded 40 ms (two frames).
    max_gap: Duration,
    late: u32,
}

struct Phone {
    sip: Arc<UdpSocket>,
    server: SocketAddr,
    local: SocketAddr,
    inbox: mpsc::UnboundedReceiver<SipMessage>,
    rtp: Arc<UdpSocket>,
    rtp_task: tokio::task::JoinHandle<()>,
    stats: Arc<Mutex<RtpStats>>,
    remote_rtp: Option<SocketAddr>,
    answer_sdp: String,
    call_id: String,
    from_tag: String,
    to_tag: Option<String>,
    cseq: u32,
    caller: String,
    dialled: String,
    /// Payload type of telephone-event offered (None: not offered).
    te: Option<u8>,
    /// A P-Asserted-Identity value sent with the INVITE.
    pai: Option<String>,
    codec_pt: u8,
    ev_ts: u32,
    ev_seq: u16,
}

impl Phone {
    async fn new(server: SocketAddr, caller: &str, dialled: &str) -> Phone {
        Phone::new_at([127, 0, 0, 1].into(), server, caller, dialled).await
    }

    /// A phone whose SIP and RTP sockets are on `ip` (another loopback address is another
    /// host as far as the server can tell).
    async fn new_at(ip: IpAddr, server: SocketAddr, caller: &str, dialled: &str) -> Phone {
        let sip = Arc::new(UdpSocket::bind((ip, 0)).await.unwrap());
        let local = sip.local_addr().unwrap();
        let (tx, inbox) = mpsc::unbounded_channel();
        let s2 = sip.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, _)) = s2.recv_from(&mut buf).await {
                if let Some(m) = msg::parse(&buf[..n]) {
                    if tx.send(m).is_err() {
                        break;
                    }
                }
            }
        });
        let rtp = Arc::new(UdpSocket::bind((ip, 0)).await.unwrap());
        let stats = Arc::new(Mutex::new(RtpStats::default()));
        let rtp_task = Self::spawn_rtp_reader(rtp.clone(), stats.clone());
        Phone {
            sip,
            server,
            local,
            inbox,
            rtp,
            rtp_task,
            stats,
            remote_rtp: None,
            answer_sdp: String::new(),
            call_id: format!("{}@test", fieldpay_server::ids::random_token(16)),
            from_tag: fieldpay_server::ids::random_token(8),
            to_tag: None,
            cseq: 1,
            caller: caller.to_string(),
            dialled: dialled.to_string(),
            te: Some(101),
            pai: None,
            codec_pt: 0,
            ev_ts: rand::random(),
            ev_seq: rand::random(),
        }
    }

    fn spawn_rtp_reader(
        sock: Arc<UdpSocket>,
        stats: Arc<Mutex<RtpStats>>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, _)) = sock.recv_from(&mut buf).await {
                let Some(p) = rtp::parse_rtp(&buf[..n]) else {
                    continue;
                };
                let now = Instant::now();
                let mut s = stats.lock().unwrap();
                s.packets += 1;
                if !s.payload_types.contains(&p.payload_type) {
                    s.payload_types.push(p.payload_type);
                }
                if !s.ssrcs.contains(&p.ssrc) {
                    s.ssrcs.push(p.ssrc);
                }
                if let Some(l) = s.last_seq {
                    if p.seq != l.wrapping_add(1) {
                        s.seq_gaps += 1;
                    }
                }
                s.last_seq = Some(p.seq);
                let silence = if p.payload_type == 8 { 0xD5 } else { 0xFF };
                if p.payload.iter().any(|&b| b != silence) {
                    s.voiced += 1;
                }
                if p.marker {
                    s.spurts.push(now);
                }
                if let Some(last) = s.last_at {
                    let gap = now - last;
                    s.max_gap = s.max_gap.max(gap);
                    if gap > Duration::from_millis(40) {
                        s.late += 1;
                    }
                }
                s.last_at = Some(now);
            }
        })
    }

    fn header_from(&self) -> String {
        if self.caller.is_empty() {
            format!(
                "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag={}",
                self.from_tag
            )
        } else {
            format!("<sip:{}@127.0.0.1>;tag={}", self.caller, self.from_tag)
        }
    }

    fn header_to(&self) -> String {
        match &self.to_tag {
            Some(t) => format!("<sip:{}@127.0.0.1>;tag={t}", self.dialled),
            None => format!("<sip:{}@127.0.0.1>", self.dialled),
        }
    }

    fn offer(&self) -> String {
        let media = self.rtp.local_addr().unwrap();
        let (ip, port) = (media.ip(), media.port());
        let (pt, name) = if self.codec_pt == 8 {
            (8, "PCMA")
        } else {
            (0, "PCMU")
        };
        let mut s = format!(
            "v=0\r\no=phone 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 18 {pt}{}\r\na=rtpmap:18 G729/8000\r\na=rtpmap:{pt} {name}/8000\r\n",
            self.te.map(|t| format!(" {t}")).unwrap_or_default()
        );
        if let Some(t) = self.te {
            s.push_str(&format!(
                "a=rtpmap:{t} telephone-event/8000\r\na=fmtp:{t} 0-16\r\n"
            ));
        }
        s
    }

    fn request(
        &self,
        method: &str,
        cseq: u32,
        branch: &str,
        extra: &str,
        body: Option<(&str, &str)>,
    ) -> Vec<u8> {
        let uri = format!("sip:{}@{}", self.dialled, self.server);
        let mut s = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:{}@{}>\r\n{extra}",
            self.local,
            self.header_from(),
            self.header_to(),
            self.call_id,
            if self.caller.is_empty() {
                "anonymous"
            } else {
                &self.caller
            },
            self.local
        );
        match body {
            Some((ct, b)) => s.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => s.push_str("Content-Length: 0\r\n\r\n"),
        }
        s.into_bytes()
    }

    async fn send(&self, bytes: &[u8]) {
        self.sip.send_to(bytes, self.server).await.unwrap();
    }

    /// The next message satisfying `f` within `within` (others are dropped, except that BYE
    /// requests are always answered 200).
    async fn wait(
        &mut self,
        within: Duration,
        f: impl Fn(&SipMessage) -> bool,
    ) -> Option<SipMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = tokio::time::timeout_at(deadline, self.inbox.recv())
                .await
                .ok()??;
            if let SipMessage::Request(r) = &m {
                if r.method.to_string() == "BYE" {
                    let out = msg::response(r, self.server, 200, "OK", None, &[], None);
                    self.send(&out).await;
                }
            }
            if f(&m) {
                return Some(m);
            }
        }
    }

    async fn final_response(
        &mut self,
        cseq: u32,
        method: &str,
        within: Duration,
    ) -> Option<(u16, SipMessage)> {
        let method = method.to_string();
        let m = self
            .wait(within, |m| match m {
                SipMessage::Response(r) => {
                    r.status_code.code() >= 200
                        && msg::header(r, "CSeq").is_some_and(|c| {
                            c.ends_with(&method) && c.starts_with(&cseq.to_string())
                        })
                }
                _ => false,
            })
            .await?;
        let code = match &m {
            SipMessage::Response(r) => r.status_code.code(),
            _ => 0,
        };
        Some((code, m))
    }

    /// Sends an INVITE with our offer (this CSeq, `branch`) and waits for its final response;
    /// acknowledges nothing. Returns the request too, to send it again.
    async fn send_invite(&mut self, branch: &str) -> (Vec<u8>, u16, SipMessage) {
        let offer = self.offer();
        let pai = self
            .pai
            .as_ref()
            .map(|v| format!("P-Asserted-Identity: {v}\r\n"))
            .unwrap_or_default();
        let req = self.request(
            "INVITE",
            self.cseq,
            branch,
            &pai,
            Some(("application/sdp", &offer)),
        );
        self.send(&req).await;
        let (code, m) = self
            .final_response(self.cseq, "INVITE", Duration::from_secs(10))
            .await
            .expect("a final response to INVITE");
        (req, code, m)
    }

    /// INVITE; on 200 records the dialog and sends ACK. Returns the final status.
    async fn invite(&mut self) -> u16 {
        let branch = format!("z9hG4bK{}", fieldpay_server::ids::random_token(10));
        let (_, code, m) = self.send_invite(&branch).await;
        let SipMessage::Response(r) = m else {
            unreachable!()
        };
        if code == 200 {
            self.to_tag = msg::header(&r, "To").and_then(msg::tag);
            self.answer_sdp = String::from_utf8_lossy(&r.body).into_owned();
            let o = fieldpay_server::telephony::sip::sdp::parse_offer(&self.answer_sdp);
            self.remote_rtp = o.remote_rtp;
        }
        // ACK (for 2xx a new transaction; for errors the same branch).
        let ack_branch = if code == 200 {
            format!("z9hG4bK{}", fieldpay_server::ids::random_token(10))
        } else {
            branch
        };
        let ack = self.request("ACK", self.cseq, &ack_branch, "", None);
        self.send(&ack).await;
        code
    }

    /// Presses `keys` as RFC 4733 events (5 updates, the end packet three times, `gap`
    /// between keys).
    async fn press(&mut self, keys: &str, gap: Duration) {
        let rtp = self.rtp.clone();
        self.press_from(&rtp, keys, gap).await;
    }

    /// Like [`Phone::press`], from another socket (a caller behind NAT, or someone else).
    async fn press_from(&mut self, sock: &UdpSocket, keys: &str, gap: Duration) {
        let to = self.remote_rtp.expect("media address");
        let pt = self.te.expect("telephone-event offered");
        let ssrc = 0x1234_5678;
        let mut buf = Vec::new();
        for k in keys.chars() {
            let packets = rtp::event_packets(k, self.ev_seq, 5);
            for (i, (marker, seq, payload)) in packets.iter().enumerate() {
                rtp::write_rtp(&mut buf, *marker, pt, *seq, self.ev_ts, ssrc, payload);
                sock.send_to(&buf, to).await.unwrap();
                self.ev_seq = seq.wrapping_add(1);
                if i < 5 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            self.ev_ts = self.ev_ts.wrapping_add(2000);
            tokio::time::sleep(gap).await;
        }
    }

    /// Sends an in-dialog request and returns its final status.
    async fn in_dialog(
        &mut self,
        method: &str,
        extra: &str,
        body: Option<(&str, &str)>,
    ) -> (u16, SipMessage) {
        self.cseq += 1;
        let branch = format!("z9hG4bK{}", fieldpay_server::ids::random_token(10));
        let req = self.request(method, self.cseq, &branch, extra, body);
        self.send(&req).await;
        self.final_response(self.cseq, method, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no answer to {method}"))
    }

    async fn info(&mut self, key: char, relay: bool) -> u16 {
        let body = if relay {
            format!("Signal={key}\r\nDuration=160\r\n")
        } else {
            key.to_string()
        };
        let ct = if relay {
            "application/dtmf-relay"
        } else {
            "application/dtmf"
        };
        self.in_dialog("INFO", "", Some((ct, &body))).await.0
    }

    async fn bye(&mut self) -> u16 {
        self.in_dialog("BYE", "", None).await.0
    }

    /// Waits for the server's BYE (answered 200).
    async fn wait_bye(&mut self, within: Duration) -> bool {
        self.wait(
            within,
            |m| matches!(m, SipMessage::Request(r) if r.method.to_string() == "BYE"),
        )
        .await
        .is_some()
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, RtpStats> {
        self.stats.lock().unwrap()
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.rtp_task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_charge_hear_a_prompt_then_bye() {
    require_speech();
    let (app, ep) = sip_app().await;
    // A caller ID with no pending charge, and a withheld one, at the same time.
    let mut stranger = Phone::new(ep.local_addr(), "01099990000", VIRTUAL).await;
    let mut anon = Phone::new(ep.local_addr(), "", "+82-1600-0010").await;
    assert_eq!(stranger.invite().await, 200);
    assert_eq!(anon.invite().await, 200);
    let (a, b) = tokio::join!(
        stranger.wait_bye(Duration::from_secs(40)),
        anon.wait_bye(Duration::from_secs(40))
    );
    assert!(a && b, "the server hung up both calls");
    for (p, outcome) in [(&stranger, "no_charge"), (&anon, "caller_id_withheld")] {
        {
            let s = p.stats();
            assert!(
                s.voiced > 50,
                "a prompt was played ({} voiced frames)",
                s.voiced
            );
            assert_eq!(s.payload_types, [0], "PCMU only");
            assert_eq!(s.ssrcs.len(), 1);
            assert_eq!(s.seq_gaps, 0, "consecutive sequence numbers");
        }
        let rec = call_record(&app, &p.call_id, &p.from_tag)
            .await
            .expect("call stored");
        assert_eq!(rec.outcome.as_deref(), Some(outcome));
        assert_eq!(rec.adapter, "sip");
        assert!(rec.ended_at.is_some());
    }
    ep.abort().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_halfway_leaves_the_charge_payable() {
    require_speech();
    let (app, ep) = sip_app().await;
    let payer = new_payer();
    let c = app.charge(demo_charge(12_000, &payer)).await;
    let vn = digits(c.virtual_number.as_deref().unwrap());
    let mut p = Phone::new(ep.local_addr(), &digits(&payer), &vn).await;
    assert_eq!(p.invite().await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    p.press("1", Duration::from_millis(300)).await;
    wait_record(&app, &p.call_id, &p.from_tag, "card number step", |r| {
        r.checkpoint.contains("card_number") || r.checkpoint.contains("CardNumber")
    })
    .await;
    // Half a card number, then the caller hangs up.
    p.press("940100", Duration::from_millis(60)).await;
    assert_eq!(p.bye().await, 200);
    let rec = wait_record(&app, &p.call_id, &p.from_tag, "hung up", |r| {
        r.ended_at.is_some()
    })
    .await;
    assert_eq!(rec.outcome.as_deref(), Some("hung_up"));
    let still = app.get_charge(&c.id).await;
    assert!(
        still.status.is_pending(),
        "charge still payable: {:?}",
        still.status
    );
    // A BYE again (a retransmission) is still answered.
    p.cseq -= 1;
    assert_eq!(p.bye().await, 200);
    // And the payer can call again and pay.
    let mut again = Phone::new(ep.local_addr(), &digits(&payer), &vn).await;
    assert_eq!(again.invite().await, 200);
    pay_by_keys(&app, &mut again, &c.id).await;
    ep.abort().await;
}

/// Answers every question of a payment with RFC 4733 keys on an answered call, then waits
/// for the approval and the server's BYE; no card data was kept or logged.
async fn pay_by_keys(
    app: &TestApp,
    p: &mut Phone,
    charge_id: &str,
) -> fieldpay_protocol::charge::Charge {
    tokio::time::sleep(Duration::from_millis(500)).await;
    for keys in PAY_STEPS {
        p.press(keys, Duration::from_millis(60)).await;
    }
    let paid = app.wait_status(charge_id, "approved").await;
    assert!(p.wait_bye(Duration::from_secs(60)).await);
    assert_no_card_data(app, &[]);
    paid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_digits_time_out_and_the_question_is_asked_again() {
    require_speech();
    let (app, ep) = sip_app().await;
    let payer = new_payer();
    let c = app.charge(demo_charge(9_900, &payer)).await;
    let vn = digits(c.virtual_number.as_deref().unwrap());
    let mut p = Phone::new(ep.local_addr(), &digits(&payer), &vn).await;
    assert_eq!(p.invite().await, 200);
    // Say nothing: after the read-out and 7 s of silence the question comes again.
    let rec = wait_record(&app, &p.call_id, &p.from_tag, "a timeout", |r| {
        r.trace.contains("timeout")
    })
    .await;
    assert!(rec.ended_at.is_none(), "the call goes on after one timeout");
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.stats().spurts.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let s = p.stats();
        assert!(
            s.spurts.len() >= 2,
            "prompts, silence, prompts again: {:?}",
            s.spurts.len()
        );
        let gaps: Vec<Duration> = s.spurts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().any(|g| *g >= Duration::from_secs(7)),
            "a gap of the 7 s timeout between the talkspurts: {gaps:?}"
        );
    }
    // Now answer, then type part of a card number too slowly: what was typed is taken after
    // the inter-digit timeout and refused as too short.
    p.press("1", Duration::from_millis(100)).await;
    wait_record(&app, &p.call_id, &p.from_tag, "card number step", |r| {
        r.checkpoint.contains("card_number") || r.checkpoint.contains("CardNumber")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.press("9401", Duration::from_millis(100)).await;
    let rec = wait_record(&app, &p.call_id, &p.from_tag, "a short card number", |r| {
        r.trace.contains("invalid_length")
    })
    .await;
    assert!(rec.ended_at.is_none());
    assert_eq!(p.bye().await, 200);
    assert!(app.get_charge(&c.id).await.status.is_pending());
    ep.abort().await;
}

/// Waits (up to 10 s) until the phone's RTP socket got more than `n` packets.
async fn wait_packets(p: &Phone, n: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = p.stats().packets;
        if got > n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no audio arrived ({got} packets)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvite_mid_call_is_answered_with_the_same_sdp() {
    require_speech();
    let (app, ep) = sip_app().await;
    let payer = new_payer();
    let c = app.charge(demo_charge(15_000, &payer)).await;
    let vn = digits(c.virtual_number.as_deref().unwrap());
    let mut p = Phone::new(ep.local_addr(), &digits(&payer), &vn).await;
    assert_eq!(p.invite().await, 200);
    let first_answer = p.answer_sdp.clone();
    wait_packets(&p, 10).await;
    // Move our media to a new port with a re-INVITE.
    let new_rtp = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let new_stats = Arc::new(Mutex::new(RtpStats::default()));
    p.rtp_task.abort();
    p.rtp = new_rtp.clone();
    p.stats = new_stats.clone();
    p.rtp_task = Phone::spawn_rtp_reader(new_rtp, new_stats);
    let offer = p.offer();
    let (code, m) = p
        .in_dialog("INVITE", "", Some(("application/sdp", &offer)))
        .await;
    assert_eq!(code, 200);
    let SipMessage::Response(r) = m else {
        unreachable!()
    };
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        first_answer,
        "the same SDP"
    );
    let ack = p.request("ACK", p.cseq, "z9hG4bKack2", "", None);
    p.send(&ack).await;
    wait_packets(&p, 10).await; // audio now reaches the new port
                                // Keys from the new port still work.
    p.press("1", Duration::from_millis(100)).await;
    wait_record(&app, &p.call_id, &p.from_tag, "card number step", |r| {
        r.checkpoint.contains("card_number") || r.checkpoint.contains("CardNumber")
    })
    .await;
    // An UPDATE without a body, and OPTIONS in the dialog.
    assert_eq!(p.in_dialog("UPDATE", "", None).await.0, 200);
    assert_eq!(p.in_dialog("OPTIONS", "", None).await.0, 200);
    assert_eq!(p.bye().await, 200);
    ep.abort().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_keys_and_pcma_pay_end_to_end() {
    require_speech();
    let (app, ep) = sip_app().await;
    let payer = new_payer();
    let c = app.charge(demo_charge(21_000, &payer)).await;
    let vn = c.virtual_number.clone().unwrap(); // dialled as "1600-0010"
    let mut p = Phone::new(ep.local_addr(), &payer, &vn).await;
    p.te = None; // no telephone-event offered: keys by SIP INFO only
    p.codec_pt = 8;
    assert_eq!(p.invite().await, 200);
    assert!(p.answer_sdp.contains("m=audio "), "{}", p.answer_sdp);
    assert!(p.answer_sdp.contains(" RTP/AVP 8\r\n"), "{}", p.answer_sdp);
    assert!(!p.answer_sdp.contains("telephone-event"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut relay = true;
    for keys in PAY_STEPS {
        for k in keys.chars() {
            assert_eq!(p.info(k, relay).await, 200);
            relay = !relay;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // An INFO of an unknown kind is refused, and changes nothing.
    assert_eq!(
        p.in_dialog("INFO", "", Some(("text/plain", "5"))).await.0,
        415
    );
    app.wait_status(&c.id, "approved").await;
    app.wait_sms(&payer, "slip", &c.id).await;
    assert!(
        p.wait_bye(Duration::from_secs(60)).await,
        "BYE after the goodbye"
    );
    assert_eq!(p.stats().payload_types, [8], "PCMA frames");
    assert_no_card_data(&app, &[]);
    ep.abort().await;
}

/// Raw SIP over TCP: one request, its final response.
async fn tcp_request(addr: SocketAddr, text: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(text.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(deadline - Instant::now(), s.read(&mut chunk))
            .await
            .expect("TCP answer in time")
            .unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(len)) = msg::frame_len(&buf) {
            let m = String::from_utf8_lossy(&buf[..len]).into_owned();
            buf.drain(..len);
            if !m.starts_with("SIP/2.0 1") {
                return m;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_cancel_and_numbers_outside_the_pool() {
    require_speech();
    let (app, ep) = sip_app().await;
    let options = |transport: &str, local: &str| {
        format!(
            "OPTIONS sip:{VIRTUAL}@{} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKo1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:monitor@127.0.0.1>;tag=o1\r\nTo: <sip:{VIRTUAL}@127.0.0.1>\r\n\
             Call-ID: opt-{transport}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            ep.local_addr()
        )
    };
    let over_tcp = tcp_request(ep.tcp_addr(), &options("TCP", "127.0.0.1:9")).await;
    assert!(over_tcp.starts_with("SIP/2.0 200 OK\r\n"), "{over_tcp}");
    assert!(
        over_tcp.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"),
        "{over_tcp}"
    );
    let mut p = Phone::new(ep.local_addr(), "01012340000", "0212345678").await;
    p.send(&options("UDP", &p.local.to_string()).into_bytes())
        .await;
    let m = p
        .wait(Duration::from_secs(5), |m| {
            matches!(m, SipMessage::Response(_))
        })
        .await
        .expect("OPTIONS answered over UDP");
    let SipMessage::Response(r) = m else {
        unreachable!()
    };
    assert_eq!(r.status_code.code(), 200);
    // A number outside every pool.
    assert_eq!(p.invite().await, 404);
    // Only G.729 offered.
    let mut g729 = Phone::new(ep.local_addr(), "01012340000", VIRTUAL).await;
    g729.codec_pt = 18;
    let branch = "z9hG4bKg729";
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    let req = g729.request("INVITE", 1, branch, "", Some(("application/sdp", sdp)));
    g729.send(&req).await;
    let (code, _) = g729
        .final_response(1, "INVITE", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(code, 488);
    // CANCEL and BYE of calls we do not know.
    let mut ghost = Phone::new(ep.local_addr(), "01012340000", VIRTUAL).await;
    let cancel = ghost.request("CANCEL", 1, "z9hG4bKnone", "", None);
    ghost.send(&cancel).await;
    assert_eq!(
        ghost
            .final_response(1, "CANCEL", Duration::from_secs(5))
            .await
            .unwrap()
            .0,
        481
    );
    ghost.to_tag = Some("nope".into());
    assert_eq!(ghost.bye().await, 481);
    // INVITE and CANCEL back to back: either the CANCEL wins (487, the call flow is told the
    // caller hung up) or the answer was already sent (CANCEL has no effect, BYE ends it).
    let payer0 = new_payer();
    let c0 = app.charge(demo_charge(10_000, &payer0)).await;
    let mut quick = Phone::new(
        ep.local_addr(),
        &digits(&payer0),
        &digits(c0.virtual_number.as_deref().unwrap()),
    )
    .await;
    let offer0 = quick.offer();
    let inv0 = quick.request(
        "INVITE",
        1,
        "z9hG4bKquick",
        "",
        Some(("application/sdp", &offer0)),
    );
    let can0 = quick.request("CANCEL", 1, "z9hG4bKquick", "", None);
    quick.send(&inv0).await;
    quick.send(&can0).await;
    assert_eq!(
        quick
            .final_response(1, "CANCEL", Duration::from_secs(5))
            .await
            .unwrap()
            .0,
        200
    );
    let (code0, m0) = quick
        .final_response(1, "INVITE", Duration::from_secs(10))
        .await
        .unwrap();
    match code0 {
        487 => {
            let ack = quick.request("ACK", 1, "z9hG4bKquick", "", None);
            quick.send(&ack).await;
            let rec = wait_record(&app, &quick.call_id, &quick.from_tag, "hung up", |r| {
                r.ended_at.is_some()
            })
            .await;
            assert_eq!(rec.outcome.as_deref(), Some("hung_up"));
        }
        200 => {
            let SipMessage::Response(r) = m0 else {
                unreachable!()
            };
            quick.to_tag = msg::header(&r, "To").and_then(msg::tag);
            let ack = quick.request("ACK", 1, "z9hG4bKquickack", "", None);
            quick.send(&ack).await;
            assert_eq!(quick.bye().await, 200);
        }
        other => panic!("INVITE then CANCEL answered {other}"),
    }
    assert!(app.get_charge(&c0.id).await.status.is_pending());
    // A retransmitted INVITE gets the same answer, and starts no second call.
    let payer = new_payer();
    let c = app.charge(demo_charge(10_000, &payer)).await;
    let mut twice = Phone::new(
        ep.local_addr(),
        &digits(&payer),
        &digits(c.virtual_number.as_deref().unwrap()),
    )
    .await;
    let (inv, c1, m1) = twice.send_invite("z9hG4bKtwice").await;
    twice.send(&inv).await;
    let (c2, m2) = twice
        .final_response(1, "INVITE", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((c1, c2), (200, 200));
    let tag = |m: &SipMessage| match m {
        SipMessage::Response(r) => msg::header(r, "To").and_then(msg::tag),
        _ => None,
    };
    assert_eq!(tag(&m1), tag(&m2));
    // Without an ACK the 200 OK is repeated (RFC 3261 13.3.1.4).
    let again = twice
        .final_response(1, "INVITE", Duration::from_secs(3))
        .await
        .expect("200 OK retransmitted until ACK");
    assert_eq!(again.0, 200);
    twice.to_tag = tag(&m1);
    let ack = twice.request("ACK", 1, "z9hG4bKack", "", None);
    twice.send(&ack).await;
    assert_eq!(twice.bye().await, 200);
    ep.abort().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_listen_setting_starts_the_endpoint_with_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = crate::helpers::test_settings(&tmp.path().join("data"), addr, &[1]);
    assert_eq!(settings.sip_listen, None, "SIP is off by default");
    settings.sip_listen = Some("127.0.0.1:0".parse().unwrap());
    let state = fieldpay_server::app::build_state(settings).unwrap();
    let running = fieldpay_server::app::start(state, listener).await.unwrap();
    let sip_addr = running
        .sip
        .as_ref()
        .expect("SIP endpoint started")
        .local_addr();
    let text = format!(
        "OPTIONS sip:{sip_addr} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKw\r\n\
         From: <sip:m@127.0.0.1>;tag=w\r\nTo: <sip:{sip_addr}>\r\nCall-ID: wiring@test\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    let answer = tcp_request(running.sip.as_ref().unwrap().tcp_addr(), &text).await;
    assert!(answer.starts_with("SIP/2.0 200 OK"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), running.shutdown())
        .await
        .expect("shutdown in time");
}

/// A whole call over TCP: INVITE, 200 OK, ACK, the prompt for a withheld caller ID, and our
/// BYE on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tcp_gets_its_bye_on_the_same_connection() {
    require_speech();
    let (app, ep) = sip_app().await;
    let mut s = TcpStream::connect(ep.tcp_addr()).await.unwrap();
    let local = s.local_addr().unwrap();
    let rtp_sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let stats = Arc::new(Mutex::new(RtpStats::default()));
    let reader = Phone::spawn_rtp_reader(rtp_sock.clone(), stats.clone());
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        rtp_sock.local_addr().unwrap().port()
    );
    let head = |method: &str, cseq: u32, to_tag: &str, branch: &str| {
        format!(
            "{method} sip:{VIRTUAL}@{} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:anonymous@anonymous.invalid>;tag=tcp1\r\n\
             To: <sip:{VIRTUAL}@127.0.0.1>{to_tag}\r\nCall-ID: tcp-call@test\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:caller@{local};transport=tcp>\r\n",
            ep.tcp_addr()
        )
    };
    let invite = format!(
        "{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        head("INVITE", 1, "", "z9hG4bKt1"),
        sdp.len()
    );
    s.write_all(invite.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut got: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut to_tag = String::new();
    let mut bye_seen = false;
    while !bye_seen {
        let mut chunk = [0u8; 4096];
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("BYE in time");
        let n = tokio::time::timeout(left, s.read(&mut chunk))
            .await
            .expect("in time")
            .unwrap();
        assert!(n > 0, "connection closed; got {got:?}");
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(len)) = msg::frame_len(&buf) {
            let m = String::from_utf8_lossy(&buf[..len]).into_owned();
            buf.drain(..len);
            if m.starts_with("SIP/2.0 200") && m.contains("CSeq: 1 INVITE") {
                assert!(m.contains(";transport=tcp>"), "{m}");
                assert!(
                    m.contains(" RTP/AVP 8 101\r\n"),
                    "PCMA first, as offered: {m}"
                );
                let parsed = msg::parse(m.as_bytes()).unwrap();
                let SipMessage::Response(r) = parsed else {
                    unreachable!()
                };
                to_tag = format!(";tag={}", msg::header(&r, "To").and_then(msg::tag).unwrap());
                let ack = format!(
                    "{}Content-Length: 0\r\n\r\n",
                    head("ACK", 1, &to_tag, "z9hG4bKt2")
                );
                s.write_all(ack.as_bytes()).await.unwrap();
            } else if m.starts_with("BYE ") {
                let parsed = msg::parse(m.as_bytes()).unwrap();
                let SipMessage::Request(r) = parsed else {
                    unreachable!()
                };
                assert!(
                    msg::header(&r, "Via").unwrap().contains("SIP/2.0/TCP"),
                    "{m}"
                );
                let ok = msg::response(&r, local, 200, "OK", None, &[], None);
                s.write_all(&ok).await.unwrap();
                bye_seen = true;
            }
            got.push(m.lines().next().unwrap_or("").to_string());
        }
    }
    assert!(!to_tag.is_empty(), "answered: {got:?}");
    assert!(
        stats.lock().unwrap().voiced > 50,
        "the withheld-caller prompt was played"
    );
    reader.abort();
    let rec = call_record(&app, "tcp-call@test", "tcp1").await.unwrap();
    assert_eq!(rec.outcome.as_deref(), Some("caller_id_withheld"));
    ep.abort().await;
}

// ------------------------------------------------------------------ who is trusted

/// True when the call has reached the card number question.
fn at_card_number(r: &fieldpay_server::store::CallSessionRecord) -> bool {
    r.checkpoint.contains("card_number") || r.checkpoint.contains("CardNumber")
}

/// A charge whose bill text went out (nothing about it moves on its own any more).
async fn settled_charge(
    app: &TestApp,
    amount: i64,
    payer: &str,
) -> fieldpay_protocol::charge::Charge {
    let c = app.charge(demo_charge(amount, payer)).await;
    crate::helpers::settle_sms(app).await;
    app.wait_status(&c.id, "sms_sent").await
}

/// A new payer with a charge of `amount` calls from 127.0.0.1 and is answered.
async fn payer_calls(
    app: &TestApp,
    ep: &SipEndpoint,
    amount: i64,
) -> (fieldpay_protocol::charge::Charge, Phone) {
    let payer = new_payer();
    let c = settled_charge(app, amount, &payer).await;
    let vn = digits(c.virtual_number.as_deref().unwrap());
    let mut p = Phone::new(ep.local_addr(), &digits(&payer), &vn).await;
    assert_eq!(p.invite().await, 200);
    (c, p)
}

/// After keys sent from elsewhere: 1.5 s later the call is still at the order question; then
/// "1" from `own` (the caller's media socket) confirms and the card number is asked.
async fn only_own_keys_count(app: &TestApp, p: &mut Phone, own: &UdpSocket) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rec = call_record(app, &p.call_id, &p.from_tag).await.unwrap();
    assert!(
        !at_card_number(&rec),
        "keys from another address were taken: {}",
        rec.checkpoint
    );
    assert!(rec.ended_at.is_none());
    p.press_from(own, "1", Duration::from_millis(100)).await;
    wait_record(
        app,
        &p.call_id,
        &p.from_tag,
        "card number step",
        at_card_number,
    )
    .await;
}

/// Security finding 1: an INVITE from outside `sip_trusted_peers` asserting a payer's number
/// is refused before anything starts, and so are that address's other requests; the same
/// INVITE from a trusted peer is believed and pays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_sources_are_refused_and_a_trusted_peer_pays() {
    require_speech();
    let (app, ep) = sip_app_with(|s| {
        s.sip_trusted_peers = TrustedPeers::parse(&["127.0.0.2/32"]).unwrap();
    })
    .await;
    let payer = new_payer();
    let before = settled_charge(&app, 18_000, &payer).await;
    let vn = digits(before.virtual_number.as_deref().unwrap());
    let asserted = format!("<sip:{}@carrier.example;user=phone>", digits(&payer));

    // From 127.0.0.1 (not trusted here), claiming the payer's number.
    let mut intruder = Phone::new(ep.local_addr(), "01055550000", &vn).await;
    intruder.pai = Some(asserted.clone());
    assert_eq!(intruder.invite().await, 403);
    // Also with the payer's number in From, and over TCP.
    let mut plain = Phone::new(ep.local_addr(), &digits(&payer), &vn).await;
    assert_eq!(plain.invite().await, 403);
    let options = format!(
        "OPTIONS sip:{vn}@{} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKu1\r\n\
         From: <sip:{}@127.0.0.1>;tag=u1\r\nTo: <sip:{vn}@127.0.0.1>\r\nCall-ID: untrusted@test\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        ep.tcp_addr(),
        digits(&payer)
    );
    let over_tcp = tcp_request(ep.tcp_addr(), &options).await;
    assert!(
        over_tcp.starts_with("SIP/2.0 403 Forbidden\r\n"),
        "{over_tcp}"
    );
    // Nothing started, nothing was kept, the charge is as it was.
    assert!(call_record(&app, &intruder.call_id, &intruder.from_tag)
        .await
        .is_none());
    assert!(call_record(&app, &plain.call_id, &plain.from_tag)
        .await
        .is_none());
    assert_eq!(ep.dialogs(), 0);
    assert_eq!(app.state().calls.count(), 0);
    assert_eq!(
        intruder.stats().packets + plain.stats().packets,
        0,
        "no audio"
    );
    assert_eq!(
        app.get_charge(&before.id).await,
        before,
        "the charge untouched"
    );
    // Logged by source address, never by the number claimed.
    let refused: Vec<String> = logs()
        .lines()
        .filter(|l| l.contains("outside sip_trusted_peers"))
        .map(str::to_string)
        .collect();
    assert!(
        refused
            .iter()
            .any(|l| l.contains(&intruder.local.to_string())),
        "{refused:?}"
    );
    assert!(
        !refused.iter().any(|l| l.contains(&digits(&payer))),
        "{refused:?}"
    );

    // The same INVITE from the trusted peer: the asserted number is the caller ID.
    let mut trunk = Phone::new_at([127, 0, 0, 2].into(), ep.local_addr(), "01055550000", &vn).await;
    trunk.pai = Some(asserted);
    assert_eq!(trunk.invite().await, 200);
    // An untrusted address cannot reach into the trusted call either.
    let mut spoof = Phone::new(ep.local_addr(), "01055550000", &vn).await;
    spoof.call_id = trunk.call_id.clone();
    spoof.from_tag = trunk.from_tag.clone();
    spoof.to_tag = trunk.to_tag.clone();
    spoof.cseq = 10;
    assert_eq!(spoof.info('1', true).await, 403);
    assert_eq!(spoof.bye().await, 403);
    let paid = pay_by_keys(&app, &mut trunk, &before.id).await;
    assert_eq!(paid.payment.as_ref().unwrap().amount, 18_000);
    ep.abort().await;
}

/// Key events sent to a call's media port from any address but the one its SDP named (the
/// same host on another port, another host) are dropped: they do not answer the question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_keys_from_other_addresses_are_ignored() {
    require_speech();
    let (app, ep) = sip_app().await;
    let (c, mut p) = payer_calls(&app, &ep, 11_000).await;
    wait_packets(&p, 10).await;
    // "1" would confirm the order and ask for the card number.
    for other in ["127.0.0.1:0", "127.0.0.2:0"] {
        let sock = UdpSocket::bind(other).await.unwrap();
        p.press_from(&sock, "1", Duration::from_millis(100)).await;
    }
    // The caller's own key counts.
    let own = p.rtp.clone();
    only_own_keys_count(&app, &mut p, &own).await;
    assert_eq!(p.bye().await, 200);
    let session = sip::session_id(&p.call_id, &p.from_tag);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !logs()
        .lines()
        .any(|l| l.contains(&session) && l.contains("dropped=") && l.contains("media ended"))
    {
        assert!(
            Instant::now() < deadline,
            "the dropped packets are counted in the log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.get_charge(&c.id).await.status.is_pending());
    ep.abort().await;
}

/// With `sip_symmetric_rtp` the first packet's source is the caller's media address (a caller
/// behind NAT sends from another port than its SDP names): the audio goes there, and keys
/// from anywhere else, the SDP's address included, are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symmetric_rtp_latches_the_first_packets_source() {
    require_speech();
    let (app, ep) = sip_app_with(|s| s.sip_symmetric_rtp = true).await;
    let (_, mut p) = payer_calls(&app, &ep, 13_000).await;
    // The "NAT" socket sends one silent PCMU frame first.
    let nat = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let nat_stats = Arc::new(Mutex::new(RtpStats::default()));
    let nat_reader = Phone::spawn_rtp_reader(nat.clone(), nat_stats.clone());
    let mut frame = Vec::new();
    rtp::write_rtp(
        &mut frame,
        true,
        0,
        1,
        160,
        0x7777,
        &[0xFF; rtp::FRAME_SAMPLES],
    );
    nat.send_to(&frame, p.remote_rtp.unwrap()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while nat_stats.lock().unwrap().packets < 10 {
        assert!(
            Instant::now() < deadline,
            "the audio follows the first packet"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Keys from the address the SDP named are now someone else's.
    let rtp = p.rtp.clone();
    p.press_from(&rtp, "1", Duration::from_millis(100)).await;
    only_own_keys_count(&app, &mut p, &nat).await;
    assert_eq!(p.bye().await, 200);
    nat_reader.abort();
    ep.abort().await;
}

/// One address has at most `sip_max_calls_per_source` calls at once: the next INVITE gets 503
/// with Retry-After; other addresses are not affected, and a call ending makes room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_at_once_per_source_address_are_limited() {
    require_speech();
    let (app, ep) = sip_app_with(|s| s.sip_max_calls_per_source = 2).await;
    let mut phones = Vec::new();
    for (i, ip) in [
        [127, 0, 0, 1],
        [127, 0, 0, 1],
        [127, 0, 0, 1],
        [127, 0, 0, 2],
    ]
    .into_iter()
    .enumerate()
    {
        let payer = new_payer();
        let c = app.charge(demo_charge(10_000 + i as i64, &payer)).await;
        let vn = digits(c.virtual_number.as_deref().unwrap());
        phones.push((
            Phone::new_at(ip.into(), ep.local_addr(), &digits(&payer), &vn).await,
            c,
        ));
    }
    assert_eq!(phones[0].0.invite().await, 200);
    assert_eq!(phones[1].0.invite().await, 200);
    // The third from 127.0.0.1: 503, asked to come back later; nothing started.
    let third = &mut phones[2].0;
    let (_, code, m) = third.send_invite("z9hG4bKfull").await;
    assert_eq!(code, 503);
    let SipMessage::Response(r) = m else {
        unreachable!()
    };
    assert_eq!(msg::header(&r, "Retry-After"), Some("30"));
    let ack = third.request("ACK", 1, "z9hG4bKfull", "", None);
    third.send(&ack).await;
    assert!(call_record(&app, &third.call_id, &third.from_tag)
        .await
        .is_none());
    // Another address is not limited by 127.0.0.1's calls.
    assert_eq!(phones[3].0.invite().await, 200);
    // One call ends: 127.0.0.1 may call again.
    assert_eq!(phones[0].0.bye().await, 200);
    let third = &mut phones[2].0;
    third.cseq = 2;
    assert_eq!(third.invite().await, 200);
    for (phone, charge) in phones.iter_mut().skip(1) {
        assert_eq!(phone.bye().await, 200);
        assert!(app.get_charge(&charge.id).await.status.is_pending());
    }
    ep.abort().await;
}

// ------------------------------------------------------------------ load

/// 200 calls at once through sipp (each paying its own charge with RFC 4733 events from one
/// pcap file), the server in this process. Prints success rate, CPU and memory. Run with
/// `cargo test -p fieldpay-server --test it sip::load -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: takes about a minute and all of the machine"]
async fn load_200_concurrent_calls() {
    let sipp = require("sipp", "sip-tester");
    require_speech();
    let calls: usize = std::env::var("SIP_LOAD_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // Every sipp call comes from 127.0.0.1, like a trunk's.
    let (app, ep) = sip_app_with(|s| s.sip_max_calls_per_source = calls + 10).await;
    let work = tempfile::tempdir().unwrap();
    // One charge per payer.
    let mut csv = String::from("SEQUENTIAL\n");
    let mut charges = Vec::new();
    for i in 0..calls {
        let payer = format!("010-66{:02}-{:04}", i / 10000, i % 10000);
        let c = app.charge(demo_charge(30_000, &payer)).await;
        csv.push_str(&format!(
            "{};{}\n",
            digits(&payer),
            digits(c.virtual_number.as_deref().unwrap())
        ));
        charges.push(c.id);
    }
    std::fs::write(work.path().join("callers.csv"), csv).unwrap();
    let all_keys: String = PAY_STEPS.concat();
    let pcap = work.path().join("pay.pcap");
    std::fs::write(&pcap, dtmf_pcap(&all_keys, 96, 0x10ad, 8000, 10)).unwrap();
    let steps = vec![(pcap, 9000u32)];
    let scen = sipp_scenario("[field0]", &steps)
        .replace("[service]@[remote_ip]", "[field1]@[remote_ip]")
        // The stock PT 101 pcap is the functional test's business.
        .replace(
            "  <pause milliseconds=\"800\"/>\n  <nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_2.pcap\"/></action></nop>\n",
            "  <pause milliseconds=\"800\"/>\n",
        );
    std::fs::write(work.path().join("load.xml"), scen).unwrap();
    // Warm the prompt cache the way a first call does (synthesis is per text, once).
    let (sip_port, media_port) = (free_port(), free_port());
    let cpu = |pid: &str| -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let f: Vec<&str> = s
            .rsplit_once(')')
            .map(|(_, r)| r)
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        ticks / 100.0
    };
    let rss_kb = || -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    let rss_before = rss_kb();
    let cpu_before = cpu("self");
    let t0 = Instant::now();
    let peak = Arc::new(Mutex::new((0u64, 0usize)));
    let p2 = peak.clone();
    let state = app.state().clone();
    let sampler = tokio::spawn(async move {
        loop {
            let r = rss_kb();
            let live = state.calls.count();
            {
                let mut p = p2.lock().unwrap();
                p.0 = p.0.max(r);
                p.1 = p.1.max(live);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // A probe caller of our own measures the audio timing while the load runs (it presses
    // nothing: the read-out is repeated after each timeout).
    let probe_payer = new_payer();
    let pc = app.charge(demo_charge(30_000, &probe_payer)).await;
    let mut probe = Phone::new(
        ep.local_addr(),
        &digits(&probe_payer),
        &digits(pc.virtual_number.as_deref().unwrap()),
    )
    .await;
    assert_eq!(probe.invite().await, 200);
    let child = tokio::process::Command::new(&sipp)
        .current_dir(work.path())
        .args(["-sf", "load.xml", "-inf", "callers.csv"])
        .args([
            "-m",
            &calls.to_string(),
            "-l",
            &calls.to_string(),
            "-r",
            "50",
            "-rp",
            "1000",
        ])
        .args(["-i", "127.0.0.1", "-p", &sip_port.to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
        .args([
            "-timeout",
            "240s",
            "-timeout_error",
            "-nostdin",
            "-trace_stat",
            "-trace_err",
        ])
        .arg(ep.local_addr().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp starts");
    let sipp_pid = child.id().unwrap().to_string();
    let sipp_cpu = Arc::new(Mutex::new(0.0f64));
    let sc = sipp_cpu.clone();
    let cpu_sampler = tokio::spawn(async move {
        loop {
            let v = cpu(&sipp_pid);
            if v > 0.0 {
                *sc.lock().unwrap() = v;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("sipp finished")
        .unwrap();
    let wall = t0.elapsed();
    let cpu_used = cpu("self") - cpu_before;
    sampler.abort();
    cpu_sampler.abort();
    let mut approved = 0;
    for id in &charges {
        if app.get_charge(id).await.status.as_str() == "approved" {
            approved += 1;
        }
    }
    let (peak_rss, peak_calls) = *peak.lock().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("Successful call") || l.contains("Failed call"))
        .collect();
    println!("== SIP load: {calls} calls, sipp -l {calls} -r 50, server in this test process (debug build)");
    println!("   sipp exit: {} {}", out.status, summary.join(" | "));
    println!(
        "   charges approved: {approved}/{calls} ({:.1}%)",
        100.0 * approved as f64 / calls as f64
    );
    println!("   peak calls in progress: {peak_calls}");
    println!(
        "   wall {:.1} s; server process CPU {:.1} s = {:.0}% of one core on average ({} cores)",
        wall.as_secs_f64(),
        cpu_used,
        100.0 * cpu_used / wall.as_secs_f64(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!("   sipp CPU {:.1} s", *sipp_cpu.lock().unwrap());
    println!(
        "   server RSS before {} MiB, peak {} MiB",
        rss_before / 1024,
        peak_rss / 1024
    );
    {
        let st = probe.stats();
        println!(
            "   probe call audio: {} packets, {} gaps over 40 ms, longest gap {} ms, {} sequence gaps",
            st.packets, st.late, st.max_gap.as_millis(), st.seq_gaps
        );
    }
    assert_eq!(
        approved,
        calls,
        "every call paid; sipp said:\n{}",
        stdout.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    ep.abort().await;
}
