//! The card data rules: a canary card keyed into a whole call must not show up anywhere the
//! machine exposes, except inside the approval request's card itself.

mod common;

use common::*;
use fieldpay_ivr::{
    Action, ApprovalOutcome, ApprovalRequest, Call, CardDetails, CardSource, Event, Lang,
};
use fieldpay_protocol::validate::luhn_check_digit;
use fieldpay_protocol::CardNumber;

const PARTIAL: &str = "943712580246135";
const EXPIRY: &str = "0937";
const BIRTH: &str = "851123";
const PASSWORD: &str = "47";

fn canary_number() -> String {
    let check = luhn_check_digit(PARTIAL).expect("check digit");
    format!("{PARTIAL}{check}")
}

/// Everything a host could log or store about the call, as one string.
fn exposed(call: &Call, actions: &[Action]) -> String {
    let mut out = String::new();
    out.push_str(&format!("{call:?}\n{call:#?}\n"));
    out.push_str(&serde_json::to_string(&call.checkpoint()).unwrap());
    out.push_str(&format!("{:?}", call.checkpoint()));
    out.push_str(&serde_json::to_string(call.trace()).unwrap());
    out.push_str(&serde_json::to_string(&call.outcome()).unwrap());
    for action in actions {
        match action {
            Action::RequestApproval(request) => {
                // The request carries the card by design; its Debug must still be redacted.
                let debug = format!("{request:?} {request:#?}");
                assert!(debug.contains("[REDACTED]"), "{debug}");
                out.push_str(&debug);
                out.push_str(&format!("{action:?}"));
            }
            Action::Say(prompt) => {
                out.push_str(&serde_json::to_string(prompt).unwrap());
                out.push_str(&prompt.text(Lang::Ko));
                out.push_str(&prompt.text(Lang::En));
                out.push_str(&format!("{action:?}"));
            }
            Action::Gather { prompts, .. } => {
                for prompt in prompts {
                    out.push_str(&serde_json::to_string(prompt).unwrap());
                    out.push_str(&prompt.text(Lang::Ko));
                    out.push_str(&prompt.text(Lang::En));
                }
                out.push_str(&format!("{action:?}"));
            }
            other => out.push_str(&format!("{other:?}")),
        }
        out.push('\n');
    }
    out
}

fn assert_clean(text: &str, number: &str) {
    for secret in [number, &number[..12], EXPIRY, BIRTH] {
        assert!(!text.contains(secret), "leaked {secret}:\n{text}");
    }
    assert!(
        !text.contains(&format!("\"{PASSWORD}\"")),
        "leaked the password:\n{text}"
    );
    assert!(
        !text.contains(&format!("{PASSWORD}\n")),
        "leaked the password:\n{text}"
    );
}

#[test]
fn canary_card_never_leaks() {
    let number = canary_number();
    let wrong_luhn = format!("{PARTIAL}{}", (luhn_check_digit(PARTIAL).unwrap() + 1) % 10);
    let mut log = String::new();

    let (mut call, actions) = start(config(true, true), with_order(charge(120_000, true)));
    log.push_str(&exposed(&call, &actions));
    // Rejected inputs first (they must not be echoed either), then the real ones.
    let inputs = [
        "1".to_string(),
        format!("{wrong_luhn}#"),
        format!("{number}#"),
        "*".to_string(),
        EXPIRY.to_string(),
        "3#".to_string(),
        format!("{BIRTH}#"),
        PASSWORD.to_string(),
    ];
    let mut request_actions = Vec::new();
    for input in inputs {
        let event = Event::Digits(input.clone());
        let debug = format!("{event:?}");
        assert!(!debug.contains(input.trim_end_matches('#')), "{debug}");
        let actions = call.handle(event);
        log.push_str(&exposed(&call, &actions));
        if matches!(actions.last(), Some(Action::RequestApproval(_))) {
            request_actions = actions;
        }
    }
    assert_clean(&log, &number);

    // The card did reach the approval request, whole.
    let request = approval_request(&request_actions);
    match &request.card {
        CardSource::Entered(card) => {
            assert_eq!(card.number().expose_digits(), number);
            assert_eq!(card.expiry_mmyy(), EXPIRY);
            assert_eq!(card.birth_or_business(), Some(BIRTH));
            assert_eq!(card.password2(), Some(PASSWORD));
            let masked = card.number().masked();
            assert!(!masked.contains(&number[6..12]));
            assert_eq!(&masked[..6], &number[..6]);
        }
        CardSource::Registered => panic!("expected the entered card"),
    }
    // Moved out: the machine no longer holds the card.
    assert!(format!("{call:?}").contains("card: None"));

    let actions = call.handle(Event::ApprovalResult(ApprovalOutcome::Approved {
        approval_number: "30012345".into(),
        issuer_name: "테스트카드".into(),
        masked_card: format!("{}******{}", &number[..6], &number[12..]),
        installment_months: 3,
    }));
    let log = exposed(&call, &actions);
    assert_clean(&log, &number);
}

#[test]
fn card_held_mid_call_is_redacted_and_dropped_on_hang_up() {
    let number = canary_number();
    let (mut call, _) = start(config(true, true), charge(120_000, true));
    enter_all(&mut call, &["1", &number, EXPIRY, "0", BIRTH]);
    let debug = format!("{call:?}");
    assert!(debug.contains("card: Some(\"[REDACTED]\")"), "{debug}");
    assert_clean(&debug, &number);
    call.handle(Event::HangUp);
    assert!(format!("{call:?}").contains("card: None"));
}

#[test]
fn resume_checkpoint_carries_no_card_data() {
    let number = canary_number();
    let (mut call, _) = start(config(true, true), charge(120_000, true));
    enter_all(&mut call, &["1", &number, EXPIRY]);
    let json = serde_json::to_string(&call.checkpoint()).unwrap();
    assert_clean(&json, &number);
    let cp = serde_json::from_str(&json).unwrap();
    let (resumed, actions) = Call::resume(config(true, true), cp, charge(120_000, true), TODAY);
    assert_clean(&exposed(&resumed, &actions), &number);
}

/// Every type of the crate that holds card data, built directly and printed with `{:?}` and
/// `{:#?}`: nothing of the card in the output.
#[test]
fn debug_of_every_card_holder_is_redacted() {
    let number = canary_number();
    let card = CardDetails::new(
        CardNumber::parse(&number).unwrap(),
        EXPIRY,
        Some(BIRTH.to_string()),
        Some(PASSWORD.to_string()),
    );
    let request = ApprovalRequest {
        charge_id: "ch_debug".into(),
        card: CardSource::Entered(card.clone()),
        installment_months: 0,
    };
    let printed = [
        format!("{:?} {:#?}", card.number(), card.number()),
        format!("{card:?} {card:#?}"),
        format!("{:?}", request.card),
        format!("{request:?} {request:#?}"),
        format!("{:?}", Action::RequestApproval(request.clone())),
        format!("{:?}", Event::Digits(format!("{number}#"))),
    ];
    for out in &printed {
        assert_clean(out, &number);
        assert!(!out.contains(PASSWORD), "leaked the password: {out}");
        assert!(out.contains("[REDACTED]"), "{out}");
    }
    // Mid-entry, the call holds the card: its Debug is redacted too.
    let (mut call, _) = start(config(true, true), charge(12_000, false));
    let actions = enter_all(&mut call, &["1", &format!("{number}#"), EXPIRY]);
    assert_clean(&exposed(&call, &actions), &number);
}
