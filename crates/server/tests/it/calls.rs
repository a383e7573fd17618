//! Payment calls end to end: a carrier's TwiML webhooks and the sandbox phone driving the IVR
//! against real charges, with the texts, webhooks, receipts, ledger and the sandbox card
//! network checked after each story.

use std::time::Duration;

use fieldpay_ivr::{
    digits_words, korean_number_words, DeclineReason, Lang, Outcome, Prompt, RetryReason, Step,
};
use fieldpay_protocol::charge::Charge;
use fieldpay_protocol::sms::SmsKind;
use fieldpay_server::config::SANDBOX_TWILIO_AUTH_TOKEN;
use fieldpay_server::demo::{self, DEMO_API_KEY};
use fieldpay_server::telephony::sandbox_phone::SandboxTurn;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    demo_charge, e164, set_webhook, spawn_app, webhook_receiver, Received, Receiver, TestApp,
    APPROVE_CARD,
};

const PAYER: &str = "010-2222-3333";
const OTHER_PHONE: &str = "010-4444-5555";

const INSUFFICIENT_FUNDS_CARD: &str = "5404470000000519";
const LOST_STOLEN_CARD: &str = "4512450000000414";
const WRONG_PASSWORD_CARD: &str = "5155940000000553";
const OVER_LIMIT_CARD: &str = "5401590000000616";
const ISSUER_TIMEOUT_CARD: &str = "5409260000000915";
const LOST_ANSWER_CARD: &str = "9401010000000682";

// ------------------------------------------------------------------ TwiML reading

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The texts of the `<Say>` elements, in order. Every one must speak Korean.
fn says(xml: &str) -> Vec<String> {
    says_in(xml, "ko-KR")
}

fn says_in(xml: &str, language: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<Say") {
        let after = &rest[i..];
        let gt = after.find('>').expect("<Say> closed");
        let open = &after[..=gt];
        assert_eq!(open, format!("<Say language=\"{language}\">"), "{xml}");
        let end = after.find("</Say>").expect("</Say>");
        out.push(xml_unescape(&after[gt + 1..end]));
        rest = &after[end + "</Say>".len()..];
    }
    out
}

fn spoken(xml: &str) -> String {
    says(xml).join(" ")
}

/// An attribute of the `<Gather>` element.
fn gather_attr(xml: &str, name: &str) -> Option<String> {
    let start = xml.find("<Gather ")?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')?;
    Some(xml_unescape(&tag[i..i + j]))
}

/// The TwiML waits for keys: a DTMF `<Gather>` posting back to the voice webhook, then a
/// redirect that reports the timeout; no hangup.
fn assert_gather(app: &TestApp, xml: &str, num_digits: &str, finish_on_key: &str) {
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"),
        "{xml}"
    );
    assert!(xml.ends_with("</Response>"), "{xml}");
    assert_eq!(gather_attr(xml, "input").as_deref(), Some("dtmf"), "{xml}");
    assert_eq!(
        gather_attr(xml, "numDigits").as_deref(),
        Some(num_digits),
        "{xml}"
    );
    assert_eq!(
        gather_attr(xml, "finishOnKey").as_deref(),
        Some(finish_on_key),
        "{xml}"
    );
    assert_eq!(gather_attr(xml, "timeout").as_deref(), Some("7"), "{xml}");
    let action = app.url("/telephony/twiml/voice");
    assert_eq!(
        gather_attr(xml, "action").as_deref(),
        Some(action.as_str()),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "</Gather><Redirect method=\"POST\">{action}?event=timeout</Redirect></Response>"
        )),
        "{xml}"
    );
    assert!(!xml.contains("<Hangup/>"), "{xml}");
    // The question is spoken inside the gather (barge-in).
    let g = xml.find("<Gather ").unwrap();
    let g_end = xml.find("</Gather>").unwrap();
    assert!(xml[g..g_end].contains("<Say language=\"ko-KR\">"), "{xml}");
}

/// The TwiML ends the call.
fn assert_hangup(xml: &str) {
    assert!(xml.ends_with("<Hangup/></Response>"), "{xml}");
    assert!(!xml.contains("<Gather"), "{xml}");
    assert!(!xml.contains("<Redirect"), "{xml}");
}

fn ko(p: Prompt) -> String {
    p.text(Lang::Ko)
}

fn summary_ko(goods: &str, amount: i64) -> String {
    ko(Prompt::ChargeSummary {
        merchant_name: demo::DEMO_MERCHANT_NAME.into(),
        goods_name: goods.into(),
        amount,
    })
}

// ------------------------------------------------------------------ small API helpers

fn vn(c: &Charge) -> String {
    c.virtual_number
        .clone()
        .unwrap_or_else(|| panic!("charge {} has no virtual number", c.id))
}

fn vn_e164(c: &Charge) -> String {
    e164(&vn(c))
}

fn event_names(c: &Charge) -> Vec<&'static str> {
    c.events.iter().map(|e| e.status.as_str()).collect()
}

async fn error_code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    (
        status,
        v["error"]["code"].as_str().unwrap_or_default().to_string(),
    )
}

