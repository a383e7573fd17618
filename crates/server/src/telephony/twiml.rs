//! The Twilio-compatible voice webhook dialect (Twilio, SignalWire, Telnyx TeXML): the carrier
//! POSTs form fields (`CallSid`, `From`, `To`, `CallStatus`, later `Digits`) to
//! `/telephony/twiml/voice` and we answer TwiML. Requests are authenticated with
//! `X-Twilio-Signature` (base64 HMAC-SHA1 over the URL and the sorted form parameters, keyed
//! with the account's auth token).
//!
//! With several instances on one database, a call's request may reach an instance that does
//! not hold the call: it is forwarded as it came (path, query, body, signature) to the
//! instance that does, at its `internal_url`, marked `X-FieldPay-Forwarded: 1` so it is never
//! forwarded again, and the owner's answer is given as is; when the owner is lost the call
//! ends (see `calls::route`). The owner checks the signature as usual: every instance has the
//! same `public_url`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use fieldpay_ivr::Lang;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroize;

use crate::calls::{self, Input, Turn};
use crate::markup::escape;
use crate::state::AppState;

pub const VOICE_PATH: &str = "/telephony/twiml/voice";

/// The header that marks a request forwarded by another instance (never forwarded again).
pub const FORWARDED_HEADER: &str = "x-fieldpay-forwarded";

/// How long a forward may take to connect to the owner: past it the owner is taken for lost.
const FORWARD_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long the owner may take to answer a forwarded request (a turn may include a card
/// approval; carriers wait about 15 s for an answer).
const FORWARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(voice))
}

/// The form fields of a voice webhook request (Twilio's names; other fields are ignored).
// Documentation only: the handler reads the form as name-value pairs.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "PascalCase")]
#[allow(dead_code)]
struct VoiceWebhookForm {
    /// The carrier's id of the call.
    call_sid: String,
    /// The caller ID (E.164), or a withheld form such as `anonymous`.
    from: Option<String>,
    /// The dialled (virtual) number, E.164.
    to: Option<String>,
    /// `in-progress` (the default), or how the call ended: `completed`, `busy`, `failed`,
    /// `no-answer`, `canceled`.
    call_status: Option<String>,
    /// The keys a `<Gather>` collected.
    digits: Option<String>,
}

/// The `X-Twilio-Signature` of a request: base64(HMAC-SHA1(token, url + k1 + v1 + k2 + v2...))
/// with parameters sorted by name.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

fn signature_ok(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    let expected = signature(auth_token, url, params);
    subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into()
}

fn language(lang: Lang) -> &'static str {
    match lang {
        Lang::Ko => "ko-KR",
        Lang::En => "en-US",
    }
}

/// TwiML for a turn: prompts, then a `<Gather>` whose action posts the keys back, followed by
/// a `<Redirect>` that tells us the gather timed out; or `<Hangup/>`.
pub fn render(turn: &Turn, action_url: &str) -> String {
    let lang = language(turn.lang);
    let say = |t: &str| format!("<Say language=\"{lang}\">{}</Say>", escape(t));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    match &turn.gather {
        Some(g) if !turn.hangup => {
            let finish = g.finish_on_key.map(|c| c.to_string()).unwrap_or_default();
            xml.push_str(&format!(
                "<Gather input=\"dtmf\" numDigits=\"{}\" finishOnKey=\"{}\" timeout=\"{}\" action=\"{}\" method=\"POST\" actionOnEmptyResult=\"false\">",
                g.max_digits,
                escape(&finish),
                g.timeout_secs,
                escape(action_url)
            ));
            for t in &turn.say {
                xml.push_str(&say(t));
            }
            xml.push_str("</Gather>");
            xml.push_str(&format!(
                "<Redirect method=\"POST\">{}</Redirect>",
                escape(&format!("{action_url}?event=timeout"))
            ));
        }
        _ => {
            for t in &turn.say {
                xml.push_str(&say(t));
            }
            xml.push_str("<Hangup/>");
        }
    }
    xml.push_str("</Response>");
    xml
}

fn twiml(body: String) -> Response {
    ([("content-type", "text/xml; charset=utf-8")], body).into_response()
}

/// The form fields of a carrier request. `Digits` holds what the caller keyed (card
/// digits): every field is wiped when the form is dropped, and `Debug` shows names only.
struct Form(Vec<(String, String)>);

/// A request body that may hold keyed card digits: wiped when dropped (when this request
/// holds the only copy of its bytes; a forward's copy is dropped first).
struct Body(Bytes);

impl Drop for Body {
    fn drop(&mut self) {
        if let Ok(mut bytes) = std::mem::take(&mut self.0).try_into_mut() {
            bytes.as_mut().zeroize();
        }
    }
}

impl Form {
    /// Parses the body and wipes it (when this request holds the only copy of its bytes).
    #[cfg(test)]
    fn parse(body: Bytes) -> Option<Form> {
        Form::read(&Body(body))
    }

