//! Signed payment links: `/pay/{merchant_code}?goods_name=..&amount=..&expires=..&sig=..`,
//! built by a CRM (or a shop) without an API call. `sig` is the lower-case hex HMAC-SHA256,
//! keyed with the merchant's link key (the key's text as shown, `fpl_...`, as UTF-8 bytes), of
//! the canonical query: every parameter but `sig`, sorted by name (byte order), each
//! `name=value` percent-encoded as RFC 3986 says (every byte but `A-Z a-z 0-9 - . _ ~` as
//! `%XX`, upper-case hex, of its UTF-8), joined with `&`. The signature is compared in
//! constant time. README ("Web link and CRM") has a worked example that a test here checks.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The parameters a signed link may carry (all inside the signature).
pub const PARAMS: [&str; 10] = [
    "goods_name",
    "amount",
    "order_ref",
    "payer_name",
    "payer_phone",
    "payer_email",
    "expires",
    "mode",
    "installments",
    "lang",
];

/// The prefix of a link key.
pub const KEY_PREFIX: &str = "fpl_";

/// A new link key: `fpl_` and 32 random bytes in hex (from the OS RNG).
pub fn new_key() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Why a signed link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No `sig`, a `sig` that is not the signature, or the merchant has no link key.
    #[error("the link's signature is missing or wrong")]
    BadSignature,
    /// The signature holds, but a parameter is missing, unknown, repeated or has a bad value.
    #[error("{0}")]
    Invalid(String),
}

/// RFC 3986 percent-encoding: every byte but the unreserved characters as `%XX`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query of the (decoded) parameters: all but `sig`, sorted by name, each
/// `name=value` encoded by [`encode`], joined with `&`. Names must not repeat (the caller
/// checks: [`parse_query`]).
pub fn canonical<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = params.into_iter().filter(|(k, _)| *k != "sig").collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The hex HMAC-SHA256 of `canonical` with `key`.
pub fn sign(key: &str, canonical: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(canonical.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `sig` (hex, either case) is the signature of `canonical` with `key`, compared in
/// constant time.
pub fn signature_holds(key: &str, canonical: &str, sig: &str) -> bool {
    let expected = sign(key, canonical);
    let given = sig.trim().to_ascii_lowercase();
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Decodes a raw query string (`+` is a space, as browsers send forms; `%2B` is a plus) into
/// its parameters; a name given twice is refused (which of two values was signed?).
pub fn parse_query(raw: &str) -> Result<BTreeMap<String, String>, LinkError> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(LinkError::Invalid(format!("parameter {k} is given twice")));
        }
    }
    Ok(out)
}

/// The page a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// The payer's page: types (or checks) the mobile number and asks for the bill.
    Shop,
    /// The call-centre agent's page: checks and edits every field, then sends the bill.
    Agent,
}

impl LinkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMode::Shop => "shop",
            LinkMode::Agent => "agent",
        }
    }
    pub fn parse(s: &str) -> Option<LinkMode> {
        match s {
            "shop" => Some(LinkMode::Shop),
            "agent" => Some(LinkMode::Agent),
            _ => None,
        }
    }
}

/// What a signed link says, once its signature holds. Values are as given (trimmed; empty
/// means absent); the charge request checks them ([`crate::domain::ChargeRequest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    pub goods_name: String,
    pub amount: i64,
    pub order_ref: Option<String>,
    pub payer_name: Option<String>,
    pub payer_phone: Option<String>,
    pub payer_email: Option<String>,
    /// Unix seconds.
    pub expires: i64,
    pub mode: LinkMode,
    /// Whether installments may be offered (`installments=0` turns them off; default on, as
    /// the merchant's setting allows).
    pub installments: bool,
    /// The lower-case hex signature: the link's identity (a signed link is paid at most once).
    pub signature: String,
}

