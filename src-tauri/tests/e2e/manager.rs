//! The manager in the app (issue 14): the demo merchant's manager signs in, opens every
//! manager screen (pictures at a phone and a desktop size), adds a rep (its one-time password
//! shown once), creates an API key (shown once), refunds part of a payment with a reason,
//! saves the settlement as CSV and changes a setting the operator allows. The new rep then
//! signs in with the one-time password, must set a new one first, and — a plain rep — sees
//! no manager entry (and the manager screens refuse it). Without the server the screens say
//! they need a connection.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use fieldpay_protocol::admin::{ManagerSetting, SettingsPatch};
use fieldpay_protocol::charge::{Charge, ChargeStatus};
use fieldpay_server::admin::{self, Actor};
use fieldpay_server::demo;
use serde_json::json;

use crate::flows;
use crate::harness::{free_port, tid, Ui, Wait, SLOW, STEP};
use crate::screenshots::{self, check_fits, SIZES};
use crate::server::{pay_by_phone, TestServer};

/// A charge made with the demo API key and paid by phone in the sandbox: (id, amount).
async fn paid_charge(base: &str, payer: &str, amount: i64) -> Result<Charge> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let get = |id: String| {
        let http = http.clone();
        let url = format!("{base}/v1/charges/{id}");
        async move {
            let c: Charge = http
                .get(url)
                .bearer_auth(demo::DEMO_API_KEY)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(c)
        }
    };
    let r = http
        .post(format!("{base}/v1/charges"))
        .bearer_auth(demo::DEMO_API_KEY)
        .json(
            &json!({ "amount": amount, "goods_name": "관리자 테스트 상품", "payer_phone": payer }),
        )
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("creating a charge: {} {}", r.status(), r.text().await?);
    }
    let c: Charge = r.json().await?;
    let mut w = Wait::new("the charge's virtual number", SLOW);
    let vnum = loop {
        let c = get(c.id.clone()).await?;
        if let Some(v) = c
            .virtual_number
            .filter(|_| c.status == ChargeStatus::SmsSent)
        {
            break v;
        }
        w.note(c.status);
        w.tick().await?;
    };
    pay_by_phone(base, payer, &vnum).await?;
    let mut w = Wait::new("the charge to be approved", SLOW);
    loop {
        let c = get(c.id.clone()).await?;
        if c.status == ChargeStatus::Approved {
            return Ok(c);
        }
        w.note(c.status);
        w.tick().await?;
    }
}

/// A picture of the current screen at `size` (after loading ends), and the fit check.
async fn shot(ui: &Ui, size: &str, name: &str, misfits: &mut Vec<String>) -> Result<()> {
    ui.wait_gone(&format!("main {}", tid("loading")), STEP)
        .await?;
    ui.js("window.scrollTo(0, 0);", vec![]).await?;
    let p = screenshots::dir()
        .join("manager")
        .join(size)
        .join(format!("{name}.png"));
    std::fs::create_dir_all(p.parent().context("dir")?)?;
    ui.screenshot(&p).await?;
    if let Err(e) = check_fits(ui, &format!("manager/{size}/{name}")).await {
        misfits.push(format!("{e:#}"));
    }
    Ok(())
}

/// Scrolls `css` to the middle of the screen (clear of the phone's tab bar), then clicks it.
async fn tap(ui: &Ui, css: &str) -> Result<()> {
    let el = ui.wait(css).await?;
    ui.scroll_into_view(&el).await?;
    ui.click(css).await
}

/// Opens a manager screen by its address and waits for what shows it loaded.
async fn open(ui: &Ui, hash: &str, screen: &str, ready: &str) -> Result<()> {
    ui.goto_hash("/home").await?;
    ui.wait_screen("home").await?;
    ui.goto_hash(hash).await?;
    ui.wait_screen(screen)
        .await
        .with_context(|| format!("opening {hash}"))?;
    ui.wait(ready)
        .await
        .with_context(|| format!("{hash}: {ready}"))?;
    Ok(())
}

