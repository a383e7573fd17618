//! The PortOne V2 connector (production code, over reqwest) against the PortOne stand-in.

use std::time::Duration;

use fieldpay_protocol::{CardNumber, Secret};
use fieldpay_server::card::portone::{PortOneConfig, PortOneConnector};
use fieldpay_server::card::{
    approve_with_recovery, ApprovalFailure, ApproveRequest, CancelRequest, CardCompany,
    CardConnector, CardInput, ConnectorError, DeclineCode, PaymentMethod, TxnState,
};
use fieldpay_standins::portone::{self as standin, Behaviour, Op, PortOneHandle};
use fieldpay_standins::StandIn;

const SECRET: &str = "portone-api-secret-test-0001";
const CHANNEL: &str = "channel-key-1b2c3d4e-live";
const CANARY: &str = "5409263141592659";

async fn setup_with(timeout: Duration) -> (StandIn, PortOneHandle, PortOneConnector) {
    let (si, handle) = standin::start(SECRET, CHANNEL).await;
    let conn = connector(&si.base_url, SECRET, CHANNEL, timeout);
    (si, handle, conn)
}

async fn setup() -> (StandIn, PortOneHandle, PortOneConnector) {
    setup_with(Duration::from_secs(5)).await
}

fn connector(base: &str, secret: &str, channel: &str, timeout: Duration) -> PortOneConnector {
    PortOneConnector::new(PortOneConfig {
        api_secret: Secret::new(secret),
        channel_key: channel.to_owned(),
        base_url: base.to_owned(),
        timeout,
    })
    .expect("connector")
}

fn canary() -> CardNumber {
    CardNumber::parse(CANARY).unwrap()
}

fn request<'a>(
    key: &'a str,
    number: &'a CardNumber,
    amount: i64,
    months: u8,
) -> ApproveRequest<'a> {
    ApproveRequest {
        key,
        order_name: "감기약 외 2건",
        amount,
        installment_months: months,
        method: PaymentMethod::Card(CardInput {
            number,
            expiry_mmyy: "0839",
            birth_or_business: Some("880714"),
            password2: Some("47"),
        }),
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
async fn approve_sends_the_documented_request_and_maps_the_payment() {
    let (si, handle, conn) = setup().await;
    handle.set_issuer("KOOKMIN_CARD");
    let number = canary();
    let approval = conn
        .approve(&request("chg_approve1", &number, 60_000, 3))
        .await
        .unwrap();
    assert_eq!(approval.issuer, CardCompany::Kb);
    assert_eq!(approval.masked_card, "540926******2659");
    assert_eq!(approval.card_last4, "2659");
    assert_eq!(approval.installment_months, 3);
    assert_eq!(approval.amount, 60_000);
    assert_eq!(approval.approval_number.len(), 8);
    let stored = handle.payment("chg_approve1").unwrap();
    assert_eq!(stored.status, "PAID");
    assert_eq!(stored.approval_number, approval.approval_number);
    assert_eq!(stored.approvals, 1);

    let reqs = si.requests();
    assert_eq!(reqs.len(), 2, "instant, then the payment read");
    let instant = &reqs[0];
    assert_eq!(instant.method, "POST");
    assert_eq!(instant.path, "/payments/chg_approve1/instant");
    assert_eq!(
        instant.header("authorization"),
        Some(format!("PortOne {SECRET}").as_str())
    );
    let body: serde_json::Value = serde_json::from_str(&instant.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "channelKey": CHANNEL,
            "orderName": "감기약 외 2건",
            "amount": {"total": 60000},
            "currency": "KRW",
            "method": {"card": {
                "credential": {
                    "number": CANARY,
                    "expiryYear": "39",
                    "expiryMonth": "08",
                    "birthOrBusinessRegistrationNumber": "880714",
                    "passwordTwoDigits": "47"
                },
                "installmentMonth": 3
            }}
        })
    );
    assert_eq!(reqs[1].method, "GET");
    assert_eq!(reqs[1].path, "/payments/chg_approve1");

    // Inquiry reads the same approval from what PortOne reports.
    let Some(TxnState::Approved(found)) = conn.inquire("chg_approve1").await.unwrap() else {
        panic!("not approved")
    };
    assert_eq!(found, approval);
}

