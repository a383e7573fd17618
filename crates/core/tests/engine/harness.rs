#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fieldpay_core::{Engine, EngineConfig};
use fieldpay_protocol::app::{ChargeInput, LineInput, Point, SignatureInput};
use fieldpay_protocol::charge::ChargeKind;
use fieldpay_protocol::Secret;
use fieldpay_server::app::Running;
use fieldpay_server::config::Settings;
use fieldpay_server::{app, demo};

pub const KEY: &str = demo::DEMO_API_KEY;

pub struct Server {
    pub addr: SocketAddr,
    pub base: String,
    pub data: PathBuf,
    pub running: Option<Running>,
    _tmp: Option<tempfile::TempDir>,
}

fn settings(data: &Path, addr: SocketAddr) -> Settings {
    Settings {
        data_dir: data.to_path_buf(),
        listen: addr,
        public_url: format!("http://{addr}"),
        tick_ms: 50,
        webhook_retry_secs: vec![1, 1, 1],
        ..Settings::default()
    }
}

impl Server {
    pub async fn start() -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let running = app::start_sandbox(settings(&data, addr), listener)
            .await
            .unwrap();
        Server {
            addr,
            base: format!("http://{addr}"),
            data,
            running: Some(running),
            _tmp: Some(tmp),
        }
    }

    pub fn state(&self) -> &fieldpay_server::state::AppState {
        &self.running.as_ref().unwrap().state
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = app::rebind(self.addr, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("rebind: {e}"));
        let settings = settings(&self.data, self.addr);
        self.running = Some(app::start_sandbox(settings, listener).await.unwrap());
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    pub async fn api_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let r = self
            .http()
            .get(format!("{}{}", self.base, path))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }
}

pub fn config(dir: &Path, server_url: &str) -> EngineConfig {
    EngineConfig {
        data_dir: dir.to_path_buf(),
        server_url: server_url.into(),
        device_name: "test-device".into(),
    }
}

pub fn engine_at(dir: &Path, server_url: &str) -> Arc<Engine> {
    Engine::open(config(dir, server_url)).unwrap()
}

/// The refresh token the OS credential store holds for the device database in `dir`.
pub fn stored_token(dir: &Path, server_url: &str) -> Option<Secret> {
    config(dir, server_url)
        .credentials()
        .refresh_token()
        .unwrap()
}

/// A fresh device signed in as rep1 (needs the OS credential store).
pub async fn signed_in(dir: &Path, server_url: &str) -> Arc<Engine> {
    signed_in_as(dir, server_url, "rep1").await
}

/// An engine signed in as a demo user (`rep1`, `rep2`, or the `manager`).
pub async fn signed_in_as(dir: &Path, server_url: &str, login: &str) -> Arc<Engine> {
    let e = engine_at(dir, server_url);
    e.login("demo", login, &Secret::from("demo1234"))
        .await
        .expect("login");
    e
}

pub fn strokes() -> SignatureInput {
    let mut s = Vec::new();
    for k in 0..3 {
        let mut stroke = Vec::new();
        for i in 0..30 {
            stroke.push(Point {
                x: 40.0 + i as f32 * 8.0 + k as f32 * 20.0,
                y: 60.0 + ((i as f32) / 3.0).sin() * 25.0 + k as f32 * 15.0,
                t: (i * 16) as u64,
                pressure: 0.5,
            });
        }
        s.push(stroke);
    }
    SignatureInput {
        signer_name: "김민수".into(),
        strokes: s,
        width: 400,
        height: 200,
        gps: None,
    }
}

/// A charge request to `phone` (for an account, or none).
pub fn charge_input(account_id: Option<String>, amount: i64, phone: &str) -> ChargeInput {
    ChargeInput {
        account_id,
        order_id: None,
        amount,
        goods_name: "감기약 외 2건".into(),
        payer_phone: phone.into(),
        payer_name: None,
        orderer: None,
        installments: true,
        kind: ChargeKind::General,
        expires_in_minutes: None,
    }
}

/// A new purchase-order draft of `lines` for an account.
pub fn draft(account_id: &str, lines: Vec<LineInput>) -> fieldpay_protocol::command::SaveDraft {
    fieldpay_protocol::command::SaveDraft {
        order_id: None,
        account_id: account_id.into(),
        lines,
        memo: String::new(),
        kind: Default::default(),
        original_order_id: None,
    }
}

/// Makes, signs and queues an order of `qty` units of three products for an account.
pub fn order(e: &Engine, account_id: &str, qty: i64) -> String {
    let products = e.search_products("P000", None, 3).unwrap();
    assert_eq!(products.len(), 3, "demo products are synced");
    let lines: Vec<LineInput> = products
        .iter()
        .map(|h| LineInput {
            product_id: h.product.id.clone(),
            quantity: qty,
            reason: None,
        })
        .collect();
    let d = e.save_draft(&draft(account_id, lines), Utc::now()).unwrap();
    e.sign_and_submit(&d.order.id, &strokes(), Utc::now())
        .unwrap();
    d.order.id
}

/// Syncs until the outbox is empty (or panics after `tries`).
pub async fn settle(e: &Engine, tries: usize) {
    for _ in 0..tries {
        if let Ok(s) = e.sync_now().await {
            if s.queued == 0 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("did not settle: {:?}", e.status());
}

/// The text of a PDF by pdftotext (poppler-utils), or `None` when it is not installed.
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("po.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
