//! The chrome every web page shares: the HTML frame with `<main id="page" data-page=..>`, the
//! one stylesheet and the live-status script (served from this server, so the CSP allows no
//! inline script or style), inline SVG icons (never emoji: they show as empty boxes where no
//! colour emoji font is installed), the language choice (Korean by default, English by
//! `?lang=en` or the browser's `Accept-Language`) and the response headers (strict CSP,
//! `no-store` for private pages).
//!
//! Text goes through [`escape`] (re-exported here) before it is put in a page.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub use crate::markup::escape;

/// The stylesheet, at [`STYLE_PATH`].
pub const STYLE: &str = concat!(include_str!("style.css"), include_str!("slip.css"));
/// The live-status script, at [`SCRIPT_PATH`].
pub const SCRIPT: &str = include_str!("status.js");
/// Where the stylesheet is served (the file's content hash in the name would be nicer; the
/// short max-age keeps a changed file from lingering).
pub const STYLE_PATH: &str = "/web/style.css";
pub const SCRIPT_PATH: &str = "/web/status.js";

/// The Content-Security-Policy of every page: nothing but this server's own stylesheet and
/// script, inline SVG images, fetches/event streams to this server, forms posting here; no
/// framing, no `<base>`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    /// `?lang=` wins (`en` or `ko`); else the first of `ko`/`en` in `Accept-Language` by its
    /// weight; else Korean.
    pub fn pick(query_lang: Option<&str>, accept_language: Option<&str>) -> Lang {
        match query_lang.map(|s| s.trim().to_ascii_lowercase()) {
            Some(l) if l.starts_with("en") => return Lang::En,
            Some(l) if l.starts_with("ko") => return Lang::Ko,
            _ => {}
        }
        let Some(accept) = accept_language else {
            return Lang::Ko;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_string))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "ko" || tag.starts_with("ko-") {
                Lang::Ko
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Ko)
    }

    /// [`Lang::pick`] from a request's `lang` query parameter and headers.
    pub fn from_request(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Lang::pick(query_lang, accept)
    }

    /// The `lang` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// The Korean or the English text.
    pub fn t<'a>(self, ko: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ko => Lang::En,
            Lang::En => Lang::Ko,
        }
    }
}

/// The inline SVG icons (24x24, stroked with the text colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Phone,
    Check,
    Cross,
    Clock,
    Shield,
    Card,
    Message,
    Alert,
    Receipt,
    Send,
    Globe,
    Printer,
}

impl Icon {
    fn paths(self) -> &'static str {
        match self {
            Icon::Phone => "<path d=\"M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1 1 .4 1.9.7 2.8a2 2 0 0 1-.5 2.1L8 9.9a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.8.7a2 2 0 0 1 1.7 2z\"/>",
            Icon::Check => "<circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"m7.5 12.5 3 3 6-6.5\"/>",
            Icon::Cross => "<circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"m15 9-6 6M9 9l6 6\"/>",
            Icon::Clock => "<circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M12 6v6l4 2\"/>",
            Icon::Shield => "<path d=\"M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z\"/><path d=\"m9 12 2 2 4-4\"/>",
            Icon::Card => "<rect x=\"2\" y=\"5\" width=\"20\" height=\"14\" rx=\"2\"/><path d=\"M2 10h20M6 15h4\"/>",
            Icon::Message => "<path d=\"M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z\"/>",
            Icon::Alert => "<path d=\"M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z\"/><path d=\"M12 9v4M12 17h.01\"/>",
            Icon::Receipt => "<path d=\"M4 2v20l3-2 3 2 2-2 2 2 3-2 3 2V2l-3 2-3-2-2 2-2-2-3 2z\"/><path d=\"M8 8h8M8 12h8M8 16h5\"/>",
            Icon::Send => "<path d=\"m22 2-7 20-4-9-9-4z\"/><path d=\"M22 2 11 13\"/>",
            Icon::Globe => "<circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M2 12h20M12 2a15 15 0 0 1 0 20 15 15 0 0 1 0-20z\"/>",
            Icon::Printer => "<path d=\"M6 9V2h12v7M6 18H4a2 2 0 0 1-2-2v-5a2 2 0 0 1 2-2h16a2 2 0 0 1 2 2v5a2 2 0 0 1-2 2h-2\"/><rect x=\"6\" y=\"14\" width=\"12\" height=\"8\"/>",
        }
    }

    /// The icon as inline SVG, hidden from screen readers (the text next to it says it).
    pub fn svg(self) -> String {
        format!(
            "<svg class=\"icon\" viewBox=\"0 0 24 24\" width=\"24\" height=\"24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\" focusable=\"false\">{}</svg>",
            self.paths()
        )
    }
}

/// The `data-page` names of the DOM contract (docs in /work/briefs; tests rely on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Pay,
    Registered,
    Result,
    Agent,
    Error,
    Receipt,
    Home,
}

