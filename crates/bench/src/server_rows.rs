//! Rows 6-8 and 13, against the release `fieldpay-server` binary as a child process: charge
//! creation under 64 concurrent HTTP clients, one IVR step over the TwiML webhook with 1,000
//! calls in progress, the server's resident memory idle and with 10,000 pending charges, and
//! its memory while it serves a first sync. The load generator is this process: reqwest over
//! loopback. (Row 12, charge creation in an open loop, is in [`crate::openloop`].)

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldpay_protocol::phone::Phone;
use fieldpay_server::config::SANDBOX_TWILIO_AUTH_TOKEN;
use fieldpay_server::demo::DEMO_API_KEY;
use fieldpay_server::telephony::twiml::{signature, VOICE_PATH};

use crate::engine_rows::payer;
use crate::gen::Scale;
use crate::report::{RowResult, Verdict};
use crate::server::{self, ServerChild};
use crate::stats::{self, bytes, group, median, ms, Summary};
use crate::{sync_baselines, Ctx};

/// A loopback HTTP client keeping up to `pool` idle connections.
pub(crate) fn client(pool: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(pool)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// The `POST /v1/charges` body every charge-creation row sends (to a distinct payer phone).
pub fn charge_body(payer_phone: &str) -> serde_json::Value {
    serde_json::json!({
        "amount": 33_000,
        "goods_name": "감기약 외 2건",
        "payer_phone": payer_phone,
    })
}

/// What a closed-loop load run measured.
pub struct LoadRun {
    pub latencies: Vec<Duration>,
    pub wall: Duration,
    pub errors: usize,
    pub first_error: Option<String>,
    /// (payer phone, virtual number) of each created charge.
    pub created: Vec<(String, String)>,
}

/// `total` `POST /v1/charges` from `concurrency` tasks (closed loop: each sends its next
/// request when the previous one is answered), each to a distinct payer phone of `series`.
pub async fn create_charges(
    base: &str,
    total: usize,
    concurrency: usize,
    series: u32,
) -> anyhow::Result<LoadRun> {
    create_charges_on(&[base.to_string()], total, concurrency, series).await
}

/// As [`create_charges`], over several servers in turn (round robin): request `i` goes to
/// `bases[i % bases.len()]`.
pub async fn create_charges_on(
    bases: &[String],
    total: usize,
    concurrency: usize,
    series: u32,
) -> anyhow::Result<LoadRun> {
    anyhow::ensure!(!bases.is_empty(), "no server to send charges to");
    let http = client(concurrency)?;
    let next = Arc::new(AtomicUsize::new(0));
    let urls: Arc<Vec<String>> =
        Arc::new(bases.iter().map(|b| format!("{b}/v1/charges")).collect());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, next, urls) = (http.clone(), next.clone(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut created = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let url = &urls[i % urls.len()];
                let phone = payer(series, i as u32);
                let body = charge_body(&phone);
                let t = Instant::now();
                let r = http
                    .post(url)
                    .bearer_auth(DEMO_API_KEY)
                    .json(&body)
                    .send()
                    .await;
                let outcome = match r {
                    Ok(r) if r.status().as_u16() == 201 => r
                        .json::<serde_json::Value>()
                        .await
                        .map_err(|e| e.to_string()),
                    Ok(r) => {
                        let st = r.status();
                        Err(format!("{st}: {}", r.text().await.unwrap_or_default()))
                    }
                    Err(e) => Err(e.to_string()),
                };
                lat.push(t.elapsed());
                match outcome {
                    Ok(v) => created.push((
                        phone,
                        v["virtual_number"].as_str().unwrap_or_default().to_string(),
                    )),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (lat, created, errors, first_error)
        }));
    }
    let mut run = LoadRun {
        latencies: Vec::with_capacity(total),
        wall: Duration::ZERO,
        errors: 0,
        first_error: None,
        created: Vec::with_capacity(total),
    };
    for t in tasks {
        let (lat, created, errors, first_error) = t.await?;
        run.latencies.extend(lat);
        run.created.extend(created);
        run.errors += errors;
        if run.first_error.is_none() {
            run.first_error = first_error;
        }
    }
    run.wall = started.elapsed();
    Ok(run)
}

