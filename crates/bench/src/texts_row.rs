//! Row 16: a batch of bills through a text provider that answers each request in 100 ms. The
//! server runs in this process (sandbox mode, the demo merchant) with its Solapi sender
//! pointed at Solapi's strict stand-in on loopback (`fieldpay-standins`: it checks the
//! HMAC signature, the body and the sender number, and answers each request after a standing
//! latency). Charges are asked for by 16 HTTP clients; the figure is how long until the
//! provider took every bill.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldpay_protocol::Secret;
use fieldpay_server::config::Settings;
use fieldpay_server::sms::solapi::{SolapiConfig, SolapiSender};
use fieldpay_server::sms::SEND_AT_ONCE;

use crate::report::{RowResult, Verdict};
use crate::server_rows::create_charges;
use crate::stats::{self, group, ms};
use crate::Ctx;

const KEY: &str = "NCSBENCHTEXTS0001";
const SECRET: &str = "solapi-bench-secret-0123456789";
const FROM: &str = "0212345678";

/// The provider's answer time per request.
const LATENCY: Duration = Duration::from_millis(100);

/// Texts a second the batch must go out at, at least.
const TARGET_PER_SEC: f64 = 100.0;

pub async fn texts(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let bills = if ctx.quick { 100 } else { 1_000 };
    let (standin, provider) = fieldpay_standins::solapi::start(KEY, SECRET, FROM).await;
    provider.set_latency(LATENCY);

    let data = ctx.work.join("server-texts");
    let _ = std::fs::remove_dir_all(&data);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let settings = Settings {
        data_dir: data.clone(),
        listen: addr,
        public_url: format!("http://{addr}"),
        internal_url: format!("http://{addr}"),
        ..Settings::default()
    };
    let mut state =
        tokio::task::spawn_blocking(move || fieldpay_server::app::build_state(settings)).await??;
    state.sms = Arc::new(SolapiSender::new(SolapiConfig {
        base_url: standin.base_url.clone(),
        timeout: Duration::from_secs(5),
        api_key: Secret::new(KEY),
        api_secret: Secret::new(SECRET),
        sender_number: FROM.into(),
    })?);
    fieldpay_server::demo::seed(state.store.clone(), state.connector.as_ref()).await?;
    let running = fieldpay_server::app::start(state, listener).await?;
    let base = format!("http://{addr}");

    let t0 = Instant::now();
    let made = create_charges(&base, bills, 16, 61).await?;
    anyhow::ensure!(made.errors == 0, "charges failed: {:?}", made.first_error);
    let asked = t0.elapsed();
    let mut out = provider.sent().len();
    while out < bills {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(600),
            "only {out} of {bills} bills reached the provider in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        out = provider.sent().len();
    }
    let all_out = t0.elapsed();
    running.shutdown().await;
    if !ctx.keep_data {
        let _ = std::fs::remove_dir_all(&data);
    }
    anyhow::ensure!(
        provider.overlapping_recipients().is_empty(),
        "a phone had two texts in flight at once"
    );
    let per_sec = bills as f64 / all_out.as_secs_f64();
    let at_once = provider.max_in_flight();
    let checks = [(
        per_sec >= TARGET_PER_SEC,
        format!("{per_sec:.0} texts/s (×{:.2})", per_sec / TARGET_PER_SEC),
    )];
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Server: `fieldpay_server::app` in the bench process (sandbox mode, fresh data folder, \
         the demo merchant), its text sender Solapi's (`SolapiSender`) pointed at Solapi's \
         strict stand-in on loopback, which answers every request after {} (Korean SMS APIs \
         answer in tens to hundreds of milliseconds). {} charges to distinct payer phones from \
         16 HTTP clients; the clock runs from the first request until the stand-in took the \
         last bill.\n\n\
         | figure | value |\n|---|---|\n\
         | charges asked for (all answered) | {} |\n\
         | every bill taken by the provider | {} |\n\
         | texts a second | {per_sec:.0} |\n\
         | requests in flight at once, at most | {at_once} (the server's limit: {SEND_AT_ONCE}) |\n\
         | one phone's texts in flight together | never |",
        ms(LATENCY.as_secs_f64() * 1000.0),
        group(bills as u64),
        ms(asked.as_secs_f64() * 1000.0),
        ms(all_out.as_secs_f64() * 1000.0),
    );
    Ok(RowResult {
        order: 16,
        what: format!(
            "server: {} bills out through a text provider answering in {} (texts a second)",
            group(bills as u64),
            ms(LATENCY.as_secs_f64() * 1000.0)
        ),
        target: format!(">= {TARGET_PER_SEC:.0} texts/s"),
        measured: format!(
            "{per_sec:.0} texts/s ({} bills out in {})",
            group(bills as u64),
            ms(all_out.as_secs_f64() * 1000.0)
        ),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
