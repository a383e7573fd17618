//! Telephony adapters: they only translate between a carrier's dialect and `crate::calls`.

pub mod sandbox_phone;
pub mod sip;
pub mod twiml;
