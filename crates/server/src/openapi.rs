//! The API description (OpenAPI 3.1), generated from the code: each handler carries a
//! `#[utoipa::path]` attribute (method, path, parameters, bodies, responses, security, tag) and
//! each body type a `utoipa::ToSchema` (the wire types of `fieldpay-protocol` with its `openapi`
//! feature, the server's own answer types here). Every router is a
//! [`utoipa_axum::router::OpenApiRouter`] whose routes are added with `routes!`, so a route that
//! is served is described by construction; [`crate::app::routes`] assembles them on the frame
//! made by [`frame`], and [`crate::app::router`] serves the result at `GET /v1/openapi.json`.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

/// The security scheme of the routes that need a caller (`security(("bearer" = []))`).
pub const BEARER: &str = "bearer";
/// The security scheme of the operator's routes (`/admin/v1`, `security(("operator" = []))`).
pub const OPERATOR: &str = "operator";

const DESCRIPTION: &str = "Phone payments by virtual ARS number.\n\n\
Merchants authenticate with `Authorization: Bearer fpk_...` API keys; reps with access tokens \
from `POST /v1/auth/login`. Every resource is scoped to the caller's merchant (another \
merchant's resources answer 404). Errors answer an `ErrorBody`, \
`{\"error\":{\"code\":\"...\",\"message\":\"...\"}}`, with the code's HTTP status. Amounts are \
whole KRW. Phone numbers are Korean (010-1234-5678 or +821012345678). Times are UTC RFC 3339.";

/// The tags, one per area, in the order documentation tools show them.
const TAGS: &[(&str, &str)] = &[
    (
        "charges",
        "ARS charges (결제 요청): create, read, list, cancel, refund, resend",
    ),
    ("auth", "Rep sign-in and token refresh"),
    (
        "sync",
        "Device sync: pull changes by cursor, push mutations",
    ),
    ("events", "Live charge status changes (server-sent events)"),
    ("accounts", "Client accounts (거래처) and their balance"),
    ("orders", "Purchase orders (발주서) and their signed PDF"),
    (
        "settlement",
        "Settlement (정산) of a day or a month by card company and by rep",
    ),
    ("webhooks", "The merchant's webhook delivery log"),
    (
        "payment-links",
        "Payment links (결제 링크): a web page where the payer asks for the bill, or an agent sends it",
    ),
    (
        "manager",
        "The merchant's manager: team, API keys, integration, settings",
    ),
    ("pages", "Web pages for people"),
    ("telephony", "Carrier voice webhooks"),
    ("sandbox", "The sandbox phone (sandbox mode only)"),
    ("meta", "Health check and this document"),
    (
        "admin",
        "The operator's API: merchants, virtual numbers, reps, API keys, webhooks, audit log",
    ),
];

/// The document's frame: info, the bearer security scheme and the tags; the routers add the
/// paths and schemas.
pub fn frame() -> OpenApi {
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "A merchant API key (`fpk_...`) or a rep's access token (`at_...`)",
        ))
        .build();
    let operator = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "An operator token (`fpo_...`, from `fieldpay-server admin operator-token create`)",
        ))
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("FieldPay API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION)),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(BEARER, SecurityScheme::Http(bearer))
                .security_scheme(OPERATOR, SecurityScheme::Http(operator))
                .build(),
        ))
        .tags(Some(TAGS.iter().map(|(name, about)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*about))
                .build()
        })))
        .build()
}

/// The served document as JSON, made once when the router is built (a request extension).
#[derive(Clone)]
pub struct ApiDocument(Bytes);

impl ApiDocument {
    pub fn new(doc: &OpenApi) -> Self {
        ApiDocument(Bytes::from(
            doc.to_json().expect("an OpenAPI document serialises"),
        ))
    }
}

