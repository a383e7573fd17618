//! PDF documents (signed purchase order, daily closing): preview, save, open.

use fieldpay_protocol::app::PdfDoc;
use fieldpay_protocol::command as cmd;
use fieldpay_protocol::{ApiError, ErrorCode};
use wasm_bindgen::JsValue;

use super::{invoke, invoke_bytes};

/// A `blob:` URL of the PDF for an in-app preview; revoke it with
/// `web_sys::Url::revoke_object_url` when the preview closes.
pub async fn pdf_url(doc: &PdfDoc) -> Result<String, ApiError> {
    let buffer = invoke_bytes(&cmd::Pdf { doc: doc.clone() }).await?;
    blob_url(&buffer, "application/pdf")
}

/// A `blob:` URL of a signed order's signature (PNG); revoke it when it leaves the screen.
pub async fn signature_url(order_id: &str) -> Result<String, ApiError> {
    let buffer = invoke_bytes(&cmd::SignatureImage {
        order_id: order_id.into(),
    })
    .await?;
    blob_url(&buffer, "image/png")
}

fn blob_url(buffer: &JsValue, mime: &str) -> Result<String, ApiError> {
    let failed = |e: JsValue| {
        ApiError::new(
            ErrorCode::Internal,
            format!(
                "{mime}: {}",
                e.as_string().unwrap_or_else(|| format!("{e:?}"))
            ),
        )
    };
    let parts = js_sys::Array::of1(buffer);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_buffer_source_sequence_and_options(&parts, &options)
        .map_err(failed)?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(failed)
}

/// Saves the PDF under the data folder's `exports/`; returns the file's path.
pub async fn export_pdf(doc: &PdfDoc) -> Result<String, ApiError> {
    invoke(&cmd::ExportPdf { doc: doc.clone() }).await
}

/// Opens a saved PDF with the system's viewer.
pub async fn open_export(path: &str) -> Result<(), ApiError> {
    invoke(&cmd::OpenExport { path: path.into() }).await
}
