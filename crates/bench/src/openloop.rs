//! Row 12 (issue 17): charge creation under an open-loop generator, beside the HTTP floor.
//!
//! The generator sends at a fixed arrival rate whatever the answers do (the wrk2 way):
//! request `i` is due at `t0 + i / rate`, is sent at that time (or as soon as the generator
//! gets there) without waiting for earlier answers, and its latency runs from the time it was
//! due, so a stall of the server shows in every request that should have gone out during it
//! instead of delaying the senders (a closed loop's coordinated omission). It runs at rising
//! rates against the release `fieldpay-server` and against the HTTP floor: a bare axum
//! handler of `POST /v1/charges` (the same bearer check and JSON body, nothing behind them)
//! in a process of its own, this binary's `http-floor` subcommand. The ceiling of each is the
//! highest rate whose p99 held the target with no errors.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use fieldpay_protocol::charge::CreateCharge;
use fieldpay_server::demo::DEMO_API_KEY;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::engine_rows::payer;
use crate::report::{RowResult, Verdict};
use crate::server::{free_port, ServerChild};
use crate::server_rows::{charge_body, client};
use crate::stats::{self, group, ms, Summary};
use crate::Ctx;

/// The target p99 of charge creation, and the bar of a rate's ceiling.
pub const TARGET_P99_MS: f64 = 20.0;
/// The offered rates, requests per second: the doubling from 1,000 with steps
/// between (every 1,000 up to 8,000, where charge creation's ceiling now lies, so that it is
/// not rounded down by a third), and 250 and 500 below it so that a server missing at 1,000
/// still has a ceiling.
pub const RATES: &[u32] = &[
    250, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 10_000, 12_000, 16_000,
    24_000, 32_000,
];
/// A target stops rising after a rate whose p99 went past this many times the target.
pub const GIVE_UP_FACTOR: f64 = 10.0;
/// Requests in flight at most. When it is full the generator waits for a free slot; the
/// requests it then sends late keep their due time, so the wait is counted in their latency.
pub const IN_FLIGHT_CAP: usize = 2_048;
/// How long past the end of its schedule the generator goes on sending late requests before
/// it gives up on the rest (counted as unsent: a failure of the rate).
const LATE_SEND_GRACE: Duration = Duration::from_secs(2);
/// Payer phones of this row: `payer(70, i)`, one per request, none used twice on a server.
const PAYER_SERIES: u32 = 70;

/// The schedule of one rate: `rate` requests a second for `warmup + measure`; latencies of
/// the requests due in the warm-up are left out (errors anywhere count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub rate: u32,
    pub warmup: Duration,
    pub measure: Duration,
}

impl Plan {
    pub fn span(&self) -> Duration {
        self.warmup + self.measure
    }

    /// How many requests the schedule holds.
    pub fn requests(&self) -> usize {
        (self.span().as_secs_f64() * f64::from(self.rate)).round() as usize
    }

    /// When request `i` is due, after the start.
    pub fn due(&self, i: usize) -> Duration {
        Duration::from_secs_f64(i as f64 / f64::from(self.rate))
    }

    /// Whether request `i` is due after the warm-up.
    pub fn measured(&self, i: usize) -> bool {
        self.due(i) >= self.warmup
    }
}

/// What one rate against one server measured.
#[derive(Debug, Clone, Default)]
pub struct RateResult {
    pub rate: u32,
    /// Requests due after the warm-up that were sent.
    pub measured: usize,
    /// Successful answers to those per second of the measured window (its start to the last
    /// of their answers).
    pub achieved: f64,
    /// From the time each request was due to its full answer (successes after the warm-up).
    pub latency: Summary,
    /// From the time each was actually sent (what a closed loop would have reported).
    pub service: Summary,
    /// How late each was sent: the generator's own lag (CPU, in-flight cap).
    pub send_lag: Summary,
    /// Answers other than 201 and transport failures (over the whole run).
    pub errors: usize,
    pub first_error: Option<String>,
    /// Requests never sent: the in-flight cap stayed full past the schedule's end + grace.
    pub unsent: usize,
    /// Requests that found the in-flight cap full and waited for a slot.
    pub cap_stalls: usize,
    /// CPU used per wall second (2 cores = 2.0) by the generator and by the server.
    pub generator_cpu: f64,
    pub server_cpu: f64,
}