    fn read(body: &Body) -> Option<Form> {
        serde_urlencoded::from_bytes(&body.0).ok().map(Form)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn wipe(&mut self) {
        for (k, v) in &mut self.0 {
            k.zeroize();
            v.zeroize();
        }
    }
}

impl Drop for Form {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// Voice webhook (Twilio dialect)
///
/// For Twilio, SignalWire and Telnyx TeXML: the carrier posts the call's events and the keys
/// pressed; the answer is TwiML (`<Say>`, `<Gather>`, `<Redirect>`, `<Hangup/>`). Requests
/// must be signed (`X-Twilio-Signature`, HMAC-SHA1 with the account's auth token over the
/// public URL and the sorted form fields).
#[utoipa::path(
    post,
    path = "/telephony/twiml/voice",
    operation_id = "twiml_voice_webhook",
    tag = "telephony",
    params(
        ("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 of the URL and the sorted form fields"),
        ("event" = Option<String>, Query, description = "`timeout`: the `<Redirect>` after a `<Gather>` got no keys"),
    ),
    request_body(content = VoiceWebhookForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "What the call does next", body = String, content_type = "text/xml"),
        (status = 400, description = "Not a form, or no CallSid", body = String, content_type = "text/plain"),
        (status = 403, description = "The signature is missing or wrong", body = String, content_type = "text/plain"),
    )
)]
async fn voice(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = Body(body);
    let Some(form) = Form::read(&body) else {
        return (StatusCode::BAD_REQUEST, "form body expected").into_response();
    };
    let base = state.settings.public_url.trim_end_matches('/');
    let path_q = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(VOICE_PATH);
    let url = format!("{base}{path_q}");
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !signature_ok(
        state.settings.twilio_auth_token.expose(),
        &url,
        &form.0,
        given,
    ) {
        tracing::warn!("telephony webhook with a bad signature refused");
        return (StatusCode::FORBIDDEN, "bad X-Twilio-Signature").into_response();
    }
    let Some(call_sid) = form.get("CallSid").filter(|s| !s.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "CallSid missing").into_response();
    };
    let action_url = format!("{base}{VOICE_PATH}");
    let forwarded = headers.contains_key(FORWARDED_HEADER);
    match calls::route(&state, call_sid, forwarded).await {
        calls::Route::Here => {}
        calls::Route::Owner { url, call } => {
            return match forward(&url, path_q, &headers, &body).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(call_id = %call_sid, owner_url = %url, error = %e, "cannot reach the instance holding the call");
                    twiml(render(&calls::end_lost(&state, *call).await, &action_url))
                }
            };
        }
        calls::Route::Lost(call) => {
            return twiml(render(&calls::end_lost(&state, *call).await, &action_url));
        }
    }
    let status = form.get("CallStatus").unwrap_or("in-progress");
    let ended = matches!(
        status,
        "completed" | "busy" | "failed" | "no-answer" | "canceled"
    );
    let timeout = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "event=timeout"));
    let digits = form.get("Digits");
    let turn = if ended {
        calls::input(&state, call_sid, Input::HangUp).await
    } else if let Some(d) = digits {
        calls::input(&state, call_sid, Input::Digits(d.to_string())).await
    } else if timeout {
        calls::input(&state, call_sid, Input::Timeout).await
    } else {
        let from = form.get("From").unwrap_or("");
        let to = form.get("To").unwrap_or("");
        Some(calls::start(&state, "twiml", call_sid, to, from, Lang::Ko).await)
    };
    match turn {
        Some(t) => twiml(render(&t, &action_url)),
        None => {
            twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>".into())
        }
    }
}

/// The client that forwards requests to other instances: no pooled connections (an instance
/// that stopped is found out at the next connect, never through a connection kept open), no
/// redirects.
fn forwarder() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(FORWARD_CONNECT_TIMEOUT)
            .timeout(FORWARD_TIMEOUT)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client")
    })
}

/// Forwards a carrier request as it came (path and query, body, signature) to the instance
/// at `owner_url`, and gives its answer as is. An error: the owner could not be reached or
/// did not answer in time.
async fn forward(
    owner_url: &str,
    path_q: &str,
    headers: &HeaderMap,
    body: &Body,
) -> Result<Response, reqwest::Error> {
    let url = format!("{}{path_q}", owner_url.trim_end_matches('/'));
    let mut request = forwarder()
        .post(url)
        .header(FORWARDED_HEADER, "1")
        .body(body.0.clone());
    for name in ["x-twilio-signature", "content-type"] {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v.clone());
        }
    }
    let answer = request.send().await?;
    let status = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let bytes = answer.bytes().await?;
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert("content-type", ct);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_documented_signature() {
        // The example from Twilio's security documentation.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
        );
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(signature_ok(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
            &sig
        ));
        assert!(!signature_ok(
            "12345",
            "https://mycompany.com/myapp.php",
            &params,
            &sig
        ));
    }

    #[test]
    fn the_form_hides_and_wipes_the_keys() {
        let body = Bytes::from_static(b"CallSid=CA1&Digits=9401000000000014%23");
        let mut form = Form::parse(body).unwrap();
        assert_eq!(form.get("Digits"), Some("9401000000000014#"));
        let printed = format!("{form:?}");
        assert!(!printed.contains("9401"), "{printed}");
        form.wipe();
        assert!(form.0.iter().all(|(k, v)| k.is_empty() && v.is_empty()));
    }

    #[test]
    fn renders_gather_and_hangup() {
        let t = Turn {
            lang: Lang::Ko,
            say: vec!["결제 <금액>".into()],
            gather: Some(calls::GatherSpec {
                max_digits: 19,
                finish_on_key: Some('#'),
                timeout_secs: 7,
            }),
            hangup: false,
            step: fieldpay_ivr::Step::CardNumber,
            outcome: None,
        };
        let x = render(&t, "http://h/telephony/twiml/voice");
        assert!(
            x.contains("<Gather input=\"dtmf\" numDigits=\"19\" finishOnKey=\"#\" timeout=\"7\"")
        );
        assert!(x.contains("<Say language=\"ko-KR\">결제 &lt;금액&gt;</Say>"));
        assert!(x.contains(
            "<Redirect method=\"POST\">http://h/telephony/twiml/voice?event=timeout</Redirect>"
        ));
        let h = Turn {
            gather: None,
            hangup: true,
            ..t
        };
        assert!(render(&h, "x").ends_with("<Hangup/></Response>"));
    }
}
