//! The screens. `current_page` renders the one the router points at.

pub mod charge;
pub mod client;
pub mod clients;
pub mod closing;
pub mod collection;
pub mod home;
pub mod manager;
pub mod order;
pub mod orders;
pub mod password;
pub mod payments;
pub mod problems;
pub mod settings;
pub mod sign;
pub mod signin;

use leptos::prelude::*;

use crate::state::{st, Route};

/// The screen for the current route (re-created when the route changes).
pub fn current_page() -> AnyView {
    match st().route.get() {
        Route::SignIn | Route::Home => view! { <home::HomePage/> }.into_any(),
        Route::Clients => view! { <clients::ClientsPage/> }.into_any(),
        Route::Client(account_id) => view! { <client::ClientPage account_id/> }.into_any(),
        Route::NewOrder { account_id } => {
            view! { <order::OrderEditPage account_id order_id=None/> }.into_any()
        }
        Route::NewReturn(account_id) => view! { <order::NewReturnPage account_id/> }.into_any(),
        Route::EditOrder(order_id) => {
            view! { <order::OrderEditPage account_id=None order_id=Some(order_id)/> }.into_any()
        }
        Route::Sign(order_id) => view! { <sign::SignPage order_id/> }.into_any(),
        Route::OrderView(order_id) => view! { <orders::OrderViewPage order_id/> }.into_any(),
        Route::Orders => view! { <orders::OrdersPage/> }.into_any(),
        Route::NewCharge {
            account_id,
            order_id,
            collect,
        } => view! { <charge::ChargeFormPage account_id order_id collect/> }.into_any(),
        Route::ChargeView(charge_id) => view! { <charge::ChargeViewPage charge_id/> }.into_any(),
        Route::NewCollection(account_id) => {
            view! { <collection::CollectionPage account_id/> }.into_any()
        }
        Route::Payments => view! { <payments::PaymentsPage/> }.into_any(),
        Route::Closing => view! { <closing::ClosingPage/> }.into_any(),
        Route::Problems => view! { <problems::ProblemsPage/> }.into_any(),
        Route::Settings => view! { <settings::SettingsPage/> }.into_any(),
        Route::More => view! { <settings::MorePage/> }.into_any(),
        Route::Manager => view! { <manager::ManagerPage/> }.into_any(),
        Route::Team => view! { <manager::team::TeamPage/> }.into_any(),
        Route::AllPayments => view! { <manager::payments::AllPaymentsPage/> }.into_any(),
        Route::Settlement => view! { <manager::settlement::SettlementPage/> }.into_any(),
        Route::Integration => view! { <manager::integration::IntegrationPage/> }.into_any(),
        Route::MerchantSettings => view! { <manager::merchant::MerchantSettingsPage/> }.into_any(),
    }
}
