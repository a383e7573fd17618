//! Leases: named pieces of work that one server instance at a time does (the expiry sweep, the
//! recovery of approvals in doubt, a merchant's device pushes). A holder takes a lease for a
//! while and renews it while working; a crashed holder's lease runs out and another instance
//! takes it. Times are the database's own (or this machine's, for SQLite), never the sandbox
//! clock.

use std::time::Duration;

use super::StoreResult;

pub trait LeaseStore {
    /// Takes the lease `name` for `holder` for `ttl` when it is free, ran out or is the
    /// holder's already (then it is renewed). Answers whether `holder` holds it now.
    fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> StoreResult<bool>;
    /// Gives the lease up, if `holder` holds it.
    fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    /// Who holds the lease `name` now: None when nobody does (never taken, given up or ran
    /// out).
    fn lease_holder(&self, name: &str) -> StoreResult<Option<String>>;
}
