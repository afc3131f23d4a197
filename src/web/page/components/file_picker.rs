//! A drop zone with a file picker inside: click to pick photos, or drop them on it.

use crate::web::page::actions::{files_of, picked_files};
use leptos::prelude::*;

#[component]
pub fn FilePicker(
    /// Called with the picked or dropped files.
    #[prop(into)]
    on_files: Callback<Vec<web_sys::File>>,
    /// `data-testid` of the `<input type=file>`.
    testid: &'static str,
    /// Main text.
    #[prop(into)]
    label: String,
    /// Smaller text below.
    #[prop(into, optional)]
    hint: String,
    /// When true, nothing can be added.
    #[prop(into, optional)]
    disabled: Signal<bool>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_change = move |ev: web_sys::Event| {
        let files = picked_files(&ev);
        if !files.is_empty() {
            on_files.run(files);
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if disabled.get_untracked() {
            return;
        }
        let files = files_of(ev.data_transfer().and_then(|d| d.files()));
        if !files.is_empty() {
            on_files.run(files);
        }
    };
    view! {
        <label
            class="drop"
            class:dragging=move || dragging.get()
            class:disabled=move || disabled.get()
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                if !disabled.get_untracked() {
                    dragging.set(true);
                }
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <input
                class="visually-hidden"
                type="file"
                accept="image/*"
                multiple
                data-testid=testid
                disabled=move || disabled.get()
                on:change=on_change
            />
            <svg class="drop-icon" viewBox="0 0 24 24" aria-hidden="true">
                <path d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v2a2 2 0 002 2h12a2 2 0 002-2v-2"></path>
            </svg>
            <span class="drop-label">{label}</span>
            <span class="drop-hint">{hint}</span>
        </label>
    }
}
