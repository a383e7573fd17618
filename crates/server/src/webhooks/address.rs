//! Where webhooks may go. The rule ([`check_url`]): https only, except plain http to a
//! loopback address in sandbox mode; in production the host may not be a local name or an
//! address in a private, loopback, link-local, unspecified, shared (CGNAT), multicast or
//! broadcast range. A host name is checked when it is resolved, at delivery time:
//! [`CheckedResolver`] is the webhook client's DNS resolver, so the client connects only to
//! addresses that were checked (a name that re-resolves to an internal address, DNS
//! rebinding, gets nowhere).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// An address range webhooks may not reach in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    Shared,
    Multicast,
    /// 255.255.255.255 and the reserved 240.0.0.0/4 it sits in.
    Broadcast,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Range::Unspecified => "unspecified",
            Range::Loopback => "loopback",
            Range::Private => "private",
            Range::LinkLocal => "link-local",
            Range::Shared => "shared (CGNAT)",
            Range::Multicast => "multicast",
            Range::Broadcast => "broadcast or reserved",
        })
    }
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("webhook URL is not a valid URL: {0}")]
    Invalid(#[from] url::ParseError),
    #[error(
        "webhook URL must use https, not {scheme} (plain http is allowed only to a loopback \
         address in sandbox mode)"
    )]
    NotHttps { scheme: String },
    #[error("webhook URL has no host")]
    NoHost,
    #[error("webhook URL host {host} is a local name")]
    LocalName { host: String },
    #[error("webhook URL host {host} is (or resolves to) {addr}, a {range} address")]
    Forbidden {
        host: String,
        addr: IpAddr,
        range: Range,
    },
}

