//! When the engine dies (out of memory, a panic, a lost GPU device), the user's work is not lost:
//! the page starts a new engine, hands it the photos it still holds (their compact copies, under
//! the same ids) and the model, and says what happened in one sentence. A crash on WebGPU
//! restarts on the CPU path. After a few crashes the page stops trying and says so.

use super::actions::load_network;
use super::client::client;
use super::project;
use super::state::*;
use super::words;
use crate::web::protocol::{BackendKind, BackendRequest, Reply, Request};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::Cell;
use std::rc::Rc;

/// Restarts per page load before giving up (something is wrong beyond one bad moment).
const MAX_RESTARTS: u32 = 3;

thread_local! {
    static RESTARTS: Cell<u32> = const { Cell::new(0) };
}

/// Restarts the engine whenever it dies once loaded (call once). An engine that dies while
/// loading is not restarted: the same would happen again, and the page says so instead.
pub fn watch(state: AppState) {
    client().on_crash(Rc::new(move |message| {
        if state.load.get_untracked() == LoadState::Ready {
            spawn_local(recover(state, message));
        }
    }));
}

async fn recover(state: AppState, message: String) {
    log::warn!("restarting the engine after: {message}");
    let restarts = RESTARTS.with(|r| {
        r.set(r.get() + 1);
        r.get()
    });
    if restarts > MAX_RESTARTS {
        state
            .notice
            .set(Some(Notice::problem(words::crashed_for_good())));
        return;
    }
    let on_gpu = state
        .backend
        .with_untracked(|b| b.as_ref().is_some_and(|b| b.kind == BackendKind::WebGpu));
    if let Err(why) = client().restart() {
        log::error!("no new engine: {why}");
        state
            .notice
            .set(Some(Notice::problem(words::crashed_for_good())));
        return;
    }
    state.notice.set(Some(Notice::problem(words::RESTARTING)));
    // The new engine has the model but not the run it came from: nothing to compare with.
    state.comparisons.set(Comparisons::none());
    state.load.set(LoadState::Device);
    let backend = on_gpu.then_some(BackendRequest::Cpu);
    // The engine keeps photos while it loads the network.
    let (ready, photos) = futures::join!(load_network(state, backend), replay_photos(state));
    if !ready {
        return;
    }
    let model = replay_model(state).await;
    state
        .notice
        .set(Some(Notice::news(words::restarted(photos, model, on_gpu))));
}

/// Hands every photo the page shows to the new engine; returns how many it kept.
async fn replay_photos(state: AppState) -> usize {
    let mut kept = 0;
    for class in state.classes.get_untracked() {
        for photo in class.photos.get_untracked() {
            let mut replies = client().call(
                Request::AddPhoto {
                    photo: photo.id,
                    name: photo.file_name.clone(),
                },
                Some(photo.source.as_ref()),
            );
            match replies.next().await {
                Some(Reply::PhotoAdded) => kept += 1,
                other => log::warn!("{} did not come back: {other:?}", photo.file_name),
            }
        }
    }
    kept
}

/// Opens the model the page holds in the new engine; returns whether there was one.
async fn replay_model(state: AppState) -> bool {
    if state.model.with_untracked(Option::is_none) {
        return false;
    }
    let Some(bytes) = project::held_model() else {
        state.model.set(None);
        return false;
    };
    let mut replies = client().call(
        Request::OpenModel {
            name: "model.safetensors".into(),
        },
        Some(bytes.as_ref()),
    );
    match replies.next().await {
        Some(Reply::ModelOpened(_)) => true,
        other => {
            log::warn!("the model did not come back: {other:?}");
            state.model.set(None);
            false
        }
    }
}
