//! Escaping text for HTML pages and XML (TwiML): one rule for both. `&#39;` for the apostrophe
//! is valid in HTML and in XML, unlike `&apos;` in old HTML.

/// Escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            super::escape(r#"<a href="x">'김' & co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;김&#39; &amp; co&lt;/a&gt;"
        );
    }
}
