//! The manager's engine calls against the real server: the team, a new rep with its one-time
//! password, API keys, the merchant's payments, the settlement of a day and a month (JSON,
//! CSV and PDF); a plain rep refused by the server; and the new rep's first sign-in, which
//! must set a new password before it syncs.

use chrono::Utc;
use fieldpay_protocol::app::PdfDoc;
use fieldpay_protocol::auth::Role;
use fieldpay_protocol::command::MerchantCharges;
use fieldpay_protocol::manager::CreateRep;
use fieldpay_protocol::{ErrorCode, Secret};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_runs_the_team_and_a_new_rep_sets_its_password_first() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let m = signed_in_as(dir.path(), &server.base, "manager").await;

    let team = m.team(None).await.unwrap();
    assert!(team.reps.iter().any(|r| r.login == "rep1"), "{team:?}");
    assert_eq!(team.date, fieldpay_protocol::time::kst_date(Utc::now()));
    // Refused here before any request: a blank login, a bad date, a bad period.
    let e = m
        .add_rep(&CreateRep {
            login: " ".into(),
            name: "이름".into(),
            role: Role::Rep,
        })
        .await
        .unwrap_err();
    assert_eq!(e.to_api().code, ErrorCode::InvalidField);
    assert_eq!(
        m.team(Some("2026-02-30")).await.unwrap_err().to_api().code,
        ErrorCode::InvalidField
    );
    assert_eq!(
        m.settlement("2026-13").await.unwrap_err().to_api().code,
        ErrorCode::InvalidField
    );

    let new = m
        .add_rep(&CreateRep {
            login: "rep7".into(),
            name: "최신입".into(),
            role: Role::Rep,
        })
        .await
        .unwrap();
    assert_eq!(new.login, "rep7");
    let otp = new.one_time_password.clone();
    assert!(otp.expose().len() >= 8);
    let team = m.team(None).await.unwrap();
    let r7 = team.reps.iter().find(|r| r.login == "rep7").unwrap();
    assert!(r7.active && r7.must_change_password, "{r7:?}");

    // API keys: the secret once, then listed by prefix; revoked.
    let key = m.create_api_key("ERP").await.unwrap();
    assert!(key.secret.expose().starts_with("fpk_"));
    let i = m.integration().await.unwrap();
    let listed = i.api_keys.iter().find(|k| k.id == key.key.id).unwrap();
    assert!(listed.revoked_at.is_none());
    assert!(key.secret.expose().starts_with(&listed.prefix));
    assert_eq!(i.link_key_created_at, None);
    m.revoke_api_key(&key.key.id).await.unwrap();
    let i = m.integration().await.unwrap();
    assert!(i
        .api_keys
        .iter()
        .any(|k| k.id == key.key.id && k.revoked_at.is_some()));

    // The merchant's payments, filtered; the settlement of today and this month.
    let r = server
        .http()
        .post(format!("{}/v1/charges", server.base))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"amount": 15000, "goods_name": "박카스", "payer_phone": "010-3333-4444"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let all = m
        .merchant_charges(&MerchantCharges::default())
        .await
        .unwrap();
    assert!(!all.items.is_empty());
    let today = fieldpay_protocol::time::kst_date(Utc::now());
    let on_day = m
        .merchant_charges(&MerchantCharges {
            date: Some(today.clone()),
            status: Some("approved".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(on_day.items.iter().all(|c| c.status.as_str() == "approved"));
    let day = m.settlement(&today).await.unwrap();
    assert_eq!(day.date, today);
    let month = m.settlement(&today[..7]).await.unwrap();
    assert_eq!(month.date, &today[..7]);
    let out = tempfile::tempdir().unwrap();
    let csv = m
        .export_settlement_csv(&today[..7], out.path())
        .await
        .unwrap();
    assert!(csv
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("정산-"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("date,table,key"), "{text}");
    let (name, pdf) = m
        .document(
            &PdfDoc::Settlement {
                period: today[..7].to_string(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(name.ends_with(".pdf") && pdf.starts_with(b"%PDF"), "{name}");

    // A plain rep: the server refuses the manager's calls.
    let rdir = tempfile::tempdir().unwrap();
    let rep = signed_in_as(rdir.path(), &server.base, "rep1").await;
    assert_eq!(
        rep.team(None).await.unwrap_err().to_api().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        rep.create_api_key("x").await.unwrap_err().to_api().code,
        ErrorCode::Forbidden
    );

    // The new rep's first sign-in: no sync until a new password is set.
    let ndir = tempfile::tempdir().unwrap();
    let n = engine_at(ndir.path(), &server.base);
    let info = n.login("demo", "rep7", &otp).await.unwrap();
    assert!(info.must_change_password);
    assert_eq!(
        n.sync_now().await.unwrap_err().to_api().code,
        ErrorCode::PasswordChangeRequired
    );
    for bad in ["short", otp.expose()] {
        let e = n
            .change_password(&otp, &Secret::from(bad))
            .await
            .unwrap_err();
        assert_eq!(e.to_api().code, ErrorCode::InvalidField, "{bad}");
    }
    let e = n
        .change_password(&Secret::from("wrong-one"), &Secret::from("new-pass-2026"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.to_api().code,
            ErrorCode::Forbidden | ErrorCode::Unauthorized
        ),
        "{e}"
    );
    let me = n
        .change_password(&otp, &Secret::from("new-pass-2026"))
        .await
        .unwrap();
    assert!(!me.must_change_password);
    assert!(!n.session().unwrap().must_change_password);
    let s = n.sync_now().await.unwrap();
    assert!(s.online, "{s:?}");
    // The manager resets the password while the rep is signed in: the rep's next sync learns
    // it must set a new one (and says so to the app), and stops syncing until it has.
    let mut events = n.subscribe();
    let r7 = m
        .team(None)
        .await
        .unwrap()
        .reps
        .into_iter()
        .find(|r| r.login == "rep7")
        .unwrap();
    let reset = m.reset_rep_password(&r7.id).await.unwrap();
    let e = n.sync_now().await.unwrap_err();
    assert_eq!(e.to_api().code, ErrorCode::PasswordChangeRequired, "{e}");
    assert!(n.session().unwrap().must_change_password);
    let mut told = false;
    while let Ok(ev) = events.try_recv() {
        told |= ev == fieldpay_protocol::app::EngineEvent::SessionChanged;
    }
    assert!(told, "the app was not told");
    n.change_password(&reset.one_time_password, &Secret::from("another-pass-2026"))
        .await
        .unwrap();
    assert!(n.sync_now().await.unwrap().online);
    // The flag is kept across a restart of the engine (it was written to the database).
    drop(n);
    let again = engine_at(ndir.path(), &server.base);
    assert!(!again.session().unwrap().must_change_password);
}
