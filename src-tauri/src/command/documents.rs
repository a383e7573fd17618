//! PDF documents (the signed purchase order, the daily closing): the bytes for the in-app
//! preview, saving under the data folder's `exports/`, and opening a saved file with the
//! system's PDF viewer.

use std::path::PathBuf;

use fieldpay_protocol::app::PdfDoc;
use fieldpay_protocol::{ApiError, ErrorCode};
use tauri::ipc::Response;
use tauri::State;

use super::{api, now, Res};
use crate::state::AppState;

/// The PDF's bytes (an `ArrayBuffer` in the UI, shown from a blob URL).
#[tauri::command(rename_all = "snake_case")]
pub async fn pdf(state: State<'_, AppState>, doc: PdfDoc) -> Res<Response> {
    let (_name, bytes) = api(state.engine()?.document(&doc, now()).await)?;
    Ok(Response::new(bytes))
}

/// Saves the PDF into `<data>/exports/`; returns the file's path.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_pdf(state: State<'_, AppState>, doc: PdfDoc) -> Res<String> {
    let dir = state.exports_dir();
    let path = api(state.engine()?.export_document(&doc, now(), &dir).await)?;
    Ok(path.display().to_string())
}

/// Opens a saved PDF with the system's default viewer. Only files under `exports/`.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_export(state: State<'_, AppState>, path: String) -> Res<()> {
    let dir = state.exports_dir().canonicalize().ok();
    let file = PathBuf::from(&path).canonicalize().ok();
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