#[tokio::test]
async fn repeat_of_an_approved_key_returns_the_same_approval() {
    let (_si, handle, conn) = setup().await;
    let number = canary();
    let first = conn
        .approve(&request("chg_repeat1", &number, 12_000, 0))
        .await
        .unwrap();
    // PortOne answers ALREADY_PAID; the connector reads and answers the existing approval.
    let second = conn
        .approve(&request("chg_repeat1", &number, 12_000, 0))
        .await
        .unwrap();
    assert_eq!(first, second);
    let mut other = request("chg_repeat1", &number, 12_000, 0);
    other.order_name = "다른 주문명";
    let third = conn.approve(&other).await.unwrap();
    assert_eq!(first, third);
    assert_eq!(handle.payment("chg_repeat1").unwrap().approvals, 1);
}

#[tokio::test]
async fn each_mapped_pg_decline_code() {
    let (_si, handle, conn) = setup().await;
    let number = canary();
    let cases = [
        ("CC10", "통장 잔액부족", DeclineCode::InsufficientFunds),
        ("CC04", "분실 혹은 거래불가 카드", DeclineCode::LostOrStolen),
        ("CC43", "도난카드", DeclineCode::LostOrStolen),
        ("CC63", "비밀번호 오류", DeclineCode::WrongPassword),
        ("CC61", "거래금액 한도초과", DeclineCode::OverLimit),
        ("CC14", "카드번호 오류", DeclineCode::InvalidCard),
        ("CC54", "카드유효기간만료 또는 불일치", DeclineCode::Expired),
        ("CC16", "할부개월수 오류", DeclineCode::InvalidInstallments),
        ("1254", "잔액부족", DeclineCode::InsufficientFunds),
        ("120026", "도난, 분실카드", DeclineCode::LostOrStolen),
        ("1219", "비밀번호 상이", DeclineCode::WrongPassword),
        ("120049", "사용한도초과", DeclineCode::OverLimit),
        ("500601", "카드번호 오류", DeclineCode::InvalidCard),
        ("1204", "유효기간 만료(기간오류)", DeclineCode::Expired),
        ("1205", "할부개월 오류", DeclineCode::InvalidInstallments),
        // A NICE code (no book published by PortOne): read from the message.
        ("3011", "카드 잔액부족", DeclineCode::InsufficientFunds),
        ("9999", "카드사 승인 거절", DeclineCode::Other),
    ];
    for (i, (pg_code, pg_message, want)) in cases.into_iter().enumerate() {
        let key = format!("chg_decline{i}");
        handle.decline_next(pg_code, pg_message);
        let err = conn
            .approve(&request(&key, &number, 12_000, 0))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ConnectorError::Declined {
                code: want,
                masked_card: Some("540926******2659".into()),
                issuer: None,
            },
            "{pg_code}"
        );
        assert_eq!(handle.payment(&key).unwrap().status, "FAILED");
        // A failed payment charged nothing.
        assert_eq!(conn.inquire(&key).await.unwrap(), None, "{pg_code}");
    }
}

#[tokio::test]
async fn other_documented_refusals() {
    let (_si, handle, conn) = setup().await;
    let number = canary();
    handle.script(
        Op::Instant,
        Behaviour::Error {
            status: 400,
            kind: "INVALID_REQUEST".into(),
            message: "invalid expiryMonth".into(),
        },
    );
    let err = conn
        .approve(&request("chg_invalid1", &number, 1000, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Declined {
                code: DeclineCode::Expired,
                ..
            }
        ),
        "{err:?}"
    );

    handle.script(
        Op::Instant,
        Behaviour::Error {
            status: 403,
            kind: "FORBIDDEN".into(),
            message: "요청이 거절되었습니다.".into(),
        },
    );
    let err = conn
        .approve(&request("chg_forbid1", &number, 1000, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unavailable(m) if m.contains("FORBIDDEN")),
        "{err:?}"
    );

    // A malformed expiry is declined without sending anything.
    let mut bad = request("chg_badexp1", &number, 1000, 0);
    bad.method = PaymentMethod::Card(CardInput {
        number: &number,
        expiry_mmyy: "1339",
        birth_or_business: None,
        password2: None,
    });
    let err = conn.approve(&bad).await.unwrap_err();
    assert!(matches!(
        err,
        ConnectorError::Declined {
            code: DeclineCode::Expired,
            ..
        }
    ));
    assert!(handle.payment("chg_badexp1").is_none());
}

