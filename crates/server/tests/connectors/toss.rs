//! The production Toss Payments connector against the Toss stand-in.

use std::time::Duration;

use base64::Engine;
use fieldpay_protocol::{CardNumber, Secret};
use fieldpay_server::card::toss::{TossConfig, TossConnector};
use fieldpay_server::card::{
    approve_with_recovery, ApprovalFailure, ApproveRequest, CancelRequest, CardCompany,
    CardConnector, CardInput, ConnectorError, DeclineCode, PaymentMethod, TxnState,
};
use fieldpay_standins::toss::{start, CancelScript, TossHandle};
use fieldpay_standins::StandIn;

const SECRET: &str = "test_sk_fieldpayStandIn7Qz2";
const CANARY: &str = "5409263141592659";
const MASKED: &str = "540926******2659";

fn connector(base_url: &str, secret: &str, timeout_ms: u64) -> TossConnector {
    TossConnector::new(TossConfig {
        secret_key: Secret::new(secret),
        base_url: base_url.to_owned(),
        timeout: Duration::from_millis(timeout_ms),
    })
    .expect("connector")
}

async fn setup() -> (StandIn, TossHandle, TossConnector) {
    let (standin, handle) = start(SECRET).await;
    let conn = connector(&standin.base_url, SECRET, 5_000);
    (standin, handle, conn)
}

fn canary() -> CardNumber {
    CardNumber::parse(CANARY).unwrap()
}

fn input(number: &CardNumber) -> CardInput<'_> {
    CardInput {
        number,
        expiry_mmyy: "0839",
        birth_or_business: Some("880714"),
        password2: Some("47"),
    }
}

fn request<'a>(key: &'a str, amount: i64, months: u8, card: CardInput<'a>) -> ApproveRequest<'a> {
    ApproveRequest {
        key,
        order_name: "감기약 외 2건",
        amount,
        installment_months: months,
        method: PaymentMethod::Card(card),
        merchant_id: "m_1",
    }
}

fn cancel<'a>(key: &'a str, idem: &'a str, amount: Option<i64>) -> CancelRequest<'a> {
    CancelRequest {
        key,
        idempotency_key: idem,
        reason: "고객 요청",
        amount,
    }
}

#[tokio::test]
async fn approves_with_the_documented_request_and_reads_the_payment() {
    let (standin, handle, conn) = setup().await;
    let number = canary();
    let approval = conn
        .approve(&request("chg_approve01", 60_000, 3, input(&number)))
        .await
        .expect("approved");
    assert_eq!(approval.masked_card, MASKED);
    assert_eq!(approval.card_last4, "2659");
    assert_eq!(approval.issuer, CardCompany::Kb);
    assert_eq!(approval.acquirer_code, "11");
    assert_eq!(approval.installment_months, 3);
    assert_eq!(approval.amount, 60_000);
    assert_eq!(approval.approval_number.len(), 8);

    // The wire request, as Toss documents it.
    let reqs = standin.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/payments/key-in")
    );
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:"))
    );
    assert_eq!(r.header("authorization"), Some(expected_auth.as_str()));
    assert_eq!(r.header("idempotency-key"), Some("chg_approve01"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "amount": 60000,
            "orderId": "chg_approve01",
            "orderName": "감기약 외 2건",
            "cardNumber": CANARY,
            "cardExpirationYear": "39",
            "cardExpirationMonth": "08",
            "customerIdentityNumber": "880714",
            "cardPassword": "47",
            "cardInstallmentPlan": 3
        })
    );

    // Inquiry by order id finds the same approval.
    let state = conn.inquire("chg_approve01").await.unwrap();
    assert_eq!(state, Some(TxnState::Approved(approval.clone())));
    assert_eq!(handle.approved_count(), 1);

    // A repeat of the same attempt is the same approval, not a second one.
    let again = conn
        .approve(&request("chg_approve01", 60_000, 3, input(&number)))
        .await
        .unwrap();
    assert_eq!(again, approval);
    assert_eq!(handle.approved_count(), 1);
    assert_eq!(handle.replays(), 1);
    assert!(handle.idempotency_conflicts().is_empty());
}

