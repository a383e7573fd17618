//! Sign-in, sign-out and the signed-in rep. A device database belongs to the first rep who
//! signs in on it (its owner, kept across sign-out); anyone else is refused before a token is
//! stored, so no one sees or sends another rep's records or queue. The app gives each rep a
//! database of their own ([`crate::identity`]); this check is the database's own guard.

use fieldpay_protocol::auth::{LoginRequest, RepInfo, Role};
use fieldpay_protocol::{ErrorCode, Secret};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::identity::missing_sign_in_fields;

use super::Engine;

/// Who a device database belongs to: what was typed at its first sign-in and the server's ids
/// for that rep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Owner {
    merchant: String,
    rep: String,
    merchant_id: String,
    rep_id: String,
}

const OWNER: &str = "owner";

fn not_the_owner() -> CoreError {
    CoreError::invalid(
        ErrorCode::Forbidden,
        "이 기기 데이터는 다른 영업사원의 것이라 이 계정으로 열 수 없습니다. 아무것도 저장하지 않았습니다 (this device database belongs to another rep; sign-in refused, nothing stored)",
    )
}

fn not_the_owners_server() -> CoreError {
    CoreError::invalid(
        ErrorCode::Forbidden,
        "서버가 확인한 계정이 이 기기 데이터의 계정과 다릅니다(서버가 초기화되었나요?). 아무것도 저장하지 않았습니다 (the server's account is not the one this device database belongs to — was the server reset? Sign-in refused, nothing stored)",
    )
}

impl Engine {
    pub fn session(&self) -> Option<RepInfo> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Keeps the signed-in rep (in the database and in memory).
    /// Also sets the device's sync scope from the rep's role (see [`Db::set_scope`]).
    ///
    /// [`Db::set_scope`]: crate::db::Db::set_scope
    pub(crate) fn set_session(&self, rep: &RepInfo) -> CoreResult<()> {
        self.db.set_state("session", &serde_json::to_string(rep)?)?;
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(rep.clone());
        if self.db.set_scope(device_rep(rep))? > 0 {
            self.rebuild_indexes()?;
        }
        Ok(())
    }

    /// The rep whose clients this device keeps (a plain rep's); `None` for a manager's
    /// device or when signed out.
    pub(crate) fn scope(&self) -> Option<String> {
        self.session()
            .and_then(|s| device_rep(&s).map(ToString::to_string))
    }

    pub(super) fn require_session(&self) -> CoreResult<RepInfo> {
        self.session().ok_or(CoreError::NotSignedIn)
    }

    fn owner(&self) -> CoreResult<Option<Owner>> {
        match self.db.get_state(OWNER)? {
            Some(s) => Ok(Some(serde_json::from_str(&s)?)),
            None => Ok(None),
        }
    }

    /// Signs in (needs the network). Only the database's owner may: another merchant code or
    /// rep id is refused before the request, another account on the server's side (same
    /// words, other ids: a reset server) before its tokens are kept. Then the refresh token
    /// goes to the OS credential store (the first sign-in has made the rep the owner).
    pub async fn login(
        &self,
        merchant: &str,
        rep_id: &str,
        password: &Secret,
    ) -> CoreResult<RepInfo> {
        let (merchant, rep_id) = (merchant.trim(), rep_id.trim());
        if merchant.is_empty() || rep_id.is_empty() || password.is_empty() {
            return Err(missing_sign_in_fields());
        }
        let owner = self.owner()?;
        if owner
            .as_ref()
            .is_some_and(|o| o.merchant != merchant || o.rep != rep_id)
        {
            return Err(not_the_owner());
        }
        let t = self
            .client
            .login(&LoginRequest {
                merchant: merchant.into(),
                rep_id: rep_id.into(),
                password: password.clone(),
                device_name: Some(self.config.device_name.clone()),
            })
            .await?;
        // The server's ids for the owner (a database from before owners were kept: the rep
        // still signed in on it).
        let known = match &owner {
            Some(o) => Some((o.merchant_id.clone(), o.rep_id.clone())),
            None => self.session().map(|s| (s.merchant_id, s.id)),
        };
        if known.is_some_and(|(m, r)| m != t.rep.merchant_id || r != t.rep.id) {
            return Err(not_the_owners_server());
        }
        if owner.is_none() {
            let o = Owner {
                merchant: merchant.into(),
                rep: rep_id.into(),
                merchant_id: t.rep.merchant_id.clone(),
                rep_id: t.rep.id.clone(),
            };
            self.db.set_state(OWNER, &serde_json::to_string(&o)?)?;
        }
        self.client.keep(&t)?;
        self.set_session(&t.rep)?;
        self.update_status(|s| s.signed_in = true);
        self.wake.notify_one();
        Ok(t.rep)
    }

    /// Signs out: forgets the tokens. The local data, unsent actions included, stays for the
    /// owner's next sign-in.
    pub fn sign_out(&self) -> CoreResult<()> {
        self.client.sign_out()?;
        self.db.set_state("session", "null")?;
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.update_status(|s| s.signed_in = false);
        Ok(())
    }
}

/// The rep a device of `rep` is scoped to: a plain rep's own id, `None` for a manager.
pub(crate) fn device_rep(rep: &RepInfo) -> Option<&str> {
    (rep.role == Role::Rep).then_some(rep.id.as_str())
}
