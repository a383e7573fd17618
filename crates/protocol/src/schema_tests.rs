//! The OpenAPI schemas (feature `openapi`) say what serde writes: enum names, tags, closed
//! bodies, strings for ids and secrets.

use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::LoginRequest;
use crate::charge::{
    Charge, ChargeEvent, ChargeEventKind, ChargeKind, ChargeOrigin, ChargeStatus, CreateCharge,
};
use crate::records::{LedgerKind, OrderStatus};
use crate::sms::{SmsKind, SmsStatus};
use crate::sync::{Change, ChangeData, MutationBatch, MutationKind, MutationOutcome};
use crate::{AccountId, ApiKeyId, ChargeId, MerchantId, OrderId, RepId, Secret};

fn schema<T: ToSchema>() -> Value {
    serde_json::to_value(T::schema()).expect("a schema serialises")
}

/// The `enum` values of a field-less enum's schema.
fn names<T: ToSchema>() -> Vec<String> {
    let s = schema::<T>();
    serde_json::from_value(s["enum"].clone())
        .unwrap_or_else(|_| panic!("{} has no enum values: {s}", T::name()))
}

#[test]
fn named_enums_list_their_wire_names() {
    fn check<T: ToSchema>(all: &[&str]) {
        assert_eq!(names::<T>(), all, "{}", T::name());
    }
    check::<ChargeStatus>(&ChargeStatus::ALL.map(ChargeStatus::as_str));
    check::<ChargeKind>(&ChargeKind::ALL.map(ChargeKind::as_str));
    check::<ChargeEventKind>(&ChargeEventKind::ALL.map(ChargeEventKind::as_str));
    check::<ChargeOrigin>(&ChargeOrigin::ALL.map(ChargeOrigin::as_str));
    check::<LedgerKind>(&LedgerKind::ALL.map(LedgerKind::as_str));
    check::<OrderStatus>(&OrderStatus::ALL.map(OrderStatus::as_str));
    check::<SmsKind>(&SmsKind::ALL.map(SmsKind::as_str));
    check::<SmsStatus>(&SmsStatus::ALL.map(SmsStatus::as_str));
}

#[test]
fn ids_and_secrets_are_strings() {
    for s in [
        schema::<MerchantId>(),
        schema::<RepId>(),
        schema::<ChargeId>(),
        schema::<AccountId>(),
        schema::<OrderId>(),
        schema::<ApiKeyId>(),
    ] {
        assert_eq!(s["type"], "string", "{s}");
    }
    let secret = schema::<Secret>();
    assert_eq!(
        (&secret["type"], &secret["format"]),
        (&json!("string"), &json!("password"))
    );
    assert_eq!(
        schema::<LoginRequest>()["properties"]["password"]["$ref"],
        "#/components/schemas/Secret"
    );
}

#[test]
fn bodies_that_deny_unknown_fields_are_closed() {
    for s in [
        schema::<CreateCharge>(),
        schema::<LoginRequest>(),
        schema::<MutationBatch>(),
    ] {
        assert_eq!(s["additionalProperties"], false, "{s}");
    }
    assert!(schema::<Charge>().get("additionalProperties").is_none());
}

#[test]
fn tagged_enums_and_flattened_fields() {
    // Adjacently tagged: {"entity": "...", "data": {...}}.
    let change_data = schema::<ChangeData>();
    let variants = change_data["oneOf"].as_array().expect("oneOf");
    assert_eq!(variants.len(), 7);
    for v in variants {
        let required = v["required"].as_array().expect("required");
        assert!(
            required.contains(&json!("entity")) && required.contains(&json!("data")),
            "{v}"
        );
        assert_eq!(
            v["properties"]["entity"]["enum"].as_array().map(Vec::len),
            Some(1)
        );
    }
    // Internally tagged: the tag is a required property of each variant.
    for (s, tag) in [
        (schema::<MutationKind>(), "type"),
        (schema::<MutationOutcome>(), "result"),
    ] {
        for v in s["oneOf"].as_array().expect("oneOf") {
            assert!(
                v["required"].as_array().unwrap().contains(&json!(tag)),
                "{v}"
            );
            assert_eq!(
                v["properties"][tag]["enum"].as_array().map(Vec::len),
                Some(1)
            );
        }
    }
    assert_eq!(
        schema::<MutationKind>()["oneOf"][3]["properties"]["type"]["enum"],
        json!(["request_charge"])
    );
    // Flattened: the change's own fields next to the tagged record.
    let change = schema::<Change>();
    assert_eq!(
        change["allOf"][0]["$ref"],
        "#/components/schemas/ChangeData"
    );
    assert_eq!(change["allOf"][1]["required"], json!(["seq"]));
}

/// A charge event's `kind` is optional on the wire: left out for a status transition (what
/// older clients read), `text_failed` for a text given up.
#[test]
fn charge_event_kind_is_optional() {
    let e = ChargeEvent::status(ChargeStatus::Requested, "t".into(), None);
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"status": "requested", "at": "t"})
    );
    let old: ChargeEvent =
        serde_json::from_value(json!({"status": "sms_sent", "at": "t"})).unwrap();
    assert_eq!(old.kind, ChargeEventKind::Status);
    let failed = ChargeEvent {
        kind: ChargeEventKind::TextFailed,
        detail: Some("결제 요청 문자: 수신거부".into()),
        ..e
    };
    let v = serde_json::to_value(&failed).unwrap();
    assert_eq!(v["kind"], "text_failed");
    assert_eq!(serde_json::from_value::<ChargeEvent>(v).unwrap(), failed);
    let required = schema::<ChargeEvent>()["required"].clone();
    assert!(
        !required.as_array().unwrap().contains(&json!("kind")),
        "{required}"
    );
}
