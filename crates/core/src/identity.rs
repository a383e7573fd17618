//! Whose data a device database holds. An identity is a server, a merchant code and a rep's
//! login; each has its own folder under the app's data folder (`device-<hash>/`, named by a
//! hash of the identity, never by what was typed) with its own database, outbox and refresh
//! token ([`EngineConfig::credentials`] is per folder). Signing in as someone else opens that
//! identity's own database: the previous rep's records stay unseen and their unsent actions
//! stay queued where they are, sent the next time that rep signs in. The identity in use is
//! remembered (`last-identity.json`) so a restart reopens the same database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use fieldpay_protocol::ErrorCode;

use crate::client::server_url;
use crate::error::{CoreError, CoreResult};
use crate::{Engine, EngineConfig};

/// Empty merchant code, rep id or password.
pub(crate) fn missing_sign_in_fields() -> CoreError {
    CoreError::invalid(
        ErrorCode::InvalidField,
        "가맹점 코드, 아이디, 비밀번호를 모두 입력하세요 (merchant, rep id and password are required)",
    )
}

/// The server an identity signs in to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "url", rename_all = "snake_case")]
pub enum Server {
    /// The app's embedded sandbox server: its data folder stays, its loopback port may change
    /// from one launch to the next.
    Sandbox,
    /// The server at this address (checked and normalised by [`server_url`]).
    Url(String),
}

/// Who signs in: a rep of a merchant on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub server: Server,
    /// The merchant code and the rep's login as signed in with (trimmed: the server compares
    /// them exactly).
    pub merchant: String,
    pub rep: String,
}

impl Identity {
    /// A rep on the server at `url`. Refuses an address [`server_url`] refuses (plain http
    /// off loopback) and an empty merchant code or rep id.
    pub fn at(url: &str, merchant: &str, rep: &str) -> CoreResult<Identity> {
        Identity::new(Server::Url(server_url(url)?), merchant, rep)
    }

    /// A rep on the app's embedded sandbox server.
    pub fn sandbox(merchant: &str, rep: &str) -> CoreResult<Identity> {
        Identity::new(Server::Sandbox, merchant, rep)
    }

    fn new(server: Server, merchant: &str, rep: &str) -> CoreResult<Identity> {
        let (merchant, rep) = (merchant.trim(), rep.trim());
        if merchant.is_empty() || rep.is_empty() {
            return Err(missing_sign_in_fields());
        }
        Ok(Identity {
            server,
            merchant: merchant.into(),
            rep: rep.into(),
        })
    }

    /// The server's address, unless it is the sandbox (whose address is the running one's).
    pub fn url(&self) -> Option<&str> {
        match &self.server {
            Server::Url(u) => Some(u),
            Server::Sandbox => None,
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.server == Server::Sandbox
    }

    /// The name of this identity's folder: `device-` and a hash of the identity (its JSON:
    /// every field, unambiguously delimited).
    pub fn folder_name(&self) -> String {
        let key = serde_json::to_vec(self).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(key));
        format!("device-{}", &hash[..32])
    }
}

const LAST_FILE: &str = "last-identity.json";

/// The app's data folder: a database per identity, and which identity was in use last.
#[derive(Debug, Clone)]
pub struct DataFolder {
    root: PathBuf,
    device_name: String,
}

impl DataFolder {
    /// `device_name` is shown in the signature evidence and the server's token list.
    pub fn new(root: impl Into<PathBuf>, device_name: impl Into<String>) -> DataFolder {
        DataFolder {
            root: root.into(),
            device_name: device_name.into(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of `id`'s database.
    pub fn dir_of(&self, id: &Identity) -> PathBuf {
        self.root.join(id.folder_name())
    }

    /// The engine of `id`: its own database and refresh token, talking to `url` (the
    /// identity's address; for the sandbox, where the embedded server runs now). Blocks
    /// (opens SQLite, builds the search indexes).
    pub fn open(&self, id: &Identity, url: &str) -> CoreResult<Arc<Engine>> {
        let url = server_url(url)?;
        if id.url().is_some_and(|u| u != url) {
            return Err(CoreError::Other(format!(
                "{url} is not the server of this identity ({:?})",
                id.url()
            )));
        }
        Engine::open(EngineConfig {
            data_dir: self.dir_of(id),
            server_url: url,
            device_name: self.device_name.clone(),
        })
    }

    /// The identity in use when the app last ran (None after a sign-out).
    pub fn last(&self) -> Option<Identity> {
        let text = std::fs::read_to_string(self.root.join(LAST_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Remembers the identity in use (None: nobody, after a sign-out).
    pub fn remember(&self, id: Option<&Identity>) -> CoreResult<()> {
        let path = self.root.join(LAST_FILE);
        let written = match id {
            Some(id) => {
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, serde_json::to_vec(id)?)
                    .and_then(|()| std::fs::rename(&tmp, &path))
            }
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                r => r,
            },
        };
        written.map_err(|e| CoreError::Other(format!("cannot write {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use fieldpay_protocol::ErrorCode;

    use super::{DataFolder, Identity, Server};

    #[test]
    fn each_identity_has_its_own_folder_named_by_a_hash() {
        let a = Identity::at("https://pay.example.kr/", " demo ", "rep1").unwrap();
        assert_eq!(a.server, Server::Url("https://pay.example.kr".into()));
        assert_eq!((a.merchant.as_str(), a.rep.as_str()), ("demo", "rep1"));
        // One spelling of a server, one folder.
        let same = Identity::at("HTTPS://PAY.example.kr:443", "demo", " rep1").unwrap();
        assert_eq!(a.folder_name(), same.folder_name());
        let others = [
            Identity::at("https://pay.example.kr", "demo", "rep2").unwrap(),
            Identity::at("https://pay.example.kr", "demo2", "rep1").unwrap(),
            Identity::at("https://other.example.kr", "demo", "rep1").unwrap(),
            Identity::sandbox("demo", "rep1").unwrap(),
            // Fields cannot run into each other.
            Identity::at("https://pay.example.kr", "demor", "ep1").unwrap(),
        ];
        for o in &others {
            assert_ne!(a.folder_name(), o.folder_name(), "{o:?}");
        }
        let name = Identity::at("https://pay.example.kr", "../../x", "rep/1")
            .unwrap()
            .folder_name();
        assert!(
            name.len() == "device-".len() + 32
                && name["device-".len()..]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
    }

    #[test]
    fn an_identity_needs_a_safe_address_and_both_names() {
        for (url, merchant, rep) in [
            ("http://pay.example.kr", "demo", "rep1"),
            ("https://pay.example.kr", " ", "rep1"),
            ("https://pay.example.kr", "demo", ""),
        ] {
            let e = Identity::at(url, merchant, rep).unwrap_err();
            assert_eq!(
                e.to_api().code,
                ErrorCode::InvalidField,
                "{url} {merchant} {rep}"
            );
        }
        assert!(Identity::at("http://localhost:8640", "demo", "rep1").is_ok());
    }

    #[test]
    fn the_last_identity_is_remembered_until_sign_out() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = DataFolder::new(tmp.path(), "test");
        assert_eq!(folder.last(), None);
        let id = Identity::sandbox("demo", "rep1").unwrap();
        folder.remember(Some(&id)).unwrap();
        assert_eq!(DataFolder::new(tmp.path(), "test").last(), Some(id));
        folder.remember(None).unwrap();
        folder.remember(None).unwrap();
        assert_eq!(folder.last(), None);
    }
}