async fn settle(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// Rows 6 and 8: per round, a fresh server; idle RSS; 10,000 charges from 64 clients;
/// RSS with those 10,000 pending.
pub async fn charges(ctx: &Ctx) -> anyhow::Result<Vec<RowResult>> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let rounds = if ctx.quick { 1 } else { 3 };
    let total = if ctx.quick { 2_000 } else { 10_000 };
    let concurrency = 64;
    let mut throughput = Vec::new();
    let mut all_lat = Vec::new();
    let mut per_round = Vec::new();
    let mut idle = Vec::new();
    let mut busy = Vec::new();
    let mut peaks = Vec::new();
    let mut cpu = Vec::new();
    for round in 0..rounds {
        let data = ctx.work.join(format!("server-charges-{round}"));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data)?;
        let srv = ServerChild::start(
            &ctx.server_bin,
            &data,
            &ctx.work.join(format!("server-charges-{round}.log")),
        )
        .await?;
        settle(3).await;
        let (idle_rss, _) = srv.rss().unwrap_or_default();
        let c0 = srv.cpu_seconds();
        let run = create_charges(&srv.base, total, concurrency, 10 + round as u32).await?;
        let server_cpu = srv.cpu_seconds() - c0;
        anyhow::ensure!(
            run.errors == 0,
            "{} of {total} charge requests failed, first: {:?}",
            run.errors,
            run.first_error
        );
        // Let the worker send the 10,000 texts, then read the memory.
        settle(5).await;
        let (busy_rss, peak) = srv.rss().unwrap_or_default();
        srv.stop();
        if !ctx.keep_data {
            let _ = std::fs::remove_dir_all(&data);
        }
        let tp = total as f64 / run.wall.as_secs_f64();
        let s = Summary::of(&run.latencies);
        eprintln!(
            "[charges] round {round}: {:.0}/s, p50 {} p99 {}, server cpu {:.1} s over {:.1} s; rss idle {} / with {total} pending {} (peak {}) (load {})",
            tp,
            ms(s.p50_ms),
            ms(s.p99_ms),
            server_cpu,
            run.wall.as_secs_f64(),
            bytes(idle_rss),
            bytes(busy_rss),
            bytes(peak),
            stats::loadavg()
        );
        throughput.push(tp);
        per_round.push((tp, s, run.wall.as_secs_f64(), server_cpu));
        all_lat.extend(run.latencies);
        idle.push(idle_rss as f64);
        busy.push(busy_rss as f64);
        peaks.push(peak as f64);
        cpu.push(server_cpu / run.wall.as_secs_f64());
    }
    let load_after = stats::loadavg();
    let date = crate::now_utc();
    let seconds = started.elapsed().as_secs_f64();
    let tp = median(&throughput);
    let s = Summary::of(&all_lat);
    let checks = [
        (
            tp >= 2_000.0,
            format!("{}/s (×{:.2} of 2,000/s)", group(tp as u64), tp / 2_000.0),
        ),
        (
            s.p99_ms <= 20.0,
            format!("p99 {} (×{:.1})", ms(s.p99_ms), s.p99_ms / 20.0),
        ),
    ];
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Server: the release `fieldpay-server` binary, `--data <fresh folder> --listen \
         127.0.0.1:PORT` (sandbox mode, demo merchant seeded at start, default logging to a \
         file). Load: this process, {concurrency} tokio tasks sharing one reqwest client \
         (keep-alive, {concurrency} connections), closed loop, {total} `POST /v1/charges` \
         (API key, distinct payer phones: every request creates a charge, binds a virtual \
         number and queues its text), {rounds} rounds, each on a fresh server. Latency = \
         request sent to full answer read. Throughput = requests / wall time of the round. \
         Server CPU = its user+system seconds per wall second (2 cores = 2.0).\n\n\
         | round | throughput | p50 | p90 | p99 | max | wall | server CPU |\n|---|---|---|---|---|---|---|---|"
    );
    for (i, (tp, s, wall, scpu)) in per_round.iter().enumerate() {
        let _ = writeln!(
            d,
            "| {i} | {}/s | {} | {} | {} | {} | {wall:.1} s | {:.2} |",
            group(*tp as u64),
            ms(s.p50_ms),
            ms(s.p90_ms),
            ms(s.p99_ms),
            ms(s.max_ms),
            scpu / wall
        );
    }
    let _ = writeln!(
        d,
        "| all | {}/s (median) | {} | {} | {} | {} | | |",
        group(tp as u64),
        ms(s.p50_ms),
        ms(s.p90_ms),
        ms(s.p99_ms),
        ms(s.max_ms)
    );
    let rows6 = RowResult {
        order: 6,
        what: format!(
            "server: charge creation, {concurrency} concurrent clients (throughput / p99)"
        ),
        target: ">= 2,000 /s / <= 20 ms".into(),
        measured: format!(
            "{}/s / p99 {} (p50 {})",
            group(tp as u64),
            ms(s.p99_ms),
            ms(s.p50_ms)
        ),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before: load_before.clone(),
        load_after: load_after.clone(),
        date: date.clone(),
        seconds,
    };
    let (i, b) = (median(&idle), median(&busy));
    let checks = [
        (
            i <= 40e6,
            format!("idle {} (×{:.2} of 40 MB)", bytes(i as u64), i / 40e6),
        ),
        (
            b <= 120e6,
            format!("{} (×{:.2} of 120 MB)", bytes(b as u64), b / 120e6),
        ),
    ];
    let f = |v: &[f64]| {
        v.iter()
            .map(|x| bytes(*x as u64))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut d = String::new();
    let _ = writeln!(
        d,
        "VmRSS of the server child process from `/proc/PID/status` (VmHWM = peak). Idle: 3 s \
         after it answered its first request (demo data seeded). Pending: 5 s after the \
         {total} charges of the charge-creation round were created (all pending: requested or \
         sms_sent, each holding a virtual-number binding), on the same process.\n\n\
         | | median | each round |\n|---|---|---|\n| idle | {} | {} |\n| with {total} pending charges | {} | {} |\n| peak (VmHWM) | {} | {} |",
        bytes(i as u64),
        f(&idle),
        bytes(b as u64),
        f(&busy),
        bytes(median(&peaks) as u64),
        f(&peaks)
    );
    let row8 = RowResult {
        order: 8,
        what: format!(
            "server RSS idle / with {} pending charges",
            group(total as u64)
        ),
        target: "<= 40 MB / <= 120 MB".into(),
        measured: format!("{} / {}", bytes(i as u64), bytes(b as u64)),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after,
        date,
        seconds,
    };
    Ok(vec![rows6, row8])
}

