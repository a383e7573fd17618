//! Merchant administration: the one place that changes merchants, their numbers, reps, API
//! keys, webhook endpoints and settings outside the day's work. The operator (the
//! `fieldpay-server admin` command and `/admin/v1`) and a merchant's managers
//! (`/v1/manager`) call these same functions. Each validates its input (a typed
//! [`AdminError`], nothing stored on refusal), writes, and records who did what in the audit
//! log (never a secret).
//!
//! The functions are blocking (they call the store; hashing a password takes a moment): an
//! async caller runs them with [`run`].

pub mod cli;
mod numbers;

use chrono::{DateTime, Duration, Utc};
use fieldpay_protocol::admin::{
    ApiKeyInfo, AuditEntry, CreateMerchant, ManagerSetting, MerchantView, NewOperatorToken,
    SettingsPatch, SettingsValues, UpdateMerchant,
};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::validate::normalize_business_number;
use fieldpay_protocol::{ApiKeyId, ChargeId, ErrorCode, MerchantId, RepId, Secret};
use serde_json::json;

use crate::auth::{hash_password, hash_secret, new_api_key, verify_password};
use crate::charges;
use crate::domain::{Merchant, MerchantProfile, MerchantSettings, MerchantStatus};
use crate::error::AppError;
use crate::ids::random_token;
use crate::state::AppState;
use crate::store::{ChargeFilter, NewAudit, OperatorToken, Store, StoreError};

pub use numbers::parse_numbers;

/// Who makes a change (recorded in the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An `/admin/v1` request, by the operator token it carried.
    Operator { token_id: String },
    /// The local `fieldpay-server admin` command (whoever runs it holds the database).
    Cli,
    /// A merchant's manager, from the app (`/v1/manager`): only its own merchant, only the
    /// settings its operator allowed.
    Manager { rep_id: RepId },
}

impl Actor {
    /// As written in the audit log: `cli`, `operator:<token id>`, `manager:<rep id>`.
    pub fn label(&self) -> String {
        match self {
            Actor::Operator { token_id } => format!("operator:{token_id}"),
            Actor::Cli => "cli".into(),
            Actor::Manager { rep_id } => format!("manager:{rep_id}"),
        }
    }

    fn is_manager(&self) -> bool {
        matches!(self, Actor::Manager { .. })
    }
}

/// Why an administration call was refused (nothing was stored).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(
        "business_number: {0:?} is not a valid 사업자등록번호 (10 digits, the last a check digit)"
    )]
    BusinessNumber(String),
    #[error("{field}: {input:?}: {why}")]
    Phone {
        field: String,
        input: String,
        why: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    Store(StoreError),
}

impl AdminError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AdminError::NotFound(_) => ErrorCode::NotFound,
            AdminError::Invalid { .. } => ErrorCode::InvalidField,
            AdminError::BusinessNumber(_) => ErrorCode::InvalidBusinessNumber,
            AdminError::Phone { .. } => ErrorCode::InvalidPhone,
            AdminError::Conflict(_) => ErrorCode::Conflict,
            AdminError::Forbidden(_) => ErrorCode::Forbidden,
            AdminError::InvalidState(_) => ErrorCode::InvalidState,
            AdminError::Store(StoreError::Rejected { code, .. }) => *code,
            AdminError::Store(_) => ErrorCode::Internal,
        }
    }

    fn invalid(field: &str, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected { code, message } => match code {
                ErrorCode::NotFound => AdminError::NotFound(message),
                ErrorCode::Conflict => AdminError::Conflict(message),
                ErrorCode::InvalidState => AdminError::InvalidState(message),
                _ => AdminError::Store(StoreError::Rejected { code, message }),
            },
            other => AdminError::Store(other),
        }
    }
}

impl From<AppError> for AdminError {
    fn from(e: AppError) -> Self {
        AdminError::Store(StoreError::Rejected {
            code: e.code,
            message: e.message,
        })
    }
}

impl From<AdminError> for AppError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(s) => s.into(),
            other => AppError::new(other.code(), other.to_string()),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Runs a blocking administration call on the blocking pool, its refusal as the API's error.
pub async fn run<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> AdminResult<T> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::from)
}

