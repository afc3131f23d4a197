//! The project saved in the browser, so a reload loses nothing: the classes (names, order), each
//! photo's compact copy, the settings, and the model with its report. It lives in the
//! origin-private file system (see [`crate::web::glue::storage`] for why), folder `project`:
//!
//! ```text
//! project.json          classes (names, their photos' files), the network, settings, the model's origin and report
//! photo-<tag>-<n>.jpg   each photo's compact copy (shorter side at most 512 pixels)
//! model.safetensors     the model, exactly as "Download model" saves it
//! ```
//!
//! Saving runs in the background once a change settles; nothing waits on it. Where the browser
//! keeps no files (private windows) or its storage is full, the user is told once and the page
//! goes on in memory.

use super::actions::add_photo;
use super::backbone;
use super::client::client;
use super::state::*;
use super::words;
use crate::core::archive::{self, Entry};
use crate::ml::backbone::BackboneKind;
use crate::ml::file_name::suggested_file_name;
use crate::web::glue::download::save_file;
use crate::web::glue::js;
use crate::web::glue::storage::{Folder, StorageError};
use crate::web::protocol::{Reply, Request};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

const FOLDER: &str = "project";
const MANIFEST: &str = "project.json";
const MODEL: &str = "model.safetensors";
/// Layout of `project.json`; a newer one is left alone, not misread.
const VERSION: u32 = 1;
/// How long changes settle before `project.json` is written, in milliseconds.
const SETTLE_MS: u32 = 300;

/// `project.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    classes: Vec<SavedClass>,
    /// The network chosen (projects saved before there was a choice used MobileNetV2).
    #[serde(default)]
    backbone: BackboneKind,
    settings: SavedSettings,
    model: Option<SavedModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedClass {
    name: String,
    photos: Vec<SavedPhoto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedPhoto {
    /// The copy's file in the folder.
    file: String,
    /// The user's file name, as shown.
    name: String,
}

/// The settings form, as typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedSettings {
    epochs: String,
    learning_rate: String,
    batch_size: String,
    fine_tune_blocks: String,
    fine_tune_epochs: String,
    val_percent: String,
    /// The cut point chosen (see `SettingsForm::layer`); absent in projects saved before.
    #[serde(default)]
    layer: Option<usize>,
}

impl SavedSettings {
    /// The form's fields as typed (tracked reads).
    fn of(f: &SettingsForm) -> Self {
        Self {
            epochs: f.epochs.get(),
            learning_rate: f.learning_rate.get(),
            batch_size: f.batch_size.get(),
            fine_tune_blocks: f.fine_tune_blocks.get(),
            fine_tune_epochs: f.fine_tune_epochs.get(),
            val_percent: f.val_percent.get(),
            layer: f.layer.get(),
        }
    }

    /// Puts these values into the form.
    fn apply_to(&self, f: &SettingsForm) {
        f.epochs.set(self.epochs.clone());
        f.learning_rate.set(self.learning_rate.clone());
        f.batch_size.set(self.batch_size.clone());
        f.fine_tune_blocks.set(self.fine_tune_blocks.clone());
        f.fine_tune_epochs.set(self.fine_tune_epochs.clone());
        f.val_percent.set(self.val_percent.clone());
        f.layer.set(self.layer);
    }
}

/// What is known about `model.safetensors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedModel {
    origin: ModelOrigin,
    /// The last training's results, shown again after a reload.
    report: Option<Report>,
    /// Whether the classes or photos had changed since it was trained.
    stale: bool,
}

/// The page's saving state.
struct Saver {
    folder: Option<Folder>,
    /// Storage is unavailable or full, and the user was told: nothing more is tried.
    gave_up: bool,
    /// Saving waits until the saved project is restored: the page's first state would
    /// otherwise overwrite it, and a half-restored one would lose the rest.
    held: bool,
    /// The manifest to write once changes settle, and whether a write is already waiting.
    next: Option<String>,
    waiting: bool,
    /// Writes that failed for no stated reason so far.
    failures: u32,
}

impl Default for Saver {
    fn default() -> Self {
        Self {
            folder: None,
            gave_up: false,
            held: true,
            next: None,
            waiting: false,
            failures: 0,
        }
    }
}

/// Unexplained write failures tolerated before the user is told the project is not saved.
const FAILURES_ALLOWED: u32 = 3;

