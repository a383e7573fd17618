//! Offline: signed in to a real server, the server stops; an order (signed) and a charge
//! request are made in the app and shown as queued; the server comes back on the same port
//! and data; both are registered, each exactly once on the server.

use anyhow::{ensure, Context, Result};

use crate::flows::{self, Want};
use crate::harness::{free_port, tid, Ui, Wait, SLOW, STEP};
use crate::server::TestServer;

pub async fn run(ui: &Ui) -> Result<()> {
    let data = ui.data.parent().context("work dir")?.join("server");
    let mut srv = TestServer::start(&data, free_port()?).await?;

    flows::sign_in(ui, &srv.url(), "rep1").await?;

    let acc = flows::demo_account(1);
    let account_id = srv.account_id(&acc.code)?;
    let before = flows::find_and_open_client(ui, &acc.name, &acc.name).await?;

    // The server goes away; an order, signed, while offline: queued.
    let want = Want {
        query: "판콜에이",
        qty: 4,
    };
    let (order_id, total) = flows::order_while_offline(ui, &mut srv, &[want]).await?;
    ui.wait(".offline-banner").await?;
    ui.wait(".hint-box.warn").await?;

    // A charge for it, offline: queued too, no virtual number yet.
    let charge_id = flows::request_charge_for_order(ui, &acc.phone, total).await?;
    flows::wait_charge_status(ui, "queued", STEP).await?;
    ui.wait_attr(&tid("virtual-number"), "data-empty", "true", STEP)
        .await?;
    let mut w = Wait::new("the sync badge to count the queued actions", STEP);
    loop {
        let q: u32 = ui
            .attr(&tid("sync-badge"), "data-queued")
            .await?
            .unwrap_or_default()
            .parse()
            .unwrap_or(0);
        if q >= 2 {
            break;
        }
        w.note(format!("queued {q}"));
        w.tick().await?;
    }
    ensure!(
        ui.attr(&tid("sync-badge"), "data-online").await?.as_deref() == Some("false"),
        "the badge says online while the server is down"
    );

    // Nothing reached the server (it is down; its store says so once it is back).
    srv.start_again().await?;
    let early = srv.records_of(&account_id)?;
    // The app may already have pushed in the moment since the restart; only count what is
    // not ours.
    ensure!(
        early.orders.iter().all(|o| o.id == order_id)
            && early.charges.iter().all(|c| c.id == charge_id),
        "the server has records the app did not make: {early:?}"
    );

    // Back online: tap the badge (sync now) until the app is through.
    let mut w = Wait::new("the queue to be pushed after the server came back", SLOW);
    loop {
        let online = ui.attr(&tid("sync-badge"), "data-online").await?;
        let queued = ui.attr(&tid("sync-badge"), "data-queued").await?;
        if online.as_deref() == Some("true") && queued.as_deref() == Some("0") {
            break;
        }
        w.note(format!("online {online:?}, queued {queued:?}"));
        let _ = ui.click(&tid("sync-badge")).await;
        for _ in 0..20 {
            w.tick().await?;
        }
    }
    // The charge screen follows live: the text went out with a virtual number.
    flows::wait_step_done(ui, "sms_sent", SLOW).await?;
    flows::virtual_number(ui).await?;

    // The order is registered.
    ui.click(&tid("back")).await?;
    ui.wait_screen("order").await?;
    flows::wait_order_status(ui, "registered", SLOW).await?;

    // On the server: each exactly once, with the app's ids, and booked once.
    let r = srv.records_of(&account_id)?;
    ensure!(
        r.orders.len() == 1 && r.orders[0].id == order_id,
        "server orders for {}: {:?} (want exactly {order_id})",
        acc.name,
        r.orders
            .iter()
            .map(|o| (&o.id, o.status))
            .collect::<Vec<_>>()
    );
    ensure!(
        r.orders[0].totals.total == total && r.orders[0].signature.is_some(),
        "server order {:?}",
        r.orders[0]
    );
    ensure!(
        r.charges.len() == 1 && r.charges[0].id == charge_id && r.charges[0].amount == total,
        "server charges for {}: {:?} (want exactly {charge_id})",
        acc.name,
        r.charges
            .iter()
            .map(|c| (&c.id, c.amount, c.status))
            .collect::<Vec<_>>()
    );
    ensure!(
        r.order_ledger_refs == vec![order_id.clone()],
        "ledger entries for orders: {:?}",
        r.order_ledger_refs
    );

    // And the client page: the order is on the balance.
    flows::find_and_open_client(ui, &acc.name, &acc.name).await?;
    flows::wait_client_balance(ui, before + total, "balance + the order", SLOW).await?;
    srv.stop().await;
    Ok(())
}
