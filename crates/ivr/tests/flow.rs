//! Whole calls through the state machine: happy paths, refusals, every re-prompt, limits.

mod common;

use common::*;
use fieldpay_ivr::{
    Action, ApprovalOutcome, Call, CallConfig, CardSource, DeclineReason, Event, Lang, Outcome,
    Prompt, RetryReason, Step, MAX_REENTRIES,
};

// ---- connect, lookup, read-out -------------------------------------------------------------

#[test]
fn connect_greets_and_looks_up_the_charge() {
    let mut call = Call::new(CallConfig::default());
    assert_eq!(call.step(), Step::Start);
    let actions = call.handle(Event::Connected {
        dialled: "16001234".into(),
        caller_id: Some(" 01012345678 ".into()),
        today: TODAY,
    });
    assert_eq!(
        actions,
        vec![
            Action::Say(Prompt::Greeting),
            Action::LookupCharge {
                dialled: "16001234".into(),
                caller_id: "01012345678".into(),
            },
        ]
    );
    assert_eq!(call.step(), Step::Lookup);
    assert!(!call.is_done());
    assert_eq!(call.outcome(), None);
    assert_eq!(call.charge_id(), None);
}

#[test]
fn withheld_caller_id_is_refused() {
    for caller_id in [
        None,
        Some(""),
        Some("  "),
        Some("anonymous"),
        Some("Restricted"),
    ] {
        let mut call = Call::new(CallConfig::default());
        let actions = call.handle(Event::Connected {
            dialled: "16001234".into(),
            caller_id: caller_id.map(String::from),
            today: TODAY,
        });
        assert_eq!(
            actions,
            vec![
                Action::Say(Prompt::Greeting),
                Action::Say(Prompt::CallerIdWithheld),
                Action::Hangup,
            ]
        );
        assert!(call.is_done());
        assert_eq!(call.outcome(), Some(&Outcome::CallerIdWithheld));
        assert!(Prompt::CallerIdWithheld
            .text(Lang::Ko)
            .contains("발신번호 표시가 제한된 전화는 결제할 수 없습니다"));
    }
}

#[test]
fn no_pending_charge_ends_the_call() {
    let mut call = Call::new(CallConfig::default());
    call.handle(connected_event());
    let actions = call.handle(Event::ChargeNotFound);
    assert_eq!(actions, vec![Action::Say(Prompt::NoCharge), Action::Hangup]);
    assert_eq!(call.outcome(), Some(&Outcome::NoCharge));
    assert!(Prompt::NoCharge
        .text(Lang::Ko)
        .starts_with("요청된 결제가 없습니다"));
}

#[test]
fn a_charge_without_a_positive_amount_is_no_charge() {
    for amount in [0, -1000] {
        let mut call = Call::new(CallConfig::default());
        call.handle(connected_event());
        let actions = call.handle(Event::ChargeFound(charge(amount, true)));
        assert_eq!(actions, vec![Action::Say(Prompt::NoCharge), Action::Hangup]);
        assert_eq!(call.outcome(), Some(&Outcome::NoCharge));
    }
}

#[test]
fn read_out_names_merchant_goods_and_amount() {
    let (call, actions) = start(CallConfig::default(), charge(120_000, true));
    assert_eq!(actions.len(), 1);
    assert_eq!(gather_shape(&actions), (1, None));
    assert_eq!(
        gather(&actions),
        &[
            Prompt::ChargeSummary {
                merchant_name: "한빛약품".into(),
                goods_name: "감기약 외 2건".into(),
                amount: 120_000,
            },
            Prompt::PayOrDecline,
        ]
    );
    let ko = all_text(&actions, Lang::Ko);
    assert!(ko.contains("한빛약품"), "{ko}");
    assert!(ko.contains("감기약 외 2건"), "{ko}");
    assert!(ko.contains("십이만원"), "{ko}");
    assert!(
        ko.contains("결제하시려면 1번, 거절하시려면 2번을 눌러 주세요"),
        "{ko}"
    );
    let en = all_text(&actions, Lang::En);
    assert!(en.contains("120,000 won"), "{en}");
    assert!(en.contains("To pay, press 1"), "{en}");
    assert_eq!(call.charge_id(), Some("ch_test_1"));
    match &actions[0] {
        Action::Gather { timeout_secs, .. } => assert_eq!(*timeout_secs, 7),
        other => panic!("{other:?}"),
    }
}

