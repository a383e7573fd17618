//! A real `fieldpay-server` in the test process (the library the app embeds for its sandbox):
//! started, stopped and started again on the same loopback port and data folder; and the
//! sandbox phone, through which a test pays a charge as the payer would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::records::{LedgerKind, Order};
use fieldpay_protocol::sync::ChangeData;
use fieldpay_server::app::Running;
use fieldpay_server::card::{TestOutcome, TEST_CARDS};
use fieldpay_server::config::Settings;
use fieldpay_server::store::Store;
use fieldpay_server::{app, demo};
use serde_json::{json, Value};

pub struct TestServer {
    pub port: u16,
    pub data: PathBuf,
    running: Option<Running>,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts a sandbox-mode server with the demo data on `port`, data under `data`.
    pub async fn start(data: &Path, port: u16) -> Result<TestServer> {
        let mut s = TestServer {
            port,
            data: data.to_path_buf(),
            running: None,
        };
        s.start_again().await?;
        Ok(s)
    }

    /// (Re)starts on the same port and data folder.
    pub async fn start_again(&mut self) -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let settings = Settings {
            data_dir: self.data.clone(),
            listen: addr,
            public_url: format!("http://{addr}"),
            mode: fieldpay_server::config::Mode::Sandbox,
            tick_ms: 200,
            ..Settings::default()
        };
        // The port was ours a moment ago; the OS may need a moment to let it go.
        let listener = app::rebind(addr, Duration::from_secs(30))
            .await
            .with_context(|| format!("port {} to be free", self.port))?;
        self.running = Some(
            app::start_sandbox(settings, listener)
                .await
                .context("starting the sandbox server")?,
        );
        Ok(())
    }

    /// Graceful shutdown: no more requests are taken; the port is closed.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    pub fn store(&self) -> Result<Arc<dyn Store>> {
        match &self.running {
            Some(r) => Ok(r.state.store.clone()),
            None => bail!("the server is not running"),
        }
    }

    /// Everything the server has for one client account: its orders, charges and the ledger
    /// entries that point at an order (read from the store's change feed).
    pub fn records_of(&self, account_id: &str) -> Result<AccountRecords> {
        let store = self.store()?;
        let m = store
            .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
            .context("no demo merchant")?;
        let mut out = AccountRecords::default();
        let mut cursor = 0;
        loop {
            let page = store.pull(&m.id, cursor, 5000, None)?;
            for c in page.changes {
                match c.data {
                    ChangeData::Order(o) if o.account_id == account_id => out.orders.push(o),
                    ChangeData::Charge(ch) if ch.account_id.as_deref() == Some(account_id) => {
                        out.charges.push(ch)
                    }
                    ChangeData::Ledger(l)
                        if l.account_id == account_id && l.kind == LedgerKind::Order =>
                    {
                        out.order_ledger_refs.push(l.ref_id.unwrap_or_default())
                    }
                    _ => {}
                }
            }
            cursor = page.cursor;
            if !page.has_more {
                break;
            }
        }
        Ok(out)
    }

    /// The server's id of the demo rep with this login.
    pub fn rep_id(&self, login: &str) -> Result<String> {
        let store = self.store()?;
        let m = store
            .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
            .context("no demo merchant")?;
        let rep = store
            .rep_by_login(&m.id, login)?
            .with_context(|| format!("no rep {login}"))?;
        Ok(rep.id.as_str().to_string())
    }

    /// The server's id of the demo account with this code.
    pub fn account_id(&self, code: &str) -> Result<String> {
        let store = self.store()?;
        let m = store
            .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
            .context("no demo merchant")?;
        Ok(store
            .accounts(&m.id)?
            .into_iter()
            .find(|a| a.code == code)
            .with_context(|| format!("no account {code}"))?
            .id)
    }
}

#[derive(Default, Debug)]
pub struct AccountRecords {
    pub orders: Vec<Order>,
    pub charges: Vec<Charge>,
    pub order_ledger_refs: Vec<String>,
}

/// A documented sandbox test card that is approved. Its number is never printed.
fn approving_card() -> &'static str {
    TEST_CARDS
        .iter()
        .find(|c| c.outcome == TestOutcome::Approve)
        .expect("the sandbox has an approving test card")
        .number
}

/// Pays a pending charge through the sandbox phone of the server at `base` as the payer:
/// dials the virtual number from `payer`, presses 1, enters an approving test card and the
/// other answers. Returns the last step and whether the call ended. Request bodies (they
/// hold the card number) are never printed.
pub async fn pay_by_phone(base: &str, payer: &str, virtual_number: &str) -> Result<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let to: String = virtual_number
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let r = http
        .post(format!("{base}/sandbox/calls"))
        .json(&json!({ "from": payer, "to": to }))
        .send()
        .await
        .context("sandbox phone: dialling")?;
    if !r.status().is_success() {
        bail!("sandbox phone: dialling answered {}", r.status());
    }
    let mut turn: Value = r.json().await?;
    let call = turn["call_id"].as_str().unwrap_or_default().to_string();
    let card_keys = format!("{}#", approving_card());
    let mut steps = Vec::new();
    for _ in 0..12 {
        let step = turn["step"].as_str().unwrap_or("?").to_string();
        steps.push(step.clone());
        if turn["hangup"].as_bool() == Some(true) || step == "done" {
            return Ok(steps.join(" > "));
        }
        let keys = match step.as_str() {
            "read_out" => "1",
            "card_number" => card_keys.as_str(),
            "expiry" => "1230",
            "installments" => "0#",
            "birth_or_business" => "800101#",
            "password" => "12",
            other => bail!("sandbox phone: unexpected step {other} (steps: {steps:?})"),
        };
        let r = http
            .post(format!("{base}/sandbox/calls/{call}/input"))
            .json(&json!({ "digits": keys }))
            .send()
            .await
            .with_context(|| format!("sandbox phone: keys at step {step}"))?;
        if !r.status().is_success() {
            bail!("sandbox phone: keys at step {step} answered {}", r.status());
        }
        turn = r.json().await?;
    }
    bail!("sandbox phone: the call did not end (steps: {steps:?})")
}

/// The texts the sandbox SMS sink holds for `phone`.
pub async fn texts(base: &str, phone: &str) -> Result<Vec<Value>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let r = http
        .get(format!("{base}/sandbox/sms"))
        .query(&[("phone", phone)])
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("sandbox sms: {}", r.status());
    }
    Ok(r.json().await?)
}
