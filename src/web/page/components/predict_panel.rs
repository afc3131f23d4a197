//! Try it: new photos and their class probabilities, or the live camera.

use super::file_picker::FilePicker;
use super::live_view::LiveView;
use super::model_actions::ModelActions;
use crate::web::page::actions::{predict, remove_prediction};
use crate::web::page::state::{AppState, PredictionRow, PredictionStatus};
use crate::web::page::words;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
fn PredictionCard(row: PredictionRow) -> impl IntoView {
    let state = expect_context::<AppState>();
    let key = row.key;
    let remove = move |_| remove_prediction(state, key);
    let close = view! {
        <button class="thumb-remove" type="button" aria-label="Remove" title="Remove" on:click=remove>
            "×"
        </button>
    };
    let file = row.file_name.clone();
    let alt = row.file_name.clone();
    match row.status {
        PredictionStatus::Pending => view! {
            <li class="prediction pending" data-testid="prediction-pending" data-file=file>
                <img src=row.thumb.to_string() alt=alt />
                <div class="prediction-body">
                    <span class="file">{row.file_name}</span>
                    <span class="pending"><span class="spinner" aria-hidden="true"></span>"Looking…"</span>
                </div>
            </li>
        }
        .into_any(),
        PredictionStatus::Failed(message) => view! {
            <li class="prediction failed" data-testid="prediction-error" data-file=file>
                <img src=row.thumb.to_string() alt=alt />
                <div class="prediction-body">
                    <span class="file">{row.file_name}</span>
                    <span class="error">{message}</span>
                </div>
                {close}
            </li>
        }
        .into_any(),
        PredictionStatus::Done { classes, probabilities } => {
            let top = crate::core::metrics::argmax(&probabilities);
            let top_class = classes.get(top).cloned().unwrap_or_default();
            let top_prob = probabilities.get(top).copied().unwrap_or(0.0);
            let top_class_attr = top_class.clone();
            let bars = classes
                .iter()
                .zip(&probabilities)
                .enumerate()
                .map(|(i, (c, &p))| {
                    view! {
                        <li class="prob" class:top=i == top>
                            <span class="name">{c.clone()}</span>
                            <span class="bar">
                                <span class="bar-fill" style:width=format!("{:.1}%", p * 100.0)></span>
                            </span>
                            <span class="value">{words::percent(p)}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <li
                    class="prediction"
                    data-testid="prediction"
                    data-file=file
                    data-class=top_class_attr
                    data-prob=format!("{top_prob:.4}")
                >
                    <img src=row.thumb.to_string() alt=alt />
                    <div class="prediction-body">
                        <span class="verdict">
                            <strong>{top_class}</strong>
                            <span>{words::percent(top_prob)}</span>
                        </span>
                        <span class="file">{row.file_name}</span>
                        <ul class="probs">{bars}</ul>
                    </div>
                    {close}
                </li>
            }
            .into_any()
        }
    }
}

#[component]
pub fn PredictPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let has_model = move || state.model.with(Option::is_some);
    let stale_classes = move || {
        state
            .model_is_stale()
            .then(|| state.model.with(|m| m.as_ref().map(|m| m.classes.clone())))
            .flatten()
    };
    let disabled = Signal::derive(move || !has_model() || state.is_training());
    let hint = move || {
        if has_model() {
            "Drop new photos here to see what your model thinks."
        } else {
            "Train a model first, then try it on new photos."
        }
    };
    view! {
        <div class="card predict-card">
            <FilePicker
                testid="predict-photos"
                label="Try photos"
                hint="Click to choose, or drop them here"
                disabled=disabled
                on_files=move |files| spawn_local(predict(state, files))
            />
            <p class="hint">{hint}</p>
            <LiveView />
            {move || {
                stale_classes()
                    .map(|classes| {
                        view! {
                            <p class="note" data-testid="predict-stale">
                                {words::stale_model(&classes)}
                            </p>
                        }
                    })
            }}
            <ModelActions />
            <ul class="predictions">
                <For
                    each=move || state.predictions.get()
                    key=|r| (r.key, std::mem::discriminant(&r.status))
                    let:row
                >
                    <PredictionCard row=row />
                </For>
            </ul>
        </div>
    }
}
