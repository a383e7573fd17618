//! Merchants' own connector credentials: a platform serving several merchants, each with its
//! own PG contract (or SMS account), sets them per merchant; they override the server-wide
//! `[card]` / `[sms]` settings for that merchant's payments and texts.
//!
//! They are given as the same TOML sections as the server's settings (`[card]`, `[sms]`),
//! checked the same way, and stored sealed: AES-256-GCM under `credentials_key` (32 bytes from
//! the settings), with the merchant id and the kind as associated data, so a sealed row copied
//! to another merchant does not open. Nothing returns them: the store holds ciphertext, the
//! CLI shows the provider's name only, and the keys live in memory only inside the connectors
//! built from them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use fieldpay_protocol::{MerchantId, Secret};
use zeroize::Zeroizing;

use crate::card::CardConnector;
use crate::config::providers::{FileCard, FileSms};
use crate::config::{CardProvider, CardSettings, SmsProvider, SmsSettings};
use crate::sms::sender::SmsSender;
use crate::store::{CredentialKind, SealedCredentials, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("credentials_key is not set: merchants' own credentials need it (32 random bytes in base64, e.g. `openssl rand -base64 32`)")]
    NoKey,
    #[error("invalid setting credentials_key: must be 32 bytes in base64")]
    BadKey,
    #[error("the merchant's sealed {0} credentials do not open with this credentials_key (was the key changed?)")]
    WontOpen(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seals and opens credentials with the settings' key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([REDACTED])")
    }
}

fn aad(merchant_id: &MerchantId, kind: CredentialKind) -> String {
    format!(
        "fieldpay-credentials:v1:{}:{}",
        merchant_id.as_str(),
        kind.as_str()
    )
}

impl Sealer {
    pub fn new(key: &Secret) -> Result<Self, CredentialError> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(key.expose().trim())
                .map_err(|_| CredentialError::BadKey)?,
        );
        if bytes.len() != 32 {
            return Err(CredentialError::BadKey);
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| CredentialError::BadKey)?;
        Ok(Sealer { cipher })
    }

    fn seal(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
        provider: &str,
        plaintext: &str,
        now: &str,
    ) -> SealedCredentials {
        let nonce: [u8; 12] = rand::random();
        let aad = aad(merchant_id, kind);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a small message does not fail");
        SealedCredentials {
            provider: provider.to_string(),
            nonce: nonce.to_vec(),
            ciphertext,
            updated_at: now.to_string(),
        }
    }

    fn open(
        &self,
        merchant_id: &MerchantId,
        kind: CredentialKind,
        sealed: &SealedCredentials,
    ) -> Result<Zeroizing<String>, CredentialError> {
        if sealed.nonce.len() != 12 {
            return Err(CredentialError::WontOpen(kind.as_str()));
        }
        let aad = aad(merchant_id, kind);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    Nonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| CredentialError::WontOpen(kind.as_str()))?,
        );
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| CredentialError::WontOpen(kind.as_str()))
    }
}

/// A merchant's own credentials as given: a TOML text with a `[card]` and/or an `[sms]`
/// section, in the form of the server's settings (`_file` keys are read).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantCredentialsFile {
    pub card: Option<FileCard>,
    pub sms: Option<FileSms>,
}

/// The card settings a merchant's sealed section describes (the server's timeout).
fn card_settings(text: &str, server: &CardSettings) -> Result<CardSettings, CredentialError> {
    let f: FileCard =
        toml::from_str(text).map_err(|e| CredentialError::Invalid(e.message().into()))?;
    let mut card = CardSettings {
        timeout_secs: server.timeout_secs,
        ..CardSettings::default()
    };
    card.apply(f);
    Ok(card)
}

fn sms_settings(text: &str, server: &SmsSettings) -> Result<SmsSettings, CredentialError> {
    let f: FileSms =
        toml::from_str(text).map_err(|e| CredentialError::Invalid(e.message().into()))?;
    let mut sms = SmsSettings {
        timeout_secs: server.timeout_secs,
        ..SmsSettings::default()
    };
    sms.apply(f);
    Ok(sms)
}

