//! Returns (반품서) on the device: made from a registered order, each line with a reason,
//! signed like a purchase order with its own `RT-` number and PDF, registered by the server
//! (the client's receivables drop by its total, once), and never more than what is left of
//! the original.

use chrono::Utc;
use fieldpay_core::Engine;
use fieldpay_protocol::app::{LineInput, LocalOrder, SyncState};
use fieldpay_protocol::command::SaveDraft;
use fieldpay_protocol::records::{LedgerKind, OrderKind, OrderStatus, ReturnReason};
use fieldpay_protocol::ErrorCode;

use crate::collections::{own_account, server_balance};
use crate::harness::*;

/// A registered purchase order of `qty` of three products for one of the rep's accounts:
/// (account id, order).
pub async fn registered_order(e: &Engine, qty: i64) -> (String, LocalOrder) {
    let account = own_account(e, true);
    let id = order(e, &account.id, qty);
    settle(e, 20).await;
    let o = e.order(&id).unwrap();
    assert_eq!(o.order.status, OrderStatus::Registered, "{o:?}");
    (account.id, o)
}

/// The return draft `d` with its lines set to (line index in `d`, quantity, reason).
pub fn with_lines(d: &LocalOrder, picks: &[(usize, i64, ReturnReason)]) -> SaveDraft {
    SaveDraft {
        order_id: Some(d.order.id.as_str().into()),
        account_id: d.order.account_id.as_str().into(),
        lines: picks
            .iter()
            .map(|&(i, quantity, reason)| LineInput {
                product_id: d.order.lines[i].product_id.clone(),
                quantity,
                reason: Some(reason),
            })
            .collect(),
        memo: "유통기한 임박 회수".into(),
        kind: OrderKind::Return,
        original_order_id: d.order.original_order_id.as_deref().map(Into::into),
    }
}

