//! The web channels over plain HTTP: signed links and API-made payment links, the pay, agent,
//! status and error pages (CSRF, CSP, no-store), the live status (server-sent events and
//! polling), double and concurrent submits, limits.

use std::time::Duration;

use fieldpay_server::admin::{self, Actor};
use fieldpay_server::demo::{DEMO_API_KEY, DEMO_MANAGER, DEMO_MERCHANT_CODE};
use fieldpay_server::links::{canonical, encode, sign};
use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// A browser without JavaScript: no redirects followed, its own CSRF cookie.
struct Browser {
    app_base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    lang: Option<&'static str>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> String {
        self.headers[LOCATION].to_str().unwrap().to_string()
    }
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..].split('"').next().unwrap().to_string()
    }
    fn page(&self) -> &str {
        let at = self.body.find("data-page=\"").expect("main#page") + 11;
        self.body[at..].split('"').next().unwrap()
    }
    fn error_code(&self) -> &str {
        let at = self.body.find("id=\"error\" data-code=\"").expect("#error") + 22;
        self.body[at..].split('"').next().unwrap()
    }
    fn live_status(&self) -> &str {
        let at = self.body.find("data-status=\"").expect("#status") + 13;
        self.body[at..].split('"').next().unwrap()
    }
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            app_base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            lang: None,
        }
    }

    fn keep_cookie(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("fp_csrf=") {
                assert!(
                    v.contains("HttpOnly") && v.contains("SameSite=Strict"),
                    "{v}"
                );
                self.cookie = Some(rest.split(';').next().unwrap().to_string());
            }
        }
    }

    async fn answer(&mut self, r: reqwest::RequestBuilder) -> Answer {
        let mut r = r;
        if let Some(c) = &self.cookie {
            r = r.header("cookie", format!("fp_csrf={c}"));
        }
        if let Some(l) = self.lang {
            r = r.header("accept-language", l);
        }
        let res = r.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        self.keep_cookie(&headers);
        Answer {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.app_base)
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let r = self.http.get(self.url(path));
        self.answer(r).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let r = self.http.post(self.url(path)).form(form);
        self.answer(r).await
    }
}

/// The demo merchant's link key, made now.
fn link_key(app: &TestApp) -> String {
    let store = app.store();
    let m = store.merchant_by_code(DEMO_MERCHANT_CODE).unwrap().unwrap();
    let (key, _) = admin::rotate_link_key(store.as_ref(), &Actor::Cli, &m.id).unwrap();
    key.expose().to_string()
}

/// A signed link's path and query.
fn signed(key: &str, code: &str, pairs: &[(&str, &str)]) -> String {
    let sig = sign(key, &canonical(pairs.iter().copied()));
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("/pay/{code}?{}&sig={sig}", q.join("&"))
}

fn in_an_hour() -> String {
    (chrono::Utc::now().timestamp() + 3600).to_string()
}

/// The charges of a payer phone (newest first).
async fn charges_of(app: &TestApp, phone: &str) -> Vec<fieldpay_protocol::charge::Charge> {
    let r = app
        .get(&format!("/v1/charges?payer_phone={phone}"), DEMO_API_KEY)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<fieldpay_protocol::charge::ChargeList>()
        .await
        .unwrap()
        .items
}

fn assert_strict_page(a: &Answer) {
    let csp = a.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!a.body.contains("<script>"), "no inline script");
    assert!(!a.body.contains("style="), "no inline style");
}

