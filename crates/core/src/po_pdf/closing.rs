//! The daily-closing report (일일 마감) as an A4 PDF: approvals, refunds and net sales by card
//! company and by rep (the server's settlement), the day's payment requests by status, and a
//! footer with page numbers. Same font and drawing helpers as the purchase order; the output
//! is reproducible (no clock: the print time is given by the caller).

use fieldpay_protocol::app::DailyClosing;
use fieldpay_protocol::settlement::{SettlementPeriod, SettlementReport, SettlementRow};
use sha2::{Digest, Sha256};

use super::layout::{
    a4_document, accent, fit, gray, Align, Pen, Style, BODY_PT, CONTENT_W, FOOTER_BASELINE,
    FOOTER_RULE, LEFT, RIGHT, ROW_H, TABLE_HEADER_H, TABLE_PT,
};
use super::metrics::FontMetrics;
use super::{group_thousands, PdfError, FONT};

/// Where the body starts on the first page (below the title block) and on later pages.
const FIRST_TOP: f32 = 52.0;
const NEXT_TOP: f32 = 20.0;
const BOTTOM: f32 = 276.0;
const SECTION_GAP: f32 = 7.0;
const SECTION_TITLE_H: f32 = 7.0;

const MONEY_COLUMNS: [(&str, f32, Align); 6] = [
    ("", 46.0, Align::Left),
    ("승인 건수", 22.0, Align::Right),
    ("승인 금액", 34.0, Align::Right),
    ("취소 건수", 22.0, Align::Right),
    ("취소 금액", 30.0, Align::Right),
    ("순매출", 26.0, Align::Right),
];
const STATUS_COLUMNS: [(&str, f32, Align); 3] = [
    ("상태", 90.0, Align::Left),
    ("건수", 40.0, Align::Right),
    ("요청 금액", 50.0, Align::Right),
];

const COLLECTION_COLUMNS: [(&str, f32, Align); 3] = [
    ("수금 방법", 90.0, Align::Left),
    ("건수", 40.0, Align::Right),
    ("수금액", 50.0, Align::Right),
];

/// One table: a title, column heads, rows of cells, an optional bold total row.
struct Table {
    title: String,
    columns: Vec<(String, f32, Align)>,
    rows: Vec<Vec<String>>,
    total: Option<Vec<String>>,
    empty: &'static str,
}

fn money_row(r: &SettlementRow, name: &str) -> Vec<String> {
    vec![
        name.to_string(),
        r.approved_count.to_string(),
        group_thousands(r.approved_amount),
        r.refunded_count.to_string(),
        group_thousands(r.refunded_amount),
        group_thousands(r.net_amount),
    ]
}

fn money_table(
    title: &str,
    first: &str,
    rows: &[SettlementRow],
    total: Option<&SettlementRow>,
) -> Table {
    let mut columns: Vec<(String, f32, Align)> = MONEY_COLUMNS
        .iter()
        .map(|(t, w, a)| (t.to_string(), *w, *a))
        .collect();
    columns[0].0 = first.to_string();
    Table {
        title: title.to_string(),
        columns,
        rows: rows
            .iter()
            .map(|r| money_row(r, if r.name.is_empty() { &r.key } else { &r.name }))
            .collect(),
        total: total.map(|t| money_row(t, "합계")),
        empty: "(승인 내역 없음)",
    }
}

fn tables(c: &DailyClosing) -> Vec<Table> {
    let s = &c.settlement;
    let mut out = vec![
        money_table(
            "카드사별 승인·취소 (단위: 원)",
            "카드사",
            &s.by_card_company,
            Some(&s.total),
        ),
        money_table("담당자별 (단위: 원)", "담당자", &s.by_rep, None),
    ];
    let count: u64 = c.by_status.iter().map(|t| t.count).sum();
    let amount: i64 = c.by_status.iter().map(|t| t.amount).sum();
    out.push(Table {
        title: "이 기기의 결제 요청 상태별 (단위: 원)".into(),
        columns: STATUS_COLUMNS
            .iter()
            .map(|(t, w, a)| (t.to_string(), *w, *a))
            .collect(),
        rows: c
            .by_status
            .iter()
            .map(|t| {
                vec![
                    t.status.label_ko().to_string(),
                    t.count.to_string(),
                    group_thousands(t.amount),
                ]
            })
            .collect(),
        total: (!c.by_status.is_empty())
            .then(|| vec!["합계".into(), count.to_string(), group_thousands(amount)]),
        empty: "(결제 요청 없음)",
    });
    let count: u32 = c.collections.iter().map(|t| t.count).sum();
    let amount: i64 = c.collections.iter().map(|t| t.amount).sum();
    out.push(Table {
        title: "이 기기의 수금 (현금·계좌이체·어음, 단위: 원)".into(),
        columns: COLLECTION_COLUMNS
            .iter()
            .map(|(t, w, a)| (t.to_string(), *w, *a))
            .collect(),
        rows: c
            .collections
            .iter()
            .map(|t| {
                vec![
                    t.method.label_ko().to_string(),
                    t.count.to_string(),
                    group_thousands(t.amount),
                ]
            })
            .collect(),
        total: (!c.collections.is_empty())
            .then(|| vec!["합계".into(), count.to_string(), group_thousands(amount)]),
        empty: "(수금 없음)",
    });
    out
}

