//! Returns (반품서) from devices: a return of a registered order at its prices, within what is
//! left of it, each line with a reason; registered with an `RT-` number and its total off the
//! client's receivables; refusals are typed and change nothing.

use fieldpay_protocol::records::{LedgerKind, Order, OrderKind, OrderStatus};
use fieldpay_protocol::sync::{ChangeData, MutationOutcome, MutationResults, SyncPage};
use fieldpay_protocol::ErrorCode;
use serde_json::{json, Value};

use crate::helpers::{evidence, evidence_of, login, spawn_app, TestApp, Tokens};
use crate::orders::push;

const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn pull(app: &TestApp, rep: &Tokens) -> SyncPage {
    app.get("/v1/sync?limit=5000", &rep.access_token)
        .await
        .json()
        .await
        .unwrap()
}

/// Two of the rep's accounts and two products (id, list price).
async fn accounts_and_products(app: &TestApp, rep: &Tokens) -> (Vec<String>, Vec<(String, i64)>) {
    let page = pull(app, rep).await;
    let accounts = page
        .changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Account(a) if !a.closed => Some(a.id.clone()),
            _ => None,
        })
        .take(2)
        .collect();
    let products = page
        .changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Product(p) if p.active => Some((p.id.clone(), p.unit_price)),
            _ => None,
        })
        .take(2)
        .collect();
    (accounts, products)
}

fn applied(res: &MutationResults) -> Order {
    match &res.results.last().unwrap().outcome {
        MutationOutcome::Applied { order: Some(o), .. } => (**o).clone(),
        other => panic!("not applied: {other:?}"),
    }
}

fn rejected(res: &MutationResults) -> (ErrorCode, String) {
    match &res.results.last().unwrap().outcome {
        MutationOutcome::Rejected { error } => (error.code, error.message.clone()),
        other => panic!("not rejected: {other:?}"),
    }
}

/// A registered purchase order of `account`: `lines` of (product, quantity, list price).
async fn purchase(app: &TestApp, rep: &Tokens, account: &str, lines: &[(&str, i64, i64)]) -> Order {
    let order_id = id();
    let signed = evidence(&rep.rep.merchant_id, account, &order_id, lines, "");
    let input: Vec<Value> = lines
        .iter()
        .map(|(p, q, _)| json!({ "product_id": p, "quantity": q }))
        .collect();
    let res = push(
        app,
        &rep.access_token,
        json!([
            { "client_id": id(), "op": { "type": "upsert_order", "order_id": order_id,
              "account_id": account, "lines": input } },
            { "client_id": id(), "op": { "type": "sign_order", "order_id": order_id,
              "evidence": signed, "signature_png": PNG_1X1 } },
            { "client_id": id(), "op": { "type": "submit_order", "order_id": order_id } }
        ]),
    )
    .await;
    let o = applied(&res);
    assert_eq!(o.status, OrderStatus::Registered);
    o
}

/// Drafts a return (the upsert's answer).
async fn draft_return(
    app: &TestApp,
    rep: &Tokens,
    account: &str,
    original: Option<&str>,
    lines: Value,
) -> MutationResults {
    let order_id = id();
    let mut op = json!({ "type": "upsert_order", "order_id": order_id, "account_id": account,
                         "lines": lines, "kind": "return" });
    if let Some(o) = original {
        op["original_order_id"] = json!(o);
    }
    push(
        app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": op }]),
    )
    .await
}

/// Signs (with `number`, if any) and submits a drafted order; the submit's answer.
async fn sign_and_submit(
    app: &TestApp,
    rep: &Tokens,
    o: &Order,
    number: Option<&str>,
) -> (MutationResults, MutationResults) {
    // What the device signs: the return under its number.
    let mut numbered = o.clone();
    numbered.number = number.map(Into::into);
    let mut sign = json!({ "type": "sign_order", "order_id": o.id,
                           "evidence": evidence_of(&rep.rep.merchant_id, &numbered), "signature_png": PNG_1X1 });
    if let Some(n) = number {
        sign["number"] = json!(n);
    }
    let signed = push(
        app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": sign }]),
    )
    .await;
    let submitted = push(
        app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": { "type": "submit_order", "order_id": o.id } }]),
    )
    .await;
    (signed, submitted)
}

