//! Page layout of the purchase order: pagination first (so "페이지 n / N" is known), then
//! drawing with printpdf. All positions are millimetres from the top-left corner of an A4
//! page; text positions are baselines.

use printpdf::{
    Color, ColorBits, ColorSpace, Image, ImageTransform, ImageXObject, IndirectFontRef, Line, Mm,
    PdfDocument, PdfLayerReference, Point, Px, Rect, Rgb, TextRenderingMode,
};

use printpdf::path::PaintMode;

use super::metrics::FontMetrics;
use super::{group_thousands, krw, PdfError, PurchaseOrderDoc, SignatureImage, FONT};

pub(super) const PAGE_W: f32 = 210.0;
pub(super) const PAGE_H: f32 = 297.0;
pub(super) const LEFT: f32 = 15.0;
pub(super) const RIGHT: f32 = 195.0;
pub(super) const CONTENT_W: f32 = RIGHT - LEFT;
/// Nothing but the footer goes below this line.
pub(super) const BODY_BOTTOM: f32 = 278.0;
pub(super) const FOOTER_RULE: f32 = 282.0;
pub(super) const FOOTER_BASELINE: f32 = 287.0;

/// Where the line table starts on the first page and on continuation pages.
const FIRST_TABLE_TOP: f32 = 95.0;
const NEXT_TABLE_TOP: f32 = 27.0;
pub(super) const TABLE_HEADER_H: f32 = 7.5;
pub(super) const ROW_H: f32 = 6.5;

const TOTALS_GAP: f32 = 4.0;
const TOTALS_ROW_H: f32 = 7.0;
const TOTALS_H: f32 = TOTALS_ROW_H * 3.0;
const MEMO_GAP: f32 = 5.0;
const MEMO_HEAD_H: f32 = 6.5;
const MEMO_LINE_H: f32 = 4.8;
const MEMO_PAD: f32 = 1.5;
const SIG_GAP: f32 = 6.0;
const SIG_H: f32 = 45.0;

pub(super) const BODY_PT: f32 = 9.0;
pub(super) const TABLE_PT: f32 = 8.5;

pub(super) const MM_PER_PT: f32 = 25.4 / 72.0;

/// Table columns: title, width (mm), alignment.
const COLUMNS: [(&str, f32, Align); 6] = [
    ("번호", 11.0, Align::Center),
    ("품목코드", 28.0, Align::Left),
    ("품명", 63.0, Align::Left),
    ("수량", 19.0, Align::Right),
    ("단가", 27.0, Align::Right),
    ("금액", 32.0, Align::Right),
];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Block {
    /// The table header (repeated on every page that has rows).
    TableHeader,
    /// Line `i` of the order.
    Row(usize),
    /// Placeholder row when the order has no lines.
    NoRows,
    Totals,
    /// Memo text line `i`; the first carries the "비고" heading.
    Memo(usize),
    Signature,
}

pub(super) struct Placed {
    pub(super) block: Block,
    pub(super) y: f32,
}

