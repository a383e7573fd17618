//! Helpers shared by the integration tests.
#![allow(dead_code)]

use fieldpay_ivr::{
    Action, ApprovalOutcome, ApprovalRequest, Call, CallConfig, ChargeInfo, Event, Lang,
    OrderSummary, Prompt, RegisteredCard, Step,
};

pub const TODAY: (u16, u8) = (2026, 5);
pub const CARD: &str = "4111111111111111";

pub fn config(birth: bool, password: bool) -> CallConfig {
    CallConfig {
        require_birth_date: birth,
        require_password: password,
        ..CallConfig::default()
    }
}

pub fn charge(amount: i64, installments_allowed: bool) -> ChargeInfo {
    ChargeInfo {
        charge_id: "ch_test_1".into(),
        merchant_name: "한빛약품".into(),
        goods_name: "감기약 외 2건".into(),
        amount,
        installments_allowed,
        order: None,
        registered_card: None,
    }
}

pub fn with_order(mut charge: ChargeInfo) -> ChargeInfo {
    charge.order = Some(OrderSummary {
        order_number: "20260501-007".into(),
        item_count: 3,
        total: charge.amount,
    });
    charge
}

pub fn with_registered(mut charge: ChargeInfo) -> ChargeInfo {
    charge.registered_card = Some(RegisteredCard {
        issuer_name: "신한카드".into(),
        last4: "4321".into(),
    });
    charge
}

pub fn connected_event() -> Event {
    Event::Connected {
        dialled: "16001234".into(),
        caller_id: Some("01012345678".into()),
        today: TODAY,
    }
}

/// Connected + ChargeFound: the call is at the read-out. Returns the read-out actions.
pub fn start(config: CallConfig, charge: ChargeInfo) -> (Call, Vec<Action>) {
    let mut call = Call::new(config);
    let actions = call.handle(connected_event());
    assert!(matches!(actions.last(), Some(Action::LookupCharge { .. })));
    let actions = call.handle(Event::ChargeFound(charge));
    assert_eq!(call.step(), Step::ReadOut);
    (call, actions)
}

pub fn keys(call: &mut Call, keys: &str) -> Vec<Action> {
    call.handle(Event::Digits(keys.to_string()))
}

/// Feeds several inputs, asserting each is accepted (the step changes).
pub fn enter_all(call: &mut Call, inputs: &[&str]) -> Vec<Action> {
    let mut last = Vec::new();
    for input in inputs {
        let before = call.step();
        last = keys(call, input);
        assert_ne!(call.step(), before, "input for {before:?} not accepted");
    }
    last
}

/// The prompts of the single Gather that must end `actions`.
pub fn gather(actions: &[Action]) -> &[Prompt] {
    match actions.last() {
        Some(Action::Gather { prompts, .. }) => prompts,
        other => panic!("expected a Gather last, got {other:?}"),
    }
}

/// (max_digits, finish_on_key) of the Gather ending `actions`.
pub fn gather_shape(actions: &[Action]) -> (u8, Option<char>) {
    match actions.last() {
        Some(Action::Gather {
            max_digits,
            finish_on_key,
            ..
        }) => (*max_digits, *finish_on_key),
        other => panic!("expected a Gather last, got {other:?}"),
    }
}

pub fn approval_request(actions: &[Action]) -> &ApprovalRequest {
    match actions.last() {
        Some(Action::RequestApproval(request)) => request,
        other => panic!("expected RequestApproval last, got {other:?}"),
    }
}

/// The Say prompts of `actions`, in order.
pub fn said(actions: &[Action]) -> Vec<&Prompt> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Every prompt (said or gathered) as Korean text, joined.
pub fn all_text(actions: &[Action], lang: Lang) -> String {
    let mut out = Vec::new();
    for action in actions {
        match action {
            Action::Say(p) => out.push(p.text(lang)),
            Action::Gather { prompts, .. } => out.extend(prompts.iter().map(|p| p.text(lang))),
            _ => {}
        }
    }
    out.join(" ")
}

pub fn approved() -> ApprovalOutcome {
    ApprovalOutcome::Approved {
        approval_number: "30012345".into(),
        issuer_name: "비자카드".into(),
        masked_card: "411111******1111".into(),
        installment_months: 0,
    }
}

/// Ends with a Hangup and nothing after it.
pub fn assert_hangs_up(actions: &[Action]) {
    assert_eq!(actions.last(), Some(&Action::Hangup), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == Action::Hangup).count(),
        1,
        "{actions:?}"
    );
}
