//! The whole project as a file (to move it to another machine or browser), and starting over.

use crate::web::page::actions::picked_files;
use crate::web::page::project::{export_project, import_project, start_over};
use crate::web::page::state::{AppState, LoadState};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn ProjectActions() -> impl IntoView {
    let state = expect_context::<AppState>();
    let busy = move || state.is_training() || state.pending_photos() > 0;
    let cannot_open = move || busy() || !state.load.with(|l| *l == LoadState::Ready);
    let on_open = move |ev: web_sys::Event| {
        if let Some(file) = picked_files(&ev).into_iter().next() {
            spawn_local(import_project(state, file));
        }
    };
    view! {
        <div class="project-actions">
            <button
                class="button link"
                type="button"
                data-testid="export-project"
                disabled=busy
                title="Save the classes, photos, settings and model as one file, to open in another browser"
                on:click=move |_| spawn_local(export_project(state))
            >
                "Download project"
            </button>
            <label class="button link file-button" class:disabled=cannot_open>
                "Open project…"
                <input
                    class="visually-hidden"
                    type="file"
                    accept=".zip"
                    data-testid="import-project"
                    disabled=cannot_open
                    on:change=on_open
                />
            </label>
            <button
                class="button link start-over"
                type="button"
                data-testid="start-over"
                disabled=busy
                title="Delete every class, photo and the model kept in this browser"
                on:click=move |_| spawn_local(start_over(state))
            >
                "Start over"
            </button>
        </div>
    }
}