#[test]
fn read_out_includes_the_purchase_order() {
    let (_, actions) = start(CallConfig::default(), with_order(charge(120_000, true)));
    let prompts = gather(&actions);
    assert_eq!(
        prompts[1],
        Prompt::OrderSummary {
            order_number: "20260501-007".into(),
            item_count: 3,
            total: 120_000,
        }
    );
    assert_eq!(prompts.last(), Some(&Prompt::PayOrDecline));
    let ko = prompts[1].text(Lang::Ko);
    assert_eq!(
        ko,
        "주문번호 이 영 이 육 영 오 영 일 영 영 칠, 품목 삼건, 합계 십이만원입니다."
    );
    let en = prompts[1].text(Lang::En);
    assert!(en.contains("Order number two zero two six"), "{en}");
    assert!(en.contains("3 items"), "{en}");
    assert!(en.contains("total 120,000 won"), "{en}");
}

#[test]
fn payer_refuses_with_2() {
    let (mut call, _) = start(CallConfig::default(), charge(120_000, true));
    let actions = keys(&mut call, "2");
    assert_eq!(
        actions,
        vec![Action::Say(Prompt::PayerRefused), Action::Hangup]
    );
    assert_eq!(call.outcome(), Some(&Outcome::PayerRefused));
    assert!(Prompt::PayerRefused
        .text(Lang::Ko)
        .contains("결제를 거절하셨습니다"));
}

#[test]
fn read_out_accepts_a_trailing_hash_and_rejects_other_keys() {
    let (mut call, _) = start(CallConfig::default(), charge(10_000, false));
    let actions = keys(&mut call, "3");
    assert_eq!(
        gather(&actions),
        &[
            Prompt::Retry {
                reason: RetryReason::InvalidChoice,
                tries_left: 2
            },
            Prompt::PayOrDecline,
        ]
    );
    keys(&mut call, "12");
    assert_eq!(call.step(), Step::ReadOut);
    keys(&mut call, "1#");
    assert_eq!(call.step(), Step::CardNumber);
}

// ---- happy paths ---------------------------------------------------------------------------

#[test]
fn general_card_with_installments_birth_date_and_password() {
    let (mut call, _) = start(config(true, true), charge(120_000, true));
    let actions = keys(&mut call, "1");
    assert_eq!(call.step(), Step::CardNumber);
    assert_eq!(gather_shape(&actions), (19, Some('#')));
    assert_eq!(gather(&actions), &[Prompt::CardNumberAsk]);

    let actions = keys(&mut call, "4111111111111111#");
    assert_eq!(call.step(), Step::Expiry);
    assert_eq!(gather(&actions), &[Prompt::ExpiryAsk]);
    assert_eq!(gather_shape(&actions).0, 4);

    let actions = keys(&mut call, "1228");
    assert_eq!(call.step(), Step::Installments);
    assert_eq!(gather(&actions), &[Prompt::InstallmentsAsk]);
    assert_eq!(gather_shape(&actions), (2, Some('#')));
    assert!(Prompt::InstallmentsAsk
        .text(Lang::Ko)
        .starts_with("할부 개월 수를 눌러 주세요. 일시불은 0번"));

    let actions = keys(&mut call, "3#");
    assert_eq!(call.step(), Step::BirthOrBusiness);
    assert_eq!(gather(&actions), &[Prompt::BirthOrBusinessAsk]);
    assert_eq!(gather_shape(&actions), (10, Some('#')));

    let actions = keys(&mut call, "900101#");
    assert_eq!(call.step(), Step::Password);
    assert_eq!(gather(&actions), &[Prompt::PasswordAsk]);
    assert_eq!(gather_shape(&actions).0, 2);

    let actions = keys(&mut call, "12");
    assert_eq!(call.step(), Step::Approving);
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0], Action::Say(Prompt::Processing));
    let request = approval_request(&actions);
    assert_eq!(request.charge_id, "ch_test_1");
    assert_eq!(request.installment_months, 3);
    match &request.card {
        CardSource::Entered(card) => {
            assert_eq!(card.number().expose_digits(), CARD);
            assert_eq!(card.expiry_mmyy(), "1228");
            assert_eq!(card.birth_or_business(), Some("900101"));
            assert_eq!(card.password2(), Some("12"));
            assert_eq!(card.number().masked(), "411111******1111");
        }
        CardSource::Registered => panic!("expected an entered card"),
    }

    let actions = call.handle(Event::ApprovalResult(ApprovalOutcome::Approved {
        approval_number: "30012345".into(),
        issuer_name: "비자카드".into(),
        masked_card: "411111******1111".into(),
        installment_months: 3,
    }));
    assert_eq!(
        said(&actions),
        vec![
            &Prompt::Approved {
                issuer_name: "비자카드".into(),
                amount: 120_000,
                installment_months: 3,
                approval_number: "30012345".into(),
            },
            &Prompt::ReceiptSms,
            &Prompt::Goodbye,
        ]
    );
    assert_hangs_up(&actions);
    let ko = all_text(&actions, Lang::Ko);
    assert!(ko.contains("삼 영 영 일 이 삼 사 오"), "{ko}");
    assert!(ko.contains("삼개월 할부"), "{ko}");
    assert!(ko.contains("문자로 영수증을 보내드립니다"), "{ko}");
    assert_eq!(call.outcome(), Some(&Outcome::Approved));
    assert!(call.is_done());
    assert_eq!(call.step(), Step::Done);

    let results: Vec<(Step, &str)> = call
        .trace()
        .iter()
        .map(|e| (e.step, e.result.as_str()))
        .collect();
    assert_eq!(
        results,
        vec![
            (Step::Start, "connected"),
            (Step::Lookup, "found"),
            (Step::ReadOut, "ok"),
            (Step::CardNumber, "ok"),
            (Step::Expiry, "ok"),
            (Step::Installments, "ok"),
            (Step::BirthOrBusiness, "ok"),
            (Step::Password, "ok"),
            (Step::Approving, "requested"),
            (Step::Done, "approved"),
        ]
    );
}

