//! The HTTP client of the FieldPay server API (reqwest with rustls): sign-in and token
//! refresh, pull, push, and the server-sent event stream.

use std::sync::Mutex;
use std::time::Duration;

use fieldpay_protocol::auth::ChangePassword;
use fieldpay_protocol::auth::{LoginRequest, RefreshRequest, RepInfo, TokenResponse};
use fieldpay_protocol::charge::{Charge, ChargeList, RefundCharge};
use fieldpay_protocol::manager::{
    CreateApiKey, CreateRep, Integration, LinkKey, NewApiKey, RepPassword, SettingsPatch,
    SettingsValues, TeamReport,
};
use fieldpay_protocol::settlement::SettlementReport;
use fieldpay_protocol::sync::{MutationBatch, MutationResults, SyncPage};
use fieldpay_protocol::{ApiError, ErrorBody, ErrorCode, Secret};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::{Host, Url};

use crate::credentials::Credentials;
use crate::error::{CoreError, CoreResult};

pub struct ServerClient {
    base: String,
    http: reqwest::Client,
    access: Mutex<Option<Secret>>,
    creds: Credentials,
    /// The rep as the last refresh answered it (its number series may be newer than the
    /// signed-in session's: a session from before series existed).
    refreshed: Mutex<Option<RepInfo>>,
}

/// Written by hand: the access token shows only whether there is one, as `[REDACTED]`.
impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClient")
            .field("base", &self.base)
            .field("access", &self.access())
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

fn offline(e: reqwest::Error) -> CoreError {
    CoreError::Offline(e.without_url().to_string())
}

async fn error_of(resp: reqwest::Response) -> CoreError {
    let status = resp.status();
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::BAD_GATEWAY
    {
        return CoreError::Offline(format!("server answered {status}"));
    }
    match resp.json::<ErrorBody>().await {
        Ok(b) => CoreError::Server(b.error),
        Err(_) => CoreError::Server(ApiError::new(
            ErrorCode::Internal,
            format!("server answered {status}"),
        )),
    }
}

/// A sign-in or refresh answer's tokens (or the server's refusal).
async fn tokens_of(resp: reqwest::Response) -> CoreResult<TokenResponse> {
    if !resp.status().is_success() {
        return Err(error_of(resp).await);
    }
    resp.json().await.map_err(offline)
}

/// `s` percent-encoded for a query value or a path segment (everything but unreserved
/// characters).
pub fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn path_segment(s: &str) -> String {
    query_value(s)
}

