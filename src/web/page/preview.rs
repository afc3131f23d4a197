//! The expected accuracy before training: whenever the photos or the classes settle, the engine
//! embeds the new photos (work a training would do anyway, and then reuses) and answers how well
//! the classes separate in the pretrained network's features (leave-one-out k-NN), and where each
//! photo falls on the feature map. Shown by the `TransferPreview` and `FeatureMap` components.

use super::client::client;
use super::state::{AppState, LoadState, MapView, Preview, class_jobs};
use crate::core::knn::Hint;
use crate::ml::reports::SessionError;
use crate::web::glue::yield_now::sleep;
use crate::web::protocol::{EngineError, Reply, Request};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::Cell;

/// How long the photos must stay unchanged before the engine is asked, in milliseconds (a
/// folder dropped in arrives one photo at a time).
const SETTLE_MS: u32 = 400;

thread_local! {
    /// The latest request's number: an older answer is not shown.
    static LATEST: Cell<u64> = const { Cell::new(0) };
}

/// Asks for the expected accuracy whenever the classes or photos change, the network is ready
/// and no training runs (call once, in the app's reactive scope).
pub fn watch(state: AppState) {
    Effect::new(move |_| {
        let snapshot = state.snapshot();
        let ready = state.load.get() == LoadState::Ready;
        let pending = state.pending_photos() > 0;
        // The engine refuses to embed photos while it trains or compares: ask again after.
        if !ready || pending || super::compare::busy(state) {
            return;
        }
        let turn = LATEST.with(|l| {
            l.set(l.get() + 1);
            l.get()
        });
        spawn_local(async move {
            sleep(SETTLE_MS).await;
            if LATEST.with(Cell::get) != turn {
                return;
            }
            let classes = class_jobs(&snapshot);
            let names: Vec<String> = snapshot.into_iter().map(|(name, _)| name).collect();
            let photos: usize = classes.iter().map(|c| c.photos.len()).sum();
            let mut replies = client().call(Request::Preview { classes }, None);
            let answer = replies.next().await;
            if LATEST.with(Cell::get) != turn {
                return;
            }
            let preview = match answer {
                Some(Reply::Previewed(Ok(preview))) => preview,
                // Ended by a training or newer photos: the next answer comes.
                Some(Reply::Previewed(Err(EngineError::Session(SessionError::Stopped)))) => return,
                other => {
                    log::warn!("no expected accuracy: {other:?}");
                    return;
                }
            };
            state.feature_map.set(MapView {
                classes: names.clone(),
                points: preview.map,
                explained: preview.explained,
            });
            match preview.estimate {
                Some(estimate) => {
                    let hint = estimate.hints().into_iter().next().map(|h| match h {
                        Hint::FewPhotos { class, photos } => {
                            super::words::few_photos_hint(&names[class], photos)
                        }
                        Hint::LookAlike { a, b } => {
                            super::words::look_alike_hint(&names[a], &names[b])
                        }
                    });
                    state.preview.set(Preview::Expected {
                        accuracy: estimate.accuracy,
                        photos,
                        hint,
                    });
                }
                None => state.preview.set(Preview::TooFewPhotos),
            }
        });
    });
}
