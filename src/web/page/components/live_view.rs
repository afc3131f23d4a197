//! Live: the trained model on the camera, continuously. `live-toggle` starts and stops it;
//! `live-prediction` carries the current top class in `data-class` and its probability in
//! `data-prob`, with the top classes as confidence bars and the update rate.

use super::camera_view::CameraView;
use crate::core::metrics::argmax;
use crate::web::page::camera::{CameraState, CameraUser};
use crate::web::page::live::{self, LiveState};
use crate::web::page::state::AppState;
use crate::web::page::words;
use crate::web::protocol::Prediction;
use leptos::html::{Div, Video};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Classes shown with a bar, most likely first.
const SHOWN_CLASSES: usize = 3;

#[component]
pub fn LiveView() -> impl IntoView {
    let state = expect_context::<AppState>();
    let camera = CameraState::from_context();
    let live = LiveState::new();
    let video = NodeRef::<Video>::new();
    let view = NodeRef::<Div>::new();
    let on = move || live.on.get();
    let usable = move || state.report.with(Option::is_some) && !state.is_training();
    let toggle = move |_| {
        if live.on.get_untracked() {
            live::stop(camera, live);
        } else {
            spawn_local(live::run(state, camera, live, video));
        }
    };
    // On a phone the view opens below the fold: once the first answer is drawn (the view has its
    // full height then), bring the picture and the answer on screen, bottom edge at the bottom.
    Effect::new(move |_| {
        if live.on.get()
            && live.updates.get() == 1
            && let Some(view) = view.get_untracked()
        {
            view.scroll_into_view_with_bool(false);
        }
    });
    on_cleanup(move || live::stop(camera, live));
    view! {
        <div class="live" node_ref=view>
            <button
                class="button live-toggle"
                class:primary=on
                type="button"
                data-testid="live-toggle"
                aria-pressed=move || on().to_string()
                disabled=move || !on() && !usable()
                on:click=toggle
            >
                <svg class="camera-icon" viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M4 8h3l2-3h6l2 3h3a1 1 0 011 1v9a1 1 0 01-1 1H4a1 1 0 01-1-1V9a1 1 0 011-1z"></path>
                    <circle cx="12" cy="13" r="3.5"></circle>
                </svg>
                {move || if on() { "Stop the live camera" } else { "Try it live with the camera" }}
            </button>
            <Show when=on>
                <CameraView user=CameraUser::Live video=video />
                <LiveResult live=live />
            </Show>
            {move || {
                live.problem
                    .get()
                    .or_else(|| camera.problem_for(CameraUser::Live))
                    .map(|text| {
                        view! {
                            <p class="problem camera-problem" role="alert" data-testid="live-problem">
                                {text}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The latest answer: the top class in words, bars for the most likely classes, the rate.
#[component]
fn LiveResult(live: LiveState) -> impl IntoView {
    let top = move || {
        live.result.with(|r| {
            r.as_ref().map(|p| {
                let i = argmax(&p.probabilities);
                (
                    p.classes.get(i).cloned().unwrap_or_default(),
                    p.probabilities.get(i).copied().unwrap_or(0.0),
                )
            })
        })
    };
    let bars = move || {
        live.result
            .get()
            .map(|p| ranked(&p))
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, (name, p))| {
                view! {
                    <li class="prob" class:top=i == 0>
                        <span class="name">{name}</span>
                        <span class="bar">
                            <span class="bar-fill" style:width=format!("{:.1}%", p * 100.0)></span>
                        </span>
                        <span class="value">{words::percent(p)}</span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <div
            class="live-prediction"
            data-testid="live-prediction"
            data-class=move || top().map(|(c, _)| c)
            data-prob=move || top().map(|(_, p)| format!("{p:.4}"))
            data-updates=move || live.updates.get()
            data-rate=move || live.rate.get().map(|r| format!("{r:.2}"))
        >
            <p class="verdict" aria-live="polite">
                {move || match top() {
                    Some((class, p)) => view! {
                        <strong>{class}</strong>
                        <span>{words::percent(p)}</span>
                    }
                    .into_any(),
                    None => view! { <span>{words::live_waiting()}</span> }.into_any(),
                }}
            </p>
            <ul class="probs">{bars}</ul>
            // Its line is there from the start (the rate needs two answers), so the view keeps
            // its height and stays on screen once scrolled there.
            <p class="live-rate">
                {move || live.rate.get().map(words::live_rate).unwrap_or_else(|| "\u{a0}".into())}
            </p>
        </div>
    }
}

/// The most likely classes with their probabilities, most likely first.
fn ranked(p: &Prediction) -> Vec<(String, f32)> {
    let mut all: Vec<(String, f32)> = p
        .classes
        .iter()
        .cloned()
        .zip(p.probabilities.iter().copied())
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    all.truncate(SHOWN_CLASSES);
    all
}
