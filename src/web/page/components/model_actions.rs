//! The model as a file: download it, or open one (made here, on another machine, or by
//! `whisker train`).

use crate::web::page::actions::{export_model, open_model, picked_files};
use crate::web::page::state::{AppState, ModelOrigin};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn ModelActions() -> impl IntoView {
    let state = expect_context::<AppState>();
    let has_model = move || state.model.with(Option::is_some);
    let open_disabled = move || {
        !state
            .load
            .with(|l| *l == crate::web::page::state::LoadState::Ready)
            || state.is_training()
    };
    let on_open = move |ev: web_sys::Event| {
        if let Some(file) = picked_files(&ev).into_iter().next() {
            spawn_local(open_model(state, file));
        }
    };
    let opened_from = move || {
        state.model.with(|m| match m.as_ref().map(|m| &m.origin) {
            Some(ModelOrigin::Opened { file_name }) => Some(file_name.clone()),
            _ => None,
        })
    };
    view! {
        <div class="model-actions">
            <button
                class="button secondary"
                type="button"
                data-testid="export-model"
                disabled=move || !has_model() || state.is_training()
                title="Save the model as a file, to open it later here or with the whisker command"
                on:click=move |_| spawn_local(export_model(state))
            >
                "Download model"
            </button>
            <label class="button secondary file-button" class:disabled=open_disabled>
                "Open a model…"
                <input
                    class="visually-hidden"
                    type="file"
                    accept=".safetensors"
                    data-testid="import-model"
                    disabled=open_disabled
                    on:change=on_open
                />
            </label>
        </div>
        {move || {
            opened_from()
                .map(|name| {
                    view! {
                        <p class="hint" data-testid="model-source">
                            "Using the model from " <strong>{name}</strong> "."
                        </p>
                    }
                })
        }}
    }
}
