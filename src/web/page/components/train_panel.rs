//! Train: the button, the phases with a progress bar, the live curves, the settings.

use super::curves::Curves;
use super::progress_bar::ProgressBar;
use super::settings::Settings;
use crate::web::page::actions::{stop, train};
use crate::web::page::compare::busy;
use crate::web::page::state::{AppState, LoadState, TrainStatus};
use crate::web::page::words;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn TrainPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let ready = move || state.load.get() == LoadState::Ready;
    let running = move || state.is_training();
    let summary = move || {
        let (classes, photos) = state.classes.with(|c| {
            (
                c.len(),
                c.iter().map(|c| c.photos.with(Vec::len)).sum::<usize>(),
            )
        });
        let base = format!("{classes} classes · {}", words::photos(photos));
        match state.load.get() {
            LoadState::Ready => base,
            LoadState::Failed(_) => format!("{base} · the network could not be loaded"),
            _ => format!("{base} · waiting for the network to load"),
        }
    };
    let percent = Signal::derive(move || match state.train.get() {
        TrainStatus::Running(v) => v.percent,
        TrainStatus::Finished => 100.0,
        _ => 0.0,
    });
    let progress_label = Signal::derive(move || match state.train.get() {
        TrainStatus::Running(v) => format!("{}: {}", v.title, v.detail),
        TrainStatus::Finished => "Training finished".to_string(),
        _ => "Training".to_string(),
    });
    let has_run = move || state.report.with(Option::is_some);
    view! {
        <div class="card train-card">
            <div class="train-actions">
                <button
                    class="button primary"
                    type="button"
                    data-testid="train"
                    disabled=move || !ready() || running() || busy(state)
                    on:click=move |_| spawn_local(train(state))
                >
                    {move || if has_run() { "Train again" } else { "Train" }}
                </button>
                <Show when=running>
                    <button
                        class="button secondary"
                        type="button"
                        data-testid="stop"
                        disabled=move || state.stop_requested.get()
                        on:click=move |_| stop(state)
                    >
                        {move || if state.stop_requested.get() { "Stopping…" } else { "Stop" }}
                    </button>
                </Show>
                <span class="train-summary">{summary}</span>
            </div>
            {move || match state.train.get() {
                TrainStatus::Running(v) => view! {
                    <div class="phase" aria-live="polite">
                        <strong>{v.title}</strong>
                        <span>{v.detail}</span>
                    </div>
                }
                .into_any(),
                TrainStatus::Stopped => view! {
                    <p class="note" data-testid="train-stopped">
                        {words::STOPPED_BEFORE_TRAINING}
                    </p>
                }
                .into_any(),
                TrainStatus::Failed(message) => view! {
                    <p class="error" role="alert" data-testid="train-error">
                        {message}
                    </p>
                }
                .into_any(),
                _ => ().into_any(),
            }}
            <Show when=move || {
                matches!(state.train.get(), TrainStatus::Running(_) | TrainStatus::Finished)
            }>
                <ProgressBar percent=percent label=progress_label testid="train-progress" />
            </Show>
            <Show when=move || state.history.with(|h| !h.is_empty())>
                <Curves points=state.history planned=state.planned_epochs />
            </Show>
            <Settings />
        </div>
    }
}
