//! FieldPay's on-device engine: everything the rep sees is read from the local SQLite
//! database; everything the rep does is written locally first, in one transaction with an
//! outbox row, and pushed later (exactly once: each action's client id is the server's
//! idempotency key). The shell talks to one [`Engine`].

pub mod client;
pub mod closing;
pub mod credentials;
pub mod db;
pub mod engine;
pub mod error;
pub mod identity;
pub mod orders;
pub mod po_pdf;
pub mod search;
pub mod settlement;
pub mod signature;
pub mod sync;

pub use engine::{Engine, EngineConfig};
pub use error::{CoreError, CoreResult};
pub use identity::{DataFolder, Identity};