/// Which blocks go on which page, and where.
pub(super) fn paginate(n_rows: usize, n_memo_lines: usize) -> Vec<Vec<Placed>> {
    let mut pages: Vec<Vec<Placed>> = vec![Vec::new()];
    let mut y = FIRST_TABLE_TOP;
    let mut header_on_page = false;

    let new_page = |pages: &mut Vec<Vec<Placed>>, y: &mut f32, header_on_page: &mut bool| {
        pages.push(Vec::new());
        *y = NEXT_TABLE_TOP;
        *header_on_page = false;
    };

    let rows: Vec<Block> = if n_rows == 0 {
        vec![Block::NoRows]
    } else {
        (0..n_rows).map(Block::Row).collect()
    };
    for row in rows {
        let need = if header_on_page {
            ROW_H
        } else {
            TABLE_HEADER_H + ROW_H
        };
        if y + need > BODY_BOTTOM {
            new_page(&mut pages, &mut y, &mut header_on_page);
        }
        if !header_on_page {
            pages.last_mut().unwrap().push(Placed {
                block: Block::TableHeader,
                y,
            });
            y += TABLE_HEADER_H;
            header_on_page = true;
        }
        pages.last_mut().unwrap().push(Placed { block: row, y });
        y += ROW_H;
    }

    // Totals right after the table. When they do not fit, the last line moves to the next
    // page with them (under a repeated header), so the totals never stand alone there.
    y += TOTALS_GAP;
    if y + TOTALS_H > BODY_BOTTOM {
        let page = pages.last_mut().unwrap();
        let rows_on_page = page
            .iter()
            .filter(|p| matches!(p.block, Block::Row(_)))
            .count();
        let carried = if rows_on_page >= 2 { page.pop() } else { None };
        new_page(&mut pages, &mut y, &mut header_on_page);
        if let Some(last_row) = carried {
            let page = pages.last_mut().unwrap();
            page.push(Placed {
                block: Block::TableHeader,
                y,
            });
            y += TABLE_HEADER_H;
            page.push(Placed {
                block: last_row.block,
                y,
            });
            y += ROW_H + TOTALS_GAP;
        }
    }
    pages.last_mut().unwrap().push(Placed {
        block: Block::Totals,
        y,
    });
    y += TOTALS_H;

    // Memo lines may flow over a page break; the heading stays with the first line.
    if n_memo_lines > 0 {
        y += MEMO_GAP;
        for i in 0..n_memo_lines {
            let mut h = MEMO_LINE_H;
            if i == 0 {
                h += MEMO_HEAD_H;
            }
            if i + 1 == n_memo_lines {
                h += MEMO_PAD;
            }
            if y + h > BODY_BOTTOM {
                new_page(&mut pages, &mut y, &mut header_on_page);
            }
            pages.last_mut().unwrap().push(Placed {
                block: Block::Memo(i),
                y,
            });
            y += h;
        }
    }

    y += SIG_GAP;
    if y + SIG_H > BODY_BOTTOM {
        new_page(&mut pages, &mut y, &mut header_on_page);
    }
    pages.last_mut().unwrap().push(Placed {
        block: Block::Signature,
        y,
    });
    pages
}

/// Replaces what the font cannot show: control characters become spaces, characters
/// without a glyph become '?'.
fn sanitize(m: &FontMetrics<'_>, text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if c == ' ' || m.glyph(c).is_some() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Greedy line breaking at spaces (or anywhere inside a word longer than the line);
/// explicit newlines are kept.
fn wrap(m: &FontMetrics<'_>, text: &str, size: f32, width_mm: f32) -> Vec<String> {
    let fits = |s: &str| m.width_pt(s, size) * MM_PER_PT <= width_mm;
    let mut lines = Vec::new();
    for paragraph in text.replace("\r\n", "\n").split('\n') {
        let paragraph = sanitize(m, paragraph);
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // the word alone, split by characters when it is too long for a line
            for ch in word.chars() {
                line.push(ch);
                if !fits(&line) && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(ch);
                }
            }
        }
        lines.push(line.trim_end().to_string());
    }
    while lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Text with its font size reduced (down to `min_size`) and, if still too wide, shortened
/// with an ellipsis so that it fits `width_mm`.
pub(super) fn fit(
    m: &FontMetrics<'_>,
    text: &str,
    size: f32,
    min_size: f32,
    width_mm: f32,
) -> (String, f32) {
    let text = sanitize(m, text);
    let width = |s: &str, sz: f32| m.width_pt(s, sz) * MM_PER_PT;
    let mut sz = size;
    while sz > min_size && width(&text, sz) > width_mm {
        sz = (sz - 0.25).max(min_size);
    }
    if width(&text, sz) <= width_mm {
        return (text, sz);
    }
    let ellipsis = if m.glyph('…').is_some() {
        "…"
    } else {
        "..."
    };
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>().trim_end().to_string() + ellipsis;
        if width(&candidate, sz) <= width_mm {
            return (candidate, sz);
        }
    }
    (String::new(), sz)
}

pub(super) fn gray(level: f32) -> Color {
    Color::Rgb(Rgb::new(level, level, level, None))
}