impl RateResult {
    pub fn clean(&self) -> bool {
        self.errors == 0 && self.unsent == 0 && self.measured > 0
    }

    /// Met the bar: p99 within `target_ms`, no errors, nothing left unsent.
    pub fn holds(&self, target_ms: f64) -> bool {
        self.clean() && self.latency.p99_ms <= target_ms
    }

    /// No use offering more: errors, or a p99 past [`GIVE_UP_FACTOR`] × the target.
    pub fn gives_up(&self, target_ms: f64) -> bool {
        !self.clean() || self.latency.p99_ms > GIVE_UP_FACTOR * target_ms
    }
}

/// The highest rate that held `target_ms` (None when none did).
pub fn ceiling(runs: &[RateResult], target_ms: f64) -> Option<u32> {
    runs.iter()
        .filter(|r| r.holds(target_ms))
        .map(|r| r.rate)
        .max()
}

/// One answered (or failed) request.
struct Sample {
    i: usize,
    due: Instant,
    sent: Instant,
    done: Instant,
    outcome: Result<(), String>,
}

/// Runs `plan` against `url` (`POST`, the demo API key, a distinct payer phone per request);
/// `server_pid` is the process whose CPU is counted.
pub async fn run_rate(url: &str, server_pid: u32, plan: Plan) -> anyhow::Result<RateResult> {
    let http = client(IN_FLIGHT_CAP)?;
    let n = plan.requests();
    // Bodies made before the clock starts: the schedule only sends.
    let bodies: Vec<String> = (0..n)
        .map(|i| charge_body(&payer(PAYER_SERIES, i as u32)).to_string())
        .collect();
    let url: Arc<str> = url.into();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT_CAP));
    let server_cpu0 = stats::cpu_seconds(&server_pid.to_string()).unwrap_or(0.0);
    let gen_cpu0 = stats::cpu_seconds("self").unwrap_or(0.0);
    let t0 = Instant::now() + Duration::from_millis(20);
    let give_up = t0 + plan.span() + LATE_SEND_GRACE;
    let mut tasks = Vec::with_capacity(n);
    let (mut cap_stalls, mut unsent) = (0, 0);
    for (i, body) in bodies.into_iter().enumerate() {
        let due = t0 + plan.due(i);
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let slot = match slots.clone().try_acquire_owned() {
            Ok(s) => s,
            Err(_) => {
                cap_stalls += 1;
                match tokio::time::timeout_at(give_up, slots.clone().acquire_owned()).await {
                    Ok(s) => s?,
                    Err(_) => {
                        unsent = n - i;
                        break;
                    }
                }
            }
        };
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let r = http
                .post(&*url)
                .bearer_auth(DEMO_API_KEY)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            let outcome = match r {
                Ok(r) if r.status() == StatusCode::CREATED => {
                    r.bytes().await.map(drop).map_err(|e| e.to_string())
                }
                Ok(r) => {
                    let st = r.status();
                    Err(format!("{st}: {}", r.text().await.unwrap_or_default()))
                }
                Err(e) => Err(e.to_string()),
            };
            let done = Instant::now();
            drop(slot);
            Sample {
                i,
                due,
                sent,
                done,
                outcome,
            }
        }));
    }
    let mut samples = Vec::with_capacity(tasks.len());
    for t in tasks {
        samples.push(t.await?);
    }
    let wall = t0.elapsed().as_secs_f64();
    let generator_cpu = (stats::cpu_seconds("self").unwrap_or(0.0) - gen_cpu0) / wall;
    let server_cpu =
        (stats::cpu_seconds(&server_pid.to_string()).unwrap_or(0.0) - server_cpu0) / wall;
    let mut r = summarize(plan, t0, &samples);
    r.unsent = unsent;
    r.cap_stalls = cap_stalls;
    r.generator_cpu = generator_cpu;
    r.server_cpu = server_cpu;
    Ok(r)
}