#[derive(Clone, Copy)]
enum Block {
    Title(usize),
    Header(usize),
    Row(usize, usize),
    Empty(usize),
    Total(usize),
}

/// Which blocks go on which page and at what height. A table's title never ends a page alone
/// and its header is repeated on the next page when the rows flow over.
fn paginate(tables: &[Table]) -> Vec<Vec<(Block, f32)>> {
    let mut pages: Vec<Vec<(Block, f32)>> = vec![Vec::new()];
    let mut y = FIRST_TOP;
    for (t, table) in tables.iter().enumerate() {
        if t > 0 {
            y += SECTION_GAP;
        }
        if y + SECTION_TITLE_H + TABLE_HEADER_H + ROW_H > BOTTOM {
            pages.push(Vec::new());
            y = NEXT_TOP;
        }
        pages.last_mut().unwrap().push((Block::Title(t), y));
        y += SECTION_TITLE_H;
        pages.last_mut().unwrap().push((Block::Header(t), y));
        y += TABLE_HEADER_H;
        let mut body: Vec<Block> = (0..table.rows.len()).map(|r| Block::Row(t, r)).collect();
        if body.is_empty() {
            body.push(Block::Empty(t));
        }
        if table.total.is_some() {
            body.push(Block::Total(t));
        }
        for b in body {
            if y + ROW_H > BOTTOM {
                pages.push(Vec::new());
                y = NEXT_TOP;
                pages.last_mut().unwrap().push((Block::Header(t), y));
                y += TABLE_HEADER_H;
            }
            pages.last_mut().unwrap().push((b, y));
            y += ROW_H;
        }
    }
    pages
}

fn draw_cells(pen: &Pen<'_>, table: &Table, cells: &[String], y: f32, style: &Style) {
    let mut x = LEFT;
    for ((_, w, align), text) in table.columns.iter().zip(cells) {
        pen.cell_text(text, x, *w, y + 4.5, &style.clone().with_align(*align));
        x += w;
    }
}

fn draw_block(pen: &Pen<'_>, tables: &[Table], block: Block, y: f32) {
    let table_w: fn(&Table) -> f32 = |t| t.columns.iter().map(|c| c.1).sum();
    match block {
        Block::Title(t) => pen.text(
            &tables[t].title,
            LEFT,
            y + 5.0,
            &Style::new(BODY_PT + 1.5).bold().color(accent()),
        ),
        Block::Header(t) => {
            let table = &tables[t];
            pen.fill_rect(LEFT, y, table_w(table), TABLE_HEADER_H, gray(0.9));
            let mut x = LEFT;
            for (title, w, _) in &table.columns {
                pen.cell_text(title, x, *w, y + 5.0, &Style::new(TABLE_PT).bold().center());
                x += w;
            }
            pen.line(
                LEFT,
                y + TABLE_HEADER_H,
                LEFT + table_w(table),
                y + TABLE_HEADER_H,
                0.4,
                gray(0.3),
            );
        }
        Block::Row(t, r) => {
            let table = &tables[t];
            draw_cells(pen, table, &table.rows[r], y, &Style::new(TABLE_PT));
            pen.line(
                LEFT,
                y + ROW_H,
                LEFT + table_w(table),
                y + ROW_H,
                0.15,
                gray(0.75),
            );
        }
        Block::Empty(t) => pen.text(
            tables[t].empty,
            LEFT + table_w(&tables[t]) / 2.0,
            y + 4.5,
            &Style::new(TABLE_PT).center().color(gray(0.45)),
        ),
        Block::Total(t) => {
            let table = &tables[t];
            if let Some(total) = &table.total {
                pen.fill_rect(LEFT, y, table_w(table), ROW_H, gray(0.96));
                draw_cells(pen, table, total, y, &Style::new(TABLE_PT).bold());
                pen.line(LEFT, y, LEFT + table_w(table), y, 0.4, gray(0.3));
            }
        }
    }
}

/// The words around the tables: the heading, the period and who, the footer.
struct Heading {
    /// Big title on the first page.
    title: &'static str,
    /// E.g. "마감일자: 2026-11-27".
    period_line: String,
    /// E.g. "가맹점: ...   담당자: ...".
    who_line: String,
    /// The footer's left text.
    footer: String,
    /// The PDF's title metadata.
    doc_title: String,
    /// The PDF's subject metadata (the date or period).
    subject: String,
    /// Distinguishes the document kinds' ids.
    kind: &'static [u8],
}

