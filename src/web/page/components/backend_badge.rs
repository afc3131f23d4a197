//! Which backend runs the network: the WebGPU adapter's name, or the CPU and why. `data-engine`
//! says where the engine runs: `"worker"` (a Web Worker, the normal case) or `"page"`.

use crate::web::page::client::in_worker;
use crate::web::page::state::AppState;
use crate::web::page::words;
use leptos::prelude::*;

#[component]
pub fn BackendBadge() -> impl IntoView {
    let state = expect_context::<AppState>();
    let kind = move || state.backend.with(|b| b.as_ref().map(|b| b.kind.id()));
    let text = move || {
        state
            .backend
            .with(|b| b.as_ref().map(words::backend_label))
            .unwrap_or_else(|| "Looking for a GPU…".to_string())
    };
    let note = move || state.backend.with(|b| b.as_ref().map(words::backend_note));
    let engine = move || {
        state.backend.with(|b| {
            b.as_ref()
                .map(|_| if in_worker() { "worker" } else { "page" })
        })
    };
    view! {
        <div
            class="badge"
            class:badge-gpu=move || kind() == Some("webgpu")
            class:badge-cpu=move || kind() == Some("cpu")
            data-testid="backend"
            data-backend=kind
            data-engine=engine
            title=note
        >
            <span class="badge-dot" aria-hidden="true"></span>
            <span class="badge-text">{text}</span>
        </div>
    }
}
