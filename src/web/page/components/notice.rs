//! The notice line: news about the model or the project ("opened …"), or a problem with it,
//! until dismissed or replaced.

use crate::web::page::state::AppState;
use leptos::prelude::*;

#[component]
pub fn NoticeBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        state.notice.get().map(|notice| {
            view! {
                <div
                    class="notice"
                    class:problem=notice.problem
                    data-testid="notice"
                    data-problem=notice.problem.to_string()
                    role=if notice.problem { "alert" } else { "status" }
                >
                    <span>{notice.text}</span>
                    <button
                        class="notice-close"
                        type="button"
                        aria-label="Dismiss"
                        title="Dismiss"
                        on:click=move |_| state.notice.set(None)
                    >
                        "×"
                    </button>
                </div>
            }
        })
    }
}
