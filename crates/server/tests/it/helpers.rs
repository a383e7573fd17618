//! Test harness: `spawn_app()` starts a sandbox server with the demo data in a fresh data
//! folder on a random loopback port; helpers speak its API, the TwiML webhook (signed like a
//! carrier) and the sandbox phone.

#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::http::HeaderMap;
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::Secret;
use fieldpay_server::app::{self, Running};
use fieldpay_server::config::{Settings, SANDBOX_TWILIO_AUTH_TOKEN};
use fieldpay_server::demo::{self, DEMO_API_KEY};
use fieldpay_server::domain::MerchantSettings;
use fieldpay_server::store::Store;
use fieldpay_server::telephony::sandbox_phone::{SandboxSms, SandboxTurn};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A card number used only to prove that card data is never written anywhere.
pub const CANARY_CARD: &str = "4579730000000013"; // KB 승인 test card
pub const APPROVE_CARD: &str = "9401000000000014";

// ------------------------------------------------------------------ log capture

#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the server logged in this test process (at debug level and up).
pub fn logs() -> String {
    let buf = init_logs();
    let v = buf.0.lock().unwrap();
    String::from_utf8_lossy(&v).into_owned()
}

fn init_logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuffer::default();
        let w = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(fieldpay_server::logs::filter(
                "debug,hyper=info,reqwest=info,h2=info",
            ))
            .with_ansi(false)
            .with_writer(move || w.clone())
            .try_init();
        buf
    })
}

// ------------------------------------------------------------------ the app

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    /// The server's `public_url`, over which TwiML requests are signed (`base`, but for a
    /// second instance beside another: the first one's).
    pub public_base: String,
    pub data: PathBuf,
    /// The PostgreSQL database when the suite runs against PostgreSQL (see [`test_store`]).
    pub database_url: Option<Secret>,
    _tmp: Option<tempfile::TempDir>,
    pub http: reqwest::Client,
    pub running: Option<Running>,
    pub webhook_retry_secs: Vec<u64>,
}

/// The store the suite runs against: SQLite files (the default) or, with
/// `FIELDPAY_TEST_STORE=postgres`, a new database on the PostgreSQL server that
/// `FIELDPAY_TEST_DATABASE_URL` names (scripts/test.sh runs the suite both ways). Answers the
/// database URL for a new test server.
pub fn test_store() -> Option<Secret> {
    match std::env::var("FIELDPAY_TEST_STORE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => None,
        Ok("postgres") => Some(fieldpay_server::store::postgres::fresh_test_database()),
        Ok(other) => panic!("FIELDPAY_TEST_STORE={other}: use sqlite or postgres"),
    }
}

pub fn test_settings(data: &Path, addr: SocketAddr, retry: &[u64]) -> Settings {
    Settings {
        data_dir: data.to_path_buf(),
        listen: addr,
        public_url: format!("http://{addr}"),
        internal_url: format!("http://{addr}"),
        mode: fieldpay_server::config::Mode::Sandbox,
        twilio_auth_token: SANDBOX_TWILIO_AUTH_TOKEN.into(),
        webhook_retry_secs: retry.to_vec(),
        tick_ms: 50,
        // Many tests text one payer phone again and again; the limit has tests of its own.
        bills_per_phone_per_hour: 1_000,
        // Tests move the clock (expiry, token lifetimes).
        sandbox_clock: true,
        database_url: test_store(),
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[1, 1, 1, 2, 2]).await
}

pub async fn spawn_app_with(retry: &[u64]) -> TestApp {
    spawn_app_configured(retry, |_| {}).await
}

/// [`spawn_app_with`], with `configure` changing the test settings first.
pub async fn spawn_app_configured(retry: &[u64], configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = test_settings(&data, addr, retry);
    configure(&mut settings);
    let database_url = settings.database_url.clone();
    let running = app::start_configured(settings, listener)
        .await
        .expect("start");
    TestApp {
        addr,
        base: format!("http://{addr}"),
        public_base: format!("http://{addr}"),
        data,
        database_url,
        _tmp: Some(tmp),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        running: Some(running),
        webhook_retry_secs: retry.to_vec(),
    }
}

