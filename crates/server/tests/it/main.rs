//! Integration tests: the server started on a loopback port, driven as clients, carriers and
//! payers would. One test binary (see `helpers::spawn_app`).

mod helpers;

mod admin;
mod admin_cli;
mod browser;
mod browser_receipt;
mod browser_sandbox_phone;
mod browser_web;
mod calls;
mod calls_across_instances;
mod charges;
mod check_config;
mod collections;
mod faults;
mod instances;
mod login_limits;
mod manager;
mod orders;
mod policy;
mod production;
mod pulls;
mod refunds;
mod returns;
mod roles;
mod sandbox_lockdown;
mod security;
mod sessions;
mod shares;
mod sip;
mod sync;
mod sync_scope;
mod texts;
mod visits;
mod walkthrough;
mod web;
mod webhooks;
