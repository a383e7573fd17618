//! What a rep does, step by step, through the UI: sign in or start the sandbox, find a client,
//! build an order, sign it, request a charge. Every step waits for what the screen shows.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use fantoccini::Locator;
use fieldpay_protocol::records::OrderTotals;
use fieldpay_server::demo;

use crate::harness::{tid, wd, won, Ui, Wait, SLOW, STEP};
use crate::server::TestServer;

/// A demo client account (from the server's demo data) with a mobile phone, served by rep1.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub code: String,
    pub name: String,
    pub phone: String,
}

/// The `n`-th demo account of rep1 whose phone is a mobile (so the charge form can prefill the
/// payer: the client itself).
pub fn demo_account(n: usize) -> DemoAccount {
    let a = demo::demo_accounts()
        .into_iter()
        .filter(|a| a.rep_login.as_deref() == Some("rep1") && a.phone.starts_with("010"))
        .nth(n)
        .expect("enough demo accounts");
    DemoAccount {
        code: a.code,
        name: a.name,
        phone: a.phone,
    }
}

/// The initial consonants (초성) of the Hangul syllables of `s`: "온누리약국" -> "ㅇㄴㄹㅇㄱ".
pub fn initials(s: &str) -> String {
    const CHO: [char; 19] = [
        'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ',
        'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
    ];
    s.chars()
        .filter_map(|c| {
            let v = c as u32;
            (0xAC00..=0xD7A3)
                .contains(&v)
                .then(|| CHO[((v - 0xAC00) / 588) as usize])
        })
        .collect()
}

/// The sign-in screen of a new install, then "Try sandbox": the embedded server with the demo
/// data, signed in as rep1. Returns the sandbox server's base URL.
pub async fn start_sandbox(ui: &Ui) -> Result<String> {
    ui.wait_screen_for("signin", SLOW).await?;
    ui.click(&tid("sandbox-start")).await?;
    ui.wait_screen_for("home", SLOW)
        .await
        .context("after Try sandbox")?;
    let port_file = ui.data.join("sandbox-port");
    let mut w = Wait::new(format!("{}", port_file.display()), STEP);
    let port: u16 = loop {
        if let Some(p) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break p;
        }
        w.tick().await?;
    };
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Fills in and sends the sign-in form.
pub async fn fill_sign_in(
    ui: &Ui,
    server: &str,
    merchant: &str,
    rep: &str,
    password: &str,
) -> Result<()> {
    ui.wait_screen_for("signin", SLOW).await?;
    ui.type_into(&tid("signin-server"), server).await?;
    ui.type_into(&tid("signin-merchant"), merchant).await?;
    ui.type_into(&tid("signin-rep"), rep).await?;
    ui.type_into(&tid("signin-password"), password).await?;
    ui.click(&tid("signin-submit")).await
}

/// Signs in to `server` as the demo merchant's `rep` and waits for the first sync.
pub async fn sign_in(ui: &Ui, server: &str, rep: &str) -> Result<()> {
    fill_sign_in(ui, server, "demo", rep, "demo1234").await?;
    ui.wait_screen_for("home", SLOW).await?;
    wait_synced(ui, SLOW).await
}

/// Waits for the sync badge to say online with nothing queued.
pub async fn wait_synced(ui: &Ui, t: Duration) -> Result<()> {
    ui.wait_attr(&tid("sync-badge"), "data-online", "true", t)
        .await?;
    ui.wait_attr(&tid("sync-badge"), "data-queued", "0", t)
        .await
}

/// Clients tab: types `query` in the search box, waits for the row of `name` and opens it.
/// Returns the balance the row showed.
pub async fn find_and_open_client(ui: &Ui, query: &str, name: &str) -> Result<i64> {
    ui.click(&tid("nav-clients")).await?;
    ui.wait_screen("clients").await?;
    ui.type_into(&tid("account-search"), query).await?;
    // Results come as you type (and again once the first sync has the accounts).
    let mut w = Wait::new(format!("a search result {name:?} for {query:?}"), SLOW);
    let (row, balance) = loop {
        let mut found = None;
        match ui.all(&tid("account-row")).await {
            Ok(rows) => {
                let mut seen = Vec::new();
                for r in rows {
                    let t = wd("text", r.text()).await.unwrap_or_default();
                    if t.contains(name) {
                        let b = wd("find", r.find(Locator::Css(&tid("account-balance")))).await?;
                        let b = wd("text", b.text()).await?;
                        found = Some((r, won(&b)?));
                        break;
                    }
                    seen.push(t.lines().next().unwrap_or_default().to_string());
                }
                w.note(format!("rows {seen:?}"));
            }
            Err(e) => w.note(e),
        }
        if let Some(f) = found {
            break f;
        }
        w.tick().await?;
    };
    ui.click_el(&row).await?;
    ui.wait_screen("client").await?;
    ui.wait_text(&tid("account-name"), name, STEP, |t| t == name)
        .await?;
    Ok(balance)
}

