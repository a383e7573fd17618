//! Fault injection for tests: the next calls to `inquire` or `cancel` answer `Timeout`, as a
//! network that does not answer would.

use std::sync::atomic::{AtomicU32, Ordering};

use super::SandboxCardNetwork;

/// Injected failures still to answer.
#[derive(Default)]
pub(super) struct Faults {
    inquiries: AtomicU32,
    cancels: AtomicU32,
}

impl Faults {
    /// Whether this `inquire` is one of the injected failures (counts it down).
    pub(super) fn inquiry_fails(&self) -> bool {
        take_fault(&self.inquiries)
    }

    /// Whether this `cancel` is one of the injected failures (counts it down).
    pub(super) fn cancel_fails(&self) -> bool {
        take_fault(&self.cancels)
    }
}

impl SandboxCardNetwork {
    /// Fault injection: the next `n` calls to `inquire` answer `Timeout` (replaces any count
    /// still pending).
    pub fn fail_next_inquiries(&self, n: u32) {
        self.inner.faults.inquiries.store(n, Ordering::SeqCst);
    }

    /// Fault injection: the next `n` calls to `cancel` answer `Timeout` without canceling
    /// (replaces any count still pending).
    pub fn fail_next_cancels(&self, n: u32) {
        self.inner.faults.cancels.store(n, Ordering::SeqCst);
    }
}

fn take_fault(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}
