//! FieldPay's app shell: Tauri commands that are one-line calls into `fieldpay_core::Engine`
//! (or the sandbox launcher), and the `engine` event that carries every `EngineEvent` to the
//! windows. No business logic lives here (docs/app-shell.md is the contract with the UI).
//!
//! Flags: `--sandbox` starts the embedded sandbox server and signs in as the demo rep;
//! `--data DIR` (or `$FIELDPAY_APP_DATA`) chooses the data folder, else Tauri's app data dir.
//! Unknown arguments are ignored (WebDriver launchers add their own).

mod args;
mod command;
mod events;
mod sandbox;
mod session;
mod state;

use std::path::PathBuf;
use std::time::Duration;

use tauri::Manager;

pub use args::Args;
pub use state::AppState;

/// Environment variable naming the data folder (when `--data` is not given).
pub const DATA_ENV: &str = "FIELDPAY_APP_DATA";

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FIELDPAY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,hyper=warn,reqwest=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn data_dir(app: &tauri::App, args: &Args) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match (&args.data, std::env::var_os(DATA_ENV)) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) if !d.is_empty() => PathBuf::from(d),
        _ => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the data folder {}: {e}", dir.display()))?;
    Ok(dir.canonicalize().unwrap_or(dir))
}

/// SIGTERM / SIGINT (service managers, Ctrl-C, test harnesses) quit like closing the window:
/// sync stops and the embedded server finishes its requests.
fn quit_on_signals(app: &tauri::AppHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("quitting on a signal");
            app.exit(0);
        });
    }
    #[cfg(not(unix))]
    let _ = app;
}

/// `tauri::generate_handler!` over `command::<module>::<name>`, and a compile-time check that
/// the handlers registered are exactly the protocol's commands (`fieldpay_protocol::command::ALL`),
/// each once. (Each handler's name is checked against its command's by `command::handler!`.)
macro_rules! handlers {
    ($($module:ident::$name:ident),* $(,)?) => {{
        const _: () = assert!(
            fieldpay_protocol::command::registers_all(&[$(stringify!($name)),*]),
            "the registered handlers are not exactly fieldpay_protocol::command::ALL"
        );
        tauri::generate_handler![$(command::$module::$name),*]
    }};
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    // The pages of a first sync are MBs each: handed back when freed (see the function).
    fieldpay_protocol::process::return_large_blocks_to_the_system();
    fieldpay_protocol::process::few_heaps_for_a_device();
    init_logging();
    let args = Args::parse(std::env::args().skip(1));
    let app = tauri::Builder::default()
        .setup(move |app| {
            let dir = data_dir(app, &args)?;
            tracing::info!(data = %dir.display(), sandbox = args.sandbox, "FieldPay starting");
            app.manage(AppState::new(dir));
            session::on_launch(app.handle(), args.sandbox);
            quit_on_signals(app.handle());
            Ok(())
        })
        .invoke_handler(handlers![
            session::app_info,
            session::start_sandbox,
            session::login,
            session::sign_out,
            session::sync_now,
            session::open_test_phone,
            records::search_accounts,
            records::search_server_accounts,
            records::client_list,
            records::account_detail,
            records::search_products,
            orders::preview_order,
            orders::start_return,
            orders::save_draft,
            orders::reorder,
            orders::sign_and_submit,
            orders::orders,
            orders::order,
            documents::pdf,
            documents::signature_image,
            documents::export_pdf,
            documents::open_export,
            charges::request_charge,
            charges::cancel_charge,
            charges::resend_charge_sms,
            charges::refund_charge,
            charges::charges,
            charges::charge,
            charges::daily_closing,
            collections::record_collection,
            collections::collections,
            collections::void_collection,
            problems::problems,
            problems::retry_problem,
            problems::discard_problem,
            manager::change_password,
            manager::manager_team,
            manager::manager_add_rep,
            manager::manager_reset_password,
            manager::manager_deactivate_rep,
            manager::manager_integration,
            manager::manager_create_api_key,
            manager::manager_revoke_api_key,
            manager::manager_rotate_link_key,
            manager::manager_settings,
            manager::manager_update_settings,
            manager::merchant_charges,
            manager::settlement,
            manager::export_settlement_csv,
            visits::check_in,
            visits::check_out,
            visits::today_route,
            visits::account_visits,
            visits::manager_visits,
            shares::share_order,
            shares::order_shares,
        ])
        .build(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while building the FieldPay app");
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Stop syncing and let the embedded server finish its requests (bounded).
            if let Some(state) = handle.try_state::<AppState>() {
                let state = state.inner().clone();
                tauri::async_runtime::block_on(async move {
                    if tokio::time::timeout(Duration::from_secs(3), state.shutdown())
                        .await
                        .is_err()
                    {
                        tracing::warn!("the embedded server did not stop within 3 s");
                    }
                });
            }
        }
    });
}
