//! The purchase-order PDF (발주서), and the daily-closing report ([`closing`]) drawn with the
//! same font and page furniture.
//!
//! [`render`] lays out an A4 portrait purchase order — title, order number and date, the
//! supplier (공급자) and buyer (구매자) boxes, the line table (continued over further pages
//! with its header repeated), totals, memo, the client's hand-drawn signature and a footer
//! with the document hash and page numbers — in NanumGothic, which ships with the repository
//! (`assets/fonts/NanumGothic.ttf`, SIL Open Font License) and is embedded as a subset of
//! the glyphs actually used.
//!
//! The output is reproducible: the same [`PurchaseOrderDoc`] always gives the same bytes
//! (fixed document id derived from the content, dates taken from the order date, fixed
//! producer, no clock and no randomness).
//!
//! The document hash printed in the footer (`document_hash`) is the content hash of the
//! signature evidence (`fieldpay_protocol::evidence::content_hash`), given by the caller.

pub mod closing;
mod layout;
mod metrics;

use printpdf::lopdf;
use sha2::{Digest, Sha256};

use metrics::FontMetrics;

/// NanumGothic Regular (SIL Open Font License 1.1, see `assets/fonts/OFL-NanumGothic.txt`).
pub(crate) static FONT: &[u8] = include_bytes!("../../../../assets/fonts/NanumGothic.ttf");

/// Producer and creator written into the PDF information dictionary.
pub const PRODUCER: &str = "FieldPay";

/// Largest signature image accepted, in pixels (width x height).
const MAX_SIGNATURE_PIXELS: u64 = 16_000_000;

/// A business party: the merchant (supplier) or the client account (buyer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Business name (상호).
    pub name: String,
    /// Business registration number, "123-45-67890", or empty.
    pub business_number: String,
    /// Representative (대표자).
    pub owner: String,
    /// Phone number as it should be printed.
    pub phone: String,
    /// Address (printed on up to two lines).
    pub address: String,
}

/// One line of the order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoLine {
    /// Product code (품목코드).
    pub code: String,
    /// Product name (품명).
    pub name: String,
    pub quantity: i64,
    /// Unit price in KRW.
    pub unit_price: i64,
    /// Line amount in KRW (as computed by the order maths; printed as given).
    pub line_total: i64,
    /// A return line's reason as printed (유통기한, 파손, ...).
    pub reason: Option<String>,
}

/// Everything printed on a purchase order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurchaseOrderDoc {
    /// Document title, normally "발주서" ("반품서" for a return).
    pub title: String,
    /// A purchase order or a return (the labels of number, date and total follow it).
    pub kind: fieldpay_protocol::records::OrderKind,
    /// The number of the order a return takes goods back from.
    pub original_number: Option<String>,
    /// e.g. "PO-20261127-0001", or a draft id.
    pub order_number: String,
    /// Order date as printed, "2026-11-27" (KST), given by the caller.
    pub date: String,
    /// Supplier (공급자).
    pub merchant: Party,
    /// Buyer (구매자).
    pub client: Party,
    /// Sales rep (담당자).
    pub rep_name: String,
    pub lines: Vec<PoLine>,
    /// Supply amount (공급가액), KRW.
    pub supply: i64,
    /// VAT (부가세), KRW.
    pub vat: i64,
    /// Total (합계), KRW.
    pub total: i64,
    /// Free-text memo (비고); line breaks are kept.
    pub memo: String,
    /// The signature as PNG (see `crate::signature::render_png`); alpha is blended onto white.
    pub signature_png: Option<Vec<u8>>,
    /// Name of the person who signed.
    pub signer_name: String,
    /// When it was signed, as printed (e.g. "2026-11-27 14:03 KST").
    pub signed_at: String,
    /// SHA-256 hex of the signed content (`fieldpay_protocol::evidence::content_hash`),
    /// printed in the footer.
    pub document_hash: String,
}

/// Why the PDF could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The embedded font could not be read or embedded.
    #[error("PDF font error: {0}")]
    Font(String),
    /// The signature image could not be decoded or is unusable.
    #[error("signature image error: {0}")]
    Image(String),
    /// The PDF writer failed.
    #[error("PDF rendering error: {0}")]
    Render(String),
}

pub use fieldpay_protocol::money::{format_krw as krw, group_thousands};

