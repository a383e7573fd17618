//! Client accounts and products: search and the account's detail (read from the device
//! database and the search indexes), and the server's account search (online).

use fieldpay_protocol::app::{AccountDetail, AccountSummary, ClientSort, ProductHit};
use fieldpay_protocol::records::AccountWithBalance;

use crate::error::{CoreError, CoreResult};
use crate::orders;

use super::Engine;

impl Engine {
    /// Asks the server (online) for the merchant's accounts matching `query`, whoever serves
    /// them: a rep's device keeps only its own clients (see [`crate::db::Db::set_scope`]), so
    /// a client who moved to another rep is found here. At most `limit` (1 to 100).
    pub async fn search_server_accounts(
        &self,
        query: &str,
        limit: u32,
    ) -> CoreResult<Vec<AccountWithBalance>> {
        self.require_session()?;
        self.client
            .search_accounts(query, limit.clamp(1, 100))
            .await
    }

    pub fn search_accounts(&self, query: &str, limit: usize) -> CoreResult<Vec<AccountSummary>> {
        let hits = self
            .accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .search(query, limit);
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        Ok(self
            .db
            .account_summaries(&ids)?
            .into_iter()
            .map(|(account, balance)| AccountSummary {
                account,
                balance,
                last_activity: None,
            })
            .collect())
    }

    /// The client list while the search box is empty (see [`crate::db::Db::client_list`]).
    pub fn client_list(&self, sort: ClientSort, limit: usize) -> CoreResult<Vec<AccountSummary>> {
        Ok(self
            .db
            .client_list(sort, limit)?
            .into_iter()
            .map(|(account, balance, last_activity)| AccountSummary {
                account,
                balance,
                last_activity,
            })
            .collect())
    }

    /// Products matching `query`, priced for `account_id` when given. An empty query with an
    /// account answers the account's usual items (most often ordered first).
    pub fn search_products(
        &self,
        query: &str,
        account_id: Option<&str>,
        limit: usize,
    ) -> CoreResult<Vec<ProductHit>> {
        let found: Vec<(String, Option<u32>)> = match account_id {
            Some(a) if query.trim().is_empty() => self
                .db
                .usual_products(a, limit)?
                .into_iter()
                .map(|(id, n)| (id, Some(n)))
                .collect(),
            _ => self
                .products
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .search(query, limit)
                .into_iter()
                .map(|h| (h.id, None))
                .collect(),
        };
        let mut out = Vec::with_capacity(found.len());
        for (id, times_ordered) in found {
            let Some(product) = self.db.product(&id)? else {
                continue;
            };
            // A product no longer sold is not offered again.
            if times_ordered.is_some() && !product.active {
                continue;
            }
            let unit_price = match account_id {
                Some(a) => self
                    .db
                    .account_price(a, &product.id)?
                    .unwrap_or(product.unit_price),
                None => product.unit_price,
            };
            out.push(ProductHit {
                product,
                unit_price,
                times_ordered,
            });
        }
        Ok(out)
    }

    pub fn account_detail(
        &self,
        account_id: &str,
        today: chrono::NaiveDate,
    ) -> CoreResult<AccountDetail> {
        let account = self
            .db
            .account(account_id)?
            .ok_or(CoreError::NotFound("account"))?;
        let pending_collected = self.db.pending_collected(account_id)?;
        // What this device collected counts at once; the server's entry replaces it.
        let balance = self.db.balance(account_id)? - pending_collected;
        let all_ledger = self.db.ledger(account_id, 10_000)?;
        let pending = self.db.pending_order_total(account_id, None)?;
        Ok(AccountDetail {
            aging: orders::aging(&all_ledger, today),
            credit_available: account.credit_limit - balance - pending,
            recent_orders: self.db.orders(Some(account_id), 20)?,
            recent_charges: self.db.charges(Some(account_id), 20)?,
            ledger: all_ledger.into_iter().take(50).collect(),
            collections: self.db.collections(Some(account_id), 50)?,
            pending_collected,
            account,
            balance,
        })
    }
}
