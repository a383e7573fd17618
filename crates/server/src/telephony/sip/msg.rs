//! SIP messages for our user-agent server: parsing is rsipstack's (`rsipstack::sip`); this
//! module reads the few header values we need, frames messages on a TCP stream, and writes
//! the responses and the BYE we send (plain text, every header we send chosen here).

use std::net::SocketAddr;

use rsipstack::sip::{HasHeaders, Header, Request, SipMessage};

/// Parses one SIP message (a UDP datagram or a framed TCP message).
pub fn parse(bytes: &[u8]) -> Option<SipMessage> {
    rsipstack::sip::parser::parse_message(bytes).ok()
}

/// All values of a header by its full name (compact forms were expanded by the parser),
/// case-insensitively, in order.
pub fn headers<'a, M: HasHeaders>(m: &'a M, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    m.headers()
        .iter()
        .filter(move |h| h.name().eq_ignore_ascii_case(name))
        .map(Header::value)
}

pub fn header<'a, M: HasHeaders>(m: &'a M, name: &'a str) -> Option<&'a str> {
    headers(m, name).next().map(str::trim)
}

/// The value of a `;name=value` parameter of a header value (outside `<...>`).
pub fn param(value: &str, name: &str) -> Option<String> {
    let after = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    after.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The URI of a name-addr or addr-spec header value (`"Bob" <sip:bob@x>;tag=1` -> `sip:bob@x`).
pub fn addr_uri(value: &str) -> &str {
    let v = value.trim();
    if let (Some(a), Some(b)) = (v.find('<'), v.rfind('>')) {
        if a < b {
            return v[a + 1..b].trim();
        }
    }
    // addr-spec: header parameters follow the URI after ';'
    v.split(';').next().unwrap_or(v).trim()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user part of a `sip:`/`sips:` URI or the number of a `tel:` URI, without user
/// parameters (`;phone-context=...`), percent-decoded. None when there is none.
pub fn uri_user(uri: &str) -> Option<String> {
    let u = uri.trim();
    let lower = u.to_ascii_lowercase();
    let rest = if lower.starts_with("sips:") {
        &u[5..]
    } else if lower.starts_with("sip:") || lower.starts_with("tel:") {
        &u[4..]
    } else {
        return None;
    };
    let user = if lower.starts_with("tel:") {
        rest
    } else {
        let at = rest.find('@')?;
        &rest[..at]
    };
    let user = user.split(';').next().unwrap_or(user);
    let user = user.split(':').next().unwrap_or(user); // user:password
    let user = percent_decode(user);
    (!user.is_empty()).then_some(user)
}

/// A telephone number as the call flow wants it: digits with an optional leading `+`, visual
/// separators dropped ("1600-0010", "+82 16000010" -> "16000010" / "+8216000010"). Anything
/// that is not a number ("anonymous") comes back as it was.
pub fn phone_digits(user: &str) -> String {
    let t = user.trim();
    let cleaned: String = t
        .chars()
        .enumerate()
        .filter(|(i, c)| c.is_ascii_digit() || (*c == '+' && *i == 0))
        .map(|(_, c)| c)
        .collect();
    let only_visual = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | ' ' | '(' | ')'));
    if only_visual && cleaned.chars().any(|c| c.is_ascii_digit()) {
        cleaned
    } else {
        t.to_string()
    }
}

/// The dialled number: the Request-URI user part, else the To user part.
pub fn dialled(req: &Request) -> Option<String> {
    uri_user(&req.uri.to_string())
        .or_else(|| header(req, "To").and_then(|t| uri_user(addr_uri(t))))
        .map(|u| phone_digits(&u))
}