/// Checks a merchant's credentials text and stores each section sealed. Answers the
/// providers set (`card: toss`, ...). Nothing is stored when any section has a problem.
pub fn set_merchant_credentials(
    store: &dyn Store,
    sealer: &Sealer,
    merchant_id: &MerchantId,
    text: &str,
    now: &str,
) -> Result<Vec<String>, CredentialError> {
    let mut f: MerchantCredentialsFile = toml::from_str(text).map_err(|e| {
        CredentialError::Invalid(e.message().split_whitespace().collect::<Vec<_>>().join(" "))
    })?;
    let mut sealed = Vec::new();
    if let Some(card) = f.card.as_mut() {
        card.read_files()
            .map_err(|e| CredentialError::Invalid(e.to_string()))?;
        let section = card_section_text(card);
        let settings = card_settings(&section, &CardSettings::default())?;
        if settings.provider == CardProvider::Sandbox {
            return Err(CredentialError::Invalid(
                "a merchant's own card credentials need a real provider (toss or portone)".into(),
            ));
        }
        check(settings.problems())?;
        sealed.push((CredentialKind::Card, settings.provider.as_str(), section));
    }
    if let Some(sms) = f.sms.as_mut() {
        sms.read_files()
            .map_err(|e| CredentialError::Invalid(e.to_string()))?;
        let section = sms_section_text(sms);
        let settings = sms_settings(&section, &SmsSettings::default())?;
        if settings.provider == SmsProvider::Sandbox {
            return Err(CredentialError::Invalid(
                "a merchant's own SMS credentials need a real provider (solapi, nhn or twilio)"
                    .into(),
            ));
        }
        check(settings.problems())?;
        sealed.push((CredentialKind::Sms, settings.provider.as_str(), section));
    }
    if sealed.is_empty() {
        return Err(CredentialError::Invalid(
            "no [card] or [sms] section: nothing to set".into(),
        ));
    }
    let mut set = Vec::new();
    for (kind, provider, section) in sealed {
        let row = sealer.seal(merchant_id, kind, provider, &section, now);
        store.save_credentials(merchant_id, kind, &row)?;
        set.push(format!("{}: {provider}", kind.as_str()));
    }
    Ok(set)
}

fn check(problems: Vec<String>) -> Result<(), CredentialError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CredentialError::Invalid(problems.join("; ")))
    }
}

/// The section as the TOML text that is sealed (files already read into their keys).
fn card_section_text(c: &FileCard) -> Zeroizing<String> {
    let mut t = toml::Table::new();
    if let Some(p) = c.provider {
        t.insert("provider".into(), p.as_str().into());
    }
    for (k, v) in [
        ("secret_key", &c.secret_key),
        ("api_secret", &c.api_secret),
        ("channel_key", &c.channel_key),
    ] {
        if let Some(v) = v {
            t.insert(k.into(), v.expose().into());
        }
    }
    if let Some(u) = &c.base_url {
        t.insert("base_url".into(), u.clone().into());
    }
    Zeroizing::new(t.to_string())
}

fn sms_section_text(c: &FileSms) -> Zeroizing<String> {
    let mut t = toml::Table::new();
    if let Some(p) = c.provider {
        t.insert("provider".into(), p.as_str().into());
    }
    for (k, v) in [
        ("api_key", &c.api_key),
        ("api_secret", &c.api_secret),
        ("app_key", &c.app_key),
        ("secret_key", &c.secret_key),
        ("account_sid", &c.account_sid),
        ("auth_token", &c.auth_token),
    ] {
        if let Some(v) = v {
            t.insert(k.into(), v.expose().into());
        }
    }
    if let Some(s) = &c.sender {
        t.insert("sender".into(), s.clone().into());
    }
    if let Some(u) = &c.base_url {
        t.insert("base_url".into(), u.clone().into());
    }
    Zeroizing::new(t.to_string())
}

struct Built<T: ?Sized> {
    updated_at: String,
    connector: Arc<T>,
}

/// The connectors of merchants with their own credentials, built once per version of the
/// credentials (a change, by any instance, is seen at the next payment or text).
pub struct MerchantConnectors {
    sealer: Option<Sealer>,
    card: Mutex<HashMap<MerchantId, Built<dyn CardConnector>>>,
    sms: Mutex<HashMap<MerchantId, Built<dyn SmsSender>>>,
}

impl MerchantConnectors {
    pub fn new(sealer: Option<Sealer>) -> Self {
        MerchantConnectors {
            sealer,
            card: Mutex::default(),
            sms: Mutex::default(),
        }
    }

    /// The merchant's own card connector, when it has credentials. Blocks (a store read).
    pub fn card(
        &self,
        store: &dyn Store,
        merchant_id: &MerchantId,
        server: &CardSettings,
    ) -> Result<Option<Arc<dyn CardConnector>>, CredentialError> {
        let Some(sealed) = store.credentials(merchant_id, CredentialKind::Card)? else {
            self.card.lock().expect("cache").remove(merchant_id);
            return Ok(None);
        };
        if let Some(b) = self.card.lock().expect("cache").get(merchant_id) {
            if b.updated_at == sealed.updated_at {
                return Ok(Some(b.connector.clone()));
            }
        }
        let sealer = self.sealer.as_ref().ok_or(CredentialError::NoKey)?;
        let text = sealer.open(merchant_id, CredentialKind::Card, &sealed)?;
        let settings = card_settings(&text, server)?;
        let connector = crate::card::connector_for(&settings)
            .map_err(|e| CredentialError::Invalid(e.to_string()))?;
        self.card.lock().expect("cache").insert(
            merchant_id.clone(),
            Built {
                updated_at: sealed.updated_at,
                connector: connector.clone(),
            },
        );
        Ok(Some(connector))
    }