impl PageKind {
    pub fn name(self) -> &'static str {
        match self {
            PageKind::Pay => "pay",
            PageKind::Registered => "registered",
            PageKind::Result => "result",
            PageKind::Agent => "agent",
            PageKind::Error => "error",
            PageKind::Receipt => "receipt",
            PageKind::Home => "home",
        }
    }
}

/// One page to render.
pub struct Page {
    pub lang: Lang,
    pub kind: PageKind,
    /// The `<title>` (plain text: escaped here).
    pub title: String,
    /// The content of `<main>` (HTML, its text already escaped).
    pub body: String,
    /// Load the live-status script.
    pub script: bool,
    /// The address of this page in the other language (the language link), when it has one.
    pub other_lang_href: Option<String>,
    /// The merchant's name shown in the header bar (plain text).
    pub merchant: Option<String>,
    /// Private (a status page, a receipt): `Cache-Control: no-store` and no referrer.
    pub private: bool,
    pub status: StatusCode,
}

impl Page {
    pub fn new(lang: Lang, kind: PageKind, title: impl Into<String>, body: String) -> Page {
        Page {
            lang,
            kind,
            title: title.into(),
            body,
            script: false,
            other_lang_href: None,
            merchant: None,
            private: true,
            status: StatusCode::OK,
        }
    }

    pub fn html(&self) -> String {
        let lang = self.lang;
        let switch = match &self.other_lang_href {
            Some(href) => format!(
                "<a class=\"lang\" href=\"{}\" hreflang=\"{}\">{}{}</a>",
                escape(href),
                lang.other().code(),
                Icon::Globe.svg(),
                lang.t("English", "한국어"),
            ),
            None => String::new(),
        };
        let merchant = match &self.merchant {
            Some(m) => format!("<span class=\"who\">{}</span>", escape(m)),
            None => String::new(),
        };
        let script = if self.script {
            format!("<script src=\"{SCRIPT_PATH}\" defer></script>")
        } else {
            String::new()
        };
        format!(
            "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <meta name=\"referrer\" content=\"no-referrer\">\
             <title>{title}</title><link rel=\"stylesheet\" href=\"{STYLE_PATH}\">{script}</head>\
             <body><header class=\"bar\"><span class=\"brand\">FieldPay</span>{merchant}{switch}</header>\
             <main id=\"page\" data-page=\"{kind}\">{body}</main>\
             <footer class=\"foot\">{foot}</footer></body></html>",
            code = lang.code(),
            title = escape(&self.title),
            kind = self.kind.name(),
            body = self.body,
            foot = lang.t(
                "FieldPay ARS 전화결제 · 카드 정보는 웹 페이지에서 받지 않습니다.",
                "FieldPay phone payments · No web page ever asks for card data."
            ),
        )
    }
}

/// The headers every page is sent with; `private` adds `no-store` and `no-referrer`.
pub fn headers(private: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
    ];
    if private {
        h.push((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        h.push((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    } else {
        h.push((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")));
    }
    h
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.html()).into_response();
        for (name, value) in headers(self.private) {
            res.headers_mut().insert(name, value);
        }
        res
    }
}

/// A static asset (the stylesheet, the script) with a short cache.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_is_korean_unless_english_is_asked_for() {
        assert_eq!(Lang::pick(None, None), Lang::Ko);
        assert_eq!(Lang::pick(Some("en"), Some("ko-KR")), Lang::En);
        assert_eq!(Lang::pick(Some("ko"), Some("en-US")), Lang::Ko);
        assert_eq!(Lang::pick(Some("fr"), Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::pick(None, Some("en-US,en;q=0.9,ko;q=0.8")), Lang::En);
        assert_eq!(Lang::pick(None, Some("ko;q=0.9,en;q=0.5")), Lang::Ko);
        assert_eq!(Lang::pick(None, Some("en;q=0.5,ko")), Lang::Ko);
        assert_eq!(Lang::pick(None, Some("fr-FR,de")), Lang::Ko);
        assert_eq!(Lang::pick(None, Some("en;q=0")), Lang::Ko);
    }

    #[test]
    fn page_has_the_contract_frame_and_escapes_its_title() {
        let mut p = Page::new(Lang::En, PageKind::Error, "<x>", "<p>b</p>".into());
        p.merchant = Some("A&B".into());
        let html = p.html();
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<main id=\"page\" data-page=\"error\"><p>b</p></main>"));
        assert!(html.contains("<title>&lt;x&gt;</title>"));
        assert!(html.contains("A&amp;B"));
        assert!(!html.contains("<script"), "no script unless asked for");
        assert!(!html.contains("style="), "no inline style (CSP)");
    }

    #[test]
    fn pages_send_the_strict_policy_and_private_ones_are_not_stored() {
        let res = Page::new(Lang::Ko, PageKind::Pay, "t", String::new()).into_response();
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{part} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn icons_are_svg() {
        for i in [Icon::Phone, Icon::Check, Icon::Cross, Icon::Receipt] {
            let s = i.svg();
            assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        }
    }
}
