//! Rows 4 and 5: the outbox push of 1,000 queued actions, and the purchase-order PDF.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::Utc;
use fieldpay_core::po_pdf::{self, Party, PoLine, PurchaseOrderDoc};
use fieldpay_core::signature::{self, Point, RenderOptions};
use fieldpay_protocol::app::ChargeInput;
use fieldpay_protocol::charge::ChargeKind;

use crate::data_rows::open_device;
use crate::report::{RowResult, Verdict};
use crate::server::ServerChild;
use crate::stats::{self, bytes, ms, Summary};
use crate::Ctx;

/// A valid mobile number for payer `i` of series `series` (distinct per series and index).
pub fn payer(series: u32, i: u32) -> String {
    format!("010{:08}", 20_000_000 + series * 1_000_000 + i)
}

/// `n` `request_charge` actions written offline (the sync loop is not running), then one
/// `sync_now` that pushes them (batches of 100) and pulls the server's answers back.
pub async fn outbox(ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let data = ctx.work.join("server-outbox");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let srv =
        ServerChild::start(&ctx.server_bin, &data, &ctx.work.join("server-outbox.log")).await?;
    let dir = ctx.work.join("device-outbox");
    let engine = open_device(&dir, &srv.base, "rep1").await?;
    engine.sync_now().await?;
    let n: u32 = if ctx.quick { 200 } else { 1_000 };
    let runs: u32 = if ctx.quick { 2 } else { 5 };
    let mut push = Vec::new();
    let mut queue = Vec::new();
    let mut server_cpu = Vec::new();
    let mut device_cpu = Vec::new();
    for r in 0..runs {
        let t = Instant::now();
        for i in 0..n {
            let input = ChargeInput {
                account_id: None,
                order_id: None,
                amount: 33_000 + i64::from(i),
                goods_name: "감기약 외 2건".into(),
                payer_phone: payer(60 + r, i),
                payer_name: None,
                orderer: None,
                installments: false,
                kind: ChargeKind::General,
                expires_in_minutes: None,
            };
            engine.request_charge(&input, Utc::now())?;
        }
        queue.push(t.elapsed());
        anyhow::ensure!(
            engine.status().queued == u64::from(n),
            "{:?}",
            engine.status()
        );
        let (s0, c0) = (srv.cpu_seconds(), stats::cpu_seconds("self").unwrap_or(0.0));
        let t = Instant::now();
        let st = engine.sync_now().await?;
        let e = t.elapsed();
        server_cpu.push(srv.cpu_seconds() - s0);
        device_cpu.push(stats::cpu_seconds("self").unwrap_or(0.0) - c0);
        anyhow::ensure!(
            st.queued == 0 && st.problems == 0 && st.last_error.is_none(),
            "outbox did not drain cleanly: {st:?}"
        );
        eprintln!(
            "[outbox] run {r}: {n} actions queued in {}, pushed in {} (load {})",
            ms(queue.last().expect("run").as_secs_f64() * 1e3),
            ms(e.as_secs_f64() * 1e3),
            stats::loadavg()
        );
        push.push(e);
    }
    // The server has every charge exactly once.
    let on_server: u64 = rusqlite::Connection::open_with_flags(
        data.join("fieldpay.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?
    .query_row("SELECT COUNT(*) FROM charges", [], |r| r.get(0))?;
    anyhow::ensure!(
        on_server == u64::from(n * runs),
        "the server has {on_server} charges, expected {}",
        n * runs
    );
    drop(engine);
    srv.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let s = Summary::of(&push);
    let q = Summary::of(&queue);
    let checks = [
        (
            s.p50_ms <= 1000.0,
            format!("p50 {} (×{:.1})", ms(s.p50_ms), s.p50_ms / 1000.0),
        ),
        (
            s.p99_ms <= 1000.0,
            format!("p99 {} (×{:.1})", ms(s.p99_ms), s.p99_ms / 1000.0),
        ),
    ];
    let each: Vec<String> = push
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
        .collect();
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Server: the release binary on loopback with the demo data. Device: a fresh Engine \
         signed in as rep1 and synced; its sync loop is not started, so actions stay queued \
         (offline). Each run queues {n} `Engine::request_charge` to distinct payer phones \
         (each one local SQLite transaction with its outbox row), then times one \
         `Engine::sync_now`: {} push requests of {} mutations (`POST /v1/mutations`; the server \
         creates each charge, binds a virtual number, queues its text, stores the idempotent \
         answer) and the pull of the resulting changes. Checked: nothing left queued, no \
         problem; the server holds exactly {} charges ({} runs × {n}).\n\n\
         | runs | push+pull p50 | p99 | max | per action (p50) | queueing {n} actions locally (p50) | server CPU (median) | device CPU (median) |\n|---|---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {} | {} | {:.2} s | {:.2} s |\n\nEach run (ms): {}.",
        n.div_ceil(fieldpay_core::sync::PUSH_BATCH),
        fieldpay_core::sync::PUSH_BATCH,
        on_server,
        runs,
        s.n,
        ms(s.p50_ms),
        ms(s.p99_ms),
        ms(s.max_ms),
        ms(s.p50_ms / f64::from(n)),
        ms(q.p50_ms),
        stats::median(&server_cpu),
        stats::median(&device_cpu),
        each.join(", ")
    );
    Ok(RowResult {
        order: 4,
        what: format!(
            "outbox push of {} queued actions",
            stats::group(u64::from(n))
        ),
        target: "<= 1 s".into(),
        measured: format!("p50 {} / p99 {}", ms(s.p50_ms), ms(s.p99_ms)),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A hand-drawn signature: a name-like scribble in three strokes, ~60 points/s pen samples.
pub fn signature_strokes() -> Vec<Vec<Point>> {
    let mut strokes = Vec::new();
    for k in 0..3 {
        let mut s = Vec::new();
        for i in 0..60 {
            let x = 40.0 + i as f32 * 5.0 + k as f32 * 60.0;
            let y = 100.0 + ((i as f32) / 4.0 + k as f32).sin() * (30.0 - k as f32 * 5.0);
            s.push(Point {
                x: x.min(590.0),
                y,
                t: (i * 16) as u64,
                pressure: 0.5,
            });
        }
        strokes.push(s);
    }
    strokes
}

/// A 30-line signed purchase order like `Engine::sign_and_submit` makes.
pub fn po_doc(lines: usize, png: Vec<u8>) -> PurchaseOrderDoc {
    let products = crate::gen::products(lines, 11);
    let lines: Vec<PoLine> = products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let quantity = 1 + (i as i64 * 7) % 24;
            PoLine {
                code: p.code.clone(),
                name: p.name.clone(),
                quantity,
                unit_price: p.unit_price,
                line_total: quantity * p.unit_price,
                reason: None,
            }
        })
        .collect();
    let supply: i64 = lines.iter().map(|l| l.line_total).sum::<i64>() * 10 / 11;
    let total: i64 = lines.iter().map(|l| l.line_total).sum();
    let mut doc = PurchaseOrderDoc {
        title: "발주서".into(),
        kind: Default::default(),
        original_number: None,
        order_number: "PO-20260315-0042".into(),
        date: "2026-03-15".into(),
        merchant: Party {
            name: "필드페이약품".into(),
            business_number: "123-45-67891".into(),
            owner: "김대표".into(),
            phone: "02-555-1234".into(),
            address: "서울특별시 강남구 테헤란로 123, 5층".into(),
        },
        client: Party {
            name: "익수제약 강남점".into(),
            business_number: "220-81-62517".into(),
            owner: "이서연".into(),
            phone: "010-2345-6789".into(),
            address: "서울특별시 서초구 서초대로 77, 2층".into(),
        },
        rep_name: "김영업".into(),
        lines,
        supply,
        vat: total - supply,
        total,
        memo: "오전 배송 요청\n재고 부족 품목은 다음 주 출고".into(),
        signature_png: Some(png),
        signer_name: "이서연".into(),
        signed_at: "2026-03-15 14:03".into(),
        document_hash: String::new(),
    };
    // The signature evidence's content hash as printed (its value does not change the work).
    doc.document_hash = "3f9a".repeat(16);
    doc
}

/// Renders the signature and the 30-line purchase order in-process (what signing does),
/// median of 30 after 3 warm-ups.
pub fn pdf(_ctx: &Ctx) -> anyhow::Result<RowResult> {
    let started = Instant::now();
    let load_before = stats::loadavg();
    let strokes = signature_strokes();
    let opts = RenderOptions {
        width: 600,
        height: 200,
        ..Default::default()
    };
    let mut total = Vec::new();
    let mut pdf_only = Vec::new();
    let mut sig_only = Vec::new();
    let mut on_cpu = Vec::new();
    let mut waited = Vec::new();
    let mut size = 0usize;
    let mut png_size = 0usize;
    for i in 0..33 {
        let sched0 = stats::thread_sched_ns();
        let t0 = Instant::now();
        let png = signature::render_png(&strokes, &opts)?;
        let t1 = Instant::now();
        png_size = png.len();
        let doc = po_doc(30, png);
        let t2 = Instant::now();
        let out = po_pdf::render(&doc)?;
        let t3 = Instant::now();
        let sched1 = stats::thread_sched_ns();
        size = out.len();
        anyhow::ensure!(out.starts_with(b"%PDF"), "not a PDF");
        if i >= 3 {
            sig_only.push(t1 - t0);
            pdf_only.push(t3 - t2);
            total.push((t1 - t0) + (t3 - t2));
            if let (Some((c0, w0)), Some((c1, w1))) = (sched0, sched1) {
                on_cpu.push((c1 - c0) as f64 / 1e6);
                waited.push((w1 - w0) as f64 / 1e6);
            }
        }
    }
    let s = Summary::of(&total);
    let p = Summary::of(&pdf_only);
    let g = Summary::of(&sig_only);
    let cpu = Summary::of_ms(on_cpu);
    let wait = Summary::of_ms(waited);
    let checks = [
        (
            s.p50_ms <= 50.0,
            format!("time p50 {} (×{:.1})", ms(s.p50_ms), s.p50_ms / 50.0),
        ),
        (
            size <= 150_000,
            format!("size {} (×{:.2})", bytes(size as u64), size as f64 / 150e3),
        ),
    ];
    let mut d = String::new();
    let _ = writeln!(
        d,
        "In-process, as `Engine::sign_and_submit` does it: `signature::render_png` (600×200 \
         canvas, 3 strokes, 180 points) then `po_pdf::render` of a 30-line order (NanumGothic \
         subset embedded, signature image, document hash). 33 renders, the first 3 dropped.\n\n\
         | part | p50 | p99 | max |\n|---|---|---|---|\n\
         | signature PNG + PDF | {} | {} | {} |\n| PDF only | {} | {} | {} |\n| signature PNG only | {} | {} | {} |\n\
         | signature PNG + PDF, time on a CPU | {} | {} | {} |\n\
         | signature PNG + PDF, time waiting for a CPU | {} | {} | {} |\n\n\
         The last two lines come from `/proc/thread-self/schedstat`: on this shared machine \
         the render thread spends part of the wall time runnable but not running.\n\n\
         PDF size: {} bytes ({}); signature PNG {} bytes.",
        ms(s.p50_ms),
        ms(s.p99_ms),
        ms(s.max_ms),
        ms(p.p50_ms),
        ms(p.p99_ms),
        ms(p.max_ms),
        ms(g.p50_ms),
        ms(g.p99_ms),
        ms(g.max_ms),
        ms(cpu.p50_ms),
        ms(cpu.p99_ms),
        ms(cpu.max_ms),
        ms(wait.p50_ms),
        ms(wait.p99_ms),
        ms(wait.max_ms),
        stats::group(size as u64),
        bytes(size as u64),
        stats::group(png_size as u64)
    );
    Ok(RowResult {
        order: 5,
        what: "purchase-order PDF, 30 lines + signature: time / size".into(),
        target: "<= 50 ms / <= 150 KB".into(),
        measured: format!(
            "{} (p99 {}; on-CPU p50 {}) / {}",
            ms(s.p50_ms),
            ms(s.p99_ms),
            ms(cpu.p50_ms),
            bytes(size as u64)
        ),
        verdict: Verdict::from_checks(&checks),
        detail: d,
        load_before,
        load_after: stats::loadavg(),
        date: crate::now_utc(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