#[tokio::test]
async fn lump_sum_without_optional_fields_and_issuer_codes() {
    let (standin, handle, conn) = setup().await;
    let number = canary();
    handle.set_issuer(&CANARY[..6], "41", "41");
    let card = CardInput {
        birth_or_business: None,
        password2: None,
        ..input(&number)
    };
    let a = conn
        .approve(&request("chg_lump0001", 1_000, 0, card))
        .await
        .unwrap();
    assert_eq!(a.issuer, CardCompany::Shinhan);
    assert_eq!(a.installment_months, 0);
    let body: serde_json::Value = serde_json::from_str(&standin.requests()[0].body).unwrap();
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "amount",
            "cardExpirationMonth",
            "cardExpirationYear",
            "cardNumber",
            "orderId",
            "orderName"
        ]
    );

    // A bank card that is none of the nine (광주 46) is recorded under its acquirer (BC 31).
    handle.set_issuer(&CANARY[..6], "46", "31");
    let a = conn
        .approve(&request("chg_lump0002", 1_000, 0, card))
        .await
        .unwrap();
    assert_eq!(a.issuer, CardCompany::Bc);
    assert_eq!(a.acquirer_code, "31");
    // Woori cards acquired by BC (33) are still Woori's.
    handle.set_issuer(&CANARY[..6], "33", "31");
    let a = conn
        .approve(&request("chg_lump0003", 1_000, 0, card))
        .await
        .unwrap();
    assert_eq!(a.issuer, CardCompany::Woori);
}

#[tokio::test]
async fn every_mapped_decline_code() {
    let (_standin, handle, conn) = setup().await;
    let number = canary();
    let cases = [
        ("REJECT_CARD_PAYMENT", DeclineCode::InsufficientFunds),
        ("REJECT_ACCOUNT_PAYMENT", DeclineCode::InsufficientFunds),
        ("INVALID_CARD_LOST_OR_STOLEN", DeclineCode::LostOrStolen),
        ("INVALID_CARD_PASSWORD", DeclineCode::WrongPassword),
        ("EXCEED_MAX_DAILY_PAYMENT_COUNT", DeclineCode::OverLimit),
        ("EXCEED_MAX_PAYMENT_AMOUNT", DeclineCode::OverLimit),
        ("EXCEED_MAX_ONE_DAY_AMOUNT", DeclineCode::OverLimit),
        ("EXCEED_MAX_AMOUNT", DeclineCode::OverLimit),
        ("EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT", DeclineCode::OverLimit),
        ("EXCEED_UNKNOWN_CASE", DeclineCode::OverLimit),
        ("INVALID_CARD_NUMBER", DeclineCode::InvalidCard),
        ("INVALID_STOPPED_CARD", DeclineCode::InvalidCard),
        ("INVALID_CARD", DeclineCode::InvalidCard),
        ("INVALID_CARD_EXPIRATION", DeclineCode::Expired),
        ("NOT_SUPPORTED_CARD_TYPE", DeclineCode::UnknownBin),
        ("INVALID_CARD_COMPANY", DeclineCode::UnknownBin),
        ("NOT_REGISTERED_CARD_COMPANY", DeclineCode::UnknownBin),
        (
            "INVALID_CARD_INSTALLMENT_PLAN",
            DeclineCode::InvalidInstallments,
        ),
        (
            "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT",
            DeclineCode::InvalidInstallments,
        ),
        (
            "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN",
            DeclineCode::InvalidInstallments,
        ),
        (
            "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT",
            DeclineCode::InvalidInstallments,
        ),
        (
            "EXCEED_MAX_CARD_INSTALLMENT_PLAN",
            DeclineCode::InvalidInstallments,
        ),
        (
            "NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT",
            DeclineCode::InvalidInstallments,
        ),
        (
            "INVALID_CARD_INSTALLMENT_AMOUNT",
            DeclineCode::InvalidInstallments,
        ),
        ("REJECT_CARD_COMPANY", DeclineCode::Other),
        ("INVALID_REJECT_CARD", DeclineCode::Other),
        ("INVALID_CARD_IDENTITY", DeclineCode::Other),
        ("INVALID_BIRTH_DAY_FORMAT", DeclineCode::Other),
        ("EXCEED_MAX_AUTH_COUNT", DeclineCode::Other),
        ("FDS_ERROR", DeclineCode::Other),
        ("NOT_ALLOWED_POINT_USE", DeclineCode::Other),
    ];
    for (i, (toss_code, ours)) in cases.iter().enumerate() {
        handle.decline_next(toss_code);
        let key = format!("chg_decline{i:03}");
        let err = conn
            .approve(&request(&key, 60_000, 0, input(&number)))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ConnectorError::Declined {
                code: *ours,
                masked_card: Some(MASKED.into()),
                issuer: None,
            },
            "{toss_code}"
        );
        assert_eq!(conn.inquire(&key).await.unwrap(), None, "{toss_code}");
    }
    assert_eq!(handle.approved_count(), 0);

    // The stand-in's own validation, through the real request: installments under 50,000 KRW.
    let err = conn
        .approve(&request("chg_inst0001", 10_000, 3, input(&number)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Declined {
                code: DeclineCode::InvalidInstallments,
                ..
            }
        ),
        "{err:?}"
    );

    // Through approve_with_recovery the payer gets the decline.
    handle.decline_next("REJECT_CARD_COMPANY");
    let failure = approve_with_recovery(&conn, &request("chg_declwr01", 5_000, 0, input(&number)))
        .await
        .unwrap_err();
    assert_eq!(
        failure,
        ApprovalFailure::Declined {
            code: DeclineCode::Other,
            masked_card: Some(MASKED.into()),
            issuer: None
        }
    );
}