/// The caller ID: P-Asserted-Identity when present (the first one with a number) and the
/// request came from a trusted peer, else the From user. Empty when withheld (`Privacy:
/// id`/`header`, anonymous From).
///
/// P-Asserted-Identity is an assertion by a member of the trust domain (RFC 3325): from
/// anyone else it is what the caller says about itself, and is ignored.
pub fn caller_id(req: &Request, from_trusted_peer: bool) -> String {
    let privacy = headers(req, "Privacy").flat_map(|v| v.split(';')).any(|p| {
        matches!(
            p.trim().to_ascii_lowercase().as_str(),
            "id" | "header" | "user"
        )
    });
    if privacy {
        return String::new();
    }
    let pai = headers(req, "P-Asserted-Identity")
        .filter(|_| from_trusted_peer)
        .flat_map(|v| v.split(','))
        .filter_map(|v| uri_user(addr_uri(v)))
        .map(|u| phone_digits(&u))
        .find(|u| u.chars().any(|c| c.is_ascii_digit()));
    if let Some(p) = pai {
        return p;
    }
    let from = header(req, "From").unwrap_or("");
    match uri_user(addr_uri(from)) {
        Some(u) if !u.eq_ignore_ascii_case("anonymous") => phone_digits(&u),
        _ => String::new(),
    }
}

/// The tag parameter of From or To.
pub fn tag(value: &str) -> Option<String> {
    param(value, "tag").filter(|t| !t.is_empty())
}

/// (sequence number, method) of a CSeq header.
pub fn cseq(req: &Request) -> Option<(u32, String)> {
    let v = header(req, "CSeq")?;
    let mut it = v.split_whitespace();
    let n = it.next()?.parse().ok()?;
    let m = it.next()?.to_ascii_uppercase();
    Some((n, m))
}

/// The branch parameter of the top Via.
pub fn top_branch(req: &Request) -> Option<String> {
    let via = header(req, "Via")?;
    let top = via.split(',').next().unwrap_or(via);
    param(top, "branch")
}

/// The content type of a message, lower case, without parameters.
pub fn content_type<M: HasHeaders>(m: &M) -> String {
    header(m, "Content-Type")
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Keys carried by a SIP INFO body: `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (`5`). Signals 10 and 11 are `*` and `#`.
pub fn info_keys(content_type: &str, body: &[u8]) -> Option<Vec<char>> {
    let text = std::str::from_utf8(body).ok()?;
    let to_key = |s: &str| -> Option<char> {
        let s = s.trim();
        match s {
            "10" => Some('*'),
            "11" => Some('#'),
            _ if s.len() == 1 => s
                .chars()
                .next()
                .filter(|c| c.is_ascii_digit() || *c == '*' || *c == '#'),
            _ => None,
        }
    };
    match content_type {
        "application/dtmf-relay" => {
            let signal = text.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("signal")
                    .then(|| v.trim().to_string())
            })?;
            Some(to_key(&signal).into_iter().collect())
        }
        "application/dtmf" => Some(text.split_whitespace().filter_map(to_key).collect()),
        _ => None,
    }
}

/// How long the first complete message in `buf` is (headers, blank line, Content-Length
/// bytes of body), None when incomplete, Err when it cannot be framed (no Content-Length
/// or a huge message). CRLF keep-alives at the start are counted as a message of their own.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, &'static str> {
    let ka = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if ka > 0 {
        return Ok(Some(ka));
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > 64 * 1024 {
            Err("SIP header section too large")
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "SIP headers not UTF-8")?;
    let mut len: Option<usize> = None;
    for line in head.split("\r\n").skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim();
            if k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("l") {
                len = Some(v.trim().parse().map_err(|_| "bad Content-Length")?);
            }
        }
    }
    let len = len.ok_or("Content-Length missing on a stream transport")?;
    if len > 64 * 1024 {
        return Err("SIP body too large");
    }
    let total = end + 4 + len;
    Ok((buf.len() >= total).then_some(total))
}

