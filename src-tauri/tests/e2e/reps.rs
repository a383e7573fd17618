//! Two reps on one device (security finding 8): rep1 signs an order while the server is away
//! and signs out; rep2 signs in on the same app and sees none of rep1's orders, and nothing of
//! rep1's reaches the server; rep1 signs in again and the order goes out once, as rep1's.

use anyhow::{ensure, Context, Result};

use crate::flows::{self, Want};
use crate::harness::{free_port, tid, Ui, SLOW, STEP};
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

    flows::fill_sign_in(ui, &srv.url(), "demo", "rep1", "demo1234").await?;
    ui.wait_screen_for("home", SLOW).await?;
    flows::wait_synced(ui, SLOW).await?;
    let acc = flows::demo_account(3);
    let account_id = srv.account_id(&acc.code)?;
    flows::find_and_open_client(ui, &acc.name, &acc.name).await?;

    // rep1 signs an order while the server is away: queued on the device.
    srv.stop().await;
    ui.wait_attr(&tid("sync-badge"), "data-online", "false", SLOW)
        .await
        .context("the app did not notice the server stopped")?;
    ui.click(&tid("new-order")).await?;
    flows::fill_order(
        ui,
        &[Want {
            query: "판콜에이",
            qty: 2,
        }],
    )
    .await?;
    let order_id = flows::sign_order(ui, None).await?;
    flows::wait_order_status(ui, "queued", STEP).await?;

    // Signing out says the unsent work stays with rep1.
    ui.goto_hash("/settings").await?;
    ui.wait_screen("settings").await?;
    ui.wait(&tid("sign-out-note")).await?;
    sign_out(ui).await?;
    srv.start_again().await?;

    // rep2 on the same device: none of rep1's orders, nothing of rep1's sent.
    flows::fill_sign_in(ui, &srv.url(), "demo", "rep2", "demo1234").await?;
    ui.wait_screen_for("home", SLOW).await?;
    flows::wait_synced(ui, SLOW).await?;
    ui.click(&tid("nav-orders")).await?;
    ui.wait_screen("orders").await?;
    ui.wait(&tid("empty")).await?;
    ensure!(
        ui.all(&tid("order-row")).await?.is_empty(),
        "rep2 sees orders: rep1's order {order_id} leaked"
    );
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
    flows::fill_sign_in(ui, &srv.url(), "demo", "rep1", "demo1234").await?;
    ui.wait_screen_for("home", SLOW).await?;
    flows::wait_synced(ui, SLOW).await?;
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
    srv.stop().await;
    Ok(())
}