fn balance_of(page: &SyncPage, account: &str) -> i64 {
    page.changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Ledger(l) if l.account_id == account => Some(l.amount),
            _ => None,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_of_an_order_is_registered_and_comes_off_the_receivables() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (accounts, products) = accounts_and_products(&app, &rep).await;
    let (account, (p1, price1), (p2, price2)) =
        (&accounts[0], products[0].clone(), products[1].clone());
    let original = purchase(&app, &rep, account, &[(&p1, 5, price1), (&p2, 2, price2)]).await;
    let before = balance_of(&pull(&app, &rep).await, account);

    let d = applied(
        &draft_return(
            &app,
            &rep,
            account,
            Some(&original.id),
            json!([{ "product_id": p1, "quantity": 2, "reason": "expiry" },
                   { "product_id": p2, "quantity": 1, "reason": "damage" }]),
        )
        .await,
    );
    assert_eq!(d.kind, OrderKind::Return);
    assert_eq!(d.original_order_id.as_deref(), Some(original.id.as_str()));
    assert_eq!(d.lines[0].unit_price, original.lines[0].unit_price);
    assert_eq!(d.totals.supply, 2 * price1 + price2);
    let (_, submitted) = sign_and_submit(&app, &rep, &d, None).await;
    let r = applied(&submitted);
    assert_eq!(r.status, OrderStatus::Registered);
    let number = r.number.unwrap();
    assert!(
        number.starts_with("RT-") && number.ends_with("-0001"),
        "{number}"
    );

    // One ledger entry of its own kind for -total; the balance drops by it.
    let page = pull(&app, &rep).await;
    let entries: Vec<_> = page
        .changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Ledger(l) if l.kind == LedgerKind::Return => Some(l.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].amount, -d.totals.total);
    assert_eq!(entries[0].ref_id.as_deref(), Some(d.id.as_str()));
    assert!(entries[0].memo.contains(&number), "{}", entries[0].memo);
    assert_eq!(balance_of(&page, account), before - d.totals.total);
    // Submitting again answers the registered return, with no second entry.
    let again = push(
        &app,
        &rep.access_token,
        json!([{ "client_id": id(), "op": { "type": "submit_order", "order_id": d.id } }]),
    )
    .await;
    assert_eq!(applied(&again).status, OrderStatus::Registered);
    assert_eq!(
        balance_of(&pull(&app, &rep).await, account),
        before - d.totals.total
    );

    // Three of p1 are left: four are refused, naming what is left.
    let (code, msg) = rejected(
        &draft_return(
            &app,
            &rep,
            account,
            Some(&original.id),
            json!([{ "product_id": p1, "quantity": 4, "reason": "expiry" }]),
        )
        .await,
    );
    assert_eq!(code, ErrorCode::InvalidField);
    assert!(msg.contains("at most 3"), "{msg}");
    // Two lines of the same product add up.
    let (_, msg) = rejected(
        &draft_return(
            &app,
            &rep,
            account,
            Some(&original.id),
            json!([{ "product_id": p1, "quantity": 2, "reason": "expiry" },
                   { "product_id": p1, "quantity": 2, "reason": "damage" }]),
        )
        .await,
    );
    assert!(
        msg.contains("lines[1]") && msg.contains("at most 1"),
        "{msg}"
    );
    // Not at another price than the client paid.
    let (code, _) = rejected(
        &draft_return(
            &app,
            &rep,
            account,
            Some(&original.id),
            json!([{ "product_id": p1, "quantity": 1, "reason": "expiry", "unit_price": price1 + 1 }]),
        )
        .await,
    );
    assert_eq!(code, ErrorCode::InvalidAmount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_returns_are_refused_with_a_reason_and_change_nothing() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (accounts, products) = accounts_and_products(&app, &rep).await;
    let (account, other_account) = (&accounts[0], &accounts[1]);
    let (p1, price1) = products[0].clone();
    let (p2, _) = products[1].clone();
    let original = purchase(&app, &rep, account, &[(&p1, 2, price1)]).await;
    let before = pull(&app, &rep).await;

    let cases: Vec<(Value, &str)> = vec![
        // A return line without a reason.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": account, "kind": "return",
                    "original_order_id": original.id, "lines": [{ "product_id": p1, "quantity": 1 }] }),
            "reason",
        ),
        // A purchase line with one.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": account,
                    "lines": [{ "product_id": p1, "quantity": 1, "reason": "damage" }] }),
            "only returns have reasons",
        ),
        // An unknown reason.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": account, "kind": "return",
                    "lines": [{ "product_id": p1, "quantity": 1, "reason": "changed_mind" }] }),
            "",
        ),
        // An original that does not exist.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": account, "kind": "return",
                    "original_order_id": "no-such-order-1", "lines": [{ "product_id": p1, "quantity": 1, "reason": "expiry" }] }),
            "no such order",
        ),
        // Another client's order.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": other_account, "kind": "return",
                    "original_order_id": original.id, "lines": [{ "product_id": p1, "quantity": 1, "reason": "expiry" }] }),
            "another client",
        ),
        // A product that is not on the original.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": account, "kind": "return",
                    "original_order_id": original.id, "lines": [{ "product_id": p2, "quantity": 1, "reason": "expiry" }] }),
            "not on the original",
        ),
        // A purchase naming an original.
        (
            json!({ "type": "upsert_order", "order_id": id(), "account_id": account,
                    "original_order_id": original.id, "lines": [{ "product_id": p1, "quantity": 1 }] }),
            "only a return",
        ),
    ];
    for (op, needle) in cases {
        let r = app
            .post_json(
                "/v1/mutations",
                &rep.access_token,
                &json!({ "mutations": [{ "client_id": id(), "op": op }] }),
            )
            .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        if needle.is_empty() {
            // Not even a mutation: the batch is refused whole, naming what is allowed.
            assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{text}");
            assert!(
                text.contains("malformed_body") && text.contains("wrong_item"),
                "{text}"
            );
            continue;
        }
        let res: MutationResults = serde_json::from_str(&text).unwrap();
        let (_, msg) = rejected(&res);
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
    // A return of a return is refused.
    let d = applied(
        &draft_return(
            &app,
            &rep,
            account,
            Some(&original.id),
            json!([{ "product_id": p1, "quantity": 1, "reason": "wrong_item" }]),
        )
        .await,
    );
    let (_, submitted) = sign_and_submit(&app, &rep, &d, None).await;
    assert_eq!(applied(&submitted).status, OrderStatus::Registered);
    let (_, msg) = rejected(
        &draft_return(
            &app,
            &rep,
            account,
            Some(&d.id),
            json!([{ "product_id": p1, "quantity": 1, "reason": "expiry" }]),
        )
        .await,
    );
    assert!(msg.contains("not a purchase order"), "{msg}");
    // A return signed with a purchase-order number is refused; with its own series it is not.
    let d2 = applied(
        &draft_return(
            &app,
            &rep,
            account,
            None,
            json!([{ "product_id": p2, "quantity": 1, "reason": "other" }]),
        )
        .await,
    );
    let day = fieldpay_protocol::time::kst_date(
        fieldpay_protocol::time::parse_ts(crate::helpers::SIGNED_AT).unwrap(),
    )
    .replace('-', "");
    let (signed, _) = sign_and_submit(&app, &rep, &d2, Some(&format!("PO-{day}-R01-0009"))).await;
    let (_, msg) = rejected(&signed);
    assert!(msg.contains("is not RT-"), "{msg}");
    let (signed, submitted) =
        sign_and_submit(&app, &rep, &d2, Some(&format!("RT-{day}-R01-0009"))).await;
    assert!(matches!(
        signed.results[0].outcome,
        MutationOutcome::Applied { .. }
    ));
    assert_eq!(
        applied(&submitted).number.as_deref(),
        Some(format!("RT-{day}-R01-0009").as_str())
    );
    // Nothing else changed: only the two registered returns' entries are new.
    let after = pull(&app, &rep).await;
    let new_entries: Vec<_> = after
        .changes
        .iter()
        .filter_map(|c| match &c.data {
            ChangeData::Ledger(l) if c.seq > before.cursor => Some(l.kind),
            _ => None,
        })
        .collect();
    assert_eq!(new_entries, vec![LedgerKind::Return, LedgerKind::Return]);
}