/// Checks a signed link's query against the merchant's link key (`None`: the merchant has
/// none, so no link of it is valid) and reads its parameters. The signature is checked
/// first: nothing about an unsigned link is believed.
pub fn verify(
    key: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Result<SignedLink, LinkError> {
    let sig = params.get("sig").ok_or(LinkError::BadSignature)?;
    let key = key.ok_or(LinkError::BadSignature)?;
    let canon = canonical(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !signature_holds(key, &canon, sig) {
        return Err(LinkError::BadSignature);
    }
    if let Some(unknown) = params
        .keys()
        .find(|k| *k != "sig" && !PARAMS.contains(&k.as_str()))
    {
        return Err(LinkError::Invalid(format!("unknown parameter {unknown}")));
    }
    let get = |name: &str| {
        params
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let required =
        |name: &str| get(name).ok_or_else(|| LinkError::Invalid(format!("{name} is missing")));
    let amount = required("amount")?
        .parse::<i64>()
        .map_err(|_| LinkError::Invalid("amount must be whole won".into()))?;
    let expires = required("expires")?
        .parse::<i64>()
        .map_err(|_| LinkError::Invalid("expires must be Unix seconds".into()))?;
    let mode = match get("mode") {
        None => LinkMode::Shop,
        Some(m) => LinkMode::parse(&m)
            .ok_or_else(|| LinkError::Invalid("mode must be shop or agent".into()))?,
    };
    let installments = match get("installments").as_deref() {
        None | Some("1") => true,
        Some("0") => false,
        Some(_) => return Err(LinkError::Invalid("installments must be 0 or 1".into())),
    };
    Ok(SignedLink {
        goods_name: required("goods_name")?,
        amount,
        order_ref: get("order_ref"),
        payer_name: get("payer_name"),
        payer_phone: get("payer_phone"),
        payer_email: get("payer_email"),
        expires,
        mode,
        installments,
        signature: sig.trim().to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn signed(key: &str, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut q = query(pairs);
        let sig = sign(key, &canonical(pairs.iter().copied()));
        q.insert("sig".into(), sig);
        q
    }

    #[test]
    fn encoding_is_rfc3986() {
        assert_eq!(encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(encode("a b+c/d"), "a%20b%2Bc%2Fd");
        assert_eq!(encode("김"), "%EA%B9%80");
        assert_eq!(encode("*'()!"), "%2A%27%28%29%21");
    }

    #[test]
    fn canonical_query_sorts_and_leaves_out_the_signature() {
        let c = canonical([("b", "2"), ("sig", "x"), ("a", "한 글"), ("a_b", "1")]);
        assert_eq!(c, "a=%ED%95%9C%20%EA%B8%80&a_b=1&b=2");
    }

    #[test]
    fn a_signed_link_verifies_and_any_change_breaks_it() {
        let key = new_key();
        assert!(key.starts_with(KEY_PREFIX) && key.len() == 4 + 64);
        let pairs = [
            ("goods_name", "한우 세트"),
            ("amount", "50000"),
            ("expires", "1900000000"),
            ("payer_phone", "010-1234-5678"),
        ];
        let q = signed(&key, &pairs);
        let link = verify(Some(&key), &q).unwrap();
        assert_eq!(link.amount, 50_000);
        assert_eq!(link.mode, LinkMode::Shop);
        assert_eq!(link.payer_phone.as_deref(), Some("010-1234-5678"));
        assert_eq!(link.signature, q["sig"]);

        let mut tampered = q.clone();
        tampered.insert("amount".into(), "5000".into());
        assert_eq!(verify(Some(&key), &tampered), Err(LinkError::BadSignature));
        let mut added = q.clone();
        added.insert("mode".into(), "agent".into());
        assert_eq!(verify(Some(&key), &added), Err(LinkError::BadSignature));
        let mut no_sig = q.clone();
        no_sig.remove("sig");
        assert_eq!(verify(Some(&key), &no_sig), Err(LinkError::BadSignature));
        assert_eq!(verify(Some(&new_key()), &q), Err(LinkError::BadSignature));
        assert_eq!(verify(None, &q), Err(LinkError::BadSignature));
        let mut upper = q.clone();
        upper.insert("sig".into(), q["sig"].to_ascii_uppercase());
        assert!(verify(Some(&key), &upper).is_ok());
    }

    #[test]
    fn a_signed_link_with_bad_values_is_invalid_not_trusted() {
        let key = new_key();
        for (pairs, why) in [
            (vec![("amount", "1"), ("expires", "1")], "goods_name"),
            (
                vec![("goods_name", "g"), ("amount", "1,000"), ("expires", "1")],
                "amount",
            ),
            (vec![("goods_name", "g"), ("amount", "1")], "expires"),
            (
                vec![
                    ("goods_name", "g"),
                    ("amount", "1"),
                    ("expires", "1"),
                    ("mode", "x"),
                ],
                "mode",
            ),
            (
                vec![
                    ("goods_name", "g"),
                    ("amount", "1"),
                    ("expires", "1"),
                    ("card_no", "1"),
                ],
                "unknown",
            ),
        ] {
            match verify(Some(&key), &signed(&key, &pairs)) {
                Err(LinkError::Invalid(m)) => assert!(m.contains(why), "{m} / {why}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        assert!(parse_query("amount=1&amount=2").is_err());
        let q = parse_query("goods_name=a+b%2Bc&amount=1").unwrap();
        assert_eq!(q["goods_name"], "a b+c");
    }

    /// README's worked example: its inputs, canonical string, key and signature, read from
    /// README.md, agree with this module.
    #[test]
    fn readme_worked_example_holds() {
        let readme = include_str!("../../../README.md");
        let section = readme.split("<!-- signed-link-example -->").nth(1).expect(
            "README has the signed link example between <!-- signed-link-example --> marks",
        );
        let field = |name: &str| -> String {
            let line = section
                .lines()
                .find(|l| l.starts_with(&format!("{name}: ")))
                .unwrap_or_else(|| panic!("README example has no '{name}: ' line"));
            line[name.len() + 2..].trim().trim_matches('`').to_string()
        };
        let key = field("key");
        let url = field("url");
        let canon = field("canonical");
        let sig = field("sig");
        let (_, raw) = url.split_once('?').expect("the url has a query");
        let params = parse_query(raw).unwrap();
        assert_eq!(
            canonical(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            canon
        );
        assert_eq!(sign(&key, &canon), sig);
        assert_eq!(params["sig"], sig);
        verify(Some(&key), &params).expect("the README link verifies");
    }
}