#[tokio::test]
async fn bad_secret_and_unknown_channel_are_unavailable() {
    let (si, handle, _) = setup().await;
    let number = canary();
    let wrong = connector(
        &si.base_url,
        "not-the-secret",
        CHANNEL,
        Duration::from_secs(5),
    );
    let err = wrong
        .approve(&request("chg_badsecret", &number, 1000, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unavailable(m) if m.contains("UNAUTHORIZED")),
        "{err:?}"
    );
    let err = wrong.inquire("chg_badsecret").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");

    let wrong_channel = connector(
        &si.base_url,
        SECRET,
        "channel-key-other",
        Duration::from_secs(5),
    );
    let err = wrong_channel
        .approve(&request("chg_badchan", &number, 1000, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unavailable(m) if m.contains("CHANNEL_NOT_FOUND")),
        "{err:?}"
    );
    assert!(handle.payments().is_empty());
    // Nothing charged, so recovery says so.
    assert_eq!(
        approve_with_recovery(&wrong, &request("chg_badsecret2", &number, 1000, 0)).await,
        Err(ApprovalFailure::NotCharged)
    );
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let (si, _handle, _) = setup().await;
    let base = si.base_url.clone();
    drop(si);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let conn = connector(&base, SECRET, CHANNEL, Duration::from_secs(2));
    let number = canary();
    let err = conn
        .approve(&request("chg_refused", &number, 1000, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn server_error_is_timeout_and_resolves_to_not_charged() {
    let (_si, handle, conn) = setup().await;
    let number = canary();
    handle.script(Op::Instant, Behaviour::ServerError(503));
    let err = conn
        .approve(&request("chg_5xx1", &number, 1000, 0))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectorError::Timeout);
    assert_eq!(conn.inquire("chg_5xx1").await.unwrap(), None);

    handle.script(Op::Instant, Behaviour::ServerError(500));
    assert_eq!(
        approve_with_recovery(&conn, &request("chg_5xx2", &number, 1000, 0)).await,
        Err(ApprovalFailure::NotCharged)
    );
    assert!(handle.payment("chg_5xx2").is_none());
}

#[tokio::test]
async fn timeout_then_inquiry_finds_nothing() {
    let (_si, handle, conn) = setup_with(Duration::from_millis(400)).await;
    let number = canary();
    handle.script(Op::Instant, Behaviour::Stall(1_500));
    let err = conn
        .approve(&request("chg_stall1", &number, 1000, 0))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectorError::Timeout);
    assert_eq!(conn.inquire("chg_stall1").await.unwrap(), None);
}

#[tokio::test]
async fn timeout_then_inquiry_finds_the_approval() {
    let (_si, handle, conn) = setup_with(Duration::from_millis(400)).await;
    let number = canary();
    handle.script(Op::Instant, Behaviour::LoseAnswer(1_500));
    let err = conn
        .approve(&request("chg_lost1", &number, 5_000, 0))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectorError::Timeout);
    let Some(TxnState::Approved(a)) = conn.inquire("chg_lost1").await.unwrap() else {
        panic!("not found")
    };
    assert_eq!(a.amount, 5_000);
    assert_eq!(a.masked_card, "540926******2659");
}

#[tokio::test]
async fn lost_answer_is_resolved_by_inquiry_exactly_once() {
    let (si, handle, conn) = setup_with(Duration::from_millis(400)).await;
    let number = canary();
    handle.script(Op::Instant, Behaviour::LoseAnswer(1_500));
    let approval = approve_with_recovery(&conn, &request("chg_lost2", &number, 33_000, 0))
        .await
        .expect("resolved by inquiry");
    assert_eq!(approval.amount, 33_000);
    let stored = handle.payment("chg_lost2").unwrap();
    assert_eq!(stored.approvals, 1);
    assert_eq!(stored.status, "PAID", "no network cancel");
    assert_eq!(stored.approval_number, approval.approval_number);
    let instants = si
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/instant"))
        .count();
    assert_eq!(instants, 1, "never a second approval request");
}