/// The range `ip` belongs to when webhooks may not reach it in production; None for a public
/// address. An IPv4-mapped IPv6 address is judged as its IPv4 address.
pub fn forbidden_range(ip: IpAddr) -> Option<Range> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<Range> {
    let [a, b, ..] = ip.octets();
    Some(if a == 0 {
        // 0.0.0.0/8, "this network": 0.0.0.0 itself reaches the local host.
        Range::Unspecified
    } else if ip.is_loopback() {
        Range::Loopback
    } else if ip.is_private() {
        Range::Private
    } else if ip.is_link_local() {
        Range::LinkLocal
    } else if a == 100 && b & 0xc0 == 64 {
        Range::Shared
    } else if ip.is_multicast() {
        Range::Multicast
    } else if a >= 240 {
        Range::Broadcast
    } else {
        return None;
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<Range> {
    let first = ip.segments()[0];
    Some(if ip.is_unspecified() {
        Range::Unspecified
    } else if ip.is_loopback() {
        Range::Loopback
    } else if first & 0xfe00 == 0xfc00 {
        // fc00::/7, unique local.
        Range::Private
    } else if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        // fe80::/10, and the deprecated site-local fec0::/10.
        Range::LinkLocal
    } else if ip.is_multicast() {
        Range::Multicast
    } else {
        return None;
    })
}

/// `localhost` and names under it (RFC 6761), which always mean this machine.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => is_local_name(d),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The webhook URL rule. `sandbox` is [`crate::config::Settings::sandbox`]. Host names pass
/// here unless they are local names; what they resolve to is checked when a delivery connects
/// ([`CheckedResolver`]). For whoever sets a merchant's webhook URL, and for every delivery.
pub fn check_url(url: &str, sandbox: bool) -> Result<Url, WebhookUrlError> {
    let parsed = Url::parse(url)?;
    let host = parsed.host().ok_or(WebhookUrlError::NoHost)?;
    match parsed.scheme() {
        "https" => {}
        "http" if sandbox && is_loopback_host(&host) => {}
        other => {
            return Err(WebhookUrlError::NotHttps {
                scheme: other.to_string(),
            })
        }
    }
    if sandbox {
        return Ok(parsed);
    }
    let addr = match host {
        Host::Domain(d) if is_local_name(d) => {
            return Err(WebhookUrlError::LocalName {
                host: d.to_string(),
            })
        }
        Host::Domain(_) => return Ok(parsed),
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
    };
    match forbidden_range(addr) {
        Some(range) => Err(WebhookUrlError::Forbidden {
            host: addr.to_string(),
            addr,
            range,
        }),
        None => Ok(parsed),
    }
}

/// Why a host name gives no address to deliver to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Refused(#[from] WebhookUrlError),
    #[error("cannot resolve {host}: {source}")]
    Lookup {
        host: String,
        source: std::io::Error,
    },
    #[error("{host} has no address")]
    NoAddress { host: String },
}

/// Resolves `host` (a name, not an IP literal) and, in production, refuses it unless every
/// address it resolves to is allowed. The ports are 0 (the caller's URL gives them).
pub async fn resolve_checked(host: &str, sandbox: bool) -> Result<Vec<SocketAddr>, ResolveError> {
    if !sandbox && is_local_name(host) {
        return Err(WebhookUrlError::LocalName {
            host: host.to_string(),
        }
        .into());
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|source| ResolveError::Lookup {
            host: host.to_string(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ResolveError::NoAddress {
            host: host.to_string(),
        });
    }
    if !sandbox {
        for a in &addrs {
            if let Some(range) = forbidden_range(a.ip()) {
                return Err(WebhookUrlError::Forbidden {
                    host: host.to_string(),
                    addr: a.ip(),
                    range,
                }
                .into());
            }
        }
    }
    Ok(addrs)
}

/// The webhook client's DNS resolver: [`resolve_checked`]. A refusal reaches the caller as a
/// [`WebhookUrlError`] in the request error's source chain.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    pub sandbox: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let sandbox = self.sandbox;
        let host = name.as_str().to_string();
        Box::pin(async move {
            match resolve_checked(&host, sandbox).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(ResolveError::Refused(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: bool = false;
    const SANDBOX: bool = true;

    fn refused_range(url: &str) -> Option<Range> {
        match check_url(url, PRODUCTION) {
            Err(WebhookUrlError::Forbidden { range, .. }) => Some(range),
            other => panic!("{url}: {other:?}"),
        }
    }

    /// What the rule says of `url`: "ok" or the kind of refusal.
    fn verdict(url: &str, sandbox: bool) -> &'static str {
        match check_url(url, sandbox) {
            Ok(_) => "ok",
            Err(WebhookUrlError::Invalid(_)) => "invalid",
            Err(WebhookUrlError::NotHttps { .. }) => "not https",
            Err(WebhookUrlError::NoHost) => "no host",
            Err(WebhookUrlError::LocalName { .. }) => "local name",
            Err(WebhookUrlError::Forbidden { .. }) => "forbidden",
        }
    }

    #[test]
    fn production_takes_https_to_public_hosts_only() {
        for (url, want) in [
            ("https://hooks.example.com/fieldpay", "ok"),
            ("https://hooks.example.com:8443/a?b=c", "ok"),
            ("https://93.184.216.34/hook", "ok"),
            ("https://[2606:2800:220:1:248:1893:25c8:1946]/hook", "ok"),
            ("http://hooks.example.com/fieldpay", "not https"),
            ("ftp://hooks.example.com/fieldpay", "not https"),
            ("ws://hooks.example.com/fieldpay", "not https"),
            ("file:///etc/passwd", "no host"),
            ("http://127.0.0.1:9000/hook", "not https"),
            ("http://localhost:9000/hook", "not https"),
            ("not a url", "invalid"),
            ("data:text/plain,hi", "no host"),
            ("https://localhost/hook", "local name"),
            ("https://api.LOCALHOST./hook", "local name"),
        ] {
            assert_eq!(verdict(url, PRODUCTION), want, "{url}");
        }
    }

    #[test]
    fn production_refuses_internal_address_literals() {
        use Range::*;
        for (url, range) in [
            ("https://10.1.2.3/", Private),
            ("https://172.16.0.1/", Private),
            ("https://172.31.255.255/", Private),
            ("https://192.168.0.10/", Private),
            ("https://[fd12:3456::1]/", Private),
            ("https://[fc00::1]/", Private),
            ("https://127.0.0.1/", Loopback),
            ("https://127.1.2.3:8443/", Loopback),
            ("https://[::1]/", Loopback),
            ("https://169.254.169.254/latest/meta-data/", LinkLocal),
            ("https://[fe80::1]/", LinkLocal),
            ("https://0.0.0.0/", Unspecified),
            ("https://[::]/", Unspecified),
            ("https://100.64.0.1/", Shared),
            ("https://100.127.255.254/", Shared),
            ("https://224.0.0.1/", Multicast),
            ("https://[ff02::1]/", Multicast),
            ("https://255.255.255.255/", Broadcast),
            // The same addresses in other spellings.
            ("https://[::ffff:10.0.0.1]/", Private),
            ("https://[::ffff:127.0.0.1]/", Loopback),
            ("https://2130706433/", Loopback),
            ("https://0x7f.1/", Loopback),
            ("https://0177.0.0.1/", Loopback),
        ] {
            assert_eq!(refused_range(url), Some(range), "{url}");
        }
        // Neighbours of the ranges are public.
        for ok in [
            "https://172.32.0.1/",
            "https://100.128.0.1/",
            "https://11.0.0.1/",
            "https://192.169.0.1/",
        ] {
            assert_eq!(verdict(ok, PRODUCTION), "ok", "{ok}");
        }
    }

    #[test]
    fn sandbox_also_takes_plain_http_to_loopback() {
        for (url, want) in [
            ("http://127.0.0.1:9000/hook", "ok"),
            ("http://[::1]:9000/hook", "ok"),
            ("http://localhost:9000/hook", "ok"),
            ("https://127.0.0.1/hook", "ok"),
            ("https://hooks.example.com/hook", "ok"),
            ("http://hooks.example.com/hook", "not https"),
            ("http://192.0.2.1/hook", "not https"),
            ("http://10.0.0.1/hook", "not https"),
            ("ftp://127.0.0.1/hook", "not https"),
        ] {
            assert_eq!(verdict(url, SANDBOX), want, "{url}");
        }
    }

    #[test]
    fn refusals_say_why() {
        let e = check_url("http://hooks.example.com/", PRODUCTION).unwrap_err();
        assert!(e.to_string().contains("must use https"), "{e}");
        let e = check_url("https://169.254.169.254/", PRODUCTION).unwrap_err();
        assert_eq!(
            e.to_string(),
            "webhook URL host 169.254.169.254 is (or resolves to) 169.254.169.254, a link-local \
             address"
        );
    }

    #[tokio::test]
    async fn names_are_checked_by_what_they_resolve_to() {
        // localhost resolves to loopback addresses (from the hosts file, no network needed).
        let refused = resolve_checked("localhost", PRODUCTION).await.unwrap_err();
        assert!(
            matches!(
                refused,
                ResolveError::Refused(WebhookUrlError::LocalName { .. })
            ),
            "{refused:?}"
        );
        let addrs = resolve_checked("localhost", SANDBOX).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        // An IP literal handed to the resolver is judged like any resolved address.
        let refused = resolve_checked("127.0.0.1", PRODUCTION).await.unwrap_err();
        assert!(
            matches!(
                refused,
                ResolveError::Refused(WebhookUrlError::Forbidden {
                    range: Range::Loopback,
                    ..
                })
            ),
            "{refused:?}"
        );
    }
}