pub(super) fn ink() -> Color {
    Color::Rgb(Rgb::new(0.08, 0.09, 0.12, None))
}

pub(super) fn accent() -> Color {
    Color::Rgb(Rgb::new(0.11, 0.17, 0.31, None))
}

/// How a piece of text is set.
#[derive(Clone)]
pub(super) struct Style {
    /// Font size in points.
    size: f32,
    align: Align,
    /// Simulated bold (glyph outlines stroked as well as filled).
    bold: bool,
    color: Color,
}

impl Style {
    /// Left-aligned, regular, ink-coloured text of `size` points.
    pub(super) fn new(size: f32) -> Self {
        Self {
            size,
            align: Align::Left,
            bold: false,
            color: ink(),
        }
    }
    pub(super) fn right(self) -> Self {
        self.with_align(Align::Right)
    }
    pub(super) fn center(self) -> Self {
        self.with_align(Align::Center)
    }
    pub(super) fn with_align(self, align: Align) -> Self {
        Self { align, ..self }
    }
    pub(super) fn bold(self) -> Self {
        self.with_bold(true)
    }
    fn with_bold(self, bold: bool) -> Self {
        Self { bold, ..self }
    }
    pub(super) fn color(self, color: Color) -> Self {
        Self { color, ..self }
    }
}

/// Drawing helpers over one page layer.
pub(super) struct Pen<'a> {
    pub(super) layer: PdfLayerReference,
    pub(super) font: &'a IndirectFontRef,
    pub(super) m: &'a FontMetrics<'a>,
}

impl Pen<'_> {
    pub(super) fn width_mm(&self, text: &str, size: f32) -> f32 {
        self.m.width_pt(text, size) * MM_PER_PT
    }

    /// Text at baseline `y`; `x` is the left edge, the centre or the right edge by `align`.
    /// Bold is simulated by also stroking the glyph outlines.
    pub(super) fn text(&self, text: &str, x: f32, y: f32, style: &Style) {
        let Style {
            size,
            align,
            bold,
            ref color,
        } = *style;
        let text = sanitize(self.m, text);
        if text.trim().is_empty() {
            return;
        }
        let w = self.width_mm(&text, size);
        let x = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        };
        self.layer.set_fill_color(color.clone());
        if bold {
            self.layer.set_outline_color(color.clone());
            self.layer.set_outline_thickness(size * 0.035);
            self.layer
                .set_text_rendering_mode(TextRenderingMode::FillStroke);
        }
        // Glyph ids straight from our own cmap lookup: printpdf's `use_text` clones the whole
        // 4.7 MB font for every call. Subsetting still sees these ids in the `Tj` operands.
        self.layer.begin_text_section();
        self.layer.set_font(self.font, size);
        self.layer.set_text_cursor(Mm(x), Mm(PAGE_H - y));
        self.layer
            .write_codepoints(text.chars().filter_map(|c| self.m.glyph(c)));
        self.layer.end_text_section();
        if bold {
            self.layer.set_text_rendering_mode(TextRenderingMode::Fill);
        }
    }

    /// Text fitted into a cell `[x, x + w]` with 1.5 mm padding on each side.
    pub(super) fn cell_text(&self, text: &str, x: f32, w: f32, y: f32, style: &Style) {
        let pad = 1.5;
        let (text, size) = fit(self.m, text, style.size, style.size * 0.75, w - 2.0 * pad);
        let ax = match style.align {
            Align::Left => x + pad,
            Align::Center => x + w / 2.0,
            Align::Right => x + w - pad,
        };
        self.text(
            &text,
            ax,
            y,
            &Style {
                size,
                color: style.color.clone(),
                ..*style
            },
        );
    }

    pub(super) fn fill_rect(&self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        self.layer.set_fill_color(color);
        self.layer.add_rect(
            Rect::new(Mm(x), Mm(PAGE_H - y - h), Mm(x + w), Mm(PAGE_H - y))
                .with_mode(PaintMode::Fill),
        );
    }

    pub(super) fn stroke_rect(&self, x: f32, y: f32, w: f32, h: f32, thickness: f32, color: Color) {
        self.layer.set_outline_color(color);
        self.layer.set_outline_thickness(thickness);
        self.layer.add_rect(
            Rect::new(Mm(x), Mm(PAGE_H - y - h), Mm(x + w), Mm(PAGE_H - y))
                .with_mode(PaintMode::Stroke),
        );
    }

    pub(super) fn line(&self, x1: f32, y1: f32, x2: f32, y2: f32, thickness: f32, color: Color) {
        self.layer.set_outline_color(color);
        self.layer.set_outline_thickness(thickness);
        self.layer.add_line(Line {
            points: vec![
                (Point::new(Mm(x1), Mm(PAGE_H - y1)), false),
                (Point::new(Mm(x2), Mm(PAGE_H - y2)), false),
            ],
            is_closed: false,
        });
    }
}

