//! Property tests: whatever the events, the machine never panics, keeps its action
//! invariants, always ends, and is silent once done.

mod common;

use fieldpay_ivr::{
    Action, ApprovalOutcome, Call, CallConfig, ChargeInfo, DeclineReason, Event, Lang,
    OrderSummary, RegisteredCard, Step, MAX_REENTRIES,
};
use proptest::prelude::*;

/// Gather steps a call can pass through (read-out, auto-pay, five card fields).
const GATHER_STEPS: usize = 7;

fn config() -> impl Strategy<Value = CallConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..=5,
        0u8..=10,
        any::<bool>(),
    )
        .prop_map(|(birth, password, max_attempts, timeout, en)| CallConfig {
            require_birth_date: birth,
            require_password: password,
            max_attempts,
            input_timeout_secs: timeout,
            lang: if en { Lang::En } else { Lang::Ko },
        })
}

fn charge() -> impl Strategy<Value = ChargeInfo> {
    charge_with(prop_oneof![Just(-1i64), Just(0), 1i64..=10_000_000])
}

/// A charge that can be paid.
fn payable_charge() -> impl Strategy<Value = ChargeInfo> {
    charge_with(1i64..=10_000_000)
}

fn charge_with(amounts: impl Strategy<Value = i64>) -> impl Strategy<Value = ChargeInfo> {
    (
        prop_oneof![
            1 => amounts,
            1 => prop_oneof![
            Just(1000i64),
            Just(49_999),
            Just(50_000),
            Just(120_000),
            ],
        ],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        "[가-힣a-zA-Z0-9 ]{0,12}",
    )
        .prop_map(
            |(amount, installments_allowed, order, registered, name)| ChargeInfo {
                charge_id: "ch_prop".into(),
                merchant_name: name.clone(),
                goods_name: name,
                amount,
                installments_allowed,
                order: order.then(|| OrderSummary {
                    order_number: "PO-1".into(),
                    item_count: 2,
                    total: amount,
                }),
                registered_card: registered.then(|| RegisteredCard {
                    issuer_name: "삼성카드".into(),
                    last4: "1234".into(),
                }),
            },
        )
}

/// Keys a caller might press: plausible answers for every field, and garbage.
fn digits() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop_oneof![
            Just("1"), Just("2"), Just("1#"), Just("*"), Just("#"), Just(""),
            Just("4111111111111111#"), Just("36227206271667"), Just("4111111111111112#"),
            Just("1228"), Just("0526"), Just("0426"), Just("1328"),
            Just("0"), Just("00"), Just("3#"), Just("12#"), Just("13"),
            Just("900101#"), Just("000229"), Just("2208162517#"), Just("2208162518"),
            Just("12"), Just("47"),
        ]
        .prop_map(String::from),
        2 => "[0-9#*]{0,22}",
        1 => ".{0,8}",
    ]
}

fn approval() -> impl Strategy<Value = ApprovalOutcome> {
    prop_oneof![
        "[0-9A-Z]{0,10}".prop_map(|n| ApprovalOutcome::Approved {
            approval_number: n,
            issuer_name: "BC카드".into(),
            masked_card: "411111******1111".into(),
            installment_months: 0,
        }),
        prop_oneof![
            Just(DeclineReason::InsufficientFunds),
            Just(DeclineReason::LostOrStolen),
            Just(DeclineReason::WrongPassword),
            Just(DeclineReason::OverLimit),
            Just(DeclineReason::InvalidCard),
            Just(DeclineReason::Expired),
            Just(DeclineReason::IssuerUnavailable),
            Just(DeclineReason::Other),
        ]
        .prop_map(|reason| ApprovalOutcome::Declined { reason }),
        Just(ApprovalOutcome::Failed),
    ]
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        8 => digits().prop_map(Event::Digits),
        3 => Just(Event::Timeout),
        1 => Just(Event::HangUp),
        1 => Just(Event::ChargeNotFound),
        1 => charge().prop_map(Event::ChargeFound),
        1 => approval().prop_map(Event::ApprovalResult),
        1 => (proptest::option::of("[0-9a-z]{0,11}"), 0u16..3000, 0u8..14).prop_map(
            |(caller_id, year, month)| Event::Connected {
                dialled: "16001234".into(),
                caller_id,
                today: (year, month),
            }
        ),
    ]
}

/// The right answer for the step the call is at (auto-pay: 1 or 2 by `pick`).
fn right_answer(step: Step, pick: u8) -> String {
    match step {
        Step::ReadOut => "1",
        Step::AutoPayConfirm if pick % 2 == 0 => "1",
        Step::AutoPayConfirm => "2#",
        Step::CardNumber => "4111111111111111#",
        Step::Expiry => "1228",
        Step::Installments => "3#",
        Step::BirthOrBusiness if pick % 2 == 0 => "900101#",
        Step::BirthOrBusiness => "2208162517#",
        Step::Password => "12",
        _ => "1",
    }
    .to_string()
}

