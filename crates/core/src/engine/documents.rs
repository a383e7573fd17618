//! The daily closing and the PDF documents (purchase order, daily closing): bytes for a
//! preview, and files saved for the rep.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{DailyClosing, PdfDoc};

use crate::error::{CoreError, CoreResult};

use super::{kst_now_string, Engine};

/// A file-name-safe form of `name` (no path separators, reserved or control characters).
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect()
}

/// Writes `bytes` to `dir/name` (made file-name safe) through a temporary file and a rename,
/// so a crash never leaves half a document under the final name.
pub(super) fn write_export(dir: &Path, name: &str, bytes: &[u8]) -> CoreResult<PathBuf> {
    let path = dir.join(file_safe(name));
    let tmp = dir.join(format!(".{}.part", file_safe(name)));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| CoreError::Other(format!("{}: {e}", path.display())))?;
    Ok(path)
}

impl Engine {
    /// The day's settlement by card company and by rep (needs the network).
    /// The daily closing of KST day `date` (`YYYY-MM-DD`; today when absent): the server's
    /// settlement (online only) and this device's payment requests of the day by status.
    pub async fn daily_closing(
        &self,
        date: Option<&str>,
        now: DateTime<Utc>,
    ) -> CoreResult<DailyClosing> {
        let session = self.require_session()?;
        let date = crate::closing::closing_date(date, now)?;
        let settlement = self.client.settlement(Some(&date)).await?;
        let charges = self.db.charges(None, u32::MAX)?;
        let collections = self.db.collections(None, u32::MAX)?;
        Ok(DailyClosing {
            by_status: crate::closing::totals_by_status(charges.iter().map(|c| &c.charge), &date),
            collections: crate::closing::collections_by_method(
                collections.iter().map(|c| &c.collection),
                &date,
            ),
            date,
            merchant_name: session.merchant_name,
            rep_name: session.name,
            settlement,
        })
    }

    /// The daily closing as a PDF (online only, like [`Engine::daily_closing`]).
    pub async fn closing_pdf(&self, date: Option<&str>, now: DateTime<Utc>) -> CoreResult<Vec<u8>> {
        let closing = self.daily_closing(date, now).await?;
        crate::po_pdf::closing::render(&closing, &kst_now_string(now))
            .map_err(|e| CoreError::Other(format!("daily-closing PDF: {e}")))
    }

    /// A document's file name and PDF bytes (a closing needs the server).
    pub async fn document(
        &self,
        doc: &PdfDoc,
        now: DateTime<Utc>,
    ) -> CoreResult<(String, Vec<u8>)> {
        match doc {
            PdfDoc::Order { order_id } => {
                let order = self.order(order_id)?;
                let name = order.order.number.as_deref().unwrap_or(&order.order.id);
                let title = order.order.kind.title_ko();
                Ok((format!("{title}-{name}.pdf"), self.order_pdf(order_id)?))
            }
            PdfDoc::Closing { date } => {
                let date = crate::closing::closing_date(date.as_deref(), now)?;
                let pdf = self.closing_pdf(Some(&date), now).await?;
                Ok((format!("일일마감-{date}.pdf"), pdf))
            }
            PdfDoc::Settlement { period } => {
                let p = crate::settlement::Period::parse(period)?.as_text();
                let report = self.settlement(&p).await?;
                let merchant = self.require_session()?.merchant_name;
                let pdf = crate::po_pdf::closing::render_settlement(
                    &report,
                    &merchant,
                    &kst_now_string(now),
                )
                .map_err(|e| CoreError::Other(format!("settlement PDF: {e}")))?;
                Ok((format!("정산-{p}.pdf"), pdf))
            }
        }
    }

    /// Writes a document into `dir` under its file name; returns the file's path.
    pub async fn export_document(
        &self,
        doc: &PdfDoc,
        now: DateTime<Utc>,
        dir: &Path,
    ) -> CoreResult<PathBuf> {
        let (name, pdf) = self.document(doc, now).await?;
        write_export(dir, &name, &pdf)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_file_names_are_safe() {
        assert_eq!(
            super::file_safe("발주서-PO-2026/0001.pdf"),
            "발주서-PO-2026-0001.pdf"
        );
        assert_eq!(super::file_safe("a\\b:c*?\"<>|\n.pdf"), "a-b-c-------.pdf");
        assert_eq!(super::file_safe("임시-1a2b3c4d"), "임시-1a2b3c4d");
    }
}