/// Lays out and draws the whole document; returns printpdf's (not yet finalized) bytes.
pub(super) fn draw(
    doc: &PurchaseOrderDoc,
    m: &FontMetrics<'_>,
    signature: Option<&SignatureImage>,
) -> Result<Vec<u8>, PdfError> {
    let memo_lines = if doc.memo.trim().is_empty() {
        Vec::new()
    } else {
        wrap(m, doc.memo.trim(), BODY_PT, CONTENT_W - 6.0)
    };
    let pages = paginate(doc.lines.len(), memo_lines.len());
    let page_count = pages.len();

    a4_document(&doc.title, m, page_count, |pen, index| {
        let placed = &pages[index];
        if index == 0 {
            draw_first_header(pen, doc);
        } else {
            draw_next_header(pen, doc);
        }
        draw_table_frame(pen, placed);
        for (i, p) in placed.iter().enumerate() {
            match p.block {
                Block::TableHeader => draw_table_header(pen, p.y),
                Block::Row(r) => draw_row(pen, doc, r, p.y),
                Block::NoRows => pen.text(
                    "(품목 없음)",
                    LEFT + CONTENT_W / 2.0,
                    p.y + 4.4,
                    &Style::new(TABLE_PT).center().color(gray(0.45)),
                ),
                Block::Totals => draw_totals(pen, doc, p.y),
                Block::Memo(line) => {
                    let last_on_page =
                        !matches!(placed.get(i + 1).map(|n| n.block), Some(Block::Memo(_)));
                    draw_memo_line(pen, &memo_lines, line, p.y, last_on_page, placed);
                }
                Block::Signature => draw_signature(pen, doc, signature, p.y),
            }
        }
        draw_footer(pen, doc, index + 1, page_count);
    })
}

