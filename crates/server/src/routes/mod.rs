//! HTTP routes, one file per area.

pub mod api;
pub mod charges;
pub mod pages;
pub mod sync;
