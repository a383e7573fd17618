//! [`Call`]: the state machine itself.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::card::{
    check_birth_or_business, check_expiry, check_password2, parse_card_number, parse_installments,
    CardDetails,
};
use crate::prompt::{Prompt, RetryReason};
use crate::{
    Action, ApprovalOutcome, ApprovalRequest, CallConfig, CardSource, ChargeInfo, Event, Outcome,
    Step,
};

/// How many times per call `*` may re-ask a field. One more ends the call with
/// [`Outcome::TooManyAttempts`], so a caller cannot keep the line forever.
pub const MAX_REENTRIES: u8 = 5;

/// The steps of card entry after the read-out, in order; [`Call::applies`] skips the ones
/// that do not apply to this call.
const ENTRY_ORDER: [Step; 6] = [
    Step::CardNumber,
    Step::Expiry,
    Step::Installments,
    Step::BirthOrBusiness,
    Step::Password,
    Step::Approving,
];

/// A serializable snapshot of a call, without any key value, for resuming after a restart
/// ([`Call::resume`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Where the call was.
    pub step: Step,
    /// The charge being paid, once found.
    pub charge_id: Option<String>,
    /// Failed inputs so far on the current field.
    pub attempts: u8,
    /// Set once the call is done.
    pub outcome: Option<Outcome>,
}

/// One line of the call trace: a step and what happened there. Never any keyed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// The step the entry is about ([`Step::Done`] for the final outcome).
    pub step: Step,
    /// `connected`, `found`, `ok`, `timeout`, `invalid_luhn`, `reentry`, `requested`,
    /// `resumed`, an outcome code (`approved`, `declined_over_limit`, …), …
    pub result: String,
    /// For inputs: which attempt on this field it was (1 = first). 0 for other entries.
    pub attempt: u8,
}

/// One payment phone call. Feed it [`Event`]s with [`Call::handle`]; do what the returned
/// [`Action`]s say.
///
/// Holds the card details keyed so far (in memory only, zeroized on drop), so it is not serde;
/// use [`Call::checkpoint`] to persist where the call is. `Debug` prints no card data.
pub struct Call {
    config: CallConfig,
    today: (u16, u8),
    step: Step,
    charge: Option<ChargeInfo>,
    /// Failed inputs on the current field.
    attempts: u8,
    /// `*` presses in this call.
    reentries: u8,
    outcome: Option<Outcome>,
    /// Card fields keyed so far; moved out into the approval request.
    card: Option<CardDetails>,
    /// Auto-pay with the registered card was confirmed.
    registered: bool,
    installment_months: u8,
    trace: Vec<TraceEntry>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("config", &self.config)
            .field("today", &self.today)
            .field("step", &self.step)
            .field("charge", &self.charge)
            .field("attempts", &self.attempts)
            .field("reentries", &self.reentries)
            .field("outcome", &self.outcome)
            .field("card", &self.card.as_ref().map(|_| "[REDACTED]"))
            .field("registered", &self.registered)
            .field("installment_months", &self.installment_months)
            .field("trace", &self.trace)
            .finish()
    }
}

impl Call {
    /// A call waiting for [`Event::Connected`].
    pub fn new(config: CallConfig) -> Call {
        Call {
            config,
            today: (0, 0),
            step: Step::Start,
            charge: None,
            attempts: 0,
            reentries: 0,
            outcome: None,
            card: None,
            registered: false,
            installment_months: 0,
            trace: Vec::new(),
        }
    }

