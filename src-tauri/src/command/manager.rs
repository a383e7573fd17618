//! The manager's screens (team, payments, settlement, integration, merchant settings) and the
//! first sign-in's new password. All online; the server refuses a plain rep.

use fieldpay_protocol::command as cmd;
use tauri::State;

use super::api;
use crate::state::AppState;

handler! {
    /// Sets a new password after a sign-in with a one-time password; answers the app's state.
    cmd::ChangePassword => async fn change_password(args, state: State<'_, AppState>) {
        api(state
            .engine()?
            .change_password(&args.current_password, &args.new_password)
            .await)?;
        Ok(state.info())
    }
}

handler! {
    cmd::ManagerTeam => async fn manager_team(args, state: State<'_, AppState>) {
        api(state.engine()?.team(args.date.as_deref()).await)
    }
}

handler! {
    cmd::ManagerAddRep => async fn manager_add_rep(args, state: State<'_, AppState>) {
        api(state.engine()?.add_rep(&args.rep).await)
    }
}

handler! {
    cmd::ManagerResetPassword => async fn manager_reset_password(args, state: State<'_, AppState>) {
        api(state.engine()?.reset_rep_password(args.rep_id.as_str()).await)
    }
}

handler! {
    cmd::ManagerDeactivateRep => async fn manager_deactivate_rep(args, state: State<'_, AppState>) {
        api(state.engine()?.deactivate_rep(args.rep_id.as_str()).await)
    }
}

handler! {
    cmd::ManagerIntegration => async fn manager_integration(_args, state: State<'_, AppState>) {
        api(state.engine()?.integration().await)
    }
}

handler! {
    cmd::ManagerCreateApiKey => async fn manager_create_api_key(args, state: State<'_, AppState>) {
        api(state.engine()?.create_api_key(&args.name).await)
    }
}

handler! {
    cmd::ManagerRotateLinkKey => async fn manager_rotate_link_key(_args, state: State<'_, AppState>) {
        api(state.engine()?.rotate_link_key().await)
    }
}

handler! {
    cmd::ManagerRevokeApiKey => async fn manager_revoke_api_key(args, state: State<'_, AppState>) {
        api(state.engine()?.revoke_api_key(args.key_id.as_str()).await)
    }
}

handler! {
    cmd::ManagerSettings => async fn manager_settings(_args, state: State<'_, AppState>) {
        api(state.engine()?.merchant_settings().await)
    }
}

handler! {
    cmd::ManagerUpdateSettings => async fn manager_update_settings(args, state: State<'_, AppState>) {
        api(state.engine()?.update_merchant_settings(&args.patch).await)
    }
}

handler! {
    cmd::MerchantCharges => async fn merchant_charges(args, state: State<'_, AppState>) {
        api(state.engine()?.merchant_charges(&args).await)
    }
}

handler! {
    cmd::Settlement => async fn settlement(args, state: State<'_, AppState>) {
        api(state.engine()?.settlement(&args.period).await)
    }
}

handler! {
    /// Saves the settlement CSV into `<data>/exports/`; returns the file's path.
    cmd::ExportSettlementCsv => async fn export_settlement_csv(args, state: State<'_, AppState>) {
        let dir = state.exports_dir();
        let path = api(state.engine()?.export_settlement_csv(&args.period, &dir).await)?;
        Ok(path.display().to_string())
    }
}
