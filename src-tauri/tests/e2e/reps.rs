//! Two reps on one device (security finding 8): rep1 signs an order while the server is away
//! and signs out; rep2 signs in on the same app and sees none of rep1's orders, and nothing of
//! rep1's reaches the server; rep1 signs in again and the order goes out once, as rep1's. Each
//! device keeps its rep's clients only: rep2's are found by asking the server.

use anyhow::{ensure, Context, Result};

use crate::flows::{self, Want};
use crate::harness::{free_port, tid, Ui, SLOW};
use crate::screenshots;
use crate::server::TestServer;

/// Settings → sign out; back on the sign-in screen.
async fn sign_out(ui: &Ui) -> Result<()> {
    ui.goto_hash("/settings").await?;
    ui.wait_screen("settings").await?;
    ui.click(&tid("sign-out")).await?;
    ui.wait_screen_for("signin", SLOW).await
}

pub async fn run(ui: &Ui) -> Result<()> {
    let data = ui.data.parent().context("work dir")?.join("server");
    let mut srv = TestServer::start(&data, free_port()?).await?;

    flows::sign_in(ui, &srv.url(), "rep1").await?;
    let acc = flows::demo_account(3);
    let account_id = srv.account_id(&acc.code)?;
    flows::find_and_open_client(ui, &acc.name, &acc.name).await?;

    // rep1 signs an order while the server is away: queued on the device.
    let want = Want {
        query: "판콜에이",
        qty: 2,
    };
    let (order_id, _) = flows::order_while_offline(ui, &mut srv, &[want]).await?;

    // Signing out says the unsent work stays with rep1.
    ui.goto_hash("/settings").await?;
    ui.wait_screen("settings").await?;
    ui.wait(&tid("sign-out-note")).await?;
    ui.screenshot(
        &screenshots::dir()
            .join("states")
            .join("settings-queued.png"),
    )
    .await?;
    sign_out(ui).await?;
    srv.start_again().await?;

    // rep2 on the same device: none of rep1's orders, nothing of rep1's sent.
    flows::sign_in(ui, &srv.url(), "rep2").await?;
    flows::expect_empty_tab(ui, "nav-orders", "orders", "order-row")
        .await
        .with_context(|| format!("rep2 sees rep1's order {order_id}"))?;
    let r = srv.records_of(&account_id)?;
    ensure!(
        r.orders.is_empty(),
        "rep2's sign-in sent rep1's queue: {:?}",
        r.orders
            .iter()
            .map(|o| (&o.id, &o.rep_id))
            .collect::<Vec<_>>()
    );
    sign_out(ui).await?;

    // rep1 again: the order is there and goes out once, as rep1's.
    flows::sign_in(ui, &srv.url(), "rep1").await?;
    ui.goto_hash(&format!("/orders/{order_id}")).await?;
    ui.wait_screen("order").await?;
    flows::wait_order_status(ui, "registered", SLOW).await?;
    let r = srv.records_of(&account_id)?;
    let rep1 = srv.rep_id("rep1")?;
    ensure!(
        r.orders.len() == 1
            && r.orders[0].id == order_id
            && r.orders[0].rep_id.as_deref() == Some(rep1.as_str()),
        "server orders {:?} (want exactly {order_id} by {rep1})",
        r.orders
            .iter()
            .map(|o| (&o.id, &o.rep_id))
            .collect::<Vec<_>>()
    );

    // rep1's device keeps rep1's clients only: one of rep2's is not found on the device,
    // and "find on the server" shows it as another rep's, with its balance.
    let all = fieldpay_server::demo::demo_accounts();
    let theirs = all
        .iter()
        .find(|a| {
            a.rep_login.as_deref() == Some("rep2")
                && all.iter().filter(|b| b.name == a.name).count() == 1
        })
        .context("a client of rep2 with a name of its own")?;
    ui.click(&tid("nav-clients")).await?;
    ui.wait_screen("clients").await?;
    ui.type_into(&tid("account-search"), &theirs.name).await?;
    ui.click(&tid("server-search-button")).await?;
    let row = ui
        .wait_text(&tid("server-row"), &theirs.name, SLOW, |t| {
            t.contains(&theirs.name)
        })
        .await?;
    ensure!(row.contains("다른 담당"), "server row {row:?}");
    ensure!(
        ui.all(&tid("account-row")).await?.is_empty(),
        "rep2's client {} is on rep1's device",
        theirs.name
    );
    ui.screenshot(
        &screenshots::dir()
            .join("states")
            .join("clients-server-search.png"),
    )
    .await?;
    srv.stop().await;
    Ok(())
}