/// Records a change in the audit log.
fn record(
    store: &dyn Store,
    actor: &str,
    action: &str,
    merchant: Option<&MerchantId>,
    detail: serde_json::Value,
) -> AdminResult<()> {
    store.append_audit(&NewAudit {
        actor,
        action,
        merchant_id: merchant,
        detail: &detail,
    })?;
    Ok(())
}

fn text(field: &str, v: &str, max: usize) -> AdminResult<String> {
    fieldpay_protocol::rules::parse_text(field, v, max)
        .map_err(|e| AdminError::invalid(field, e.message))
}

fn phone(field: &str, v: &str) -> AdminResult<Phone> {
    Phone::parse(v).map_err(|e| AdminError::Phone {
        field: field.into(),
        input: v.into(),
        why: e.to_string(),
    })
}

fn business_number(v: &str) -> AdminResult<String> {
    normalize_business_number(v).ok_or_else(|| AdminError::BusinessNumber(v.into()))
}

// ------------------------------------------------------------------ merchants

/// The merchant of that id.
pub fn merchant(store: &dyn Store, merchant: &MerchantId) -> AdminResult<Merchant> {
    store
        .merchant(merchant)?
        .ok_or_else(|| AdminError::NotFound(format!("no merchant {merchant}")))
}

/// The merchant of that code.
pub fn merchant_by_code(store: &dyn Store, code: &str) -> AdminResult<Merchant> {
    store
        .merchant_by_code(code.trim())?
        .ok_or_else(|| AdminError::NotFound(format!("no merchant with code {code:?}")))
}

/// A merchant as shown (no secrets).
pub fn merchant_view(m: &Merchant) -> MerchantView {
    MerchantView {
        id: m.id.to_string(),
        code: m.code.clone(),
        name: m.name.clone(),
        status: m.status,
        business_number: m.settings.business_number.clone(),
        representative: m.profile.representative.clone(),
        phone: m.profile.phone.clone(),
        address: m.profile.address.clone(),
        numbers: m.settings.number_pool.clone(),
        webhook_url: m.settings.webhook_url.clone(),
        settings: settings_values(&m.settings),
    }
}

/// The settings as shown: values only, no secrets.
pub fn settings_values(s: &MerchantSettings) -> SettingsValues {
    SettingsValues {
        require_birth_date: s.require_birth_date,
        require_password: s.require_password,
        credit_policy: s.credit_policy,
        default_expiry_minutes: s.default_expiry_minutes,
        auto_pay: s.auto_pay,
        installments_allowed: s.installments_allowed,
        approval_attempt_limit: s.approval_attempt_limit,
        texts_per_hour: s.texts_per_hour,
        manual_price_max_discount_pct: s.manual_price_max_discount_pct,
        manager_may_change: s.manager_may_change.clone(),
    }
}

fn merchant_code(v: &str) -> AdminResult<String> {
    let code = v.trim();
    let ok = (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(AdminError::invalid(
            "code",
            "must be 2 to 32 of a-z, 0-9, '-' and '_'",
        ));
    }
    Ok(code.to_string())
}

/// Applies a settings patch to `s`, checking each value.
fn apply_patch(s: &mut MerchantSettings, p: &SettingsPatch) -> AdminResult<()> {
    if let Some(v) = p.require_birth_date {
        s.require_birth_date = v;
    }
    if let Some(v) = p.require_password {
        s.require_password = v;
    }
    if let Some(v) = p.credit_policy {
        s.credit_policy = v;
    }
    if let Some(v) = p.default_expiry_minutes {
        if !(1..=10_080).contains(&v) {
            return Err(AdminError::invalid(
                "default_expiry_minutes",
                "must be 1 to 10080 (a week)",
            ));
        }
        s.default_expiry_minutes = v;
    }
    if let Some(v) = p.auto_pay {
        s.auto_pay = v;
    }
    if let Some(v) = p.installments_allowed {
        s.installments_allowed = v;
    }
    if let Some(v) = p.approval_attempt_limit {
        if !(1..=20).contains(&v) {
            return Err(AdminError::invalid(
                "approval_attempt_limit",
                "must be 1 to 20",
            ));
        }
        s.approval_attempt_limit = v;
    }
    if let Some(v) = p.texts_per_hour {
        if v == Some(0) {
            return Err(AdminError::invalid(
                "texts_per_hour",
                "must be at least 1 (or null: no limit)",
            ));
        }
        s.texts_per_hour = v;
    }
    if let Some(v) = p.manual_price_max_discount_pct {
        if v.is_some_and(|pct| pct > 100) {
            return Err(AdminError::invalid(
                "manual_price_max_discount_pct",
                "must be 0 to 100 (or null: only price-list prices)",
            ));
        }
        s.manual_price_max_discount_pct = v;
    }
    if let Some(v) = &p.manager_may_change {
        let mut v = v.clone();
        v.sort_by_key(|s| s.as_str());
        v.dedup();
        s.manager_may_change = v;
    }
    Ok(())
}

