//! After training, on the same photos, split and settings: the head trained without transfer
//! (on a random backbone) and on each cut point of the backbone. Each runs in the engine like a
//! training (progress, `Stop`), and never replaces the model. Shown by the `TransferCompare` and
//! `LayerCompare` components.

use super::client::client;
use super::state::{AppState, Comparison};
use super::words;
use crate::ml::progress::{Phase, Progress};
use crate::web::glue::js::now_ms;
use crate::web::protocol::{Reply, Request};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// How often a running comparison's progress line is redrawn at most, in milliseconds.
const SHOW_EVERY_MS: f64 = 100.0;

/// Which comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// With vs without transfer.
    Baseline,
    /// Compare layers.
    Layers,
}

/// Whether a comparison or a training keeps the engine busy.
pub fn busy(state: AppState) -> bool {
    state.is_training()
        || state.comparisons.with(|c| {
            matches!(c.baseline, Comparison::Running(_))
                || matches!(c.layers, Comparison::Running(_))
        })
}

/// Sets `which`'s state to `Running(text)`.
fn running(state: AppState, which: Which, text: String) {
    state.comparisons.update(|c| match which {
        Which::Baseline => c.baseline = Comparison::Running(text),
        Which::Layers => c.layers = Comparison::Running(text),
    });
}

/// Sets `which`'s state to `Failed(text)`.
fn failed(state: AppState, which: Which, text: String) {
    state.comparisons.update(|c| match which {
        Which::Baseline => c.baseline = Comparison::Failed(text),
        Which::Layers => c.layers = Comparison::Failed(text),
    });
}

/// What a running comparison is doing, in words.
fn doing(p: &Progress) -> String {
    match p.phase {
        Phase::Extracting => format!("Looking at your photos: {} of {}", p.done, p.total),
        _ => match &p.epoch {
            Some(e) => format!("Training: epoch {} done", e.epoch),
            None => "Training".into(),
        },
    }
}

/// Runs `which` in the engine, following its progress in `state.comparisons`.
pub fn run(state: AppState, which: Which) {
    if busy(state) || !state.comparisons.with_untracked(|c| c.available) {
        return;
    }
    running(state, which, "Starting".into());
    let request = match which {
        Which::Baseline => Request::Baseline,
        Which::Layers => Request::CompareLayers,
    };
    spawn_local(async move {
        let mut replies = client().call(request, None);
        let mut shown_at = f64::NEG_INFINITY;
        while let Some(reply) = replies.next().await {
            // A training started meanwhile: its results replace what this compared with.
            if !state.comparisons.with_untracked(|c| c.available) {
                return;
            }
            match reply {
                // A line of text: redrawn at most every SHOW_EVERY_MS, the engine sends one per
                // step.
                Reply::Comparing(p) if now_ms() - shown_at >= SHOW_EVERY_MS => {
                    shown_at = now_ms();
                    running(state, which, doing(&p));
                }
                Reply::Comparing(_) => {}
                Reply::Baselined(result) => {
                    let value = match result {
                        Ok(report) => Comparison::Done(report),
                        Err(e) => Comparison::Failed(words::compare_error(&e)),
                    };
                    state.comparisons.update(|c| c.baseline = value);
                }
                Reply::LayersCompared(result) => {
                    let value = match result {
                        Ok(rows) => Comparison::Done(rows),
                        Err(e) => Comparison::Failed(words::compare_error(&e)),
                    };
                    state.comparisons.update(|c| c.layers = value);
                }
                Reply::Crashed(detail) => failed(state, which, words::crashed(&detail)),
                other => log::warn!("unexpected reply to a comparison: {other:?}"),
            }
        }
    });
}
