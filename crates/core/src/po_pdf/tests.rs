use super::*;
use std::path::PathBuf;
use std::process::Command;

const PRODUCTS: [&str; 10] = [
    "타이레놀정 500mg 10정",
    "게보린정 10정",
    "베아제정 10정",
    "판콜에이내복액 30ml×3병",
    "박카스디 100ml×10병",
    "후시딘연고 10g",
    "마데카솔케어연고 6g",
    "까스활명수큐 75ml",
    "인사돌플러스정 60정",
    "비타500 100ml×10병",
];

fn party(name: &str, number: &str, owner: &str, phone: &str, address: &str) -> Party {
    Party {
        name: name.into(),
        business_number: number.into(),
        owner: owner.into(),
        phone: phone.into(),
        address: address.into(),
    }
}

fn signature_png() -> Vec<u8> {
    use crate::signature::{render_png, Point, RenderOptions};
    let mut wave = Vec::new();
    for i in 0..150 {
        let x = 60.0 + i as f32 * 3.2;
        let y = 100.0 + 45.0 * (x / 35.0).sin() * (1.0 - i as f32 / 300.0);
        wave.push(Point::new(x, y, i as u64 * 7));
    }
    let mut ring = Vec::new();
    for i in 0..=50 {
        let a = i as f32 / 50.0 * std::f32::consts::TAU;
        ring.push(Point::new(
            230.0 + 40.0 * a.cos(),
            95.0 + 30.0 * a.sin(),
            2_000 + i as u64 * 10,
        ));
    }
    let underline = vec![
        Point::new(70.0, 170.0, 0),
        Point::new(300.0, 160.0, 80),
        Point::new(540.0, 150.0, 140),
    ];
    render_png(&[wave, ring, underline], &RenderOptions::default()).unwrap()
}

fn sample_doc(n_lines: usize, signed: bool) -> PurchaseOrderDoc {
    let lines: Vec<PoLine> = (0..n_lines)
        .map(|i| {
            let quantity = (i as i64 % 7) + 1;
            let unit_price = 1_200 + (i as i64 * 3_517) % 48_000;
            PoLine {
                code: format!("P-{:05}", 10_001 + i),
                name: PRODUCTS[i % PRODUCTS.len()].to_string(),
                quantity,
                unit_price,
                line_total: quantity * unit_price,
                reason: None,
            }
        })
        .collect();
    let supply: i64 = lines.iter().map(|l| l.line_total).sum();
    let vat = supply / 10;
    let mut doc = PurchaseOrderDoc {
        title: "발주서".into(),
        kind: Default::default(),
        original_number: None,
        order_number: "PO-20261127-0001".into(),
        date: "2026-11-27".into(),
        merchant: party(
            "(주)한빛약품유통",
            "123-45-67890",
            "김한빛",
            "02-1234-5678",
            "서울특별시 강남구 테헤란로 123, 한빛빌딩 4층",
        ),
        client: party(
            "행복온누리약국",
            "234-56-78901",
            "박행복",
            "031-987-6543",
            "경기도 성남시 분당구 정자일로 95, 1층 101호 (정자동, 네이버 그린팩토리 앞 상가)",
        ),
        rep_name: "이영업".into(),
        lines,
        supply,
        vat,
        total: supply + vat,
        memo: "다음 방문 시 반품 2건 회수 예정.\n결제는 ARS 카드결제로 진행합니다.".into(),
        signature_png: None,
        signer_name: String::new(),
        signed_at: String::new(),
        document_hash: String::new(),
    };
    // The signature evidence's content hash (fieldpay_protocol::evidence), as printed.
    doc.document_hash = "3f9a".repeat(16);
    if signed {
        doc.signature_png = Some(signature_png());
        doc.signer_name = "박행복".into();
        doc.signed_at = "2026-11-27 14:03 KST".into();
    }
    doc
}

fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldpay-po-pdf-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

/// Text of the PDF by pdftotext, or None (with a message) when poppler-utils is missing.
fn pdftotext(pdf: &[u8], name: &str) -> Option<String> {
    if !have("pdftotext") {
        eprintln!("SKIPPED: pdftotext not found (install poppler-utils) — text checks not run");
        return None;
    }
    let path = out_dir().join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext failed: {out:?}");
    Some(String::from_utf8(out.stdout).unwrap())
}

fn assert_pdf(bytes: &[u8]) {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF header");
    let tail = &bytes[bytes.len().saturating_sub(32)..];
    assert!(
        tail.windows(5).any(|w| w == b"%%EOF"),
        "no %%EOF at the end"
    );
}