/// Creates an active merchant, with no numbers, reps or keys yet.
pub fn create_merchant(
    store: &dyn Store,
    actor: &Actor,
    req: &CreateMerchant,
) -> AdminResult<Merchant> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "only the operator creates merchants".into(),
        ));
    }
    let code = merchant_code(&req.code)?;
    let name = text("name", &req.name, 100)?;
    let business_number = business_number(&req.business_number)?;
    let profile = MerchantProfile {
        representative: text("representative", &req.representative, 50)?,
        phone: phone("phone", &req.phone)?.digits().to_string(),
        address: text("address", &req.address, 200)?,
    };
    let mut settings = MerchantSettings {
        business_number,
        ..MerchantSettings::default()
    };
    apply_patch(&mut settings, &req.settings)?;
    if store.merchant_by_code(&code)?.is_some() {
        return Err(AdminError::Conflict(format!(
            "a merchant with code {code:?} exists already"
        )));
    }
    let m = store.create_merchant_with(&code, &name, &profile, &settings)?;
    record(
        store,
        &actor.label(),
        "merchant.create",
        Some(&m.id),
        json!({
            "code": code, "name": name, "business_number": m.settings.business_number,
            "representative": profile.representative, "phone": profile.phone,
            "address": profile.address, "settings": req.settings,
        }),
    )?;
    Ok(m)
}

/// Changes a merchant's name, profile and settings (operator only; a manager changes
/// settings with [`update_merchant_settings`]).
pub fn update_merchant(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    req: &UpdateMerchant,
) -> AdminResult<Merchant> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "only the operator changes a merchant's profile".into(),
        ));
    }
    let m = merchant(store, merchant_id)?;
    let name = match &req.name {
        Some(n) => text("name", n, 100)?,
        None => m.name.clone(),
    };
    let mut profile = m.profile.clone();
    if let Some(v) = &req.representative {
        profile.representative = text("representative", v, 50)?;
    }
    if let Some(v) = &req.phone {
        profile.phone = phone("phone", v)?.digits().to_string();
    }
    if let Some(v) = &req.address {
        profile.address = text("address", v, 200)?;
    }
    let mut settings = m.settings.clone();
    if let Some(v) = &req.business_number {
        settings.business_number = business_number(v)?;
    }
    apply_patch(&mut settings, &req.settings)?;
    if name != m.name || profile != m.profile {
        store.update_merchant_profile(&m.id, &name, &profile)?;
    }
    if settings != m.settings {
        store.update_merchant_settings(&m.id, &settings)?;
    }
    record(
        store,
        &actor.label(),
        "merchant.update",
        Some(&m.id),
        serde_json::to_value(req).unwrap_or_default(),
    )?;
    self::merchant(store, &m.id)
}

/// Every merchant, by code.
pub fn list_merchants(store: &dyn Store) -> AdminResult<Vec<Merchant>> {
    Ok(store.list_merchants()?)
}