/// Two returns drafted against the same goods: the first registered takes them; the second is
/// refused when it is submitted (its rejection stored), not registered over what was bought.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_drafted_together_cannot_take_back_more_than_was_bought() {
    let app = spawn_app().await;
    let rep = login(&app, "rep1", "demo1234").await;
    let (accounts, products) = accounts_and_products(&app, &rep).await;
    let account = &accounts[0];
    let (p1, price1) = products[0].clone();
    let original = purchase(&app, &rep, account, &[(&p1, 5, price1)]).await;
    let lines = json!([{ "product_id": p1, "quantity": 3, "reason": "expiry" }]);
    let a = applied(&draft_return(&app, &rep, account, Some(&original.id), lines.clone()).await);
    let b = applied(&draft_return(&app, &rep, account, Some(&original.id), lines).await);
    let (_, first) = sign_and_submit(&app, &rep, &a, None).await;
    assert_eq!(applied(&first).status, OrderStatus::Registered);
    let (_, second) = sign_and_submit(&app, &rep, &b, None).await;
    let (code, msg) = rejected(&second);
    assert_eq!(code, ErrorCode::InvalidField);
    assert!(msg.contains("at most 2"), "{msg}");
    let page = pull(&app, &rep).await;
    let stored = page
        .changes
        .iter()
        .rev()
        .find_map(|c| match &c.data {
            ChangeData::Order(o) if o.id == b.id => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Rejected);
    assert!(stored.reject_reason.unwrap().contains("at most 2"));
    let returns = page
        .changes
        .iter()
        .filter(|c| matches!(&c.data, ChangeData::Ledger(l) if l.kind == LedgerKind::Return))
        .count();
    assert_eq!(returns, 1);
}