#[test]
fn a_return_is_titled_and_labelled_as_one_with_its_reasons() {
    let mut doc = sample_doc(2, true);
    doc.title = "반품서".into();
    doc.kind = fieldpay_protocol::records::OrderKind::Return;
    doc.order_number = "RT-20261204-R01-0001".into();
    doc.original_number = Some("PO-20261127-R01-0003".into());
    doc.lines[0].reason = Some("유통기한".into());
    doc.lines[1].reason = Some("파손".into());
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
    let Some(text) = pdftotext(&pdf, "return") else {
        return;
    };
    for needle in [
        "반품서",
        "반품번호: RT-20261204-R01-0001",
        "반품일자: 2026-11-27",
        "원 주문번호: PO-20261127-R01-0003",
        "(사유: 유통기한)",
        "(사유: 파손)",
        "반품 합계",
        &krw(doc.total),
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains("발주서"), "{text}");
}

#[test]
fn three_line_order_renders_with_korean_text() {
    let doc = sample_doc(3, true);
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
    eprintln!("3-line order: {} bytes", pdf.len());
    let Some(text) = pdftotext(&pdf, "three") else {
        return;
    };
    for needle in [
        "발주서",
        "행복온누리약국",
        "(주)한빛약품유통",
        "타이레놀정 500mg 10정",
        "공급자",
        "구매자",
        "사업자등록번호",
        "공급가액",
        "부가세(10%)",
        "합계",
        &krw(doc.total),
        &krw(doc.supply),
        "PO-20261127-0001",
        "서명: 박행복 (2026-11-27 14:03 KST)",
        &doc.document_hash,
        "페이지 1 / 1",
        "결제는 ARS 카드결제로 진행합니다.",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn long_order_continues_on_further_pages() {
    let doc = sample_doc(70, true);
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
    eprintln!("70-line order: {} bytes", pdf.len());
    let Some(text) = pdftotext(&pdf, "seventy") else {
        return;
    };
    let pages: Vec<&str> = text
        .split('\x0c')
        .filter(|p| !p.trim().is_empty())
        .collect();
    let n = pages.len();
    assert!(n >= 2, "expected several pages, got {n}");
    for (i, page) in pages.iter().enumerate() {
        let label = format!("페이지 {} / {}", i + 1, n);
        assert!(page.contains(&label), "{label:?} missing on page {}", i + 1);
        // the table header is repeated on every page that carries lines
        if page.contains("P-1") {
            assert!(page.contains("품목코드") && page.contains("품명"));
        }
    }
    // every line is there, once, in order
    let mut last = 0;
    for i in 0..70 {
        let code = format!("P-{:05}", 10_001 + i);
        let at = text.find(&code).unwrap_or_else(|| panic!("{code} missing"));
        assert!(at >= last, "{code} out of order");
        last = at;
    }
    // totals and signature after the last line, on the last page
    let last_page = pages[n - 1];
    assert!(last_page.contains("합계") && last_page.contains(&krw(doc.total)));
    assert!(last_page.contains("서명: 박행복"));
    assert!(text.rfind("P-10070").unwrap() < text.rfind(&krw(doc.total)).unwrap());
    assert!(pages[0].contains("공급자") && !pages[1].contains("공급자"));
}

#[test]
fn rendering_is_deterministic() {
    for doc in [sample_doc(3, true), sample_doc(70, false)] {
        let a = render(&doc).unwrap();
        let b = render(&doc.clone()).unwrap();
        assert_eq!(a, b, "two renders differ");
    }
    // and differs when the content differs
    let mut other = sample_doc(3, true);
    other.lines[0].quantity += 1;
    assert_ne!(
        render(&other).unwrap(),
        render(&sample_doc(3, true)).unwrap()
    );
}

#[test]
fn thirty_line_signed_order_is_small() {
    let doc = sample_doc(30, true);
    let started = std::time::Instant::now();
    let pdf = render(&doc).unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "30-line signed order: {} bytes ({:.1} KB), rendered in {:?} (this build profile)",
        pdf.len(),
        pdf.len() as f64 / 1024.0,
        elapsed
    );
    assert!(pdf.len() <= 150 * 1024, "{} bytes", pdf.len());
    // The font is embedded (as a subset), not referenced.
    let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"/FontFile2"));
    assert!(has(b"/Subtype/Image") || has(b"/Subtype /Image"));
}