/// Suspends a merchant: new charges are refused (`merchant_suspended`) from now on, and its
/// pending charges are canceled through the charges' own cancel, each payer texted that the
/// bill was withdrawn. A charge whose card approval is in flight at that moment is left to
/// finish (the cancel refuses it). Returns the charges canceled. Suspending a suspended
/// merchant cancels what is still pending.
pub async fn suspend_merchant(
    state: &AppState,
    actor: &Actor,
    merchant_id: &MerchantId,
) -> Result<Vec<ChargeId>, AdminError> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "only the operator suspends a merchant".into(),
        ));
    }
    let (a, mid) = (actor.clone(), merchant_id.clone());
    run(state, move |s| {
        let m = merchant(s, &mid)?;
        s.set_merchant_status(&m.id, MerchantStatus::Suspended)?;
        record(s, &a.label(), "merchant.suspend", Some(&m.id), json!({}))
    })
    .await?;
    let mut canceled = Vec::new();
    let mut after = None;
    loop {
        let filter = ChargeFilter {
            after: after.clone(),
            limit: 200,
            ..ChargeFilter::default()
        };
        let mid = merchant_id.clone();
        let page = state.db(move |s| s.list_charges(&mid, &filter)).await?;
        for c in &page.items {
            if c.status.is_pending() {
                let id = ChargeId::from(c.id.as_str());
                let reason = Some("가맹점 이용 정지 (merchant suspended)".to_string());
                match charges::cancel_with(state, merchant_id, &id, reason, true).await {
                    Ok(_) => canceled.push(id),
                    // Paid or ended meanwhile: nothing to cancel.
                    Err(e) if e.code == ErrorCode::InvalidState => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match page.next {
            Some(next) => after = Some(ChargeId::from(next.as_str())),
            None => break,
        }
    }
    let (a, mid, ids) = (actor.clone(), merchant_id.clone(), canceled.clone());
    if !ids.is_empty() {
        run(state, move |s| {
            record(
                s,
                &a.label(),
                "merchant.suspend.cancel_charges",
                Some(&mid),
                json!({ "charges": ids.iter().map(|c| c.as_str()).collect::<Vec<_>>() }),
            )
        })
        .await?;
    }
    Ok(canceled)
}

/// Makes a suspended merchant active again.
pub fn activate_merchant(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
) -> AdminResult<()> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "only the operator reactivates a merchant".into(),
        ));
    }
    let m = merchant(store, merchant_id)?;
    store.set_merchant_status(&m.id, MerchantStatus::Active)?;
    record(
        store,
        &actor.label(),
        "merchant.activate",
        Some(&m.id),
        json!({}),
    )
}

// ------------------------------------------------------------------ numbers

/// Adds numbers and ranges (see [`parse_numbers`]) to the merchant's pool, all or none.
/// Returns the numbers added (national digits).
pub fn add_numbers(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    inputs: &[String],
) -> AdminResult<Vec<String>> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "only the operator assigns virtual numbers".into(),
        ));
    }
    let m = merchant(store, merchant_id)?;
    let numbers = parse_numbers(inputs)?;
    store.add_numbers(&m.id, &numbers)?;
    record(
        store,
        &actor.label(),
        "numbers.add",
        Some(&m.id),
        json!({ "numbers": numbers }),
    )?;
    Ok(numbers)
}

/// The merchant's pool, in the order numbers are handed out.
pub fn list_numbers(store: &dyn Store, merchant_id: &MerchantId) -> AdminResult<Vec<String>> {
    Ok(merchant(store, merchant_id)?.settings.number_pool)
}

/// Removes a number from the merchant's pool; refused while a pending charge is bound to it.
pub fn remove_number(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    number: &str,
) -> AdminResult<()> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "only the operator removes virtual numbers".into(),
        ));
    }
    let m = merchant(store, merchant_id)?;
    let n = phone("number", number)?;
    store.remove_number(&m.id, n.digits())?;
    record(
        store,
        &actor.label(),
        "numbers.remove",
        Some(&m.id),
        json!({ "number": n.digits() }),
    )
}

// ------------------------------------------------------------------ reps

/// A one-time password: 12 letters and digits.
fn one_time_password() -> Secret {
    Secret::new(random_token(12))
}

fn hash(password: &Secret) -> AdminResult<Secret> {
    Ok(hash_password(password)?)
}

fn login(v: &str) -> AdminResult<String> {
    let login = v.trim();
    let ok = (1..=32).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(AdminError::invalid(
            "login",
            "must be 1 to 32 of A-Z, a-z, 0-9, '.', '_' and '-'",
        ));
    }
    Ok(login.to_string())
}

/// Adds a rep (or manager) to the merchant with a one-time password, returned this once:
/// the rep must change it at its first sign-in.
pub fn create_rep(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    login: &str,
    name: &str,
    role: Role,
) -> AdminResult<(RepId, Secret)> {
    let m = merchant(store, merchant_id)?;
    let login = self::login(login)?;
    let name = text("name", name, 50)?;
    if store.rep_by_login(&m.id, &login)?.is_some() {
        return Err(AdminError::Conflict(format!(
            "merchant {} has a rep with login {login:?} already",
            m.code
        )));
    }
    let password = one_time_password();
    let hashed = hash(&password)?;
    let id = store.create_rep(&m.id, &login, &name, &hashed, role)?;
    store.set_rep_password(&m.id, &id, &hashed, true)?;
    record(
        store,
        &actor.label(),
        "rep.create",
        Some(&m.id),
        json!({ "rep_id": id.as_str(), "login": login, "name": name, "role": role.as_str() }),
    )?;
    Ok((id, password))
}