fn draw_title(pen: &Pen<'_>, h: &Heading, printed_at: &str) {
    let center = LEFT + CONTENT_W / 2.0;
    pen.text(
        h.title,
        center,
        24.0,
        &Style::new(20.0).center().bold().color(accent()),
    );
    pen.line(center - 40.0, 27.5, center + 40.0, 27.5, 0.8, accent());
    pen.text(&h.period_line, LEFT, 37.0, &Style::new(BODY_PT + 0.5));
    pen.text(
        &format!("출력: {printed_at}"),
        RIGHT,
        37.0,
        &Style::new(BODY_PT).right().color(gray(0.3)),
    );
    let (who, size) = fit(pen.m, &h.who_line, BODY_PT, 7.0, CONTENT_W);
    pen.text(&who, LEFT, 44.0, &Style::new(size));
}

fn draw_footer(pen: &Pen<'_>, h: &Heading, page: usize, pages: usize) {
    pen.line(LEFT, FOOTER_RULE, RIGHT, FOOTER_RULE, 0.4, gray(0.6));
    pen.text(
        &h.footer,
        LEFT,
        FOOTER_BASELINE,
        &Style::new(7.0).color(gray(0.35)),
    );
    pen.text(
        &format!("페이지 {page} / {pages}"),
        RIGHT,
        FOOTER_BASELINE,
        &Style::new(8.0).right(),
    );
}

fn render_tables(h: &Heading, tables: &[Table], printed_at: &str) -> Result<Vec<u8>, PdfError> {
    let m = FontMetrics::parse(FONT)?;
    let pages = paginate(tables);
    let raw = a4_document(&h.doc_title, &m, pages.len(), |pen, index| {
        if index == 0 {
            draw_title(pen, h, printed_at);
        }
        for (block, y) in &pages[index] {
            draw_block(pen, tables, *block, *y);
        }
        draw_footer(pen, h, index + 1, pages.len());
    })?;
    let mut hash = Sha256::new();
    hash.update(h.kind);
    hash.update(printed_at.as_bytes());
    for t in tables {
        for cell in t.rows.iter().chain(t.total.iter()).flatten() {
            hash.update((cell.len() as u64).to_be_bytes());
            hash.update(cell.as_bytes());
        }
    }
    hash.update(h.who_line.as_bytes());
    super::finish(
        &raw,
        hash.finalize()[..16].to_vec(),
        &h.doc_title,
        &h.subject,
    )
}

/// Renders the daily closing; `printed_at` is printed as is (e.g. "2026-11-27 18:30").
pub fn render(c: &DailyClosing, printed_at: &str) -> Result<Vec<u8>, PdfError> {
    let h = Heading {
        title: "일일 마감 보고서",
        period_line: format!("마감일자: {}", c.date),
        who_line: format!("가맹점: {}   담당자: {}", c.merchant_name, c.rep_name),
        footer: format!("FieldPay 일일 마감 {} · 승인·취소는 서버 정산 기준", c.date),
        doc_title: format!("일일 마감 {}", c.date),
        subject: c.date.clone(),
        kind: b"fieldpay-closing/1",
    };
    render_tables(&h, &tables(c), printed_at)
}

/// Renders the merchant's settlement (정산) of a day or a month (`report.date`: `YYYY-MM-DD`
/// or `YYYY-MM`): by card company with the total, and by rep.
pub fn render_settlement(
    report: &SettlementReport,
    merchant_name: &str,
    printed_at: &str,
) -> Result<Vec<u8>, PdfError> {
    let monthly = report.period == SettlementPeriod::Month;
    let h = Heading {
        title: if monthly {
            "월 정산 보고서"
        } else {
            "일 정산 보고서"
        },
        period_line: format!(
            "{}: {}",
            if monthly { "정산월" } else { "정산일" },
            report.date
        ),
        who_line: format!("가맹점: {merchant_name}"),
        footer: format!("FieldPay 정산 {} · 서버 정산 기준", report.date),
        doc_title: format!("정산 {}", report.date),
        subject: report.date.clone(),
        kind: b"fieldpay-settlement/1",
    };
    let tables = vec![
        money_table(
            "카드사별 승인·취소 (단위: 원)",
            "카드사",
            &report.by_card_company,
            Some(&report.total),
        ),
        money_table("담당자별 (단위: 원)", "담당자", &report.by_rep, None),
    ];
    render_tables(&h, &tables, printed_at)
}

#[cfg(test)]
mod tests {
    use fieldpay_protocol::app::{DailyClosing, StatusTotal};
    use fieldpay_protocol::charge::ChargeStatus;
    use fieldpay_protocol::collection::{CollectionMethod, MethodTotal};
    use fieldpay_protocol::settlement::{SettlementReport, SettlementRow};