#[test]
fn general_card_without_birth_date_or_password() {
    let (mut call, _) = start(config(false, false), charge(120_000, true));
    let actions = enter_all(&mut call, &["1", "4111111111111111#", "1228", "0#"]);
    let request = approval_request(&actions);
    assert_eq!(request.installment_months, 0);
    match &request.card {
        CardSource::Entered(card) => {
            assert_eq!(card.birth_or_business(), None);
            assert_eq!(card.password2(), None);
        }
        CardSource::Registered => panic!(),
    }
}

#[test]
fn birth_date_only_and_password_only() {
    let (mut call, _) = start(config(true, false), charge(10_000, false));
    let actions = enter_all(&mut call, &["1", CARD, "1228", "900101"]);
    assert!(matches!(actions.last(), Some(Action::RequestApproval(_))));

    let (mut call, _) = start(config(false, true), charge(10_000, false));
    let actions = enter_all(&mut call, &["1", CARD, "1228", "00"]);
    match &approval_request(&actions).card {
        CardSource::Entered(card) => assert_eq!(card.password2(), Some("00")),
        CardSource::Registered => panic!(),
    }
}

#[test]
fn installments_only_from_50000_won_and_when_allowed() {
    // Below the threshold: no question, lump sum.
    let (mut call, _) = start(config(false, false), charge(49_999, true));
    let actions = enter_all(&mut call, &["1", CARD, "1228"]);
    assert_eq!(approval_request(&actions).installment_months, 0);
    // Exactly the threshold: asked.
    let (mut call, _) = start(config(false, false), charge(50_000, true));
    enter_all(&mut call, &["1", CARD, "1228"]);
    assert_eq!(call.step(), Step::Installments);
    let actions = keys(&mut call, "12#");
    assert_eq!(approval_request(&actions).installment_months, 12);
    // Not allowed by the merchant: not asked.
    let (mut call, _) = start(config(false, false), charge(1_000_000, false));
    let actions = enter_all(&mut call, &["1", CARD, "1228"]);
    assert_eq!(approval_request(&actions).installment_months, 0);
}

#[test]
fn corporate_card_with_business_number() {
    let (mut call, _) = start(config(true, true), charge(80_000, true));
    let actions = enter_all(
        &mut call,
        &["1", "5555555555554444#", "0130", "00", "2208162517#", "34"],
    );
    let request = approval_request(&actions);
    match &request.card {
        CardSource::Entered(card) => {
            assert_eq!(card.number().expose_digits(), "5555555555554444");
            assert_eq!(card.birth_or_business(), Some("2208162517"));
        }
        CardSource::Registered => panic!(),
    }
}

#[test]
fn card_numbers_of_14_and_19_digits() {
    for number in ["36227206271667", "6011000990139424", "6200000000000000000"] {
        let (mut call, _) = start(config(false, false), charge(10_000, false));
        enter_all(&mut call, &["1", &format!("{number}#"), "1228"]);
        assert_eq!(call.step(), Step::Approving, "{number}");
    }
}

