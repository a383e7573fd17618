//! The whole story on the embedded sandbox: find a client by 초성, order, sign, request an
//! ARS charge, the payer pays by phone, the app shows it approved and the balance drops; a
//! cash collection (현금 수금) lowers it again and shows in the ledger and the closing; a
//! return (반품) of part of the order, signed, lowers it once more.

use anyhow::{ensure, Context, Result};

use crate::flows::{self, Want};
use crate::harness::{tid, Ui, SLOW, STEP};
use crate::server;

pub async fn run(ui: &Ui) -> Result<()> {
    let base = flows::start_sandbox(ui).await?;
    // The sandbox banner says where we are.
    ui.wait(".sandbox-banner").await?;

    // Clients: search by initials and open the client.
    let acc = flows::demo_account(0);
    let query = flows::initials(&acc.name);
    ensure!(query.chars().count() >= 3, "initials of {}", acc.name);
    let row_balance = flows::find_and_open_client(ui, &query, &acc.name).await?;
    let before = flows::client_balance(ui).await?;
    ensure!(
        before == row_balance,
        "the client page says {before}, the search row said {row_balance}"
    );

    // A new order with two products, quantities set with the stepper.
    ui.click(&tid("new-order")).await?;
    let total = flows::fill_order(
        ui,
        &[
            Want {
                query: "타이레놀",
                qty: 3,
            },
            Want {
                query: "게보린",
                qty: 2,
            },
        ],
    )
    .await?;

    // Signature, confirm: submitted, then registered by the server (live).
    let order_id = flows::sign_order(ui, None).await?;
    flows::wait_order_status(ui, "registered", SLOW)
        .await
        .context("the signed order was not registered")?;
    let number = ui.text(&tid("order-number")).await?;
    let number = number.trim();
    // Numbered on the device at signing, from the rep's series (PO-YYYYMMDD-R01-0001).
    let parsed = fieldpay_protocol::numbering::parse_series_number(number);
    ensure!(
        parsed.is_some(),
        "registered order {order_id} shows number {number:?}, not one of the rep's series"
    );
    // The purchase-order PDF made at signing: previewed in the app and saved; it carries the
    // registered number (the one read out on the phone), not a temporary one.
    let pdf = flows::check_pdf_panel(ui, &format!("발주서-{number}"))
        .await
        .context("the purchase-order PDF")?;
    match flows::pdf_text(&pdf) {
        Some(text) => ensure!(
            text.contains(&format!("발주번호: {number}")) && !text.contains("임시"),
            "the signed PDF does not carry the registered number {number}:\n{text}"
        ),
        None => eprintln!("SKIPPED: pdftotext not found — the PDF's number was not read"),
    }

    // The order is on the client's account now.
    ui.click(&tid("back")).await?;
    ui.wait_screen("client").await?;
    flows::wait_client_balance(ui, before + total, "balance + the registered order", SLOW).await?;

    // Back to the order, request the charge: payer = the client's phone.
    ui.click(&format!("{}[data-id=\"{order_id}\"]", tid("order-row")))
        .await?;
    ui.wait_screen("order").await?;
    let charge_id = flows::request_charge_for_order(ui, &acc.phone, total).await?;
    let total_paid = total;
    flows::wait_step_done(ui, "sms_sent", SLOW)
        .await
        .context("the timeline never showed the SMS sent")?;
    let vnum = flows::virtual_number(ui).await?;
    flows::wait_charge_status(ui, "sms_sent", STEP).await?;

    // The payer got the text with that number.
    let texts = server::texts(&base, &acc.phone).await?;
    let digits: String = vnum.chars().filter(|c| c.is_ascii_digit()).collect();
    ensure!(
        texts.iter().any(|t| {
            t["charge_id"].as_str() == Some(charge_id.as_str())
                && t["body"]
                    .as_str()
                    .map(|b| {
                        b.chars()
                            .filter(|c| c.is_ascii_digit())
                            .collect::<String>()
                            .contains(&digits)
                    })
                    .unwrap_or(false)
        }),
        "no text to {} about charge {charge_id} names {vnum}",
        acc.phone
    );

    // The payer calls and pays with an approving test card.
    let steps = server::pay_by_phone(&base, &acc.phone, &vnum).await?;
    flows::wait_charge_status(ui, "approved", SLOW)
        .await
        .with_context(|| format!("after the call ({steps})"))?;
    flows::wait_step_done(ui, "approved", STEP).await?;
    for s in [
        "requested",
        "sms_sent",
        "call_connected",
        "verified",
        "card_entered",
    ] {
        flows::wait_step_done(ui, s, STEP).await?;
    }
    let approval = ui.text(&tid("approval-number")).await?;
    ensure!(!approval.trim().is_empty(), "no approval number shown");

    // The client page: the balance dropped by the amount paid.
    flows::find_and_open_client(ui, &query, &acc.name).await?;
    flows::wait_client_balance(ui, before, "balance + order - payment", SLOW).await?;
    ui.wait(&format!("{}[data-id=\"{charge_id}\"]", tid("payment-row")))
        .await?;

    // A cash collection (현금 수금) in the field: confirmed, the balance drops at once, the
    // server has it once, the client gets a receipt text, the ledger names the method.
    let cash = 30_000;
    let collection_id = flows::record_collection(ui, "cash", cash, "12월분 현금")
        .await
        .context("the cash collection")?;
    flows::wait_client_balance(ui, before - cash, "balance - the cash collection", SLOW).await?;
    ui.wait_for(
        &format!(
            "{}[data-id=\"{collection_id}\"][data-method=\"cash\"][data-state=\"synced\"]",
            tid("collection-row")
        ),
        SLOW,
    )
    .await
    .context("the client page does not list the synced cash collection")?;
    ui.wait_for(
        &format!("{}[data-kind=\"collection\"]", tid("ledger-row")),
        SLOW,
    )
    .await
    .context("the ledger does not show the collection")?;
    // The receipt is texted by the server's outbox after the collection is stored: waited for.
    let mut w = crate::harness::Wait::new("the receipt text", SLOW);
    let texts = loop {
        let texts = server::texts(&base, &acc.phone).await?;
        if texts.iter().any(|t| t["kind"].as_str() == Some("receipt")) {
            break texts;
        }
        w.tick().await?;
    };
    let receipts: Vec<&str> = texts
        .iter()
        .filter(|t| t["kind"].as_str() == Some("receipt"))
        .filter_map(|t| t["body"].as_str())
        .collect();
    ensure!(
        receipts.len() == 1
            && receipts[0].contains("현금")
            && receipts[0].contains(&fieldpay_protocol::money::format_krw(cash)),
        "the client's receipt texts: {receipts:?}"
    );
    // The purchase order and the receipt, sent by text from the order screen.
    ui.click(&format!("{}[data-id=\"{order_id}\"]", tid("order-row")))
        .await?;
    ui.wait_screen("order").await?;
    crate::visits::share_from_order(ui, &base, &acc.phone, true)
        .await
        .context("send by text")?;
    // A return (반품) of one unit of the order's first line, expired: signed on the screen with
    // its own RT- number and 반품서 PDF; registered, its total comes off the balance.
    let (_, rt_number, rt_total) = flows::return_from_order(ui, 1, "expiry")
        .await
        .context("the return")?;
    let pdf = flows::check_pdf_panel(ui, &format!("반품서-{rt_number}"))
        .await
        .context("the return's PDF")?;
    if let Some(text) = flows::pdf_text(&pdf) {
        ensure!(
            text.contains("반품서")
                && text.contains(&format!("반품번호: {rt_number}"))
                && text.contains("(사유: 유통기한)")
                && text.contains(&format!("원 주문번호: {number}")),
            "the return's PDF:\n{text}"
        );
    }
    flows::find_and_open_client(ui, &query, &acc.name).await?;
    flows::wait_client_balance(
        ui,
        before - cash - rt_total,
        "balance - the cash collection - the return",
        SLOW,
    )
    .await?;
    ui.wait_for(
        &format!("{}[data-kind=\"return\"]", tid("ledger-row")),
        SLOW,
    )
    .await
    .context("the ledger does not show the return")?;

    // A visit: check in at the client with a note; it is on home's route of the day.
    let note = "수금 완료, 신제품 샘플 전달";
    let visit = crate::visits::check_in_here(ui, note).await?;
    crate::visits::route_shows(ui, &visit, &acc, note).await?;
    flows::find_and_open_client(ui, &query, &acc.name).await?;

    // A next order for this client offers its usual items before any typing.
    ui.click(&tid("new-order")).await?;
    flows::usual_items_offered(ui, &["타이레놀", "게보린"]).await?;
    ui.click(&tid("back")).await?;
    ui.wait_screen("client").await?;

    // Daily closing: today's approval by card company and by status, and its PDF.
    ui.goto_hash("/closing").await?;
    ui.wait_screen("closing").await?;
    ui.wait_for(
        &format!("{}[data-status=\"approved\"]", tid("closing-status-row")),
        SLOW,
    )
    .await
    .context("the closing does not list the approved request")?;
    let total = ui.text(&tid("closing-total")).await?;
    ensure!(
        total.contains(&fieldpay_protocol::money::group_thousands(total_paid)),
        "the closing total row {total:?} does not show {total_paid}"
    );
    // ... and the cash collection by method.
    let row = ui
        .wait_for(
            &format!("{}[data-method=\"cash\"]", tid("closing-collection-row")),
            SLOW,
        )
        .await
        .context("the closing does not list the cash collection")?;
    let row = crate::harness::wd("text", row.text()).await?;
    ensure!(
        row.contains(&fieldpay_protocol::money::group_thousands(cash)),
        "the closing's cash row {row:?} does not show {cash}"
    );
    flows::check_pdf_panel(ui, "일일마감-")
        .await
        .context("the daily-closing PDF")?;

    // The client list with an empty search box: today's client first, then the switch.
    flows::client_list_sorts(ui, &acc.name).await?;

    // Refunds are a manager's (the server refuses a rep's; the manager's partial refund is in
    // manager.rs): the rep's payment screen says so instead of offering a form.
    ui.goto_hash(&format!("/charges/{charge_id}")).await?;
    ui.wait_screen("charge").await?;
    let note = ui.text(&tid("refund-by-manager")).await?;
    ensure!(note.contains("관리자"), "the rep's refund note: {note:?}");
    ensure!(
        ui.all(&tid("charge-refund")).await?.is_empty(),
        "a rep is offered a refund button the server would refuse"
    );
    Ok(())
}