/// An A4 portrait document of `pages` pages in the embedded font: `draw_page(pen, index)`
/// draws page `index`. Returns printpdf's (not yet finalized) bytes.
pub(super) fn a4_document(
    title: &str,
    m: &FontMetrics<'_>,
    pages: usize,
    mut draw_page: impl FnMut(&Pen<'_>, usize),
) -> Result<Vec<u8>, PdfError> {
    let (pdf, first_page, first_layer) = PdfDocument::new(title, Mm(PAGE_W), Mm(PAGE_H), "page");
    let font = pdf
        .add_external_font_with_subsetting(FONT, true)
        .map_err(|e| PdfError::Font(format!("{e:?}")))?;
    for index in 0..pages.max(1) {
        let layer = if index == 0 {
            pdf.get_page(first_page).get_layer(first_layer)
        } else {
            let (page, layer) = pdf.add_page(Mm(PAGE_W), Mm(PAGE_H), "page");
            pdf.get_page(page).get_layer(layer)
        };
        let pen = Pen {
            layer,
            font: &font,
            m,
        };
        draw_page(&pen, index);
    }
    pdf.save_to_bytes()
        .map_err(|e| PdfError::Render(format!("{e:?}")))
}

/// The labels of the number, the date and the total: a purchase order's or a return's.
fn labels(doc: &PurchaseOrderDoc) -> (&'static str, &'static str, &'static str) {
    if doc.kind.is_return() {
        ("반품번호", "반품일자", "반품 합계")
    } else {
        ("발주번호", "발주일자", "합계")
    }
}

fn draw_first_header(pen: &Pen<'_>, doc: &PurchaseOrderDoc) {
    // Title with a double rule under it.
    let title = if doc.title.trim().is_empty() {
        "발주서"
    } else {
        doc.title.as_str()
    };
    let (title, size) = fit(pen.m, title, 22.0, 14.0, CONTENT_W);
    let center = LEFT + CONTENT_W / 2.0;
    pen.text(
        &title,
        center,
        24.0,
        &Style::new(size).center().bold().color(accent()),
    );
    let half = pen.width_mm(&title, size) / 2.0 + 8.0;
    pen.line(center - half, 27.5, center + half, 27.5, 0.8, accent());
    pen.line(center - half, 28.4, center + half, 28.4, 0.3, accent());

    // Order number and date.
    let (number, size) = fit(
        pen.m,
        &format!("{}: {}", labels(doc).0, doc.order_number),
        BODY_PT + 0.5,
        7.0,
        CONTENT_W / 2.0 - 2.0,
    );
    pen.text(&number, LEFT, 37.0, &Style::new(size));
    let (date, size) = fit(
        pen.m,
        &format!("{}: {}", labels(doc).1, doc.date),
        BODY_PT + 0.5,
        7.0,
        CONTENT_W / 2.0 - 2.0,
    );
    pen.text(&date, RIGHT, 37.0, &Style::new(size).right());

    // Supplier and buyer boxes.
    let gap = 4.0;
    let box_w = (CONTENT_W - gap) / 2.0;
    draw_party(pen, "공급자", &doc.merchant, LEFT, 41.0, box_w);
    draw_party(pen, "구매자", &doc.client, LEFT + box_w + gap, 41.0, box_w);

    let rep_line = match &doc.original_number {
        Some(n) => format!("담당자: {}   원 주문번호: {n}", doc.rep_name),
        None => format!("담당자: {}", doc.rep_name),
    };
    let (rep, size) = fit(pen.m, &rep_line, BODY_PT, 7.0, CONTENT_W / 2.0);
    pen.text(&rep, LEFT, 91.5, &Style::new(size));
    pen.text(
        &format!("품목 {}건", doc.lines.len()),
        RIGHT,
        91.5,
        &Style::new(BODY_PT).right().color(gray(0.3)),
    );
}

const PARTY_HEAD_H: f32 = 7.0;
const PARTY_ROW_H: f32 = 6.5;
const PARTY_ADDR_H: f32 = 10.5;
const PARTY_LABEL_W: f32 = 26.0;

fn draw_party(pen: &Pen<'_>, heading: &str, p: &super::Party, x: f32, y: f32, w: f32) {
    let rows: [(&str, &str); 4] = [
        ("상호", &p.name),
        ("사업자등록번호", &p.business_number),
        ("대표", &p.owner),
        ("전화", &p.phone),
    ];
    let h = PARTY_HEAD_H + PARTY_ROW_H * rows.len() as f32 + PARTY_ADDR_H;
    pen.fill_rect(x, y, w, PARTY_HEAD_H, gray(0.88));
    pen.fill_rect(
        x,
        y + PARTY_HEAD_H,
        PARTY_LABEL_W,
        h - PARTY_HEAD_H,
        gray(0.95),
    );
    pen.text(
        heading,
        x + w / 2.0,
        y + 4.9,
        &Style::new(10.0).center().bold().color(accent()),
    );
    let mut ry = y + PARTY_HEAD_H;
    let value_x = x + PARTY_LABEL_W;
    let value_w = w - PARTY_LABEL_W;
    for (label, value) in rows {
        pen.line(x, ry, x + w, ry, 0.3, gray(0.7));
        pen.cell_text(label, x, PARTY_LABEL_W, ry + 4.3, &Style::new(8.0));
        let value = if value.trim().is_empty() { "-" } else { value };
        pen.cell_text(
            value,
            value_x,
            value_w,
            ry + 4.4,
            &Style::new(BODY_PT).with_bold(label == "상호"),
        );
        ry += PARTY_ROW_H;
    }
    // Address: up to two lines, smaller type if needed, then shortened.
    pen.line(x, ry, x + w, ry, 0.3, gray(0.7));
    pen.cell_text("주소", x, PARTY_LABEL_W, ry + 6.3, &Style::new(8.0));
    let address = if p.address.trim().is_empty() {
        "-"
    } else {
        p.address.trim()
    };
    let inner = value_w - 3.0;
    let mut size = BODY_PT;
    let mut lines = wrap(pen.m, address, size, inner);
    while lines.len() > 2 && size > 7.0 {
        size -= 0.5;
        lines = wrap(pen.m, address, size, inner);
    }
    if lines.len() > 2 {
        let rest = lines[1..].join(" ");
        let (second, _) = fit(pen.m, &rest, size, size, inner);
        lines = vec![lines[0].clone(), second];
    }
    let baselines: &[f32] = if lines.len() == 1 {
        &[6.4]
    } else {
        &[4.3, 8.5]
    };
    for (line, dy) in lines.iter().zip(baselines) {
        pen.text(line, value_x + 1.5, ry + dy, &Style::new(size));
    }
    // Frame and label separator.
    pen.line(
        x + PARTY_LABEL_W,
        y + PARTY_HEAD_H,
        x + PARTY_LABEL_W,
        y + h,
        0.3,
        gray(0.7),
    );
    pen.stroke_rect(x, y, w, h, 0.8, accent());
}

fn draw_next_header(pen: &Pen<'_>, doc: &PurchaseOrderDoc) {
    let title = if doc.title.trim().is_empty() {
        "발주서"
    } else {
        doc.title.as_str()
    };
    let (head, size) = fit(
        pen.m,
        &format!("{title} (계속)"),
        12.0,
        9.0,
        CONTENT_W / 2.0,
    );
    pen.text(&head, LEFT, 18.0, &Style::new(size).bold().color(accent()));
    let (right, size) = fit(
        pen.m,
        &format!(
            "{}: {}   {}: {}",
            labels(doc).0,
            doc.order_number,
            labels(doc).1,
            doc.date
        ),
        BODY_PT,
        7.0,
        CONTENT_W / 2.0,
    );
    pen.text(&right, RIGHT, 18.0, &Style::new(size).right());
    pen.line(LEFT, 21.0, RIGHT, 21.0, 0.6, accent());
}

fn column_x(i: usize) -> f32 {
    LEFT + COLUMNS[..i].iter().map(|c| c.1).sum::<f32>()
}

/// Vertical grid lines and the outer frame of the table portion on this page.
fn draw_table_frame(pen: &Pen<'_>, placed: &[Placed]) {
    let mut top = None;
    let mut bottom = 0.0f32;
    for p in placed {
        match p.block {
            Block::TableHeader => {
                top.get_or_insert(p.y);
                bottom = bottom.max(p.y + TABLE_HEADER_H);
            }
            Block::Row(_) | Block::NoRows => bottom = bottom.max(p.y + ROW_H),
            _ => {}
        }
    }
    let Some(top) = top else { return };
    // The "(품목 없음)" placeholder spans all columns: no inner lines through it.
    let inner_bottom = if placed.iter().any(|p| matches!(p.block, Block::NoRows)) {
        top + TABLE_HEADER_H
    } else {
        bottom
    };
    for i in 1..COLUMNS.len() {
        let x = column_x(i);
        pen.line(x, top, x, inner_bottom, 0.3, gray(0.7));
    }
    pen.line(LEFT, top, LEFT, bottom, 0.3, gray(0.7));
    pen.line(RIGHT, top, RIGHT, bottom, 0.3, gray(0.7));
    pen.line(LEFT, top, RIGHT, top, 0.9, accent());
    pen.line(LEFT, bottom, RIGHT, bottom, 0.9, accent());
}

fn draw_table_header(pen: &Pen<'_>, y: f32) {
    pen.fill_rect(LEFT, y, CONTENT_W, TABLE_HEADER_H, gray(0.9));
    for (i, (title, w, _)) in COLUMNS.iter().enumerate() {
        let x = column_x(i);
        pen.text(
            title,
            x + w / 2.0,
            y + 5.0,
            &Style::new(TABLE_PT).center().bold(),
        );
    }
    pen.line(
        LEFT,
        y + TABLE_HEADER_H,
        RIGHT,
        y + TABLE_HEADER_H,
        0.4,
        gray(0.45),
    );
}

fn draw_row(pen: &Pen<'_>, doc: &PurchaseOrderDoc, r: usize, y: f32) {
    let line = &doc.lines[r];
    let name = match &line.reason {
        Some(reason) => format!("{} (사유: {reason})", line.name),
        None => line.name.clone(),
    };
    let cells = [
        (r + 1).to_string(),
        line.code.clone(),
        name,
        group_thousands(line.quantity),
        krw(line.unit_price),
        krw(line.line_total),
    ];
    for (i, text) in cells.iter().enumerate() {
        let (_, w, align) = COLUMNS[i];
        pen.cell_text(
            text,
            column_x(i),
            w,
            y + 4.4,
            &Style::new(TABLE_PT).with_align(align),
        );
    }
    pen.line(LEFT, y + ROW_H, RIGHT, y + ROW_H, 0.2, gray(0.8));
}

fn draw_totals(pen: &Pen<'_>, doc: &PurchaseOrderDoc, y: f32) {
    let box_w = 88.0;
    let label_w = 30.0;
    let x = RIGHT - box_w;
    let rows = [
        ("공급가액", krw(doc.supply), false),
        ("부가세(10%)", krw(doc.vat), false),
        (labels(doc).2, krw(doc.total), true),
    ];
    pen.fill_rect(x, y, label_w, TOTALS_H, gray(0.92));
    pen.fill_rect(x, y + 2.0 * TOTALS_ROW_H, box_w, TOTALS_ROW_H, gray(0.85));
    for (i, (label, value, strong)) in rows.iter().enumerate() {
        let ry = y + i as f32 * TOTALS_ROW_H;
        let size = if *strong { 10.5 } else { BODY_PT };
        pen.cell_text(
            label,
            x,
            label_w,
            ry + 4.8,
            &Style::new(BODY_PT).center().with_bold(*strong),
        );
        pen.cell_text(
            value,
            x + label_w,
            box_w - label_w,
            ry + 4.9,
            &Style::new(size).right().with_bold(*strong),
        );
        if i > 0 {
            pen.line(x, ry, RIGHT, ry, 0.3, gray(0.7));
        }
    }
    pen.line(x + label_w, y, x + label_w, y + TOTALS_H, 0.3, gray(0.7));
    pen.stroke_rect(x, y, box_w, TOTALS_H, 0.8, accent());

    // Left of the totals: a short summary.
    let quantity = doc
        .lines
        .iter()
        .fold(0i64, |sum, l| sum.saturating_add(l.quantity));
    pen.text(
        &format!(
            "품목 수 {}건 · 총 수량 {}",
            doc.lines.len(),
            group_thousands(quantity)
        ),
        LEFT,
        y + 4.8,
        &Style::new(BODY_PT).color(gray(0.3)),
    );
}

fn draw_memo_line(
    pen: &Pen<'_>,
    memo: &[String],
    i: usize,
    y: f32,
    last_on_page: bool,
    placed: &[Placed],
) {
    let mut text_y = y;
    if i == 0 {
        pen.text(
            "비고",
            LEFT + 3.0,
            y + 4.6,
            &Style::new(BODY_PT).bold().color(accent()),
        );
        text_y += MEMO_HEAD_H;
    }
    pen.text(&memo[i], LEFT + 3.0, text_y + 3.6, &Style::new(BODY_PT));
    if last_on_page {
        // Frame around this page's part of the memo.
        let first = placed
            .iter()
            .find(|p| matches!(p.block, Block::Memo(_)))
            .map_or(y, |p| p.y);
        let mut bottom = text_y + MEMO_LINE_H;
        if i + 1 == memo.len() {
            bottom += MEMO_PAD;
        }
        pen.stroke_rect(LEFT, first, CONTENT_W, bottom - first, 0.5, gray(0.55));
    }
}

fn draw_signature(
    pen: &Pen<'_>,
    doc: &PurchaseOrderDoc,
    signature: Option<&SignatureImage>,
    y: f32,
) {
    pen.text(
        "위 내용으로 발주합니다.",
        LEFT + CONTENT_W / 2.0,
        y + 5.0,
        &Style::new(10.0).center(),
    );

    let (bx, by, bw, bh) = (112.0, y + 10.0, RIGHT - 112.0, 26.0);
    pen.stroke_rect(bx, by, bw, bh, 0.5, gray(0.55));
    pen.text(
        "서명",
        bx + 1.5,
        by + 3.5,
        &Style::new(7.0).color(gray(0.55)),
    );

    // Left of the box: date and buyer.
    let label_right = bx - 6.0;
    let (date, size) = fit(pen.m, &doc.date, 10.0, 7.0, label_right - LEFT);
    pen.text(&date, label_right, by + 10.0, &Style::new(size).right());
    let (buyer, size) = fit(
        pen.m,
        &format!("구매자: {}", doc.client.name),
        10.5,
        7.0,
        label_right - LEFT,
    );
    pen.text(
        &buyer,
        label_right,
        by + 17.5,
        &Style::new(size).right().bold(),
    );

    match signature {
        Some(sig) => {
            let (aw, ah) = (bw - 6.0, bh - 6.0);
            let scale = (aw / sig.width as f32).min(ah / sig.height as f32);
            let (iw, ih) = (sig.width as f32 * scale, sig.height as f32 * scale);
            let ix = bx + (bw - iw) / 2.0;
            let iy = by + (bh - ih) / 2.0 + 1.0;
            let image = Image::from(ImageXObject {
                width: Px(sig.width as usize),
                height: Px(sig.height as usize),
                color_space: ColorSpace::Rgb,
                bits_per_component: ColorBits::Bit8,
                interpolate: true,
                image_data: sig.rgb.clone(),
                image_filter: None,
                smask: None,
                clipping_bbox: None,
            });
            image.add_to_layer(
                pen.layer.clone(),
                ImageTransform {
                    translate_x: Some(Mm(ix)),
                    translate_y: Some(Mm(PAGE_H - iy - ih)),
                    // dpi chosen so that the image is exactly iw millimetres wide
                    dpi: Some(sig.width as f32 * 25.4 / iw),
                    ..ImageTransform::default()
                },
            );
        }
        None => pen.text(
            "(서명 없음)",
            bx + bw / 2.0,
            by + bh / 2.0 + 1.5,
            &Style::new(BODY_PT).center().color(gray(0.55)),
        ),
    }

    let caption = match (doc.signer_name.trim(), doc.signed_at.trim()) {
        ("", "") => "서명: -".to_string(),
        (name, "") => format!("서명: {name}"),
        ("", at) => format!("서명: ({at})"),
        (name, at) => format!("서명: {name} ({at})"),
    };
    let (caption, size) = fit(pen.m, &caption, 8.5, 6.5, bw + 10.0);
    pen.text(
        &caption,
        bx + bw / 2.0,
        by + bh + 5.0,
        &Style::new(size).center(),
    );
}

fn draw_footer(pen: &Pen<'_>, doc: &PurchaseOrderDoc, page: usize, pages: usize) {
    pen.line(LEFT, FOOTER_RULE, RIGHT, FOOTER_RULE, 0.4, gray(0.6));
    let hash = if doc.document_hash.trim().is_empty() {
        "-"
    } else {
        doc.document_hash.trim()
    };
    let (hash_text, size) = fit(
        pen.m,
        &format!("문서 해시(SHA-256): {hash}"),
        6.5,
        5.0,
        CONTENT_W - 30.0,
    );
    pen.text(
        &hash_text,
        LEFT,
        FOOTER_BASELINE,
        &Style::new(size).color(gray(0.35)),
    );
    pen.text(
        &format!("페이지 {page} / {pages}"),
        RIGHT,
        FOOTER_BASELINE,
        &Style::new(8.0).right(),
    );
}
