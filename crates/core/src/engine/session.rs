//! Sign-in, sign-out and the signed-in rep.

use fieldpay_protocol::auth::{LoginRequest, RepInfo};
use fieldpay_protocol::{ErrorCode, Secret};

use crate::error::{CoreError, CoreResult};

use super::Engine;

impl Engine {
    pub fn session(&self) -> Option<RepInfo> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn require_session(&self) -> CoreResult<RepInfo> {
        self.session().ok_or(CoreError::NotSignedIn)
    }

    /// Signs in (needs the network). The refresh token goes to the OS credential store.
    pub async fn login(
        &self,
        merchant: &str,
        rep_id: &str,
        password: &Secret,
    ) -> CoreResult<RepInfo> {
        if merchant.trim().is_empty() || rep_id.trim().is_empty() || password.is_empty() {
            return Err(CoreError::invalid(ErrorCode::InvalidField, "가맹점 코드, 아이디, 비밀번호를 모두 입력하세요 (merchant, rep id and password are required)"));
        }
        let t = self
            .client
            .login(&LoginRequest {
                merchant: merchant.trim().into(),
                rep_id: rep_id.trim().into(),
                password: password.clone(),
                device_name: Some(self.config.device_name.clone()),
            })
            .await?;
        if let Some(prev) = self.session() {
            if prev.merchant_id != t.rep.merchant_id {
                return Err(CoreError::invalid(
                    ErrorCode::Forbidden,
                    "this device folder holds another merchant's data; use a new data folder",
                ));
            }
        }
        self.db
            .set_state("session", &serde_json::to_string(&t.rep)?)?;
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.rep.clone());
        self.update_status(|s| s.signed_in = true);
        self.wake.notify_one();
        Ok(t.rep)
    }

    /// Signs out: forgets the tokens (the local data stays for the next sign-in).
    pub fn sign_out(&self) -> CoreResult<()> {
        self.client.sign_out()?;
        self.db.set_state("session", "null")?;
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.update_status(|s| s.signed_in = false);
        Ok(())
    }
}