/// Samples a process's VmRSS every 5 ms until stopped; the highest sample and how many.
struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u64, usize)>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let (mut peak, mut samples) = (0, 0);
            while !flag.load(Ordering::Relaxed) {
                if let Some((rss, _)) = stats::rss(pid) {
                    peak = peak.max(rss);
                    samples += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (peak, samples)
        });
        RssSampler { stop, task }
    }

    async fn finish(self) -> anyhow::Result<(u64, usize)> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await?)
    }
}

/// One first sync pulled from the server while its memory was watched.
struct SyncRss {
    /// VmRSS just before the pull (after the sign-in).
    before: u64,
    /// The highest VmRSS sampled during the pull.
    sampled_peak: u64,
    samples: usize,
    /// VmHWM after the pull, reset to VmRSS just before it (None if the reset was refused).
    hwm: Option<u64>,
    after: u64,
    seconds: f64,
    pages: usize,
    changes: usize,
}

impl SyncRss {
    fn peak(&self) -> u64 {
        self.sampled_peak.max(self.hwm.unwrap_or(0))
    }
}

/// Row 13: the server's resident memory while it serves a first sync. A server on a data
/// folder with the generated data set (200,000 accounts; `--quick` 5,000; or the largest of
/// `--sizes`); a device-style client (the manager's token: the whole merchant; pages of the
/// device's size) pulls the
/// whole change feed page by page while the server's VmRSS is sampled.
pub async fn sync_rss(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let n = ctx.one_size(200_000, 5_000);
    let scale = Scale::for_accounts(n);
    let (srv, data) = server::loaded_server(ctx, "sync-rss", scale).await?;
    settle(3).await;
    let (idle, _) = srv.rss().unwrap_or_default();
    let http = reqwest::Client::new();
    let limit = fieldpay_core::sync::PULL_PAGE;
    let nruns = if ctx.quick { 1 } else { 2 };
    let mut runs = Vec::new();
    for r in 0..nruns {
        // Signed in first: the password hash's memory is not the sync's.
        let token = sync_baselines::login(&srv.base, "manager").await?;
        let reset = stats::reset_peak_rss(srv.pid());
        let (before, _) = srv.rss().unwrap_or_default();
        let sampler = RssSampler::start(srv.pid());
        let (mut pages, mut changes) = (0, 0);
        let t = Instant::now();
        sync_baselines::pull_pages(&http, &srv.base, &token, limit, |p| {
            pages += 1;
            changes += p.changes.len();
            Ok(())
        })
        .await?;
        let seconds = t.elapsed().as_secs_f64();
        let (sampled_peak, samples) = sampler.finish().await?;
        let (after, hwm) = srv.rss().unwrap_or_default();
        anyhow::ensure!(
            changes >= scale.rows(),
            "the pull brought {changes} changes, expected {} at least",
            scale.rows()
        );
        let run = SyncRss {
            before,
            sampled_peak,
            samples,
            hwm: reset.then_some(hwm),
            after,
            seconds,
            pages,
            changes,
        };
        eprintln!(
            "[sync-rss] run {r}: {changes} changes in {pages} pages, {seconds:.1} s; server rss before {} / peak {} (sampled {}, {samples} samples; VmHWM {}) / after {} (load {})",
            bytes(run.before),
            bytes(run.peak()),
            bytes(run.sampled_peak),
            run.hwm.map(bytes).unwrap_or_else(|| "not reset".into()),
            bytes(run.after),
            stats::loadavg()
        );
        runs.push(run);
    }
    srv.stop();
    if !ctx.keep_data {
        let _ = std::fs::remove_dir_all(&data);
    }
    let peak = runs.iter().map(SyncRss::peak).max().unwrap_or(0);
    let mut d = String::new();
    let _ = writeln!(
        d,
        "The release `fieldpay-server` on a data folder holding the generated data set ({} \
         accounts, {} products, {} ledger entries: `fieldpay-bench gen`), started fresh; idle \
         = VmRSS 3 s after it first answered. Each run: the demo manager signs in (argon2: \
         before the measurement), the server's VmHWM is reset to its VmRSS \
         (`/proc/PID/clear_refs` = 5), then a device-style client pulls the whole change \
         feed with the manager's token, `GET /v1/sync?cursor=…&limit={}` (the device's page \
         size) page by page, each page decoded and dropped (nothing stored: this row is the \
         server's side), while the server's VmRSS is sampled every 5 ms. Peak = the higher \
         of the highest sample and VmHWM after the pull. Run 0 is the first sync after the \
         server's start; later runs show what it keeps.\n\n\
         | run | changes | pages | pull | VmRSS before | peak | sampled peak (samples) | VmHWM | VmRSS after |\n|---|---|---|---|---|---|---|---|---|",
        group(scale.accounts as u64),
        group(scale.products as u64),
        group(scale.ledger as u64),
        group(u64::from(limit))
    );
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(
            d,
            "| {i} | {} | {} | {:.1} s | {} | {} | {} ({}) | {} | {} |",
            group(r.changes as u64),
            r.pages,
            r.seconds,
            bytes(r.before),
            bytes(r.peak()),
            bytes(r.sampled_peak),
            r.samples,
            r.hwm.map(bytes).unwrap_or_else(|| "not reset".into()),
            bytes(r.after)
        );
    }
    let _ = writeln!(d, "\nIdle before the first sign-in: {}.", bytes(idle));
    Ok(RowResult {
        order: 13,
        what: format!(
            "server RSS while serving a first sync of {} accounts (peak)",
            group(scale.accounts as u64)
        ),
        target: "reported (issue 17 sets none)".into(),
        measured: format!(
            "peak {} (idle {}, after the sync {})",
            bytes(peak),
            bytes(idle),
            bytes(runs.last().map_or(0, |r| r.after))
        ),
        verdict: Verdict::Reported,
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// POSTs one signed TwiML webhook; returns (status, body).
async fn twiml(
    http: &reqwest::Client,
    base: &str,
    params: Vec<(String, String)>,
) -> anyhow::Result<(u16, String)> {
    let url = format!("{base}{VOICE_PATH}");
    let sig = signature(SANDBOX_TWILIO_AUTH_TOKEN, &url, &params);
    let r = http
        .post(&url)
        .header("X-Twilio-Signature", sig)
        .form(&params)
        .send()
        .await?;
    let st = r.status().as_u16();
    Ok((st, r.text().await?))
}

fn params(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Row 7: 1,000 pending charges, 1,000 calls started over the TwiML webhook and left in
/// progress; then single steps (one request at a time) on every call: "1" (pay), the card
/// number, the expiry.
pub async fn ivr(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let calls = if ctx.quick { 200 } else { 1_000 };
    let data = ctx.work.join("server-ivr");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let srv = ServerChild::start(&ctx.server_bin, &data, &ctx.work.join("server-ivr.log")).await?;
    let made = create_charges(&srv.base, calls, 16, 50).await?;
    anyhow::ensure!(made.errors == 0, "charges failed: {:?}", made.first_error);
    let http = client(16)?;
    // Start every call (16 at a time); each ends at the order read-out, waiting for a key.
    let base = srv.base.clone();
    let t = Instant::now();
    let mut starts = Vec::new();
    let mut sids = Vec::new();
    for chunk in made.created.chunks(16) {
        let mut set = Vec::new();
        for (phone, number) in chunk {
            let sid = format!("CA{}", phone);
            let from = Phone::parse(phone)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .e164();
            let to = Phone::parse(number)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .e164();
            let (http, base) = (http.clone(), base.clone());
            sids.push(sid.clone());
            set.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = twiml(
                    &http,
                    &base,
                    params(&[
                        ("CallSid", sid.as_str()),
                        ("From", from.as_str()),
                        ("To", to.as_str()),
                        ("CallStatus", "ringing"),
                        ("Direction", "inbound"),
                    ]),
                )
                .await;
                (t.elapsed(), r)
            }));
        }
        for h in set {
            let (e, r) = h.await?;
            let (st, body) = r?;
            anyhow::ensure!(
                st == 200 && body.contains("<Gather"),
                "call start answered {st}: {body}"
            );
            starts.push(e);
        }
    }
    let start_wall = t.elapsed();
    eprintln!(
        "[ivr] {calls} calls in progress (started in {:.1} s)",
        start_wall.as_secs_f64()
    );
    // Timed single steps, one request at a time, every call at each step.
    let steps = [
        ("1 (pay) → card number", "1"),
        ("card number → expiry", "9401000000000014#"),
        ("expiry → birth date", "1230"),
    ];
    let mut per_step = Vec::new();
    let mut all = Vec::new();
    for (name, digits) in steps {
        let mut times = Vec::with_capacity(calls);
        for sid in &sids {
            let t = Instant::now();
            let (st, body) = twiml(
                &http,
                &srv.base,
                params(&[
                    ("CallSid", sid.as_str()),
                    ("Digits", digits),
                    ("CallStatus", "in-progress"),
                ]),
            )
            .await?;
            times.push(t.elapsed());
            anyhow::ensure!(
                st == 200 && body.contains("<Gather"),
                "step {name} answered {st}: {body}"
            );
        }
        let s = Summary::of(&times);
        eprintln!(
            "[ivr] step {name}: p50 {} p99 {} (load {})",
            ms(s.p50_ms),
            ms(s.p99_ms),
            stats::loadavg()
        );
        all.extend(times);
        per_step.push((name, s));
    }
    let (rss, _) = srv.rss().unwrap_or_default();
    srv.stop();
    if !ctx.keep_data {
        let _ = std::fs::remove_dir_all(&data);
    }
    let s = Summary::of(&all);
    let st = Summary::of(&starts);
    let checks = [(
        s.p99_ms <= 5.0,
        format!("p99 {} (×{:.1})", ms(s.p99_ms), s.p99_ms / 5.0),
    )];
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Server: the release binary on loopback (fresh data folder, demo merchant). {calls} \
         charges to distinct payer phones, then {calls} calls started with signed TwiML \
         webhooks (`X-Twilio-Signature` computed with \
         `fieldpay_server::telephony::twiml::signature`, the sandbox auth token and the \
         server's public URL; From = the payer in E.164, To = the charge's virtual number) and \
         left in progress at the order read-out. Then each call, one request at a time (so \
         the figure is service latency, not queueing), gets three single steps in turn, every \
         one answered with the next `<Gather>`; all {calls} calls stay in progress throughout \
         (the server holds each live call and persists a checkpoint after every turn). Server \
         RSS at the end: {}.\n\n\
         | step | n | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|",
        bytes(rss)
    );
    for (name, x) in &per_step {
        let _ = writeln!(
            d,
            "| {name} | {} | {} | {} | {} | {} |",
            x.n,
            ms(x.p50_ms),
            ms(x.p90_ms),
            ms(x.p99_ms),
            ms(x.max_ms)
        );
    }
    let _ = writeln!(
        d,
        "| **all steps** | {} | {} | {} | {} | {} |\n| call start (16 concurrent, for reference) | {} | {} | {} | {} | {} |",
        s.n,
        ms(s.p50_ms),
        ms(s.p90_ms),
        ms(s.p99_ms),
        ms(s.max_ms),
        st.n,
        ms(st.p50_ms),
        ms(st.p90_ms),
        ms(st.p99_ms),
        ms(st.max_ms)
    );
    Ok(RowResult {
        order: 7,
        what: format!(
            "server: one IVR step over the TwiML webhook with {} calls in progress (p99)",
            group(calls as u64)
        ),
        target: "<= 5 ms".into(),
        measured: format!("p99 {} (p50 {})", ms(s.p99_ms), ms(s.p50_ms)),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