/// The order editor (search box empty) lists the client's usual items, each `want` among
/// them with how many orders had it.
pub async fn usual_items_offered(ui: &Ui, want: &[&str]) -> Result<()> {
    ui.wait_screen("order-edit").await?;
    let list = ui.wait_for(&tid("usual-items"), SLOW).await?;
    let rows = wd("rows", list.find_all(Locator::Css(&tid("product-row")))).await?;
    let mut names = Vec::new();
    for r in &rows {
        names.push(wd("text", r.text()).await?);
    }
    for w in want {
        let row = names
            .iter()
            .find(|t| t.contains(w))
            .with_context(|| format!("{w} is not among the usual items {names:?}"))?;
        ensure!(row.contains("회 주문"), "no order count in {row:?}");
    }
    Ok(())
}

/// The clients tab with its search box emptied (the tab keeps the last search: wait for it
/// to be in the box before emptying it), showing the client list.
pub async fn empty_client_search(ui: &Ui) -> Result<()> {
    ui.click(&tid("nav-clients")).await?;
    ui.wait_screen("clients").await?;
    let mut w = Wait::new("an empty search box and the client list", SLOW);
    loop {
        ui.type_into(&tid("account-search"), "").await?;
        let value = ui.value(&tid("account-search")).await?;
        if value.is_empty() && !ui.all(&tid("client-list")).await?.is_empty() {
            // Still empty a moment later (not refilled by the page as it loaded).
            tokio::time::sleep(Duration::from_millis(300)).await;
            if ui.value(&tid("account-search")).await?.is_empty() {
                return Ok(());
            }
        }
        w.note(format!("box {value:?}"));
        w.tick().await?;
    }
}

/// The rows of the client list (empty search box): (name, balance) each.
async fn client_rows(ui: &Ui, sort: &str) -> Result<Vec<(String, i64)>> {
    ui.click(&format!("{}[data-sort=\"{sort}\"]", tid("client-sort")))
        .await?;
    ui.wait(&format!("{}[data-sort=\"{sort}\"]", tid("client-list")))
        .await?;
    let mut out = Vec::new();
    for r in ui.all(&tid("client-row")).await? {
        let title = wd("find", r.find(Locator::Css(".row-title"))).await?;
        let b = wd("find", r.find(Locator::Css(&tid("account-balance")))).await?;
        out.push((
            wd("text", title.text()).await?.trim().to_string(),
            won(&wd("text", b.text()).await?)?,
        ));
    }
    ensure!(!out.is_empty(), "the client list sorted by {sort} is empty");
    Ok(out)
}