#[tokio::test]
async fn lost_answer_and_failing_inquiry_lead_to_a_network_cancel() {
    let (_si, handle, conn) = setup_with(Duration::from_millis(400)).await;
    let number = canary();
    handle.script(Op::Instant, Behaviour::LoseAnswer(1_500));
    for _ in 0..3 {
        handle.script(Op::Get, Behaviour::ServerError(503));
    }
    assert_eq!(
        approve_with_recovery(&conn, &request("chg_lost3", &number, 7_000, 0)).await,
        Err(ApprovalFailure::NotCharged)
    );
    let stored = handle.payment("chg_lost3").unwrap();
    assert_eq!(stored.status, "CANCELLED");
    assert_eq!(stored.cancelled, 7_000);
}

#[tokio::test]
async fn whole_cancel() {
    let (si, handle, conn) = setup().await;
    let number = canary();
    let approval = conn
        .approve(&request("chg_cancel1", &number, 12_000, 0))
        .await
        .unwrap();
    let state = conn
        .cancel(&cancel("chg_cancel1", "chg_cancel1-r1", None))
        .await
        .unwrap();
    let TxnState::Canceled { approval: a, .. } = state else {
        panic!("{state:?}")
    };
    assert_eq!(a.approval_number, approval.approval_number);
    assert_eq!(handle.payment("chg_cancel1").unwrap().status, "CANCELLED");
    let req = si
        .requests()
        .into_iter()
        .find(|r| r.path == "/payments/chg_cancel1/cancel")
        .unwrap();
    assert_eq!(
        req.header("idempotency-key"),
        Some("\"fieldpay-cancel-chg_cancel1-r1\"")
    );
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body, serde_json::json!({"reason": "고객 요청"}));
    // Nothing left: a further cancel (another key) is AlreadyCanceled.
    assert_eq!(
        conn.cancel(&cancel("chg_cancel1", "chg_cancel1-r2", None))
            .await,
        Err(ConnectorError::AlreadyCanceled)
    );
    assert!(matches!(
        conn.inquire("chg_cancel1").await.unwrap(),
        Some(TxnState::Canceled { .. })
    ));
}

#[tokio::test]
async fn partial_cancel_then_the_rest() {
    let (si, handle, conn) = setup().await;
    let number = canary();
    conn.approve(&request("chg_partial1", &number, 60_000, 0))
        .await
        .unwrap();
    let state = conn
        .cancel(&cancel("chg_partial1", "chg_partial1-r1", Some(20_000)))
        .await
        .unwrap();
    assert!(
        matches!(
            state,
            TxnState::PartiallyCanceled {
                canceled_amount: 20_000,
                ..
            }
        ),
        "{state:?}"
    );
    let body: serde_json::Value = serde_json::from_str(
        &si.requests()
            .into_iter()
            .find(|r| r.path.ends_with("/cancel"))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        body,
        serde_json::json!({"reason": "고객 요청", "amount": 20000})
    );
    assert!(matches!(
        conn.inquire("chg_partial1").await.unwrap(),
        Some(TxnState::PartiallyCanceled {
            canceled_amount: 20_000,
            ..
        })
    ));
    // More than remains: refused, nothing happens.
    let err = conn
        .cancel(&cancel("chg_partial1", "chg_partial1-r2", Some(50_000)))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    let state = conn
        .cancel(&cancel("chg_partial1", "chg_partial1-r3", None))
        .await
        .unwrap();
    assert!(state.is_canceled(), "{state:?}");
    assert_eq!(state.canceled_amount(), 60_000);
    assert_eq!(handle.payment("chg_partial1").unwrap().cancelled, 60_000);
}

