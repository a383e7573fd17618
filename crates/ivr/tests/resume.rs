//! Checkpoints and resuming after a server restart, from every step.

mod common;

use common::*;
use fieldpay_ivr::{
    Action, Call, CallConfig, CardSource, Checkpoint, Event, Lang, Outcome, Prompt, RetryReason,
    Step,
};

/// Checkpoint -> JSON -> checkpoint, as the server stores it.
fn stored(call: &Call) -> Checkpoint {
    let json = serde_json::to_string(&call.checkpoint()).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn call_at(step: Step, registered: bool) -> Call {
    let base = charge(120_000, true);
    let the_charge = if registered {
        with_registered(base)
    } else {
        base
    };
    if step == Step::Start {
        return Call::new(config(true, true));
    }
    if step == Step::Lookup {
        let mut call = Call::new(config(true, true));
        call.handle(connected_event());
        return call;
    }
    let (mut call, _) = start(config(true, true), the_charge);
    let inputs: &[&str] = match step {
        Step::ReadOut => &[],
        Step::AutoPayConfirm => &["1"],
        Step::CardNumber => &["1"],
        Step::Expiry => &["1", CARD],
        Step::Installments => &["1", CARD, "1228"],
        Step::BirthOrBusiness => &["1", CARD, "1228", "2"],
        Step::Password => &["1", CARD, "1228", "2", "900101"],
        Step::Approving => &["1", CARD, "1228", "2", "900101", "12"],
        Step::Done => &["2"],
        Step::Start | Step::Lookup => unreachable!(),
    };
    enter_all(&mut call, inputs);
    assert_eq!(call.step(), step);
    call
}

#[test]
fn checkpoint_fields() {
    let call = call_at(Step::Expiry, false);
    let cp = call.checkpoint();
    assert_eq!(
        cp,
        Checkpoint {
            step: Step::Expiry,
            charge_id: Some("ch_test_1".into()),
            attempts: 0,
            outcome: None,
        }
    );
    let json = serde_json::to_string(&cp).unwrap();
    assert_eq!(
        json,
        r#"{"step":"expiry","charge_id":"ch_test_1","attempts":0,"outcome":null}"#
    );
    assert_eq!(
        Call::new(CallConfig::default()).checkpoint().charge_id,
        None
    );
}

#[test]
fn card_entry_steps_resume_at_the_card_number() {
    for step in [
        Step::CardNumber,
        Step::Expiry,
        Step::Installments,
        Step::BirthOrBusiness,
        Step::Password,
        Step::Approving,
    ] {
        let call = call_at(step, false);
        let cp = stored(&call);
        drop(call);
        let (mut call, actions) =
            Call::resume(config(true, true), cp, charge(120_000, true), TODAY);
        assert_eq!(call.step(), Step::CardNumber, "from {step:?}");
        assert_eq!(
            gather(&actions),
            &[Prompt::InputLost, Prompt::CardNumberAsk],
            "from {step:?}"
        );
        assert!(all_text(&actions, Lang::Ko).contains("다시 입력해 주세요"));
        assert_eq!(call.charge_id(), Some("ch_test_1"));
        assert_eq!(call.trace()[0].result, "resumed");
        assert_eq!(call.trace()[0].step, step);
        // The call continues normally.
        let actions = enter_all(&mut call, &[CARD, "1228", "0", "900101", "12"]);
        let request = approval_request(&actions);
        assert_eq!(request.charge_id, "ch_test_1");
        assert!(matches!(request.card, CardSource::Entered(_)));
        call.handle(Event::ApprovalResult(approved()));
        assert_eq!(call.outcome(), Some(&Outcome::Approved));
    }
}

#[test]
fn read_out_resumes_there_with_its_attempts() {
    let mut call = call_at(Step::ReadOut, false);
    keys(&mut call, "7");
    let cp = stored(&call);
    assert_eq!(cp.attempts, 1);
    let (mut call, actions) = Call::resume(config(true, true), cp, charge(120_000, true), TODAY);
    assert_eq!(call.step(), Step::ReadOut);
    let prompts = gather(&actions);
    assert!(matches!(
        prompts[0],
        Prompt::ChargeSummary {
            amount: 120_000,
            ..
        }
    ));
    assert_eq!(prompts.last(), Some(&Prompt::PayOrDecline));
    assert_eq!(call.checkpoint().attempts, 1);
    let actions = keys(&mut call, "7");
    assert_eq!(
        gather(&actions)[0],
        Prompt::Retry {
            reason: RetryReason::InvalidChoice,
            tries_left: 1
        }
    );
    keys(&mut call, "7");
    assert_eq!(call.outcome(), Some(&Outcome::TooManyAttempts));
}

#[test]
fn start_and_lookup_resume_at_the_read_out() {
    for step in [Step::Start, Step::Lookup] {
        let cp = stored(&call_at(step, false));
        let (call, actions) = Call::resume(config(true, true), cp, charge(120_000, true), TODAY);
        assert_eq!(call.step(), Step::ReadOut);
        assert_eq!(gather(&actions).last(), Some(&Prompt::PayOrDecline));
    }
}

#[test]
fn auto_pay_confirm_resumes_there() {
    let cp = stored(&call_at(Step::AutoPayConfirm, true));
    let the_charge = with_registered(charge(120_000, true));
    let (mut call, actions) = Call::resume(config(true, true), cp.clone(), the_charge, TODAY);
    assert_eq!(call.step(), Step::AutoPayConfirm);
    assert!(matches!(gather(&actions)[0], Prompt::AutoPayConfirm { .. }));
    keys(&mut call, "1");
    let actions = keys(&mut call, "0");
    assert_eq!(approval_request(&actions).card, CardSource::Registered);

    // The registered card went away meanwhile: card entry instead.
    let (call, actions) = Call::resume(config(true, true), cp, charge(120_000, true), TODAY);
    assert_eq!(call.step(), Step::CardNumber);
    assert_eq!(gather(&actions), &[Prompt::CardNumberAsk]);
}

#[test]
fn done_stays_done() {
    let call = call_at(Step::Done, false);
    let cp = stored(&call);
    assert_eq!(cp.outcome, Some(Outcome::PayerRefused));
    let (mut call, actions) = Call::resume(config(true, true), cp, charge(120_000, true), TODAY);
    assert_eq!(actions, vec![Action::Hangup]);
    assert!(call.is_done());
    assert_eq!(call.outcome(), Some(&Outcome::PayerRefused));
    assert!(keys(&mut call, "1").is_empty());
    assert!(call.handle(Event::HangUp).is_empty());
    assert_eq!(call.outcome(), Some(&Outcome::PayerRefused));
}

#[test]
fn resume_of_a_charge_without_amount_ends_the_call() {
    let cp = stored(&call_at(Step::Expiry, false));
    let (call, actions) = Call::resume(config(true, true), cp, charge(0, false), TODAY);
    assert_eq!(actions, vec![Action::Say(Prompt::NoCharge), Action::Hangup]);
    assert_eq!(call.outcome(), Some(&Outcome::NoCharge));
}

#[test]
fn resume_uses_the_given_date_for_expiry() {
    let cp = stored(&call_at(Step::Expiry, false));
    let (mut call, _) = Call::resume(config(false, false), cp, charge(10_000, false), (2029, 1));
    keys(&mut call, CARD);
    let actions = keys(&mut call, "1228");
    assert_eq!(
        gather(&actions)[0],
        Prompt::Retry {
            reason: RetryReason::ExpiryExpired,
            tries_left: 2
        }
    );
}
