//! Screenshots of every screen at a phone size and a desktop size, with real data made through
//! the UI (an order signed and paid, a charge waiting for the payer, a draft). Each screen is
//! also checked for content wider than the window (a layout broken at that width).

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};

use crate::flows::{self, Want};
use crate::harness::{tid, Ui, SLOW, STEP};
use crate::server;

pub const SIZES: [(&str, u32, u32); 2] = [("phone", 390, 844), ("desktop", 1280, 900)];

/// Where the pictures go: `$FIELDPAY_E2E_SCREENSHOTS`, else `<target dir>/e2e-screenshots`.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FIELDPAY_E2E_SCREENSHOTS") {
        return PathBuf::from(d);
    }
    // The app binary is <target>/<profile>/fieldpay-app.
    Path::new(env!("CARGO_BIN_EXE_fieldpay-app"))
        .parent()
        .and_then(|p| p.parent())
        .map(|t| t.join("e2e-screenshots"))
        .unwrap_or_else(|| PathBuf::from("e2e-screenshots"))
}

/// Nothing on the page is wider than the window (no sideways scrolling, nothing cut off at
/// the right edge) except inside containers that scroll or clip on purpose (e.g. a row of
/// filter chips); names the offenders otherwise.
pub async fn check_fits(ui: &Ui, what: &str) -> Result<()> {
    let v = ui
        .js(
            "const w = document.documentElement.clientWidth; \
             const bad = []; \
             for (const e of document.querySelectorAll('body *')) { \
               const r = e.getBoundingClientRect(); \
               let clipped = false; \
               for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) { \
                 if (getComputedStyle(a).overflowX !== 'visible') { clipped = true; break; } \
               } \
               if (!clipped && r.width > 0 && r.right > w + 1 && getComputedStyle(e).position !== 'fixed') { \
                 bad.push((e.getAttribute('data-testid') || e.className || e.tagName) + ' ' + \
                   Math.round(r.right) + 'px'); \
               } \
             } \
             return [w, document.documentElement.scrollWidth, bad.slice(0, 6)];",
            vec![],
        )
        .await?;
    let w = v[0].as_f64().unwrap_or(0.0);
    let sw = v[1].as_f64().unwrap_or(0.0);
    ensure!(
        sw <= w + 1.0 && v[2].as_array().map(|a| a.is_empty()).unwrap_or(true),
        "{what}: content wider than the window ({sw} px in {w} px): {}",
        v[2]
    );
    Ok(())
}

struct Shots {
    dir: PathBuf,
    n: u32,
    /// Screens whose content does not fit (reported after every picture is taken).
    misfits: Vec<String>,
}

impl Shots {
    async fn take(&mut self, ui: &Ui, name: &str) -> Result<()> {
        self.n += 1;
        // Whatever loads, has loaded.
        ui.wait_gone(&format!("main {}", tid("loading")), STEP)
            .await?;
        ui.js("window.scrollTo(0, 0);", vec![]).await?;
        let p = self.dir.join(format!("{:02}-{name}.png", self.n));
        ui.screenshot(&p).await?;
        if let Err(e) = check_fits(ui, &format!("{}/{name}", self.dir.display())).await {
            self.misfits.push(format!("{e:#}"));
        }
        Ok(())
    }
}