pub async fn run(ui: &Ui) -> Result<()> {
    let data = ui.data.parent().context("work dir")?.join("server");
    let mut srv = TestServer::start(&data, free_port()?).await?;
    let base = srv.url();
    // The operator lets the demo merchant's managers change the credit policy.
    let store = srv.store()?;
    let merchant = store
        .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
        .context("demo merchant")?;
    admin::update_merchant_settings(
        store.as_ref(),
        &Actor::Cli,
        &merchant.id,
        &SettingsPatch {
            manager_may_change: Some(vec![ManagerSetting::CreditPolicy]),
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("allowing a setting: {e}"))?;
    let payer = flows::demo_account(0).phone;
    let paid = paid_charge(&base, &payer, 12_000).await?;

    // The manager signs in; More has the manager entry (phone size).
    flows::sign_in(ui, &base, "manager").await?;
    let (_, pw, ph) = SIZES[0];
    ui.resize(pw, ph).await?;
    ui.click(&tid("nav-more")).await?;
    ui.wait_screen("more").await?;
    ui.click(&tid("nav-manager")).await?;
    ui.wait_screen("manager").await?;
    ui.click(&tid("mgr-team")).await?;
    ui.wait_screen("team").await?;
    ui.wait(&format!("{}[data-login=\"rep1\"]", tid("team-row")))
        .await?;

    // Add a rep: the one-time password is shown once.
    ui.type_into(&tid("rep-login"), "rep9").await?;
    ui.type_into(&tid("rep-name"), "최신입").await?;
    tap(ui, &tid("rep-add")).await?;
    let otp_el = format!("{}[data-for=\"rep9\"]", tid("one-time-password"));
    let otp = ui
        .wait_text(&otp_el, "a one-time password", STEP, |s| {
            s.trim().len() >= 8
        })
        .await?
        .trim()
        .to_string();
    ui.wait(&format!(
        "{}[data-login=\"rep9\"][data-active=\"true\"]",
        tid("team-row")
    ))
    .await?;
    let mut misfits = Vec::new();
    shot(ui, "phone", "team-new-rep", &mut misfits).await?;
    tap(ui, &tid("secret-dismiss")).await?;
    ui.wait_gone(&tid("one-time-password"), STEP).await?;

    // An API key: shown once, then listed by its prefix only.
    open(ui, "/manager/integration", "integration", &tid("key-name")).await?;
    ui.type_into(&tid("key-name"), "ERP 연동").await?;
    tap(ui, &tid("key-create")).await?;
    let key = ui
        .wait_text(&tid("api-key-secret"), "the new key", STEP, |s| {
            s.trim().starts_with("fpk_")
        })
        .await?;
    ui.wait(&format!("{}[data-revoked=\"false\"]", tid("key-row")))
        .await?;
    let listed = ui.text(&tid("key-row")).await?;
    ensure!(
        !listed.contains(key.trim()),
        "the key list shows the whole key"
    );
    shot(ui, "phone", "integration-new-key", &mut misfits).await?;
    tap(ui, &tid("secret-dismiss")).await?;

    // The payment-link key for the CRM: asked twice, shown once, then only its date.
    ui.wait(&format!("{}[data-empty=\"true\"]", tid("link-key")))
        .await?;
    tap(ui, &tid("link-key-rotate")).await?;
    tap(ui, &tid("confirm-action")).await?;
    let link_key = ui
        .wait_text(&tid("link-key-secret"), "the new link key", STEP, |s| {
            s.contains("fpl_")
        })
        .await?;
    ui.wait(&format!("{}:not([data-empty])", tid("link-key")))
        .await?;
    ensure!(
        !ui.text(&tid("link-key")).await?.contains("fpl_"),
        "the link key stays on the page after it was shown"
    );
    ensure!(link_key.contains("fpl_"), "{link_key}");
    tap(ui, &tid("secret-dismiss")).await?;

    // All payments: refund part of the paid charge, with a reason.
    open(
        ui,
        "/manager/payments",
        "all-payments",
        &format!("{}[data-id=\"{}\"]", tid("mpay-row"), paid.id),
    )
    .await?;
    let row = ui
        .wait(&format!(
            "{}[data-id=\"{}\"] button.row",
            tid("mpay-row"),
            paid.id
        ))
        .await?;
    ui.click_el(&row).await?;
    ui.wait(&tid("mpay-detail")).await?;
    // Without a reason: refused here, nothing sent.
    ui.type_into(&tid("refund-amount"), "3000").await?;
    tap(ui, &tid("mpay-refund")).await?;
    ui.wait(&tid("form-error")).await?;
    ui.type_into(&tid("refund-reason"), "일부 반품").await?;
    tap(ui, &tid("mpay-refund")).await?;
    ui.wait_text(&tid("refunded-amount"), "3,000원 refunded", STEP, |s| {
        s.contains("3,000")
    })
    .await?;
    let after = srv
        .store()?
        .charge(&merchant.id, &paid.id.clone().into())?
        .context("the charge")?;
    let p = after.charge.payment.context("payment")?;
    ensure!(
        p.refunded_amount == 3000 && after.charge.status == ChargeStatus::Approved,
        "server: refunded {} status {}",
        p.refunded_amount,
        after.charge.status
    );
    shot(ui, "phone", "payments-refunded", &mut misfits).await?;

    // Settlement: the day and the month; the CSV saved.
    open(
        ui,
        "/manager/settlement",
        "settlement",
        &tid("settle-total"),
    )
    .await?;
    tap(ui, &tid("export-csv")).await?;
    let path = ui
        .wait_text(&tid("csv-path"), "the CSV's path", STEP, |s| {
            s.ends_with(".csv")
        })
        .await?;
    let csv = std::fs::read_to_string(path.trim()).with_context(|| format!("reading {path}"))?;
    ensure!(
        csv.contains("card_company") && csv.contains("12000") && csv.contains("3000"),
        "CSV: {csv}"
    );
    ui.click(&format!("{}[data-mode=\"month\"]", tid("settle-mode")))
        .await?;
    ui.wait(&tid("settle-month")).await?;
    ui.wait(&tid("settle-total")).await?;

    // Merchant settings: only the allowed one is editable; it is saved.
    open(
        ui,
        "/manager/settings",
        "merchant-settings",
        &format!(
            "{}[data-setting=\"credit_policy\"][data-editable=\"true\"]",
            tid("setting-row")
        ),
    )
    .await?;
    ui.wait(&format!(
        "{}[data-setting=\"require_birth_date\"][data-editable=\"false\"]",
        tid("setting-row")
    ))
    .await?;
    let before = srv
        .store()?
        .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
        .context("merchant")?
        .settings
        .credit_policy;
    let want = match before {
        fieldpay_protocol::records::CreditPolicy::Warn => "block",
        fieldpay_protocol::records::CreditPolicy::Block => "warn",
    };
    ui.click(&format!(
        "{}[data-setting=\"credit_policy\"][data-value=\"{want}\"]",
        tid("setting-input")
    ))
    .await?;
    tap(ui, &tid("settings-save")).await?;
    ui.wait(&tid("toast")).await?;
    let mut w = Wait::new("the credit policy to be saved", STEP);
    loop {
        let now = srv
            .store()?
            .merchant_by_code(demo::DEMO_MERCHANT_CODE)?
            .context("merchant")?
            .settings
            .credit_policy;
        if now != before {
            break;
        }
        w.note(format!("{now:?}"));
        w.tick().await?;
    }

    // A rep's cash collection (made on the server as rep1's device would), voided by the
    // manager from the client page with a reason: the row shows it voided, the server has the
    // offsetting entry.
    let acc = flows::demo_account(1);
    let account_id = srv.account_id(&acc.code)?;
    let rep1 = fieldpay_protocol::RepId::new(srv.rep_id("rep1")?);
    let collection_id = format!("col-e2e-{}", chrono::Utc::now().timestamp_millis());
    let balance_before = store.balance(&merchant.id, &account_id.clone().into())?;
    store.record_collection(
        &merchant.id,
        &rep1,
        Some(&rep1),
        &fieldpay_protocol::collection::CollectionInput {
            collection_id: collection_id.clone(),
            account_id: account_id.clone(),
            method: fieldpay_protocol::collection::CollectionMethod::Cash,
            amount: 45_000,
            memo: "현장 수금".into(),
            note: None,
            collected_at: fieldpay_protocol::time::ts(chrono::Utc::now()),
        },
        chrono::Utc::now(),
        &|_, _, _| None,
    )?;
    // Synced now (the device pulls it).
    ui.goto_hash("/settings").await?;
    ui.wait_screen("settings").await?;
    tap(ui, &tid("sync-now")).await?;
    flows::wait_synced(ui, SLOW).await?;
    ui.goto_hash(&format!("/clients/{account_id}")).await?;
    ui.wait_screen("client").await?;
    let row = format!("{}[data-id=\"{collection_id}\"]", tid("collection-row"));
    ui.wait_for(&format!("{row}[data-state=\"synced\"]"), SLOW)
        .await
        .context("the manager's client page lists the rep's collection")?;
    tap(ui, &format!("{row} {}", tid("col-void"))).await?;
    // Without a reason: refused here.
    tap(ui, &tid("col-void-confirm")).await?;
    tap(ui, &tid("confirm-action")).await?;
    ui.wait(&format!(
        "{}[data-field=\"col-void-reason\"]",
        tid("field-error")
    ))
    .await?;
    ui.type_into(&tid("col-void-reason"), "이중 입력").await?;
    tap(ui, &tid("col-void-confirm")).await?;
    shot(ui, "phone", "collection-void-confirm", &mut misfits).await?;
    tap(ui, &tid("confirm-action")).await?;
    ui.wait_for(&format!("{row}[data-voided=\"true\"]"), SLOW)
        .await
        .context("the voided collection")?;
    let voided = store
        .collection(&merchant.id, &collection_id)?
        .context("the collection on the server")?;
    ensure!(
        voided.voided.as_ref().map(|v| v.reason.as_str()) == Some("이중 입력"),
        "server: {voided:?}"
    );
    ensure!(
        store.balance(&merchant.id, &account_id.clone().into())? == balance_before,
        "the void did not offset the collection"
    );
    shot(ui, "phone", "client-collection-voided", &mut misfits).await?;

    // Every manager screen at both sizes.
    let screens = [
        ("manager", "/manager", "manager", tid("mgr-team")),
        ("team", "/manager/team", "team", tid("team-row")),
        (
            "all-payments",
            "/manager/payments",
            "all-payments",
            tid("mpay-row"),
        ),
        (
            "settlement",
            "/manager/settlement",
            "settlement",
            tid("settle-total"),
        ),
        (
            "integration",
            "/manager/integration",
            "integration",
            tid("key-row"),
        ),
        (
            "merchant-settings",
            "/manager/settings",
            "merchant-settings",
            tid("setting-row"),
        ),
    ];
    for (size, w, h) in SIZES {
        ui.resize(w, h).await?;
        for (name, hash, screen, ready) in &screens {
            open(ui, hash, screen, ready).await?;
            if *name == "all-payments" {
                let row = ui.wait(&format!("{} button.row", tid("mpay-row"))).await?;
                ui.click_el(&row).await?;
                ui.wait(&tid("mpay-detail")).await?;
            }
            shot(ui, size, name, &mut misfits).await?;
        }
    }
    if SIZES[1].1 > 900 {
        // The desktop sidebar has the manager entry.
        ui.wait(&tid("nav-manager")).await?;
    }

    // Without the server: a clear offline state (the manager's screens are online only).
    srv.stop().await;
    ui.goto_hash("/home").await?;
    ui.wait_screen("home").await?;
    ui.goto_hash("/manager/team").await?;
    ui.wait_screen("team").await?;
    ui.wait_for(&tid("manager-offline"), SLOW).await?;
    shot(ui, "desktop", "offline", &mut misfits).await?;
    srv.start_again().await?;
    tap(ui, &tid("retry")).await?;
    ui.wait_for(&tid("team-row"), SLOW).await?;

    // The new rep: one-time password, then a new one before anything else.
    ui.goto_hash("/settings").await?;
    ui.wait_screen("settings").await?;
    ui.click(&tid("sign-out")).await?;
    ui.wait_screen_for("signin", SLOW).await?;
    ui.resize(pw, ph).await?;
    flows::fill_sign_in(ui, &base, "demo", "rep9", &otp).await?;
    ui.wait_screen_for("password", SLOW).await?;
    shot(ui, "phone", "first-sign-in", &mut misfits).await?;
    ui.type_into(&tid("pw-current"), &otp).await?;
    ui.type_into(&tid("pw-new"), "short").await?;
    ui.type_into(&tid("pw-confirm"), "short").await?;
    tap(ui, &tid("pw-submit")).await?;
    ui.wait(&format!("{}[data-field=\"pw-new\"]", tid("field-error")))
        .await?;
    ui.type_into(&tid("pw-new"), "새비밀번호-2026").await?;
    ui.type_into(&tid("pw-confirm"), "새비밀번호-2026").await?;
    tap(ui, &tid("pw-submit")).await?;
    ui.wait_screen_for("home", SLOW).await?;
    flows::wait_synced(ui, SLOW).await?;
    // A plain rep: no manager entry; the screens refuse it.
    ui.click(&tid("nav-more")).await?;
    ui.wait_screen("more").await?;
    ui.wait(&tid("nav-settings")).await?;
    let entries = ui.all(&tid("nav-manager")).await?;
    ensure!(entries.is_empty(), "a plain rep sees the manager entry");
    ui.goto_hash("/manager/team").await?;
    ui.wait(&tid("manager-only")).await?;
    // The new password works (and the one-time one no longer does) on the server.
    let http = reqwest::Client::new();
    let login = |password: &str| {
        http.post(format!("{base}/v1/auth/login"))
            .json(&json!({ "merchant": "demo", "rep_id": "rep9", "password": password }))
            .send()
    };
    ensure!(
        login("새비밀번호-2026").await?.status().is_success(),
        "the new password is refused"
    );
    ensure!(
        !login(&otp).await?.status().is_success(),
        "the one-time password still works"
    );
    srv.stop().await;
    ensure!(
        misfits.is_empty(),
        "screens that do not fit:\n{}",
        misfits.join("\n")
    );
    Ok(())
}