/// Makes, signs and queues a return of `qty` of the original's first product.
pub fn return_one(e: &Engine, original: &str, qty: i64) -> String {
    let d = e.start_return(original, Utc::now()).unwrap();
    let d = e
        .save_draft(
            &with_lines(&d, &[(0, qty, ReturnReason::Expiry)]),
            Utc::now(),
        )
        .unwrap();
    e.sign_and_submit(&d.order.id, &strokes(), Utc::now())
        .unwrap();
    d.order.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_of_an_order_takes_its_total_off_the_receivables_once() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    settle(&e, 20).await;
    let (account, original) = registered_order(&e, 5).await;
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account, today).unwrap().balance;

    // The draft has every product of the original with what may come back, no reasons yet.
    let d = e.start_return(&original.order.id, Utc::now()).unwrap();
    assert_eq!(d.order.kind, OrderKind::Return);
    assert_eq!(
        d.order.original_order_id.as_deref(),
        Some(original.order.id.as_str())
    );
    assert_eq!(d.order.lines.len(), 3);
    assert!(d
        .order
        .lines
        .iter()
        .all(|l| l.quantity == 5 && l.return_reason.is_none()));
    for (l, o) in d.order.lines.iter().zip(&original.order.lines) {
        assert_eq!(l.unit_price, o.unit_price, "at the price the client paid");
    }
    // Signing without reasons is refused, naming the line.
    let err = e
        .sign_and_submit(&d.order.id, &strokes(), Utc::now())
        .unwrap_err();
    assert_eq!(err.to_api().code, ErrorCode::InvalidField);
    assert!(
        err.to_api().message.contains("반품 사유"),
        "{}",
        err.to_api().message
    );
    // More than was bought is refused.
    let err = e
        .save_draft(&with_lines(&d, &[(0, 6, ReturnReason::Damage)]), Utc::now())
        .unwrap_err();
    assert!(
        err.to_api().message.contains("반품 가능 수량은 5개"),
        "{}",
        err.to_api().message
    );

    let d = e
        .save_draft(
            &with_lines(
                &d,
                &[(0, 2, ReturnReason::Expiry), (1, 1, ReturnReason::Damage)],
            ),
            Utc::now(),
        )
        .unwrap();
    let signed = e
        .sign_and_submit(&d.order.id, &strokes(), Utc::now())
        .unwrap();
    let number = signed.order.number.clone().unwrap();
    assert!(
        number.starts_with("RT-") && number.contains("-R0"),
        "{number}"
    );
    let total = signed.order.totals.total;
    assert!(total > 0);
    // It does not count against the credit limit while it waits.
    assert_eq!(
        e.account_detail(&account, today).unwrap().balance,
        before,
        "receivables drop when the server accepts it, not before"
    );
    if let Some(text) = pdf_text(&e.order_pdf(&d.order.id).unwrap()) {
        for needle in [
            "반품서",
            number.as_str(),
            "(사유: 유통기한)",
            "(사유: 파손)",
            "원 주문번호",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }
    settle(&e, 20).await;
    settle(&e, 2).await;

    let r = e.order(&d.order.id).unwrap();
    assert_eq!(r.order.status, OrderStatus::Registered, "{r:?}");
    assert_eq!(r.order.number.as_deref(), Some(number.as_str()));
    assert_eq!(r.sync_state, SyncState::Synced);
    assert_eq!(server_balance(&server, &account), before - total);
    let detail = e.account_detail(&account, today).unwrap();
    assert_eq!(detail.balance, before - total);
    let entries: Vec<_> = detail
        .ledger
        .iter()
        .filter(|l| l.kind == LedgerKind::Return)
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].amount, -total);
    assert_eq!(entries[0].ref_id.as_deref(), Some(d.order.id.as_str()));

    // What is left: 3, 4 and 5.
    let next = e.start_return(&original.order.id, Utc::now()).unwrap();
    let left: Vec<i64> = next.order.lines.iter().map(|l| l.quantity).collect();
    assert_eq!(left, vec![3, 4, 5]);
    // A return is not reordered, nor returned.
    assert!(e.reorder(&d.order.id, Utc::now()).is_err());
    assert!(e.start_return(&d.order.id, Utc::now()).is_err());
    assert!(e.problems().unwrap().is_empty());
}

/// A return naming no original order (goods from before the app, say): priced from the price
/// list, every line with a reason, registered off the receivables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_without_an_original_is_priced_from_the_list() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let e = signed_in(dir.path(), &server.base).await;
    settle(&e, 20).await;
    let account = own_account(&e, true);
    let today = Utc::now().date_naive();
    let before = e.account_detail(&account.id, today).unwrap().balance;
    let product = e.search_products("P000", None, 1).unwrap().remove(0);
    let draft = SaveDraft {
        order_id: None,
        account_id: account.id.as_str().into(),
        lines: vec![LineInput {
            product_id: product.product.id.clone(),
            quantity: 2,
            reason: Some(ReturnReason::WrongItem),
        }],
        memo: String::new(),
        kind: OrderKind::Return,
        original_order_id: None,
    };
    let d = e.save_draft(&draft, Utc::now()).unwrap();
    assert_eq!(d.order.lines[0].unit_price, product.unit_price);
    assert_eq!(
        d.order.lines[0].return_reason,
        Some(ReturnReason::WrongItem)
    );
    e.sign_and_submit(&d.order.id, &strokes(), Utc::now())
        .unwrap();
    settle(&e, 20).await;
    let r = e.order(&d.order.id).unwrap();
    assert_eq!(r.order.status, OrderStatus::Registered);
    assert_eq!(
        e.account_detail(&account.id, today).unwrap().balance,
        before - r.order.totals.total
    );
    // A purchase drafted with reasons keeps none (only returns carry them).
    let mut bad = draft.clone();
    bad.kind = OrderKind::Purchase;
    let p = e.save_draft(&bad, Utc::now()).unwrap();
    assert!(
        p.order.lines[0].return_reason.is_none(),
        "a purchase drops reasons"
    );
}