#[tokio::test]
async fn bad_secret_key_and_contract_errors_are_unavailable() {
    let (standin, handle, _conn) = setup().await;
    let number = canary();
    let wrong = connector(&standin.base_url, "test_sk_notTheRightKey", 5_000);
    let err = wrong
        .approve(&request("chg_badkey01", 5_000, 0, input(&number)))
        .await
        .unwrap_err();
    match &err {
        ConnectorError::Unavailable(msg) => {
            assert!(
                msg.contains("secret key") && msg.contains("UNAUTHORIZED_KEY"),
                "{msg}"
            );
            assert!(!msg.contains("notTheRightKey"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        wrong.inquire("chg_badkey01").await,
        Err(ConnectorError::Unavailable(_))
    ));
    let failure = approve_with_recovery(&wrong, &request("chg_badkey02", 5_000, 0, input(&number)))
        .await
        .unwrap_err();
    assert_eq!(failure, ApprovalFailure::NotCharged);
    assert_eq!(handle.approved_count(), 0);
    // Rejected at the door: no key-in was processed.
    assert_eq!(handle.key_in_processed(), 0);

    // Toss's own "wrong secret key" code (400 INVALID_API_KEY) too.
    let conn = connector(&standin.base_url, SECRET, 5_000);
    handle.decline_next("INVALID_API_KEY");
    assert!(matches!(
        conn.approve(&request("chg_badkey03", 5_000, 0, input(&number))).await,
        Err(ConnectorError::Unavailable(m)) if m.contains("INVALID_API_KEY")
    ));

    // A contract that requires the birth date, and a call that did not collect it.
    handle.require_customer_identity(true);
    let card = CardInput {
        birth_or_business: None,
        ..input(&number)
    };
    assert!(matches!(
        conn.approve(&request("chg_noident1", 5_000, 0, card)).await,
        Err(ConnectorError::Unavailable(m)) if m.contains("INVALID_REQUIRED_PARAM")
    ));
    assert_eq!(handle.approved_count(), 0);
}

#[tokio::test]
async fn server_error_is_unknown_and_recovery_finds_nothing() {
    let (_standin, handle, conn) = setup().await;
    let number = canary();
    handle.fail_next();
    assert_eq!(
        conn.approve(&request("chg_5xx00001", 5_000, 0, input(&number)))
            .await,
        Err(ConnectorError::Timeout)
    );
    assert_eq!(conn.inquire("chg_5xx00001").await, Ok(None));

    handle.fail_next();
    let failure = approve_with_recovery(&conn, &request("chg_5xx00002", 5_000, 0, input(&number)))
        .await
        .unwrap_err();
    assert_eq!(failure, ApprovalFailure::NotCharged);
    assert_eq!(handle.approved_count(), 0);
}

#[tokio::test]
async fn timeout_then_inquiry_finds_it() {
    let (standin, handle, _) = setup().await;
    let conn = connector(&standin.base_url, SECRET, 400);
    let number = canary();
    handle.approve_and_lose_next(2_000);
    assert_eq!(
        conn.approve(&request("chg_lost0001", 5_000, 0, input(&number)))
            .await,
        Err(ConnectorError::Timeout)
    );
    match conn.inquire("chg_lost0001").await.unwrap() {
        Some(TxnState::Approved(a)) => {
            assert_eq!(a.amount, 5_000);
            // The masked form of the keyed card, not Toss's.
            assert_eq!(a.masked_card, MASKED);
        }
        other => panic!("{other:?}"),
    }
    // A fresh connector (a restart) builds the masked number from Toss's.
    let restarted = connector(&standin.base_url, SECRET, 5_000);
    match restarted.inquire("chg_lost0001").await.unwrap() {
        Some(TxnState::Approved(a)) => assert_eq!(a.masked_card, "540926******265*"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn timeout_then_inquiry_finds_nothing() {
    let (standin, handle, _) = setup().await;
    let conn = connector(&standin.base_url, SECRET, 400);
    let number = canary();
    handle.stall_next(2_000);
    assert_eq!(
        conn.approve(&request("chg_stall001", 5_000, 0, input(&number)))
            .await,
        Err(ConnectorError::Timeout)
    );
    assert_eq!(conn.inquire("chg_stall001").await, Ok(None));
    assert_eq!(handle.approved_count(), 0);
}

#[tokio::test]
async fn lost_answer_is_resolved_once_by_approve_with_recovery() {
    let (standin, handle, _) = setup().await;
    let conn = connector(&standin.base_url, SECRET, 400);
    let number = canary();
    handle.approve_and_lose_next(2_000);
    let approval = approve_with_recovery(&conn, &request("chg_recover1", 7_700, 0, input(&number)))
        .await
        .expect("resolved by inquiry");
    assert_eq!(approval.amount, 7_700);
    assert_eq!(approval.masked_card, MASKED);
    // Exactly one approval, one key-in, no network cancel.
    assert_eq!(handle.approved_count(), 1);
    assert_eq!(handle.key_in_processed(), 1);
    assert_eq!(handle.cancel_count("chg_recover1"), 0);
    let reqs = standin.requests();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.path == "/v1/payments/key-in")
            .count(),
        1
    );
    assert!(reqs.iter().all(|r| !r.path.ends_with("/cancel")));
    assert_eq!(
        handle.payment("chg_recover1").unwrap()["status"],
        serde_json::json!("DONE")
    );
}

#[tokio::test]
async fn whole_cancel() {
    let (standin, handle, conn) = setup().await;
    let number = canary();
    let a = conn
        .approve(&request("chg_cancel01", 12_000, 0, input(&number)))
        .await
        .unwrap();
    let state = conn
        .cancel(&cancel("chg_cancel01", "chg_cancel01-r1", None))
        .await
        .unwrap();
    match &state {
        TxnState::Canceled { approval, .. } => assert_eq!(approval, &a),
        other => panic!("{other:?}"),
    }
    assert_eq!(state.canceled_amount(), 12_000);
    // The wire: lookup by order id, then the cancel by payment key with the idempotency key.
    let reqs = standin.requests();
    let post = reqs.iter().find(|r| r.path.ends_with("/cancel")).unwrap();
    let payment_key = handle.payment("chg_cancel01").unwrap()["paymentKey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(post.path, format!("/v1/payments/{payment_key}/cancel"));
    assert_eq!(post.header("idempotency-key"), Some("chg_cancel01-r1"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&post.body).unwrap(),
        serde_json::json!({"cancelReason": "고객 요청"})
    );
    assert!(reqs
        .iter()
        .any(|r| r.method == "GET" && r.path == "/v1/payments/orders/chg_cancel01"));

    // Nothing left: a new cancel is AlreadyCanceled; the inquiry says canceled.
    assert_eq!(
        conn.cancel(&cancel("chg_cancel01", "chg_cancel01-r2", None))
            .await,
        Err(ConnectorError::AlreadyCanceled)
    );
    assert!(conn
        .inquire("chg_cancel01")
        .await
        .unwrap()
        .unwrap()
        .is_canceled());
    assert_eq!(handle.cancel_count("chg_cancel01"), 1);

    // Unknown order.
    assert_eq!(
        conn.cancel(&cancel("chg_nosuch01", "chg_nosuch01-r1", None))
            .await,
        Err(ConnectorError::NotFound)
    );
}

#[tokio::test]
async fn partial_cancel_then_the_rest() {
    let (standin, handle, conn) = setup().await;
    let number = canary();
    conn.approve(&request("chg_partial1", 60_000, 0, input(&number)))
        .await
        .unwrap();
    let state = conn
        .cancel(&cancel("chg_partial1", "chg_partial1-r1", Some(10_000)))
        .await
        .unwrap();
    match state {
        TxnState::PartiallyCanceled {
            canceled_amount, ..
        } => assert_eq!(canceled_amount, 10_000),
        other => panic!("{other:?}"),
    }
    let body = standin
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/cancel"))
        .unwrap()
        .body;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"cancelReason": "고객 요청", "cancelAmount": 10000})
    );
    // More than remains is refused, nothing changes.
    assert!(matches!(
        conn.cancel(&cancel("chg_partial1", "chg_partial1-r2", Some(60_000))).await,
        Err(ConnectorError::Unavailable(m)) if m.contains("NOT_CANCELABLE_AMOUNT")
    ));
    // The rest.
    let state = conn
        .cancel(&cancel("chg_partial1", "chg_partial1-r3", None))
        .await
        .unwrap();
    assert!(state.is_canceled());
    assert_eq!(state.canceled_amount(), 60_000);
    assert_eq!(handle.cancel_count("chg_partial1"), 2);
    let payment = handle.payment("chg_partial1").unwrap();
    assert_eq!(payment["balanceAmount"], 0);
    assert_eq!(payment["status"], "CANCELED");
}

#[tokio::test]
async fn repeated_cancel_with_the_same_key_cancels_once() {
    let (standin, handle, conn) = setup().await;
    let number = canary();
    conn.approve(&request("chg_repeat01", 30_000, 0, input(&number)))
        .await
        .unwrap();
    let first = conn
        .cancel(&cancel("chg_repeat01", "chg_repeat01-r1", Some(5_000)))
        .await
        .unwrap();
    let second = conn
        .cancel(&cancel("chg_repeat01", "chg_repeat01-r1", Some(5_000)))
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(second.canceled_amount(), 5_000);
    assert_eq!(handle.cancel_count("chg_repeat01"), 1);

    // A cancel whose answer is lost, retried with its key: still one cancel.
    let slow = connector(&standin.base_url, SECRET, 400);
    handle.script_cancel(CancelScript::CancelAndLoseAnswer(Duration::from_millis(
        2_000,
    )));
    assert_eq!(
        slow.cancel(&cancel("chg_repeat01", "chg_repeat01-r2", Some(7_000)))
            .await,
        Err(ConnectorError::Timeout)
    );
    let retried = conn
        .cancel(&cancel("chg_repeat01", "chg_repeat01-r2", Some(7_000)))
        .await
        .unwrap();
    assert_eq!(retried.canceled_amount(), 12_000);
    assert_eq!(handle.cancel_count("chg_repeat01"), 2);

    // A cancel that failed (5xx) is unknown to us, and nothing was canceled.
    handle.script_cancel(CancelScript::ServerError);
    assert_eq!(
        conn.cancel(&cancel("chg_repeat01", "chg_repeat01-r3", Some(1_000)))
            .await,
        Err(ConnectorError::Timeout)
    );
    assert_eq!(handle.cancel_count("chg_repeat01"), 2);
    assert!(handle.idempotency_conflicts().is_empty());
}

/// The stand-in's strictness, by raw HTTP (what the connector never sends).
#[tokio::test]
async fn standin_rejects_what_toss_rejects() {
    let (standin, handle) = start(SECRET).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/payments/key-in", standin.base_url);
    let good = serde_json::json!({
        "amount": 1000, "orderId": "raw_order01", "orderName": "x",
        "cardNumber": CANARY, "cardExpirationYear": "39", "cardExpirationMonth": "08"
    });
    let send = |body: serde_json::Value, idem: Option<&str>, user: &str, pass: Option<&str>| {
        let mut rb = http.post(&url).basic_auth(user, pass).json(&body);
        if let Some(k) = idem {
            rb = rb.header("Idempotency-Key", k);
        }
        async move {
            let resp = rb.send().await.unwrap();
            let status = resp.status().as_u16();
            let v: serde_json::Value = resp.json().await.unwrap();
            (status, v["code"].as_str().unwrap_or("").to_owned())
        }
    };
    let with = |k: &str, v: serde_json::Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    assert_eq!(
        send(good.clone(), Some("i1"), SECRET, Some("x")).await,
        (401, "UNAUTHORIZED_KEY".into())
    );
    assert_eq!(
        send(good.clone(), Some("i1"), "other", Some("")).await,
        (401, "UNAUTHORIZED_KEY".into())
    );
    assert_eq!(
        send(good.clone(), None, SECRET, Some("")).await,
        (400, "INVALID_IDEMPOTENCY_KEY".into())
    );
    assert_eq!(
        send(with("extra", 1.into()), Some("i2"), SECRET, None).await,
        (400, "INVALID_REQUEST".into())
    );
    assert_eq!(
        send(with("amount", "1000".into()), Some("i3"), SECRET, None).await,
        (400, "INVALID_REQUEST".into())
    );
    let mut missing = good.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("cardExpirationMonth");
    assert_eq!(
        send(missing, Some("i4"), SECRET, None).await,
        (400, "INVALID_REQUIRED_PARAM".into())
    );
    assert_eq!(
        send(
            with("cardNumber", "5409263141592658".into()),
            Some("i5"),
            SECRET,
            None
        )
        .await,
        (400, "INVALID_CARD_NUMBER".into())
    );
    assert_eq!(
        send(
            with("cardExpirationYear", "20".into()),
            Some("i6"),
            SECRET,
            None
        )
        .await,
        (400, "INVALID_CARD_EXPIRATION".into())
    );
    assert_eq!(
        send(with("orderId", "a/b".into()), Some("i7"), SECRET, None).await,
        (400, "INVALID_ORDER_ID".into())
    );
    // Approved, then the same order id under a new idempotency key.
    assert_eq!(send(good.clone(), Some("i8"), SECRET, None).await.0, 200);
    assert_eq!(
        send(good.clone(), Some("i9"), SECRET, None).await,
        (400, "DUPLICATED_ORDER_ID".into())
    );
    // Same key, different body: the first answer again (as Toss), and recorded as a conflict.
    assert_eq!(
        send(with("amount", 2000.into()), Some("i8"), SECRET, None)
            .await
            .0,
        200
    );
    assert_eq!(handle.idempotency_conflicts().len(), 1);
    assert_eq!(handle.approved_count(), 1);
    // Unknown order: 404 NOT_FOUND_PAYMENT.
    let resp = http
        .get(format!(
            "{}/v1/payments/orders/nosuch_order",
            standin.base_url
        ))
        .basic_auth(SECRET, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn canary_card_number_only_in_the_key_in_request_body() {
    let (standin, handle, conn) = setup().await;
    let slow = connector(&standin.base_url, SECRET, 400);
    let wrong = connector(&standin.base_url, "test_sk_wrongwrongwrong", 5_000);
    let number = canary();
    let mut outputs = Vec::new();

    let a = conn
        .approve(&request("chg_canary01", 60_000, 2, input(&number)))
        .await
        .unwrap();
    outputs.push(format!("{a:?}"));
    handle.decline_next("INVALID_CARD_LOST_OR_STOLEN");
    let e = conn
        .approve(&request("chg_canary02", 60_000, 0, input(&number)))
        .await
        .unwrap_err();
    outputs.push(format!("{e} {e:?}"));
    handle.approve_and_lose_next(2_000);
    let r = approve_with_recovery(&slow, &request("chg_canary03", 9_000, 0, input(&number))).await;
    outputs.push(format!("{r:?}"));
    let e = wrong
        .approve(&request("chg_canary04", 9_000, 0, input(&number)))
        .await
        .unwrap_err();
    outputs.push(format!("{e} {e:?}"));
    let s = conn
        .cancel(&cancel("chg_canary01", "chg_canary01-r1", Some(1_000)))
        .await
        .unwrap();
    outputs.push(format!("{s:?}"));
    outputs.push(format!("{conn:?} {:?}", conn.inquire("chg_canary03").await));

    for out in &outputs {
        assert!(!out.contains(CANARY), "canary in {out}");
        assert!(!out.contains("3141592"), "card digits in {out}");
    }
    let reqs = standin.requests();
    assert!(reqs.len() >= 8, "{}", reqs.len());
    let mut bodies_with_canary = 0;
    for r in &reqs {
        let head = format!("{} {} {:?}", r.method, r.path, r.headers);
        assert!(!head.contains(CANARY), "canary outside a body: {head}");
        if r.body.contains(CANARY) {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", "/v1/payments/key-in")
            );
            bodies_with_canary += 1;
        }
    }
    // Four key-in requests: approve, decline, the lost one, the wrong key.
    assert_eq!(bodies_with_canary, 4);
    // Nor do the stand-in's answers (the inquiries) carry it: Toss masks the number.
    let p = handle.payment("chg_canary01").unwrap().to_string();
    assert!(!p.contains(CANARY) && p.contains("54092631****265*"), "{p}");
}

#[tokio::test]
async fn a_repeat_in_flight_is_unknown_and_an_unreachable_server_is_unavailable() {
    let (_standin, handle, conn) = setup().await;
    let number = canary();
    // The first request is still being processed when the same attempt is sent again: Toss
    // answers 409 IDEMPOTENT_REQUEST_PROCESSING, which leaves the outcome open.
    handle.delay_next(800);
    let first_req = request("chg_inflight", 5_000, 0, input(&number));
    let second_req = request("chg_inflight", 5_000, 0, input(&number));
    let (first, second) = tokio::join!(conn.approve(&first_req), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        conn.approve(&second_req).await
    });
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(second, Err(ConnectorError::Timeout));
    assert_eq!(handle.approved_count(), 1);

    // Nothing listens on this port: the request never left.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let nowhere = connector(&closed, SECRET, 2_000);
    assert!(matches!(
        nowhere.approve(&request("chg_nowhere1", 5_000, 0, input(&number))).await,
        Err(ConnectorError::Unavailable(m)) if m.contains("unreachable") && !m.contains(CANARY)
    ));
    assert!(matches!(
        nowhere.inquire("chg_nowhere1").await,
        Err(ConnectorError::Unavailable(_))
    ));
}
