//! The log filter every FieldPay server uses.

use tracing_subscriber::EnvFilter;

/// The PostgreSQL driver logs each statement's parameters (phone numbers, token hashes, ...)
/// at debug level: its target is held at info whatever the filter asks, so they never reach
/// the log.
const HELD: &[&str] = &["tokio_postgres=info"];

/// `spec` (an `EnvFilter` directive list, e.g. `info,tower_http=warn`) with the held targets.
pub fn filter(spec: &str) -> EnvFilter {
    held(EnvFilter::new(spec))
}

/// `RUST_LOG` when set and valid, else `default`; with the held targets.
pub fn filter_from_env(default: &str) -> EnvFilter {
    held(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)))
}

fn held(mut f: EnvFilter) -> EnvFilter {
    for d in HELD {
        f = f.add_directive(d.parse().expect("a valid directive"));
    }
    f
}
