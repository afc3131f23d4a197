//! The frame of a comparison after training ("without transfer", "compare layers"): a title, what
//! it does, the button that runs it, and its state: running (with Stop), done (the
//! comparison's own view), or why it failed.

use crate::web::page::client::client;
use crate::web::page::compare::{Which, busy, run};
use crate::web::page::state::{AppState, Comparison};
use crate::web::protocol::Request;
use leptos::prelude::*;

#[component]
pub fn CompareCard<T: Clone + 'static>(
    which: Which,
    /// The section's `data-testid`.
    testid: &'static str,
    title: &'static str,
    hint: &'static str,
    /// The run button's text and `data-testid`.
    button: &'static str,
    button_testid: &'static str,
    /// The comparison's state, as of now.
    state: Comparison<T>,
    /// The view of a finished comparison.
    done: impl FnOnce(T) -> AnyView,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let body = match state {
        Comparison::Idle => ().into_any(),
        Comparison::Running(text) => view! {
            <p class="phase" aria-live="polite">
                {text}
                <button
                    class="button link"
                    type="button"
                    data-testid="compare-stop"
                    on:click=move |_| client().send(Request::Stop, None)
                >
                    "Stop"
                </button>
            </p>
        }
        .into_any(),
        Comparison::Done(value) => done(value),
        Comparison::Failed(text) => view! {
            <p class="error" role="alert" data-testid="compare-error">{text}</p>
        }
        .into_any(),
    };
    view! {
        <section class="card compare" data-testid=testid>
            <h3>{title}</h3>
            <p class="step-hint">{hint}</p>
            <button
                class="button secondary"
                type="button"
                data-testid=button_testid
                disabled=move || busy(app)
                on:click=move |_| run(app, which)
            >
                {button}
            </button>
            {body}
        </section>
    }
}
