//! Visits (방문 기록): check in at a client from its page (with a note; the location when the
//! webview has one), see the visit there and on home's route of the day, check out; with
//! screenshots of both screens at the phone and desktop sizes.

use anyhow::{ensure, Context, Result};

use crate::flows::{self, DemoAccount, Want};
use crate::harness::{tid, Ui, SLOW, STEP};
use crate::screenshots::{self, SIZES};
use crate::server;

/// On the open client page: checks in with `note`; waits for the visit's row and its sync.
/// Returns the visit's id.
pub async fn check_in_here(ui: &Ui, note: &str) -> Result<String> {
    ui.click(&tid("check-in")).await?;
    ui.type_into(&tid("visit-note"), note).await?;
    ui.click(&tid("check-in-confirm")).await?;
    let row = format!("{}[data-open=\"true\"]", tid("visit-row"));
    ui.wait_text(&row, note, SLOW, |t| t.contains(note))
        .await
        .context("the new visit on the client page")?;
    let id = ui
        .attr(&row, "data-id")
        .await?
        .context("the visit row has no id")?;
    flows::wait_synced(ui, SLOW)
        .await
        .context("the check-in was not sent")?;
    Ok(id)
}

/// On the order screen of a signed order: texts the purchase order's PDF link (and, when
/// `receipt`, the receipt link) to `phone`; waits for the history rows and the texts at the
/// sandbox phone.
pub async fn share_from_order(ui: &Ui, base: &str, phone: &str, receipt: bool) -> Result<()> {
    let before = share_texts(base, phone).await?;
    ui.type_into(&tid("share-phone"), phone).await?;
    ui.click(&tid("share-po")).await?;
    ui.wait_for(
        &format!("{}[data-kind=\"purchase_order\"]", tid("share-row")),
        SLOW,
    )
    .await
    .context("the purchase order's text in the history")?;
    let mut want = before + 1;
    if receipt {
        ui.wait_for(&tid("share-receipt"), SLOW).await?;
        ui.click(&tid("share-receipt")).await?;
        ui.wait_for(
            &format!("{}[data-kind=\"receipt\"]", tid("share-row")),
            SLOW,
        )
        .await
        .context("the receipt's text in the history")?;
        want += 1;
    }
    let mut w = crate::harness::Wait::new(format!("{want} share texts to {phone}"), SLOW);
    loop {
        let n = share_texts(base, phone).await?;
        if n >= want {
            ensure!(n == want, "{n} share texts to {phone}, want {want}");
            return Ok(());
        }
        w.note(format!("{n} texts"));
        w.tick().await?;
    }
}

async fn share_texts(base: &str, phone: &str) -> Result<usize> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    Ok(server::texts(base, &digits)
        .await?
        .iter()
        .filter(|t| t["kind"].as_str() == Some("share"))
        .count())
}

/// Home's route of the day lists the visit at `acc` with its note.
pub async fn route_shows(ui: &Ui, visit_id: &str, acc: &DemoAccount, note: &str) -> Result<()> {
    ui.click(&tid("nav-home")).await?;
    ui.wait_screen("home").await?;
    let row = format!("{}[data-id=\"{visit_id}\"]", tid("route-visit"));
    ui.wait_text(&row, &acc.name, STEP, |t| {
        t.contains(&acc.name) && t.contains(note)
    })
    .await
    .context("today's route on home")?;
    Ok(())
}

pub async fn run(ui: &Ui) -> Result<()> {
    let base = flows::start_sandbox(ui).await?;
    let acc = flows::demo_account(1);
    flows::find_and_open_client(ui, &flows::initials(&acc.name), &acc.name).await?;
    let client_route = ui.hash().await?;
    let note = "신제품 안내, 다음 주 화요일 재방문";
    let visit = check_in_here(ui, note).await?;

    let dir = screenshots::dir().join("visits");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let shot = |name: String| dir.join(name);
    for (size, w, h) in SIZES {
        ui.resize(w, h).await?;
        ui.wait(&format!("{}[data-id=\"{visit}\"]", tid("visit-row")))
            .await?;
        let el = ui.wait(&tid("check-in")).await?;
        ui.scroll_into_view(&el).await?;
        ui.screenshot(&shot(format!("{size}-client.png"))).await?;
        screenshots::check_fits(ui, &format!("client page with a visit ({size})")).await?;
    }

    route_shows(ui, &visit, &acc, note).await?;
    for (size, w, h) in SIZES {
        ui.resize(w, h).await?;
        let el = ui.wait(&tid("route-visit")).await?;
        ui.scroll_into_view(&el).await?;
        ui.screenshot(&shot(format!("{size}-home-route.png")))
            .await?;
        screenshots::check_fits(ui, &format!("home's route ({size})")).await?;
    }

    // Check out from the client page: the row closes and the route shows the time span.
    ui.goto_hash(&client_route).await?;
    ui.wait_screen("client").await?;
    ui.click(&format!("{}[data-id=\"{visit}\"]", tid("check-out")))
        .await?;
    ui.wait(&format!(
        "{}[data-id=\"{visit}\"][data-open=\"false\"]",
        tid("visit-row")
    ))
    .await
    .context("the visit did not close")?;
    flows::wait_synced(ui, SLOW).await?;
    ui.click(&tid("nav-home")).await?;
    ui.wait_screen("home").await?;
    let text = ui
        .text(&format!("{}[data-id=\"{visit}\"]", tid("route-visit")))
        .await?;
    ensure!(
        text.contains(" - "),
        "the route does not show the check-out: {text:?}"
    );

    // An order signed for this client, sent by text from the order screen.
    flows::find_and_open_client(ui, &flows::initials(&acc.name), &acc.name).await?;
    ui.click(&tid("new-order")).await?;
    flows::fill_order(
        ui,
        &[Want {
            query: "타이레놀",
            qty: 1,
        }],
    )
    .await?;
    flows::sign_order(ui, None).await?;
    flows::wait_order_status(ui, "registered", SLOW).await?;
    share_from_order(ui, &base, "010-3030-4040", false).await?;
    for (size, w, h) in SIZES {
        ui.resize(w, h).await?;
        let el = ui.wait(&tid("share-po")).await?;
        ui.scroll_into_view(&el).await?;
        ui.screenshot(&shot(format!("{size}-order-share.png")))
            .await?;
        screenshots::check_fits(ui, &format!("order screen with texts ({size})")).await?;
    }
    Ok(())
}