async fn charge_count(app: &TestApp) -> usize {
    let r = app.get("/v1/charges?limit=200", DEMO_API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(v["next"].is_null(), "more than one page of charges");
    v["items"].as_array().unwrap().len()
}

async fn demo_account_id(app: &TestApp) -> String {
    let r = app.get("/v1/accounts", DEMO_API_KEY).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let items = v.as_array().unwrap();
    assert!(!items.is_empty());
    items[0]["id"].as_str().unwrap().to_string()
}

async fn balance(app: &TestApp, account_id: &str) -> i64 {
    let r = app
        .get(&format!("/v1/accounts/{account_id}"), DEMO_API_KEY)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"].as_str(), Some(account_id));
    v["balance"].as_i64().unwrap()
}

/// A charge whose bill text has gone out (status `sms_sent`).
async fn sent_charge(app: &TestApp, body: Value) -> Charge {
    let c = app.charge(body).await;
    let phone = c.payer_phone.clone();
    app.wait_sms(&phone, "bill", &c.id).await;
    app.wait_status(&c.id, "sms_sent").await
}

async fn network_approvals(app: &TestApp, charge_id: &str) -> usize {
    let net = app
        .state()
        .sandbox_network
        .clone()
        .expect("sandbox network");
    let id = charge_id.to_string();
    tokio::task::spawn_blocking(move || net.charge_approval_count(&id))
        .await
        .unwrap()
}

async fn sms_of_kind(app: &TestApp, phone: &str, kind: &str, charge_id: &str) -> usize {
    app.sms(phone)
        .await
        .iter()
        .filter(|s| s.kind.as_str() == kind && s.charge_id.as_deref() == Some(charge_id))
        .count()
}

async fn wait_webhook(rx: &Receiver, event_type: &str, charge_id: &str) -> Received {
    for _ in 0..400 {
        let found = rx
            .got
            .lock()
            .unwrap()
            .iter()
            .find(|r| {
                serde_json::from_str::<Value>(&r.body)
                    .map(|v| v["type"] == event_type && v["data"]["id"] == charge_id)
                    .unwrap_or(false)
            })
            .cloned();
        if let Some(r) = found {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {event_type} webhook for {charge_id}");
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("webhook without {name}"))
        .to_str()
        .unwrap()
}

/// Dials with the sandbox phone in a chosen language.
async fn dial_lang(app: &TestApp, from: &str, to: &str, lang: &str) -> SandboxTurn {
    let r = app
        .http
        .post(app.url("/sandbox/calls"))
        .json(&json!({ "from": from, "to": to, "lang": lang }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Drives a TwiML call from the read-out to the password prompt (not answered yet).
async fn twiml_to_password(app: &TestApp, sid: &str, from: &str, to: &str, card: &str) {
    let x = app.twiml_start(sid, from, to).await;
    assert_gather(app, &x, "1", "");
    let x = app.twiml_digits(sid, "1").await;
    assert!(spoken(&x).contains(&ko(Prompt::CardNumberAsk)), "{x}");
    let x = app.twiml_digits(sid, card).await;
    assert!(spoken(&x).contains(&ko(Prompt::ExpiryAsk)), "{x}");
    let mut x = app.twiml_digits(sid, "1230").await;
    if spoken(&x).contains(&ko(Prompt::InstallmentsAsk)) {
        x = app.twiml_digits(sid, "0#").await;
    }
    assert!(spoken(&x).contains(&ko(Prompt::BirthOrBusinessAsk)), "{x}");
    let x = app.twiml_digits(sid, "800101").await;
    assert!(spoken(&x).contains(&ko(Prompt::PasswordAsk)), "{x}");
    assert_gather(app, &x, "2", "#");
}

// ------------------------------------------------------------------ 1. the whole story

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_story_over_twiml() {
    let app = spawn_app().await;
    let (url, rx) = webhook_receiver(0).await;
    let secret = set_webhook(&app, &url);
    let account = demo_account_id(&app).await;
    let before = balance(&app, &account).await;

    let goods = "감기약 외 2건";
    let c = app
        .charge(json!({ "amount": 55_000, "goods_name": goods, "payer_phone": PAYER, "account_id": account }))
        .await;
    assert_eq!(c.status.as_str(), "requested");
    assert_eq!(c.account_id.as_deref(), Some(account.as_str()));
    let number = vn(&c);
    assert!(number.starts_with("1600-00"), "{number}");
    let national: String = number.chars().filter(char::is_ascii_digit).collect();

    // The bill text.
    let bill = app.wait_sms(PAYER, "bill", &c.id).await;
    assert!(
        bill.body.contains(demo::DEMO_MERCHANT_NAME),
        "{}",
        bill.body
    );
    assert!(bill.body.contains("55,000원"), "{}", bill.body);
    assert!(bill.body.contains(goods), "{}", bill.body);
    assert!(bill.body.contains(&number), "{}", bill.body);
    assert!(
        bill.body.contains(&format!("tel:{national}")),
        "{}",
        bill.body
    );
    let c = app.wait_status(&c.id, "sms_sent").await;

    // The call, step by step.
    let sid = "CA0000000000000000000000000000whole";
    let from = e164(PAYER);
    let to = e164(&number);
    assert_eq!(to, format!("+82{national}"));
    let x = app.twiml_start(sid, &from, &to).await;
    assert_gather(&app, &x, "1", "");
    let s = says(&x);
    assert_eq!(s[0], ko(Prompt::Greeting), "{x}");
    assert!(s.contains(&summary_ko(goods, 55_000)), "{x}");
    assert!(spoken(&x).contains("결제 금액은 오만 오천원입니다"), "{x}");
    assert_eq!(s.last().unwrap(), &ko(Prompt::PayOrDecline), "{x}");
    assert_eq!(app.get_charge(&c.id).await.status.as_str(), "verified");

    let x = app.twiml_digits(sid, "1").await;
    assert_gather(&app, &x, "19", "#");
    assert_eq!(says(&x), vec![ko(Prompt::CardNumberAsk)]);

    let x = app.twiml_digits(sid, APPROVE_CARD).await;
    assert_gather(&app, &x, "4", "#");
    assert_eq!(says(&x), vec![ko(Prompt::ExpiryAsk)]);

    let x = app.twiml_digits(sid, "1230").await;
    assert_gather(&app, &x, "2", "#");
    assert_eq!(says(&x), vec![ko(Prompt::InstallmentsAsk)]);

    let x = app.twiml_digits(sid, "3#").await;
    assert_gather(&app, &x, "10", "#");
    assert_eq!(says(&x), vec![ko(Prompt::BirthOrBusinessAsk)]);

    let x = app.twiml_digits(sid, "800101").await;
    assert_gather(&app, &x, "2", "#");
    assert_eq!(says(&x), vec![ko(Prompt::PasswordAsk)]);

    let x = app.twiml_digits(sid, "12").await;
    assert_hangup(&x);
    assert!(!x.contains(APPROVE_CARD), "{x}");

    // The charge and its payment.
    let c = app.wait_status(&c.id, "approved").await;
    assert_eq!(
        event_names(&c),
        [
            "requested",
            "sms_sent",
            "call_connected",
            "verified",
            "card_entered",
            "approved"
        ]
    );
    assert!(
        c.virtual_number.is_none(),
        "binding must end with the payment"
    );
    assert!(c.decline_reason.is_none());
    let p = c.payment.clone().expect("payment");
    assert_eq!(p.masked_card, "940100******0014");
    assert_eq!(p.installment_months, 3);
    assert_eq!(p.amount, 55_000);
    assert_eq!(p.issuer_name, "BC카드");
    assert!(!p.approval_number.is_empty());
    assert_eq!(
        c.events.last().unwrap().detail.as_deref(),
        Some(p.approval_number.as_str())
    );

    // What the payer heard at the end.
    let s = says(&x);
    assert_eq!(
        s,
        vec![
            ko(Prompt::Processing),
            ko(Prompt::Approved {
                issuer_name: "BC카드".into(),
                amount: 55_000,
                installment_months: 3,
                approval_number: p.approval_number.clone(),
            }),
            ko(Prompt::ReceiptSms),
            ko(Prompt::Goodbye),
        ]
    );
    assert!(
        spoken(&x).contains("BC카드 오만 오천원 삼개월 할부 결제가 승인되었습니다."),
        "{x}"
    );
    assert!(
        spoken(&x).contains(&format!(
            "승인번호는 {}입니다",
            digits_words(&p.approval_number, Lang::Ko)
        )),
        "{x}"
    );

    // The sales slip and the receipt page.
    let slip = app.wait_sms(PAYER, "slip", &c.id).await;
    assert!(slip.body.contains(&p.approval_number), "{}", slip.body);
    assert!(slip.body.contains("940100******0014"), "{}", slip.body);
    assert!(slip.body.contains("3개월"), "{}", slip.body);
    assert!(slip.body.contains("55,000원"), "{}", slip.body);
    assert!(!slip.body.contains(APPROVE_CARD), "{}", slip.body);
    let link = slip
        .body
        .lines()
        .find_map(|l| l.strip_prefix("영수증: "))
        .expect("receipt link")
        .trim()
        .to_string();
    assert!(link.starts_with(&app.url("/r/")), "{link}");
    assert_eq!(p.receipt_url.as_deref(), Some(link.as_str()));
    let r = app.http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    // A receipt is private: not cached, its address not leaked to other sites, nothing but
    // the server's own files loaded, no inline script or style.
    let receipt_header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(receipt_header("cache-control"), "no-store");
    assert_eq!(receipt_header("referrer-policy"), "no-referrer");
    let csp = receipt_header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(&p.approval_number), "{html}");
    assert!(html.contains("9401-00**-****-0014"), "{html}");
    assert!(html.contains("3개월"), "{html}");
    assert!(!html.contains(APPROVE_CARD), "{html}");

    // The merchant's webhook.
    let hook = wait_webhook(&rx, "charge.approved", &c.id).await;
    let id = header(&hook, "webhook-id").to_string();
    assert!(!id.is_empty());
    let ts: i64 = header(&hook, "webhook-timestamp").parse().unwrap();
    let sig = header(&hook, "webhook-signature").to_string();
    let now = chrono::Utc::now();
    assert!(fieldpay_server::webhooks::verify(
        &secret, &id, ts, &hook.body, &sig, now
    ));
    assert!(!fieldpay_server::webhooks::verify(
        fieldpay_server::webhooks::new_secret().expose(),
        &id,
        ts,
        &hook.body,
        &sig,
        now
    ));
    assert!(!fieldpay_server::webhooks::verify(
        &secret,
        &id,
        ts,
        &hook.body.replace("55000", "55001"),
        &sig,
        now
    ));
    let v: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(v["data"]["status"], "approved");
    assert_eq!(v["data"]["payment"]["masked_card"], "940100******0014");
    assert!(!hook.body.contains(APPROVE_CARD));

    // The receivable went down by the payment.
    assert_eq!(balance(&app, &account).await, before - 55_000);
}

// ------------------------------------------------------------------ 2. declines

async fn decline_then_pay(card: &str, code: &str, reason: DeclineReason) {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(33_000, PAYER)).await;
    let number = vn(&c);

    let t = app.pay_by_phone(PAYER, &number, card).await;
    assert!(t.turn.hangup);
    assert_eq!(
        t.turn.outcome,
        Some(Outcome::Declined(reason)),
        "{:?}",
        t.turn
    );
    assert!(
        t.turn.say.contains(&ko(Prompt::Declined { reason })),
        "{:?}",
        t.turn.say
    );
    assert!(
        t.turn
            .say
            .iter()
            .any(|s| s.contains("요금은 청구되지 않았습니다")),
        "{:?}",
        t.turn.say
    );

    let d = app.wait_status(&c.id, "declined").await;
    assert_eq!(d.decline_reason.as_deref(), Some(code));
    assert!(d.payment.is_none());
    assert_eq!(
        d.virtual_number.as_deref(),
        Some(number.as_str()),
        "a declined charge stays payable"
    );
    assert_eq!(network_approvals(&app, &c.id).await, 0);
    assert_eq!(sms_of_kind(&app, PAYER, "slip", &c.id).await, 0);

    // Another card on the same charge, same number.
    let t = app.pay_by_phone(PAYER, &number, APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved), "{:?}", t.turn);
    let a = app.wait_status(&c.id, "approved").await;
    assert_eq!(a.payment.as_ref().unwrap().masked_card, "940100******0014");
    assert!(a.decline_reason.is_none(), "{:?}", a.decline_reason);
    assert!(a.virtual_number.is_none());
    assert_eq!(network_approvals(&app, &c.id).await, 1);
    let names = event_names(&a);
    assert_eq!(
        names.iter().filter(|s| **s == "declined").count(),
        1,
        "{names:?}"
    );
    assert_eq!(names.last(), Some(&"approved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_insufficient_funds_then_paid() {
    decline_then_pay(
        INSUFFICIENT_FUNDS_CARD,
        "insufficient_funds",
        DeclineReason::InsufficientFunds,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_lost_or_stolen_then_paid() {
    decline_then_pay(
        LOST_STOLEN_CARD,
        "lost_or_stolen",
        DeclineReason::LostOrStolen,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_wrong_password_then_paid() {
    decline_then_pay(
        WRONG_PASSWORD_CARD,
        "wrong_password",
        DeclineReason::WrongPassword,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_over_limit_then_paid() {
    decline_then_pay(OVER_LIMIT_CARD, "over_limit", DeclineReason::OverLimit).await;
}

// ------------------------------------------------------------------ 3. timeouts at the network

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_timeout_charges_nothing_and_can_be_paid_again() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(21_000, PAYER)).await;
    let number = vn(&c);

    let t = app.pay_by_phone(PAYER, &number, ISSUER_TIMEOUT_CARD).await;
    assert!(t.turn.hangup);
    assert_eq!(
        t.turn.outcome,
        Some(Outcome::ApprovalFailed),
        "{:?}",
        t.turn
    );
    assert!(
        t.turn.say.contains(&ko(Prompt::ApprovalFailed)),
        "{:?}",
        t.turn.say
    );
    assert!(
        t.turn
            .say
            .iter()
            .any(|s| s.contains("일시적인 오류로 결제하지 못했습니다")),
        "{:?}",
        t.turn.say
    );

    let after = app.get_charge(&c.id).await;
    assert_ne!(after.status.as_str(), "approved");
    assert!(after.status.is_pending(), "{:?}", after.status);
    assert!(after.payment.is_none());
    assert_eq!(after.virtual_number.as_deref(), Some(number.as_str()));
    assert_eq!(network_approvals(&app, &c.id).await, 0);
    assert_eq!(sms_of_kind(&app, PAYER, "slip", &c.id).await, 0);
    assert!(
        app.store().approvals_in_flight().unwrap().is_empty(),
        "the approval must not stay in flight"
    );

    let t = app.pay_by_phone(PAYER, &number, APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved), "{:?}", t.turn);
    let a = app.wait_status(&c.id, "approved").await;
    assert!(a.payment.is_some());
    assert_eq!(network_approvals(&app, &c.id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answer_is_approved_exactly_once() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(21_000, PAYER)).await;

    let t = app.pay_by_phone(PAYER, &vn(&c), LOST_ANSWER_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved), "{:?}", t.turn);
    let a = app.wait_status(&c.id, "approved").await;
    let p = a.payment.clone().expect("payment");
    assert_eq!(p.masked_card, "940101******0682");
    assert_eq!(p.amount, 21_000);
    assert!(
        t.turn
            .say
            .iter()
            .any(|s| s.contains(&digits_words(&p.approval_number, Lang::Ko))),
        "{:?}",
        t.turn.say
    );
    assert_eq!(network_approvals(&app, &c.id).await, 1);
    let txns = app
        .state()
        .sandbox_network
        .clone()
        .unwrap()
        .transactions()
        .await
        .unwrap();
    let mine: Vec<_> = txns.iter().filter(|t| t.key == c.id).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state.approval().approval_number, p.approval_number);
    assert_eq!(
        event_names(&a).iter().filter(|s| **s == "approved").count(),
        1
    );
    app.wait_sms(PAYER, "slip", &c.id).await;
    assert_eq!(sms_of_kind(&app, PAYER, "slip", &c.id).await, 1);
}

// ------------------------------------------------------------------ 4. who may call

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_withheld_caller_and_foreign_numbers_find_nothing() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(40_000, PAYER)).await;
    let to = vn_e164(&c);
    let no_charge = ko(Prompt::NoCharge);
    let withheld = ko(Prompt::CallerIdWithheld);

    // Another phone dials the right number.
    let x = app
        .twiml_start("CAwrongcaller", &e164(OTHER_PHONE), &to)
        .await;
    assert_hangup(&x);
    assert_eq!(says(&x), vec![ko(Prompt::Greeting), no_charge.clone()]);
    assert!(
        !spoken(&x).contains(demo::DEMO_MERCHANT_NAME),
        "nothing about the charge may be read out: {x}"
    );

    // Withheld caller IDs.
    for (sid, from) in [
        ("CAanon", "anonymous"),
        ("CAempty", ""),
        ("CArestricted", "Restricted"),
        ("CAtwilioanon", "+266696687"),
    ] {
        let x = app.twiml_start(sid, from, &to).await;
        assert_hangup(&x);
        assert_eq!(
            says(&x),
            vec![ko(Prompt::Greeting), withheld.clone()],
            "From={from:?}"
        );
    }
    let t = app.dial(None, &vn(&c)).await;
    assert!(t.turn.hangup);
    assert_eq!(t.turn.outcome, Some(Outcome::CallerIdWithheld));

    // The payer dials a number of another merchant, and a number nobody owns.
    let _other_key = app.second_merchant("other", &["15880001"]);
    let x = app
        .twiml_start("CAothermerchant", &e164(PAYER), "+8215880001")
        .await;
    assert_hangup(&x);
    assert_eq!(says(&x), vec![ko(Prompt::Greeting), no_charge.clone()]);
    let x = app
        .twiml_start("CAnomerchant", &e164(PAYER), "+8216009999")
        .await;
    assert_hangup(&x);
    assert_eq!(says(&x), vec![ko(Prompt::Greeting), no_charge.clone()]);
    let t = app.dial(Some(PAYER), "1600-0019").await;
    assert_eq!(
        t.turn.outcome,
        Some(Outcome::NoCharge),
        "an unbound number of the same merchant"
    );

    // A finished call keeps hanging up.
    let x = app.twiml_digits("CAwrongcaller", "1").await;
    assert_hangup(&x);

    // None of it touched the charge.
    let after = app.get_charge(&c.id).await;
    assert_eq!(after.status.as_str(), "sms_sent");
    assert_eq!(event_names(&after), ["requested", "sms_sent"]);
    assert_eq!(after.virtual_number, c.virtual_number);

    // The payer's own call still works.
    let x = app.twiml_start("CArightcaller", &e164(PAYER), &to).await;
    assert_gather(&app, &x, "1", "");
    assert!(
        says(&x).contains(&summary_ko("감기약 외 2건", 40_000)),
        "{x}"
    );
}

// ------------------------------------------------------------------ 5. expiry

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_charge_unbinds_and_is_announced() {
    let app = spawn_app().await;
    let (url, rx) = webhook_receiver(0).await;
    let secret = set_webhook(&app, &url);
    let mut body = demo_charge(30_000, PAYER);
    body["expires_in_minutes"] = json!(1);
    let c = sent_charge(&app, body).await;
    let number = vn(&c);

    let r = app
        .http
        .post(app.url("/sandbox/clock/advance"))
        .json(&json!({ "minutes": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    // The background sweep may have expired it first; either way it is expired once.
    assert!(v["expired"] == 1 || v["expired"] == 0, "{v}");
    assert!(v["now"].is_string(), "{v}");

    let e = app.wait_status(&c.id, "expired").await;
    assert!(e.virtual_number.is_none());
    assert!(e.payment.is_none());
    assert_eq!(event_names(&e).last(), Some(&"expired"));

    let x = app
        .twiml_start("CAexpired", &e164(PAYER), &e164(&number))
        .await;
    assert_hangup(&x);
    assert_eq!(says(&x), vec![ko(Prompt::Greeting), ko(Prompt::NoCharge)]);
    assert_eq!(app.get_charge(&c.id).await.status.as_str(), "expired");

    let hook = wait_webhook(&rx, "charge.expired", &c.id).await;
    let ts: i64 = header(&hook, "webhook-timestamp").parse().unwrap();
    assert!(fieldpay_server::webhooks::verify(
        &secret,
        header(&hook, "webhook-id"),
        ts,
        &hook.body,
        header(&hook, "webhook-signature"),
        chrono::Utc::now()
    ));
    let v: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(v["data"]["status"], "expired");

    // The number is free again for that payer.
    let again = app.charge(demo_charge(30_000, PAYER)).await;
    assert_eq!(again.virtual_number.as_deref(), Some(number.as_str()));
}

// ------------------------------------------------------------------ 6. cancel and refund

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_payment_and_not_after() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(25_000, PAYER)).await;
    let number = vn(&c);

    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", c.id),
            DEMO_API_KEY,
            &json!({ "reason": "주문 취소" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let canceled: Charge = r.json().await.unwrap();
    assert_eq!(canceled.status.as_str(), "canceled");
    assert!(canceled.virtual_number.is_none());
    assert_eq!(app.get_charge(&c.id).await.status.as_str(), "canceled");

    let t = app.dial(Some(PAYER), &number).await;
    assert!(t.turn.hangup);
    assert_eq!(t.turn.outcome, Some(Outcome::NoCharge));
    assert!(
        t.turn.say.contains(&ko(Prompt::NoCharge)),
        "{:?}",
        t.turn.say
    );

    // An approved charge cannot be canceled (it is refunded instead).
    let paid = sent_charge(&app, demo_charge(25_000, PAYER)).await;
    let t = app.pay_by_phone(PAYER, &vn(&paid), APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    app.wait_status(&paid.id, "approved").await;
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", paid.id),
            DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "invalid_state".to_string())
    );
    let still = app.get_charge(&paid.id).await;
    assert_eq!(still.status.as_str(), "approved");
    assert!(still.payment.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_restores_ledger_and_is_idempotent() {
    let app = spawn_app().await;
    let account = demo_account_id(&app).await;
    let before = balance(&app, &account).await;
    let c = sent_charge(&app, json!({ "amount": 48_000, "goods_name": "소화제", "payer_phone": PAYER, "account_id": account })).await;

    // Not approved yet: no refund.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/refund", c.id),
            DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "invalid_state".to_string())
    );
    assert_eq!(app.get_charge(&c.id).await.status.as_str(), "sms_sent");

    let t = app.pay_by_phone(PAYER, &vn(&c), APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    let a = app.wait_status(&c.id, "approved").await;
    let approval = a.payment.clone().unwrap().approval_number;
    assert_eq!(balance(&app, &account).await, before - 48_000);

    let r = app
        .post_json(
            &format!("/v1/charges/{}/refund", c.id),
            DEMO_API_KEY,
            &json!({ "reason": "반품" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let refunded: Charge = r.json().await.unwrap();
    assert_eq!(refunded.status.as_str(), "refunded");
    let p = refunded.payment.clone().unwrap();
    assert!(p.refunded_at.is_some());
    assert_eq!(p.approval_number, approval);
    assert_eq!(balance(&app, &account).await, before);

    let notice = app.wait_sms(PAYER, "notice", &c.id).await;
    assert!(notice.body.contains("취소"), "{}", notice.body);
    assert!(notice.body.contains(&approval), "{}", notice.body);
    assert!(notice.body.contains("48,000원"), "{}", notice.body);

    let txns = app
        .state()
        .sandbox_network
        .clone()
        .unwrap()
        .transactions()
        .await
        .unwrap();
    let mine: Vec<_> = txns.iter().filter(|t| t.key == c.id).collect();
    assert_eq!(mine.len(), 1);
    assert!(mine[0].state.is_canceled(), "{:?}", mine[0].state);

    // Again: same answer, nothing done twice.
    let r = app
        .post_json(
            &format!("/v1/charges/{}/refund", c.id),
            DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let again: Charge = r.json().await.unwrap();
    assert_eq!(again.status.as_str(), "refunded");
    assert_eq!(again.payment.as_ref().unwrap().refunded_at, p.refunded_at);
    assert_eq!(
        event_names(&again)
            .iter()
            .filter(|s| **s == "refunded")
            .count(),
        1
    );
    assert_eq!(balance(&app, &account).await, before);
    assert_eq!(sms_of_kind(&app, PAYER, "notice", &c.id).await, 1);

    // The receipt now shows the cancellation.
    let r = app
        .http
        .get(p.receipt_url.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-status=\"canceled\""), "{html}");
    assert!(html.contains("취소되었습니다"), "{html}");

    // Two refunds at once of another approved charge: applied once.
    let c2 = sent_charge(&app, json!({ "amount": 12_000, "goods_name": "파스", "payer_phone": PAYER, "account_id": account })).await;
    let t = app.pay_by_phone(PAYER, &vn(&c2), APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    app.wait_status(&c2.id, "approved").await;
    assert_eq!(balance(&app, &account).await, before - 12_000);
    let path = format!("/v1/charges/{}/refund", c2.id);
    let empty = json!({});
    let (r1, r2) = tokio::join!(
        app.post_json(&path, DEMO_API_KEY, &empty),
        app.post_json(&path, DEMO_API_KEY, &empty)
    );
    assert_eq!(r1.status(), StatusCode::OK);
    assert_eq!(r2.status(), StatusCode::OK);
    let c2 = app.get_charge(&c2.id).await;
    assert_eq!(c2.status.as_str(), "refunded");
    assert_eq!(
        event_names(&c2)
            .iter()
            .filter(|s| **s == "refunded")
            .count(),
        1
    );
    assert_eq!(balance(&app, &account).await, before);
    app.wait_sms(PAYER, "notice", &c2.id).await;
    assert_eq!(sms_of_kind(&app, PAYER, "notice", &c2.id).await, 1);
}

// ------------------------------------------------------------------ 7. virtual numbers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_phone_gets_distinct_numbers_and_each_reaches_its_charge() {
    let app = spawn_app().await;
    let amounts = [11_000_i64, 22_000, 33_000];
    let mut mine = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let c = app
            .charge(
                json!({ "amount": amount, "goods_name": format!("상품{i}"), "payer_phone": PAYER }),
            )
            .await;
        mine.push(c);
    }
    let numbers: Vec<String> = mine.iter().map(vn).collect();
    let distinct: std::collections::HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 3, "{numbers:?}");
    for n in &numbers {
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        assert!(
            demo::demo_numbers().contains(&digits),
            "{n} is not a demo number"
        );
    }

    // Another phone may use a number that is already bound to PAYER.
    let theirs = app.charge(demo_charge(44_000, OTHER_PHONE)).await;
    assert!(numbers.contains(&vn(&theirs)), "{} not shared", vn(&theirs));

    for (i, c) in mine.iter().enumerate() {
        app.wait_sms(PAYER, "bill", &c.id).await;
        let x = app
            .twiml_start(&format!("CAmulti{i}"), &e164(PAYER), &vn_e164(c))
            .await;
        assert_gather(&app, &x, "1", "");
        let expected = format!(
            "결제 금액은 {}원입니다",
            korean_number_words(amounts[i] as u64)
        );
        assert!(spoken(&x).contains(&expected), "call {i}: {x}");
        assert!(spoken(&x).contains(&format!("상품{i}")), "call {i}: {x}");
        for (j, other) in amounts.iter().enumerate() {
            if j != i {
                assert!(
                    !spoken(&x).contains(&format!(
                        "결제 금액은 {}원",
                        korean_number_words(*other as u64)
                    )),
                    "call {i}: {x}"
                );
            }
        }
        let now = app.get_charge(&c.id).await;
        assert_eq!(now.status.as_str(), "verified", "call {i}");
    }
    // The shared number from the other phone reaches the other phone's charge.
    app.wait_sms(OTHER_PHONE, "bill", &theirs.id).await;
    let x = app
        .twiml_start("CAshared", &e164(OTHER_PHONE), &vn_e164(&theirs))
        .await;
    assert!(spoken(&x).contains("결제 금액은 사만 사천원입니다"), "{x}");
    assert_eq!(app.get_charge(&theirs.id).await.status.as_str(), "verified");

    // Each charge is paid by its own call.
    let t = app.pay_by_phone(PAYER, &numbers[1], APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    assert_eq!(
        app.get_charge(&mine[1].id).await.status.as_str(),
        "approved"
    );
    assert_eq!(
        app.get_charge(&mine[0].id).await.status.as_str(),
        "verified"
    );
    assert_eq!(
        app.get_charge(&mine[2].id).await.status.as_str(),
        "verified"
    );
    assert_eq!(app.get_charge(&theirs.id).await.status.as_str(), "verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_pool_exhaustion_stores_nothing() {
    let app = spawn_app().await;
    let mut charges = Vec::new();
    for i in 0..10 {
        charges.push(app.charge(demo_charge(10_000 + i * 1_000, PAYER)).await);
    }
    let mut numbers: Vec<String> = charges
        .iter()
        .map(|c| vn(c).chars().filter(char::is_ascii_digit).collect())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        demo::demo_numbers(),
        "the ten charges use the ten numbers"
    );
    assert_eq!(charge_count(&app).await, 10);

    let r = app
        .post_json("/v1/charges", DEMO_API_KEY, &demo_charge(99_000, PAYER))
        .await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "number_pool_exhausted".to_string()
        )
    );
    assert_eq!(charge_count(&app).await, 10);

    // Other phones are not affected.
    let other = app.charge(demo_charge(5_000, OTHER_PHONE)).await;
    assert!(other.virtual_number.is_some());

    // Ending one charge frees its number for the payer.
    let freed = vn(&charges[3]);
    let r = app
        .post_json(
            &format!("/v1/charges/{}/cancel", charges[3].id),
            DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let next = app.charge(demo_charge(99_000, PAYER)).await;
    assert_eq!(vn(&next), freed);
    let r = app
        .post_json("/v1/charges", DEMO_API_KEY, &demo_charge(77_000, PAYER))
        .await;
    assert_eq!(error_code(r).await.1, "number_pool_exhausted");
    assert_eq!(charge_count(&app).await, 12);
    for c in charges.iter().chain(std::iter::once(&next)) {
        app.wait_sms(PAYER, "bill", &c.id).await;
    }
    let bills = app
        .sms(PAYER)
        .await
        .into_iter()
        .filter(|s| s.kind == SmsKind::Bill)
        .count();
    assert_eq!(
        bills, 11,
        "one bill per stored charge, none for the refused ones"
    );
}

// ------------------------------------------------------------------ 8. two calls, one charge

async fn race_round_twiml(app: &TestApp, round: usize) {
    let c = sent_charge(app, demo_charge(31_000, PAYER)).await;
    let (from, to) = (e164(PAYER), vn_e164(&c));
    let (a, b) = (format!("CArace{round}a"), format!("CArace{round}b"));
    twiml_to_password(app, &a, &from, &to, APPROVE_CARD).await;
    twiml_to_password(app, &b, &from, &to, APPROVE_CARD).await;
    let (xa, xb) = tokio::join!(app.twiml_digits(&a, "12"), app.twiml_digits(&b, "12"));
    assert_hangup(&xa);
    assert_hangup(&xb);
    let approved_prompt = |x: &str| spoken(x).contains("결제가 승인되었습니다");
    let failed_prompt = |x: &str| spoken(x).contains(&ko(Prompt::ApprovalFailed));
    assert!(
        approved_prompt(&xa) ^ approved_prompt(&xb),
        "exactly one call approves:\n{xa}\n{xb}"
    );
    let loser = if approved_prompt(&xa) { &xb } else { &xa };
    assert!(failed_prompt(loser), "{loser}");
    check_single_approval(app, &c.id).await;
}

async fn race_round_sandbox(app: &TestApp) {
    let c = sent_charge(app, demo_charge(31_000, PAYER)).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let t = app.dial(Some(PAYER), &vn(&c)).await;
        assert_eq!(t.turn.step, Step::ReadOut);
        let id = t.call_id.clone();
        for keys in ["1", &format!("{APPROVE_CARD}#"), "1230", "800101#"] {
            let t = app.keys(&id, keys).await;
            assert!(!t.turn.hangup, "{:?}", t.turn);
        }
        ids.push(id);
    }
    let (ta, tb) = tokio::join!(app.keys(&ids[0], "12"), app.keys(&ids[1], "12"));
    let outcomes = [ta.turn.outcome.clone(), tb.turn.outcome.clone()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Some(Outcome::Approved))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&Some(Outcome::ApprovalFailed)),
        "{outcomes:?}"
    );
    check_single_approval(app, &c.id).await;
}

async fn check_single_approval(app: &TestApp, charge_id: &str) {
    let c = app.wait_status(charge_id, "approved").await;
    assert!(c.payment.is_some());
    assert_eq!(
        event_names(&c).iter().filter(|s| **s == "approved").count(),
        1,
        "{:?}",
        event_names(&c)
    );
    assert_eq!(network_approvals(app, charge_id).await, 1);
    app.wait_sms(PAYER, "slip", charge_id).await;
    assert_eq!(sms_of_kind(app, PAYER, "slip", charge_id).await, 1);
    let paid = app.store().charge_any(&charge_id.into()).unwrap().unwrap();
    assert!(paid.charge.payment.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_one_charge_approve_once() {
    let app = spawn_app().await;
    for round in 0..3 {
        race_round_twiml(&app, round).await;
    }
    race_round_sandbox(&app).await;
    race_round_sandbox(&app).await;
}

// ------------------------------------------------------------------ 9. input errors and signatures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_invalid_input_and_reentry_over_twiml() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(20_000, PAYER)).await;
    let (from, to) = (e164(PAYER), vn_e164(&c));

    let sid = "CAretries";
    app.twiml_start(sid, &from, &to).await;
    // A timeout at the read-out asks the question again.
    let x = app.twiml_timeout(sid).await;
    assert_gather(&app, &x, "1", "");
    assert_eq!(
        says(&x)[0],
        ko(Prompt::Retry {
            reason: RetryReason::Timeout,
            tries_left: 2
        })
    );
    assert!(spoken(&x).contains("입력 시간이 지났습니다."), "{x}");
    let x = app.twiml_digits(sid, "1").await;
    assert_gather(&app, &x, "19", "#");

    // Card number: timeout, then a bad Luhn digit, then too many.
    let x = app.twiml_timeout(sid).await;
    assert_gather(&app, &x, "19", "#");
    assert!(
        spoken(&x).contains("입력 시간이 지났습니다. 두 번 더 입력하실 수 있습니다."),
        "{x}"
    );
    let x = app.twiml_digits(sid, "9401000000000015").await;
    assert_gather(&app, &x, "19", "#");
    assert!(
        spoken(&x).contains("카드번호가 올바르지 않습니다. 한 번 더 입력하실 수 있습니다."),
        "{x}"
    );
    let x = app.twiml_digits(sid, "12345").await;
    assert_hangup(&x);
    assert_eq!(says(&x), vec![ko(Prompt::TooManyAttempts)]);
    assert!(spoken(&x).contains("입력 횟수를 초과했습니다"), "{x}");
    // The call is over; later requests for it just hang up.
    let x = app.twiml_digits(sid, APPROVE_CARD).await;
    assert_hangup(&x);

    let after = app.get_charge(&c.id).await;
    assert_eq!(after.status.as_str(), "verified");
    assert!(after.payment.is_none());
    assert_eq!(network_approvals(&app, &c.id).await, 0);

    // `*` asks the same field again without using up an attempt.
    let sid = "CAreenter";
    app.twiml_start(sid, &from, &to).await;
    app.twiml_digits(sid, "1").await;
    let x = app.twiml_digits(sid, "*").await;
    assert_gather(&app, &x, "19", "#");
    assert_eq!(
        says(&x),
        vec![ko(Prompt::ReEnter), ko(Prompt::CardNumberAsk)]
    );
    let x = app.twiml_digits(sid, APPROVE_CARD).await;
    assert_eq!(says(&x), vec![ko(Prompt::ExpiryAsk)]);
    let x = app.twiml_digits(sid, "13").await; // not MMYY
    assert_gather(&app, &x, "4", "#");
    assert!(
        spoken(&x).contains("유효기간 형식이 맞지 않습니다. 두 번 더"),
        "{x}"
    );
    let x = app.twiml_digits(sid, "*").await;
    assert_gather(&app, &x, "4", "#");
    assert_eq!(says(&x), vec![ko(Prompt::ReEnter), ko(Prompt::ExpiryAsk)]);
    let x = app.twiml_digits(sid, "0120").await; // in the past
    assert!(
        spoken(&x).contains("유효기간이 지났습니다. 한 번 더"),
        "{x}"
    );
    let x = app.twiml_digits(sid, "1230").await;
    assert_eq!(says(&x), vec![ko(Prompt::BirthOrBusinessAsk)]);
    let x = app.twiml_digits(sid, "800101").await;
    assert_eq!(says(&x), vec![ko(Prompt::PasswordAsk)]);
    let x = app.twiml_digits(sid, "12").await;
    assert_hangup(&x);
    assert!(spoken(&x).contains("결제가 승인되었습니다"), "{x}");
    let a = app.wait_status(&c.id, "approved").await;
    assert_eq!(
        a.payment.unwrap().installment_months,
        0,
        "20,000 KRW: no installment question"
    );
}

/// POSTs to the voice webhook with exactly these form fields and this signature header.
async fn raw_twiml(
    app: &TestApp,
    sig: Option<&str>,
    params: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut req = app
        .http
        .post(app.url("/telephony/twiml/voice"))
        .form(params);
    if let Some(s) = sig {
        req = req.header("X-Twilio-Signature", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twiml_signatures_are_enforced() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(20_000, PAYER)).await;
    let from = e164(PAYER);
    let to = vn_e164(&c);
    let start = [
        ("CallSid", "CAsig"),
        ("From", from.as_str()),
        ("To", to.as_str()),
        ("CallStatus", "ringing"),
    ];

    // Signed with another account's token.
    let (s, body) = app.twiml_signed_with("not-the-token", None, &start).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!body.contains("<Response>"));
    // No signature at all.
    let (s, _) = raw_twiml(&app, None, &start).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Signed, then one field changed (the caller ID swapped for another phone).
    let owned: Vec<(String, String)> = start
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sig = fieldpay_server::telephony::twiml::signature(
        SANDBOX_TWILIO_AUTH_TOKEN,
        &app.url("/telephony/twiml/voice"),
        &owned,
    );
    let other = e164(OTHER_PHONE);
    let tampered = [
        ("CallSid", "CAsig"),
        ("From", other.as_str()),
        ("To", to.as_str()),
        ("CallStatus", "ringing"),
    ];
    let (s, _) = raw_twiml(&app, Some(&sig), &tampered).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A field added after signing.
    let mut added = start.to_vec();
    added.push(("Digits", "1"));
    let (s, _) = raw_twiml(&app, Some(&sig), &added).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Signed for another URL (query string added).
    let r = app
        .http
        .post(app.url("/telephony/twiml/voice?event=timeout"))
        .header("X-Twilio-Signature", &sig)
        .form(&start)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // None of the refused requests started a call.
    assert_eq!(app.state().calls.count(), 0);
    assert!(app.store().call("CAsig").unwrap().is_none());
    let after = app.get_charge(&c.id).await;
    assert_eq!(after.status.as_str(), "sms_sent");
    assert_eq!(event_names(&after), ["requested", "sms_sent"]);

    // The untouched, correctly signed request works.
    let (s, x) = raw_twiml(&app, Some(&sig), &start).await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert_gather(&app, &x, "1", "");
    // Keys on a live call with a bad signature are refused and change nothing.
    let (s, _) = app
        .twiml_signed_with(
            "not-the-token",
            None,
            &[
                ("CallSid", "CAsig"),
                ("Digits", "1"),
                ("CallStatus", "in-progress"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let x = app.twiml_digits("CAsig", "1").await;
    assert_eq!(
        says(&x),
        vec![ko(Prompt::CardNumberAsk)],
        "the refused keys must not have counted"
    );
}

// ------------------------------------------------------------------ 10. auto-pay

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_pay_names_the_registered_card_and_approves() {
    let app = spawn_app().await;
    let payer = demo::DEMO_AUTOPAY_PHONE;
    let c = sent_charge(&app, json!({ "amount": 70_000, "goods_name": "정기 배송", "payer_phone": payer, "kind": "auto_pay" })).await;
    assert_eq!(c.kind.as_str(), "auto_pay");

    let sid = "CAautopay";
    let x = app.twiml_start(sid, &e164(payer), &vn_e164(&c)).await;
    assert_gather(&app, &x, "1", "");
    assert!(says(&x).contains(&summary_ko("정기 배송", 70_000)), "{x}");

    let x = app.twiml_digits(sid, "1").await;
    assert_gather(&app, &x, "1", "");
    let offer = spoken(&x);
    assert!(offer.contains("BC카드"), "{x}");
    assert!(
        offer.contains(&format!("끝자리 {}", digits_words("0014", Lang::Ko))),
        "{x}"
    );
    assert!(!offer.contains(&ko(Prompt::CardNumberAsk)), "{x}");

    let x = app.twiml_digits(sid, "1").await;
    // 70,000 KRW: the installment question, and no card entry.
    assert_gather(&app, &x, "2", "#");
    assert_eq!(says(&x), vec![ko(Prompt::InstallmentsAsk)]);
    let x = app.twiml_digits(sid, "2#").await;
    assert_hangup(&x);
    assert!(
        spoken(&x).contains("BC카드 칠만원 이개월 할부 결제가 승인되었습니다."),
        "{x}"
    );

    let a = app.wait_status(&c.id, "approved").await;
    let p = a.payment.unwrap();
    assert!(p.masked_card.ends_with("0014"), "{}", p.masked_card);
    assert_eq!(p.issuer_name, "BC카드");
    assert_eq!(p.installment_months, 2);
    assert_eq!(network_approvals(&app, &c.id).await, 1);
    let txns = app
        .state()
        .sandbox_network
        .clone()
        .unwrap()
        .transactions()
        .await
        .unwrap();
    let mine = txns
        .iter()
        .find(|t| t.key == c.id)
        .expect("network transaction");
    assert!(mine.auto_pay, "paid with the registered card's token");

    // 2 at the offer leads to card entry with another card.
    let c2 = sent_charge(
        &app,
        json!({ "amount": 9_000, "goods_name": "파스", "payer_phone": payer, "kind": "auto_pay" }),
    )
    .await;
    let t = app.dial(Some(payer), &vn(&c2)).await;
    let t2 = app.keys(&t.call_id, "1").await;
    assert_eq!(t2.turn.step, Step::AutoPayConfirm);
    let t3 = app.keys(&t.call_id, "2").await;
    assert_eq!(t3.turn.step, Step::CardNumber);
    for keys in ["4579730000000013#", "1230", "800101#"] {
        app.keys(&t.call_id, keys).await;
    }
    let t4 = app.keys(&t.call_id, "12").await;
    assert_eq!(t4.turn.outcome, Some(Outcome::Approved), "{:?}", t4.turn);
    let p2 = app.wait_status(&c2.id, "approved").await.payment.unwrap();
    assert_eq!(p2.masked_card, "457973******0013");
    assert_eq!(p2.issuer_name, "KB국민카드");
}

// ------------------------------------------------------------------ 11. English

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_prompts_on_the_sandbox_phone() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(12_500, PAYER)).await;
    let t = dial_lang(&app, PAYER, &vn(&c), "en").await;
    assert_eq!(t.turn.lang, Lang::En);
    assert_eq!(t.turn.step, Step::ReadOut);
    assert_eq!(t.turn.say[0], "Hello, this is FieldPay phone payment.");
    let all = t.turn.say.join(" ");
    assert!(
        all.contains("requests payment for 감기약 외 2건. The amount is 12,500 won."),
        "{all}"
    );
    assert!(
        all.contains("To pay, press 1. To decline, press 2."),
        "{all}"
    );
    assert!(!all.contains("안녕하세요"), "{all}");

    let t = app.keys(&t.call_id, "1").await;
    assert_eq!(
        t.turn.say,
        vec!["Enter your card number, then press the pound key.".to_string()]
    );
    let t = app.keys(&t.call_id, "2#").await;
    assert!(
        t.turn.say[0]
            .starts_with("The card number has the wrong number of digits. You have 2 more tries."),
        "{:?}",
        t.turn.say
    );
    let t = app.keys(&t.call_id, "2").await;
    assert!(
        t.turn.say[0].contains("You have 1 more try."),
        "{:?}",
        t.turn.say
    );
    let mut t = app.keys(&t.call_id, &format!("{APPROVE_CARD}#")).await;
    for keys in ["1230", "800101#", "12"] {
        t = app.keys(&t.call_id, keys).await;
    }
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    let all = t.turn.say.join(" ");
    assert!(
        all.contains(
            "Your payment of 12,500 won with your BC Card as a single payment is approved."
        ),
        "{all}"
    );
    assert!(all.contains("The approval number is"), "{all}");
    assert_eq!(
        app.wait_status(&c.id, "approved")
            .await
            .payment
            .unwrap()
            .installment_months,
        0
    );

    // The registered card of auto-pay is named in English too.
    let payer = demo::DEMO_AUTOPAY_PHONE;
    let auto = sent_charge(
        &app,
        json!({ "amount": 8_000, "goods_name": "파스", "payer_phone": payer, "kind": "auto_pay" }),
    )
    .await;
    let t = dial_lang(&app, payer, &vn(&auto), "en").await;
    let t = app.keys(&t.call_id, "1").await;
    assert_eq!(t.turn.step, Step::AutoPayConfirm);
    assert_eq!(
        t.turn.say,
        vec!["To pay with your registered BC Card ending in zero zero one four, press 1. To pay with another card, press 2.".to_string()]
    );
    let t = app.keys(&t.call_id, "1").await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    assert!(
        t.turn.say.join(" ").contains(
            "Your payment of 8,000 won with your BC Card as a single payment is approved."
        ),
        "{:?}",
        t.turn.say
    );

    // Korean stays the default.
    let c2 = sent_charge(&app, demo_charge(12_500, PAYER)).await;
    let t = app.dial(Some(PAYER), &vn(&c2)).await;
    assert_eq!(t.turn.lang, Lang::Ko);
    assert_eq!(t.turn.say[0], ko(Prompt::Greeting));
}

// ------------------------------------------------------------------ 12. carrier retries, hang-ups, restarts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_retry_of_the_first_request_keeps_the_call() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(20_000, PAYER)).await;
    let (from, to) = (e164(PAYER), vn_e164(&c));

    let sid = "CAretried";
    let first = app.twiml_start(sid, &from, &to).await;
    assert_gather(&app, &first, "1", "");
    // The carrier did not get our answer in time and sends the same request again.
    let again = app.twiml_start(sid, &from, &to).await;
    assert_gather(&app, &again, "1", "");
    assert!(
        spoken(&again).contains(&ko(Prompt::PayOrDecline)),
        "{again}"
    );
    let after = app.get_charge(&c.id).await;
    assert_eq!(
        event_names(&after),
        ["requested", "sms_sent", "call_connected", "verified"],
        "looked up once"
    );

    // The call goes on where it was.
    let x = app.twiml_digits(sid, "1").await;
    assert_eq!(says(&x), vec![ko(Prompt::CardNumberAsk)]);
    let again = app.twiml_start(sid, &from, &to).await;
    assert_gather(&app, &again, "19", "#");
    assert!(
        spoken(&again).contains(&ko(Prompt::CardNumberAsk)),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_mid_entry_leaves_the_charge_payable() {
    let app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(20_000, PAYER)).await;
    let (from, to) = (e164(PAYER), vn_e164(&c));

    let sid = "CAhangup";
    app.twiml_start(sid, &from, &to).await;
    app.twiml_digits(sid, "1").await;
    app.twiml_digits(sid, APPROVE_CARD).await;
    let (s, x) = app
        .twiml(None, &[("CallSid", sid), ("CallStatus", "completed")])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_hangup(&x);
    let rec = app.store().call(sid).unwrap().expect("call session stored");
    assert!(rec.ended_at.is_some());
    assert_eq!(rec.outcome.as_deref(), Some("hung_up"));
    assert_eq!(rec.charge_id, Some(c.id.as_str().into()));
    assert!(!rec.checkpoint.contains(APPROVE_CARD) && !rec.trace.contains(APPROVE_CARD));
    assert_eq!(app.state().calls.count(), 0);

    let after = app.get_charge(&c.id).await;
    assert_eq!(after.status.as_str(), "verified");
    assert!(after.payment.is_none());
    let t = app.pay_by_phone(PAYER, &vn(&c), APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    app.wait_status(&c.id, "approved").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_call_stays_english_after_a_restart() {
    let mut app = spawn_app().await;
    let c = sent_charge(&app, demo_charge(12_500, PAYER)).await;
    let t = dial_lang(&app, PAYER, &vn(&c), "en").await;
    let id = t.call_id.clone();
    let t = app.keys(&id, "1").await;
    assert_eq!(t.turn.step, Step::CardNumber);

    app.restart().await;

    let t = app.keys(&id, &format!("{APPROVE_CARD}#")).await;
    assert_eq!(
        t.turn.step,
        Step::CardNumber,
        "card entry starts again after a restart"
    );
    assert_eq!(t.turn.lang, Lang::En, "{:?}", t.turn);
    assert_eq!(
        t.turn.say[0],
        Prompt::InputLost.text(Lang::En),
        "{:?}",
        t.turn.say
    );
    let mut t = app.keys(&id, &format!("{APPROVE_CARD}#")).await;
    assert_eq!(t.turn.say, vec![Prompt::ExpiryAsk.text(Lang::En)]);
    for keys in ["1230", "800101#", "12"] {
        t = app.keys(&id, keys).await;
    }
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    assert!(
        t.turn.say.join(" ").contains("The approval number is"),
        "{:?}",
        t.turn.say
    );
    app.wait_status(&c.id, "approved").await;
}

// ------------------------------------------------------------------ 13. per-charge and per-merchant flow

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installment_question_only_from_50000_won_when_allowed() {
    let app = spawn_app().await;
    let cases: [(i64, Option<bool>, bool); 4] = [
        (49_999, None, false),
        (50_000, None, true),
        (60_000, Some(false), false),
        (120_000, Some(true), true),
    ];
    for (i, (amount, allowed, asked)) in cases.into_iter().enumerate() {
        let mut body = demo_charge(amount, PAYER);
        if let Some(a) = allowed {
            body["installments"] = json!(a);
        }
        let c = sent_charge(&app, body).await;
        let sid = format!("CAinst{i}");
        app.twiml_start(&sid, &e164(PAYER), &vn_e164(&c)).await;
        app.twiml_digits(&sid, "1").await;
        app.twiml_digits(&sid, APPROVE_CARD).await;
        let x = app.twiml_digits(&sid, "1230").await;
        if !asked {
            assert_eq!(
                says(&x),
                vec![ko(Prompt::BirthOrBusinessAsk)],
                "amount {amount} allowed {allowed:?}"
            );
            continue;
        }
        assert_eq!(
            says(&x),
            vec![ko(Prompt::InstallmentsAsk)],
            "amount {amount}"
        );
        // 1 month is not an installment plan; 13 is too many.
        let x = app.twiml_digits(&sid, "1#").await;
        assert_gather(&app, &x, "2", "#");
        assert!(
            spoken(&x).starts_with("할부 개월 수가 올바르지 않습니다."),
            "{x}"
        );
        let x = app.twiml_digits(&sid, "13").await;
        assert!(
            spoken(&x).contains(&ko(Prompt::Retry {
                reason: RetryReason::InstallmentsInvalid,
                tries_left: 1
            })),
            "{x}"
        );
        let x = app.twiml_digits(&sid, "12").await;
        assert_eq!(says(&x), vec![ko(Prompt::BirthOrBusinessAsk)]);
        app.twiml_digits(&sid, "800101").await;
        let x = app.twiml_digits(&sid, "12").await;
        assert!(
            spoken(&x).contains("십이개월 할부 결제가 승인되었습니다"),
            "{x}"
        );
        let p = app.wait_status(&c.id, "approved").await.payment.unwrap();
        assert_eq!(p.installment_months, 12);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_merchant_number_reaches_its_own_charge_and_settings() {
    let app = spawn_app().await;
    let key = app.second_merchant("acme", &["15880001"]);
    let store = app.store();
    let m = store.merchant_by_code("acme").unwrap().unwrap();
    let mut settings = m.settings.clone();
    settings.require_birth_date = false;
    settings.require_password = false;
    store.update_merchant_settings(&m.id, &settings).unwrap();

    let demo_c = sent_charge(&app, demo_charge(15_000, PAYER)).await;
    let r = app
        .post_json(
            "/v1/charges",
            &key,
            &json!({ "amount": 27_000, "goods_name": "공구 세트", "payer_phone": PAYER }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let acme_c: Charge = r.json().await.unwrap();
    assert_eq!(acme_c.virtual_number.as_deref(), Some("1588-0001"));
    let bill = app.wait_sms(PAYER, "bill", &acme_c.id).await;
    assert!(
        bill.body.contains("acme 상사") && bill.body.contains("tel:15880001"),
        "{}",
        bill.body
    );

    // The acme number reads acme's charge and asks only what acme requires.
    let sid = "CAacme";
    let x = app.twiml_start(sid, &e164(PAYER), "+8215880001").await;
    assert!(
        spoken(&x).contains("acme 상사에서 요청한 공구 세트, 결제 금액은 이만 칠천원입니다."),
        "{x}"
    );
    app.twiml_digits(sid, "1").await;
    app.twiml_digits(sid, APPROVE_CARD).await;
    let x = app.twiml_digits(sid, "1230").await;
    assert_hangup(&x);
    assert!(
        spoken(&x).contains("BC카드 이만 칠천원 일시불 결제가 승인되었습니다."),
        "{x}"
    );

    // Approved for acme only; the demo charge is untouched and invisible to acme.
    let r = app.get(&format!("/v1/charges/{}", acme_c.id), &key).await;
    let paid: Charge = r.json().await.unwrap();
    assert_eq!(paid.status.as_str(), "approved");
    assert_eq!(
        app.get(&format!("/v1/charges/{}", acme_c.id), DEMO_API_KEY)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/v1/charges/{}", demo_c.id), &key)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get_charge(&demo_c.id).await.status.as_str(), "sms_sent");

    // The demo number still reads the demo charge, with the demo merchant's questions.
    let t = app.pay_by_phone(PAYER, &vn(&demo_c), APPROVE_CARD).await;
    assert_eq!(t.turn.outcome, Some(Outcome::Approved));
    let c = app.wait_status(&demo_c.id, "approved").await;
    assert_eq!(c.payment.unwrap().amount, 15_000);
}
