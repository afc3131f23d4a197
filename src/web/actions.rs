//! What the buttons do: loading the engine, adding photos, training and predicting. Async
//! functions that update the [`AppState`] signals as they go.

use super::engine::{ClassJob, Engine, LoadStep, TrainEvent, engine};
use super::glue::yield_now::yield_now;
use super::photos;
use super::state::*;
use super::words;
use crate::ml::pipeline::Phase;
use leptos::prelude::*;
use std::cell::Cell;

/// Loads the network (device, weights, warm-up) and marks the app ready.
pub async fn load_engine(state: AppState) {
    let request = super::engine::BackendRequest::from_location();
    let result = Engine::load(
        request,
        |info| state.backend.set(Some(info.clone())),
        |step| {
            state.load.set(match step {
                LoadStep::Device => LoadState::Device,
                LoadStep::Download { received, total } => LoadState::Download { received, total },
                LoadStep::Building | LoadStep::WarmingUp => LoadState::Preparing,
            })
        },
    )
    .await;
    match result {
        Ok(_) => state.load.set(LoadState::Ready),
        Err(e) => {
            log::error!("loading failed: {e}");
            state.load.set(LoadState::Failed(words::load_error(&e)));
        }
    }
}

/// Decodes and keeps `files` as photos of `class`, one at a time; unusable files are listed in
/// the class's problems.
pub async fn add_photos(class: ClassEntry, files: Vec<web_sys::File>) {
    if files.is_empty() {
        return;
    }
    class.problems.set(Vec::new());
    class.pending.update(|p| *p += files.len());
    for file in files {
        let name = file.name();
        match photos::prepare(&file, &name).await {
            Ok(input) => {
                let id = photos::next_id();
                photos::keep(id, input);
                let thumb = photos::object_url(&file);
                class.photos.update(|v| {
                    v.push(Photo {
                        id,
                        file_name: name,
                        thumb,
                    })
                });
            }
            Err(e) => {
                log::warn!("{e}");
                class.problems.update(|p| p.push(words::photo_error(&e)));
            }
        }
        class.pending.update(|p| *p = p.saturating_sub(1));
        yield_now().await;
    }
}

/// The files of a `FileList` (file input or drop).
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

fn phase_title(phase: Phase) -> &'static str {
    match phase {
        Phase::Extracting => "Looking at your photos",
        Phase::Training => "Training",
        Phase::FineTuning => "Fine-tuning",
        Phase::Refitting => "Final pass on all your photos",
    }
}