/// A response to `req`: Via (the top one with `received`/`rport` filled from `source`),
/// From, To (with `to_tag` added when it has none), Call-ID, CSeq copied; then `extra`
/// headers and the body.
pub fn response(
    req: &Request,
    source: SocketAddr,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    body: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let mut s = format!("SIP/2.0 {code} {reason}\r\n");
    let mut first_via = true;
    for via in headers(req, "Via") {
        if first_via {
            first_via = false;
            let (top, rest) = match via.split_once(',') {
                Some((t, r)) => (t.trim(), Some(r.trim())),
                None => (via.trim(), None),
            };
            s.push_str("Via: ");
            s.push_str(&via_with_received(top, source));
            if let Some(r) = rest {
                s.push_str(", ");
                s.push_str(r);
            }
            s.push_str("\r\n");
        } else {
            s.push_str(&format!("Via: {}\r\n", via.trim()));
        }
    }
    if let Some(f) = header(req, "From") {
        s.push_str(&format!("From: {f}\r\n"));
    }
    if let Some(t) = header(req, "To") {
        match (tag(t), to_tag) {
            (None, Some(tt)) => s.push_str(&format!("To: {t};tag={tt}\r\n")),
            _ => s.push_str(&format!("To: {t}\r\n")),
        }
    }
    if let Some(c) = header(req, "Call-ID") {
        s.push_str(&format!("Call-ID: {c}\r\n"));
    }
    if let Some(c) = header(req, "CSeq") {
        s.push_str(&format!("CSeq: {c}\r\n"));
    }
    // Record-Route is echoed in 2xx to dialog-creating requests (RFC 3261 12.1.1).
    if (200..300).contains(&code) && req.method.to_string() == "INVITE" {
        for rr in headers(req, "Record-Route") {
            s.push_str(&format!("Record-Route: {}\r\n", rr.trim()));
        }
    }
    s.push_str("Server: FieldPay\r\n");
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    let mut out;
    match body {
        Some((ctype, b)) => {
            s.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                b.len()
            ));
            out = s.into_bytes();
            out.extend_from_slice(b);
        }
        None => {
            s.push_str("Content-Length: 0\r\n\r\n");
            out = s.into_bytes();
        }
    }
    out
}

/// The top Via with `received` (when the source address differs from sent-by) and `rport`
/// (when asked for) set, RFC 3261 18.2.1 and RFC 3581.
fn via_with_received(top: &str, source: SocketAddr) -> String {
    let mut parts: Vec<String> = top.split(';').map(|p| p.trim().to_string()).collect();
    let sent_by_host = parts
        .first()
        .and_then(|p| p.split_whitespace().nth(1))
        .map(|h| {
            if let Some(stripped) = h.strip_prefix('[') {
                stripped.split(']').next().unwrap_or("").to_string()
            } else {
                h.split(':').next().unwrap_or("").to_string()
            }
        })
        .unwrap_or_default();
    let src_ip = source.ip().to_string();
    let mut has_received = false;
    for p in parts.iter_mut().skip(1) {
        let lower = p.to_ascii_lowercase();
        if lower == "rport" {
            *p = format!("rport={}", source.port());
        } else if lower.starts_with("received=") {
            has_received = true;
        }
    }
    if !has_received && sent_by_host != src_ip {
        parts.push(format!("received={src_ip}"));
    }
    parts.join(";")
}

/// What an in-dialog request from us needs: the dialog identifiers and where to send.
#[derive(Debug, Clone)]
pub struct DialogIds {
    pub call_id: String,
    /// Our URI with our tag (the To of their INVITE + tag).
    pub local: String,
    /// Their From (with their tag).
    pub remote: String,
    /// Their Contact URI (the remote target).
    pub remote_target: String,
    /// Record-Route values of their INVITE, in order (our route set as the UAS).
    pub route_set: Vec<String>,
}