thread_local! {
    static SAVER: RefCell<Saver> = RefCell::new(Saver::default());
    /// Tells this page's photo files from those of earlier visits (ids restart at each load).
    static TAG: String = format!("{:x}", js_sys::Date::now() as u64);
    static NEXT_PHOTO: Cell<u64> = const { Cell::new(1) };
    static HELD_MODEL: RefCell<Option<web_sys::Blob>> = const { RefCell::new(None) };
}

/// The project folder, opened once; `None` once storage was given up on.
async fn folder(state: AppState) -> Option<Folder> {
    let (cached, gave_up) = SAVER.with(|s| {
        let s = s.borrow();
        (s.folder.clone(), s.gave_up)
    });
    if gave_up {
        return None;
    }
    if cached.is_some() {
        return cached;
    }
    match Folder::open(FOLDER).await {
        Ok(folder) => {
            SAVER.with(|s| s.borrow_mut().folder = Some(folder.clone()));
            // Best effort: the browser may still evict the site's files under disk pressure.
            spawn_local(async {
                Folder::ask_to_persist().await;
            });
            Some(folder)
        }
        Err(e) => {
            give_up(state, &e);
            None
        }
    }
}

/// Tells the user once that the project is not being saved, and stops trying (for a full
/// storage too: a later write could save a project whose photos are missing). A one-off failure
/// is let pass ([`FAILURES_ALLOWED`] of them): the next change writes again.
fn give_up(state: AppState, e: &StorageError) {
    log::warn!("saving the project: {e}");
    if matches!(e, StorageError::Failed(_)) {
        let failures = SAVER.with(|s| {
            let mut s = s.borrow_mut();
            s.failures += 1;
            s.failures
        });
        if failures <= FAILURES_ALLOWED {
            return;
        }
    }
    let first = SAVER.with(|s| !std::mem::replace(&mut s.borrow_mut().gave_up, true));
    if first {
        state
            .notice
            .set(Some(Notice::problem(words::storage_error(e))));
    }
}

/// A new file name for a photo's copy.
fn photo_file() -> String {
    let n = NEXT_PHOTO.with(|c| {
        let n = c.get();
        c.set(n + 1);
        n
    });
    TAG.with(|tag| format!("photo-{tag}-{n}.jpg"))
}

/// Saves a photo's compact copy in the background; returns the file name it is saved under.
pub fn save_photo(state: AppState, copy: &web_sys::Blob) -> String {
    let name = photo_file();
    let (file, copy) = (name.clone(), copy.clone());
    spawn_local(async move {
        if let Some(folder) = folder(state).await
            && let Err(e) = folder.write(&file, &copy).await
        {
            give_up(state, &e);
        }
    });
    name
}

/// Deletes a removed photo's saved copy, in the background.
pub fn delete_photo(file: String) {
    let Some(folder) = SAVER.with(|s| s.borrow().folder.clone()) else {
        return;
    };
    spawn_local(async move {
        if let Err(e) = folder.remove(&file).await {
            log::warn!("deleting {file}: {e}");
        }
    });
}

/// The model file the page holds (the last one trained or opened), for a restarted engine.
pub fn held_model() -> Option<web_sys::Blob> {
    HELD_MODEL.with(|m| m.borrow().clone())
}

/// Saves the model file's bytes (a `Uint8Array` or a `Blob`) in the background, and holds them.
pub fn save_model(state: AppState, bytes: JsValue) {
    let blob = match bytes.dyn_ref::<web_sys::Blob>() {
        Some(blob) => Some(blob.clone()),
        None => web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&bytes)).ok(),
    };
    HELD_MODEL.with(|m| *m.borrow_mut() = blob);
    spawn_local(async move {
        if let Some(folder) = folder(state).await
            && let Err(e) = folder.write(MODEL, &bytes).await
        {
            give_up(state, &e);
        }
    });
}

/// Sets the model aside with its results (the user chose another network): the page and the
/// held copy forget it, and the manifest stops naming the saved file. The file is left to be
/// overwritten by the next model: deleting it here could race a model being saved right after
/// (a project opened on the other network).
pub fn forget_model(state: AppState) {
    state.model.set(None);
    HELD_MODEL.with(|m| *m.borrow_mut() = None);
    state.report.set(None);
    state.trained_on.set(None);
    state.history.set(Vec::new());
    state.comparisons.set(Comparisons::none());
    state.predictions.set(Vec::new());
    if !state.is_training() {
        state.train.set(TrainStatus::Idle);
    }
}