/// The figures of a run from its samples (`t0`: when the schedule started).
fn summarize(plan: Plan, t0: Instant, samples: &[Sample]) -> RateResult {
    let ms_of = |d: Duration| d.as_secs_f64() * 1e3;
    let window_start = t0 + plan.warmup;
    let (mut latency, mut service, mut lag) = (Vec::new(), Vec::new(), Vec::new());
    let mut r = RateResult {
        rate: plan.rate,
        ..RateResult::default()
    };
    let mut last_done = window_start;
    for s in samples {
        if let Err(e) = &s.outcome {
            r.errors += 1;
            r.first_error.get_or_insert_with(|| e.clone());
        }
        if !plan.measured(s.i) {
            continue;
        }
        r.measured += 1;
        lag.push(ms_of(s.sent.saturating_duration_since(s.due)));
        if s.outcome.is_ok() {
            latency.push(ms_of(s.done.saturating_duration_since(s.due)));
            service.push(ms_of(s.done.saturating_duration_since(s.sent)));
            last_done = last_done.max(s.done);
        }
    }
    let window = last_done
        .saturating_duration_since(window_start)
        .as_secs_f64();
    r.achieved = if window > 0.0 {
        latency.len() as f64 / window
    } else {
        0.0
    };
    r.latency = Summary::of_ms(latency);
    r.service = Summary::of_ms(service);
    r.send_lag = Summary::of_ms(lag);
    r
}

/// The HTTP floor: `POST /v1/charges` checks the bearer key, parses the body as the server
/// does (`CreateCharge`) and answers 201 with a small JSON body; `GET /healthz` answers 200.
/// Runs on this process's runtime until killed.
pub async fn serve_floor(listen: SocketAddr) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/v1/charges", post(floor_create))
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Equal bytes, compared without stopping at the first difference.
fn same_key(given: &[u8], key: &[u8]) -> bool {
    given.len() == key.len() && given.iter().zip(key).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn floor_create(headers: HeaderMap, body: Bytes) -> (StatusCode, Json<serde_json::Value>) {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|k| same_key(k, DEMO_API_KEY.as_bytes()));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "code": "unauthorized" })),
        );
    }
    match serde_json::from_slice::<CreateCharge>(&body) {
        Ok(c) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": "ch_floor",
                "status": "requested",
                "amount": c.amount,
                "payer_phone": c.payer_phone,
            })),
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "code": "invalid_request", "message": e.to_string() })),
        ),
    }
}

/// Starts the HTTP floor: this binary's `http-floor` subcommand, a process of its own (as the
/// server is), on a loopback port.
async fn start_floor(ctx: &Ctx) -> anyhow::Result<ServerChild> {
    let port = free_port()?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("http-floor")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"));
    ServerChild::spawn(cmd, port, &ctx.work.join("http-floor.log"), "/healthz").await
}

/// The `drive` subcommand: one rate against a server started by hand (to profile it).
pub async fn drive(url: &str, rate: u32, secs: u64, pid: u32) -> anyhow::Result<()> {
    let plan = Plan {
        rate,
        warmup: Duration::from_secs(1),
        measure: Duration::from_secs(secs),
    };
    let r = run_rate(url, pid, plan).await?;
    log_rate("drive", &r);
    Ok(())
}

fn plan(ctx: &Ctx, rate: u32) -> Plan {
    let (warmup, measure) = if ctx.quick {
        (Duration::from_millis(250), Duration::from_secs(1))
    } else {
        (Duration::from_secs(1), Duration::from_secs(5))
    };
    Plan {
        rate,
        warmup,
        measure,
    }
}

fn log_rate(who: &str, r: &RateResult) {
    eprintln!(
        "[openloop] {who} at {}/s: achieved {:.0}/s, p50 {} p99 {} p99.9 {} (service p99 {}, send lag p99 {}), errors {}, unsent {}, cap stalls {}, cpu server {:.2} gen {:.2} (load {})",
        group(u64::from(r.rate)),
        r.achieved,
        ms(r.latency.p50_ms),
        ms(r.latency.p99_ms),
        ms(r.latency.p999_ms),
        ms(r.service.p99_ms),
        ms(r.send_lag.p99_ms),
        r.errors,
        r.unsent,
        r.cap_stalls,
        r.server_cpu,
        r.generator_cpu,
        stats::loadavg()
    );
}

