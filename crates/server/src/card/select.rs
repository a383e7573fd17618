//! The card connector a [`CardSettings`] names (the server's `[card]` section, or a merchant's
//! own credentials).

use std::sync::Arc;
use std::time::Duration;

use super::portone::{PortOneConfig, PortOneConnector};
use super::toss::{TossConfig, TossConnector};
use super::CardConnector;
use crate::config::{CardProvider, CardSettings};

/// Builds the connector of a real provider. The sandbox network is not built here: it is a
/// database of the server's own, opened by the server.
pub fn connector_for(card: &CardSettings) -> anyhow::Result<Arc<dyn CardConnector>> {
    let base_url = card.base_url().unwrap_or_default().to_string();
    let timeout = Duration::from_secs(card.timeout_secs);
    let missing = |name: &str| anyhow::anyhow!("missing setting card.{name}");
    Ok(match card.provider {
        CardProvider::Sandbox => {
            anyhow::bail!("the sandbox card network is the server's own, not a connector to build")
        }
        CardProvider::Toss => Arc::new(TossConnector::new(TossConfig {
            secret_key: card
                .secret_key
                .clone()
                .ok_or_else(|| missing("secret_key"))?,
            base_url,
            timeout,
        })?),
        CardProvider::PortOne => Arc::new(PortOneConnector::new(PortOneConfig {
            api_secret: card
                .api_secret
                .clone()
                .ok_or_else(|| missing("api_secret"))?,
            channel_key: card
                .channel_key
                .as_ref()
                .ok_or_else(|| missing("channel_key"))?
                .expose()
                .to_string(),
            base_url,
            timeout,
        })?),
    })
}