/// With an empty search box the clients tab lists clients: `today` (dealt with today) at the
/// top marked as today; by balance, largest first; by name, in 가나다 order.
pub async fn client_list_sorts(ui: &Ui, today: &str) -> Result<()> {
    empty_client_search(ui).await?;
    let recent = client_rows(ui, "recent").await?;
    ensure!(
        recent[0].0 == today,
        "the first client is {:?}, not today's {today:?}",
        recent[0].0
    );
    let mark = ui
        .attr(
            &format!("{} {}", tid("client-row"), tid("client-last")),
            "data-today",
        )
        .await?;
    ensure!(
        mark.as_deref() == Some("true"),
        "today's client is not marked today"
    );
    let by_balance = client_rows(ui, "balance").await?;
    ensure!(
        by_balance
            .windows(2)
            .all(|w| w[0].1 >= w[1].1 || w[1].1 <= 0),
        "by balance: {by_balance:?}"
    );
    let by_name = client_rows(ui, "name").await?;
    ensure!(
        by_name.windows(2).all(|w| w[0].0 <= w[1].0),
        "by name: {:?}",
        by_name.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    Ok(())
}

/// The receivables balance on the client page, once it equals `want` (the page reloads on
/// every sync). `why` explains the expectation in the failure message.
pub async fn wait_client_balance(ui: &Ui, want: i64, why: &str, t: Duration) -> Result<()> {
    let css = format!("[data-screen=\"client\"] .stats {}", tid("account-balance"));
    ui.wait_text(&css, &format!("{want} won ({why})"), t, |s| {
        won(s).ok() == Some(want)
    })
    .await
    .map(|_| ())
}

pub async fn client_balance(ui: &Ui) -> Result<i64> {
    let css = format!("[data-screen=\"client\"] .stats {}", tid("account-balance"));
    won(&ui.text(&css).await?)
}

/// One order line to add: a product search text and the quantity to reach with the stepper.
pub struct Want {
    pub query: &'static str,
    pub qty: i64,
}

/// On the order editor: searches and adds each product, steps the quantities up, and checks
/// every line total and the order's supply / VAT / total. Returns the total.
pub async fn fill_order(ui: &Ui, lines: &[Want]) -> Result<i64> {
    ui.wait_screen("order-edit").await?;
    let mut supply = 0i64;
    for want in lines {
        ui.type_into(&tid("product-search"), want.query).await?;
        let mut w = Wait::new(format!("product results for {:?}", want.query), STEP);
        let row = loop {
            match ui.all(&tid("product-row")).await {
                Ok(rows) if !rows.is_empty() => {
                    let t = wd("text", rows[0].text()).await.unwrap_or_default();
                    if t.contains(want.query) {
                        break rows.into_iter().next().unwrap();
                    }
                    w.note(format!("first row {t:?}"));
                }
                Ok(_) => w.note("no rows"),
                Err(e) => w.note(e),
            }
            w.tick().await?;
        };
        let pid = wd("attribute", row.attr("data-id"))
            .await?
            .context("product row id")?;
        let price = wd("find", row.find(Locator::Css(".amount"))).await?;
        let price = won(&wd("text", price.text()).await?)?;
        let add = wd("find", row.find(Locator::Css(&tid("product-add")))).await?;
        ui.click_el(&add).await?;
        let line = format!("{}[data-id=\"{pid}\"]", tid("line-row"));
        let qty_css = format!("{line} {}", tid("qty-input"));
        ui.wait(&qty_css).await?;
        for q in 2..=want.qty {
            ui.click(&format!("{line} {}", tid("qty-plus"))).await?;
            let mut w = Wait::new(format!("quantity {q} on line {pid}"), STEP);
            while ui.value(&qty_css).await? != q.to_string() {
                w.tick().await?;
            }
        }
        let line_total = price * want.qty;
        ui.wait_text(
            &format!("{line} {}", tid("line-total")),
            &format!("{line_total} won"),
            STEP,
            |s| won(s).ok() == Some(line_total),
        )
        .await?;
        supply += line_total;
    }
    let t = OrderTotals::from_supply(supply);
    ensure!(t.total == t.supply + t.vat && t.vat > 0, "totals {t:?}");
    for (id, v) in [
        ("order-supply", t.supply),
        ("order-vat", t.vat),
        ("order-total", t.total),
    ] {
        ui.wait_text(&tid(id), &format!("{v} won"), STEP, |s| {
            won(s).ok() == Some(v)
        })
        .await?;
    }
    // The engine's credit check answered, and it does not block this order.
    ui.wait_attr(&tid("credit-warning"), "data-result", "ok", STEP)
        .await?;
    Ok(t.total)
}

/// Two strokes: a wave and a tick, offsets from the pad's centre.
fn signature_strokes() -> Vec<Vec<(f64, f64)>> {
    let wave: Vec<(f64, f64)> = (0..=24)
        .map(|i| {
            let x = -110.0 + f64::from(i) * 8.0;
            (x, (f64::from(i) * 0.7).sin() * 22.0 - 10.0)
        })
        .collect();
    let tick = vec![
        (40.0, 20.0),
        (55.0, 35.0),
        (70.0, 45.0),
        (95.0, 10.0),
        (120.0, -25.0),
    ];
    vec![wave, tick]
}

/// From the order editor: "to sign", draws a signature with the mouse pointer, checks the
/// signer's name and confirms. Returns the order id (the order screen's route).
pub async fn sign_order(ui: &Ui, screenshot: Option<&Path>) -> Result<String> {
    // The editor's lines and total, to find again on the signature screen.
    let editor_lines = ui.all(&tid("line-total")).await?.len();
    let editor_total = won(&ui.text(&tid("order-total")).await?)?;
    ui.click(&tid("to-sign")).await?;
    ui.wait_screen("sign").await?;
    // What is signed is what is seen: every line with its amount, supply + VAT = total, the
    // supplier named.
    ui.wait(&tid("sign-doc")).await?;
    let rows = ui.all(&tid("sign-line")).await?;
    ensure!(
        rows.len() == editor_lines,
        "the signature screen shows {} lines, the order has {editor_lines}",
        rows.len()
    );
    let mut supply = 0;
    for row in &rows {
        let cells = wd("the line's cells", row.find_all(Locator::Css("td"))).await?;
        ensure!(
            cells.len() == 4,
            "a line shows name, quantity, unit price, amount"
        );
        supply += won(&wd("a line amount", cells[3].text()).await?)?;
    }
    let shown_total = won(&ui.text(&tid("sign-total")).await?)?;
    ensure!(
        shown_total == editor_total && shown_total == supply + supply / 10,
        "signature screen total {shown_total}, editor {editor_total}, lines' supply {supply}"
    );
    ensure!(
        !ui.text(&tid("sign-supplier")).await?.trim().is_empty(),
        "the supplier is named on the signature screen"
    );
    let pad = ui.wait(&tid("sign-canvas")).await?;
    ui.draw(&pad, &signature_strokes()).await?;
    ui.wait_attr(&tid("stroke-count"), "data-count", "2", STEP)
        .await
        .context("the pad did not take the two pointer strokes")?;
    // The client's owner is offered as the signer (loaded with the order).
    let mut w = Wait::new("the signer's name", STEP);
    while ui.value(&tid("signer-name")).await?.trim().is_empty() {
        w.tick().await?;
    }
    if let Some(p) = screenshot {
        ui.screenshot(p).await?;
    }
    ui.click(&tid("sign-confirm")).await?;
    ui.wait_screen("order").await?;
    // The signed order shows the signature as drawn.
    let mut w = Wait::new("the signature image on the signed order", STEP);
    loop {
        let loaded = ui
            .js(
                "const i = document.querySelector('[data-testid=\"order-signature\"]'); \
                 return !!i && i.complete && i.naturalWidth > 0;",
                vec![],
            )
            .await?;
        if loaded == serde_json::Value::Bool(true) {
            break;
        }
        w.tick().await?;
    }
    let hash = ui.hash().await?;
    let id = hash
        .strip_prefix("/orders/")
        .with_context(|| format!("order screen route {hash:?}"))?;
    Ok(id.to_string())
}

/// On the order screen: waits for the status badge.
pub async fn wait_order_status(ui: &Ui, status: &str, t: Duration) -> Result<()> {
    ui.wait_attr(&tid("order-status"), "data-status", status, t)
        .await
}

/// The server stops (the app notices); then, from a client page, a new order with `lines`
/// is signed and shown queued. Returns its id and total.
pub async fn order_while_offline(
    ui: &Ui,
    srv: &mut TestServer,
    lines: &[Want],
) -> Result<(String, i64)> {
    srv.stop().await;
    ui.wait_attr(&tid("sync-badge"), "data-online", "false", SLOW)
        .await
        .context("the app did not notice the server stopped")?;
    ui.click(&tid("new-order")).await?;
    let total = fill_order(ui, lines).await?;
    let order_id = sign_order(ui, None).await?;
    wait_order_status(ui, "queued", STEP).await?;
    Ok((order_id, total))
}

/// The tab `nav` (its test id) opens `screen`, which says it is empty and lists no `row`.
pub async fn expect_empty_tab(ui: &Ui, nav: &str, screen: &str, row: &str) -> Result<()> {
    ui.click(&tid(nav)).await?;
    ui.wait_screen(screen).await?;
    ui.wait(&tid("empty")).await?;
    ensure!(ui.all(&tid(row)).await?.is_empty(), "{screen} lists {row}s");
    Ok(())
}

/// From the order screen: "request payment"; checks the payer (the client's phone) and the
/// amount (the order's total) and sends. Returns the charge id.
pub async fn request_charge_for_order(ui: &Ui, payer: &str, amount: i64) -> Result<String> {
    ui.click(&tid("order-charge")).await?;
    ui.wait_screen("charge-new").await?;
    let mut w = Wait::new("the charge form's payer phone", STEP);
    loop {
        let p = ui.value(&tid("charge-phone")).await?;
        if p == payer {
            break;
        }
        w.note(format!("phone {p:?}"));
        w.tick().await?;
    }
    let a = ui.value(&tid("charge-amount")).await?;
    ensure!(
        won(&a)? == amount,
        "the charge form offers {a:?}, not the order total {amount}"
    );
    ui.click(&tid("charge-send")).await?;
    ui.wait_screen("charge").await?;
    charge_id_of(ui).await
}

pub async fn charge_id_of(ui: &Ui) -> Result<String> {
    let hash = ui.hash().await?;
    match hash.strip_prefix("/charges/") {
        Some(id) => Ok(id.to_string()),
        None => bail!("charge screen route {hash:?}"),
    }
}

/// On the charge screen: waits for the status, live.
pub async fn wait_charge_status(ui: &Ui, status: &str, t: Duration) -> Result<()> {
    ui.wait_attr(&tid("charge-status"), "data-status", status, t)
        .await
}

/// A step of the charge timeline is marked done.
pub async fn wait_step_done(ui: &Ui, status: &str, t: Duration) -> Result<()> {
    let css = format!("{}[data-status=\"{status}\"]", tid("timeline-step"));
    ui.wait_attr(&css, "data-done", "true", t).await
}

/// The virtual number shown on the charge screen, once there is one.
pub async fn virtual_number(ui: &Ui) -> Result<String> {
    ui.wait_text(&tid("virtual-number"), "a virtual number", SLOW, |s| {
        s.chars().filter(|c| c.is_ascii_digit()).count() >= 8
    })
    .await
}

/// On a screen with the PDF panel (a signed order, the daily closing): the preview shows the
/// document inside the app, and "save" writes a real PDF whose file name starts with `prefix`.
pub async fn check_pdf_panel(ui: &Ui, prefix: &str) -> Result<Vec<u8>> {
    ui.click(&tid("pdf-preview")).await?;
    let frame = ui
        .wait_for(&tid("pdf-frame"), SLOW)
        .await
        .context("the PDF preview did not open")?;
    let src = wd("attr", frame.attr("src")).await?.unwrap_or_default();
    ensure!(src.starts_with("blob:"), "preview source {src:?}");
    ui.click(&tid("export-pdf")).await?;
    let shown = ui.wait_for(&tid("pdf-path"), SLOW).await?;
    let path = wd("text", shown.text()).await?;
    let file = Path::new(path.trim());
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    ensure!(
        name.starts_with(prefix) && name.ends_with(".pdf"),
        "saved as {path:?}"
    );
    let bytes = std::fs::read(file).with_context(|| format!("reading {path}"))?;
    ensure!(
        bytes.starts_with(b"%PDF-") && bytes.len() > 1000,
        "{path} is not a PDF ({} bytes)",
        bytes.len()
    );
    // Closing the preview frees the blob.
    ui.click(&tid("pdf-preview")).await?;
    ui.wait_gone(&tid("pdf-frame"), STEP).await?;
    Ok(bytes)
}

/// The text of a PDF by pdftotext (poppler-utils); `None` when it is not installed.
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).ok()?;
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str()?, "-"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// On a client page: records a collection (`method` = cash|transfer|note; a note needs its
/// fields, not filled here) through the form and its confirmation; waits until the server has
/// it (synced), then goes back to the client page. Returns the collection's id.
pub async fn record_collection(ui: &Ui, method: &str, amount: i64, memo: &str) -> Result<String> {
    ui.click(&tid("record-collection")).await?;
    ui.wait_screen("collection-new").await?;
    let choice = format!("{}[data-method=\"{method}\"]", tid("col-method"));
    ui.click(&choice).await?;
    ui.wait_attr(&choice, "aria-pressed", "true", STEP).await?;
    ui.type_into(&tid("col-amount"), &amount.to_string())
        .await?;
    // Shown with thousands separators as typed.
    let shown = ui.value(&tid("col-amount")).await?;
    ensure!(
        shown == fieldpay_protocol::money::group_thousands(amount),
        "the amount field shows {shown:?} for {amount}"
    );
    if !memo.is_empty() {
        ui.type_into(&tid("col-memo"), memo).await?;
    }
    ui.click(&tid("col-next")).await?;
    let summary = ui.wait(&tid("col-summary")).await?;
    let text = wd("text", summary.text()).await?;
    ensure!(
        text.contains(&fieldpay_protocol::money::group_thousands(amount)),
        "the confirmation {text:?} does not show {amount}"
    );
    ui.click(&tid("col-confirm")).await?;
    ui.wait(&tid("col-result")).await?;
    let id = ui
        .attr(&tid("col-result"), "data-id")
        .await?
        .context("the recorded collection's id")?;
    ui.wait_attr(&tid("col-result"), "data-state", "synced", SLOW)
        .await
        .context("the collection never reached the server")?;
    ui.click(&tid("col-back")).await?;
    ui.wait_screen("client").await?;
    Ok(id)
}