/// Saves the trained model: asks the engine for its file and writes it.
pub fn save_trained_model(state: AppState) {
    spawn_local(async move {
        let mut answers = client().call_for_attachments(Request::ExportModel, None);
        match answers.next().await {
            Some((Reply::ModelFile, Some(bytes))) => save_model(state, bytes),
            other => log::warn!("the model could not be saved: {other:?}"),
        }
    });
}

/// The manifest of the state as it is now (reading every signal it depends on).
fn manifest_of(state: AppState) -> Manifest {
    let classes = state.classes.with(|classes| {
        classes
            .iter()
            .map(|c| SavedClass {
                name: c.name.get(),
                photos: c.photos.with(|photos| {
                    photos
                        .iter()
                        .map(|p| SavedPhoto {
                            file: p.stored.clone(),
                            name: p.file_name.clone(),
                        })
                        .collect()
                }),
            })
            .collect()
    });
    let settings = SavedSettings::of(&state.settings);
    let model = state.model.get().map(|m| SavedModel {
        origin: m.origin,
        report: state.report.get(),
        stale: state.model_is_stale(),
    });
    Manifest {
        version: VERSION,
        classes,
        backbone: state.backbone.get(),
        settings,
        model,
    }
}

/// Saves the project whenever what it holds changes (call once, in the app's reactive scope).
pub fn keep_saved(state: AppState) {
    Effect::new(move |_| {
        let json = serde_json::to_string(&manifest_of(state)).unwrap_or_default();
        if !SAVER.with(|s| s.borrow().held) {
            schedule(state, json);
        }
    });
}

/// Writes `json` as the manifest once changes settle (the latest one wins).
fn schedule(state: AppState, json: String) {
    let start = SAVER.with(|s| {
        let mut s = s.borrow_mut();
        s.next = Some(json);
        !std::mem::replace(&mut s.waiting, true)
    });
    if !start {
        return;
    }
    // One writer at a time: changes made while it writes are written by the same task next.
    spawn_local(async move {
        loop {
            crate::web::glue::yield_now::sleep(SETTLE_MS).await;
            let Some(json) = SAVER.with(|s| s.borrow_mut().next.take()) else {
                break;
            };
            if let Some(folder) = folder(state).await
                && let Err(e) = folder.write(MANIFEST, &JsValue::from_str(&json)).await
            {
                give_up(state, &e);
            }
            if SAVER.with(|s| s.borrow().next.is_none()) {
                break;
            }
        }
        SAVER.with(|s| s.borrow_mut().waiting = false);
    });
}

/// Reads a saved file's text.
async fn text(file: &web_sys::File) -> Option<String> {
    JsFuture::from(file.text()).await.ok()?.as_string()
}

/// The network the saved project uses, if one is saved (read before the network loads, so the
/// right one is downloaded first).
pub async fn saved_backbone(state: AppState) -> Option<BackboneKind> {
    let folder = folder(state).await?;
    let file = folder.read(MANIFEST).await.ok().flatten()?;
    let manifest = serde_json::from_str::<Manifest>(&text(&file).await?).ok()?;
    (manifest.version == VERSION).then_some(manifest.backbone)
}

/// Restores the saved project, if there is one: settings, cards, the model (predictions work
/// at once) and the photos (features are computed again at the next training); then saving
/// starts. Call once the engine is loaded. A project the user already started adding photos
/// to (while the network loaded) is kept instead, and replaces the saved one.
pub async fn restore(state: AppState) {
    if state.has_no_photos()
        && let Some(folder) = folder(state).await
        && let Some((photos, classes, model)) = restore_from(state, &folder).await
    {
        state
            .notice
            .set(Some(Notice::news(words::restored(photos, classes, model))));
    }
    SAVER.with(|s| s.borrow_mut().held = false);
    // Saves what is there now (photos whose files were gone are dropped).
    schedule(
        state,
        serde_json::to_string(&untrack(|| manifest_of(state))).unwrap_or_default(),
    );
}

