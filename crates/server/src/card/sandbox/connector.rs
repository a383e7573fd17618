//! [`SandboxCardNetwork`] behind the [`CardConnector`] boundary: the rules are applied on the
//! calling task (card data never leaves it), then the ledger work goes to the database thread.

use chrono::Utc;

use super::super::testcards::TestOutcome;
use super::super::{
    Approval, ApproveRequest, CancelRequest, CardConnector, CardInput, ConnectorError, DeclineCode,
    PaymentMethod, RegisteredCardToken, TxnState,
};
use super::ledger::{approve_in, cancel_in, load_txn, register_in, ApproveJob, CancelJob, Source};
use super::rules::{check_card, check_terms, declined, protocol_checks};
use super::SandboxCardNetwork;

#[async_trait::async_trait]
impl CardConnector for SandboxCardNetwork {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn approve(&self, req: &ApproveRequest<'_>) -> Result<Approval, ConnectorError> {
        protocol_checks(req.key, req.merchant_id)?;
        let source = match &req.method {
            PaymentMethod::Card(card) => {
                let checked = check_card(card, Utc::now())?;
                check_terms(req.amount, req.installment_months, Some(&checked))?;
                Source::Card(checked)
            }
            PaymentMethod::Registered { token } => {
                check_terms(req.amount, req.installment_months, None)?;
                Source::Token((*token).clone())
            }
        };
        let job = ApproveJob {
            key: req.key.to_owned(),
            merchant_id: req.merchant_id.to_owned(),
            amount: req.amount,
            installment_months: req.installment_months,
            source,
        };
        self.blocking(move |conn| approve_in(conn, job)).await
    }

    async fn cancel(&self, req: &CancelRequest<'_>) -> Result<TxnState, ConnectorError> {
        let key = req.key;
        if self.inner.faults.cancel_fails() {
            tracing::info!(key, "sandbox: injected cancel timeout");
            return Err(ConnectorError::Timeout);
        }
        let job = CancelJob {
            key: key.to_owned(),
            idempotency_key: req.idempotency_key.to_owned(),
            reason: req.reason.to_owned(),
            amount: req.amount,
        };
        self.blocking(move |conn| cancel_in(conn, job)).await
    }

    async fn inquire(&self, key: &str) -> Result<Option<TxnState>, ConnectorError> {
        if self.inner.faults.inquiry_fails() {
            tracing::info!(key, "sandbox: injected inquire timeout");
            return Err(ConnectorError::Timeout);
        }
        let key = key.to_owned();
        self.blocking(move |conn| Ok(load_txn(conn, &key)?.map(|t| t.state)))
            .await
    }

    async fn register(
        &self,
        merchant_id: &str,
        card: &CardInput<'_>,
    ) -> Result<RegisteredCardToken, ConnectorError> {
        if merchant_id.trim().is_empty() {
            return Err(ConnectorError::Unavailable("empty merchant id".into()));
        }
        let checked = check_card(card, Utc::now())?;
        match checked.outcome {
            TestOutcome::IssuerTimeout => return Err(ConnectorError::Timeout),
            TestOutcome::LostOrStolen | TestOutcome::WrongPassword => {
                let code = checked.outcome.decline_code().unwrap_or(DeclineCode::Other);
                return Err(declined(code, Some(&checked)));
            }
            _ => {}
        }
        let merchant_id = merchant_id.to_owned();
        self.blocking(move |conn| register_in(conn, &merchant_id, checked))
            .await
    }
}