/// Everything printed on the document, serialized without ambiguity (`KEY=LEN:VALUE\n`): the
/// input of the PDF's document id, so the same document always gets the same id.
fn canonical_content(doc: &PurchaseOrderDoc) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, key: &str, value: &str) {
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    fn party(out: &mut Vec<u8>, prefix: &str, p: &Party) {
        field(out, &format!("{prefix}.name"), &p.name);
        field(
            out,
            &format!("{prefix}.business_number"),
            &p.business_number,
        );
        field(out, &format!("{prefix}.owner"), &p.owner);
        field(out, &format!("{prefix}.phone"), &p.phone);
        field(out, &format!("{prefix}.address"), &p.address);
    }
    let mut out = b"fieldpay-po/1\n".to_vec();
    field(&mut out, "title", &doc.title);
    field(&mut out, "order_number", &doc.order_number);
    field(&mut out, "date", &doc.date);
    party(&mut out, "merchant", &doc.merchant);
    party(&mut out, "client", &doc.client);
    field(&mut out, "rep_name", &doc.rep_name);
    field(&mut out, "lines", &doc.lines.len().to_string());
    for line in &doc.lines {
        field(&mut out, "line.code", &line.code);
        field(&mut out, "line.name", &line.name);
        field(&mut out, "line.quantity", &line.quantity.to_string());
        field(&mut out, "line.unit_price", &line.unit_price.to_string());
        field(&mut out, "line.line_total", &line.line_total.to_string());
    }
    field(&mut out, "supply", &doc.supply.to_string());
    field(&mut out, "vat", &doc.vat.to_string());
    field(&mut out, "total", &doc.total.to_string());
    field(&mut out, "memo", &doc.memo);
    out
}

/// Renders the purchase order as a PDF document.
pub fn render(doc: &PurchaseOrderDoc) -> Result<Vec<u8>, PdfError> {
    let metrics = FontMetrics::parse(FONT)?;
    let signature = match &doc.signature_png {
        Some(png) => Some(prepare_signature(png)?),
        None => None,
    };
    let raw = layout::draw(doc, &metrics, signature.as_ref())?;
    finalize(&raw, doc)
}

/// A signature ready to embed: 8-bit RGB on white, cropped to the ink.
pub(crate) struct SignatureImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rgb: Vec<u8>,
}