fn rep_of(
    store: &dyn Store,
    merchant_id: &MerchantId,
    rep_id: &RepId,
) -> AdminResult<crate::store::RepRecord> {
    store
        .rep(merchant_id, rep_id)?
        .ok_or_else(|| AdminError::NotFound(format!("no rep {rep_id} at this merchant")))
}

/// The rep of a login at the merchant.
pub fn rep_by_login(
    store: &dyn Store,
    merchant_id: &MerchantId,
    login: &str,
) -> AdminResult<crate::store::RepRecord> {
    store
        .rep_by_login(merchant_id, login.trim())?
        .ok_or_else(|| {
            AdminError::NotFound(format!("no rep with login {login:?} at this merchant"))
        })
}

/// Gives a rep a new one-time password (returned this once), to be changed at the next
/// sign-in.
pub fn reset_rep_password(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    rep_id: &RepId,
) -> AdminResult<Secret> {
    let rep = rep_of(store, merchant_id, rep_id)?;
    let password = one_time_password();
    store.set_rep_password(merchant_id, &rep.id, &hash(&password)?, true)?;
    record(
        store,
        &actor.label(),
        "rep.reset_password",
        Some(merchant_id),
        json!({ "rep_id": rep.id.as_str(), "login": rep.login }),
    )?;
    Ok(password)
}

/// Deactivates a rep: its sign-in is refused and its sessions end. A manager cannot
/// deactivate itself.
pub fn deactivate_rep(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    rep_id: &RepId,
) -> AdminResult<()> {
    if matches!(actor, Actor::Manager { rep_id: me } if me == rep_id) {
        return Err(AdminError::Forbidden(
            "a manager cannot deactivate itself".into(),
        ));
    }
    let rep = rep_of(store, merchant_id, rep_id)?;
    if !rep.active {
        return Err(AdminError::InvalidState(format!(
            "rep {} is inactive already",
            rep.login
        )));
    }
    store.deactivate_rep(merchant_id, &rep.id)?;
    record(
        store,
        &actor.label(),
        "rep.deactivate",
        Some(merchant_id),
        json!({ "rep_id": rep.id.as_str(), "login": rep.login }),
    )
}

/// Minimum length of a rep's own password.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A signed-in rep changes its own password (and so ends the one-time password's hold).
pub fn change_password(
    store: &dyn Store,
    merchant_id: &MerchantId,
    rep_id: &RepId,
    current: &Secret,
    new: &Secret,
) -> AdminResult<()> {
    let rep = rep_of(store, merchant_id, rep_id)?;
    if !verify_password(current, &rep.password_hash) {
        return Err(AdminError::Forbidden(
            "현재 비밀번호가 맞지 않습니다 (current_password is wrong)".into(),
        ));
    }
    let chars = new.expose().chars().count();
    if !(MIN_PASSWORD_CHARS..=128).contains(&chars) {
        return Err(AdminError::invalid(
            "new_password",
            format!("must be {MIN_PASSWORD_CHARS} to 128 characters"),
        ));
    }
    if new.expose() == current.expose() {
        return Err(AdminError::invalid(
            "new_password",
            "must differ from the current password",
        ));
    }
    store.set_rep_password(merchant_id, &rep.id, &hash(new)?, false)?;
    record(
        store,
        &format!("rep:{}", rep.id),
        "rep.change_password",
        Some(merchant_id),
        json!({ "rep_id": rep.id.as_str(), "login": rep.login }),
    )
}

// ------------------------------------------------------------------ API keys

/// A new API key for the merchant, returned this once (stored as its hash).
pub fn create_api_key(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    name: &str,
) -> AdminResult<(ApiKeyId, Secret)> {
    let m = merchant(store, merchant_id)?;
    let name = text("name", name, 60)?;
    let key = new_api_key();
    let prefix = &key.expose()[..12];
    let id = store.create_api_key(&m.id, &hash_secret(key.expose()), prefix, &name)?;
    record(
        store,
        &actor.label(),
        "api_key.create",
        Some(&m.id),
        json!({ "key_id": id.as_str(), "name": name, "prefix": prefix }),
    )?;
    Ok((id, key))
}

