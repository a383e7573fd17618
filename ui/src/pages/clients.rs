//! Clients (거래처): one search box with instant results; a row opens the client page.

use leptos::prelude::*;

use crate::components::account_search::AccountSearch;
use crate::state::{go, hash_param, st, Route};

#[component]
pub fn ClientsPage() -> impl IntoView {
    let query = st().client_query;
    // `#/clients?q=...` starts with that search (links, previews).
    if let Some(q) = hash_param("q") {
        query.set(q);
    }
    let on_pick = Callback::new(move |a: fieldpay_protocol::app::AccountSummary| {
        go(Route::Client(a.account.id))
    });
    view! {
        <section class="page clients">
            <AccountSearch query on_pick autofocus=true/>
        </section>
    }
}
