//! FieldPay server: the ARS backend. Merchants create charges over HTTP (or reps from the app);
//! the payer gets a text with a virtual ARS number, calls it, and pays by keypad; the server
//! gets the card approved, notifies the merchant by webhook and texts a sales slip.
//!
//! Layers, each importing only those below it (docs/architecture.md):
//! - `app`: the composition root (builds the state, routers and worker; starts and stops).
//! - `routes` (HTTP, one file per area) and `telephony` (carrier dialects: TwiML webhooks,
//!   the sandbox phone, SIP): they translate requests for the services. `openapi`: the API
//!   description made from their handlers and body types. `web`: the chrome the web pages
//!   share (layout, style, icons, language, headers).
//! - `state`: what a running server shares (store, settings, clock, connector, ...).
//! - services: `auth`, `charges`, `calls` (over the IVR state machine `fieldpay_ivr`), `sms`,
//!   `webhooks`, `import`, `demo`, `pulls` (sync pages, read ahead); `messages` writes the
//!   texts; `coordination`: work one instance at a time does (over the store's leases).
//! - `card`: the card connector boundary and the sandbox card network.
//! - `store`: the storage boundary (traits per aggregate) and its SQLite and PostgreSQL
//!   implementations.
//! - `domain`, `ids`, `clock`, `config`, `error`: values and rules used by every layer;
//!   `check`: the settings checked before serving (`fieldpay-server check-config`); `logs`:
//!   the log filter.

// The composition root and the edges.
pub mod admin;
pub mod app;
pub mod openapi;
pub mod routes;
pub mod telephony;
pub mod web;

// What the edges share with the services.
pub mod state;

// Services.
pub mod auth;
pub mod calls;
pub mod charges;
pub mod collections;
pub mod coordination;
pub mod credentials;
pub mod demo;
pub mod import;
pub mod links;
pub mod messages;
pub mod paylinks;
pub mod pulls;
pub mod sms;
pub mod webhooks;

// Boundaries to the outside: card networks and storage.
pub mod card;
pub mod store;

// Values and rules.
pub mod check;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod ids;
pub mod logs;
pub mod markup;

#[cfg(test)]
mod redaction_tests;