    /// Handles one event and returns what the host must do, in order. Never panics, whatever
    /// the order of events; an event that makes no sense in the current step is ignored
    /// (empty result), and after [`Step::Done`] the result is always empty.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        match event {
            // Wrap the keys at once so they are wiped whatever happens to them.
            Event::Digits(keys) => self.on_digits(Zeroizing::new(keys)),
            other => self.on_event(other),
        }
    }

    /// Where the call is.
    pub fn step(&self) -> Step {
        self.step
    }

    /// How the call ended; Some once [`Step::Done`].
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The call has ended.
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// The charge being paid, once found.
    pub fn charge_id(&self) -> Option<&str> {
        self.charge.as_ref().map(|c| c.charge_id.as_str())
    }

    /// The charge being paid, once found.
    pub fn charge(&self) -> Option<&ChargeInfo> {
        self.charge.as_ref()
    }

    /// The configuration the call runs with.
    pub fn config(&self) -> &CallConfig {
        &self.config
    }

    /// A snapshot without any key value.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            step: self.step,
            charge_id: self.charge_id().map(str::to_string),
            attempts: self.attempts,
            outcome: self.outcome.clone(),
        }
    }

    /// Continues a call after a server restart, from its checkpoint and its charge (looked up
    /// again by the host).
    ///
    /// Card fields keyed before the restart were only in memory, so from any card-entry step
    /// or [`Step::Approving`] the caller is told the input was lost and asked again from the
    /// card number (the host must make sure an approval that was already sent is not charged
    /// twice, e.g. by the charge id as idempotency key). [`Step::ReadOut`] and
    /// [`Step::AutoPayConfirm`] resume there (an auto-pay step whose charge no longer has a
    /// registered card goes to card entry); [`Step::Start`] and [`Step::Lookup`] start at the
    /// read-out since the charge is known; [`Step::Done`] stays done and only hangs up.
    /// Failed attempts carry over when the call resumes on the same field.
    pub fn resume(
        config: CallConfig,
        cp: Checkpoint,
        charge: ChargeInfo,
        today: (u16, u8),
    ) -> (Call, Vec<Action>) {
        let mut call = Call::new(config);
        call.today = today;
        call.push_trace(cp.step, "resumed", 0);
        if cp.step == Step::Done {
            call.charge = Some(charge);
            call.step = Step::Done;
            call.outcome = Some(cp.outcome.unwrap_or(Outcome::HungUp));
            return (call, vec![Action::Hangup]);
        }
        if charge.amount <= 0 {
            call.charge = Some(charge);
            let actions = call.refuse_charge();
            return (call, actions);
        }
        let has_registered = charge.registered_card.is_some();
        call.charge = Some(charge);
        let target = match cp.step {
            Step::AutoPayConfirm if has_registered => Step::AutoPayConfirm,
            Step::AutoPayConfirm => Step::CardNumber,
            s if s.is_card_entry() || s == Step::Approving => Step::CardNumber,
            _ => Step::ReadOut,
        };
        let lead = if cp.step.is_card_entry() || cp.step == Step::Approving {
            vec![Prompt::InputLost]
        } else {
            Vec::new()
        };
        let actions = call.enter(target, lead);
        if cp.step == target {
            call.attempts = cp.attempts.min(call.max_attempts() - 1);
        }
        (call, actions)
    }

    /// Steps visited, with attempt numbers and results (`ok`, `invalid_luhn`, `timeout`, …).
    /// Never any keyed value.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    // ---- events ---------------------------------------------------------------------------

    fn on_event(&mut self, event: Event) -> Vec<Action> {
        if self.is_done() {
            return Vec::new();
        }
        match (self.step, event) {
            (step, Event::HangUp) => {
                self.push_trace(step, "hung_up", 0);
                self.finish(Outcome::HungUp, Vec::new());
                Vec::new()
            }
            (
                Step::Start,
                Event::Connected {
                    dialled,
                    caller_id,
                    today,
                },
            ) => self.on_connected(dialled, caller_id, today),
            (Step::Lookup, Event::ChargeFound(info)) => {
                if info.amount <= 0 {
                    self.charge = Some(info);
                    return self.refuse_charge();
                }
                self.push_trace(Step::Lookup, "found", 0);
                self.charge = Some(info);
                self.enter(Step::ReadOut, Vec::new())
            }
            (Step::Lookup, Event::ChargeNotFound) => {
                self.push_trace(Step::Lookup, "not_found", 0);
                self.finish(Outcome::NoCharge, vec![Prompt::NoCharge])
            }
            (Step::Approving, Event::ApprovalResult(result)) => self.on_approval(result),
            (step, Event::Timeout) if step.is_gather() => self.reject(RetryReason::Timeout),
            _ => Vec::new(),
        }
    }

    fn on_connected(
        &mut self,
        dialled: String,
        caller_id: Option<String>,
        today: (u16, u8),
    ) -> Vec<Action> {
        self.today = today;
        self.push_trace(Step::Start, "connected", 0);
        let mut actions = vec![Action::Say(Prompt::Greeting)];
        // "anonymous", "unknown", "" and the like: no digit, no number.
        let caller_id = caller_id
            .map(|c| c.trim().to_string())
            .filter(|c| c.bytes().any(|b| b.is_ascii_digit()));
        match caller_id {
            None => {
                self.push_trace(Step::Start, "caller_id_withheld", 0);
                actions
                    .extend(self.finish(Outcome::CallerIdWithheld, vec![Prompt::CallerIdWithheld]));
            }
            Some(caller_id) => {
                self.step = Step::Lookup;
                actions.push(Action::LookupCharge { dialled, caller_id });
            }
        }
        actions
    }

    fn on_digits(&mut self, mut keys: Zeroizing<String>) -> Vec<Action> {
        if !self.step.is_gather() {
            return Vec::new();
        }
        // Trim in place (no copy of the keys is made): whitespace, then the finish key.
        let trimmed_end = keys.trim_end().len();
        keys.truncate(trimmed_end);
        let leading = keys.len() - keys.trim_start().len();
        keys.drain(..leading);
        if keys.starts_with('*') {
            return self.reenter();
        }
        while keys.ends_with('#') {
            keys.pop();
        }
        if keys.is_empty() {
            return self.reject(RetryReason::NoInput);
        }
        match self.step {
            Step::ReadOut => match keys.as_str() {
                "1" => self.accept(),
                "2" => {
                    self.push_trace(Step::ReadOut, "refused", self.attempts + 1);
                    self.finish(Outcome::PayerRefused, vec![Prompt::PayerRefused])
                }
                _ => self.reject(RetryReason::InvalidChoice),
            },
            Step::AutoPayConfirm => match keys.as_str() {
                "1" => {
                    self.registered = true;
                    self.accept()
                }
                "2" => {
                    self.registered = false;
                    self.push_trace(Step::AutoPayConfirm, "other_card", self.attempts + 1);
                    self.enter(Step::CardNumber, Vec::new())
                }
                _ => self.reject(RetryReason::InvalidChoice),
            },
            Step::CardNumber => match parse_card_number(&keys) {
                Ok(number) => {
                    self.card = Some(CardDetails::with_number(number));
                    self.accept()
                }
                Err(reason) => self.reject(reason),
            },
            Step::Expiry => match check_expiry(&keys, self.today) {
                Ok(()) => self.keep(keys, CardDetails::set_expiry),
                Err(reason) => self.reject(reason),
            },
            Step::Installments => match parse_installments(&keys) {
                Ok(months) => {
                    self.installment_months = months;
                    self.accept()
                }
                Err(reason) => self.reject(reason),
            },
            Step::BirthOrBusiness => match check_birth_or_business(&keys) {
                Ok(()) => self.keep(keys, CardDetails::set_birth_or_business),
                Err(reason) => self.reject(reason),
            },
            Step::Password => match check_password2(&keys) {
                Ok(()) => self.keep(keys, CardDetails::set_password2),
                Err(reason) => self.reject(reason),
            },
            Step::Start | Step::Lookup | Step::Approving | Step::Done => Vec::new(),
        }
    }

    fn on_approval(&mut self, result: ApprovalOutcome) -> Vec<Action> {
        let amount = self.charge.as_ref().map_or(0, |c| c.amount);
        match result {
            ApprovalOutcome::Approved {
                approval_number,
                issuer_name,
                masked_card: _,
                installment_months,
            } => self.finish(
                Outcome::Approved,
                vec![
                    Prompt::Approved {
                        issuer_name,
                        amount,
                        installment_months,
                        approval_number,
                    },
                    Prompt::ReceiptSms,
                    Prompt::Goodbye,
                ],
            ),
            ApprovalOutcome::Declined { reason } => self.finish(
                Outcome::Declined(reason),
                vec![Prompt::Declined { reason }, Prompt::Goodbye],
            ),
            ApprovalOutcome::Failed => self.finish(
                Outcome::ApprovalFailed,
                vec![Prompt::ApprovalFailed, Prompt::Goodbye],
            ),
        }
    }

    // ---- transitions ----------------------------------------------------------------------

    fn max_attempts(&self) -> u8 {
        self.config.max_attempts.max(1)
    }

    /// Keeps a checked field of the card being keyed (the keys are moved into it) and goes on.
    /// Card entry starts at the number, so the card is there; were it not, entry starts over.
    fn keep(
        &mut self,
        mut keys: Zeroizing<String>,
        set: fn(&mut CardDetails, &mut Zeroizing<String>),
    ) -> Vec<Action> {
        match self.card.as_mut() {
            Some(card) => {
                set(card, &mut keys);
                self.accept()
            }
            None => self.enter(Step::CardNumber, vec![Prompt::InputLost]),
        }
    }

    fn push_trace(&mut self, step: Step, result: &str, attempt: u8) {
        self.trace.push(TraceEntry {
            step,
            result: result.to_string(),
            attempt,
        });
    }

    /// Whether `step` is part of this call's card entry.
    fn applies(&self, step: Step) -> bool {
        match step {
            Step::CardNumber | Step::Expiry => !self.registered,
            Step::Installments => self
                .charge
                .as_ref()
                .is_some_and(ChargeInfo::installments_apply),
            Step::BirthOrBusiness => !self.registered && self.config.require_birth_date,
            Step::Password => !self.registered && self.config.require_password,
            Step::Approving => true,
            _ => false,
        }
    }

    /// The step after a successful input at `step`.
    fn next_step(&self, step: Step) -> Step {
        match step {
            Step::ReadOut
                if self
                    .charge
                    .as_ref()
                    .is_some_and(|c| c.registered_card.is_some()) =>
            {
                Step::AutoPayConfirm
            }
            Step::ReadOut => Step::CardNumber,
            _ => {
                let after = ENTRY_ORDER
                    .iter()
                    .position(|&s| s == step)
                    .map_or(0, |i| i + 1);
                ENTRY_ORDER[after.min(ENTRY_ORDER.len() - 1)..]
                    .iter()
                    .copied()
                    .find(|&s| self.applies(s))
                    .unwrap_or(Step::Approving)
            }
        }
    }

    /// The current input is good: on to the next step.
    fn accept(&mut self) -> Vec<Action> {
        let step = self.step;
        self.push_trace(step, "ok", self.attempts + 1);
        let next = self.next_step(step);
        self.enter(next, Vec::new())
    }

    /// Moves to `step` with a fresh attempt count; `lead` is said first.
    fn enter(&mut self, step: Step, lead: Vec<Prompt>) -> Vec<Action> {
        self.step = step;
        self.attempts = 0;
        match step {
            Step::Approving => self.request_approval(lead),
            Step::CardNumber => {
                // Starting card entry over: nothing from an earlier card stays.
                self.card = None;
                self.registered = false;
                self.installment_months = 0;
                vec![self.gather(lead, true)]
            }
            s if s.is_gather() => vec![self.gather(lead, true)],
            _ => lead.into_iter().map(Action::Say).collect(),
        }
    }

    /// A failed input (invalid or timed out) on the current field.
    fn reject(&mut self, reason: RetryReason) -> Vec<Action> {
        let step = self.step;
        self.attempts = self.attempts.saturating_add(1);
        self.push_trace(step, reason.code(), self.attempts);
        let max = self.max_attempts();
        if self.attempts >= max {
            return self.finish(Outcome::TooManyAttempts, vec![Prompt::TooManyAttempts]);
        }
        let retry = Prompt::Retry {
            reason,
            tries_left: max - self.attempts,
        };
        vec![self.gather(vec![retry], false)]
    }

    /// `*`: ask the current field again, within [`MAX_REENTRIES`] per call.
    fn reenter(&mut self) -> Vec<Action> {
        let step = self.step;
        self.reentries = self.reentries.saturating_add(1);
        self.push_trace(step, "reentry", self.attempts + 1);
        if self.reentries > MAX_REENTRIES {
            return self.finish(Outcome::TooManyAttempts, vec![Prompt::TooManyAttempts]);
        }
        vec![self.gather(vec![Prompt::ReEnter], true)]
    }

    /// The gather for the current step: `lead`, then the question (`full` = with the whole
    /// read-out at [`Step::ReadOut`]).
    fn gather(&self, lead: Vec<Prompt>, full: bool) -> Action {
        let mut prompts = lead;
        let (max_digits, finish_on_key) = match self.step {
            Step::ReadOut | Step::AutoPayConfirm => (1, None),
            Step::CardNumber => (19, Some('#')),
            Step::Expiry => (4, Some('#')),
            Step::Installments => (2, Some('#')),
            Step::BirthOrBusiness => (10, Some('#')),
            Step::Password => (2, Some('#')),
            _ => (1, None),
        };
        match self.step {
            Step::ReadOut => {
                if let (true, Some(charge)) = (full, &self.charge) {
                    prompts.push(Prompt::ChargeSummary {
                        merchant_name: charge.merchant_name.clone(),
                        goods_name: charge.goods_name.clone(),
                        amount: charge.amount,
                    });
                    if let Some(order) = &charge.order {
                        prompts.push(Prompt::OrderSummary {
                            order_number: order.order_number.clone(),
                            item_count: order.item_count,
                            total: order.total,
                        });
                    }
                }
                prompts.push(Prompt::PayOrDecline);
            }
            Step::AutoPayConfirm => {
                let card = self
                    .charge
                    .as_ref()
                    .and_then(|c| c.registered_card.as_ref());
                prompts.push(Prompt::AutoPayConfirm {
                    issuer_name: card.map(|c| c.issuer_name.clone()).unwrap_or_default(),
                    last4: card.map(|c| c.last4.clone()).unwrap_or_default(),
                });
            }
            Step::CardNumber => prompts.push(Prompt::CardNumberAsk),
            Step::Expiry => prompts.push(Prompt::ExpiryAsk),
            Step::Installments => prompts.push(Prompt::InstallmentsAsk),
            Step::BirthOrBusiness => prompts.push(Prompt::BirthOrBusinessAsk),
            Step::Password => prompts.push(Prompt::PasswordAsk),
            _ => {}
        }
        Action::Gather {
            prompts,
            max_digits,
            finish_on_key,
            timeout_secs: self.config.input_timeout_secs.max(1),
        }
    }

    /// Card entry complete: hand the card over (by move) in the approval request.
    fn request_approval(&mut self, lead: Vec<Prompt>) -> Vec<Action> {
        let Some(charge_id) = self.charge_id().map(str::to_string) else {
            // Unreachable by construction (card entry starts after the charge is found).
            return self.finish(Outcome::ApprovalFailed, vec![Prompt::ApprovalFailed]);
        };
        let card = if self.registered {
            CardSource::Registered
        } else {
            match self.card.take() {
                Some(card) => CardSource::Entered(card),
                None => return self.enter(Step::CardNumber, vec![Prompt::InputLost]),
            }
        };
        self.step = Step::Approving;
        self.push_trace(Step::Approving, "requested", 0);
        let mut actions: Vec<Action> = lead.into_iter().map(Action::Say).collect();
        actions.push(Action::Say(Prompt::Processing));
        actions.push(Action::RequestApproval(ApprovalRequest {
            charge_id,
            card,
            installment_months: self.installment_months,
        }));
        actions
    }

    /// Ends the call: says `prompts`, then hangs up. Card data is dropped (and wiped).
    fn finish(&mut self, outcome: Outcome, prompts: Vec<Prompt>) -> Vec<Action> {
        self.push_trace(Step::Done, &outcome.code(), 0);
        self.step = Step::Done;
        self.outcome = Some(outcome);
        self.card = None;
        self.attempts = 0;
        let mut actions: Vec<Action> = prompts.into_iter().map(Action::Say).collect();
        actions.push(Action::Hangup);
        actions
    }

    /// A found charge that cannot be paid (amount 0 or less) is treated as no charge.
    fn refuse_charge(&mut self) -> Vec<Action> {
        self.push_trace(Step::Lookup, "invalid_charge", 0);
        self.finish(Outcome::NoCharge, vec![Prompt::NoCharge])
    }
}