#[test]
fn auto_pay_confirmed_with_1() {
    let (mut call, _) = start(config(true, true), with_registered(charge(120_000, true)));
    let actions = keys(&mut call, "1");
    assert_eq!(call.step(), Step::AutoPayConfirm);
    assert_eq!(gather_shape(&actions), (1, None));
    assert_eq!(
        gather(&actions),
        &[Prompt::AutoPayConfirm {
            issuer_name: "신한카드".into(),
            last4: "4321".into(),
        }]
    );
    let ko = all_text(&actions, Lang::Ko);
    assert_eq!(
        ko,
        "등록된 신한카드 끝자리 사 삼 이 일로 결제하시려면 1번, \
         다른 카드로 결제하시려면 2번을 눌러 주세요."
    );
    // Registered card: installments still asked (amount allows), no birth date/password.
    keys(&mut call, "1");
    assert_eq!(call.step(), Step::Installments);
    let actions = keys(&mut call, "6#");
    let request = approval_request(&actions);
    assert_eq!(request.card, CardSource::Registered);
    assert_eq!(request.installment_months, 6);
    call.handle(Event::ApprovalResult(approved()));
    assert_eq!(call.outcome(), Some(&Outcome::Approved));
}

#[test]
fn auto_pay_without_installments_requests_approval_at_once() {
    let (mut call, _) = start(config(true, true), with_registered(charge(30_000, true)));
    keys(&mut call, "1");
    let actions = keys(&mut call, "1");
    assert_eq!(call.step(), Step::Approving);
    let request = approval_request(&actions);
    assert_eq!(request.card, CardSource::Registered);
    assert_eq!(request.installment_months, 0);
}

#[test]
fn auto_pay_choose_2_then_enter_another_card() {
    let (mut call, _) = start(config(false, true), with_registered(charge(30_000, true)));
    keys(&mut call, "1");
    let actions = keys(&mut call, "2");
    assert_eq!(call.step(), Step::CardNumber);
    assert_eq!(gather(&actions), &[Prompt::CardNumberAsk]);
    let actions = enter_all(&mut call, &[CARD, "1228", "55"]);
    match &approval_request(&actions).card {
        CardSource::Entered(card) => {
            assert_eq!(card.number().expose_digits(), CARD);
            assert_eq!(card.password2(), Some("55"));
        }
        CardSource::Registered => panic!("expected the entered card"),
    }
}

#[test]
fn auto_pay_rejects_other_keys() {
    let (mut call, _) = start(CallConfig::default(), with_registered(charge(30_000, true)));
    keys(&mut call, "1");
    let actions = keys(&mut call, "9");
    let prompts = gather(&actions);
    assert_eq!(
        prompts[0],
        Prompt::Retry {
            reason: RetryReason::InvalidChoice,
            tries_left: 2
        }
    );
    assert!(matches!(prompts[1], Prompt::AutoPayConfirm { .. }));
    assert_eq!(call.step(), Step::AutoPayConfirm);
}

// ---- validation re-prompts -----------------------------------------------------------------

/// Brings a call (birth date and password on, installments applicable) to `step`.
fn at_step(step: Step) -> Call {
    let (mut call, _) = start(config(true, true), charge(120_000, true));
    let inputs: &[&str] = match step {
        Step::ReadOut => &[],
        Step::CardNumber => &["1"],
        Step::Expiry => &["1", CARD],
        Step::Installments => &["1", CARD, "1228"],
        Step::BirthOrBusiness => &["1", CARD, "1228", "0"],
        Step::Password => &["1", CARD, "1228", "0", "900101"],
        other => panic!("not an entry step: {other:?}"),
    };
    enter_all(&mut call, inputs);
    assert_eq!(call.step(), step);
    call
}

