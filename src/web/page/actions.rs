//! What the buttons do: loading the engine, adding photos, training and predicting. Async
//! functions that send requests to the engine (see `client`) and update the [`AppState`]
//! signals as its replies arrive.

use super::backbone;
use super::client::{Replies, client};
use super::ids;
use super::project;
use super::state::*;
use super::words;
use crate::ml::backbone::BackboneKind;
use crate::ml::file_name::suggested_file_name;
use crate::ml::progress::{Phase, Progress};
use crate::ml::reports::SessionError;
use crate::ml::settings::TrainSettings;
use crate::web::glue::download::save_file;
use crate::web::glue::fetch::fetch_bytes;
use crate::web::glue::js;
use crate::web::glue::yield_now::sleep;
use crate::web::protocol::{BackendRequest, EngineError, LoadStep, Reply, Request};
use futures::{FutureExt, StreamExt};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

/// The backend a query string such as `?backend=cpu&x=1` asks for.
pub fn backend_request(search: &str) -> BackendRequest {
    let value = web_sys::UrlSearchParams::new_with_str(search)
        .ok()
        .and_then(|p| p.get("backend"));
    BackendRequest::parse(value.as_deref())
}

/// The page address's query string.
fn search() -> String {
    js::window().location().search().unwrap_or_default()
}

/// Loads the network (the saved project's, else the one the address asks for, else the
/// default), marks the app ready, then restores the project saved in the browser.
pub async fn load_engine(state: AppState) {
    let saved = project::saved_backbone(state).await;
    if let Some(kind) = saved.or_else(|| backbone::asked_for(&search())) {
        state.backbone.set(kind);
    }
    if load_network(state, None).await {
        project::restore(state).await;
    }
}

/// Loads the chosen network ([`AppState::backbone`]) on `backend` (default: the one the
/// address asks for; an engine that started its device already keeps it): the engine starts
/// its device while the page downloads the weights and hands them over; the engine builds and
/// warms up the network. Returns whether it is ready.
pub async fn load_network(state: AppState, backend: Option<BackendRequest>) -> bool {
    let kind = state.backbone.get_untracked();
    let replies = client().call(
        Request::Load {
            backend: backend.unwrap_or_else(|| backend_request(&search())),
            backbone: kind,
            // Timing traces in the engine's console (`?trace`).
            trace: web_sys::UrlSearchParams::new_with_str(&search()).is_ok_and(|p| p.has("trace")),
        },
        None,
    );
    state.load.set(LoadState::Device);
    futures::join!(download_weights(state, kind), show_loading(state, replies));
    state.load.get_untracked() == LoadState::Ready
}

async fn download_weights(state: AppState, kind: BackboneKind) {
    let result = fetch_bytes(&backbone::weights_url(kind), |received, total| {
        set_load(state, LoadState::Download { received, total })
    })
    .await;
    match result {
        Ok(bytes) => {
            let bytes = js_sys::Uint8Array::from(bytes.as_slice());
            client().send(Request::Weights { backbone: kind }, Some(bytes.as_ref()));
        }
        Err(e) => {
            log::error!("{e}");
            set_load(state, LoadState::Failed(words::fetch_error(&e)));
        }
    }
}

async fn show_loading(state: AppState, mut replies: Replies) {
    while let Some(reply) = replies.next().await {
        match reply {
            Reply::Backend(info) => {
                log::info!("backend: {info:?}");
                state.backend.set(Some(info));
            }
            Reply::Loading(step) => set_load(
                state,
                match step {
                    LoadStep::Device => LoadState::Device,
                    LoadStep::Building | LoadStep::WarmingUp => LoadState::Preparing,
                },
            ),
            Reply::Loaded => set_load(state, LoadState::Ready),
            Reply::LoadFailed(e) => {
                log::error!("loading failed: {e}");
                set_load(state, LoadState::Failed(words::load_error(&e)));
            }
            Reply::Crashed(m) => {
                log::error!("the engine stopped while loading: {m}");
                set_load(state, LoadState::Failed(words::ENGINE_FAILED.into()))
            }
            other => log::warn!("unexpected answer to loading: {other:?}"),
        }
    }
}

/// Moves the loading state on. The download (page) and the device (engine) run at once: a failure
/// stays shown, the device step never hides the download's progress, and once the engine is
/// ready nothing moves it back (it may answer before the download ends when it held that network
/// already: the download's progress and outcome no longer matter).
fn set_load(state: AppState, next: LoadState) {
    let keep = state.load.with_untracked(|now| match now {
        LoadState::Failed(_) => true,
        LoadState::Download { .. } => next == LoadState::Device,
        LoadState::Ready => true,
        _ => false,
    });
    if !keep {
        state.load.set(next);
    }
}