/// The merchant's API keys, live and revoked, newest first (never the keys).
pub fn list_api_keys(store: &dyn Store, merchant_id: &MerchantId) -> AdminResult<Vec<ApiKeyInfo>> {
    let m = merchant(store, merchant_id)?;
    Ok(store.list_api_keys(&m.id)?)
}

/// One API key of the merchant, as listed.
pub fn api_key_info(
    store: &dyn Store,
    merchant_id: &MerchantId,
    key_id: &ApiKeyId,
) -> AdminResult<ApiKeyInfo> {
    store
        .list_api_keys(merchant_id)?
        .into_iter()
        .find(|k| k.id == key_id.as_str())
        .ok_or_else(|| AdminError::NotFound(format!("no API key {key_id} at this merchant")))
}

/// Revokes a live API key of the merchant.
pub fn revoke_api_key(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    key_id: &ApiKeyId,
) -> AdminResult<()> {
    if !store.revoke_api_key(merchant_id, key_id)? {
        return Err(AdminError::NotFound(format!(
            "no live API key {key_id} at this merchant"
        )));
    }
    record(
        store,
        &actor.label(),
        "api_key.revoke",
        Some(merchant_id),
        json!({ "key_id": key_id.as_str() }),
    )
}

// ------------------------------------------------------------------ webhooks

/// How long a rotated-out webhook secret still signs deliveries.
pub const WEBHOOK_ROTATION_GRACE_HOURS: i64 = 24;

/// Sets the merchant's webhook endpoint with a new signing secret, returned this once (any
/// previous secret stops signing at once). `https://` only (plain http to a loopback address
/// in sandbox mode).
pub fn set_webhook(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    url: &str,
    sandbox: bool,
) -> AdminResult<Secret> {
    let m = merchant(store, merchant_id)?;
    let url = crate::webhooks::address::check_url(url.trim(), sandbox)
        .map_err(|e| AdminError::invalid("url", e.to_string()))?;
    let secret = crate::webhooks::new_secret();
    let mut settings = m.settings.clone();
    settings.webhook_url = Some(url.to_string());
    settings.webhook_secret = Some(secret.clone());
    settings.webhook_previous_secret = None;
    settings.webhook_previous_until = None;
    store.update_merchant_settings(&m.id, &settings)?;
    record(
        store,
        &actor.label(),
        "webhook.set",
        Some(&m.id),
        json!({ "url": url.as_str() }),
    )?;
    Ok(secret)
}

/// A new signing secret for the merchant's webhook endpoint, returned this once; the
/// previous one keeps signing (next to it) for [`WEBHOOK_ROTATION_GRACE_HOURS`].
pub fn rotate_webhook_secret(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
) -> AdminResult<Secret> {
    let m = merchant(store, merchant_id)?;
    let Some(old) = m.settings.webhook_secret.clone() else {
        return Err(AdminError::InvalidState(
            "the merchant has no webhook endpoint; set one first".into(),
        ));
    };
    let until = crate::clock::ts(Utc::now() + Duration::hours(WEBHOOK_ROTATION_GRACE_HOURS));
    let secret = crate::webhooks::new_secret();
    let mut settings = m.settings.clone();
    settings.webhook_secret = Some(secret.clone());
    settings.webhook_previous_secret = Some(old);
    settings.webhook_previous_until = Some(until.clone());
    store.update_merchant_settings(&m.id, &settings)?;
    record(
        store,
        &actor.label(),
        "webhook.rotate_secret",
        Some(&m.id),
        json!({ "previous_valid_until": until }),
    )?;
    Ok(secret)
}

/// The secrets that sign a delivery at `now`: the current one, and the previous one while
/// its grace period lasts.
pub fn webhook_signing_secrets(s: &MerchantSettings, now: DateTime<Utc>) -> Vec<&Secret> {
    let mut out: Vec<&Secret> = s.webhook_secret.iter().collect();
    if let (Some(prev), Some(until)) = (&s.webhook_previous_secret, &s.webhook_previous_until) {
        if crate::clock::parse_ts(until).is_some_and(|until| now < until) {
            out.push(prev);
        }
    }
    out
}

// ------------------------------------------------------------------ link key