/// Row 12: at each rate, the HTTP floor (one process for every rate) and then a fresh
/// `fieldpay-server` (its own empty data folder); each stops rising on its own.
pub async fn openloop(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = std::time::Instant::now();
    let load_before = stats::loadavg();
    let floor_srv = start_floor(ctx).await?;
    let floor_url = format!("{}/v1/charges", floor_srv.base);
    let (mut ours, mut floor) = (Vec::<RateResult>::new(), Vec::<RateResult>::new());
    for &rate in RATES {
        let floor_on = floor.last().is_none_or(|r| !r.gives_up(TARGET_P99_MS));
        let ours_on = ours.last().is_none_or(|r| !r.gives_up(TARGET_P99_MS));
        if !floor_on && !ours_on {
            break;
        }
        let plan = plan(ctx, rate);
        if floor_on {
            let r = run_rate(&floor_url, floor_srv.pid(), plan).await?;
            log_rate("floor", &r);
            floor.push(r);
        }
        if ours_on {
            let data = ctx.work.join(format!("server-openloop-{rate}"));
            let _ = std::fs::remove_dir_all(&data);
            std::fs::create_dir_all(&data)?;
            let srv = ServerChild::start(
                &ctx.server_bin,
                &data,
                &ctx.work.join(format!("server-openloop-{rate}.log")),
            )
            .await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let r = run_rate(&format!("{}/v1/charges", srv.base), srv.pid(), plan).await?;
            srv.stop();
            if !ctx.keep_data {
                let _ = std::fs::remove_dir_all(&data);
            }
            log_rate("server", &r);
            ours.push(r);
        }
    }
    floor_srv.stop();
    Ok(openloop_row(
        ctx,
        &ours,
        &floor,
        load_before,
        started.elapsed().as_secs_f64(),
    ))
}

/// A ceiling as text: "none" when no rate held, "≥ top" when the top rate held.
fn ceiling_text(c: Option<u32>) -> String {
    let top = RATES.last().copied().unwrap_or(0);
    match c {
        None => format!("none (not even {}/s)", group(u64::from(RATES[0]))),
        Some(c) if c == top => format!(">= {}/s (the top rate)", group(u64::from(c))),
        Some(c) => format!("{}/s", group(u64::from(c))),
    }
}

fn rate_table(d: &mut String, title: &str, runs: &[RateResult]) {
    let _ = writeln!(
        d,
        "{title}\n\n| offered | achieved | p50 | p99 | p99.9 | max | service p99 | send lag p99 | errors | unsent | cap stalls | server CPU | generator CPU |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let _ = writeln!(
            d,
            "| {}/s | {}/s | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            group(u64::from(r.rate)),
            group(r.achieved.round() as u64),
            ms(r.latency.p50_ms),
            ms(r.latency.p99_ms),
            if r.holds(TARGET_P99_MS) { "" } else { " ✗" },
            ms(r.latency.p999_ms),
            ms(r.latency.max_ms),
            ms(r.service.p99_ms),
            ms(r.send_lag.p99_ms),
            r.errors,
            r.unsent,
            r.cap_stalls,
            r.server_cpu,
            r.generator_cpu
        );
    }
    let errors: Vec<String> = runs
        .iter()
        .filter_map(|r| {
            r.first_error
                .as_ref()
                .map(|e| format!("at {}/s: {e}", group(u64::from(r.rate))))
        })
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(d, "\nFirst error: {}.", errors.join("; "));
    }
    d.push('\n');
}