/// An in-dialog request from us (BYE): Request-URI = remote target (or the first route when
/// it is a strict router), Route set, our Via with a fresh branch.
pub fn request(
    method: &str,
    d: &DialogIds,
    cseq: u32,
    via_sent_by: &str,
    transport: &str,
    branch: &str,
    extra: &[(&str, String)],
) -> Vec<u8> {
    let mut s = format!("{method} {} SIP/2.0\r\n", d.remote_target);
    s.push_str(&format!(
        "Via: SIP/2.0/{transport} {via_sent_by};branch={branch};rport\r\n"
    ));
    s.push_str("Max-Forwards: 70\r\n");
    for r in &d.route_set {
        s.push_str(&format!("Route: {r}\r\n"));
    }
    s.push_str(&format!("From: {}\r\n", d.local));
    s.push_str(&format!("To: {}\r\n", d.remote));
    s.push_str(&format!("Call-ID: {}\r\n", d.call_id));
    s.push_str(&format!("CSeq: {cseq} {method}\r\n"));
    s.push_str("User-Agent: FieldPay\r\n");
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

/// The host:port of a SIP URI (`sip:user@host:port;params`), with the default port for the
/// transport; `[v6]` literals kept.
pub fn uri_hostport(uri: &str) -> Option<(String, Option<u16>)> {
    let u = addr_uri(uri);
    let rest = u.split_once(':')?.1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hostport = rest.split([';', '?']).next()?;
    if let Some(v6) = hostport.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        let port = p.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some((h.to_string(), port));
    }
    match hostport.split_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok())),
        None => Some((hostport.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::sip::Request;

    fn req(text: &str) -> Request {
        match parse(text.replace('\n', "\r\n").as_bytes()).expect("parses") {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("not a request"),
        }
    }

    const INVITE: &str = "INVITE sip:1600-0010@127.0.0.1:5070;user=phone SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport
v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0
f: \"Payer\" <sip:010-1234-5678@127.0.0.1:5061>;tag=abc
t: <sip:1600-0010@127.0.0.1>
i: call-1@127.0.0.1
CSeq: 1 INVITE
m: <sip:payer@127.0.0.1:5061>
Record-Route: <sip:proxy.example;lr>
Max-Forwards: 70
c: application/sdp
l: 5

v=0
";

    #[test]
    fn reads_an_invite() {
        let r = req(INVITE);
        assert_eq!(r.method.to_string(), "INVITE");
        assert_eq!(dialled(&r).as_deref(), Some("16000010"));
        assert_eq!(caller_id(&r, true), "01012345678");
        assert_eq!(header(&r, "Call-ID"), Some("call-1@127.0.0.1"));
        assert_eq!(tag(header(&r, "From").unwrap()).as_deref(), Some("abc"));
        assert_eq!(tag(header(&r, "To").unwrap()), None);
        assert_eq!(cseq(&r), Some((1, "INVITE".into())));
        assert_eq!(top_branch(&r).as_deref(), Some("z9hG4bK-1"));
        assert_eq!(content_type(&r), "application/sdp");
        assert_eq!(r.body, b"v=0\r\n");
        assert_eq!(
            addr_uri(header(&r, "Contact").unwrap()),
            "sip:payer@127.0.0.1:5061"
        );
    }

    #[test]
    fn caller_id_sources() {
        let pai = INVITE.replace(
            "Max-Forwards: 70",
            "P-Asserted-Identity: \"x\" <sip:+821099998888@carrier;user=phone>, <tel:+821099998888>\nMax-Forwards: 70",
        );
        assert_eq!(caller_id(&req(&pai), true), "+821099998888");
        // From an untrusted peer the assertion is ignored: the From user is the caller ID.
        assert_eq!(caller_id(&req(&pai), false), "01012345678");
        let tel = INVITE.replace(
            "Max-Forwards: 70",
            "P-Asserted-Identity: <tel:010-2222-3333;phone-context=+82>\nMax-Forwards: 70",
        );
        assert_eq!(caller_id(&req(&tel), true), "01022223333");
        let privacy = pai.replace("Max-Forwards: 70", "Privacy: id\nMax-Forwards: 70");
        assert_eq!(caller_id(&req(&privacy), true), "");
        assert_eq!(caller_id(&req(&privacy), false), "");
        let anon = INVITE.replace(
            "\"Payer\" <sip:010-1234-5678@127.0.0.1:5061>",
            "\"Anonymous\" <sip:anonymous@anonymous.invalid>",
        );
        assert_eq!(caller_id(&req(&anon), true), "");
        let encoded = INVITE.replace("sip:010-1234-5678@", "sip:%2B821012345678@");
        assert_eq!(caller_id(&req(&encoded), true), "+821012345678");
    }

    #[test]
    fn dialled_number_forms() {
        for (uri, want) in [
            ("sip:16000010@h", "16000010"),
            ("sip:+8216000010@h;user=phone", "+8216000010"),
            ("sip:1600-0010@h", "16000010"),
            ("sip:+82-1600-0010;npdi@h", "+8216000010"),
            ("sip:ivr@h", "ivr"),
        ] {
            let text = INVITE.replace("sip:1600-0010@127.0.0.1:5070;user=phone", uri);
            assert_eq!(dialled(&req(&text)).as_deref(), Some(want), "{uri}");
        }
        // No user in the Request-URI: the To header's.
        let text = INVITE.replace(
            "INVITE sip:1600-0010@127.0.0.1:5070;user=phone",
            "INVITE sip:127.0.0.1:5070",
        );
        assert_eq!(dialled(&req(&text)).as_deref(), Some("16000010"));
        assert_eq!(
            uri_user("tel:+82-16000010;phone-context=x").as_deref(),
            Some("+82-16000010")
        );
        assert_eq!(uri_user("mailto:x@y"), None);
    }

    #[test]
    fn builds_responses() {
        let r = req(INVITE);
        let src: SocketAddr = "192.0.2.7:5099".parse().unwrap();
        let out = response(
            &r,
            src,
            200,
            "OK",
            Some("t1"),
            &[("Contact", "<sip:x@y>".into())],
            Some(("application/sdp", b"v=0\r\n")),
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport=5099;received=192.0.2.7\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n"), "{text}");
        assert!(text.contains("To: <sip:1600-0010@127.0.0.1>;tag=t1\r\n"));
        assert!(text.contains("Record-Route: <sip:proxy.example;lr>\r\n"));
        assert!(text.contains("Content-Length: 5\r\n\r\nv=0\r\n"));
        // It parses back, and frames as one message.
        assert!(matches!(parse(&out), Some(SipMessage::Response(_))));
        assert_eq!(frame_len(&out), Ok(Some(out.len())));
        let mut two = out.clone();
        two.extend_from_slice(&out[..10]);
        assert_eq!(frame_len(&two), Ok(Some(out.len())));
        assert_eq!(frame_len(&out[..out.len() - 1]), Ok(None));
        assert_eq!(frame_len(b"\r\n\r\nINVITE"), Ok(Some(4)));
        assert!(frame_len(b"OPTIONS sip:x SIP/2.0\r\n\r\n").is_err());
    }

    #[test]
    fn builds_a_bye() {
        let d = DialogIds {
            call_id: "c1".into(),
            local: "<sip:16000010@127.0.0.1>;tag=ours".into(),
            remote: "\"Payer\" <sip:01012345678@127.0.0.1>;tag=theirs".into(),
            remote_target: "sip:payer@127.0.0.1:5061".into(),
            route_set: vec!["<sip:proxy.example;lr>".into()],
        };
        let out = request("BYE", &d, 7, "127.0.0.1:5070", "UDP", "z9hG4bKx", &[]);
        let r = req(&String::from_utf8(out).unwrap().replace("\r\n", "\n"));
        assert_eq!(r.method.to_string(), "BYE");
        assert_eq!(cseq(&r), Some((7, "BYE".into())));
        assert_eq!(header(&r, "Route"), Some("<sip:proxy.example;lr>"));
        assert_eq!(tag(header(&r, "From").unwrap()).as_deref(), Some("ours"));
        assert_eq!(
            uri_hostport("sip:payer@127.0.0.1:5061;transport=tcp"),
            Some(("127.0.0.1".into(), Some(5061)))
        );
        assert_eq!(
            uri_hostport("<sip:proxy.example;lr>"),
            Some(("proxy.example".into(), None))
        );
        assert_eq!(
            uri_hostport("sip:[::1]:5062"),
            Some(("::1".into(), Some(5062)))
        );
    }

    #[test]
    fn info_bodies() {
        assert_eq!(
            info_keys("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"),
            Some(vec!['5'])
        );
        assert_eq!(
            info_keys("application/dtmf-relay", b"Signal= #\r\n"),
            Some(vec!['#'])
        );
        assert_eq!(
            info_keys("application/dtmf-relay", b"Signal=11\r\n"),
            Some(vec!['#'])
        );
        assert_eq!(info_keys("application/dtmf", b"*"), Some(vec!['*']));
        assert_eq!(
            info_keys("application/dtmf-relay", b"Signal=A\r\n"),
            Some(vec![])
        );
        assert_eq!(info_keys("text/plain", b"5"), None);
    }
}
