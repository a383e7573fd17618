//! The manager's work (online only; the server refuses a plain rep with 403): the team, the
//! merchant's payments, the settlement of a day or month, API keys and the webhook, the
//! merchant settings; and the first sign-in's new password (any rep).

use std::path::{Path, PathBuf};

use fieldpay_protocol::auth::ChangePassword;
use fieldpay_protocol::auth::RepInfo;
use fieldpay_protocol::charge::ChargeList;
use fieldpay_protocol::command::MerchantCharges;
use fieldpay_protocol::manager::{
    CreateApiKey, CreateRep, Integration, LinkKey, NewApiKey, RepPassword, SettingsPatch,
    SettingsValues, TeamReport,
};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::{ErrorCode, Secret};

use crate::error::{CoreError, CoreResult};
use crate::settlement::{charges_query, Period};

use super::documents::write_export;
use super::Engine;

/// The shortest password a rep may set (the server's rule too).
pub const MIN_PASSWORD_CHARS: usize = 8;

fn required(field: &str, value: &str, max: usize) -> CoreResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CoreError::invalid(
            ErrorCode::InvalidField,
            format!("{field}: 입력하세요 (required)"),
        ));
    }
    if v.chars().count() > max {
        return Err(CoreError::invalid(
            ErrorCode::InvalidField,
            format!("{field}: {max}자 이하로 입력하세요 (at most {max} characters)"),
        ));
    }
    Ok(v.to_string())
}

impl Engine {
    /// Sets a new password after a sign-in with a one-time password (online only). Checked
    /// here first (at least [`MIN_PASSWORD_CHARS`] characters, not the current one); the
    /// server checks again. Clears the session's `must_change_password` and lets sync start.
    pub async fn change_password(&self, current: &Secret, new: &Secret) -> CoreResult<RepInfo> {
        let mut session = self.require_session()?;
        if current.is_empty() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidField,
                "지금 비밀번호를 입력하세요 (enter the current password)",
            ));
        }
        if new.expose().chars().count() < MIN_PASSWORD_CHARS {
            return Err(CoreError::invalid(
                ErrorCode::InvalidField,
                format!("새 비밀번호는 {MIN_PASSWORD_CHARS}자 이상입니다 (the new password needs at least {MIN_PASSWORD_CHARS} characters)"),
            ));
        }
        if new.expose() == current.expose() {
            return Err(CoreError::invalid(
                ErrorCode::InvalidField,
                "새 비밀번호가 지금 비밀번호와 같습니다 (the new password is the current one)",
            ));
        }
        self.client
            .change_password(&ChangePassword {
                current_password: current.clone(),
                new_password: new.clone(),
            })
            .await?;
        session.must_change_password = false;
        self.set_session(&session)?;
        self.wake.notify_one();
        Ok(session)
    }

    pub async fn team(&self, date: Option<&str>) -> CoreResult<TeamReport> {
        self.require_session()?;
        let date = match date {
            Some(d) => Some(crate::closing::closing_date(Some(d), chrono::Utc::now())?),
            None => None,
        };
        self.client.team(date.as_deref()).await
    }

    /// Adds a rep; the answer carries the one-time password (shown once, never stored here).
    pub async fn add_rep(&self, rep: &CreateRep) -> CoreResult<RepPassword> {
        self.require_session()?;
        let body = CreateRep {
            login: required("login", &rep.login, 64)?,
            name: required("name", &rep.name, 64)?,
            role: rep.role,
        };
        self.client.create_rep(&body).await
    }

    pub async fn reset_rep_password(&self, rep_id: &str) -> CoreResult<RepPassword> {
        self.require_session()?;
        self.client.reset_rep_password(rep_id).await
    }

    pub async fn deactivate_rep(&self, rep_id: &str) -> CoreResult<()> {
        let me = self.require_session()?;
        if me.id == rep_id {
            return Err(CoreError::invalid(
                ErrorCode::InvalidState,
                "자기 자신은 비활성화할 수 없습니다 (you cannot deactivate yourself)",
            ));
        }
        self.client.deactivate_rep(rep_id).await
    }

    pub async fn integration(&self) -> CoreResult<Integration> {
        self.require_session()?;
        self.client.integration().await
    }

    /// A new API key; its secret is in the answer only (shown once, never stored here).
    pub async fn create_api_key(&self, name: &str) -> CoreResult<NewApiKey> {
        self.require_session()?;
        let name = required("name", name, 64)?;
        self.client.create_api_key(&CreateApiKey { name }).await
    }

    /// A new payment-link key for the merchant's CRM (the old one stops at once).
    pub async fn rotate_link_key(&self) -> CoreResult<LinkKey> {
        self.require_session()?;
        self.client.rotate_link_key().await
    }

    pub async fn revoke_api_key(&self, key_id: &str) -> CoreResult<()> {
        self.require_session()?;
        self.client.revoke_api_key(key_id).await
    }

    pub async fn merchant_settings(&self) -> CoreResult<SettingsValues> {
        self.require_session()?;
        self.client.merchant_settings().await
    }

    pub async fn update_merchant_settings(
        &self,
        patch: &SettingsPatch,
    ) -> CoreResult<SettingsValues> {
        self.require_session()?;
        self.client.update_merchant_settings(patch).await
    }

    /// The merchant's payments from the server (a manager sees every rep's), filtered.
    pub async fn merchant_charges(&self, filter: &MerchantCharges) -> CoreResult<ChargeList> {
        self.require_session()?;
        let q = charges_query(filter)?;
        self.client.list_charges(&q).await
    }

    /// The settlement of a KST day (`YYYY-MM-DD`) or month (`YYYY-MM`).
    pub async fn settlement(&self, period: &str) -> CoreResult<SettlementReport> {
        self.require_session()?;
        let p = Period::parse(period)?;
        self.client.settlement_of(&p.as_text()).await
    }

    /// The settlement as a CSV file's name and bytes (the server's CSV).
    pub async fn settlement_csv(&self, period: &str) -> CoreResult<(String, Vec<u8>)> {
        self.require_session()?;
        let p = Period::parse(period)?.as_text();
        let csv = self.client.settlement_csv(&p).await?;
        Ok((format!("정산-{p}.csv"), csv))
    }

    /// Writes the settlement CSV into `dir`; returns the file's path.
    pub async fn export_settlement_csv(&self, period: &str, dir: &Path) -> CoreResult<PathBuf> {
        let (name, bytes) = self.settlement_csv(period).await?;
        write_export(dir, &name, &bytes)
    }
}