/// A new key for the merchant's signed payment links (`fpl_...`), returned this once: links
/// signed with the previous key stop working at once (a leaked key must be stoppable).
/// Audited as `link_key.rotate`.
pub fn rotate_link_key(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
) -> AdminResult<(Secret, String)> {
    let m = merchant(store, merchant_id)?;
    let key = Secret::new(crate::links::new_key());
    let at = crate::clock::ts(Utc::now());
    let had_one = m.settings.link_key.is_some();
    let mut settings = m.settings.clone();
    settings.link_key = Some(key.clone());
    settings.link_key_created_at = Some(at.clone());
    store.update_merchant_settings(&m.id, &settings)?;
    record(
        store,
        &actor.label(),
        "link_key.rotate",
        Some(&m.id),
        json!({ "replaced": had_one, "created_at": at }),
    )?;
    Ok((key, at))
}

// ------------------------------------------------------------------ settings

/// Changes the merchant's settings. A manager may change only the settings its operator
/// allowed (`manager_may_change`), and not that list itself.
pub fn update_merchant_settings(
    store: &dyn Store,
    actor: &Actor,
    merchant_id: &MerchantId,
    patch: &SettingsPatch,
) -> AdminResult<Merchant> {
    let m = merchant(store, merchant_id)?;
    if actor.is_manager() {
        if patch.manager_may_change.is_some() {
            return Err(AdminError::Forbidden(
                "only the operator decides which settings managers may change".into(),
            ));
        }
        let refused: Vec<&str> = patch
            .touched()
            .into_iter()
            .filter(|s| !m.settings.manager_may_change.contains(s))
            .map(ManagerSetting::as_str)
            .collect();
        if !refused.is_empty() {
            return Err(AdminError::Forbidden(format!(
                "the operator does not let managers change {}",
                refused.join(", ")
            )));
        }
    }
    let mut settings = m.settings.clone();
    apply_patch(&mut settings, patch)?;
    store.update_merchant_settings(&m.id, &settings)?;
    record(
        store,
        &actor.label(),
        "settings.update",
        Some(&m.id),
        serde_json::to_value(patch).unwrap_or_default(),
    )?;
    merchant(store, &m.id)
}

// ------------------------------------------------------------------ operator tokens, audit

/// The prefix of operator tokens.
pub const OPERATOR_TOKEN_PREFIX: &str = "fpo_";

/// A new operator token (the bearer of `/admin/v1`), returned this once.
pub fn create_operator_token(
    store: &dyn Store,
    actor: &Actor,
    name: &str,
) -> AdminResult<NewOperatorToken> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "managers cannot make operator tokens".into(),
        ));
    }
    let name = text("name", name, 60)?;
    let token = Secret::new(format!("{OPERATOR_TOKEN_PREFIX}{}", random_token(40)));
    let prefix = &token.expose()[..10];
    let id = store.create_operator_token(&hash_secret(token.expose()), prefix, &name)?;
    record(
        store,
        &actor.label(),
        "operator_token.create",
        None,
        json!({ "token_id": id, "name": name, "prefix": prefix }),
    )?;
    Ok(NewOperatorToken { id, name, token })
}

/// Revokes an operator token (by its id, printed when it was made).
pub fn revoke_operator_token(store: &dyn Store, actor: &Actor, id: &str) -> AdminResult<()> {
    if actor.is_manager() {
        return Err(AdminError::Forbidden(
            "managers cannot revoke operator tokens".into(),
        ));
    }
    if !store.revoke_operator_token(id.trim())? {
        return Err(AdminError::NotFound(format!(
            "no live operator token {}",
            id.trim()
        )));
    }
    record(
        store,
        &actor.label(),
        "operator_token.revoke",
        None,
        json!({ "token_id": id.trim() }),
    )
}

/// The live operator token a bearer value is, if any.
pub fn operator_of(store: &dyn Store, bearer: &Secret) -> AdminResult<Option<OperatorToken>> {
    if !bearer.expose().starts_with(OPERATOR_TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store.operator_token(&hash_secret(bearer.expose()))?)
}

/// The latest audit entries (of one merchant, or all), newest first; `limit` 1 to 1000.
pub fn audit(
    store: &dyn Store,
    merchant: Option<&MerchantId>,
    limit: u32,
) -> AdminResult<Vec<AuditEntry>> {
    Ok(store.audit(merchant, limit.clamp(1, 1000))?)
}