#[tokio::test]
async fn repeated_cancel_is_not_applied_twice() {
    let (si, handle, conn) = setup().await;
    let number = canary();
    conn.approve(&request("chg_twice1", &number, 30_000, 0))
        .await
        .unwrap();
    let first = conn
        .cancel(&cancel("chg_twice1", "chg_twice1-r1", Some(10_000)))
        .await
        .unwrap();
    let again = conn
        .cancel(&cancel("chg_twice1", "chg_twice1-r1", Some(10_000)))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(handle.payment("chg_twice1").unwrap().cancelled, 10_000);
    assert_eq!(handle.payment("chg_twice1").unwrap().cancellations.len(), 1);

    // A cancel that failed at a gateway (not applied), retried with the same key: applied.
    handle.script(Op::Cancel, Behaviour::ServerError(502));
    assert_eq!(
        conn.cancel(&cancel("chg_twice1", "chg_twice1-r2", Some(5_000)))
            .await,
        Err(ConnectorError::Timeout)
    );
    let state = conn
        .cancel(&cancel("chg_twice1", "chg_twice1-r2", Some(5_000)))
        .await
        .unwrap();
    assert_eq!(state.canceled_amount(), 15_000);

    // A cancel applied whose answer was lost, retried with the same key: replayed, applied once.
    let impatient = connector(&si.base_url, SECRET, CHANNEL, Duration::from_millis(400));
    handle.script(Op::Cancel, Behaviour::LoseAnswer(1_000));
    assert_eq!(
        impatient
            .cancel(&cancel("chg_twice1", "chg_twice1-r3", Some(5_000)))
            .await,
        Err(ConnectorError::Timeout)
    );
    assert_eq!(handle.payment("chg_twice1").unwrap().cancelled, 20_000);
    let state = impatient
        .cancel(&cancel("chg_twice1", "chg_twice1-r3", Some(5_000)))
        .await
        .unwrap();
    assert_eq!(state.canceled_amount(), 20_000);
    let stored = handle.payment("chg_twice1").unwrap();
    assert_eq!(stored.cancelled, 20_000);
    assert_eq!(stored.cancellations.len(), 3);
}

#[tokio::test]
async fn cancel_of_unknown_or_failed_payment_is_not_found() {
    let (_si, handle, conn) = setup().await;
    assert_eq!(
        conn.cancel(&cancel("chg_nothing", "chg_nothing-r1", None))
            .await,
        Err(ConnectorError::NotFound)
    );
    let number = canary();
    handle.decline_next("CC10", "통장 잔액부족");
    conn.approve(&request("chg_failed1", &number, 1000, 0))
        .await
        .unwrap_err();
    assert_eq!(
        conn.cancel(&cancel("chg_failed1", "chg_failed1-nc", None))
            .await,
        Err(ConnectorError::NotFound)
    );
}

#[tokio::test]
async fn registered_cards_are_not_supported() {
    let (_si, _handle, conn) = setup().await;
    let token = Secret::new("billing-key-xyz");
    let req = ApproveRequest {
        key: "chg_billing1",
        order_name: "정기",
        amount: 1000,
        installment_months: 0,
        method: PaymentMethod::Registered { token: &token },
        merchant_id: "m_1",
    };
    assert!(matches!(
        conn.approve(&req).await,
        Err(ConnectorError::Unavailable(_))
    ));
    let number = canary();
    let card = CardInput {
        number: &number,
        expiry_mmyy: "0839",
        birth_or_business: None,
        password2: None,
    };
    let err = conn.register("m_1", &card).await.unwrap_err();
    assert_eq!(
        err,
        ConnectorError::Unavailable(
            "portone auto-pay registration is not supported by FieldPay yet".into()
        )
    );
}

#[tokio::test]
async fn canary_card_number_only_in_the_instant_request_body() {
    let (si, handle, conn) = setup_with(Duration::from_millis(400)).await;
    let number = canary();
    // A full life: approve, inquire, partial and whole cancel, a decline, a lost answer.
    conn.approve(&request("chg_canary1", &number, 60_000, 2))
        .await
        .unwrap();
    conn.inquire("chg_canary1").await.unwrap();
    conn.cancel(&cancel("chg_canary1", "chg_canary1-r1", Some(1_000)))
        .await
        .unwrap();
    conn.cancel(&cancel("chg_canary1", "chg_canary1-r2", None))
        .await
        .unwrap();
    handle.decline_next("CC63", "비밀번호 오류");
    conn.approve(&request("chg_canary2", &number, 1_000, 0))
        .await
        .unwrap_err();
    handle.script(Op::Instant, Behaviour::LoseAnswer(1_000));
    approve_with_recovery(&conn, &request("chg_canary3", &number, 2_000, 0))
        .await
        .unwrap();

    let requests = si.requests();
    let mut with_card = 0;
    for r in &requests {
        let in_body = r.body.contains(CANARY);
        let text = r.as_text();
        let elsewhere = text.replacen(&r.body, "", 1).contains(CANARY);
        assert!(
            !elsewhere,
            "card number outside a body: {} {}",
            r.method, r.path
        );
        for other in ["0839", "880714"] {
            assert!(
                !text.contains(other) || (r.path.ends_with("/instant") && r.body.contains(other)),
                "{other} in {} {}",
                r.method,
                r.path
            );
        }
        if in_body {
            assert!(
                r.method == "POST" && r.path.ends_with("/instant"),
                "{} {}",
                r.method,
                r.path
            );
            with_card += 1;
        }
    }
    assert_eq!(with_card, 3, "one approval request per approval attempt");
    // The connector's errors and answers carry no card data either.
    let err = format!(
        "{:?}",
        conn.approve(&request("chg_canary1", &number, 60_000, 2))
            .await
    );
    assert!(!err.contains(CANARY) && !err.contains("0839"), "{err}");
}

