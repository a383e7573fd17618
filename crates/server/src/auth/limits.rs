//! What bounds sign-in attempts: a keyed rate limit (per client address, per account) and the
//! number of password checks running at once.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldpay_protocol::Secret;
use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::error::AppError;
use crate::ids::sha256_hex;
use crate::store::{Store, StoreResult};

/// A rate limit per key: `per_minute` attempts a minute after a first `burst`, as a token
/// bucket kept by its theoretical arrival time (GCRA): a key holds one instant (milliseconds
/// since the epoch), kept in the store so that every instance on one database counts the same
/// attempts; a key whose bucket is full again is as good as absent.
#[derive(Debug, Clone, Copy)]
pub struct KeyedLimit {
    /// Time one attempt takes to earn back, in ms.
    interval: i64,
    /// How far ahead of now a key's arrival time may run (the burst less one attempt), in ms.
    tolerance: i64,
}

impl KeyedLimit {
    /// `None` when `per_minute` is 0 (no limit).
    pub fn new(per_minute: u32, burst: u32) -> Option<KeyedLimit> {
        if per_minute == 0 {
            return None;
        }
        let interval = 60_000 / i64::from(per_minute);
        Some(KeyedLimit {
            interval,
            tolerance: interval * i64::from(burst.max(1) - 1),
        })
    }

    /// One attempt at `now` for a key whose stored instant is `stored`: the instant to store
    /// (`Ok`), or how long until an attempt is allowed (`Err`, nothing is taken then).
    pub fn decide(&self, stored: Option<i64>, now: i64) -> Result<i64, Duration> {
        let arrival = stored.filter(|t| *t > now).unwrap_or(now);
        let ahead = arrival - now;
        if ahead > self.tolerance {
            return Err(Duration::from_millis((ahead - self.tolerance) as u64));
        }
        Ok(arrival + self.interval)
    }

    /// Takes one attempt for `key` from the store's count (one transaction).
    pub fn take(
        &self,
        store: &dyn Store,
        key: &str,
        now: i64,
    ) -> StoreResult<Result<(), Duration>> {
        let mut wait = None;
        // May run more than once (a store retries a transaction): the last run tells.
        let mut decide = |stored: Option<i64>| match self.decide(stored, now) {
            Ok(next) => {
                wait = None;
                Some(next)
            }
            Err(w) => {
                wait = Some(w);
                None
            }
        };
        store.take_allowance(key, now, &mut decide)?;
        Ok(wait.map_or(Ok(()), Err))
    }
}

/// The key of a client address: an IPv4 address, or an IPv6 address's /64 (one subscriber
/// usually holds a whole /64, so counting single addresses would not limit anyone).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The key of an account as typed (merchant code and rep id, whether or not they exist, so
/// that a limit says nothing about which accounts exist). Hashed: fixed size whatever is typed,
/// and what was typed is not kept.
pub fn account_key(merchant: &str, rep_id: &str) -> String {
    let typed = format!(
        "{}\n{}",
        merchant.trim().to_lowercase(),
        rep_id.trim().to_lowercase()
    );
    sha256_hex(typed.as_bytes())
}

/// Guards the sign-in route: the attempt limits, and a bound on the password checks running
/// at once (each argon2id check takes about 19 MiB and a CPU for tens of milliseconds, on the
/// blocking pool that also serves the database).
pub struct SignInGuard {
    store: Arc<dyn Store>,
    per_address: Option<KeyedLimit>,
    per_account: Option<KeyedLimit>,
    hashes: Arc<Semaphore>,
    /// Attempts refused since the last warning, and when that was: a flood is logged once a
    /// minute, not once an attempt.
    refused: Mutex<(u64, Option<Instant>)>,
}

impl SignInGuard {
    pub fn new(settings: &Settings, store: Arc<dyn Store>) -> SignInGuard {
        SignInGuard {
            store,
            per_address: KeyedLimit::new(settings.login_ip_per_minute, settings.login_ip_burst),
            per_account: KeyedLimit::new(
                settings.login_account_per_minute,
                settings.login_account_burst,
            ),
            hashes: Arc::new(Semaphore::new(settings.password_hashes_at_once().max(1))),
            refused: Mutex::new((0, None)),
        }
    }