/// This document
///
/// The OpenAPI 3.1 description of every route this server serves.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapi_document",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"),
    )
)]
pub async fn document(Extension(doc): Extension<ApiDocument>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};
    use std::path::Path;

    use serde_json::{json, Value};

    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    const SCHEMAS: &str = "#/components/schemas/";

    fn document(sandbox: bool) -> Value {
        serde_json::to_value(crate::app::routes(sandbox).into_openapi()).expect("JSON")
    }

    /// Every operation of a document: (path, method, operation).
    fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
        let paths = doc["paths"].as_object().expect("paths");
        let mut ops = Vec::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("a path item") {
                assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
                ops.push((path.as_str(), method.as_str(), op));
            }
        }
        ops
    }

    fn paths(doc: &Value) -> BTreeSet<&str> {
        doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// The names of the components every `$ref` under `v` points at.
    fn refs<'a>(v: &'a Value, out: &mut BTreeSet<&'a str>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    match (k.as_str(), x.as_str()) {
                        ("$ref", Some(r)) => {
                            out.insert(
                                r.strip_prefix(SCHEMAS).unwrap_or_else(|| {
                                    panic!("$ref {r} is not a component schema")
                                }),
                            );
                        }
                        _ => refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    /// The schema of a request body or response for a media type.
    fn schema<'a>(body: &'a Value, media: &str) -> &'a Value {
        &body["content"][media]["schema"]
    }

    fn op<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        op
    }

    fn component(name: &str) -> Value {
        json!({ "$ref": format!("{SCHEMAS}{name}") })
    }

    #[test]
    fn every_operation_is_described_completely() {
        let doc = document(true);
        let tags: HashSet<&str> = super::TAGS.iter().map(|(t, _)| *t).collect();
        let schemes = doc["components"]["securitySchemes"]
            .as_object()
            .expect("security schemes");
        let mut ids = HashSet::new();
        for (path, method, op) in operations(&doc) {
            let what = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: no summary (the handler's doc comment)"
            );
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id), "{what}: operationId {id} is used twice");
            let op_tags = op["tags"].as_array().expect("tags");
            assert!(
                op_tags.len() == 1 && op_tags[0].as_str().is_some_and(|t| tags.contains(t)),
                "{what}: one of the declared tags expected, got {op_tags:?}"
            );
            // Path parameters: each `{name}` of the path is described, and nothing else.
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let described: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .inspect(|p| assert_eq!(p["required"], true, "{what}: {p}"))
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(in_path, described, "{what}: path parameters");
            // Responses: a success, each with a description; errors answered as JSON are the
            // typed error body, and every error of the JSON API (`/v1`) is one.
            let responses = op["responses"].as_object().expect("responses");
            // A page's form post succeeds with 303 See Other (post, redirect, get).
            let form_post = method == "post" && op_tags[0] == "pages";
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || (form_post && s == "303")),
                "{what}: no success response"
            );
            for (status, r) in responses {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{what} {status}: no description"
                );
                let is_error = status.starts_with('4') || status.starts_with('5');
                if !is_error {
                    continue;
                }
                let json_error = schema(r, "application/json");
                if path.starts_with("/v1/") || !json_error.is_null() {
                    assert_eq!(
                        *json_error,
                        component("ErrorBody"),
                        "{what} {status}: errors are ErrorBody"
                    );
                }
            }
            for requirement in op["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().expect("a requirement").keys() {
                    assert!(schemes.contains_key(scheme), "{what}: scheme {scheme}");
                }
            }
        }
    }

    #[test]
    fn references_resolve_and_every_schema_is_used() {
        let doc = document(true);
        let components = doc["components"]["schemas"].as_object().expect("schemas");
        // From the paths, then through the schemas they reach.
        let mut reached = BTreeSet::new();
        refs(&doc["paths"], &mut reached);
        let mut todo: Vec<&str> = reached.iter().copied().collect();
        while let Some(name) = todo.pop() {
            let schema = components
                .get(name)
                .unwrap_or_else(|| panic!("$ref to {name}, which is not a component"));
            let mut next = BTreeSet::new();
            refs(schema, &mut next);
            todo.extend(next.into_iter().filter(|n| reached.insert(n)));
        }
        let unused: Vec<&String> = components
            .keys()
            .filter(|k| !reached.contains(k.as_str()))
            .collect();
        assert!(unused.is_empty(), "schemas no route uses: {unused:?}");
    }

    #[test]
    fn main_routes_name_their_body_types() {
        let doc = document(true);
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "FieldPay API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            doc["components"]["securitySchemes"][super::BEARER],
            json!({
                "type": "http",
                "scheme": "bearer",
                "description": "A merchant API key (`fpk_...`) or a rep's access token (`at_...`)"
            })
        );
        let json = "application/json";
        let create = op(&doc, "post", "/v1/charges");
        assert_eq!(
            *schema(&create["requestBody"], json),
            component("CreateCharge")
        );
        for status in ["200", "201"] {
            assert_eq!(
                *schema(&create["responses"][status], json),
                component("Charge")
            );
        }
        for status in ["401", "409", "422", "503"] {
            assert_eq!(
                *schema(&create["responses"][status], json),
                component("ErrorBody")
            );
        }
        assert_eq!(create["security"], json!([{ (super::BEARER): [] }]));
        let idempotency = &create["parameters"][0];
        assert_eq!(
            (&idempotency["name"], &idempotency["in"]),
            (&json!("Idempotency-Key"), &json!("header"))
        );
        // (method, path, request body, success status, answer)
        let bodies = [
            ("get", "/v1/charges", None, "200", "ChargeList"),
            ("get", "/v1/charges/{id}", None, "200", "Charge"),
            (
                "post",
                "/v1/charges/{id}/refund",
                Some("RefundCharge"),
                "200",
                "Charge",
            ),
            (
                "post",
                "/v1/auth/login",
                Some("LoginRequest"),
                "200",
                "TokenResponse",
            ),
            (
                "post",
                "/v1/auth/refresh",
                Some("RefreshRequest"),
                "200",
                "TokenResponse",
            ),
            ("get", "/v1/sync", None, "200", "SyncPage"),
            (
                "post",
                "/v1/mutations",
                Some("MutationBatch"),
                "200",
                "MutationResults",
            ),
            ("get", "/v1/settlement", None, "200", "SettlementReport"),
            (
                "get",
                "/v1/accounts/{id}",
                None,
                "200",
                "AccountWithBalance",
            ),
            ("get", "/v1/orders/{id}", None, "200", "Order"),
            (
                "post",
                "/sandbox/calls",
                Some("DialRequest"),
                "200",
                "SandboxTurn",
            ),
        ];
        for (method, path, request, status, answer) in bodies {
            let o = op(&doc, method, path);
            if let Some(request) = request {
                let body = schema(&o["requestBody"], json);
                let named = *body == component(request)
                    || body["oneOf"]
                        .as_array()
                        .is_some_and(|v| v.contains(&component(request)));
                assert!(named, "{method} {path}: request {body}");
            }
            assert_eq!(
                *schema(&o["responses"][status], json),
                component(answer),
                "{method} {path}"
            );
        }
        assert_eq!(
            *schema(
                &op(&doc, "get", "/v1/events")["responses"]["200"],
                "text/event-stream"
            ),
            component("ChargeStatusChanged")
        );
        // Pages and the TwiML webhook, with their content types.
        for path in ["/", "/r/{token}", "/sandbox/phone"] {
            assert_eq!(
                schema(&op(&doc, "get", path)["responses"]["200"], "text/html")["type"],
                "string",
                "{path}"
            );
        }
        let voice = op(&doc, "post", "/telephony/twiml/voice");
        assert_eq!(
            *schema(&voice["requestBody"], "application/x-www-form-urlencoded"),
            component("VoiceWebhookForm")
        );
        assert_eq!(
            schema(&voice["responses"]["200"], "text/xml")["type"],
            "string"
        );
        assert!(
            op(&doc, "get", "/v1/orders/{id}/pdf")["responses"]["200"]["content"]
                ["application/pdf"]
                .is_object()
        );
        assert!(
            op(&doc, "get", "/v1/settlement.csv")["responses"]["200"]["content"]["text/csv"]
                .is_object()
        );
    }

    #[test]
    fn sandbox_routes_only_in_sandbox_mode() {
        let (with, without) = (document(true), document(false));
        let (with, without) = (paths(&with), paths(&without));
        let sandbox: Vec<&str> = with.difference(&without).copied().collect();
        assert_eq!(
            sandbox,
            [
                "/sandbox/calls",
                "/sandbox/calls/{id}/input",
                "/sandbox/clock/advance",
                "/sandbox/phone",
                "/sandbox/sms"
            ]
        );
        assert!(without.is_subset(&with));
        assert!(!without.iter().any(|p| p.starts_with("/sandbox")));
    }

    /// Routes are added only with `routes!` on an `OpenApiRouter` (so each has its
    /// description): no plain axum routing anywhere in the server's code.
    #[test]
    fn routes_are_added_only_with_their_description() {
        fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("a source folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 20, "{files:?}");
        // Spelled in pieces so that this file does not match itself.
        let plain: Vec<String> = ["route", "route_service", "nest_service", "fallback"]
            .iter()
            .map(|m| format!(".{m}("))
            .chain([format!("axum::{}::", "routing")])
            .collect();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a source file");
            for p in &plain {
                assert!(
                    !text.contains(p.as_str()),
                    "{}: `{p}` adds a route without a description; use routes!(...) on an OpenApiRouter",
                    file.display()
                );
            }
        }
    }
}