pub async fn run(ui: &Ui) -> Result<()> {
    let root = dir();
    for (size, _, _) in SIZES {
        let d = root.join(size);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d)?;
    }
    println!("  screenshots: {}", root.display());
    let mut shots: Vec<Shots> = SIZES
        .iter()
        .map(|(size, _, _)| Shots {
            dir: root.join(size),
            n: 0,
            misfits: Vec::new(),
        })
        .collect();

    // Sign-in, at both sizes.
    ui.wait_screen_for("signin", SLOW).await?;
    for (i, (_, w, h)) in SIZES.iter().enumerate() {
        ui.resize(*w, *h).await?;
        shots[i].take(ui, "signin").await?;
    }

    // Data, made at the desktop size: an order signed, registered and paid; a charge waiting
    // for the payer; a draft.
    let base = flows::start_sandbox(ui).await?;
    let acc = flows::demo_account(3);
    flows::find_and_open_client(ui, &flows::initials(&acc.name), &acc.name).await?;
    let client_route = ui.hash().await?;
    let account_id = client_route
        .strip_prefix("/clients/")
        .context("client route")?
        .to_string();
    ui.click(&tid("new-order")).await?;
    let total = flows::fill_order(
        ui,
        &[
            Want {
                query: "베아제",
                qty: 2,
            },
            Want {
                query: "비타500",
                qty: 5,
            },
            Want {
                query: "마데카솔",
                qty: 1,
            },
        ],
    )
    .await?;
    let paid_order = flows::sign_order(ui, None).await?;
    flows::wait_order_status(ui, "registered", SLOW).await?;
    let paid_charge = flows::request_charge_for_order(ui, &acc.phone, total).await?;
    let vnum = flows::virtual_number(ui).await?;
    server::pay_by_phone(&base, &acc.phone, &vnum).await?;
    flows::wait_charge_status(ui, "approved", SLOW).await?;

    // A charge that waits for the payer (collect part of the balance, third-party payer).
    ui.goto_hash(&format!("/charge/new?account={account_id}&collect=1"))
        .await?;
    ui.wait_screen("charge-new").await?;
    ui.type_into(&tid("charge-amount"), "33000").await?;
    ui.click(&tid("charge-send")).await?;
    ui.wait_screen("charge").await?;
    let waiting_charge = flows::charge_id_of(ui).await?;
    flows::wait_step_done(ui, "sms_sent", SLOW).await?;

    // A registered return of part of the paid order, and a return draft (for the editor).
    ui.goto_hash(&format!("/orders/{paid_order}")).await?;
    ui.wait_screen("order").await?;
    let (registered_return, _, _) = flows::return_from_order(ui, 1, "damage").await?;
    ui.goto_hash(&format!("/orders/{paid_order}")).await?;
    ui.wait_screen("order").await?;
    ui.click(&tid("start-return")).await?;
    let mut w = crate::harness::Wait::new("the return draft", STEP);
    let return_draft = loop {
        let h = ui.hash().await?;
        if let Some(id) = h
            .strip_prefix("/order/")
            .and_then(|r| r.strip_suffix("/edit"))
        {
            break id.to_string();
        }
        w.note(h);
        w.tick().await?;
    };

    // A cash collection on the client (its list, the ledger and the closing show it).
    ui.goto_hash(&client_route).await?;
    ui.wait_screen("client").await?;
    flows::record_collection(ui, "cash", 120_000, "현장 수금").await?;

    // A draft order (for the editor and the signature pad).
    ui.goto_hash(&format!("/order/new?account={account_id}"))
        .await?;
    flows::fill_order(
        ui,
        &[Want {
            query: "까스활명수",
            qty: 10,
        }],
    )
    .await?;
    ui.click(&tid("save-draft")).await?;
    let mut w = crate::harness::Wait::new("the draft to be saved", STEP);
    let draft = loop {
        let h = ui.hash().await?;
        if let Some(id) = h
            .strip_prefix("/order/")
            .and_then(|r| r.strip_suffix("/edit"))
        {
            break id.to_string();
        }
        w.note(h);
        w.tick().await?;
    };

    let screens: Vec<(&str, String)> = vec![
        ("home", "/home".into()),
        ("client-list", "/clients".into()),
        ("clients", "/clients".into()),
        ("client", client_route.clone()),
        ("order-edit", format!("/order/{draft}/edit")),
        ("sign", format!("/order/{draft}/sign")),
        ("orders", "/orders".into()),
        ("order", format!("/orders/{paid_order}")),
        ("return-edit", format!("/order/{return_draft}/edit")),
        ("return-sign", format!("/order/{return_draft}/sign")),
        ("return", format!("/orders/{registered_return}")),
        (
            "charge-new",
            format!("/charge/new?account={account_id}&order={paid_order}"),
        ),
        ("charge", format!("/charges/{waiting_charge}")),
        ("collection-new", format!("/clients/{account_id}/collect")),
        (
            "collection-confirm",
            format!("/clients/{account_id}/collect"),
        ),
        ("payments", "/payments".into()),
        ("payment-detail", format!("/charges/{paid_charge}")),
        ("closing", "/closing".into()),
        ("problems", "/problems".into()),
        ("settings", "/settings".into()),
        ("more", "/more".into()),
    ];
    for (i, (size, w, h)) in SIZES.iter().enumerate() {
        ui.resize(*w, *h).await?;
        for (name, route) in &screens {
            if *name == "more" && *size == "desktop" {
                continue; // the sidebar has these entries on a desktop
            }
            // Through the home screen, so that each screen is built fresh.
            if *name != "home" {
                ui.goto_hash("/home").await?;
                ui.wait_screen("home").await?;
            }
            ui.goto_hash(route).await?;
            let screen = match *name {
                "payment-detail" => "charge",
                "client-list" => "clients",
                "collection-confirm" => "collection-new",
                "return-edit" => "order-edit",
                "return-sign" => "sign",
                "return" => "order",
                other => other,
            };
            ui.wait_screen(screen)
                .await
                .with_context(|| format!("{size}: {route}"))?;
            match *name {
                "client-list" => {
                    // The search box emptied: the client list, recent clients first.
                    flows::empty_client_search(ui).await?;
                }
                "clients" => {
                    ui.type_into(&tid("account-search"), &flows::initials(&acc.name))
                        .await?;
                    ui.wait(&tid("account-row")).await?;
                }
                "client" => {
                    ui.wait(&tid("account-name")).await?;
                    ui.wait(&tid("collection-row")).await?;
                }
                "order-edit" => {
                    ui.wait(&tid("line-row")).await?;
                    ui.wait(&tid("credit-warning")).await?;
                }
                "sign" => {
                    let pad = ui.wait(&tid("sign-canvas")).await?;
                    ui.draw(
                        &pad,
                        &[vec![
                            (-80.0, 0.0),
                            (-40.0, -20.0),
                            (0.0, 15.0),
                            (40.0, -10.0),
                            (80.0, 5.0),
                        ]],
                    )
                    .await?;
                    ui.wait_attr(&tid("stroke-count"), "data-count", "1", STEP)
                        .await?;
                }
                "orders" => {
                    ui.wait(&tid("order-row")).await?;
                }
                "return-sign" => {
                    ui.wait(&tid("sign-doc")).await?;
                    ui.wait(&tid("return-badge")).await?;
                }
                "return-edit" => {
                    ui.wait(&tid("line-reason")).await?;
                    ui.wait(&tid("return-of")).await?;
                }
                "return" => {
                    ui.wait(&tid("return-badge")).await?;
                    ui.wait_attr(&tid("order-status"), "data-status", "registered", STEP)
                        .await?;
                }
                "order" => {
                    ui.wait_attr(&tid("order-status"), "data-status", "registered", STEP)
                        .await?;
                }
                "charge-new" => {
                    ui.wait(&tid("charge-phone")).await?;
                }
                "collection-new" => {
                    // The note (어음) choice shows its own fields.
                    let note = format!("{}[data-method=\"note\"]", tid("col-method"));
                    ui.click(&note).await?;
                    ui.wait(&tid("col-note-number")).await?;
                    ui.type_into(&tid("col-amount"), "1500000").await?;
                }
                "collection-confirm" => {
                    ui.type_into(&tid("col-amount"), "250000").await?;
                    ui.type_into(&tid("col-memo"), "12월분").await?;
                    ui.click(&tid("col-next")).await?;
                    ui.wait(&tid("col-summary")).await?;
                }
                "charge" => {
                    ui.wait(&format!(
                        "{}[data-status=\"sms_sent\"][data-done=\"true\"]",
                        tid("timeline-step")
                    ))
                    .await?;
                }
                "payments" => {
                    ui.wait(&tid("payment-row")).await?;
                }
                "payment-detail" => {
                    ui.wait(&tid("approval-number")).await?;
                }
                "closing" => {
                    ui.wait(&tid("closing-total")).await?;
                    ui.wait(&tid("closing-collection-row")).await?;
                }
                "settings" => {
                    ui.wait(&tid("app-version")).await?;
                }
                _ => {}
            }
            shots[i].take(ui, name).await?;
        }
    }
    let misfits: Vec<String> = shots.into_iter().flat_map(|s| s.misfits).collect();
    ensure!(
        misfits.is_empty(),
        "screens that do not fit:\n{}",
        misfits.join("\n")
    );
    Ok(())
}
