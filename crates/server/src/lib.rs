//! FieldPay server: the ARS backend. Merchants create charges over HTTP (or reps from the app);
//! the payer gets a text with a virtual ARS number, calls it, and pays by keypad; the server
//! gets the card approved, notifies the merchant by webhook and texts a sales slip.
//!
//! Layout: `routes` (HTTP, one file per area) over services (`charges`, `calls`, `sms`,
//! `webhooks`) over the storage boundary (`store`); `telephony` adapters translate carrier
//! dialects for the IVR state machine (`fieldpay_ivr`); `card` holds the connector boundary and
//! the sandbox card network.

pub mod app;
pub mod auth;
pub mod calls;
pub mod card;
pub mod charges;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod ids;
pub mod import;
pub mod messages;
pub mod routes;
pub mod sms;
pub mod store;
pub mod telephony;
pub mod webhooks;
