//! Behaviour every store must have, written once over `dyn Store` and run by each store's
//! tests (`sqlite::tests`, `postgres::tests`).

use std::sync::Arc;
use std::time::Duration;

use super::Store;
use crate::auth::limits::KeyedLimit;

/// A lease has one holder until it runs out; the holder renews it; giving it up frees it.
pub(crate) fn leases(s: &dyn Store) {
    let ttl = Duration::from_millis(300);
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
    assert!(!s.take_lease("sweep", "b", ttl).unwrap());
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
    std::thread::sleep(Duration::from_millis(400));
    assert!(s.take_lease("sweep", "b", ttl).unwrap());
    assert!(!s.take_lease("sweep", "a", ttl).unwrap());
    s.release_lease("sweep", "a").unwrap(); // not a's: nothing happens
    assert!(!s.take_lease("sweep", "a", ttl).unwrap());
    s.release_lease("sweep", "b").unwrap();
    assert!(s.take_lease("sweep", "a", ttl).unwrap());
}

/// Attempts taken at once by many threads (as by many instances) come out of one allowance:
/// a burst of 10 lets exactly 10 through, and the refused ones are told how long to wait.
pub(crate) fn one_allowance_for_all(s: Arc<dyn Store>) {
    let limit = KeyedLimit::new(1, 10).unwrap(); // one a minute after 10
    let now = chrono::Utc::now().timestamp_millis();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        let mut refused = None;
                        s.take_allowance("k", now, &mut |stored| match limit.decide(stored, now) {
                            Ok(next) => {
                                refused = None;
                                Some(next)
                            }
                            Err(wait) => {
                                refused = Some(wait);
                                None
                            }
                        })
                        .unwrap();
                        refused
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<Option<Duration>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(answers.iter().filter(|a| a.is_none()).count(), 10);
    assert!(answers
        .iter()
        .flatten()
        .all(|wait| *wait == Duration::from_secs(60)));
    // Another key has its own allowance.
    let mut taken = false;
    s.take_allowance("other", now, &mut |stored| {
        taken = limit.decide(stored, now).is_ok();
        limit.decide(stored, now).ok()
    })
    .unwrap();
    assert!(taken);
}