/// Restores the project saved in `folder`; returns the photos, classes and whether the model
/// came back, or `None` if nothing was saved.
async fn restore_from(state: AppState, folder: &Folder) -> Option<(usize, usize, bool)> {
    let manifest = match folder.read(MANIFEST).await {
        Ok(Some(file)) => text(&file)
            .await
            .and_then(|t| serde_json::from_str::<Manifest>(&t).ok()),
        Ok(None) => None,
        Err(e) => {
            log::warn!("reading the saved project: {e}");
            None
        }
    };
    let manifest = manifest.filter(|m| m.version == VERSION)?;
    let read = async |name: &str| -> Option<web_sys::Blob> {
        folder.read(name).await.ok().flatten().map(Into::into)
    };
    Some(apply(state, &manifest, &read, Saved::Already).await)
}

/// Whether the files a manifest names are in the project folder already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Saved {
    Already,
    NotYet,
}

/// Fills the state from `manifest`, reading the files it names with `read`: settings, cards,
/// the model first (predictions work while the photos come back), then the photos (features
/// are computed again at the next training). Returns the photos and classes restored and
/// whether the model came back.
async fn apply(
    state: AppState,
    manifest: &Manifest,
    read: &impl AsyncFn(&str) -> Option<web_sys::Blob>,
    saved: Saved,
) -> (usize, usize, bool) {
    manifest.settings.apply_to(&state.settings);
    // The model needs its own network; if that cannot be loaded, the photos still come back.
    let network_ready = backbone::switch(state, manifest.backbone).await;

    let entries: Vec<ClassEntry> = manifest
        .classes
        .iter()
        .map(|c| {
            let entry = ClassEntry::new(&c.name);
            entry.pending.set(c.photos.len());
            entry
        })
        .collect();
    if entries.len() >= 2 {
        state.classes.set(entries.clone());
    }

    let mut model_back = false;
    if let Some(model) = &manifest.model
        && network_ready
        && let Some(file) = read(MODEL).await
    {
        let mut replies = client().call(
            Request::OpenModel {
                name: MODEL.to_string(),
            },
            Some(file.as_ref()),
        );
        match replies.next().await {
            Some(Reply::ModelOpened(summary)) => {
                state.model.set(Some(ModelInfo {
                    classes: summary.classes,
                    origin: model.origin.clone(),
                }));
                if let Some(report) = &model.report {
                    state.report.set(Some(report.clone()));
                    state.train.set(TrainStatus::Finished);
                }
                match saved {
                    Saved::Already => HELD_MODEL.with(|m| *m.borrow_mut() = Some(file)),
                    Saved::NotYet => save_model(state, file.into()),
                }
                model_back = true;
            }
            other => log::warn!("the saved model did not open: {other:?}"),
        }
    }

    let mut photos = 0;
    for (entry, class) in entries.iter().zip(&manifest.classes) {
        for photo in &class.photos {
            match read(&photo.file).await {
                Some(blob) => {
                    let stored = (saved == Saved::Already).then(|| photo.file.clone());
                    if add_photo(state, *entry, blob.as_ref(), &photo.name, stored).await {
                        photos += 1;
                    }
                }
                None => {
                    log::warn!("the saved photo {} is gone", photo.file);
                    entry.pending.update(|p| *p = p.saturating_sub(1));
                }
            }
        }
    }
    if model_back
        && manifest
            .model
            .as_ref()
            .is_some_and(|m| m.origin == ModelOrigin::Trained)
    {
        // Out of date exactly when it was before.
        let stale = manifest.model.as_ref().is_some_and(|m| m.stale);
        state
            .trained_on
            .set(Some(if stale { Vec::new() } else { state.snapshot() }));
    }
    (photos, entries.len(), model_back)
}