/// Sends `files` to the engine as photos of `class`, one at a time; each appears once the engine
/// has decoded it, and unusable files are listed in the class's problems.
pub async fn add_photos(state: AppState, class: ClassEntry, files: Vec<web_sys::File>) {
    if files.is_empty() {
        return;
    }
    class.problems.set(Vec::new());
    class.pending.update(|p| *p += files.len());
    for file in files {
        add_photo(state, class, file.as_ref(), &file.name(), None).await;
    }
}

/// Sends one photo (counted in `class.pending`) to the engine: a file (`Blob`) or a camera frame
/// (`ImageBitmap`, moved to the engine). Once the engine keeps it, it shows in `class` as the
/// engine's compact copy, which is saved with the project unless `stored` names its saved file
/// already. Returns whether it was added.
pub async fn add_photo(
    state: AppState,
    class: ClassEntry,
    photo: &JsValue,
    name: &str,
    stored: Option<String>,
) -> bool {
    let id = ids::photo_id();
    // A file can stand in for a missing copy; a frame is gone once sent.
    let file = photo.dyn_ref::<web_sys::Blob>().cloned();
    let mut answers = client().call_for_attachments(
        Request::AddPhoto {
            photo: id,
            name: name.to_string(),
        },
        Some(photo),
    );
    let added = match answers.next().await {
        // The class was deleted while the photo was being read.
        Some((Reply::PhotoAdded, _)) if class.deleted.get_untracked() => {
            client().send(Request::Forget { photo: id }, None);
            false
        }
        Some((Reply::PhotoAdded, copy)) => {
            let Some(source) = copy.and_then(|c| c.dyn_into().ok()).or(file) else {
                // The engine always sends a frame's copy (it refuses the frame otherwise).
                log::warn!("no copy of {name} came back");
                client().send(Request::Forget { photo: id }, None);
                class.pending.update(|p| *p = p.saturating_sub(1));
                return false;
            };
            let stored = stored.unwrap_or_else(|| project::save_photo(state, &source));
            let photo = Photo {
                id,
                file_name: name.to_string(),
                thumb: thumb_of(&source),
                source: Held::new(source),
                stored,
            };
            class.photos.update(|v| v.push(photo));
            true
        }
        Some((Reply::PhotoFailed(e), _)) => {
            log::warn!("{e}");
            class.problems.update(|p| p.push(words::photo_error(&e)));
            false
        }
        Some((Reply::Crashed(m), _)) => {
            class.problems.update(|p| p.push(words::crashed(&m)));
            false
        }
        other => {
            log::warn!("unexpected answer to a photo: {other:?}");
            false
        }
    };
    class.pending.update(|p| *p = p.saturating_sub(1));
    added
}

/// The files picked in the `<input type=file>` that fired `ev`; the input is cleared, so
/// picking the same files again fires `change` again.
pub fn picked_files(ev: &web_sys::Event) -> Vec<web_sys::File> {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let files = files_of(input.files());
    input.set_value("");
    files
}

/// The files of a `FileList` (file input or drop).
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

