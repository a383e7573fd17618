//! The app's own icons: inline SVG line drawings on a 24×24 grid, drawn in the text colour.
//! No emoji or rare symbol glyphs anywhere in the UI: where no colour-emoji font (or a font
//! with the symbol) is installed they render as empty boxes.

use leptos::prelude::*;

/// Every icon the app shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Home,
    Clients,
    Pencil,
    Won,
    Report,
    Warning,
    Gear,
    Star,
    More,
    Search,
    Upload,
    Download,
    Document,
    Retry,
    Close,
    Minus,
    Plus,
    Sign,
    Block,
    Phone,
    Check,
    Receipt,
    Mail,
    Exchange,
    Bolt,
    Undo,
    Erase,
    Print,
    Mobile,
    Back,
    Pin,
}

impl Icon {
    /// Every icon, for tests and a gallery.
    pub const ALL: [Icon; 31] = [
        Icon::Home,
        Icon::Clients,
        Icon::Pencil,
        Icon::Won,
        Icon::Report,
        Icon::Warning,
        Icon::Gear,
        Icon::Star,
        Icon::More,
        Icon::Search,
        Icon::Upload,
        Icon::Download,
        Icon::Document,
        Icon::Retry,
        Icon::Close,
        Icon::Minus,
        Icon::Plus,
        Icon::Sign,
        Icon::Block,
        Icon::Phone,
        Icon::Check,
        Icon::Receipt,
        Icon::Mail,
        Icon::Exchange,
        Icon::Bolt,
        Icon::Undo,
        Icon::Erase,
        Icon::Print,
        Icon::Mobile,
        Icon::Back,
        Icon::Pin,
    ];

    /// The strokes (SVG path data) of the drawing.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            Icon::Home => &["M3 11 12 4l9 7", "M5 10v10h14V10", "M10 20v-6h4v6"],
            Icon::Clients => &[
                "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
                "M4 20c0-4 4-6 8-6s8 2 8 6",
            ],
            Icon::Pencil => &["M4 20h4L19 9l-4-4L4 16z", "M13 7l4 4"],
            Icon::Won => &["M3 6l4 12 5-11 5 11 4-12", "M2 10h20", "M2 14h20"],
            Icon::Report => &["M6 3h9l4 4v14H6z", "M9 12h7", "M9 16h7", "M9 8h3"],
            Icon::Warning => &["M12 3 2 20h20z", "M12 10v4", "M12 17v.5"],
            Icon::Gear => &[
                "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
                "M12 2v3M12 19v3M2 12h3M19 12h3",
                "M4.9 4.9 7 7M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1",
            ],
            Icon::Star => &["M12 3l2.8 5.7 6.2.9-4.5 4.4 1 6.2L12 17.3l-5.5 2.9 1-6.2L3 9.6l6.2-.9z"],
            Icon::More => &["M5 12h.01M12 12h.01M19 12h.01"],
            Icon::Search => &["M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z", "M16 16l5 5"],
            Icon::Upload => &["M12 19V5", "M6 11l6-6 6 6"],
            Icon::Download => &["M12 4v12", "M6 10l6 6 6-6", "M4 20h16"],
            Icon::Document => &["M6 3h9l4 4v14H6z", "M15 3v4h4", "M9 13h6", "M9 17h6"],
            Icon::Retry => &["M20 12a8 8 0 1 1-2.3-5.7", "M20 4v5h-5"],
            Icon::Close => &["M6 6l12 12", "M18 6 6 18"],
            Icon::Minus => &["M5 12h14"],
            Icon::Plus => &["M12 5v14", "M5 12h14"],
            Icon::Sign => &["M4 20l2-6L16 4l4 4-10 10z", "M14 6l4 4", "M13 21h8"],
            Icon::Block => &["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M7 12h10"],
            Icon::Phone => &[
                "M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z",
            ],
            Icon::Check => &["M5 12l5 5 9-10"],
            Icon::Receipt => &["M6 3h12v18l-3-2-3 2-3-2-3 2z", "M9 8h6", "M9 12h6"],
            Icon::Mail => &["M3 6h18v12H3z", "M3 7l9 6 9-6"],
            Icon::Exchange => &["M4 8h14", "M14 4l4 4-4 4", "M20 16H6", "M10 12l-4 4 4 4"],
            Icon::Bolt => &["M13 2 4 14h7l-1 8 9-12h-7z"],
            Icon::Undo => &["M9 14 4 9l5-5", "M4 9h10a6 6 0 0 1 0 12h-3"],
            Icon::Erase => &["M21 5H9l-6 7 6 7h12z", "M12 9l6 6", "M18 9l-6 6"],
            Icon::Print => &["M6 9V3h12v6", "M6 18H4v-8h16v8h-2", "M6 14h12v7H6z"],
            Icon::Mobile => &["M7 2h10v20H7z", "M11 18h2"],
            Icon::Back => &["M15 5l-7 7 7 7"],
            Icon::Pin => &[
                "M12 21s-7-6.5-7-12a7 7 0 0 1 14 0c0 5.5-7 12-7 12z",
                "M12 11.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z",
            ],
        }
    }
}

/// An icon, sized by the surrounding font (1.2em) and hidden from screen readers (the button
/// or label next to it says what it is).
#[component]
pub fn Svg(icon: Icon) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="1.2em" height="1.2em" fill="none"
             stroke="currentColor" stroke-width="2" stroke-linecap="round"
             stroke-linejoin="round" aria-hidden="true" focusable="false">
            {icon.paths().iter().map(|d| view! { <path d=*d/> }).collect_view()}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::Icon;

    #[test]
    fn every_icon_has_strokes_of_path_commands_only() {
        for icon in Icon::ALL {
            assert!(!icon.paths().is_empty(), "{icon:?}");
            for d in icon.paths() {
                assert!(
                    d.starts_with('M')
                        && d.chars()
                            .all(|c| c.is_ascii_digit() || " .-MmLlHhVvZzAaCcSs".contains(c)),
                    "{icon:?}: {d}"
                );
            }
        }
    }

    /// Symbols and pictographs that are not in every font (arrows, technical and miscellaneous
    /// symbols, dingbats, emoji, the won sign): none may be shown as text.
    fn is_pictograph(c: char) -> bool {
        matches!(c as u32, 0x2190..=0x2BFF | 0x1F000..=0x1FAFF | 0x20A9 | 0x2039)
    }

    #[test]
    fn no_symbol_glyphs_in_the_ui_source() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        let mut found = Vec::new();
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            for (n, line) in std::fs::read_to_string(&p).unwrap().lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if code.chars().any(is_pictograph) {
                    found.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "use components::icon instead:\n{}",
            found.join("\n")
        );
    }
}
