//! Bad input: a plain-http server address off loopback, a wrong password, a charge with an invalid phone and a zero amount, an order
//! without lines. Each says what is wrong, where; nothing is queued or sent.

use anyhow::{ensure, Context, Result};
use fantoccini::Locator;

use crate::flows;
use crate::harness::{free_port, tid, wd, Ui, SLOW, STEP};
use crate::server::TestServer;

/// The text of the field error under the field `field` (its test id).
async fn field_error(ui: &Ui, field: &str) -> Result<String> {
    let t = ui
        .text(&format!("#{field}-error[data-testid=\"field-error\"]"))
        .await
        .with_context(|| format!("no error shown for {field}"))?;
    ensure!(
        t.trim().chars().count() >= 4,
        "the error for {field} says {t:?}"
    );
    Ok(t)
}

pub async fn run(ui: &Ui) -> Result<()> {
    let data = ui.data.parent().context("work dir")?.join("server");
    let mut srv = TestServer::start(&data, free_port()?).await?;

    // A plain-http address off this device: refused before anything is sent (finding 13).
    flows::fill_sign_in(ui, "http://192.0.2.1:8640", "demo", "rep1", "demo1234").await?;
    let err = ui.wait(&tid("form-error")).await?;
    let code = wd("attribute", err.attr("data-code"))
        .await?
        .unwrap_or_default();
    let msg = wd("text", err.text()).await?;
    ensure!(
        code == "invalid_field" && msg.contains("https://"),
        "a plain-http address gave {code:?}: {msg:?}"
    );
    ensure!(
        ui.screen_name().await == "signin",
        "left the sign-in screen"
    );

    // A wrong password: a readable refusal on the form, still signed out.
    flows::fill_sign_in(ui, &srv.url(), "demo", "rep1", "wrong-password").await?;
    let err = ui.wait(&tid("form-error")).await?;
    let code = wd("attribute", err.attr("data-code"))
        .await?
        .unwrap_or_default();
    // The refusal: a title and the shell's message in words (not a code or a JSON dump).
    let msg = wd("find", err.find(Locator::Css("span"))).await?;
    let msg = wd("text", msg.text()).await?;
    ensure!(
        code == "unauthorized",
        "wrong password gave code {code:?}: {msg:?}"
    );
    ensure!(
        msg.chars().filter(|c| c.is_alphabetic()).count() >= 10
            && msg.contains("password")
            && !msg.contains('{'),
        "the refusal is not readable: {msg:?}"
    );
    ensure!(
        ui.screen_name().await == "signin",
        "left the sign-in screen"
    );

    // Required fields are named when empty.
    ui.type_into(&tid("signin-password"), "").await?;
    ui.click(&tid("signin-submit")).await?;
    field_error(ui, "signin-password").await?;

    // The right password: in.
    ui.type_into(&tid("signin-password"), "demo1234").await?;
    ui.click(&tid("signin-submit")).await?;
    ui.wait_screen_for("home", SLOW).await?;
    flows::wait_synced(ui, SLOW).await?;

    // A charge with a bad phone and a zero amount.
    let acc = flows::demo_account(2);
    flows::find_and_open_client(ui, &acc.name, &acc.name).await?;
    ui.click(&tid("collect")).await?;
    ui.wait_screen("charge-new").await?;
    ui.type_into(&tid("charge-phone"), "010-12").await?;
    ui.type_into(&tid("charge-amount"), "0").await?;
    ui.click(&tid("charge-send")).await?;
    let phone_err = field_error(ui, "charge-phone").await?;
    let amount_err = field_error(ui, "charge-amount").await?;
    ensure!(
        ui.attr(&tid("charge-phone"), "aria-invalid")
            .await?
            .as_deref()
            == Some("true")
            && ui
                .attr(&tid("charge-amount"), "aria-invalid")
                .await?
                .as_deref()
                == Some("true"),
        "the bad fields are not marked invalid ({phone_err:?}, {amount_err:?})"
    );
    // Still on the form: nothing was sent or queued.
    ensure!(
        ui.screen_name().await == "charge-new",
        "left the charge form"
    );
    ensure!(
        ui.all(&tid("form-error")).await?.is_empty(),
        "the shell was called"
    );
    ui.wait_attr(&tid("sync-badge"), "data-queued", "0", STEP)
        .await?;
    flows::expect_empty_tab(ui, "nav-payments", "payments", "payment-row")
        .await
        .context("a charge was made")?;

    // An empty order cannot go to the signature.
    ui.click(&tid("nav-orders")).await?;
    ui.wait_screen("orders").await?;
    ui.click(&format!("[data-screen=\"orders\"] {}", tid("new-order")))
        .await?;
    ui.wait_screen("order-edit").await?;
    ui.type_into(&tid("account-search"), &acc.name).await?;
    ui.click(&tid("account-row")).await?;
    ui.wait(&tid("product-search")).await?;
    ui.click(&tid("to-sign")).await?;
    field_error(ui, "order-lines").await?;
    ensure!(ui.screen_name().await == "order-edit", "left the editor");
    ui.click(&tid("save-draft")).await?;
    field_error(ui, "order-lines").await?;
    ensure!(
        !ui.hash().await?.contains("/edit"),
        "an empty draft was saved"
    );
    flows::expect_empty_tab(ui, "nav-orders", "orders", "order-row")
        .await
        .context("an order was made")?;
    ui.wait_attr(&tid("sync-badge"), "data-queued", "0", STEP)
        .await?;
    srv.stop().await;
    Ok(())
}
