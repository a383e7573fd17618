//! The boundary to a text-message provider, and the sandbox sink.

use std::sync::Arc;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS provider unreachable: {0}")]
    Unavailable(String),
    #[error("SMS provider refused the message: {0}")]
    Refused(String),
}

#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn send(&self, to_e164: &str, body: &str) -> Result<(), SmsError>;
}

/// The sandbox sink: texts go nowhere but the SMS log, where the sandbox phone reads them.
pub struct SandboxSms;

#[async_trait]
impl SmsSender for SandboxSms {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    async fn send(&self, _to: &str, _body: &str) -> Result<(), SmsError> {
        Ok(())
    }
}

pub fn sandbox() -> Arc<dyn SmsSender> {
    Arc::new(SandboxSms)
}