#[test]
fn page_one_renders_to_an_image() {
    if !have("pdftoppm") {
        eprintln!("SKIPPED: pdftoppm not found (install poppler-utils)");
        return;
    }
    let dir = out_dir();
    let pdf_path = dir.join("thirty.pdf");
    std::fs::write(&pdf_path, render(&sample_doc(30, true)).unwrap()).unwrap();
    let prefix = dir.join("thirty-page");
    let status = Command::new("pdftoppm")
        .args(["-r", "60", "-png", "-f", "1", "-l", "1"])
        .arg(&pdf_path)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let png = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("thirty-page")
        })
        .expect("page image written");
    let img = image::open(&png).unwrap().to_luma8();
    // A4 at 60 dpi
    assert!(
        (img.width() as i64 - 496).abs() <= 2,
        "width {}",
        img.width()
    );
    assert!(
        (img.height() as i64 - 702).abs() <= 2,
        "height {}",
        img.height()
    );
    let dark = img.pixels().filter(|p| p.0[0] < 128).count();
    assert!(dark > 2_000, "page looks blank ({dark} dark pixels)");
    eprintln!("page 1 image: {}", png.display());
}

#[test]
fn bad_signature_image_is_an_image_error() {
    let mut doc = sample_doc(3, true);
    doc.signature_png = Some(b"not a png".to_vec());
    assert!(matches!(render(&doc), Err(PdfError::Image(_))));
}

#[test]
fn unusual_content_still_renders() {
    // no lines, unsigned, empty fields
    let mut empty = sample_doc(0, false);
    empty.memo.clear();
    empty.client = Party::default();
    empty.document_hash.clear();
    let pdf = render(&empty).unwrap();
    assert_pdf(&pdf);
    if let Some(text) = pdftotext(&pdf, "empty") {
        assert!(text.contains("품목 없음") && text.contains("서명 없음"));
    }

    // very long fields, a memo that flows over a page break, odd characters
    let mut long = sample_doc(25, true);
    long.lines[0].name = "아주 긴 품명 ".repeat(20);
    long.lines[1].code = "CODE-0123456789-ABCDEFGHIJ".into();
    long.lines[2].quantity = 1_234_567;
    long.lines[2].unit_price = 987_654_321;
    long.lines[2].line_total = 1_219_326_311_374_638;
    long.client.address = "서울특별시 ".repeat(30);
    long.memo = (1..=40)
        .map(|i| format!("{i}번째 줄: 납품 조건과 반품 규정을 확인하였습니다.\t\u{0007}🙂"))
        .collect::<Vec<_>>()
        .join("\n");
    let pdf = render(&long).unwrap();
    assert_pdf(&pdf);
    if let Some(text) = pdftotext(&pdf, "long") {
        assert!(text.contains("40번째 줄"));
        assert!(text.contains("1,234,567"));
    }
}

#[test]
fn signature_with_alpha_is_placed_on_white() {
    let png = signature_png();
    let sig = prepare_signature(&png).unwrap();
    assert_eq!(sig.rgb.len(), (sig.width * sig.height * 3) as usize);
    // cropped to the ink (plus padding), smaller than the 600 x 200 canvas
    assert!(sig.width < 600 && sig.height < 200);
    // corners are white (transparent blended onto the page colour)
    assert_eq!(&sig.rgb[..3], &[255, 255, 255]);
    // some ink
    assert!(sig.rgb.chunks(3).any(|p| p[0] < 100));
}

#[test]
fn pagination_keeps_everything_on_the_page_and_in_order() {
    use layout::{paginate, Block, BODY_BOTTOM};
    for n_rows in 0..=120 {
        for n_memo in [0, 1, 3, 60] {
            let pages = paginate(n_rows, n_memo);
            let blocks: Vec<Block> = pages.iter().flatten().map(|p| p.block).collect();
            // rows once each, in order, then totals, memo lines, signature last
            let rows: Vec<usize> = blocks
                .iter()
                .filter_map(|b| match b {
                    Block::Row(i) => Some(*i),
                    _ => None,
                })
                .collect();
            assert_eq!(rows, (0..n_rows).collect::<Vec<_>>());
            assert_eq!(blocks.last(), Some(&Block::Signature));
            let totals = blocks.iter().position(|b| *b == Block::Totals).unwrap();
            assert!(blocks[totals..]
                .iter()
                .all(|b| !matches!(b, Block::Row(_) | Block::TableHeader)));
            for page in &pages {
                // a page never starts with rows without the header
                if let Some(first_row) = page.iter().position(|p| matches!(p.block, Block::Row(_)))
                {
                    assert!(page[..first_row]
                        .iter()
                        .any(|p| p.block == Block::TableHeader));
                }
                // nothing runs into the footer, nothing overlaps
                for w in page.windows(2) {
                    assert!(w[0].y < w[1].y, "{n_rows} rows: blocks out of order");
                }
                assert!(page.iter().all(|p| p.y < BODY_BOTTOM));
            }
            // the totals are not alone below a page break: some line is on their page
            let totals_page = pages
                .iter()
                .position(|p| p.iter().any(|b| b.block == Block::Totals))
                .unwrap();
            if n_rows > 0 {
                assert!(pages[totals_page]
                    .iter()
                    .any(|p| matches!(p.block, Block::Row(_))));
            }
        }
    }
}
