//! Sharing by text (문자로 보내기), online only: the purchase order's PDF link or a paid
//! charge's receipt link, texted by the server. A share's id is kept on the device until the
//! server has answered, so a retry after a lost answer (or a second tap) sends nothing twice.

use std::time::Duration;

use fieldpay_protocol::share::{OrderShare, ShareKind, ShareOrder};
use fieldpay_protocol::ErrorCode;

use crate::error::{CoreError, CoreResult};

use super::{new_id, Engine};

/// Attempts on a network failure before the rep is told to try again when online.
const ATTEMPTS: u32 = 3;

impl Engine {
    /// Texts the order's purchase-order PDF link or the receipt link of its paid charge to
    /// `to_phone` (a Korean mobile number).
    pub async fn share_order(
        &self,
        order_id: &str,
        kind: ShareKind,
        to_phone: &str,
        charge_id: Option<&str>,
    ) -> CoreResult<OrderShare> {
        self.require_session()?;
        let phone = fieldpay_protocol::mobile::mobile_digits(to_phone).ok_or_else(|| {
            CoreError::invalid(
                ErrorCode::InvalidPhone,
                "휴대폰 번호를 확인하세요 (a Korean mobile number, e.g. 010-1234-5678)",
            )
        })?;
        // The same share (order, kind, phone, charge) keeps its id until answered.
        let key = format!(
            "share:{order_id}:{}:{phone}:{}",
            kind.as_str(),
            charge_id.unwrap_or("")
        );
        let share_id = match self.db.get_state(&key)?.filter(|s| !s.is_empty()) {
            Some(id) => id,
            None => {
                let id = new_id();
                self.db.set_state(&key, &id)?;
                id
            }
        };
        let body = ShareOrder {
            share_id,
            to_phone: phone,
            kind,
            charge_id: charge_id.map(str::to_string),
        };
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match self.client.share_order(order_id, &body).await {
                Err(CoreError::Offline(_)) if attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
                }
                other => break other,
            }
        };
        match &result {
            // Answered (sent, or refused for good): the next share is a new one.
            Ok(_) | Err(CoreError::Server(_)) => self.db.set_state(&key, "")?,
            Err(_) => {}
        }
        result
    }

    /// The texts sent about an order (online).
    pub async fn order_shares(&self, order_id: &str) -> CoreResult<Vec<OrderShare>> {
        self.require_session()?;
        Ok(self.client.order_shares(order_id).await?.shares)
    }
}