/// On the screen of a registered order: makes a return (반품) of `qty` of its first line (the
/// other lines removed) for `reason` (expiry|damage|wrong_item|other), checks that signing
/// without a reason is refused in the form, signs it and waits until the server registered it.
/// Returns (the return's id, its number, its total).
pub async fn return_from_order(ui: &Ui, qty: i64, reason: &str) -> Result<(String, String, i64)> {
    ui.click(&tid("start-return")).await?;
    ui.wait_screen("order-edit").await?;
    ui.wait(&tid("return-badge")).await?;
    ui.wait_text(&tid("return-of"), "the original's number", STEP, |t| {
        t.starts_with("PO-")
    })
    .await
    .context("the return names the original order's number")?;
    // The original's lines, each with what may come back: keep the first.
    let mut w = Wait::new("one line left", STEP);
    loop {
        let removes = ui.all(&tid("line-remove")).await?;
        if removes.len() <= 1 {
            break;
        }
        ui.click_el(removes.last().context("a line")?).await?;
        w.tick().await?;
    }
    let mut now: i64 = ui.value(&tid("qty-input")).await?.trim().parse()?;
    ensure!(now >= qty, "only {now} may come back, {qty} wanted");
    while now > qty {
        ui.click(&tid("qty-minus")).await?;
        let mut w = Wait::new("the quantity to drop", STEP);
        loop {
            let v: i64 = ui.value(&tid("qty-input")).await?.trim().parse()?;
            if v < now {
                now = v;
                break;
            }
            w.tick().await?;
        }
    }
    // No reason yet: the form says so instead of going to the signature.
    ui.click(&tid("to-sign")).await?;
    ui.wait(&format!(
        "{}[data-field=\"return-reasons\"]",
        tid("field-error")
    ))
    .await
    .context("signing a return without reasons was not refused in the form")?;
    ensure!(ui.screen_name().await == "order-edit", "left the editor");
    ui.click(&format!(
        "{} option[value=\"{reason}\"]",
        tid("line-reason")
    ))
    .await?;
    ui.wait_gone(
        &format!("{}[data-field=\"return-reasons\"]", tid("field-error")),
        STEP,
    )
    .await
    .context("the reason was not taken")?;
    // The total once the preview has the new quantity: the line's amount plus VAT.
    let mut w = Wait::new("the return's total", STEP);
    loop {
        let line = won(&ui.text(&tid("line-total")).await?)?;
        let total = won(&ui.text(&tid("order-total")).await?)?;
        if total == line + line / 10 {
            break;
        }
        w.tick().await?;
    }
    let id = sign_order(ui, None).await?;
    ui.wait(&tid("return-badge")).await?;
    wait_order_status(ui, "registered", SLOW)
        .await
        .context("the signed return was not registered")?;
    let number = ui.text(&tid("order-number")).await?.trim().to_string();
    ensure!(number.starts_with("RT-"), "the return's number {number:?}");
    let total = won(&ui.text(&tid("order-total")).await?)?;
    Ok((id, number, total))
}