    /// The merchant's own SMS sender, when it has credentials. Blocks (a store read).
    pub fn sms(
        &self,
        store: &dyn Store,
        merchant_id: &MerchantId,
        server: &SmsSettings,
    ) -> Result<Option<Arc<dyn SmsSender>>, CredentialError> {
        let Some(sealed) = store.credentials(merchant_id, CredentialKind::Sms)? else {
            self.sms.lock().expect("cache").remove(merchant_id);
            return Ok(None);
        };
        if let Some(b) = self.sms.lock().expect("cache").get(merchant_id) {
            if b.updated_at == sealed.updated_at {
                return Ok(Some(b.connector.clone()));
            }
        }
        let sealer = self.sealer.as_ref().ok_or(CredentialError::NoKey)?;
        let text = sealer.open(merchant_id, CredentialKind::Sms, &sealed)?;
        let settings = sms_settings(&text, server)?;
        let sender = crate::sms::select::for_settings(&settings)
            .map_err(|e| CredentialError::Invalid(e.to_string()))?;
        self.sms.lock().expect("cache").insert(
            merchant_id.clone(),
            Built {
                updated_at: sealed.updated_at,
                connector: sender.clone(),
            },
        );
        Ok(Some(sender))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CredentialStore, MerchantStore, SqliteStore};

    fn key() -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
    }

    #[test]
    fn sealed_credentials_open_only_for_their_merchant_and_kind() {
        let sealer = Sealer::new(&key()).unwrap();
        let m1 = MerchantId::new("m_1".to_string());
        let m2 = MerchantId::new("m_2".to_string());
        let row = sealer.seal(
            &m1,
            CredentialKind::Card,
            "toss",
            "secret_key = \"live_sk_zz\"",
            "t",
        );
        assert!(!String::from_utf8_lossy(&row.ciphertext).contains("live_sk_zz"));
        assert_eq!(
            sealer
                .open(&m1, CredentialKind::Card, &row)
                .unwrap()
                .as_str(),
            "secret_key = \"live_sk_zz\""
        );
        assert!(sealer.open(&m2, CredentialKind::Card, &row).is_err());
        assert!(sealer.open(&m1, CredentialKind::Sms, &row).is_err());
        let other = Sealer::new(&Secret::new(
            base64::engine::general_purpose::STANDARD.encode([8u8; 32]),
        ))
        .unwrap();
        assert!(matches!(
            other.open(&m1, CredentialKind::Card, &row),
            Err(CredentialError::WontOpen("card"))
        ));
        assert!(Sealer::new(&Secret::new("short")).is_err());
        assert!(format!("{sealer:?}").contains("REDACTED"));
    }

    #[test]
    fn set_checks_every_section_and_stores_ciphertext_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let m = store
            .create_merchant("m1", "상점", &Default::default())
            .unwrap();
        let sealer = Sealer::new(&key()).unwrap();
        // A problem in one section: nothing stored.
        let bad = "[card]\nprovider = \"toss\"\nsecret_key = \"live_sk_abc\"\n[sms]\nprovider = \"solapi\"\napi_key = \"k\"\n";
        let e = set_merchant_credentials(&store, &sealer, &m.id, bad, "t1").unwrap_err();
        assert!(e.to_string().contains("sms.api_secret"), "{e}");
        assert!(!e.to_string().contains("live_sk_abc"), "{e}");
        assert_eq!(store.credentials_count().unwrap(), 0);
        let e = set_merchant_credentials(
            &store,
            &sealer,
            &m.id,
            "[card]\nprovider = \"sandbox\"\n",
            "t1",
        )
        .unwrap_err();
        assert!(e.to_string().contains("real provider"), "{e}");
        let set = set_merchant_credentials(
            &store,
            &sealer,
            &m.id,
            "[card]\nprovider = \"toss\"\nsecret_key = \"live_sk_abc\"\nbase_url = \"http://127.0.0.1:9\"\n",
            "t2",
        )
        .unwrap();
        assert_eq!(set, vec!["card: toss"]);
        let row = store
            .credentials(&m.id, CredentialKind::Card)
            .unwrap()
            .unwrap();
        assert_eq!(row.provider, "toss");
        assert!(!String::from_utf8_lossy(&row.ciphertext).contains("live_sk_abc"));
        // The connector built from them, cached until they change.
        let connectors = MerchantConnectors::new(Some(sealer.clone()));
        let server = CardSettings::default();
        let a = connectors.card(&store, &m.id, &server).unwrap().unwrap();
        let b = connectors.card(&store, &m.id, &server).unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.name(), "toss");
        assert!(connectors
            .sms(&store, &m.id, &SmsSettings::default())
            .unwrap()
            .is_none());
        // Without the key they cannot be used; removed, the server's own are used again.
        let keyless = MerchantConnectors::new(None);
        assert!(matches!(
            keyless.card(&store, &m.id, &server),
            Err(CredentialError::NoKey)
        ));
        assert!(store
            .remove_credentials(&m.id, CredentialKind::Card)
            .unwrap());
        assert!(connectors.card(&store, &m.id, &server).unwrap().is_none());
    }
}