/// Whether `host` is this device: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(host: Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// A server address as the app uses it, or why it is refused (`invalid_field`): `https://`,
/// or `http://` only for a server on this device (`localhost`, 127.0.0.0/8, `::1`: the
/// sandbox, a local test server), since plain HTTP would carry the password and tokens in
/// the clear; no user name, password, query or fragment in it. The answer is normalised
/// (scheme and host in lower case, no default port, no trailing slash), so one server has one
/// spelling.
pub fn server_url(input: &str) -> CoreResult<String> {
    let refuse = |message: &str| CoreError::invalid(ErrorCode::InvalidField, message);
    let url = Url::parse(input.trim()).map_err(|_| {
        refuse("서버 주소가 올바르지 않습니다. https:// 로 시작하는 주소를 입력하세요 (the server address is not a valid URL; enter one starting with https://)")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if url.host().is_some_and(is_loopback) => {}
        "http" => {
            return Err(refuse(
                "http:// 주소는 이 기기의 서버(localhost, 127.0.0.1, ::1)에만 쓸 수 있습니다. https:// 주소를 입력하세요 (http:// is allowed only for a server on this device: localhost, 127.0.0.0/8, ::1; use https://)",
            ))
        }
        _ => {
            return Err(refuse(
                "서버 주소는 https:// 로 시작해야 합니다 (the server address must start with https://)",
            ))
        }
    }
    if url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(refuse(
            "서버 주소에는 호스트만 쓰고 사용자 이름, 비밀번호, ?, # 은 넣지 마세요 (the server address needs a host and no user name, password, query or fragment)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl ServerClient {
    /// A client of the server at `base` (checked by [`server_url`]).
    pub fn new(base: &str, creds: Credentials) -> CoreResult<ServerClient> {
        let base = server_url(base)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| CoreError::Other(e.to_string()))?;
        Ok(ServerClient {
            base,
            http,
            access: Mutex::new(None),
            creds,
            refreshed: Mutex::new(None),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn access(&self) -> Option<Secret> {
        self.access
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_access(&self, t: Option<Secret>) {
        *self.access.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Signs in. The answer's tokens are not kept: the caller checks whose they are first and
    /// then hands them to [`ServerClient::keep`].
    pub async fn login(&self, req: &LoginRequest) -> CoreResult<TokenResponse> {
        let resp = self
            .http
            .post(format!("{}/v1/auth/login", self.base))
            .json(req)
            .send()
            .await
            .map_err(offline)?;
        tokens_of(resp).await
    }

    /// Keeps the tokens of a sign-in or refresh answer: the refresh token in the OS credential
    /// store, the access token in memory.
    pub fn keep(&self, t: &TokenResponse) -> CoreResult<()> {
        self.creds.set_refresh_token(&t.refresh_token)?;
        self.set_access(Some(t.access_token.clone()));
        Ok(())
    }

    /// Gets a new access token with the stored refresh token (rotating it).
    pub async fn refresh(&self) -> CoreResult<TokenResponse> {
        let Some(refresh_token) = self.creds.refresh_token()? else {
            return Err(CoreError::NotSignedIn);
        };
        let resp = self
            .http
            .post(format!("{}/v1/auth/refresh", self.base))
            .json(&RefreshRequest { refresh_token })
            .send()
            .await
            .map_err(offline)?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            self.creds.clear()?;
            self.set_access(None);
            return Err(CoreError::NotSignedIn);
        }
        let t = tokens_of(resp).await?;
        self.keep(&t)?;
        *self.refreshed.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.rep.clone());
        Ok(t)
    }

    /// The rep as the last refresh (since the last call) answered it.
    pub fn take_refreshed_rep(&self) -> Option<RepInfo> {
        self.refreshed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn sign_out(&self) -> CoreResult<()> {
        self.set_access(None);
        self.creds.clear()
    }

    /// Sends an authenticated request; a 401 refreshes the access token once and retries.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        timeout: Option<Duration>,
    ) -> CoreResult<reqwest::Response> {
        for attempt in 0..2 {
            let token = match self.access() {
                Some(t) => t,
                None => self.refresh().await?.access_token,
            };
            let mut req = self
                .http
                .request(method.clone(), format!("{}{}", self.base, path))
                .bearer_auth(token.expose());
            if let Some(b) = body {
                req = req.json(b);
            }
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            let resp = req.send().await.map_err(offline)?;
            if resp.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.set_access(None);
                continue;
            }
            if !resp.status().is_success() {
                return Err(error_of(resp).await);
            }
            return Ok(resp);
        }
        Err(CoreError::NotSignedIn)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
    ) -> CoreResult<T> {
        self.send(method, path, body, None)
            .await?
            .json()
            .await
            .map_err(offline)
    }

    pub async fn pull(&self, cursor: i64, limit: u32) -> CoreResult<SyncPage> {
        self.call(
            Method::GET,
            &format!("/v1/sync?cursor={cursor}&limit={limit}"),
            None::<&()>,
        )
        .await
    }

    pub async fn push(&self, batch: &MutationBatch) -> CoreResult<MutationResults> {
        self.call(Method::POST, "/v1/mutations", Some(batch)).await
    }

    /// Refunds `amount` KRW of a payment (None: all that remains).
    pub async fn refund(
        &self,
        charge_id: &str,
        amount: Option<i64>,
        reason: Option<&str>,
    ) -> CoreResult<Charge> {
        let body = RefundCharge {
            reason: reason.map(str::to_string),
            amount,
        };
        self.call(
            Method::POST,
            &format!("/v1/charges/{charge_id}/refund"),
            Some(&body),
        )
        .await
    }

    /// A manager voids a collection (`POST /v1/manager/collections/{id}/void`).
    pub async fn void_collection(
        &self,
        collection_id: &str,
        reason: &str,
    ) -> CoreResult<fieldpay_protocol::collection::Collection> {
        let body = fieldpay_protocol::collection::VoidCollection {
            reason: reason.to_string(),
        };
        self.call(
            Method::POST,
            &format!("/v1/manager/collections/{collection_id}/void"),
            Some(&body),
        )
        .await
    }

    /// `POST /v1/orders/{id}/shares`.
    pub async fn share_order(
        &self,
        order_id: &str,
        body: &fieldpay_protocol::share::ShareOrder,
    ) -> CoreResult<fieldpay_protocol::share::OrderShare> {
        self.call(
            Method::POST,
            &format!("/v1/orders/{order_id}/shares"),
            Some(body),
        )
        .await
    }

    /// `GET /v1/orders/{id}/shares`.
    /// The merchant's accounts matching `query` (`GET /v1/accounts/search`), with balances.
    pub async fn search_accounts(
        &self,
        query: &str,
        limit: u32,
    ) -> CoreResult<Vec<fieldpay_protocol::records::AccountWithBalance>> {
        self.call(
            Method::GET,
            &format!("/v1/accounts/search?q={}&limit={limit}", query_value(query)),
            None::<&()>,
        )
        .await
    }

    pub async fn order_shares(
        &self,
        order_id: &str,
    ) -> CoreResult<fieldpay_protocol::share::OrderShares> {
        self.call(
            Method::GET,
            &format!("/v1/orders/{order_id}/shares"),
            None::<&()>,
        )
        .await
    }

    pub async fn resend_bill(&self, charge_id: &str) -> CoreResult<Charge> {
        self.call(
            Method::POST,
            &format!("/v1/charges/{charge_id}/resend"),
            None::<&()>,
        )
        .await
    }

    /// `date` as `YYYY-MM-DD` (KST); today when None.
    pub async fn settlement(&self, date: Option<&str>) -> CoreResult<SettlementReport> {
        let q = date.map(|d| format!("?date={d}")).unwrap_or_default();
        self.call(Method::GET, &format!("/v1/settlement{q}"), None::<&()>)
            .await
    }

    /// Sets a new password for the signed-in rep (`POST /v1/auth/password`).
    pub async fn change_password(&self, body: &ChangePassword) -> CoreResult<()> {
        self.send(Method::POST, "/v1/auth/password", Some(body), None)
            .await
            .map(drop)
    }

    /// The settlement of a KST day (`YYYY-MM-DD`) or month (`YYYY-MM`).
    pub async fn settlement_of(&self, period: &str) -> CoreResult<SettlementReport> {
        let key = if period.len() == 7 { "month" } else { "date" };
        self.call(
            Method::GET,
            &format!("/v1/settlement?{key}={}", query_value(period)),
            None::<&()>,
        )
        .await
    }

    /// The settlement as the server's CSV (`GET /v1/settlement.csv`), its bytes as sent.
    pub async fn settlement_csv(&self, period: &str) -> CoreResult<Vec<u8>> {
        let key = if period.len() == 7 { "month" } else { "date" };
        let resp = self
            .send(
                Method::GET,
                &format!("/v1/settlement.csv?{key}={}", query_value(period)),
                None::<&()>,
                None,
            )
            .await?;
        resp.bytes().await.map(|b| b.to_vec()).map_err(offline)
    }

    /// The merchant's charges (`GET /v1/charges`) with a query string already built.
    pub async fn list_charges(&self, query: &str) -> CoreResult<ChargeList> {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        self.call(Method::GET, &format!("/v1/charges{q}"), None::<&()>)
            .await
    }

    // ------------------------------------------------------------ the manager (/v1/manager)

    pub async fn team(&self, date: Option<&str>) -> CoreResult<TeamReport> {
        let q = date
            .map(|d| format!("?date={}", query_value(d)))
            .unwrap_or_default();
        self.call(Method::GET, &format!("/v1/manager/team{q}"), None::<&()>)
            .await
    }

    /// `GET /v1/manager/visits?date=&rep=`.
    pub async fn manager_visits(
        &self,
        date: &str,
        rep: Option<&str>,
    ) -> CoreResult<fieldpay_protocol::visit::VisitList> {
        let mut q = format!("?date={}", query_value(date));
        if let Some(r) = rep {
            q.push_str(&format!("&rep={}", query_value(r)));
        }
        self.call(Method::GET, &format!("/v1/manager/visits{q}"), None::<&()>)
            .await
    }

    pub async fn create_rep(&self, body: &CreateRep) -> CoreResult<RepPassword> {
        self.call(Method::POST, "/v1/manager/reps", Some(body))
            .await
    }

    pub async fn reset_rep_password(&self, rep_id: &str) -> CoreResult<RepPassword> {
        self.call(
            Method::POST,
            &format!("/v1/manager/reps/{}/reset-password", path_segment(rep_id)),
            None::<&()>,
        )
        .await
    }

    pub async fn deactivate_rep(&self, rep_id: &str) -> CoreResult<()> {
        self.send(
            Method::POST,
            &format!("/v1/manager/reps/{}/deactivate", path_segment(rep_id)),
            None::<&()>,
            None,
        )
        .await
        .map(drop)
    }

    pub async fn integration(&self) -> CoreResult<Integration> {
        self.call(Method::GET, "/v1/manager/integration", None::<&()>)
            .await
    }

    pub async fn create_api_key(&self, body: &CreateApiKey) -> CoreResult<NewApiKey> {
        self.call(Method::POST, "/v1/manager/api-keys", Some(body))
            .await
    }

    pub async fn rotate_link_key(&self) -> CoreResult<LinkKey> {
        self.call(Method::POST, "/v1/manager/link-key", None::<&()>)
            .await
    }

    pub async fn revoke_api_key(&self, key_id: &str) -> CoreResult<()> {
        self.send(
            Method::POST,
            &format!("/v1/manager/api-keys/{}/revoke", path_segment(key_id)),
            None::<&()>,
            None,
        )
        .await
        .map(drop)
    }

    pub async fn merchant_settings(&self) -> CoreResult<SettingsValues> {
        self.call(Method::GET, "/v1/manager/settings", None::<&()>)
            .await
    }

    pub async fn update_merchant_settings(
        &self,
        patch: &SettingsPatch,
    ) -> CoreResult<SettingsValues> {
        self.call(Method::PATCH, "/v1/manager/settings", Some(patch))
            .await
    }

    /// Opens the server-sent event stream (`/v1/events`); read it with `bytes_stream`. It
    /// stays open: only the connect timeout applies.
    pub async fn events(&self) -> CoreResult<reqwest::Response> {
        self.send(
            Method::GET,
            "/v1/events",
            None::<&()>,
            Some(Duration::from_secs(7 * 24 * 3600)),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use fieldpay_protocol::auth::{LoginRequest, RefreshRequest, RepInfo, TokenResponse};
    use fieldpay_protocol::{command, ErrorCode, Secret};

    use super::{server_url, ServerClient};
    use crate::credentials::Credentials;

    /// https anywhere; http only on this device's loopback (finding 13); one spelling each.
    #[test]
    fn server_addresses_need_https_unless_on_loopback() {
        for (input, want) in [
            ("https://pay.example.kr", "https://pay.example.kr"),
            (" HTTPS://Pay.Example.KR:443/ ", "https://pay.example.kr"),
            (
                "https://pay.example.kr:8443/fieldpay/",
                "https://pay.example.kr:8443/fieldpay",
            ),
            ("http://127.0.0.1:8640", "http://127.0.0.1:8640"),
            ("http://127.8.9.10:80/", "http://127.8.9.10"),
            ("http://localhost:8640/", "http://localhost:8640"),
            ("http://LocalHost", "http://localhost"),
            ("http://[::1]:8640", "http://[::1]:8640"),
        ] {
            assert_eq!(server_url(input).unwrap(), want, "{input}");
        }
        for input in [
            "http://pay.example.kr",
            "http://192.168.0.10:8640",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]:8640",
            "http://[::ffff:127.0.0.1]",
            "http://localhost.example.kr",
            "http://127.0.0.1.nip.io",
            "ftp://pay.example.kr",
            "pay.example.kr",
            "",
            "https://rep:pw@pay.example.kr",
            "https://pay.example.kr/?x=1",
        ] {
            let e = server_url(input).expect_err(input);
            assert_eq!(e.to_api().code, ErrorCode::InvalidField, "{input}: {e}");
        }
        let e = server_url("http://pay.example.kr").unwrap_err().to_string();
        assert!(
            e.starts_with("http:// 주소는") && e.contains("use https://"),
            "{e}"
        );
        // The client refuses such an address too.
        let e = ServerClient::new("http://pay.example.kr", Credentials::new("FieldPay test"))
            .unwrap_err();
        assert_eq!(e.to_api().code, ErrorCode::InvalidField);
    }

    const CANARY: &str = "secret-canary-7Q";

    fn assert_hidden(what: &str, printed: String) {
        assert!(
            !printed.contains(CANARY),
            "{what} printed its secret: {printed}"
        );
        assert!(printed.contains("[REDACTED]"), "{what}: {printed}");
    }

    /// Every struct of the engine and the shell that holds a password or a token, printed with
    /// `{:?}`, shows `[REDACTED]` instead of it.
    #[test]
    fn secrets_are_never_printed() {
        let client =
            ServerClient::new("http://127.0.0.1:9", Credentials::new("FieldPay test")).unwrap();
        client.set_access(Some(Secret::new(CANARY)));
        assert_hidden("ServerClient", format!("{client:?}"));
        assert_hidden("ServerClient (alternate)", format!("{client:#?}"));

        let login = LoginRequest {
            merchant: "demo".into(),
            rep_id: "rep1".into(),
            password: Secret::new(CANARY),
            device_name: None,
        };
        assert_hidden("LoginRequest", format!("{login:?}"));
        let refresh = RefreshRequest {
            refresh_token: Secret::new(CANARY),
        };
        assert_hidden("RefreshRequest", format!("{refresh:?}"));
        let tokens = TokenResponse {
            access_token: Secret::new(CANARY),
            expires_in: 900,
            refresh_token: Secret::new(CANARY),
            rep: RepInfo {
                id: "rep_1".into(),
                login: "rep1".into(),
                name: "김영업".into(),
                merchant_id: "mer_1".into(),
                merchant_name: "데모".into(),
                credit_policy: Default::default(),
                merchant_business_number: String::new(),
                merchant_representative: String::new(),
                merchant_phone: String::new(),
                merchant_address: String::new(),
                role: Default::default(),
                must_change_password: false,
                series: "R01".into(),
            },
        };
        assert_hidden("TokenResponse", format!("{tokens:?}"));
        // The shell's `login` command arguments (the password from the UI).
        let args = command::Login {
            server_url: "http://127.0.0.1:9".into(),
            merchant: "demo".into(),
            rep_id: "rep1".into(),
            password: Secret::new(CANARY),
        };
        assert_hidden("command::Login", format!("{args:?}"));
    }
}