impl TestApp {
    pub fn state(&self) -> &fieldpay_server::state::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state().store.clone()
    }

    /// Runs SQL straight on the server's database, whichever store it is (to simulate what
    /// no API does: a counter lost in a restore, a row edited by hand).
    pub async fn exec_sql(&self, sql: &str) {
        match &self.database_url {
            None => {
                let db = rusqlite::Connection::open(self.data.join("fieldpay.db")).unwrap();
                db.execute_batch(sql).unwrap();
            }
            Some(url) => {
                let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let driver = tokio::spawn(conn);
                client.batch_execute(sql).await.unwrap();
                drop(client);
                let _ = driver.await;
            }
        }
    }

    /// A second instance beside this one, as behind one load balancer: the same database
    /// (PostgreSQL) and data folder (the sandbox card network), the same `public_url` (this
    /// one's: carriers sign over it), its own port and `internal_url`.
    pub async fn instance_beside(&self) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut settings = test_settings(&self.data, addr, &self.webhook_retry_secs);
        settings.database_url = self.database_url.clone();
        settings.public_url = self.public_base.clone();
        let running = app::start_sandbox(settings, listener).await.expect("start");
        TestApp {
            addr,
            base: format!("http://{addr}"),
            public_base: self.public_base.clone(),
            data: self.data.clone(),
            database_url: self.database_url.clone(),
            _tmp: None,
            http: self.http.clone(),
            running: Some(running),
            webhook_retry_secs: self.webhook_retry_secs.clone(),
        }
    }

    /// Stops the server at once, as if killed: no lease is given up (see `Running::abort`).
    pub async fn kill(&mut self) {
        if let Some(r) = self.running.take() {
            r.abort().await;
        }
    }

    /// Stops the server (gracefully) and starts it again on the same data folder and port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    pub async fn start_again(&mut self) {
        let listener = app::rebind(self.addr, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("cannot bind {} again: {e}", self.addr));
        let mut settings = test_settings(&self.data, self.addr, &self.webhook_retry_secs);
        settings.database_url = self.database_url.clone();
        self.running = Some(app::start_sandbox(settings, listener).await.expect("start"));
    }

    /// Presents a refresh token (`POST /v1/auth/refresh`).
    pub async fn refresh(&self, token: &str) -> reqwest::Response {
        self.http
            .post(self.url("/v1/auth/refresh"))
            .json(&json!({ "refresh_token": token }))
            .send()
            .await
            .unwrap()
    }

    /// Moves the server's clock forward (`POST /sandbox/clock/advance`); panics unless 200.
    pub async fn advance_clock(&self, minutes: i64) {
        let r = self
            .http
            .post(self.url("/sandbox/clock/advance"))
            .json(&json!({ "minutes": minutes }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// Creates a charge with the demo API key; panics unless 201.
    pub async fn charge(&self, body: Value) -> Charge {
        let r = self.post_json("/v1/charges", DEMO_API_KEY, &body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn get_charge(&self, id: &str) -> Charge {
        let r = self.get(&format!("/v1/charges/{id}"), DEMO_API_KEY).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Waits until the charge reaches `status` (the worker runs every 50 ms).
    pub async fn wait_status(&self, id: &str, status: &str) -> Charge {
        for _ in 0..200 {
            let c = self.get_charge(id).await;
            if c.status.as_str() == status {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "charge {id} never reached {status}: {:?}",
            self.get_charge(id).await.status
        );
    }

    pub async fn sms(&self, phone: &str) -> Vec<SandboxSms> {
        let r = self
            .http
            .get(self.url("/sandbox/sms"))
            .query(&[("phone", phone)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Waits for a text of `kind` about `charge_id` to reach `phone`.
    pub async fn wait_sms(&self, phone: &str, kind: &str, charge_id: &str) -> SandboxSms {
        for _ in 0..200 {
            if let Some(s) = self
                .sms(phone)
                .await
                .into_iter()
                .find(|s| s.kind.as_str() == kind && s.charge_id.as_deref() == Some(charge_id))
            {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no {kind} text for {charge_id} reached {phone}");
    }

    // ---------------------------------------------------------- TwiML carrier

    /// POSTs a signed TwiML webhook like a carrier; returns (status, TwiML).
    pub async fn twiml(
        &self,
        query: Option<&str>,
        params: &[(&str, &str)],
    ) -> (StatusCode, String) {
        // The token the server checks (the sandbox's published one unless a test set another).
        let token = self.running.as_ref().map_or_else(
            || SANDBOX_TWILIO_AUTH_TOKEN.to_string(),
            |r| r.state.settings.twilio_auth_token.expose().to_string(),
        );
        self.twiml_signed_with(&token, query, params).await
    }

    pub async fn twiml_signed_with(
        &self,
        token: &str,
        query: Option<&str>,
        params: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let path = match query {
            Some(q) => format!("/telephony/twiml/voice?{q}"),
            None => "/telephony/twiml/voice".to_string(),
        };
        let url = self.url(&path);
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signed_url = format!("{}{path}", self.public_base);
        let sig = fieldpay_server::telephony::twiml::signature(token, &signed_url, &owned);
        let r = self
            .http
            .post(&url)
            .header("X-Twilio-Signature", sig)
            .form(&owned)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    /// A carrier call: starts with From/To (E.164 like carriers send them).
    pub async fn twiml_start(&self, sid: &str, from_e164: &str, to_e164: &str) -> String {
        let (s, x) = self
            .twiml(
                None,
                &[
                    ("CallSid", sid),
                    ("From", from_e164),
                    ("To", to_e164),
                    ("CallStatus", "ringing"),
                    ("Direction", "inbound"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{x}");
        x
    }

    pub async fn twiml_digits(&self, sid: &str, digits: &str) -> String {
        let (s, x) = self
            .twiml(
                None,
                &[
                    ("CallSid", sid),
                    ("Digits", digits),
                    ("CallStatus", "in-progress"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{x}");
        x
    }

    pub async fn twiml_timeout(&self, sid: &str) -> String {
        let (s, x) = self
            .twiml(
                Some("event=timeout"),
                &[("CallSid", sid), ("CallStatus", "in-progress")],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{x}");
        x
    }

    // ---------------------------------------------------------- sandbox phone

    pub async fn dial(&self, from: Option<&str>, to: &str) -> SandboxTurn {
        let body = match from {
            Some(f) => json!({ "from": f, "to": to }),
            None => json!({ "to": to }),
        };
        let r = self
            .http
            .post(self.url("/sandbox/calls"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    pub async fn keys(&self, call_id: &str, digits: &str) -> SandboxTurn {
        let r = self
            .http
            .post(self.url(&format!("/sandbox/calls/{call_id}/input")))
            .json(&json!({ "digits": digits }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{}",
            r.text().await.unwrap_or_default()
        );
        r.json().await.unwrap()
    }

    /// Pays a charge through the sandbox phone with `card` (1, card, expiry, installments if
    /// asked, birth date, password). Returns the last turn.
    pub async fn pay_by_phone(&self, payer: &str, virtual_number: &str, card: &str) -> SandboxTurn {
        let t = self.dial(Some(payer), virtual_number).await;
        assert_eq!(t.turn.step, fieldpay_ivr::Step::ReadOut, "{:?}", t.turn);
        let id = t.call_id.clone();
        let mut t = self.keys(&id, "1").await;
        let card_keys = format!("{card}#");
        for _ in 0..8 {
            if t.turn.hangup {
                break;
            }
            let keys = match t.turn.step {
                fieldpay_ivr::Step::CardNumber => card_keys.as_str(),
                fieldpay_ivr::Step::Expiry => "1230",
                fieldpay_ivr::Step::Installments => "0#",
                fieldpay_ivr::Step::BirthOrBusiness => "800101#",
                fieldpay_ivr::Step::Password => "12",
                other => panic!("unexpected step {other:?}"),
            };
            t = self.keys(&id, keys).await;
        }
        t
    }

    /// Creates a second merchant (its own numbers and key); returns its API key.
    pub fn second_merchant(&self, code: &str, numbers: &[&str]) -> String {
        let store = self.store();
        let settings = MerchantSettings {
            number_pool: numbers.iter().map(|s| s.to_string()).collect(),
            ..MerchantSettings::default()
        };
        let m = store
            .create_merchant(code, &format!("{code} 상사"), &settings)
            .unwrap();
        let key = fieldpay_server::auth::new_api_key();
        store
            .create_api_key(
                &m.id,
                &fieldpay_server::auth::hash_secret(key.expose()),
                &key.expose()[..8],
                "test",
            )
            .unwrap();
        key.expose().to_string()
    }

    /// A second merchant with one rep (`login`, password `b-secret-1`), one client account
    /// (`B0001`) and one product (`P-B1`, 10,000 won): (API key, the rep signed in).
    pub async fn merchant_with_rep(
        &self,
        code: &str,
        numbers: &[&str],
        login: &str,
    ) -> (String, Tokens) {
        let key = self.second_merchant(code, numbers);
        let store = self.store();
        let m = store.merchant_by_code(code).unwrap().unwrap();
        let hash = fieldpay_server::auth::hash_password(&"b-secret-1".into()).unwrap();
        store
            .create_rep(
                &m.id,
                login,
                "박다른",
                &hash,
                fieldpay_protocol::auth::Role::Rep,
            )
            .unwrap();
        store
            .upsert_accounts(
                &m.id,
                &[fieldpay_server::store::NewAccount {
                    code: "B0001".into(),
                    name: "다른약국".into(),
                    owner_name: "최다른".into(),
                    business_number: demo::business_number(77),
                    phone: "0212345678".into(),
                    address: "서울 중구 1".into(),
                    credit_limit: 10_000_000,
                    rep_login: Some(login.into()),
                }],
            )
            .unwrap();
        store
            .upsert_products(
                &m.id,
                &[fieldpay_server::store::NewProduct {
                    code: "P-B1".into(),
                    name: "다른상품".into(),
                    unit_price: 10_000,
                    unit: "개".into(),
                }],
            )
            .unwrap();
        (key, login_at(self, code, login, "b-secret-1").await)
    }

    /// Every file the server's data lives in: the data folder and, on PostgreSQL, the test
    /// database's own files and the cluster's write-ahead log (after a checkpoint) and log.
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.data.clone()];
        if let Some(url) = &self.database_url {
            stack.extend(postgres_files(url));
        }
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                for e in std::fs::read_dir(&p).unwrap() {
                    stack.push(e.unwrap().path());
                }
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.push((p, bytes));
            }
        }
        out
    }
}

/// The files of the test database on the throwaway PostgreSQL server (scripts/pg-test.sh),
/// after a checkpoint wrote everything out: its folder under `base`, the write-ahead log and
/// the server's log.
fn postgres_files(url: &Secret) -> Vec<PathBuf> {
    let cluster =
        PathBuf::from(std::env::var("FIELDPAY_TEST_PG_DIR").expect(
            "FIELDPAY_TEST_PG_DIR (set by scripts/pg-test.sh) names the test server's folder",
        ));
    let url = url.expose().to_string();
    let oid: u32 = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(conn);
            client.batch_execute("CHECKPOINT").await.unwrap();
            let oid: u32 = client
                .query_one(
                    "SELECT oid FROM pg_database WHERE datname = current_database()",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            drop(client);
            let _ = driver.await;
            oid
        })
    })
    .join()
    .unwrap();
    let data = cluster.join("data");
    vec![
        data.join("base").join(oid.to_string()),
        data.join("pg_wal"),
        cluster.join("log"),
    ]
}

/// E.164 form of a Korean national number: 01012345678 -> +821012345678.
pub fn e164(national: &str) -> String {
    let digits: String = national.chars().filter(|c| c.is_ascii_digit()).collect();
    format!("+82{}", digits.trim_start_matches('0'))
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether `needle` occurs in `hay` as a value of its own: not inside a longer run of ASCII
/// letters and digits (a timestamp, a hex token, a phone number, an amount). For short needles
/// (a 6-digit birth date) in files other tests write too, where any 6 digits turn up by chance.
pub fn contains_standalone(hay: &[u8], needle: &str) -> bool {
    let n = needle.len();
    hay.windows(n).enumerate().any(|(i, w)| {
        w == needle.as_bytes()
            && !(i > 0 && hay[i - 1].is_ascii_alphanumeric())
            && !hay.get(i + n).is_some_and(u8::is_ascii_alphanumeric)
    })
}

/// Whether a file from [`TestApp::data_files`] is shared with the other tests running at the
/// same time: the PostgreSQL test server's write-ahead log and its log, which hold every test
/// database's writes (the test's own database folder is not shared).
pub fn shared_with_other_tests(path: &Path) -> bool {
    std::env::var_os("FIELDPAY_TEST_PG_DIR").is_some_and(|dir| {
        path.starts_with(dir) && !path.components().any(|c| c.as_os_str() == "base")
    })
}

// ------------------------------------------------------------------ webhook receiver

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests first.
    pub fail_first: Arc<Mutex<u32>>,
}

/// A local HTTP endpoint that records webhook deliveries.
pub async fn webhook_receiver(fail_first: u32) -> (String, Receiver) {
    use axum::routing::post;
    let rx = Receiver::default();
    *rx.fail_first.lock().unwrap() = fail_first;
    let r2 = rx.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let r = r2.clone();
            async move {
                let mut f = r.fail_first.lock().unwrap();
                if *f > 0 {
                    *f -= 1;
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                r.got.lock().unwrap().push(Received { headers, body });
                StatusCode::NO_CONTENT
            }
        }),
    );
    let addr = serve_loopback(app).await;
    (format!("http://{addr}/hook"), rx)
}

impl Receiver {
    /// The delivery of the `event_type` webhook about `charge_id`, once it arrived; None when
    /// it did not arrive `within`.
    pub async fn wait_for(
        &self,
        event_type: &str,
        charge_id: &str,
        within: Duration,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let found = self.got.lock().unwrap().iter().find_map(|r| {
                let v: Value = serde_json::from_str(&r.body).ok()?;
                (v["type"] == event_type && v["data"]["id"] == charge_id).then(|| r.clone())
            });
            if found.is_some() || tokio::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Serves `router` on a fresh loopback port (for the life of the test); returns its address.
pub async fn serve_loopback(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// A webhook endpoint that takes every request and never answers; counts the requests.
pub async fn hanging_receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            c.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<StatusCode>()
        }),
    );
    let addr = serve_loopback(app).await;
    (format!("http://{addr}/hook"), count)
}

/// A webhook endpoint that answers every request with `307 Temporary Redirect` to
/// `location` (which keeps the method and body when followed); counts the requests.
pub async fn redirecting_receiver(location: &str) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let location = location.to_string();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            c.fetch_add(1, Ordering::SeqCst);
            let location = location.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", location)]) }
        }),
    );
    let addr = serve_loopback(app).await;
    (format!("http://{addr}/hook"), count)
}

/// Points the demo merchant's webhooks at `url` with a fresh secret; returns the secret.
pub fn set_webhook(app: &TestApp, url: &str) -> String {
    set_webhook_for(app, demo::DEMO_MERCHANT_CODE, url)
}

/// Points the webhooks of the merchant with `code` at `url` with a fresh secret; returns the
/// secret.
pub fn set_webhook_for(app: &TestApp, code: &str, url: &str) -> String {
    let store = app.store();
    let m = store.merchant_by_code(code).unwrap().unwrap();
    let mut settings = m.settings.clone();
    let secret = fieldpay_server::webhooks::new_secret();
    settings.webhook_url = Some(url.to_string());
    settings.webhook_secret = Some(secret.clone());
    store.update_merchant_settings(&m.id, &settings).unwrap();
    secret.expose().to_string()
}

pub fn demo_charge(amount: i64, payer: &str) -> Value {
    json!({ "amount": amount, "goods_name": "감기약 외 2건", "payer_phone": payer })
}

// ------------------------------------------------------------------ sign-in, errors, events

/// A sign-in answer as a test reads it: the tokens as plain text to put in headers (the
/// protocol's `TokenResponse` keeps them in `Secret`s that never print).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    /// Seconds.
    pub expires_in: u64,
    pub refresh_token: String,
    pub rep: fieldpay_protocol::auth::RepInfo,
}

/// Signs a demo rep in (POST /v1/auth/login); panics unless 200.
pub async fn login(app: &TestApp, rep: &str, password: &str) -> Tokens {
    login_at(app, demo::DEMO_MERCHANT_CODE, rep, password).await
}

/// The answer to signing `rep` of the merchant `merchant` (its code) in, whatever it is.
pub async fn sign_in(
    app: &TestApp,
    merchant: &str,
    rep: &str,
    password: &str,
) -> reqwest::Response {
    app.http
        .post(app.url("/v1/auth/login"))
        .json(&json!({ "merchant": merchant, "rep_id": rep, "password": password, "device_name": "test" }))
        .send()
        .await
        .unwrap()
}

/// Signs `rep` of the merchant `merchant` (its code) in; panics unless 200.
pub async fn login_at(app: &TestApp, merchant: &str, rep: &str, password: &str) -> Tokens {
    let r = sign_in(app, merchant, rep, password).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// When the tests' devices sign (the day of it is part of what is signed).
pub const SIGNED_AT: &str = "2026-03-02T01:02:03Z";

/// A device's signature evidence for an order of `lines` — (product id, quantity, unit price
/// the line is priced at) — as a device computes it: the content hash the server recomputes
/// from the order it stores (`fieldpay_protocol::evidence`).
pub fn evidence(
    merchant_id: &str,
    account_id: &str,
    order_id: &str,
    lines: &[(&str, i64, i64)],
    memo: &str,
) -> Value {
    evidence_numbered(merchant_id, account_id, order_id, lines, memo, None)
}

/// [`evidence`] of an order signed under the final `number` the device gave it.
pub fn evidence_numbered(
    merchant_id: &str,
    account_id: &str,
    order_id: &str,
    lines: &[(&str, i64, i64)],
    memo: &str,
    number: Option<&str>,
) -> Value {
    use fieldpay_protocol::records::{OrderLine, OrderTotals};
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|&(product, quantity, unit_price)| OrderLine {
            product_id: product.into(),
            product_code: String::new(),
            product_name: String::new(),
            quantity,
            unit_price,
            line_total: quantity * unit_price,
            manual_price: false,
            return_reason: None,
        })
        .collect();
    let supply = lines.iter().map(|l| l.line_total).sum();
    let signed_at = fieldpay_protocol::time::parse_ts(SIGNED_AT).unwrap();
    let hash =
        fieldpay_protocol::evidence::content_hash(&fieldpay_protocol::evidence::SignedContent {
            merchant_id,
            account_id,
            order_id,
            date: &fieldpay_protocol::time::kst_date(signed_at),
            lines: &lines,
            totals: OrderTotals::from_supply(supply),
            memo,
            kind: Default::default(),
            original_order_id: None,
            number,
        });
    json!({ "signer_name": "김민수", "signed_at": SIGNED_AT, "device": "test", "content_hash": hash })
}

/// The signature evidence of `order` as the server holds it (a return's reasons and original
/// included), signed at [`SIGNED_AT`].
pub fn evidence_of(merchant_id: &str, order: &fieldpay_protocol::records::Order) -> Value {
    let signed_at = fieldpay_protocol::time::parse_ts(SIGNED_AT).unwrap();
    let date = fieldpay_protocol::time::kst_date(signed_at);
    let hash = fieldpay_protocol::evidence::content_hash(
        &fieldpay_protocol::evidence::SignedContent::of(merchant_id, order, &date),
    );
    json!({ "signer_name": "김민수", "signed_at": SIGNED_AT, "device": "test", "content_hash": hash })
}

/// Reads an error answer: (HTTP status, `error.code`, `error.message`); panics unless the
/// body is `{ "error": { "code", "message" } }` with a non-empty message.
pub async fn api_error(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {text}"));
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {text}"))
        .to_string();
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {text}"))
        .to_string();
    assert!(!message.trim().is_empty(), "empty error message: {text}");
    (status, code, message)
}

/// Waits until the SMS outbox has nothing pending (every text written so far was sent).
pub async fn settle_sms(app: &TestApp) {
    for _ in 0..400 {
        if app.store().pending_sms(1000).unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the SMS outbox never drained");
}

/// A client of the server-sent event stream `GET /v1/events`.
pub struct EventStream {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl EventStream {
    pub async fn open(app: &TestApp, bearer: &str) -> EventStream {
        let resp = app
            .http
            .get(app.url("/v1/events"))
            .bearer_auth(bearer)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
        EventStream {
            resp,
            buf: Vec::new(),
        }
    }

    /// The next event as (event name, data), skipping keep-alive comments; None when nothing
    /// comes within `within` or the stream ends.
    pub async fn next(&mut self, within: Duration) -> Option<(String, String)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..pos + 2);
                let mut name = None;
                let mut data: Vec<String> = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = Some(v.trim_start().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                    }
                }
                if name.is_none() && data.is_empty() {
                    continue; // a comment (keep-alive)
                }
                return Some((name.unwrap_or_else(|| "message".into()), data.join("\n")));
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .ok()??;
            self.buf.extend_from_slice(&chunk);
        }
    }

    /// Whether the server ends the stream within `within` (events and keep-alives before the
    /// end are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) => return false,
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) | Ok(Err(_)) => return true,
            }
        }
    }

    /// Reads `event: charge` items until one satisfies `done`; returns every charge event read
    /// (including that one). Panics on another event name or when none comes within 10 s.
    pub async fn charges_until(
        &mut self,
        done: impl Fn(&fieldpay_protocol::charge::ChargeStatusChanged) -> bool,
    ) -> Vec<fieldpay_protocol::charge::ChargeStatusChanged> {
        let mut seen = Vec::new();
        loop {
            let Some((name, data)) = self.next(Duration::from_secs(10)).await else {
                panic!("the awaited event never came; got {seen:?}");
            };
            assert_eq!(name, "charge", "{data}");
            let e: fieldpay_protocol::charge::ChargeStatusChanged =
                serde_json::from_str(&data).unwrap();
            let stop = done(&e);
            seen.push(e);
            if stop {
                return seen;
            }
        }
    }
}

// ------------------------------------------------------------------ several instances

/// Sandbox servers in this process over one PostgreSQL database and one data folder (so they
/// share the sandbox card network's file), each on its own port. The instances stop (are
/// dropped) before the folder is removed.
pub struct Cluster {
    pub apps: Vec<TestApp>,
    pub data: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Starts `n` instances on the database `url`, one after the other (the first seeds the demo
/// merchant). `sms` is each instance's text sender (the sandbox sink when None).
pub async fn spawn_instances(
    url: &Secret,
    n: usize,
    sms: Option<Arc<dyn fieldpay_server::sms::sender::SmsSender>>,
) -> Cluster {
    init_logs();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let retry = [1, 1, 1, 2, 2];
    let mut apps = Vec::new();
    for _ in 0..n {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = Settings {
            database_url: Some(url.clone()),
            ..test_settings(&data, addr, &retry)
        };
        let sms = sms.clone();
        let mut state = tokio::task::spawn_blocking(move || app::build_state(settings))
            .await
            .unwrap()
            .expect("state");
        if let Some(sms) = sms {
            state.sms = sms;
        }
        demo::seed(state.store.clone(), state.connector.as_ref())
            .await
            .expect("seed");
        let running = app::start(state, listener).await.expect("start");
        apps.push(TestApp {
            addr,
            base: format!("http://{addr}"),
            public_base: format!("http://{addr}"),
            data: data.clone(),
            database_url: Some(url.clone()),
            _tmp: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            running: Some(running),
            webhook_retry_secs: retry.to_vec(),
        });
    }
    Cluster {
        apps,
        data,
        _tmp: tmp,
    }
}

/// [`spawn_app`] with `sms` as the server's text sender instead of the sandbox sink (e.g. a
/// real provider's sender pointed at a stand-in).
pub async fn spawn_app_with_sms(sms: Arc<dyn fieldpay_server::sms::sender::SmsSender>) -> TestApp {
    init_logs();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let retry = [1, 1, 1, 2, 2];
    let settings = test_settings(&data, addr, &retry);
    let database_url = settings.database_url.clone();
    let mut state = tokio::task::spawn_blocking(move || app::build_state(settings))
        .await
        .unwrap()
        .expect("state");
    state.sms = sms;
    demo::seed(state.store.clone(), state.connector.as_ref())
        .await
        .expect("seed");
    let running = app::start(state, listener).await.expect("start");
    TestApp {
        addr,
        base: format!("http://{addr}"),
        public_base: format!("http://{addr}"),
        data,
        database_url,
        _tmp: Some(tmp),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        running: Some(running),
        webhook_retry_secs: retry.to_vec(),
    }
}
