//! The refresh token lives in the OS credential store (Secret Service or kernel keyutils on
//! Linux, Keychain on Apple, Credential Manager on Windows) through `keyring` — never in
//! SQLite or a file.

use fieldpay_protocol::Secret;

use crate::error::{CoreError, CoreResult};

const ACCOUNT: &str = "refresh-token";

/// The device's secrets under one service name (one per server + data folder).
#[derive(Debug, Clone)]
pub struct Credentials {
    service: String,
}

fn unavailable(e: keyring::Error) -> CoreError {
    CoreError::Credentials(format!(
        "no usable OS credential store ({e}). On Linux install and unlock a Secret Service \
         (apt install gnome-keyring dbus-x11, then sign in to a desktop session or run \
         `gnome-keyring-daemon --unlock`), or run inside a kernel keyring session (keyutils)"
    ))
}

impl Credentials {
    pub fn new(service: impl Into<String>) -> Self {
        Credentials {
            service: service.into(),
        }
    }

    fn entry(&self) -> CoreResult<keyring::Entry> {
        keyring::Entry::new(&self.service, ACCOUNT).map_err(unavailable)
    }

    pub fn refresh_token(&self) -> CoreResult<Option<Secret>> {
        match self.entry()?.get_password() {
            Ok(t) => Ok(Some(Secret::new(t))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn set_refresh_token(&self, token: &Secret) -> CoreResult<()> {
        self.entry()?
            .set_password(token.expose())
            .map_err(unavailable)?;
        // Read back: some stores accept a write they cannot serve.
        match self.refresh_token()? {
            Some(t) if t == *token => Ok(()),
            _ => Err(CoreError::Credentials(
                "the OS credential store did not keep the token; unlock it (gnome-keyring) and sign in again".into(),
            )),
        }
    }

    pub fn clear(&self) -> CoreResult<()> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
