//! Loading the network: download progress, or what went wrong.

use super::progress_bar::ProgressBar;
use crate::web::page::state::{AppState, LoadState};
use crate::web::page::words;
use leptos::prelude::*;

#[component]
pub fn LoadBanner() -> impl IntoView {
    let state = expect_context::<AppState>();
    let percent = Signal::derive(move || match state.load.get() {
        LoadState::Device => 0.0,
        LoadState::Download { received, total } => match total {
            Some(t) if t > 0 => 90.0 * received as f64 / t as f64,
            _ => 45.0,
        },
        LoadState::Preparing => 95.0,
        LoadState::Ready | LoadState::Failed(_) => 100.0,
    });
    let label = Signal::derive(move || match state.load.get() {
        LoadState::Device => "Starting up…".to_string(),
        LoadState::Download { received, total } => match total {
            Some(t) => format!(
                "Downloading the pretrained network: {} of {}",
                words::bytes(received),
                words::bytes(t)
            ),
            None => format!(
                "Downloading the pretrained network: {}",
                words::bytes(received)
            ),
        },
        LoadState::Preparing => "Preparing the network…".to_string(),
        LoadState::Ready => "Ready".to_string(),
        LoadState::Failed(_) => "Failed".to_string(),
    });
    move || match state.load.get() {
        LoadState::Ready => ().into_any(),
        LoadState::Failed(message) => view! {
            <div class="banner banner-error" role="alert" data-testid="load-error">
                <strong>"Whisker could not start. "</strong>
                <span>{message}</span>
            </div>
        }
        .into_any(),
        _ => view! {
            <div class="banner" data-testid="loading">
                <span class="banner-text">{label}</span>
                <ProgressBar percent=percent label=label />
                <span class="banner-hint">
                    "You can add photos meanwhile. They stay on this computer."
                </span>
            </div>
        }
        .into_any(),
    }
}