fn openloop_row(
    ctx: &Ctx,
    ours: &[RateResult],
    floor: &[RateResult],
    load_before: String,
    seconds: f64,
) -> RowResult {
    let (c_ours, c_floor) = (ceiling(ours, TARGET_P99_MS), ceiling(floor, TARGET_P99_MS));
    let ratio = c_floor.map(|f| f64::from(c_ours.unwrap_or(0)) / f64::from(f));
    let measured = format!(
        "ceiling {} vs the HTTP floor's {}{}",
        ceiling_text(c_ours),
        ceiling_text(c_floor),
        ratio.map(|x| format!(" (×{x:.2})")).unwrap_or_default()
    );
    let verdict = match ratio {
        None => Verdict::NotMeasured(format!(
            "the HTTP floor did not hold p99 <= {TARGET_P99_MS} ms at any rate (machine too busy?)"
        )),
        Some(x) => Verdict::from_checks(&[(
            x >= 0.5,
            format!("ceiling ×{x:.2} of the floor's (target ×0.5)"),
        )]),
    };
    let p = plan(ctx, RATES[0]);
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Open-loop generator (the wrk2 way): at each offered rate, request `i` is due at \
         `t0 + i / rate`; one scheduler sends it at that time (or as soon as it gets there: \
         tokio's timer wakes it once a millisecond, so requests leave in 1 ms batches) on the \
         tokio runtime without waiting for earlier answers, at most {} in flight (when full, \
         the scheduler waits for a slot and the request keeps its due time, so the wait is in \
         its latency; such waits are the \"cap stalls\"; requests still unsent {} s after the \
         schedule's end count as \"unsent\" and fail the rate). Latency = full answer read − \
         due time; \"service p99\" is the same answers timed from when each was actually sent \
         (what a closed loop reports), \"send lag\" how late the generator sent. Each rate runs \
         {:.2} s, of which the first {:.2} s are a warm-up left out of the latencies (errors \
         count throughout). `POST /v1/charges` with the demo API key and row 6's JSON body, \
         every request to a distinct payer phone; reqwest, one client per rate with up to {} \
         keep-alive connections over loopback. Rates {} /s, each target stopping after a rate \
         with errors or a p99 over {GIVE_UP_FACTOR}× the target. Ceiling = the highest rate \
         whose p99 <= {TARGET_P99_MS} ms with no errors and nothing unsent.\n\n\
         - **Server**: the release `fieldpay-server`, a fresh process on a fresh data folder \
         for every rate (so the texts the previous rate queued are not still being sent), as \
         in row 6. No server limit is in the way: every charge goes to its own payer phone, so \
         none needs a second of the demo merchant's 10 virtual numbers and the hourly bill \
         quota per phone (10) is never reached; the demo merchant has no hourly text limit \
         of its own and the API has no per-key rate limit. Any error is listed below with \
         its first message.\n\
         - **HTTP floor**: a bare axum handler in a process of its own (`fieldpay-bench \
         http-floor`, a default multi-thread tokio runtime like the server's): it compares \
         the `Authorization: Bearer` key with the demo key (every byte, no early exit), parses \
         the body as the server does (`CreateCharge`) and answers 201 with a small JSON body. \
         One process for every rate, run just before the server at each rate.\n\
         - The generator, the server and the floor share the machine's {} cores (the CPU \
         columns: seconds per wall second, 2.0 = both cores), so at high rates the generator \
         takes CPU from the server it measures, and the floor's ceiling is also the \
         generator's; a send lag near the p99 says the generator, not the server, fell behind.\n",
        group(IN_FLIGHT_CAP as u64),
        LATE_SEND_GRACE.as_secs(),
        p.span().as_secs_f64(),
        p.warmup.as_secs_f64(),
        group(IN_FLIGHT_CAP as u64),
        RATES
            .iter()
            .map(|r| group(u64::from(*r)))
            .collect::<Vec<_>>()
            .join(", "),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let _ = writeln!(
        d,
        "Ceilings: the server {}, the HTTP floor {}{}. In the tables, ✗ marks a rate that \
         missed the bar.\n",
        ceiling_text(c_ours),
        ceiling_text(c_floor),
        ratio
            .map(|x| format!(": the server reaches ×{x:.2} of the floor (target ×0.5)"))
            .unwrap_or_default()
    );
    rate_table(&mut d, "**fieldpay-server**", ours);
    rate_table(&mut d, "**HTTP floor**", floor);
    RowResult {
        order: 12,
        what: format!(
            "server: charge creation, open loop at rising rates vs the HTTP floor (ceiling = \
             highest rate with p99 <= {TARGET_P99_MS} ms)"
        ),
        target: ">= 0.5x the HTTP floor's ceiling (same run)".into(),
        measured,
        verdict,
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: u32, p99: f64, errors: usize) -> RateResult {
        RateResult {
            rate,
            measured: 100,
            latency: Summary {
                p99_ms: p99,
                ..Summary::default()
            },
            errors,
            ..RateResult::default()
        }
    }

    #[test]
    fn schedule() {
        let p = Plan {
            rate: 4_000,
            warmup: Duration::from_millis(500),
            measure: Duration::from_secs(2),
        };
        assert_eq!(p.requests(), 10_000);
        assert_eq!(p.due(0), Duration::ZERO);
        assert_eq!(p.due(4_000), Duration::from_secs(1));
        assert_eq!(p.due(1), Duration::from_micros(250));
        assert!(!p.measured(1_999));
        assert!(p.measured(2_000));
        assert_eq!((0..p.requests()).filter(|&i| p.measured(i)).count(), 8_000);
    }

    #[test]
    fn latency_runs_from_the_due_time() {
        let p = Plan {
            rate: 1_000,
            warmup: Duration::from_millis(2),
            measure: Duration::from_millis(3),
        };
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Requests 0-1 in the warm-up; 2 is sent 10 ms late (a stall) and answered 1 ms later;
        // 3 fails; 4 is on time.
        let samples = vec![
            Sample {
                i: 0,
                due: at(0),
                sent: at(0),
                done: at(50),
                outcome: Ok(()),
            },
            Sample {
                i: 1,
                due: at(1),
                sent: at(1),
                done: at(2),
                outcome: Ok(()),
            },
            Sample {
                i: 2,
                due: at(2),
                sent: at(12),
                done: at(13),
                outcome: Ok(()),
            },
            Sample {
                i: 3,
                due: at(3),
                sent: at(3),
                done: at(4),
                outcome: Err("500".into()),
            },
            Sample {
                i: 4,
                due: at(4),
                sent: at(4),
                done: at(6),
                outcome: Ok(()),
            },
        ];
        let r = summarize(p, t0, &samples);
        assert_eq!(r.measured, 3);
        assert_eq!(r.errors, 1);
        assert_eq!(r.first_error.as_deref(), Some("500"));
        assert_eq!(r.latency.n, 2);
        assert_eq!(r.latency.max_ms, 11.0);
        assert_eq!(r.service.max_ms, 2.0);
        assert_eq!(r.send_lag.max_ms, 10.0);
        // Two successes in the 11 ms from the window's start (2 ms) to the last answer (13 ms).
        assert!((r.achieved - 2.0 / 0.011).abs() < 1e-6);
        assert!(!r.clean());
    }

    #[test]
    fn ceilings() {
        let runs = [
            run(1_000, 2.0, 0),
            run(2_000, 4.0, 0),
            run(4_000, 25.0, 0),
            run(8_000, 19.0, 0),
            run(16_000, 5.0, 3),
        ];
        assert_eq!(ceiling(&runs, 20.0), Some(8_000));
        assert_eq!(ceiling(&runs[..3], 20.0), Some(2_000));
        assert_eq!(ceiling(&runs[2..3], 20.0), None);
        assert!(!runs[2].gives_up(20.0));
        assert!(run(4_000, 201.0, 0).gives_up(20.0));
        assert!(runs[4].gives_up(20.0));
        let mut unsent = run(1_000, 1.0, 0);
        unsent.unsent = 1;
        assert!(!unsent.holds(20.0) && unsent.gives_up(20.0));
        assert_eq!(ceiling_text(None), "none (not even 250/s)");
        assert_eq!(ceiling_text(Some(32_000)), ">= 32,000/s (the top rate)");
    }

    #[test]
    fn floor_key_check() {
        assert!(same_key(b"abc", b"abc"));
        assert!(!same_key(b"abd", b"abc"));
        assert!(!same_key(b"ab", b"abc"));
    }
}
