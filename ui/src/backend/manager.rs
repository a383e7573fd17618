//! The manager's screens and the first sign-in's new password (all online).

use fieldpay_protocol::app::AppInfo;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::charge::ChargeList;
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::manager::{
    CreateRep, Integration, LinkKey, NewApiKey, RepPassword, SettingsPatch, SettingsValues,
    TeamReport,
};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::{ApiError, Secret};

use super::invoke;

pub async fn change_password(current: Secret, new: Secret) -> Result<AppInfo, ApiError> {
    invoke(&cmd::ChangePassword {
        current_password: current,
        new_password: new,
    })
    .await
}

/// `date` KST `YYYY-MM-DD`; today when None.
pub async fn team(date: Option<&str>) -> Result<TeamReport, ApiError> {
    invoke(&cmd::ManagerTeam {
        date: date.map(Into::into),
    })
    .await
}

pub async fn add_rep(login: &str, name: &str, role: Role) -> Result<RepPassword, ApiError> {
    invoke(&cmd::ManagerAddRep {
        rep: CreateRep {
            login: login.into(),
            name: name.into(),
            role,
        },
    })
    .await
}

pub async fn reset_password(rep_id: &str) -> Result<RepPassword, ApiError> {
    invoke(&cmd::ManagerResetPassword {
        rep_id: rep_id.into(),
    })
    .await
}

pub async fn deactivate(rep_id: &str) -> Result<(), ApiError> {
    invoke(&cmd::ManagerDeactivateRep {
        rep_id: rep_id.into(),
    })
    .await
}

pub async fn integration() -> Result<Integration, ApiError> {
    invoke(&cmd::ManagerIntegration {}).await
}

pub async fn create_api_key(name: &str) -> Result<NewApiKey, ApiError> {
    invoke(&cmd::ManagerCreateApiKey { name: name.into() }).await
}

pub async fn rotate_link_key() -> Result<LinkKey, ApiError> {
    invoke(&cmd::ManagerRotateLinkKey {}).await
}

pub async fn revoke_api_key(key_id: &str) -> Result<(), ApiError> {
    invoke(&cmd::ManagerRevokeApiKey {
        key_id: key_id.into(),
    })
    .await
}

pub async fn settings() -> Result<SettingsValues, ApiError> {
    invoke(&cmd::ManagerSettings {}).await
}

pub async fn update_settings(patch: SettingsPatch) -> Result<SettingsValues, ApiError> {
    invoke(&cmd::ManagerUpdateSettings { patch }).await
}

pub async fn merchant_charges(filter: cmd::MerchantCharges) -> Result<ChargeList, ApiError> {
    invoke(&filter).await
}

/// `period`: a KST day `YYYY-MM-DD` or a month `YYYY-MM`.
pub async fn settlement(period: &str) -> Result<SettlementReport, ApiError> {
    invoke(&cmd::Settlement {
        period: period.into(),
    })
    .await
}

/// Saves the settlement CSV under the data folder's `exports/`; returns the file's path.
pub async fn export_settlement_csv(period: &str) -> Result<String, ApiError> {
    invoke(&cmd::ExportSettlementCsv {
        period: period.into(),
    })
    .await
}
