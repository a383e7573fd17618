//! The PDF panel of a signed purchase order or a daily closing: preview inside the app (the
//! web view's PDF viewer, from a `blob:` URL), save under the data folder, open the saved file
//! with the system's viewer.

use fieldpay_protocol::app::PdfDoc;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::documents;
use crate::components::icon::{Icon, Svg};
use crate::i18n::{t, tr, T};
use crate::state::toast;
use crate::testids as id;

#[component]
pub fn PdfPanel(doc: PdfDoc, title: T) -> impl IntoView {
    let url: RwSignal<Option<String>> = RwSignal::new(None);
    let saved: RwSignal<Option<String>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let revoke = move || {
        if let Some(u) = url.try_get_untracked().flatten() {
            let _ = web_sys::Url::revoke_object_url(&u);
        }
    };
    on_cleanup(revoke);

    let doc_preview = doc.clone();
    let preview = move |_| {
        if url.get_untracked().is_some() {
            revoke();
            url.set(None);
            return;
        }
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let d = doc_preview.clone();
        spawn_local(async move {
            match documents::pdf_url(&d).await {
                Ok(u) => url.set(Some(u)),
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    };
    let save = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let d = doc.clone();
        spawn_local(async move {
            match documents::export_pdf(&d).await {
                Ok(path) => saved.set(Some(path)),
                Err(e) => toast(e.message),
            }
            busy.set(false);
        });
    };
    let open = move |_| {
        if let Some(p) = saved.get_untracked() {
            spawn_local(async move {
                if let Err(e) = documents::open_export(&p).await {
                    toast(e.message);
                }
            });
        }
    };
    view! {
        <div class="pdf-panel" data-testid=id::PDF_PANEL>
            <div class="actions">
                <button class="btn big" data-testid=id::PDF_PREVIEW disabled=move || busy.get()
                        aria-expanded=move || url.get().is_some().to_string() on:click=preview>
                    <Svg icon=Icon::Report/> {move || if url.get().is_some() { tr(T::PdfHide) } else { tr(T::PdfPreview) }}
                </button>
                <button class="btn big" data-testid=id::EXPORT_PDF disabled=move || busy.get() on:click=save>
                    <Svg icon=Icon::Download/> {t(T::ExportPdf)}
                </button>
            </div>
            {move || saved.get().map(|p| view! {
                <div class="pdf-path">
                    <span class="label">{t(T::PdfSaved)}</span>
                    <code data-testid=id::PDF_PATH>{p}</code>
                    <button class="btn" data-testid=id::PDF_OPEN on:click=open>{t(T::PdfOpen)}</button>
                </div>
            })}
            {move || url.get().map(|u| view! {
                <iframe class="pdf-frame" data-testid=id::PDF_FRAME src=u title=move || tr(title)></iframe>
            })}
        </div>
    }
}