    fn row(key: &str, name: &str, approved: i64, refunded: i64) -> SettlementRow {
        SettlementRow {
            key: key.into(),
            name: name.into(),
            approved_count: 2,
            approved_amount: approved,
            refunded_count: u64::from(refunded > 0),
            refunded_amount: refunded,
            net_amount: approved - refunded,
        }
    }

    fn closing(companies: usize) -> DailyClosing {
        let by_card_company: Vec<SettlementRow> = (0..companies)
            .map(|i| {
                row(
                    &format!("C{i:02}"),
                    &format!("카드사{i}"),
                    110_000 + i as i64,
                    0,
                )
            })
            .collect();
        DailyClosing {
            date: "2026-11-27".into(),
            merchant_name: "(주)한빛약품유통".into(),
            rep_name: "이영업".into(),
            settlement: SettlementReport {
                date: "2026-11-27".into(),
                period: Default::default(),
                total: row("total", "", 1_234_000, 55_000),
                by_card_company,
                by_rep: vec![row("rep1", "이영업", 1_234_000, 55_000)],
            },
            by_status: vec![
                StatusTotal {
                    status: ChargeStatus::Approved,
                    count: 3,
                    amount: 1_234_000,
                },
                StatusTotal {
                    status: ChargeStatus::SmsSent,
                    count: 1,
                    amount: 12_000,
                },
            ],
            collections: vec![
                MethodTotal {
                    method: CollectionMethod::Cash,
                    count: 2,
                    amount: 350_000,
                },
                MethodTotal {
                    method: CollectionMethod::Note,
                    count: 1,
                    amount: 2_000_000,
                },
            ],
        }
    }

    fn pdftotext(pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("closing.pdf");
        std::fs::write(&path, pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) is needed by this test");
        assert!(out.status.success(), "pdftotext failed: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn prints_every_table_with_korean_text_and_is_reproducible() {
        let c = closing(3);
        let pdf = super::render(&c, "2026-11-27 18:30").unwrap();
        assert_eq!(pdf, super::render(&c, "2026-11-27 18:30").unwrap());
        // Kept for a look (`pdftoppm -png`), next to the purchase-order test files.
        let dir =
            std::env::temp_dir().join(format!("fieldpay-po-pdf-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("closing.pdf"), &pdf).unwrap();
        let text = pdftotext(&pdf);
        for needle in [
            "일일 마감 보고서",
            "마감일자: 2026-11-27",
            "(주)한빛약품유통",
            "카드사2",
            "1,234,000",
            "55,000",
            "1,179,000",
            "승인",
            "문자 발송",
            "이 기기의 수금",
            "현금",
            "350,000",
            "어음",
            "2,350,000",
            "페이지 1 / 1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(pdf.len() < 150_000, "{} bytes", pdf.len());
    }

    #[test]
    fn long_tables_flow_over_pages_and_empty_days_say_so() {
        let text = pdftotext(&super::render(&closing(60), "x").unwrap());
        assert!(text.contains("페이지 3 / 3"), "{text}");
        assert!(text.contains("카드사59"));
        let mut empty = closing(0);
        empty.settlement.by_rep.clear();
        empty.settlement.total = SettlementRow::default();
        empty.by_status.clear();
        empty.collections.clear();
        let text = pdftotext(&super::render(&empty, "x").unwrap());
        assert!(text.contains("(수금 없음)"), "{text}");
        assert!(text.contains("(승인 내역 없음)"), "{text}");
        assert!(text.contains("(결제 요청 없음)"), "{text}");
    }

    #[test]
    fn a_months_settlement_prints_its_period_and_tables() {
        let c = closing(2);
        let mut report = c.settlement.clone();
        report.date = "2026-11".into();
        report.period = fieldpay_protocol::settlement::SettlementPeriod::Month;
        let pdf =
            super::render_settlement(&report, "(주)한빛약품유통", "2026-12-01 09:00").unwrap();
        assert_eq!(
            pdf,
            super::render_settlement(&report, "(주)한빛약품유통", "2026-12-01 09:00").unwrap()
        );
        let text = pdftotext(&pdf);
        for needle in [
            "월 정산 보고서",
            "정산월: 2026-11",
            "(주)한빛약품유통",
            "카드사1",
            "이영업",
            "1,179,000",
            "페이지 1 / 1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(!text.contains("이 기기의 결제 요청"), "{text}");
        report.date = "2026-11-27".into();
        report.period = fieldpay_protocol::settlement::SettlementPeriod::Day;
        let day = pdftotext(&super::render_settlement(&report, "상사", "x").unwrap());
        assert!(
            day.contains("일 정산 보고서") && day.contains("정산일: 2026-11-27"),
            "{day}"
        );
    }
}