/// Invariants of one batch of actions.
fn check_actions(call: &Call, actions: &[Action]) {
    let hangups = actions
        .iter()
        .filter(|a| matches!(a, Action::Hangup))
        .count();
    let waits = actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Gather { .. } | Action::LookupCharge { .. } | Action::RequestApproval(_)
            )
        })
        .count();
    if call.is_done() {
        assert!(call.outcome().is_some());
        assert!(hangups <= 1);
        assert_eq!(waits, 0, "{actions:?}");
        if !actions.is_empty() {
            assert_eq!(actions.last(), Some(&Action::Hangup), "{actions:?}");
        }
    } else {
        assert!(call.outcome().is_none());
        assert_eq!(hangups, 0, "{actions:?}");
        assert!(waits <= 1, "{actions:?}");
        if !actions.is_empty() {
            assert_eq!(waits, 1, "{actions:?}");
            assert!(matches!(
                actions.last(),
                Some(
                    Action::Gather { .. }
                        | Action::LookupCharge { .. }
                        | Action::RequestApproval(_)
                )
            ));
        }
    }
    for action in actions {
        if let Action::Gather {
            prompts,
            timeout_secs,
            max_digits,
            ..
        } = action
        {
            assert!(!prompts.is_empty());
            assert!(*timeout_secs >= 1);
            assert!(*max_digits >= 1);
        }
        // Rendering every prompt never panics.
        if let Action::Say(p) = action {
            let _ = (p.text(Lang::Ko), p.text(Lang::En));
        }
        if let Action::Gather { prompts, .. } = action {
            for p in prompts {
                let _ = (p.text(Lang::Ko), p.text(Lang::En));
            }
        }
        // The test card number is never echoed outside the approval request.
        if !matches!(action, Action::RequestApproval(_)) {
            assert!(!format!("{action:?}").contains("4111111111111111"));
        }
    }
    assert!(!format!("{call:?}").contains("4111111111111111"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any events in any order: no panic, invariants hold, silence after Done.
    #[test]
    fn random_events_never_panic(
        cfg in config(),
        events in proptest::collection::vec(any_event(), 0..80),
    ) {
        let mut call = Call::new(cfg);
        for event in events {
            let was_done = call.is_done();
            let outcome_before = call.outcome().cloned();
            let actions = call.handle(event);
            if was_done {
                prop_assert!(actions.is_empty());
                prop_assert_eq!(call.outcome().cloned(), outcome_before);
            }
            check_actions(&call, &actions);
            let _ = serde_json::to_string(&call.checkpoint()).unwrap();
        }
    }

    /// A connected call with a charge ends within a bound fixed by the attempt limits, when
    /// the host answers approvals and the caller keeps pressing keys or staying silent.
    #[test]
    fn calls_always_end(
        cfg in config(),
        info in payable_charge(),
        inputs in proptest::collection::vec(
            (0u8..10, prop_oneof![4 => digits().prop_map(Some), 1 => Just(None)]),
            200,
        ),
        approvals in proptest::collection::vec(approval(), 1),
    ) {
        let max_attempts = usize::from(cfg.max_attempts.max(1));
        let bound = GATHER_STEPS * max_attempts + usize::from(MAX_REENTRIES) + 1;
        let mut call = Call::new(cfg);
        call.handle(common::connected_event());
        let mut actions = call.handle(Event::ChargeFound(info));
        check_actions(&call, &actions);
        let mut used = 0;
        let mut inputs = inputs.into_iter();
        while !call.is_done() {
            actions = if matches!(actions.last(), Some(Action::RequestApproval(_))) {
                call.handle(Event::ApprovalResult(approvals[0].clone()))
            } else {
                used += 1;
                prop_assert!(used <= bound, "not done after {} inputs", used - 1);
                // Mostly the right answer, otherwise random keys or silence.
                match inputs.next() {
                    Some((pick, _)) if pick < 6 => {
                        call.handle(Event::Digits(right_answer(call.step(), pick)))
                    }
                    Some((_, Some(keys))) => call.handle(Event::Digits(keys)),
                    Some((_, None)) | None => call.handle(Event::Timeout),
                }
            };
            check_actions(&call, &actions);
        }
        prop_assert!(call.handle(Event::Digits("1".into())).is_empty());
        prop_assert!(call.handle(Event::Timeout).is_empty());
        prop_assert!(call.handle(Event::HangUp).is_empty());
        prop_assert!(call.handle(common::connected_event()).is_empty());
    }

    /// Silence alone ends every call with too many attempts.
    #[test]
    fn silence_ends_the_call(cfg in config(), info in charge()) {
        let max_attempts = usize::from(cfg.max_attempts.max(1));
        let mut call = Call::new(cfg);
        call.handle(common::connected_event());
        call.handle(Event::ChargeFound(info));
        let mut timeouts = 0;
        while !call.is_done() {
            call.handle(Event::Timeout);
            timeouts += 1;
            prop_assert!(timeouts <= max_attempts);
        }
        prop_assert!(call.outcome().is_some());
    }

    /// Resume from any checkpoint never panics and leaves a consistent call.
    #[test]
    fn resume_from_random_calls(
        cfg in config(),
        info in charge(),
        events in proptest::collection::vec(any_event(), 0..40),
        year in 0u16..3000,
        month in 0u8..14,
    ) {
        let mut call = Call::new(cfg.clone());
        call.handle(common::connected_event());
        call.handle(Event::ChargeFound(info.clone()));
        for event in events {
            call.handle(event);
        }
        let cp = call.checkpoint();
        let (resumed, actions) = Call::resume(cfg, cp.clone(), info, (year, month));
        check_actions(&resumed, &actions);
        if cp.step == Step::Done {
            prop_assert_eq!(actions, vec![Action::Hangup]);
            prop_assert_eq!(resumed.outcome(), cp.outcome.as_ref());
        }
    }
}