fn prepare_signature(png: &[u8]) -> Result<SignatureImage, PdfError> {
    let decoded = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| PdfError::Image(e.to_string()))?;
    let (w, h) = (decoded.width(), decoded.height());
    if w == 0 || h == 0 || w as u64 * h as u64 > MAX_SIGNATURE_PIXELS {
        return Err(PdfError::Image(format!("unusable signature size {w}x{h}")));
    }
    let rgba = decoded.to_rgba8();
    // Blend onto white (the page) and find the inked area.
    let mut rgb = image::RgbImage::new(w, h);
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0u32, 0u32);
    for (x, y, px) in rgba.enumerate_pixels() {
        let [r, g, b, a] = px.0;
        let a = a as u32;
        let blend = |c: u8| ((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        let out = [blend(r), blend(g), blend(b)];
        if out.iter().any(|&c| c < 245) {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        rgb.put_pixel(x, y, image::Rgb(out));
    }
    let mut img = if x0 <= x1 {
        let pad = 6;
        let (cx0, cy0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
        let (cx1, cy1) = ((x1 + pad).min(w - 1), (y1 + pad).min(h - 1));
        image::imageops::crop_imm(&rgb, cx0, cy0, cx1 - cx0 + 1, cy1 - cy0 + 1).to_image()
    } else {
        rgb
    };
    // Keep the embedded image small: 1000 x 400 px is ample for a 80 x 24 mm box.
    let (mw, mh) = (1000u32, 400u32);
    if img.width() > mw || img.height() > mh {
        let scale = (mw as f32 / img.width() as f32).min(mh as f32 / img.height() as f32);
        let nw = ((img.width() as f32 * scale).round() as u32).max(1);
        let nh = ((img.height() as f32 * scale).round() as u32).max(1);
        img = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle);
    }
    Ok(SignatureImage {
        width: img.width(),
        height: img.height(),
        rgb: img.into_raw(),
    })
}

/// PDF text string: UTF-16BE with a byte order mark (lets readers show Hangul metadata).
fn pdf_text_string(s: &str) -> lopdf::Object {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in s.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    lopdf::Object::String(bytes, lopdf::StringFormat::Hexadecimal)
}

/// "2026-11-27" -> "D:20261127000000+09'00'" (midnight KST); `None` for anything else.
fn pdf_date(date: &str) -> Option<String> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    ok.then(|| {
        format!(
            "D:{}{}{}000000+09'00'",
            &date[..4],
            &date[5..7],
            &date[8..10]
        )
    })
}

/// Rewrites printpdf's output into its final, reproducible form: every stream compressed
/// (printpdf leaves fonts and page contents uncompressed, and in debug builds everything),
/// a fixed information dictionary, and a document id derived from the content instead of
/// printpdf's random one.
fn finalize(raw: &[u8], doc: &PurchaseOrderDoc) -> Result<Vec<u8>, PdfError> {
    // Document id: the same for the same input, different when anything printed differs.
    let mut h = Sha256::new();
    h.update(canonical_content(doc));
    for part in [&doc.signer_name, &doc.signed_at, &doc.document_hash] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    if let Some(png) = &doc.signature_png {
        h.update(Sha256::digest(png));
    }
    let id = h.finalize()[..16].to_vec();
    let title = if doc.order_number.is_empty() {
        doc.title.clone()
    } else {
        format!("{} {}", doc.title, doc.order_number)
    };
    finish(raw, id, &title, &doc.date)
}

/// Makes printpdf's output final and reproducible: PDF 1.5 with compressed streams, the font
/// under its subset name, the information dictionary (`title`, producer, creation date from
/// `date` "YYYY-MM-DD") and the document `id` (16 bytes derived from the content).
fn finish(raw: &[u8], id: Vec<u8>, title: &str, date: &str) -> Result<Vec<u8>, PdfError> {
    use lopdf::{Dictionary, Object};
    let render_err = |e: lopdf::Error| PdfError::Render(e.to_string());

    let mut pdf = lopdf::Document::load_mem(raw).map_err(render_err)?;
    // lopdf writes a cross-reference stream, which needs PDF 1.5.
    pdf.version = "1.5".to_string();

    // A subset font is named "TAG+Name" (six capital letters), so readers know it is one.
    let tag: String = id[..6].iter().map(|b| (b'A' + b % 26) as char).collect();
    let font_name = format!("{tag}+NanumGothic").into_bytes();

    for object in pdf.objects.values_mut() {
        match object {
            Object::Stream(stream) => {
                let subtype = stream.dict.get(b"Subtype").and_then(Object::as_name).ok();
                if subtype == Some(&b"Image"[..]) {
                    // printpdf writes `/SMask null` and a `/BBox`, neither belongs here.
                    stream.dict.remove(b"SMask");
                    stream.dict.remove(b"BBox");
                }
                stream.allows_compression = true;
                stream.compress().map_err(render_err)?;
            }
            Object::Dictionary(dict) => rename_font(dict, &font_name),
            _ => {}
        }
    }

    let mut info = Dictionary::new();
    info.set("Title", pdf_text_string(title));
    info.set("Producer", pdf_text_string(PRODUCER));
    info.set("Creator", pdf_text_string(PRODUCER));
    if let Some(date) = pdf_date(date) {
        info.set(
            "CreationDate",
            Object::String(date.clone().into_bytes(), lopdf::StringFormat::Literal),
        );
        info.set(
            "ModDate",
            Object::String(date.into_bytes(), lopdf::StringFormat::Literal),
        );
    }
    match pdf.trailer.get(b"Info").and_then(Object::as_reference) {
        Ok(info_id) => {
            pdf.objects.insert(info_id, Object::Dictionary(info));
        }
        Err(_) => {
            let info_id = pdf.add_object(Object::Dictionary(info));
            pdf.trailer.set("Info", Object::Reference(info_id));
        }
    }
    pdf.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone(), lopdf::StringFormat::Hexadecimal),
            Object::String(id, lopdf::StringFormat::Hexadecimal),
        ]),
    );

    pdf.prune_objects();
    pdf.renumber_objects();
    let mut out = Vec::with_capacity(raw.len() / 2);
    pdf.save_to(&mut out)
        .map_err(|e| PdfError::Render(e.to_string()))?;
    Ok(out)
}

/// Gives the embedded font its subset name in the Type0 font, its descendant CID font and
/// the font descriptor (printpdf calls it "F0" everywhere).
fn rename_font(dict: &mut lopdf::Dictionary, name: &[u8]) {
    use lopdf::Object;
    let is = |d: &lopdf::Dictionary, key: &[u8], value: &[u8]| {
        d.get(key).and_then(Object::as_name).ok() == Some(value)
    };
    if is(dict, b"Type", b"FontDescriptor") {
        dict.set("FontName", Object::Name(name.to_vec()));
    }
    if is(dict, b"Type", b"Font") && is(dict, b"Subtype", b"Type0") {
        dict.set("BaseFont", Object::Name(name.to_vec()));
        if let Ok(Object::Array(descendants)) = dict.get_mut(b"DescendantFonts") {
            for d in descendants.iter_mut() {
                if let Object::Dictionary(d) = d {
                    d.set("BaseFont", Object::Name(name.to_vec()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