    /// Takes one attempt from the client address's allowance, then from the account's: `Err`
    /// with how long to wait when either is used up. A client whose address is unknown (a
    /// router served without connection info) counts as one address. The counts are the
    /// store's: every instance on one database takes from the same allowance.
    pub async fn admit(
        &self,
        ip: Option<IpAddr>,
        merchant: &str,
        rep_id: &str,
    ) -> Result<Result<(), Duration>, AppError> {
        let (per_address, per_account) = (self.per_address, self.per_account);
        let address = ip.map(address_key).unwrap_or_else(|| "unknown".into());
        let account = account_key(merchant, rep_id);
        let store = self.store.clone();
        let taken = tokio::task::spawn_blocking(move || -> StoreResult<Result<(), Duration>> {
            let now = chrono::Utc::now().timestamp_millis();
            if let Some(limit) = per_address {
                if let Err(wait) = limit.take(store.as_ref(), &format!("ip:{address}"), now)? {
                    return Ok(Err(wait));
                }
            }
            match per_account {
                Some(limit) => limit.take(store.as_ref(), &format!("account:{account}"), now),
                None => Ok(Ok(())),
            }
        })
        .await
        .map_err(AppError::internal)??;
        if taken.is_err() {
            self.note_refusal(ip, Instant::now());
        }
        Ok(taken)
    }

    /// Logs refused attempts at most once a minute (what was typed is never logged: a password
    /// typed into the wrong field, say).
    fn note_refusal(&self, ip: Option<IpAddr>, now: Instant) {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused.0 += 1;
        if refused
            .1
            .is_some_and(|at| now - at < Duration::from_secs(60))
        {
            return;
        }
        tracing::warn!(
            refused = refused.0,
            last_client = ?ip,
            "sign-in attempts refused by the rate limits"
        );
        *refused = (0, Some(now));
    }

    /// Checks a password against its argon2 hash (or against a dummy hash when there is no
    /// such rep, so that both take the same time), at most the configured number at once, each
    /// on a thread of its own at a low CPU priority ([`HASH_NICENESS`]): while checks run, the
    /// server's other work (payments, the database) still gets the CPUs first. The permit is
    /// held by the check itself: a client that hangs up does not free it before its hash is
    /// done.
    pub async fn verify(&self, password: Secret, hash: Option<Secret>) -> Result<bool, AppError> {
        let permit = self
            .hashes
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("password-check".into())
            .spawn(move || {
                let _permit = permit;
                lower_priority();
                let hash = hash.unwrap_or_else(|| super::dummy_hash().clone());
                let _ = tx.send(super::verify_password(&password, &hash));
            })
            .map_err(AppError::internal)?;
        rx.await.map_err(AppError::internal)
    }
}

/// The niceness of password-check threads (0 is normal, 19 the lowest priority): a flood of
/// sign-ins takes the CPUs only when nothing else wants them.
pub const HASH_NICENESS: i32 = 10;

/// Lowers the calling thread's CPU priority to [`HASH_NICENESS`] (Linux keeps a niceness per
/// thread). Elsewhere, or if refused, the check runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; `who` 0 is this thread.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASH_NICENESS) };
        if r != 0 {
            tracing::debug!("cannot lower the priority of a password check");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes attempts from a stored instant kept in a variable, as the store keeps it.
    fn take(limit: &KeyedLimit, stored: &mut Option<i64>, now: i64) -> Result<(), Duration> {
        let next = limit.decide(*stored, now)?;
        *stored = Some(next);
        Ok(())
    }

    #[test]
    fn a_burst_then_one_attempt_per_interval() {
        let limit = KeyedLimit::new(6, 3).unwrap(); // one every 10 s after 3
        let (mut a, mut b) = (None, None);
        let t0 = 1_700_000_000_000;
        for _ in 0..3 {
            assert_eq!(take(&limit, &mut a, t0), Ok(()));
        }
        assert_eq!(take(&limit, &mut a, t0), Err(Duration::from_secs(10)));
        // Refused attempts take nothing: the wait does not grow.
        assert_eq!(take(&limit, &mut a, t0), Err(Duration::from_secs(10)));
        // Another key has its own allowance.
        assert_eq!(take(&limit, &mut b, t0), Ok(()));
        assert_eq!(take(&limit, &mut a, t0 + 10_000), Ok(()));
        assert!(take(&limit, &mut a, t0 + 10_000).is_err());
        // A long pause refills the whole burst, no more.
        let later = t0 + 600_000;
        for _ in 0..3 {
            assert_eq!(take(&limit, &mut a, later), Ok(()));
        }
        assert!(take(&limit, &mut a, later).is_err());
    }

    #[test]
    fn zero_per_minute_is_no_limit() {
        assert!(KeyedLimit::new(0, 5).is_none());
    }

    #[test]
    fn keys() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(address_key(v4), "203.0.113.7");
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(address_key(mapped), "203.0.113.7");
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(account_key(" Demo ", "REP1"), account_key("demo", "rep1"));
        assert_ne!(account_key("demo", "rep1"), account_key("demo", "rep2"));
        assert_eq!(account_key("demo", "rep1").len(), 64);
    }
}