/// Downloads the whole project (classes, photos, settings, the model and its results) as one
/// ZIP file, `whisker-project-<classes>.zip`, that "Open project" reads in any browser.
pub async fn export_project(state: AppState) {
    let manifest = untrack(|| manifest_of(state));
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    let mut entries = vec![Entry {
        name: MANIFEST.into(),
        bytes: json,
    }];
    for class in state.classes.get_untracked() {
        for photo in class.photos.get_untracked() {
            match blob_bytes(&photo.source).await {
                Some(bytes) => entries.push(Entry {
                    name: photo.stored.clone(),
                    bytes,
                }),
                None => log::warn!("{} could not be read", photo.file_name),
            }
        }
    }
    if manifest.model.is_some()
        && let Some(model) = held_model()
        && let Some(bytes) = blob_bytes(&model).await
    {
        entries.push(Entry {
            name: MODEL.into(),
            bytes,
        });
    }
    let result = archive::write(&entries).map_err(|e| JsValue::from_str(&e.to_string()));
    let names: Vec<String> = manifest.classes.iter().map(|c| c.name.clone()).collect();
    let name = suggested_file_name(&names).replace("whisker-", "whisker-project-");
    let name = name.replace(".safetensors", ".zip");
    let saved = result.and_then(|bytes| {
        let bytes = js_sys::Uint8Array::from(bytes.as_slice());
        save_file(&bytes, &name)
    });
    if let Err(e) = saved {
        log::error!("project download: {}", js::describe(&e));
        state
            .notice
            .set(Some(Notice::problem(words::DOWNLOAD_FAILED)));
    }
}

/// Opens a project file made by [`export_project`], replacing the current project (after asking,
/// if it has photos).
pub async fn import_project(state: AppState, file: web_sys::File) {
    let name = file.name();
    if state.is_training() {
        state
            .notice
            .set(Some(Notice::problem(words::BUSY_FOR_PROJECT)));
        return;
    }
    if !state.has_no_photos()
        && !js::window()
            .confirm_with_message(words::REPLACE_QUESTION)
            .unwrap_or(false)
    {
        return;
    }
    let Some(bytes) = blob_bytes(&file).await else {
        state
            .notice
            .set(Some(Notice::problem(words::project_unreadable(&name))));
        return;
    };
    let entries = match archive::read(&bytes) {
        Ok(entries) => entries,
        Err(e) => {
            log::warn!("{name}: {e}");
            state
                .notice
                .set(Some(Notice::problem(words::archive_error(&name, &e))));
            return;
        }
    };
    let files: HashMap<String, Vec<u8>> = entries.into_iter().map(|e| (e.name, e.bytes)).collect();
    let manifest = files
        .get(MANIFEST)
        .and_then(|b| serde_json::from_slice::<Manifest>(b).ok());
    let manifest = match manifest {
        Some(m) if m.version == VERSION => m,
        Some(_) => {
            state
                .notice
                .set(Some(Notice::problem(words::project_newer(&name))));
            return;
        }
        None => {
            state
                .notice
                .set(Some(Notice::problem(words::not_a_project(&name))));
            return;
        }
    };
    clear_project(state).await;
    SAVER.with(|s| s.borrow_mut().held = true);
    let read = async |file: &str| -> Option<web_sys::Blob> {
        let bytes = files.get(file)?;
        web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&js_sys::Uint8Array::from(
            bytes.as_slice(),
        )))
        .ok()
    };
    let (photos, classes, model) = apply(state, &manifest, &read, Saved::NotYet).await;
    SAVER.with(|s| s.borrow_mut().held = false);
    schedule(
        state,
        serde_json::to_string(&untrack(|| manifest_of(state))).unwrap_or_default(),
    );
    state.notice.set(Some(Notice::news(words::project_opened(
        &name, photos, classes, model,
    ))));
}

/// A blob's bytes.
async fn blob_bytes(blob: &web_sys::Blob) -> Option<Vec<u8>> {
    let buffer = JsFuture::from(blob.array_buffer()).await.ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Deletes everything saved and starts afresh, after asking once.
pub async fn start_over(state: AppState) {
    let sure = js::window()
        .confirm_with_message(words::START_OVER_QUESTION)
        .unwrap_or(false);
    if !sure || state.is_training() {
        return;
    }
    clear_project(state).await;
    state.notice.set(Some(Notice::news(words::STARTED_OVER)));
}

/// Forgets every class, photo and the model, on the page, in the engine and in the folder.
async fn clear_project(state: AppState) {
    for class in state.classes.get_untracked() {
        class.clear();
    }
    client().send(Request::Reset, None);
    let fresh = AppState::new();
    state.classes.set(fresh.classes.get_untracked());
    forget_model(state);
    untrack(|| SavedSettings::of(&SettingsForm::default())).apply_to(&state.settings);
    if let Some(folder) = folder(state).await
        && let Err(e) = folder.clear().await
    {
        give_up(state, &e);
    }
}