/// Trains on the current classes with the current settings.
pub async fn train(state: AppState) {
    if state.is_training() {
        return;
    }
    let Some(engine) = engine() else {
        state.train.set(TrainStatus::Failed(
            "The network is still loading. Wait a moment and press Train again.".into(),
        ));
        return;
    };
    if state.pending_photos() > 0 {
        state.train.set(TrainStatus::Failed(
            "Some photos are still being read. Wait until they appear, then press Train.".into(),
        ));
        return;
    }
    let settings = match state.settings.parse() {
        Ok(s) => s,
        Err(words) => {
            state.train.set(TrainStatus::Failed(words));
            return;
        }
    };
    let snapshot = state.snapshot();
    let jobs: Vec<ClassJob> = snapshot
        .iter()
        .map(|(name, photos)| ClassJob {
            name: name.clone(),
            photos: photos.clone(),
        })
        .collect();

    // Slots of the bar: extraction, head training, fine-tuning (if asked), the final refit on all
    // photos (if validating). Each takes an equal share; within a slot the bar follows its units.
    let fine_tuning = settings.fine_tune_blocks > 0;
    let refitting = settings.refit && settings.val_share > 0.0;
    let slots = 2.0 + f64::from(u8::from(fine_tuning)) + f64::from(u8::from(refitting));
    state.stop_requested.set(false);
    state.history.set(Vec::new());
    state.planned_epochs.set(
        settings.head.epochs
            + if fine_tuning {
                settings.fine_tune.epochs
            } else {
                0
            },
    );
    state.train.set(TrainStatus::Running(RunView {
        title: phase_title(Phase::Extracting).into(),
        detail: "Starting…".into(),
        percent: 0.0,
    }));
    let stop = Cell::new(false);
    let result = engine
        .train(&jobs, &settings, &stop, |event| {
            if state.stop_requested.get_untracked() {
                stop.set(true);
            }
            let view = match event {
                TrainEvent::Extracting { done, total } => RunView {
                    title: phase_title(Phase::Extracting).into(),
                    detail: format!("Photo {done} of {total}"),
                    percent: 100.0 * (done as f64 / total.max(1) as f64) / slots,
                },
                TrainEvent::Step(p) => {
                    let unit = p.done as f64 / p.total.max(1) as f64;
                    match p.phase {
                        Phase::Refitting => RunView {
                            title: phase_title(p.phase).into(),
                            detail: format!("Step {} of {}", p.done, p.total),
                            percent: 100.0 * (slots - 1.0 + unit) / slots,
                        },
                        phase => {
                            if let Some(e) = &p.epoch {
                                state.history.update(|h| {
                                    h.push(EpochPoint {
                                        phase,
                                        epoch: e.epoch,
                                        train_loss: e.train_loss,
                                        val_loss: e.val_loss,
                                        train_accuracy: e.train_accuracy,
                                        val_accuracy: e.val_accuracy,
                                    })
                                });
                            }
                            let (slot, epochs) = if phase == Phase::FineTuning {
                                (2.0, settings.fine_tune.epochs)
                            } else {
                                (1.0, settings.head.epochs)
                            };
                            let finished = state
                                .history
                                .with_untracked(|h| h.iter().filter(|x| x.phase == phase).count());
                            let epoch = if p.epoch.is_some() {
                                finished
                            } else {
                                finished + 1
                            };
                            RunView {
                                title: phase_title(phase).into(),
                                detail: format!(
                                    "Epoch {} of {epochs}",
                                    epoch.clamp(1, epochs.max(1))
                                ),
                                percent: 100.0 * (slot + unit) / slots,
                            }
                        }
                    }
                }
            };
            state.train.set(TrainStatus::Running(view));
            if state.stop_requested.get_untracked() {
                stop.set(true);
            }
        })
        .await;
    // Stop is read through the signal, so a click between events still counts.
    match result {
        Ok(report) => {
            if super::engine::trace() {
                log::info!("trace: report received");
            }
            let evaluation = report.validation.as_ref();
            let classes = report.class_names.len();
            state.report.set(Some(Report {
                classes: report.class_names.clone(),
                val_accuracy: evaluation.map(|v| v.confusion.accuracy()),
                per_class: evaluation
                    .map(|v| v.confusion.per_class_accuracy())
                    .unwrap_or_else(|| vec![None; classes]),
                confusion: evaluation
                    .map(|v| v.confusion.counts.clone())
                    .unwrap_or_else(|| vec![vec![0; classes]; classes]),
                stats: report.stats,
                backend: engine.backend().kind.id(),
            }));
            state.trained_on.set(Some(snapshot));
            yield_now().await;
            state.train.set(TrainStatus::Finished);
            if super::engine::trace() {
                log::info!("trace: results shown");
            }
        }
        Err(super::engine::TrainError::Stopped) => {
            state.train.set(TrainStatus::Idle);
        }
        Err(e) => {
            log::warn!("training: {e}");
            state.train.set(TrainStatus::Failed(words::train_error(&e)));
        }
    }
}

/// Predicts the class of each file, one at a time, appending a row per file.
pub async fn predict(state: AppState, files: Vec<web_sys::File>) {
    let mut keys = Vec::new();
    let mut new_rows = Vec::new();
    for file in &files {
        let key = photos::next_id();
        keys.push(key);
        new_rows.push(PredictionRow {
            key,
            file_name: file.name(),
            thumb: photos::object_url(file),
            status: PredictionStatus::Pending,
        });
    }
    // Newest first.
    state.predictions.update(|rows| {
        rows.splice(0..0, new_rows);
    });
    for (file, key) in files.iter().zip(keys) {
        let status = match predict_one(file).await {
            Ok(s) => s,
            Err(words) => PredictionStatus::Failed(words),
        };
        state.predictions.update(|rows| {
            if let Some(row) = rows.iter_mut().find(|r| r.key == key) {
                row.status = status;
            }
        });
        yield_now().await;
    }
}

async fn predict_one(file: &web_sys::File) -> Result<PredictionStatus, String> {
    let engine = engine().ok_or("The network is still loading.")?;
    let input = photos::prepare(file, &file.name())
        .await
        .map_err(|e| words::photo_error(&e))?;
    match engine.predict(&input).await {
        Ok(Some((classes, probabilities))) => Ok(PredictionStatus::Done {
            classes,
            probabilities,
        }),
        Ok(None) => Err("Train a model first, then try your photos.".into()),
        Err(e) => Err(words::ml_error(&e)),
    }
}

/// Removes a prediction row.
pub fn remove_prediction(state: AppState, key: u64) {
    state.predictions.update(|rows| {
        if let Some(i) = rows.iter().position(|r| r.key == key) {
            let row = rows.remove(i);
            photos::revoke_url(&row.thumb);
        }
    });
}
