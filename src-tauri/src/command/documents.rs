//! PDF documents (the signed purchase order, the daily closing): the bytes for the in-app
//! preview, saving under the data folder's `exports/`, and opening a saved file with the
//! system's PDF viewer.

use std::path::PathBuf;

use fieldpay_protocol::command::{self as cmd, Bytes};
use fieldpay_protocol::{ApiError, ErrorCode};
use tauri::State;

use super::{api, now};
use crate::state::AppState;

handler! {
    /// The PDF's bytes (an `ArrayBuffer` in the UI, shown from a blob URL).
    cmd::Pdf => bytes async fn pdf(args, state: State<'_, AppState>) {
        let (_name, bytes) = api(state.engine()?.document(&args.doc, now()).await)?;
        Ok(Bytes(bytes))
    }
}

handler! {
    /// The signature of a signed purchase order as PNG (an `ArrayBuffer` in the UI).
    cmd::SignatureImage => bytes async fn signature_image(args, state: State<'_, AppState>) {
        Ok(Bytes(api(state.engine()?.order_signature_png(args.order_id.as_str()))?))
    }
}

handler! {
    /// Saves the PDF into `<data>/exports/`; returns the file's path.
    cmd::ExportPdf => async fn export_pdf(args, state: State<'_, AppState>) {
        let dir = state.exports_dir();
        let path = api(state.engine()?.export_document(&args.doc, now(), &dir).await)?;
        Ok(path.display().to_string())
    }
}

handler! {
    /// Opens a saved PDF with the system's default viewer. Only files under `exports/`.
    cmd::OpenExport => async fn open_export(args, state: State<'_, AppState>) {
        let dir = state.exports_dir().canonicalize().ok();
        let file = PathBuf::from(&args.path).canonicalize().ok();
        match (dir, file) {
            (Some(dir), Some(file)) if file.starts_with(&dir) && file.is_file() => {
                open::that_detached(&file).map_err(|e| {
                    ApiError::new(
                        ErrorCode::Unavailable,
                        format!("PDF를 열 프로그램이 없습니다 (no program opens PDFs here: {e})"),
                    )
                })
            }
            _ => Err(ApiError::new(
                ErrorCode::InvalidField,
                "저장된 PDF가 아닙니다 (not a saved PDF)",
            )),
        }
    }
}