fn virtual_number(a: &Answer) -> String {
    let at = a
        .body
        .find("id=\"virtual-number\"")
        .expect("a#virtual-number");
    let href = a.body[at..].find("href=\"tel:").unwrap() + at + 10;
    a.body[href..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_link_from_pay_page_to_receipt() {
    let app = spawn_app().await;
    let key = link_key(&app);
    let phone = "010-5100-0001";
    let link = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[
            ("goods_name", "한우 선물 세트"),
            ("amount", "50000"),
            ("order_ref", "SHOP-1001"),
            ("payer_phone", phone),
            ("expires", &in_an_hour()),
        ],
    );
    let mut b = Browser::new(&app);
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.page(), "pay");
    assert!(page.body.contains("<html lang=\"ko\">"));
    assert!(page.body.contains("id=\"pay-form\""));
    assert!(
        page.body.contains("value=\"010-5100-0001\""),
        "phone filled in"
    );
    assert!(page.body.contains("50,000"));
    assert!(page.body.contains("id=\"consent\""));
    assert_strict_page(&page);
    assert!(!page.body.to_lowercase().contains("card number"));

    // Without the CSRF token: 403, nothing made.
    let no_csrf = b
        .post(&link, &[("payer_phone", phone), ("consent", "yes")])
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(no_csrf.error_code(), "csrf");
    // A token that is not the cookie's: the same.
    let wrong = b
        .post(
            &link,
            &[
                ("payer_phone", phone),
                ("consent", "yes"),
                ("csrf", "x1234"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // No consent, a bad phone: the form again, nothing made.
    let csrf = page.csrf();
    let no_consent = b
        .post(&link, &[("payer_phone", phone), ("csrf", &csrf)])
        .await;
    assert_eq!(no_consent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_consent.page(), "pay");
    let bad_phone = b
        .post(
            &link,
            &[
                ("payer_phone", "02-123"),
                ("consent", "yes"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(bad_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(charges_of(&app, "01051000001").await.is_empty());

    // Sent: 303 to the status page; a double submit lands there too, with one charge.
    let sent = b
        .post(
            &link,
            &[("payer_phone", phone), ("consent", "yes"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let status_path = sent.location();
    assert!(status_path.starts_with("/pay/s/") && status_path.len() > 30);
    let again = b
        .post(
            &link,
            &[("payer_phone", phone), ("consent", "yes"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.location(), status_path);
    let charges = charges_of(&app, "01051000001").await;
    assert_eq!(charges.len(), 1);
    let charge = &charges[0];
    assert_eq!(charge.amount, 50_000);
    assert_eq!(charge.order_ref.as_deref(), Some("SHOP-1001"));
    // The link itself, once opened again, goes to the status page.
    let reopened = b.get(&link).await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    assert_eq!(reopened.location(), status_path);

    // 주문 등록 완료: the number as a tel: link, the deadline, the live status.
    app.wait_status(&charge.id, "sms_sent").await;
    let reg = b.get(&status_path).await;
    assert_eq!(reg.status, StatusCode::OK);
    assert_eq!(reg.page(), "registered");
    assert!(reg.body.contains("주문 등록 완료"));
    assert!(reg
        .body
        .contains("문자로 받은 번호로 전화해 카드 정보를 입력하세요"));
    assert!(reg.body.contains("id=\"deadline\""));
    assert_eq!(reg.live_status(), "text_sent");
    assert_eq!(reg.headers[CACHE_CONTROL], "no-store");
    assert_strict_page(&reg);
    assert!(reg
        .body
        .contains("<script src=\"/web/status.js\" defer></script>"));
    let number = virtual_number(&reg);
    assert_eq!(
        Some(number.clone()),
        charge.virtual_number.as_ref().map(|n| n.replace('-', ""))
    );

    // The live status: the stream opens with the current state and follows the payment.
    let mut stream = app
        .http
        .get(app.url(&format!("{status_path}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()[CACHE_CONTROL], "no-store");
    let mut seen = String::new();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    seen.push_str(&String::from_utf8_lossy(&first));
    assert!(
        seen.contains("event: status") && seen.contains("\"status\":\"text_sent\""),
        "{seen}"
    );

    app.pay_by_phone("01051000001", &number, APPROVE_CARD).await;
    app.wait_status(&charge.id, "approved").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains("\"status\":\"approved\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the approval arrives on the stream")
            .unwrap();
        match chunk {
            Some(c) => seen.push_str(&String::from_utf8_lossy(&c)),
            None => break,
        }
    }
    assert!(seen.contains("\"status\":\"approved\""), "{seen}");
    assert!(
        seen.contains("\"page\":\"result\"") && seen.contains("receipt-link"),
        "{seen}"
    );
    // The poll says the same.
    let polled: Value = app
        .http
        .get(app.url(&format!("{status_path}/state")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(polled["status"], "approved");
    assert_eq!(polled["final"], true);

    // The result view with the receipt; the link is paid: no second payment.
    let result = b.get(&status_path).await;
    assert_eq!(result.page(), "result");
    assert_eq!(result.live_status(), "approved");
    let paid = app.get_charge(&charge.id).await;
    let receipt = paid.payment.unwrap().receipt_url.unwrap();
    let receipt_path = receipt.trim_start_matches(&app.base);
    assert!(
        result.body.contains(&format!(
            "id=\"receipt-link\" class=\"button\" href=\"{receipt_path}\""
        )),
        "{}",
        result.body
    );
    let slip = b.get(receipt_path).await;
    assert_eq!(slip.status, StatusCode::OK);
    let closed = b.get(&link).await;
    assert_eq!(closed.status, StatusCode::CONFLICT);
    assert_eq!(closed.error_code(), "paid");
    let csrf = closed.csrf_or(&csrf);
    let refused = b
        .post(
            &link,
            &[("payer_phone", phone), ("consent", "yes"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.error_code(), "paid");
    assert_eq!(charges_of(&app, "01051000001").await.len(), 1);
}

impl Answer {
    fn csrf_or(&self, other: &str) -> String {
        if self.body.contains("name=\"csrf\"") {
            self.csrf()
        } else {
            other.to_string()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signed_links_show_an_error_and_create_nothing() {
    let app = spawn_app().await;
    let phone = "010-5100-0002";
    let pairs = [
        ("goods_name", "한우 선물 세트"),
        ("amount", "50000"),
        ("payer_phone", phone),
        ("expires", &in_an_hour()),
    ];
    // No link key yet: no signed link of this merchant is valid.
    let mut b = Browser::new(&app);
    let none = b
        .get(&signed("fpl_guess", DEMO_MERCHANT_CODE, &pairs))
        .await;
    assert_eq!(
        (none.status, none.error_code()),
        (StatusCode::FORBIDDEN, "bad_signature")
    );

    let key = link_key(&app);
    let good = signed(&key, DEMO_MERCHANT_CODE, &pairs);
    assert_eq!(b.get(&good).await.status, StatusCode::OK);
    let tampered = good.replace("amount=50000", "amount=5000");
    let unsigned = good.split("&sig=").next().unwrap().to_string();
    let added = format!("{good}&mode=agent");
    let other_key = signed(
        &fieldpay_server::links::new_key(),
        DEMO_MERCHANT_CODE,
        &pairs,
    );
    for (what, path) in [
        ("tampered amount", &tampered),
        ("missing sig", &unsigned),
        ("added mode", &added),
        ("another key", &other_key),
    ] {
        let a = b.get(path).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{what}");
        assert_eq!(a.error_code(), "bad_signature", "{what}");
        assert_strict_page(&a);
        assert!(
            a.body.contains("유효하지 않은 결제 링크입니다")
                && a.body.contains("This payment link is not valid")
        );
        let csrf = b.get(&good).await.csrf();
        let post = b
            .post(
                path,
                &[("payer_phone", phone), ("consent", "yes"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(post.error_code(), "bad_signature", "{what}");
    }
    // Past expiry.
    let past = (chrono::Utc::now().timestamp() - 60).to_string();
    let expired = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[("goods_name", "g"), ("amount", "1000"), ("expires", &past)],
    );
    let a = b.get(&expired).await;
    assert_eq!((a.status, a.error_code()), (StatusCode::GONE, "expired"));
    let csrf = b.get(&good).await.csrf();
    let post = b
        .post(
            &expired,
            &[("payer_phone", phone), ("consent", "yes"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(post.error_code(), "expired");
    // Signed but a bad value; unknown merchant.
    let bad_amount = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[
            ("goods_name", "g"),
            ("amount", "1,000"),
            ("expires", &in_an_hour()),
        ],
    );
    let a = b.get(&bad_amount).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let a = b.get(&signed(&key, "nosuch", &pairs)).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // English by ?lang=en (inside the signature) or the browser's language.
    let en = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[
            ("goods_name", "g"),
            ("amount", "1000"),
            ("expires", &in_an_hour()),
            ("lang", "en"),
        ],
    );
    let a = b.get(&en).await;
    assert!(
        a.body.contains("<html lang=\"en\">") && a.body.contains("Mobile number"),
        "{}",
        a.body
    );
    b.lang = Some("en-US,en;q=0.9");
    let a = b.get(&tampered).await;
    assert!(a.body.contains("<html lang=\"en\">"));
    b.lang = None;

    // A rotated key: links signed with the old one stop working.
    let _ = link_key(&app);
    assert_eq!(b.get(&good).await.error_code(), "bad_signature");

    // A suspended merchant.
    let key = link_key(&app);
    let good = signed(&key, DEMO_MERCHANT_CODE, &pairs);
    let store = app.store();
    let m = store.merchant_by_code(DEMO_MERCHANT_CODE).unwrap().unwrap();
    admin::suspend_merchant(app.state(), &Actor::Cli, &m.id)
        .await
        .unwrap();
    let a = b.get(&good).await;
    assert_eq!(
        (a.status, a.error_code()),
        (StatusCode::FORBIDDEN, "suspended")
    );
    assert!(charges_of(&app, "01051000002").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_made_links_read_and_cancel() {
    let app = spawn_app().await;
    let body = json!({
        "goods_name": "객실 예약 (2박)", "amount": 240000, "payer_name": "이서연",
        "payer_phone": "010-5100-0003", "payer_email": "guest@example.com",
        "order_ref": "HOTEL-77", "expires_in_minutes": 120,
    });
    let r = app
        .post_json("/v1/payment-links", DEMO_API_KEY, &body)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let url = made["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("{}/l/{id}", app.base));
    assert!(made["expires_at"].as_str().unwrap().ends_with('Z'));

    // Bad input: typed errors, nothing made.
    for (bad, field) in [
        (json!({"goods_name": "x", "amount": 0}), "amount"),
        (json!({"goods_name": "", "amount": 1000}), "goods_name"),
        (
            json!({"goods_name": "x", "amount": 1000, "payer_phone": "02-1"}),
            "payer_phone",
        ),
        (
            json!({"goods_name": "x", "amount": 1000, "payer_email": "no at"}),
            "payer_email",
        ),
        (
            json!({"goods_name": "x", "amount": 1000, "expires_in_minutes": 0}),
            "expires_in_minutes",
        ),
        (
            json!({"goods_name": "x", "amount": 1000, "card_number": "1"}),
            "card_number",
        ),
    ] {
        let r = app.post_json("/v1/payment-links", DEMO_API_KEY, &bad).await;
        let (status, _, message) = api_error(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(message.contains(field), "{message}");
    }
    // A plain rep may not; a manager may.
    let rep = login(&app, "rep1", "demo1234").await;
    let r = app
        .post_json("/v1/payment-links", &rep.access_token, &body)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mgr = login(&app, DEMO_MANAGER.0, DEMO_MANAGER.2).await;
    let r = app
        .post_json("/v1/payment-links", &mgr.access_token, &body)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    let got: Value = app
        .get(&format!("/v1/payment-links/{id}"), DEMO_API_KEY)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "open");
    assert_eq!(got["source"], "api");
    assert_eq!(got["payer_email"], "guest@example.com");
    assert!(got["created_by"].as_str().unwrap().starts_with("api_key:"));
    let other_key = app.second_merchant("other", &["16009991"]);
    assert_eq!(
        app.get(&format!("/v1/payment-links/{id}"), &other_key)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The page; a charge; cancel cancels its charge too; the page then says canceled.
    let mut b = Browser::new(&app);
    let page = b.get(&url).await;
    assert_eq!(page.page(), "pay");
    assert!(page.body.contains("240,000") && page.body.contains("HOTEL-77"));
    let csrf = page.csrf();
    let sent = b
        .post(
            &url,
            &[
                ("payer_phone", "010-5100-0003"),
                ("consent", "yes"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let charge_id = charges_of(&app, "01051000003").await[0].id.clone();
    let r = app
        .post_json(
            &format!("/v1/payment-links/{id}/cancel"),
            DEMO_API_KEY,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let canceled: Value = r.json().await.unwrap();
    assert_eq!(canceled["status"], "canceled");
    app.wait_status(&charge_id, "canceled").await;
    let a = b.get(&url).await;
    assert_eq!((a.status, a.error_code()), (StatusCode::GONE, "canceled"));
    let a = b
        .post(
            &url,
            &[
                ("payer_phone", "010-5100-0003"),
                ("consent", "yes"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(a.error_code(), "canceled");
    let status = b.get(&sent.location()).await;
    assert_eq!(status.page(), "result");
    assert_eq!(status.live_status(), "canceled");
    assert!(
        !status.body.contains("id=\"again-form\""),
        "no retry on a canceled link"
    );
    assert_eq!(charges_of(&app, "01051000003").await.len(), 1);
    // Unknown links and tokens.
    assert_eq!(b.get("/l/pl_nosuch").await.error_code(), "not_found");
    assert_eq!(
        b.get("/pay/s/nosuchtoken").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_page_sends_edited_fields_and_sends_again() {
    let app = spawn_app().await;
    let key = link_key(&app);
    let link = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[
            ("mode", "agent"),
            ("goods_name", "한약 1개월분"),
            ("amount", "300000"),
            ("order_ref", "CRM-9"),
            ("payer_name", "최지훈"),
            ("payer_phone", "010-5100-0004"),
            ("payer_email", "p@example.com"),
            ("expires", &in_an_hour()),
        ],
    );
    let mut b = Browser::new(&app);
    let page = b.get(&link).await;
    assert_eq!(page.page(), "agent", "{}", page.body);
    for v in [
        "CRM-9",
        "한약 1개월분",
        "300000",
        "최지훈",
        "010-5100-0004",
        "p@example.com",
    ] {
        assert!(page.body.contains(&format!("value=\"{v}\"")), "{v}");
    }
    assert!(page
        .body
        .contains("상담원은 카드 정보를 묻거나 보지 않습니다"));
    assert!(page.body.contains("id=\"send\""));
    let csrf = page.csrf();
    let sent = b
        .post(
            &link,
            &[
                ("csrf", &csrf),
                ("order_ref", "CRM-9"),
                ("goods_name", "한약 1개월분 (할인)"),
                ("amount", "270000"),
                ("payer_name", "최지훈"),
                ("payer_phone", "010-5100-0004"),
                ("payer_email", "p@example.com"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let charges = charges_of(&app, "01051000004").await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].amount, 270_000);
    assert_eq!(charges[0].goods_name, "한약 1개월분 (할인)");
    app.wait_status(&charges[0].id, "sms_sent").await;
    let status = b.get(&sent.location()).await;
    assert_eq!(status.page(), "agent");
    assert!(status.body.contains("id=\"send-again\""));
    assert_eq!(status.live_status(), "text_sent");
    let bills = app.sms("01051000004").await.len();
    let again = b
        .post(
            &sent.location(),
            &[("csrf", &status.csrf()), ("action", "again")],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    for _ in 0..200 {
        if app.sms("01051000004").await.len() > bills {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        app.sms("01051000004").await.len() > bills,
        "the bill went again"
    );
    assert_eq!(
        charges_of(&app, "01051000004").await.len(),
        1,
        "the same charge"
    );
    // Without the CSRF token: nothing.
    let no = b.post(&sent.location(), &[("action", "again")]).await;
    assert_eq!(no.error_code(), "csrf");
    // A bad field: the form again with the error.
    let link2 = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[
            ("mode", "agent"),
            ("goods_name", "g"),
            ("amount", "1000"),
            ("expires", &in_an_hour()),
        ],
    );
    let page = b.get(&link2).await;
    let bad = b
        .post(
            &link2,
            &[
                ("csrf", &page.csrf()),
                ("goods_name", "g"),
                ("amount", "0"),
                ("payer_phone", "010-5100-0005"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.page(), "agent");
    assert!(charges_of(&app, "01051000005").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submits_make_one_charge_and_an_expired_charge_can_be_retried() {
    // The per-phone limit out of the way: every submit below would otherwise count.
    let app = spawn_app_configured(&[1], |s| s.web_charges_phone_burst = 50).await;
    let key = link_key(&app);
    let link = signed(
        &key,
        DEMO_MERCHANT_CODE,
        &[
            ("goods_name", "g"),
            ("amount", "1000"),
            (
                "expires",
                &(chrono::Utc::now().timestamp() + 6 * 3600).to_string(),
            ),
        ],
    );
    let mut b = Browser::new(&app);
    let csrf = b.get(&link).await.csrf();
    let cookie = b.cookie.clone().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (url, csrf, cookie) = (app.url(&link), csrf.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let r = http
                .post(url)
                .header("cookie", format!("fp_csrf={cookie}"))
                .form(&[
                    ("payer_phone", "010-5100-0006"),
                    ("consent", "yes"),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap();
            (
                r.status(),
                r.headers()
                    .get(LOCATION)
                    .map(|l| l.to_str().unwrap().to_string()),
            )
        }));
    }
    let mut places = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, at) = t.await.unwrap();
        assert_eq!(status, StatusCode::SEE_OTHER);
        places.insert(at.unwrap());
    }
    assert_eq!(places.len(), 1);
    let status_path = places.into_iter().next().unwrap();
    let charges = charges_of(&app, "01051000006").await;
    assert_eq!(charges.len(), 1);

    // The charge expires (the link does not): the page offers to try again; that is a new
    // charge.
    app.advance_clock(61).await;
    app.wait_status(&charges[0].id, "expired").await;
    let result = b.get(&status_path).await;
    assert_eq!(result.page(), "result");
    assert_eq!(result.live_status(), "expired");
    assert!(result.body.contains("id=\"again-form\""));
    let again = b
        .post(
            &status_path,
            &[("csrf", &result.csrf()), ("action", "again")],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let charges = charges_of(&app, "01051000006").await;
    assert_eq!(charges.len(), 2);
    let reg = b.get(&status_path).await;
    assert_eq!(reg.page(), "registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_from_the_pages_are_limited_per_phone() {
    let app = spawn_app_configured(&[1], |s| {
        s.web_charges_phone_per_minute = 1;
        s.web_charges_phone_burst = 1;
    })
    .await;
    let key = link_key(&app);
    let mut b = Browser::new(&app);
    let mut statuses = Vec::new();
    for n in 0..2 {
        let link = signed(
            &key,
            DEMO_MERCHANT_CODE,
            &[
                ("goods_name", "g"),
                ("amount", &(1000 + n).to_string()),
                ("expires", &in_an_hour()),
            ],
        );
        let csrf = b.get(&link).await.csrf();
        let a = b
            .post(
                &link,
                &[
                    ("payer_phone", "010-5100-0007"),
                    ("consent", "yes"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        statuses.push(a.status);
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(a.error_code(), "rate_limited");
        }
    }
    assert_eq!(
        statuses,
        [StatusCode::SEE_OTHER, StatusCode::TOO_MANY_REQUESTS]
    );
    assert_eq!(charges_of(&app, "01051000007").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_key_is_made_by_the_manager_and_shown_once() {
    let app = spawn_app().await;
    let mgr = login(&app, DEMO_MANAGER.0, DEMO_MANAGER.2).await;
    let r = app
        .post_json("/v1/manager/link-key", &mgr.access_token, &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    let key = made["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("fpl_") && key.len() == 68);
    let i: Value = app
        .get("/v1/manager/integration", &mgr.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(i["link_key_created_at"], made["created_at"]);
    assert!(!i.to_string().contains(&key), "the key is not shown again");
    // A plain rep may not.
    let rep = login(&app, "rep1", "demo1234").await;
    assert_eq!(
        app.post_json("/v1/manager/link-key", &rep.access_token, &json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Links signed with it work.
    let mut b = Browser::new(&app);
    let ok = b
        .get(&signed(
            &key,
            DEMO_MERCHANT_CODE,
            &[
                ("goods_name", "g"),
                ("amount", "1000"),
                ("expires", &in_an_hour()),
            ],
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    // Audited.
    let store = app.store();
    let m = store.merchant_by_code(DEMO_MERCHANT_CODE).unwrap().unwrap();
    let audit = admin::audit(store.as_ref(), Some(&m.id), 10).unwrap();
    assert!(audit.iter().any(|e| e.action == "link_key.rotate"));
}