/// A text that fails waits for its retry time (and is not claimed before it, nor while
/// another sender holds it); every attempt is counted; given up, it is failed and its charge
/// gets a `text_failed` event with the reason while its status stays; a bill sent again after
/// that moves the charge on.
pub(crate) fn text_retries_and_final_failure(s: &dyn Store) {
    use chrono::{Duration as Span, Utc};
    use fieldpay_protocol::charge::{ChargeEventKind, ChargeOrigin, ChargeStatus, CreateCharge};
    use fieldpay_protocol::sms::{SmsKind, SmsStatus};

    use super::{Effects, NewCharge, NewSms, SmsAttempt};
    use crate::domain::{ChargeRequest, MerchantSettings};

    let settings = MerchantSettings {
        number_pool: vec!["16000001".into()],
        ..MerchantSettings::default()
    };
    let m = s.create_merchant("m", "상사", &settings).unwrap();
    let body: CreateCharge = serde_json::from_value(
        serde_json::json!({ "amount": 12_000, "goods_name": "감기약", "payer_phone": "010-3000-0001" }),
    )
    .unwrap();
    let t0 = Utc::now();
    let new = NewCharge {
        id: "ch_text".into(),
        merchant_id: m.id.clone(),
        rep_id: None,
        api_key_id: None,
        origin: ChargeOrigin::Api,
        request: ChargeRequest::parse(&body).unwrap(),
        expires_at: t0 + Span::minutes(60),
        idempotency_key: None,
        request_hash: None,
    };
    let bill = |rec: &super::ChargeRecord| Effects {
        sms: vec![NewSms {
            to: rec.payer_phone.clone(),
            kind: SmsKind::Bill,
            body: format!("bill {}", rec.charge.id),
            quota: None,
        }],
        webhooks: Vec::new(),
    };
    let created = s.create_charges(&[new], t0, &bill).unwrap();
    let charge_id = created[0].as_ref().unwrap().0.charge.id.clone();
    let cid: fieldpay_protocol::ChargeId = charge_id.clone().into();

    // First attempt: claimed, fails, waits 10 s.
    let got = s.claim_sms(10, t0, t0 + Span::seconds(20)).unwrap();
    assert_eq!(got.len(), 1);
    let id = got[0].id;
    assert_eq!((got[0].attempts, got[0].last_error.clone()), (0, None));
    let changed = s
        .mark_sms_batch(
            &[(
                id,
                SmsAttempt::Failed {
                    reason: "Solapi: timed out".into(),
                    retry_at: Some(t0 + Span::seconds(10)),
                },
            )],
            t0,
            &|_| Effects::default(),
        )
        .unwrap();
    assert!(changed.is_empty(), "a retry changes no charge");
    assert!(s
        .claim_sms(10, t0 + Span::seconds(9), t0 + Span::seconds(30))
        .unwrap()
        .is_empty());
    assert_eq!(s.pending_sms(10).unwrap().len(), 1, "still pending");

    // Due: taken by one sender; another does not take it while the claim lasts.
    let t1 = t0 + Span::seconds(11);
    let got = s.claim_sms(10, t1, t1 + Span::seconds(20)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempts, 1);
    assert_eq!(got[0].last_error.as_deref(), Some("Solapi: timed out"));
    assert!(s
        .claim_sms(10, t1 + Span::seconds(5), t1 + Span::seconds(25))
        .unwrap()
        .is_empty());

    // Refused: given up at once. The charge shows it; its status stays; what the text's
    // failure causes (the merchant's webhook) is written with it.
    let hook = |rec: &super::ChargeRecord| Effects {
        sms: Vec::new(),
        webhooks: vec![super::NewWebhook {
            id: "msg_text_failed".into(),
            event_type: "charge.text_failed".into(),
            payload: format!("{{\"id\":\"{}\"}}", rec.charge.id),
            url: "https://example.com/hook".into(),
        }],
    };
    let changed = s
        .mark_sms_batch(
            &[(
                id,
                SmsAttempt::Failed {
                    reason: "수신거부 번호 (Solapi 3059)".into(),
                    retry_at: None,
                },
            )],
            t1,
            &hook,
        )
        .unwrap();
    let hooks = s.webhooks(&m.id, 10).unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].event_type, "charge.text_failed");
    assert_eq!(hooks[0].payload, format!("{{\"id\":\"{charge_id}\"}}"));
    assert_eq!(changed.len(), 1);
    let c = &changed[0].charge;
    assert_eq!(c.status, ChargeStatus::Requested);
    let last = c.events.last().unwrap();
    assert_eq!(last.kind, ChargeEventKind::TextFailed);
    assert_eq!(last.status, ChargeStatus::Requested);
    assert_eq!(
        last.detail.as_deref(),
        Some("결제 요청 문자: 수신거부 번호 (Solapi 3059)")
    );
    assert!(s.pending_sms(10).unwrap().is_empty());
    let far = t1 + Span::days(1);
    assert!(s.claim_sms(10, far, far).unwrap().is_empty());
    // Marking it again (a late answer of another sender) changes nothing.
    assert!(s
        .mark_sms_batch(
            &[(
                id,
                SmsAttempt::Failed {
                    reason: "again".into(),
                    retry_at: None
                }
            )],
            t1,
            &hook
        )
        .unwrap()
        .is_empty());
    assert_eq!(s.webhooks(&m.id, 10).unwrap().len(), 1, "no second webhook");
    let stored = s.charge(&m.id, &cid).unwrap().unwrap();
    assert_eq!(stored.charge, *c, "the event is stored");
    assert!(s.sms_for_phone("01030000001", 10).unwrap().is_empty());

    // The rep sends the bill again: sent, the charge moves on.
    s.enqueue_sms(
        &m.id,
        Some(&cid),
        &NewSms {
            to: "01030000001".into(),
            kind: SmsKind::Bill,
            body: "bill again".into(),
            quota: None,
        },
        t1,
    )
    .unwrap();
    let got = s.claim_sms(10, t1, t1 + Span::seconds(20)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempts, 0);
    let changed = s
        .mark_sms_batch(
            &[(
                got[0].id,
                SmsAttempt::Sent {
                    provider: "solapi".into(),
                    provider_id: Some("G4V1".into()),
                },
            )],
            t1,
            &|_| Effects::default(),
        )
        .unwrap();
    assert_eq!(changed[0].charge.status, ChargeStatus::SmsSent);
    let kinds: Vec<(ChargeStatus, ChargeEventKind)> = changed[0]
        .charge
        .events
        .iter()
        .map(|e| (e.status, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChargeStatus::Requested, ChargeEventKind::Status),
            (ChargeStatus::Requested, ChargeEventKind::TextFailed),
            (ChargeStatus::SmsSent, ChargeEventKind::Status),
        ]
    );
    let texts = s.sms_for_phone("01030000001", 10).unwrap();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].status, SmsStatus::Sent);
    assert_eq!(texts[0].attempts, 1);
}
