//! First sync beside its floor and a naive client (issue 17), in the same run on the same
//! server data:
//!
//! - **floor**: every change the device pulls, already in memory (pulled once, untimed),
//!   written into a fresh device database through the device's own write path in one
//!   transaction (prepared statements, the ledger's index dropped and built at the end, the
//!   log checkpointed): no network, no JSON, no search index. What the device's schema costs
//!   at the least.
//! - **naive**: what a first client would do: pages of 1,000 rows as JSON over HTTP, each row
//!   written in a transaction of its own.

use std::path::Path;
use std::time::{Duration, Instant};

use fieldpay_core::db::Db;
use fieldpay_protocol::sync::{Change, SyncPage};
use serde_json::json;

/// Signs the demo user `login` in over HTTP; its access token.
pub async fn login(base: &str, login: &str) -> anyhow::Result<String> {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(
            &json!({ "merchant": "demo", "rep_id": login, "password": "demo1234",
                       "device_name": "bench-baseline" }),
        )
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "sign-in: {}", r.status());
    let v: serde_json::Value = r.json().await?;
    v["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no access token"))
}

async fn page(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    cursor: i64,
    limit: u32,
) -> anyhow::Result<SyncPage> {
    let r = http
        .get(format!("{base}/v1/sync?cursor={cursor}&limit={limit}"))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "pull: {}", r.status());
    Ok(r.json().await?)
}

/// Pulls the whole change feed from cursor 0, pages of `limit`, each handed to `each` as it
/// arrives; the last cursor.
pub async fn pull_pages(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    limit: u32,
    mut each: impl FnMut(SyncPage) -> anyhow::Result<()>,
) -> anyhow::Result<i64> {
    let mut cursor = 0;
    loop {
        let p = page(http, base, token, cursor, limit).await?;
        cursor = p.cursor;
        let more = p.has_more;
        each(p)?;
        if !more {
            return Ok(cursor);
        }
    }
}

/// Every change the rep's device would pull (pages of `limit`), kept in memory.
pub async fn pull_all(base: &str, token: &str, limit: u32) -> anyhow::Result<(Vec<Change>, i64)> {
    let mut all = Vec::new();
    let cursor = pull_pages(&reqwest::Client::new(), base, token, limit, |p| {
        all.extend(p.changes);
        Ok(())
    })
    .await?;
    Ok((all, cursor))
}

/// The floor: `changes` written into a fresh device database at `dir` in one transaction.
pub fn floor(dir: &Path, changes: Vec<Change>, cursor: i64) -> anyhow::Result<Duration> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let db = Db::open(&dir.join("floor.db"))?;
    let page = SyncPage {
        changes,
        cursor,
        has_more: false,
    };
    let t = Instant::now();
    db.begin_bulk_load()?;
    db.apply_page(&page)?;
    db.end_bulk_load()?;
    let took = t.elapsed();
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
    Ok(took)
}

/// The naive client: pages of 1,000 as JSON over HTTP, each row in its own transaction, into
/// a fresh device database at `dir`.
pub async fn naive(dir: &Path, base: &str, token: &str) -> anyhow::Result<(Duration, u64)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let db = Db::open(&dir.join("naive.db"))?;
    let http = reqwest::Client::new();
    let mut rows = 0u64;
    let t = Instant::now();
    pull_pages(&http, base, token, 1_000, |p| {
        for c in p.changes {
            db.apply_page(&SyncPage {
                changes: vec![c],
                cursor: p.cursor,
                has_more: true,
            })?;
            rows += 1;
        }
        Ok(())
    })
    .await?;
    let took = t.elapsed();
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
    Ok((took, rows))
}
