//! `fieldpay-server admin ...`: the operator's commands on the configured store, over the
//! same service functions as `/admin/v1`. Each prints a clear result; secrets (one-time
//! passwords, API keys, webhook secrets, operator tokens) are printed once, here, and never
//! again. A refusal is one line, `error: <code>: <why>`, and a non-zero exit.

use clap::{Args, Subcommand};
use fieldpay_protocol::admin::{CreateMerchant, ManagerSetting, SettingsPatch, UpdateMerchant};
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::phone::Phone;
use fieldpay_protocol::records::CreditPolicy;
use fieldpay_protocol::{ApiKeyId, MerchantId};

use super::{Actor, AdminError, AdminResult};
use crate::domain::Merchant;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Merchants: create, update, show, list, suspend, activate.
    Merchant {
        #[command(subcommand)]
        action: MerchantAction,
    },
    /// A merchant's pool of virtual ARS numbers.
    Numbers {
        #[command(subcommand)]
        action: NumbersAction,
    },
    /// A merchant's reps and managers.
    Rep {
        #[command(subcommand)]
        action: RepAction,
    },
    /// A merchant's API keys.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// A merchant's webhook endpoint and signing secret.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// The key of a merchant's signed payment links.
    LinkKey {
        #[command(subcommand)]
        action: LinkKeyAction,
    },
    /// Tokens of the operator API (/admin/v1).
    OperatorToken {
        #[command(subcommand)]
        action: OperatorTokenAction,
    },
    /// Who changed what and when, newest first.
    Audit {
        /// Only this merchant's (its code).
        #[arg(long)]
        merchant: Option<String>,
        /// At most this many entries (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// Settings a merchant is created or updated with; absent ones are left as they are.
#[derive(Debug, Args, Default)]
pub struct SettingsArgs {
    /// Ask the payer's birth date on the call: true or false.
    #[arg(long)]
    require_birth_date: Option<bool>,
    /// Ask the card password's first two digits: true or false.
    #[arg(long)]
    require_password: Option<bool>,
    /// Auto-pay (registered cards) allowed: true or false.
    #[arg(long)]
    auto_pay: Option<bool>,
    /// Installments (할부) allowed: true or false.
    #[arg(long)]
    installments: Option<bool>,
    /// Orders over a client's credit limit: warn or block.
    #[arg(long)]
    credit_policy: Option<String>,
    /// Minutes a charge waits for payment by default (1 to 10080).
    #[arg(long)]
    default_expiry_minutes: Option<u32>,
    /// Declined cards a charge may take before it is declined for good (1 to 20).
    #[arg(long)]
    approval_attempt_limit: Option<u32>,
    /// Bills the merchant may text in one clock hour, or `none` for no limit.
    #[arg(long)]
    texts_per_hour: Option<String>,
    /// How far below the price list a rep may price a line by hand (percent), or `none`.
    #[arg(long)]
    manual_price_max_discount_pct: Option<String>,
    /// The settings the merchant's managers may change from the app, comma-separated
    /// (e.g. credit_policy,require_birth_date), or `none`.
    #[arg(long)]
    manager_may_change: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> AdminError {
    AdminError::invalid(field, message)
}

/// `none` or a number.
fn optional_number<T: std::str::FromStr>(field: &str, v: &str) -> AdminResult<Option<T>> {
    if v.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    v.trim()
        .parse()
        .map(Some)
        .map_err(|_| invalid(field, format!("{v:?} is neither a number nor none")))
}

impl SettingsArgs {
    fn patch(&self) -> AdminResult<SettingsPatch> {
        let credit_policy = match self.credit_policy.as_deref().map(str::trim) {
            None => None,
            Some("warn") => Some(CreditPolicy::Warn),
            Some("block") => Some(CreditPolicy::Block),
            Some(other) => {
                return Err(invalid(
                    "credit_policy",
                    format!("{other:?}: must be warn or block"),
                ))
            }
        };
        let manager_may_change = match self.manager_may_change.as_deref().map(str::trim) {
            None => None,
            Some("none") | Some("") => Some(Vec::new()),
            Some(list) => Some(
                list.split(',')
                    .map(|s| {
                        ManagerSetting::parse(s.trim()).ok_or_else(|| {
                            invalid(
                                "manager_may_change",
                                format!(
                                    "{s:?} is not a setting; one of {}",
                                    ManagerSetting::ALL.map(ManagerSetting::as_str).join(", ")
                                ),
                            )
                        })
                    })
                    .collect::<AdminResult<_>>()?,
            ),
        };
        Ok(SettingsPatch {
            require_birth_date: self.require_birth_date,
            require_password: self.require_password,
            credit_policy,
            default_expiry_minutes: self.default_expiry_minutes,
            auto_pay: self.auto_pay,
            installments_allowed: self.installments,
            approval_attempt_limit: self.approval_attempt_limit,
            texts_per_hour: self
                .texts_per_hour
                .as_deref()
                .map(|v| optional_number("texts_per_hour", v))
                .transpose()?,
            manual_price_max_discount_pct: self
                .manual_price_max_discount_pct
                .as_deref()
                .map(|v| optional_number("manual_price_max_discount_pct", v))
                .transpose()?,
            manager_may_change,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum MerchantAction {
    /// Create a merchant (active; then add numbers, a manager and an API key).
    Create {
        /// Unique code (2 to 32 of a-z, 0-9, - and _); reps sign in with it.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// 사업자등록번호 (its check digit is checked).
        #[arg(long)]
        business_number: String,
        /// 대표자.
        #[arg(long)]
        representative: String,
        #[arg(long)]
        phone: String,
        #[arg(long)]
        address: String,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Change a merchant's name, profile or settings.
    Update {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        business_number: Option<String>,
        #[arg(long)]
        representative: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Show a merchant.
    Show {
        #[arg(long)]
        merchant: String,
    },
    /// List every merchant.
    List,
    /// Suspend a merchant: no new charges; pending ones are canceled (payers texted).
    Suspend {
        #[arg(long)]
        merchant: String,
    },
    /// Make a suspended merchant active again.
    Activate {
        #[arg(long)]
        merchant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum NumbersAction {
    /// Add numbers and ranges: 1600-0010..1600-0019 1600-0030 (all or none).
    Add {
        #[arg(long)]
        merchant: String,
        #[arg(required = true)]
        numbers: Vec<String>,
    },
    /// List the pool.
    List {
        #[arg(long)]
        merchant: String,
    },
    /// Remove a number (refused while a pending charge is bound to it).
    Remove {
        #[arg(long)]
        merchant: String,
        number: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepAction {
    /// Create a rep or manager; prints a one-time password, to change at first sign-in.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// rep or manager.
        #[arg(long, default_value = "rep")]
        role: String,
    },
    /// A new one-time password.
    ResetPassword {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        login: String,
    },
    /// Refuse the rep's sign-in and end its sessions.
    Deactivate {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        login: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create a key; prints it once.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        name: String,
    },
    /// Names, prefixes, last use; never the keys.
    List {
        #[arg(long)]
        merchant: String,
    },
    /// Revoke a key by its id.
    Revoke {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Set the endpoint (https://...); prints a new signing secret once.
    Set {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        url: String,
    },
    /// A new signing secret, printed once; the old one keeps signing for 24 hours.
    RotateSecret {
        #[arg(long)]
        merchant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkKeyAction {
    /// A new link key, printed once; links signed with the previous key stop working.
    Rotate {
        #[arg(long)]
        merchant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorTokenAction {
    /// Create a token for /admin/v1; prints it once.
    Create {
        #[arg(long)]
        name: String,
    },
    /// Revoke a token by its id (printed when it was made).
    Revoke {
        #[arg(long)]
        id: String,
    },
}

fn code_of(store: &dyn Store, code: &str) -> AdminResult<MerchantId> {
    Ok(super::merchant_by_code(store, code)?.id)
}

fn show(m: &Merchant) -> String {
    let v = super::merchant_view(m);
    let phone = |d: &str| {
        Phone::parse(d)
            .map(|p| p.display())
            .unwrap_or(d.to_string())
    };
    let numbers: Vec<String> = v.numbers.iter().map(|n| phone(n)).collect();
    let s = &v.settings;
    let opt = |o: Option<String>| o.unwrap_or_else(|| "none".into());
    format!(
        "merchant {code} ({id}): {name}\n  status: {status}\n  business number: {bn}\n  \
         representative: {rep}\n  phone: {ph}\n  address: {addr}\n  numbers: {numbers}\n  \
         webhook: {webhook}\n  settings: require_birth_date={rbd} require_password={rp} \
         auto_pay={ap} installments={inst} credit_policy={cp} default_expiry_minutes={dem} \
         approval_attempt_limit={aal} texts_per_hour={tph} manual_price_max_discount_pct={mp}\n  \
         managers may change: {mmc}",
        code = v.code,
        id = v.id,
        name = v.name,
        status = v.status.as_str(),
        bn = fieldpay_protocol::validate::format_business_number(&v.business_number),
        rep = v.representative,
        ph = phone(&v.phone),
        addr = v.address,
        numbers = if numbers.is_empty() {
            "none".into()
        } else {
            numbers.join(", ")
        },
        webhook = opt(v.webhook_url.clone()),
        rbd = s.require_birth_date,
        rp = s.require_password,
        ap = s.auto_pay,
        inst = s.installments_allowed,
        cp = match s.credit_policy {
            CreditPolicy::Warn => "warn",
            CreditPolicy::Block => "block",
        },
        dem = s.default_expiry_minutes,
        aal = s.approval_attempt_limit,
        tph = opt(s.texts_per_hour.map(|n| n.to_string())),
        mp = opt(s.manual_price_max_discount_pct.map(|n| n.to_string())),
        mmc = if s.manager_may_change.is_empty() {
            "nothing".into()
        } else {
            s.manager_may_change
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
}

/// Runs one admin command on the store (suspending also needs the server's state, for the
/// cancel texts: `suspend`). Returns the text to print.
pub fn run_on_store(store: &dyn Store, sandbox: bool, cmd: AdminCommand) -> AdminResult<String> {
    let actor = Actor::Cli;
    Ok(match cmd {
        AdminCommand::Merchant { action } => match action {
            MerchantAction::Create {
                code,
                name,
                business_number,
                representative,
                phone,
                address,
                settings,
            } => {
                let req = CreateMerchant {
                    code,
                    name,
                    business_number,
                    representative,
                    phone,
                    address,
                    settings: settings.patch()?,
                };
                let m = super::create_merchant(store, &actor, &req)?;
                format!("created {}", show(&m))
            }
            MerchantAction::Update {
                merchant,
                name,
                business_number,
                representative,
                phone,
                address,
                settings,
            } => {
                let id = code_of(store, &merchant)?;
                let req = UpdateMerchant {
                    name,
                    business_number,
                    representative,
                    phone,
                    address,
                    settings: settings.patch()?,
                };
                let m = super::update_merchant(store, &actor, &id, &req)?;
                format!("updated {}", show(&m))
            }
            MerchantAction::Show { merchant } => show(&super::merchant_by_code(store, &merchant)?),
            MerchantAction::List => {
                let all = super::list_merchants(store)?;
                if all.is_empty() {
                    "no merchants".into()
                } else {
                    all.iter()
                        .map(|m| {
                            format!(
                                "{}\t{}\t{}\t{} numbers",
                                m.code,
                                m.status.as_str(),
                                m.name,
                                m.settings.number_pool.len()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            }
            MerchantAction::Suspend { .. } => {
                unreachable!("suspend runs with the server's state (run_suspend)")
            }
            MerchantAction::Activate { merchant } => {
                let id = code_of(store, &merchant)?;
                super::activate_merchant(store, &actor, &id)?;
                format!("merchant {merchant} is active")
            }
        },
        AdminCommand::Numbers { action } => match action {
            NumbersAction::Add { merchant, numbers } => {
                let id = code_of(store, &merchant)?;
                let added = super::add_numbers(store, &actor, &id, &numbers)?;
                format!(
                    "added {} numbers to {merchant}: {}",
                    added.len(),
                    display_numbers(&added)
                )
            }
            NumbersAction::List { merchant } => {
                let id = code_of(store, &merchant)?;
                let numbers = super::list_numbers(store, &id)?;
                if numbers.is_empty() {
                    format!("{merchant} has no numbers")
                } else {
                    numbers
                        .iter()
                        .map(|n| display_number(n))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            }
            NumbersAction::Remove { merchant, number } => {
                let id = code_of(store, &merchant)?;
                super::remove_number(store, &actor, &id, &number)?;
                format!("removed {number} from {merchant}")
            }
        },
        AdminCommand::Rep { action } => match action {
            RepAction::Create {
                merchant,
                login,
                name,
                role,
            } => {
                let role = Role::parse(role.trim())
                    .ok_or_else(|| invalid("role", format!("{role:?}: must be rep or manager")))?;
                let id = code_of(store, &merchant)?;
                let (rep_id, password) =
                    super::create_rep(store, &actor, &id, &login, &name, role)?;
                format!(
                    "created {} {} ({rep_id}) at {merchant}\none-time password (shown once; \
                     to change at first sign-in): {}",
                    role.as_str(),
                    login.trim(),
                    password.expose()
                )
            }
            RepAction::ResetPassword { merchant, login } => {
                let id = code_of(store, &merchant)?;
                let rep = super::rep_by_login(store, &id, &login)?;
                let password = super::reset_rep_password(store, &actor, &id, &rep.id)?;
                format!(
                    "new one-time password for {} at {merchant} (shown once; to change at \
                     next sign-in): {}",
                    rep.login,
                    password.expose()
                )
            }
            RepAction::Deactivate { merchant, login } => {
                let id = code_of(store, &merchant)?;
                let rep = super::rep_by_login(store, &id, &login)?;
                super::deactivate_rep(store, &actor, &id, &rep.id)?;
                format!("deactivated {} at {merchant}", rep.login)
            }
        },
        AdminCommand::ApiKey { action } => match action {
            ApiKeyAction::Create { merchant, name } => {
                let id = code_of(store, &merchant)?;
                let (key_id, key) = super::create_api_key(store, &actor, &id, &name)?;
                format!(
                    "created API key {key_id} ({}) for {merchant}\nkey (shown once): {}",
                    name.trim(),
                    key.expose()
                )
            }
            ApiKeyAction::List { merchant } => {
                let id = code_of(store, &merchant)?;
                let keys = super::list_api_keys(store, &id)?;
                if keys.is_empty() {
                    format!("{merchant} has no API keys")
                } else {
                    keys.iter()
                        .map(|k| {
                            format!(
                                "{}\t{}\t{}...\tcreated {}\tlast used {}\t{}",
                                k.id,
                                k.name,
                                k.prefix,
                                k.created_at,
                                k.last_used_at.as_deref().unwrap_or("never"),
                                match &k.revoked_at {
                                    Some(at) => format!("revoked {at}"),
                                    None => "live".into(),
                                }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            }
            ApiKeyAction::Revoke { merchant, id: key } => {
                let id = code_of(store, &merchant)?;
                super::revoke_api_key(store, &actor, &id, &ApiKeyId::from(key.trim()))?;
                format!("revoked API key {} of {merchant}", key.trim())
            }
        },
        AdminCommand::Webhook { action } => match action {
            WebhookAction::Set { merchant, url } => {
                let id = code_of(store, &merchant)?;
                let secret = super::set_webhook(store, &actor, &id, &url, sandbox)?;
                format!(
                    "webhook of {merchant}: {}\nsigning secret (shown once): {}",
                    url.trim(),
                    secret.expose()
                )
            }
            WebhookAction::RotateSecret { merchant } => {
                let id = code_of(store, &merchant)?;
                let secret = super::rotate_webhook_secret(store, &actor, &id)?;
                let until = super::merchant(store, &id)?
                    .settings
                    .webhook_previous_until
                    .unwrap_or_default();
                format!(
                    "new signing secret of {merchant} (shown once): {}\nthe previous secret \
                     also signs deliveries until {until}",
                    secret.expose()
                )
            }
        },
        AdminCommand::LinkKey { action } => match action {
            LinkKeyAction::Rotate { merchant } => {
                let id = code_of(store, &merchant)?;
                let (key, _) = super::rotate_link_key(store, &actor, &id)?;
                format!(
                    "new link key of {merchant} (shown once): {}\nlinks signed with the \
                     previous key no longer work",
                    key.expose()
                )
            }
        },
        AdminCommand::OperatorToken { action } => match action {
            OperatorTokenAction::Create { name } => {
                let t = super::create_operator_token(store, &actor, &name)?;
                format!(
                    "created operator token {} ({})\ntoken (shown once): {}",
                    t.id,
                    t.name,
                    t.token.expose()
                )
            }
            OperatorTokenAction::Revoke { id } => {
                super::revoke_operator_token(store, &actor, &id)?;
                format!("revoked operator token {}", id.trim())
            }
        },
        AdminCommand::Audit { merchant, limit } => {
            let id = merchant.as_deref().map(|c| code_of(store, c)).transpose()?;
            let entries = super::audit(store, id.as_ref(), limit)?;
            if entries.is_empty() {
                "no audit entries".into()
            } else {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}",
                            e.at,
                            e.actor,
                            e.action,
                            e.merchant_id.as_deref().unwrap_or("-"),
                            e.detail
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    })
}

/// Whether the command is `merchant suspend` (it needs the server's state).
pub fn suspend_target(cmd: &AdminCommand) -> Option<&str> {
    match cmd {
        AdminCommand::Merchant {
            action: MerchantAction::Suspend { merchant },
        } => Some(merchant),
        _ => None,
    }
}

/// `merchant suspend`, with the server's state: the cancel texts go out through the outbox.
pub async fn run_suspend(state: &crate::state::AppState, code: &str) -> AdminResult<String> {
    let c = code.to_string();
    let id = super::run(state, move |s| code_of(s, &c))
        .await
        .map_err(app_error)?;
    let canceled = super::suspend_merchant(state, &Actor::Cli, &id).await?;
    Ok(format!(
        "suspended {code}: new charges are refused; {} pending charges canceled{}",
        canceled.len(),
        if canceled.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                canceled
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ))
}

fn app_error(e: crate::error::AppError) -> AdminError {
    e.into()
}

fn display_number(n: &str) -> String {
    Phone::parse(n)
        .map(|p| p.display())
        .unwrap_or(n.to_string())
}

fn display_numbers(numbers: &[String]) -> String {
    numbers
        .iter()
        .map(|n| display_number(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one line a refusal prints: `<code>: <why>`.
pub fn refusal_line(e: &AdminError) -> String {
    format!("{}: {e}", e.code())
}