/// The stand-in itself refuses what PortOne refuses (so the tests above prove something).
#[tokio::test]
async fn standin_is_strict() {
    let (si, handle, _) = setup().await;
    let client = reqwest::Client::new();
    let good = serde_json::json!({
        "channelKey": CHANNEL,
        "orderName": "o",
        "amount": {"total": 1000},
        "currency": "KRW",
        "method": {"card": {"credential": {
            "number": "4111111111111111", "expiryYear": "39", "expiryMonth": "08"
        }}}
    });
    let post = |path: &str, auth: &str, body: &serde_json::Value| {
        client
            .post(format!("{}{path}", si.base_url))
            .header("Authorization", auth)
            .json(body)
    };
    let auth = format!("PortOne {SECRET}");
    let check = |resp: reqwest::Response, status: u16, kind: &'static str| async move {
        assert_eq!(resp.status().as_u16(), status);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["type"], kind, "{body}");
    };

    // Auth: the scheme and the secret.
    for bad in ["Bearer x", "PortOne wrong", &format!("portone {SECRET}")] {
        check(
            post("/payments/k1234567/instant", bad, &good)
                .send()
                .await
                .unwrap(),
            401,
            "UNAUTHORIZED",
        )
        .await;
    }
    // Unknown, missing and mistyped fields.
    let mut unknown = good.clone();
    unknown["method"]["card"]["credential"]["cvc"] = "123".into();
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("currency");
    let mut mistyped = good.clone();
    mistyped["amount"]["total"] = "1000".into();
    let mut installment = good.clone();
    installment["method"]["card"]["installment"] = serde_json::json!({"month": 3});
    let mut short_year = good.clone();
    short_year["method"]["card"]["credential"]["expiryYear"] = "2039".into();
    for body in [unknown, missing, mistyped, installment, short_year] {
        check(
            post("/payments/k1234567/instant", &auth, &body)
                .send()
                .await
                .unwrap(),
            400,
            "INVALID_REQUEST",
        )
        .await;
    }
    // The channel key.
    let mut other_channel = good.clone();
    other_channel["channelKey"] = "nope".into();
    check(
        post("/payments/k1234567/instant", &auth, &other_channel)
            .send()
            .await
            .unwrap(),
        404,
        "CHANNEL_NOT_FOUND",
    )
    .await;
    // Idempotency-Key: quoted, 16..=256 characters.
    for key in ["unquoted-key-0123456789", "\"short\""] {
        let resp = post(
            "/payments/k1234567/cancel",
            &auth,
            &serde_json::json!({"reason": "r"}),
        )
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap();
        check(resp, 400, "INVALID_REQUEST").await;
    }
    // Cancel body fields are checked too.
    check(
        post(
            "/payments/k1234567/cancel",
            &auth,
            &serde_json::json!({"reason": "r", "cancelAmount": 10}),
        )
        .send()
        .await
        .unwrap(),
        400,
        "INVALID_REQUEST",
    )
    .await;
    assert!(handle.payments().is_empty(), "nothing was recorded");
    // A good request passes, and a repeat is ALREADY_PAID.
    assert_eq!(
        post("/payments/k1234567/instant", &auth, &good)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    check(
        post("/payments/k1234567/instant", &auth, &good)
            .send()
            .await
            .unwrap(),
        409,
        "ALREADY_PAID",
    )
    .await;
    // currentCancellableAmount is verified.
    check(
        post(
            "/payments/k1234567/cancel",
            &auth,
            &serde_json::json!({"reason": "r", "currentCancellableAmount": 999}),
        )
        .send()
        .await
        .unwrap(),
        409,
        "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
    )
    .await;
}