fn ask_for(step: Step) -> Prompt {
    match step {
        Step::CardNumber => Prompt::CardNumberAsk,
        Step::Expiry => Prompt::ExpiryAsk,
        Step::Installments => Prompt::InstallmentsAsk,
        Step::BirthOrBusiness => Prompt::BirthOrBusinessAsk,
        Step::Password => Prompt::PasswordAsk,
        Step::ReadOut => Prompt::PayOrDecline,
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_validation_error_has_its_own_re_prompt() {
    let cases: &[(Step, &str, RetryReason, &str)] = &[
        (
            Step::CardNumber,
            "4111111111111#",
            RetryReason::CardNumberLength,
            "카드번호 자릿수가 맞지 않습니다",
        ),
        (
            Step::CardNumber,
            "41111111111111111111",
            RetryReason::CardNumberLength,
            "카드번호 자릿수가 맞지 않습니다",
        ),
        (
            Step::CardNumber,
            "4111111111111112#",
            RetryReason::CardNumberInvalid,
            "카드번호가 올바르지 않습니다",
        ),
        (
            Step::CardNumber,
            "4111*11111111111",
            RetryReason::NotDigits,
            "숫자만",
        ),
        (
            Step::CardNumber,
            "#",
            RetryReason::NoInput,
            "입력된 번호가 없습니다",
        ),
        (
            Step::Expiry,
            "1328",
            RetryReason::ExpiryFormat,
            "형식이 맞지 않습니다",
        ),
        (
            Step::Expiry,
            "128#",
            RetryReason::ExpiryFormat,
            "형식이 맞지 않습니다",
        ),
        (
            Step::Expiry,
            "0426",
            RetryReason::ExpiryExpired,
            "유효기간이 지났습니다",
        ),
        (
            Step::Expiry,
            "0150",
            RetryReason::ExpiryTooFar,
            "유효기간이 올바르지 않습니다",
        ),
        (
            Step::Installments,
            "1",
            RetryReason::InstallmentsInvalid,
            "할부 개월 수가 올바르지 않습니다",
        ),
        (
            Step::Installments,
            "13",
            RetryReason::InstallmentsInvalid,
            "할부 개월 수가 올바르지 않습니다",
        ),
        (
            Step::BirthOrBusiness,
            "900230",
            RetryReason::BirthDateInvalid,
            "생년월일이 올바르지 않습니다",
        ),
        (
            Step::BirthOrBusiness,
            "2208162518#",
            RetryReason::BusinessNumberInvalid,
            "사업자등록번호가 올바르지 않습니다",
        ),
        (
            Step::BirthOrBusiness,
            "9001011#",
            RetryReason::BirthOrBusinessLength,
            "자릿수가 맞지 않습니다",
        ),
        (
            Step::Password,
            "1",
            RetryReason::PasswordLength,
            "비밀번호 앞 두 자리",
        ),
        (
            Step::ReadOut,
            "5",
            RetryReason::InvalidChoice,
            "잘못 누르셨습니다",
        ),
    ];
    for &(step, input, reason, words) in cases {
        let mut call = at_step(step);
        let actions = keys(&mut call, input);
        assert_eq!(call.step(), step, "{input} at {step:?}");
        assert_eq!(
            gather(&actions),
            &[
                Prompt::Retry {
                    reason,
                    tries_left: 2
                },
                ask_for(step)
            ],
            "{input} at {step:?}"
        );
        let ko = all_text(&actions, Lang::Ko);
        assert!(ko.contains(words), "{ko}");
        assert!(ko.contains("두 번 더 입력하실 수 있습니다"), "{ko}");
        if input.len() >= 4 {
            assert!(
                !ko.contains(input.trim_end_matches('#')),
                "echoed the input: {ko}"
            );
        }
        let en = all_text(&actions, Lang::En);
        assert!(en.contains("You have 2 more tries"), "{en}");
        assert_eq!(call.checkpoint().attempts, 1);
        assert_eq!(
            call.trace().last().map(|e| e.result.as_str()),
            Some(reason.code())
        );
        assert_eq!(call.trace().last().map(|e| e.attempt), Some(1));
    }
}

#[test]
fn tries_left_count_down_then_the_call_ends() {
    let mut call = at_step(Step::CardNumber);
    let actions = keys(&mut call, "1234");
    assert!(matches!(
        gather(&actions)[0],
        Prompt::Retry { tries_left: 2, .. }
    ));
    let actions = keys(&mut call, "4111111111111112");
    assert!(matches!(
        gather(&actions)[0],
        Prompt::Retry { tries_left: 1, .. }
    ));
    assert!(all_text(&actions, Lang::Ko).contains("한 번 더"));
    assert!(all_text(&actions, Lang::En).contains("1 more try."));
    let actions = keys(&mut call, "1234");
    assert_eq!(
        actions,
        vec![Action::Say(Prompt::TooManyAttempts), Action::Hangup]
    );
    assert_eq!(call.outcome(), Some(&Outcome::TooManyAttempts));
    assert!(Prompt::TooManyAttempts
        .text(Lang::Ko)
        .contains("입력 횟수를 초과했습니다"));
}

#[test]
fn attempts_are_per_field() {
    let mut call = at_step(Step::CardNumber);
    keys(&mut call, "1");
    keys(&mut call, "2");
    keys(&mut call, CARD); // third try succeeds
    assert_eq!(call.step(), Step::Expiry);
    assert_eq!(call.checkpoint().attempts, 0);
    keys(&mut call, "0000");
    keys(&mut call, "0000");
    keys(&mut call, "1228");
    assert_eq!(call.step(), Step::Installments);
}

#[test]
fn max_attempts_from_config() {
    for (max, failures_allowed) in [(1u8, 0usize), (0, 0), (5, 4)] {
        let cfg = CallConfig {
            max_attempts: max,
            ..CallConfig::default()
        };
        let (mut call, _) = start(cfg, charge(10_000, false));
        keys(&mut call, "1");
        for _ in 0..failures_allowed {
            keys(&mut call, "9");
            assert!(!call.is_done());
        }
        let actions = keys(&mut call, "9");
        assert_hangs_up(&actions);
        assert_eq!(call.outcome(), Some(&Outcome::TooManyAttempts));
    }
}

// ---- timeouts and re-entry -----------------------------------------------------------------

#[test]
fn timeouts_count_as_failed_attempts() {
    let (mut call, _) = start(CallConfig::default(), charge(120_000, true));
    let actions = call.handle(Event::Timeout);
    assert_eq!(
        gather(&actions),
        &[
            Prompt::Retry {
                reason: RetryReason::Timeout,
                tries_left: 2
            },
            Prompt::PayOrDecline
        ]
    );
    assert!(all_text(&actions, Lang::Ko).contains("입력 시간이 지났습니다"));
    keys(&mut call, "1");
    call.handle(Event::Timeout);
    call.handle(Event::Timeout);
    assert_eq!(call.step(), Step::CardNumber);
    let actions = call.handle(Event::Timeout);
    assert_eq!(
        actions,
        vec![Action::Say(Prompt::TooManyAttempts), Action::Hangup]
    );
    assert_eq!(call.outcome(), Some(&Outcome::TooManyAttempts));
    let timeouts = call
        .trace()
        .iter()
        .filter(|e| e.result == "timeout")
        .count();
    assert_eq!(timeouts, 4);
}

#[test]
fn timeouts_and_invalid_inputs_add_up() {
    let mut call = at_step(Step::Expiry);
    call.handle(Event::Timeout);
    keys(&mut call, "9999");
    call.handle(Event::Timeout);
    assert_eq!(call.outcome(), Some(&Outcome::TooManyAttempts));
}

#[test]
fn timeout_outside_a_gather_is_ignored() {
    let mut call = Call::new(CallConfig::default());
    assert!(call.handle(Event::Timeout).is_empty());
    call.handle(connected_event());
    assert!(call.handle(Event::Timeout).is_empty());
    assert_eq!(call.step(), Step::Lookup);
    let mut call = at_step(Step::Password);
    keys(&mut call, "12");
    assert_eq!(call.step(), Step::Approving);
    assert!(call.handle(Event::Timeout).is_empty());
    assert!(keys(&mut call, "1").is_empty());
    assert_eq!(call.step(), Step::Approving);
}

#[test]
fn star_re_asks_the_current_field_without_costing_an_attempt() {
    let mut call = at_step(Step::Expiry);
    keys(&mut call, "9999");
    let actions = keys(&mut call, "*");
    assert_eq!(gather(&actions), &[Prompt::ReEnter, Prompt::ExpiryAsk]);
    assert_eq!(call.step(), Step::Expiry);
    assert_eq!(call.checkpoint().attempts, 1);
    // Input starting with '*' is a re-entry too.
    let actions = keys(&mut call, "*12#");
    assert_eq!(gather(&actions), &[Prompt::ReEnter, Prompt::ExpiryAsk]);
    keys(&mut call, "1228");
    assert_eq!(call.step(), Step::Installments);
    assert!(Prompt::ReEnter
        .text(Lang::Ko)
        .contains("다시 입력해 주세요"));
}

#[test]
fn star_at_the_read_out_reads_it_again() {
    let (mut call, first) = start(CallConfig::default(), with_order(charge(120_000, true)));
    let again = keys(&mut call, "*");
    let mut expected = vec![Prompt::ReEnter];
    expected.extend(gather(&first).iter().cloned());
    assert_eq!(gather(&again), expected.as_slice());
}

#[test]
fn star_re_entries_are_bounded_per_call() {
    let mut call = at_step(Step::CardNumber);
    for _ in 0..MAX_REENTRIES {
        let actions = keys(&mut call, "*");
        assert!(matches!(actions.last(), Some(Action::Gather { .. })));
    }
    keys(&mut call, CARD);
    assert_eq!(call.step(), Step::Expiry);
    let actions = keys(&mut call, "*");
    assert_eq!(
        actions,
        vec![Action::Say(Prompt::TooManyAttempts), Action::Hangup]
    );
    assert_eq!(call.outcome(), Some(&Outcome::TooManyAttempts));
}

// ---- results -------------------------------------------------------------------------------

fn approving() -> Call {
    let mut call = at_step(Step::Password);
    keys(&mut call, "12");
    assert_eq!(call.step(), Step::Approving);
    call
}

/// Each decline is told in its category (security: a caller testing cards must not learn
/// which detail was wrong, nor tell a blocked card from an empty one): one text per category,
/// the same for every reason in it.
#[test]
fn each_decline_reason_is_told_in_its_category() {
    let card_details = "카드 정보가 맞지 않습니다";
    let refused = "다른 카드를 이용하시거나 카드사에 문의";
    let reasons = [
        (DeclineReason::InsufficientFunds, refused),
        (DeclineReason::LostOrStolen, refused),
        (DeclineReason::WrongPassword, card_details),
        (DeclineReason::OverLimit, refused),
        (DeclineReason::InvalidCard, card_details),
        (DeclineReason::Expired, card_details),
        (DeclineReason::IssuerUnavailable, "카드사 사정으로"),
        (DeclineReason::Other, refused),
    ];
    let mut texts = std::collections::HashMap::new();
    for (reason, words) in reasons {
        let mut call = approving();
        let actions = call.handle(Event::ApprovalResult(ApprovalOutcome::Declined { reason }));
        assert_eq!(
            actions,
            vec![
                Action::Say(Prompt::Declined { reason }),
                Action::Say(Prompt::Goodbye),
                Action::Hangup
            ]
        );
        assert_eq!(call.outcome(), Some(&Outcome::Declined(reason)));
        let ko = Prompt::Declined { reason }.text(Lang::Ko);
        assert!(ko.contains(words), "{ko}");
        assert!(ko.contains("요금은 청구되지 않았습니다"), "{ko}");
        for leak in [
            "비밀번호",
            "부족",
            "한도",
            "분실",
            "도난",
            "제한",
            "유효기간",
        ] {
            assert!(!ko.contains(leak), "{reason:?} says {leak}: {ko}");
        }
        assert_eq!(texts.entry(words).or_insert_with(|| ko.clone()), &ko);
        assert_eq!(
            call.trace().last().map(|e| e.result.clone()),
            Some(format!("declined_{}", reason.code()))
        );
    }
    assert_eq!(texts.len(), 3, "three categories: {texts:?}");
}

#[test]
fn failed_approval_says_nothing_was_charged() {
    let mut call = approving();
    let actions = call.handle(Event::ApprovalResult(ApprovalOutcome::Failed));
    assert_eq!(said(&actions)[0], &Prompt::ApprovalFailed);
    assert_hangs_up(&actions);
    assert_eq!(call.outcome(), Some(&Outcome::ApprovalFailed));
    let ko = Prompt::ApprovalFailed.text(Lang::Ko);
    assert!(ko.contains("일시적인 오류로 결제하지 못했습니다. 요금은 청구되지 않았습니다"));
}

#[test]
fn approved_lump_sum_in_english() {
    let cfg = CallConfig {
        lang: Lang::En,
        ..config(false, false)
    };
    let (mut call, _) = start(cfg, charge(12_000, false));
    enter_all(&mut call, &["1", CARD, "1228"]);
    let actions = call.handle(Event::ApprovalResult(approved()));
    let en = all_text(&actions, Lang::En);
    assert!(en.contains("Your payment of 12,000 won"), "{en}");
    assert!(en.contains("single payment"), "{en}");
    assert!(
        en.contains("three zero zero one two three four five"),
        "{en}"
    );
    assert!(en.contains("receipt"), "{en}");
}

// ---- hang-up and stray events --------------------------------------------------------------

#[test]
fn hang_up_mid_flow() {
    for step in [
        Step::ReadOut,
        Step::CardNumber,
        Step::Expiry,
        Step::Installments,
        Step::BirthOrBusiness,
        Step::Password,
    ] {
        let mut call = at_step(step);
        assert!(call.handle(Event::HangUp).is_empty());
        assert!(call.is_done());
        assert_eq!(call.outcome(), Some(&Outcome::HungUp));
        assert_eq!(call.checkpoint().outcome, Some(Outcome::HungUp));
        assert!(call
            .trace()
            .iter()
            .any(|e| e.step == step && e.result == "hung_up"));
        // Nothing after Done.
        assert!(keys(&mut call, "1").is_empty());
        assert!(call.handle(Event::Timeout).is_empty());
        assert!(call.handle(connected_event()).is_empty());
        assert!(call.handle(Event::ApprovalResult(approved())).is_empty());
        assert_eq!(call.outcome(), Some(&Outcome::HungUp));
    }
    // Before connect, while looking up, while approving.
    let mut call = Call::new(CallConfig::default());
    assert!(call.handle(Event::HangUp).is_empty());
    assert_eq!(call.outcome(), Some(&Outcome::HungUp));
    let mut call = Call::new(CallConfig::default());
    call.handle(connected_event());
    call.handle(Event::HangUp);
    assert_eq!(call.outcome(), Some(&Outcome::HungUp));
    assert!(call
        .handle(Event::ChargeFound(charge(1000, false)))
        .is_empty());
    let mut call = approving();
    call.handle(Event::HangUp);
    assert_eq!(call.outcome(), Some(&Outcome::HungUp));
    assert!(call.handle(Event::ApprovalResult(approved())).is_empty());
    assert_eq!(call.outcome(), Some(&Outcome::HungUp));
}

#[test]
fn hang_up_after_done_keeps_the_outcome() {
    let (mut call, _) = start(CallConfig::default(), charge(1000, false));
    keys(&mut call, "2");
    assert!(call.handle(Event::HangUp).is_empty());
    assert_eq!(call.outcome(), Some(&Outcome::PayerRefused));
}

#[test]
fn events_out_of_place_are_ignored() {
    let mut call = Call::new(CallConfig::default());
    assert!(keys(&mut call, "1").is_empty());
    assert!(call
        .handle(Event::ChargeFound(charge(1000, false)))
        .is_empty());
    assert!(call.handle(Event::ChargeNotFound).is_empty());
    assert!(call.handle(Event::ApprovalResult(approved())).is_empty());
    assert_eq!(call.step(), Step::Start);

    call.handle(connected_event());
    assert!(call.handle(connected_event()).is_empty());
    assert!(keys(&mut call, "1").is_empty());
    assert!(call.handle(Event::ApprovalResult(approved())).is_empty());
    assert_eq!(call.step(), Step::Lookup);

    call.handle(Event::ChargeFound(charge(1000, false)));
    assert!(call
        .handle(Event::ChargeFound(charge(9999, false)))
        .is_empty());
    assert!(call.handle(Event::ChargeNotFound).is_empty());
    assert!(call.handle(connected_event()).is_empty());
    assert!(call.handle(Event::ApprovalResult(approved())).is_empty());
    assert_eq!(call.step(), Step::ReadOut);
    assert_eq!(call.charge().map(|c| c.amount), Some(1000));

    let mut call = approving();
    assert!(call.handle(Event::ChargeNotFound).is_empty());
    assert!(keys(&mut call, "*").is_empty());
    assert_eq!(call.step(), Step::Approving);
}

#[test]
fn debug_of_events_hides_digits() {
    let debug = format!("{:?}", Event::Digits("4111111111111111#".into()));
    assert!(!debug.contains("4111"), "{debug}");
    assert!(debug.contains("REDACTED"));
}

#[test]
fn config_and_outcomes_serialize() {
    let cfg: CallConfig =
        serde_json::from_str(r#"{"require_password":false,"lang":"en"}"#).unwrap();
    assert!(cfg.require_birth_date);
    assert!(!cfg.require_password);
    assert_eq!(cfg.max_attempts, 3);
    assert_eq!(cfg.input_timeout_secs, 7);
    assert_eq!(cfg.lang, Lang::En);
    assert_eq!(
        serde_json::to_string(&Outcome::Declined(DeclineReason::OverLimit)).unwrap(),
        r#"{"declined":"over_limit"}"#
    );
    assert_eq!(
        serde_json::to_string(&Outcome::TooManyAttempts).unwrap(),
        r#""too_many_attempts""#
    );
    assert_eq!(
        serde_json::to_string(&Step::BirthOrBusiness).unwrap(),
        r#""birth_or_business""#
    );
    let outcome: ApprovalOutcome =
        serde_json::from_str(r#"{"result":"declined","reason":"insufficient_funds"}"#).unwrap();
    assert_eq!(
        outcome,
        ApprovalOutcome::Declined {
            reason: DeclineReason::InsufficientFunds
        }
    );
}

#[test]
fn types_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Call>();
    assert_send_sync::<Action>();
    assert_send_sync::<Event>();
    assert_send_sync::<fieldpay_ivr::ApprovalRequest>();
    assert_send_sync::<fieldpay_ivr::Checkpoint>();
}