/// Trains on the current classes with the current settings.
pub async fn train(state: AppState) {
    if state.is_training() {
        return;
    }
    if state.load.get_untracked() != LoadState::Ready {
        state.train.set(TrainStatus::Failed(words::train_error(
            &EngineError::NotLoaded,
        )));
        return;
    }
    if state.pending_photos() > 0 {
        state.train.set(TrainStatus::Failed(
            "Some photos are still being read. Wait until they appear, then press Train.".into(),
        ));
        return;
    }
    let settings = match state.settings.parse(state.backbone.get_untracked()) {
        Ok(s) => s,
        Err(words) => {
            state.train.set(TrainStatus::Failed(words));
            return;
        }
    };
    let snapshot = state.snapshot();
    let jobs = class_jobs(&snapshot);

    // Slots of the bar: extraction, head training, fine-tuning (if asked), the final refit on all
    // photos (if validating). Each takes an equal share; within a slot the bar follows its units.
    let fine_tuning = settings.fine_tune_blocks > 0;
    let slots = 2.0 + f64::from(u8::from(fine_tuning)) + f64::from(u8::from(settings.refits()));
    state.stop_requested.set(false);
    state.history.set(Vec::new());
    state.comparisons.set(Comparisons::none());
    state.planned_epochs.set(
        settings.head.epochs
            + if fine_tuning {
                settings.fine_tune.epochs
            } else {
                0
            },
    );
    state.train.set(TrainStatus::Running(RunView {
        title: words::phase_title(Phase::Extracting).into(),
        detail: "Starting…".into(),
        percent: 0.0,
    }));
    let mut replies = client().call(
        Request::Train {
            classes: jobs,
            settings: settings.clone(),
        },
        None,
    );
    let handle = |reply: Reply| match reply {
        Reply::Training(progress) => {
            let view = run_view(state, &settings, slots, progress);
            state.train.set(TrainStatus::Running(view));
        }
        Reply::Trained(report) => {
            let classes = report.classes.len();
            let confusion = report.validation.as_ref();
            state.report.set(Some(Report {
                classes: report.classes.clone(),
                val_accuracy: confusion.map(|c| c.accuracy()),
                per_class: confusion
                    .map(|c| c.per_class_accuracy())
                    .unwrap_or_else(|| vec![None; classes]),
                confusion: confusion
                    .map(|c| c.counts.clone())
                    .unwrap_or_else(|| vec![vec![0; classes]; classes]),
                stats: report.stats,
                backend: state
                    .backend
                    .with_untracked(|b| b.as_ref().map_or("cpu", |b| b.kind.id()))
                    .to_string(),
                backbone: state.backbone.get_untracked(),
                mistakes: report.mistakes,
            }));
            state.comparisons.set(Comparisons {
                available: true,
                ..Comparisons::none()
            });
            state.trained_on.set(Some(snapshot.clone()));
            state.model.set(Some(ModelInfo {
                classes: report.classes,
                origin: ModelOrigin::Trained,
            }));
            state.train.set(TrainStatus::Finished);
            project::save_trained_model(state);
        }
        Reply::TrainFailed(EngineError::Session(SessionError::Stopped)) => {
            state.train.set(TrainStatus::Stopped)
        }
        Reply::TrainFailed(e) => {
            log::warn!("training: {e}");
            state.train.set(TrainStatus::Failed(words::train_error(&e)));
        }
        Reply::Crashed(m) => state.train.set(TrainStatus::Failed(words::crashed(&m))),
        other => log::warn!("unexpected answer to training: {other:?}"),
    };
    while let Some(first) = replies.next().await {
        let mut batch = vec![first];
        if matches!(batch[0], Reply::Training(_)) {
            // Let progress gather, then draw it once (see DRAW_EVERY_MS).
            sleep(DRAW_EVERY_MS).await;
            while let Some(Some(more)) = replies.next().now_or_never() {
                batch.push(more);
            }
        }
        // Handled in one task: the page redraws once for the whole batch.
        for reply in batch {
            handle(reply);
        }
    }
}

/// Training progress is drawn at most about this often, in milliseconds. With its features
/// cached (the expected accuracy embeds every photo) or on a GPU, the engine sends dozens of
/// epochs a second; drawing each one kept the page's thread busy past 100 ms at times.
const DRAW_EVERY_MS: u32 = 50;

/// Asks the running training to stop (it keeps the best epoch so far).
pub fn stop(state: AppState) {
    state.stop_requested.set(true);
    client().send(Request::Stop, None);
}

/// The progress shown for a training report.
fn run_view(state: AppState, settings: &TrainSettings, slots: f64, p: Progress) -> RunView {
    let unit = p.done as f64 / p.total.max(1) as f64;
    match p.phase {
        Phase::Extracting => RunView {
            title: words::phase_title(p.phase).into(),
            detail: format!("Photo {} of {}", p.done, p.total),
            percent: 100.0 * unit / slots,
        },
        Phase::Refitting => RunView {
            title: words::phase_title(p.phase).into(),
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
                title: words::phase_title(phase).into(),
                detail: format!("Epoch {} of {epochs}", epoch.clamp(1, epochs.max(1))),
                percent: 100.0 * (slot + unit) / slots,
            }
        }
    }
}

/// Predicts the class of each file, one at a time, appending a row per file.
pub async fn predict(state: AppState, files: Vec<web_sys::File>) {
    let mut keys = Vec::new();
    let mut new_rows = Vec::new();
    for file in &files {
        let key = ids::prediction_id();
        keys.push(key);
        new_rows.push(PredictionRow {
            key,
            file_name: file.name(),
            thumb: thumb(file),
            status: PredictionStatus::Pending,
        });
    }
    // Newest first.
    state.predictions.update(|rows| {
        rows.splice(0..0, new_rows);
    });
    for (file, key) in files.iter().zip(keys) {
        let mut replies =
            client().call(Request::Predict { name: file.name() }, Some(file.as_ref()));
        let status = match replies.next().await {
            Some(Reply::Predicted(Ok(p))) => PredictionStatus::Done {
                classes: p.classes,
                probabilities: p.probabilities,
            },
            Some(Reply::Predicted(Err(e))) => PredictionStatus::Failed(words::predict_error(&e)),
            Some(Reply::Crashed(m)) => PredictionStatus::Failed(words::crashed(&m)),
            other => {
                log::warn!("unexpected answer to a prediction: {other:?}");
                PredictionStatus::Failed(words::crashed("no answer"))
            }
        };
        state.predictions.update(|rows| {
            if let Some(row) = rows.iter_mut().find(|r| r.key == key) {
                row.status = status;
            }
        });
    }
}

/// Removes a prediction row (its thumbnail's object URL goes with it).
pub fn remove_prediction(state: AppState, key: ids::PredictionId) {
    state
        .predictions
        .update(|rows| rows.retain(|r| r.key != key));
}

/// Downloads the model as a model file (`whisker-<classes>.safetensors`).
pub async fn export_model(state: AppState) {
    let Some(classes) = state
        .model
        .with_untracked(|m| m.as_ref().map(|m| m.classes.clone()))
    else {
        return;
    };
    let mut answers = client().call_for_attachments(Request::ExportModel, None);
    let notice = match answers.next().await {
        Some((Reply::ModelFile, Some(bytes))) => {
            match save_file(&bytes, &suggested_file_name(&classes)) {
                Ok(()) => None,
                Err(e) => {
                    log::error!("download: {}", js::describe(&e));
                    Some(Notice::problem(words::DOWNLOAD_FAILED))
                }
            }
        }
        Some((Reply::ModelFailed(e), _)) => Some(Notice::problem(words::model_error(&e))),
        Some((Reply::Crashed(m), _)) => Some(Notice::problem(words::crashed(&m))),
        other => {
            log::warn!("unexpected answer to a model export: {other:?}");
            Some(Notice::problem(words::DOWNLOAD_FAILED))
        }
    };
    if notice.is_some() {
        state.notice.set(notice);
    }
}

/// Opens a model file as the model predictions use. When no class has photos yet, the cards
/// take the model's class names; otherwise they are left as they are.
pub async fn open_model(state: AppState, file: web_sys::File) {
    if state.is_training() {
        state.notice.set(Some(Notice::problem(words::model_error(
            &EngineError::Session(SessionError::Busy),
        ))));
        return;
    }
    let name = file.name();
    let open = || {
        client().call(
            Request::OpenModel { name: name.clone() },
            Some(file.as_ref()),
        )
    };
    let mut answer = open().next().await;
    // Made on the other network: switch to it (setting this model aside anyway) and try again.
    if let Some(Reply::ModelFailed(e)) = &answer
        && let Some(kind) = backbone::needed_by(e)
        && backbone::switch(state, kind).await
    {
        answer = open().next().await;
    }
    let notice = match answer {
        Some(Reply::ModelOpened(summary)) => {
            if state.has_no_photos() {
                state
                    .classes
                    .set(summary.classes.iter().map(|c| ClassEntry::new(c)).collect());
            }
            // The results shown describe the model this one replaces.
            state.report.set(None);
            state.history.set(Vec::new());
            state.comparisons.set(Comparisons::none());
            state.trained_on.set(None);
            if !state.is_training() {
                state.train.set(TrainStatus::Idle);
            }
            project::save_model(state, file.clone().into());
            let text = words::model_opened(&name, &summary.classes);
            state.model.set(Some(ModelInfo {
                classes: summary.classes,
                origin: ModelOrigin::Opened { file_name: name },
            }));
            Notice::news(text)
        }
        Some(Reply::ModelFailed(e)) => {
            log::warn!("opening {name}: {e}");
            Notice::problem(words::model_error(&e))
        }
        Some(Reply::Crashed(m)) => Notice::problem(words::crashed(&m)),
        other => {
            log::warn!("unexpected answer to opening a model: {other:?}");
            Notice::problem(words::crashed("no answer"))
        }
    };
    state.notice.set(Some(notice));
}
