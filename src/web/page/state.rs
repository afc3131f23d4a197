//! The page's reactive state. Everything here is a signal (cheap to copy, shared by context);
//! the heavy data (photo inputs, features, models) lives in the engine.

use super::client::client;
use super::ids;
use crate::core::dataset::PhotoId;
use crate::ml::backbone::BackboneKind;
use crate::ml::cut::cut_points;
use crate::ml::progress::Phase;
use crate::ml::reports::{BaselineReport, LayerRow, MapPoint, RunStats};
use crate::ml::settings::{TrainChoices, TrainSettings};
use crate::web::protocol::{BackendInfo, ClassJob, Request};
use leptos::prelude::*;

/// A class card's identity, stable while the page is open (for keyed lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u64);

/// An object URL showing a photo, revoked when its last copy is dropped. Wrapped so signals can
/// hold it: the page has one thread, and the URL never leaves it.
pub type Thumb = send_wrapper::SendWrapper<gloo_file::ObjectUrl>;

/// The thumbnail of a file.
pub fn thumb(file: &web_sys::File) -> Thumb {
    Thumb::new(gloo_file::ObjectUrl::from(gloo_file::File::from(
        file.clone(),
    )))
}

/// A file the page holds on its own thread (a photo's compact copy, or the user's file).
pub type Held = send_wrapper::SendWrapper<web_sys::Blob>;

/// A photo shown in a class card.
#[derive(Clone)]
pub struct Photo {
    pub id: PhotoId,
    pub file_name: String,
    /// The photo's compact copy (the user's file if the browser made none): what is saved,
    /// and what a restarted engine is given again.
    pub source: Held,
    /// `source`, shown as the thumbnail (revoked when the last copy of the photo goes).
    pub thumb: Thumb,
    /// Its file in the saved project (see `project`).
    pub stored: String,
}

/// The thumbnail of a photo's compact copy (or file).
pub fn thumb_of(blob: &web_sys::Blob) -> Thumb {
    Thumb::new(gloo_file::ObjectUrl::from(gloo_file::Blob::from(
        blob.clone(),
    )))
}

/// One class: a name and its photos.
#[derive(Debug, Clone, Copy)]
pub struct ClassEntry {
    /// Stable id (for keyed lists), not shown.
    pub id: ClassId,
    pub name: RwSignal<String>,
    pub photos: RwSignal<Vec<Photo>>,
    /// Photos still being decoded.
    pub pending: RwSignal<usize>,
    /// Files that could not be used, in plain words.
    pub problems: RwSignal<Vec<String>>,
    /// Set when the class is deleted: photos still being read for it are then dropped.
    pub deleted: RwSignal<bool>,
}

impl ClassEntry {
    /// A new empty class named `name`.
    pub fn new(name: &str) -> Self {
        Self {
            id: ids::class_id(),
            name: RwSignal::new(name.to_string()),
            photos: RwSignal::new(Vec::new()),
            pending: RwSignal::new(0),
            problems: RwSignal::new(Vec::new()),
            deleted: RwSignal::new(false),
        }
    }

    /// Removes a photo and forgets its data (in the engine and in the saved project).
    pub fn remove_photo(&self, id: PhotoId) {
        let mut removed = None;
        self.photos.update(|v| {
            if let Some(i) = v.iter().position(|p| p.id == id) {
                removed = Some(v.remove(i));
            }
        });
        if let Some(p) = removed {
            forget(&p);
        }
    }

    /// Forgets all photos (the class is being deleted).
    pub fn clear(&self) {
        self.deleted.set(true);
        for p in self.photos.get_untracked() {
            forget(&p);
        }
        self.photos.set(Vec::new());
    }
}

/// Tells the engine to drop a photo's input and features, and deletes its saved copy.
fn forget(photo: &Photo) {
    client().send(Request::Forget { photo: photo.id }, None);
    super::project::delete_photo(photo.stored.clone());
}

/// Loading the network.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadState {
    /// Starting the device.
    Device,
    /// Downloading the weights.
    Download { received: u64, total: Option<u64> },
    /// Building and warming up.
    Preparing,
    /// Ready to train.
    Ready,
    /// Loading failed: what to tell the user.
    Failed(String),
}

/// One point of the training curves.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochPoint {
    pub phase: Phase,
    pub epoch: usize,
    pub train_loss: f32,
    pub val_loss: Option<f32>,
    pub train_accuracy: f32,
    pub val_accuracy: Option<f32>,
}

/// A running training, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// Short title of the current phase.
    pub title: String,
    /// Details ("photo 3 of 10").
    pub detail: String,
    /// Overall progress, 0 to 100.
    pub percent: f64,
}

/// The training panel's status.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainStatus {
    /// Nothing running.
    Idle,
    /// Running.
    Running(RunView),
    /// Finished (results are in [`AppState::report`]).
    Finished,
    /// Stopped before anything was trained (a run stopped while training keeps its best epoch
    /// and finishes as [`TrainStatus::Finished`], saying it was stopped).
    Stopped,
    /// Training could not run or failed: what to tell the user.
    Failed(String),
}

/// The model predictions use: trained here, or opened from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// Class names, in output order.
    pub classes: Vec<String>,
    /// Where it came from.
    pub origin: ModelOrigin,
}

/// Where the current model came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ModelOrigin {
    /// Trained on this page (on [`AppState::trained_on`]).
    Trained,
    /// Opened from the model file of that name.
    Opened { file_name: String },
}

/// A message to the user that is not tied to one control: what happened to the model or the
/// project ("opened …", "could not …").
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    /// A problem (shown as an alert) rather than news.
    pub problem: bool,
}

impl Notice {
    pub fn news(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            problem: false,
        }
    }

    pub fn problem(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            problem: true,
        }
    }
}

/// The expected accuracy before training (see `page::preview`).
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    /// Not asked yet (the network loads, or no photo came yet).
    Unknown,
    /// Some class has fewer than two photos.
    TooFewPhotos,
    /// Leave-one-out k-NN accuracy on the pretrained features, `[0, 1]`, over `photos` photos,
    /// and what may explain a low one, in plain words.
    Expected {
        accuracy: f32,
        photos: usize,
        hint: Option<String>,
    },
}

/// The photos on the feature map (see `page::preview`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MapView {
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// One point per photo embedded.
    pub points: Vec<MapPoint>,
    /// Share of the variance along each axis, `[0, 1]`.
    pub explained: [f32; 2],
}

/// A comparison run after training ("without transfer", "compare layers").
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison<T> {
    /// Not asked for since the last training.
    Idle,
    /// Running: what it is doing, in words.
    Running(String),
    /// Done.
    Done(T),
    /// Could not run: what to tell the user.
    Failed(String),
}

/// What can be compared with the model trained on this page, since its training.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparisons {
    /// Whether the engine holds the run to compare with (trained since the page opened; a
    /// restored or opened model was not).
    pub available: bool,
    pub baseline: Comparison<BaselineReport>,
    pub layers: Comparison<Vec<LayerRow>>,
}

impl Comparisons {
    /// Nothing to compare with.
    pub fn none() -> Self {
        Self {
            available: false,
            baseline: Comparison::Idle,
            layers: Comparison::Idle,
        }
    }
}

/// The results of the last training (saved with the project).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    pub classes: Vec<String>,
    /// Validation accuracy in `[0, 1]`, if photos were held out.
    pub val_accuracy: Option<f32>,
    pub per_class: Vec<Option<f32>>,
    /// `confusion[t][p]`.
    pub confusion: Vec<Vec<usize>>,
    /// Counts and timings of the run.
    pub stats: RunStats,
    /// The backend's id (`cpu`, `webgpu`).
    pub backend: String,
    /// The network it was trained on (reports saved before there was a choice: MobileNetV2).
    #[serde(default)]
    pub backbone: BackboneKind,
    /// The held-out photos the held-out run got wrong (ringed on the feature map).
    #[serde(default)]
    pub mistakes: Vec<PhotoId>,
}

/// A photo dropped on the predict panel.
#[derive(Clone)]
pub struct PredictionRow {
    pub key: ids::PredictionId,
    pub file_name: String,
    pub thumb: Thumb,
    pub status: PredictionStatus,
}

/// Where a prediction is.
#[derive(Debug, Clone, PartialEq)]
pub enum PredictionStatus {
    Pending,
    Done {
        classes: Vec<String>,
        probabilities: Vec<f32>,
    },
    Failed(String),
}

/// The training settings as typed by the user (validated when training starts).
#[derive(Debug, Clone, Copy)]
pub struct SettingsForm {
    pub epochs: RwSignal<String>,
    pub learning_rate: RwSignal<String>,
    pub batch_size: RwSignal<String>,
    pub fine_tune_blocks: RwSignal<String>,
    pub fine_tune_epochs: RwSignal<String>,
    /// Percent of each class's photos held out.
    pub val_percent: RwSignal<String>,
    /// Which cut point the head trains on: an index into the backbone's
    /// [`cut_points`](crate::ml::cut::cut_points) below the last, `None` for the last stage
    /// (the default). An index, so the choice carries over when the network changes.
    pub layer: RwSignal<Option<usize>>,
}

impl Default for SettingsForm {
    fn default() -> Self {
        let d = TrainSettings::default();
        Self {
            epochs: RwSignal::new(d.head.epochs.to_string()),
            learning_rate: RwSignal::new(format!("{}", d.head.learning_rate)),
            batch_size: RwSignal::new(d.head.batch_size.to_string()),
            fine_tune_blocks: RwSignal::new(d.fine_tune_blocks.to_string()),
            fine_tune_epochs: RwSignal::new(d.fine_tune.epochs.to_string()),
            val_percent: RwSignal::new(format!("{}", (d.val_share * 100.0).round())),
            layer: RwSignal::new(None),
        }
    }
}

impl SettingsForm {
    /// The settings for training on `backbone`, or what is wrong with them in plain words.
    pub fn parse(&self, backbone: BackboneKind) -> Result<TrainSettings, String> {
        fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
            s.trim()
                .parse::<T>()
                .map_err(|_| format!("“{}” is not a valid {what}.", s.trim()))
        }
        let val: f32 = num(&self.val_percent.get_untracked(), "percentage")?;
        let choices = TrainChoices {
            epochs: Some(num(&self.epochs.get_untracked(), "number of epochs")?),
            learning_rate: Some(num(&self.learning_rate.get_untracked(), "learning rate")?),
            batch_size: Some(num(&self.batch_size.get_untracked(), "batch size")?),
            fine_tune_blocks: Some(num(
                &self.fine_tune_blocks.get_untracked(),
                "number of blocks",
            )?),
            fine_tune_epochs: Some(num(
                &self.fine_tune_epochs.get_untracked(),
                "number of epochs",
            )?),
            val_share: Some(val / 100.0),
            cut_stage: self
                .layer
                .get_untracked()
                .and_then(|i| cut_points(backbone).get(i).copied()),
            ..TrainChoices::default()
        };
        choices
            .settings_for(backbone)
            .map_err(|e| super::words::ml_error(&e))
    }
}

/// Everything the components share, provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct AppState {
    pub classes: RwSignal<Vec<ClassEntry>>,
    pub load: RwSignal<LoadState>,
    pub backend: RwSignal<Option<BackendInfo>>,
    /// The network chosen: the one loaded once `load` is ready (see `page::backbone`).
    pub backbone: RwSignal<BackboneKind>,
    pub train: RwSignal<TrainStatus>,
    pub stop_requested: RwSignal<bool>,
    pub settings: SettingsForm,
    pub history: RwSignal<Vec<EpochPoint>>,
    /// Epochs planned for the running or last training (head + fine-tuning), for the curves' axis.
    pub planned_epochs: RwSignal<usize>,
    pub report: RwSignal<Option<Report>>,
    /// Photos and class names the last model was trained on, to tell when it is out of date.
    pub trained_on: RwSignal<Option<Snapshot>>,
    pub predictions: RwSignal<Vec<PredictionRow>>,
    /// The model predictions use, if any.
    pub model: RwSignal<Option<ModelInfo>>,
    /// The latest notice, until dismissed or replaced.
    pub notice: RwSignal<Option<Notice>>,
    /// The expected accuracy of the photos as they are.
    pub preview: RwSignal<Preview>,
    /// The photos' feature map, as of the last preview.
    pub feature_map: RwSignal<MapView>,
    /// With vs without transfer, and which layer, for the last training.
    pub comparisons: RwSignal<Comparisons>,
}

/// Class names with their photos, in order: what a model was trained on.
pub type Snapshot = Vec<(String, Vec<PhotoId>)>;

/// A snapshot as the engine takes it.
pub fn class_jobs(snapshot: &Snapshot) -> Vec<ClassJob> {
    snapshot
        .iter()
        .map(|(name, photos)| ClassJob {
            name: name.clone(),
            photos: photos.clone(),
        })
        .collect()
}

impl AppState {
    /// The initial state: two classes, "Cat" and "Not cat".
    pub fn new() -> Self {
        Self {
            classes: RwSignal::new(vec![ClassEntry::new("Cat"), ClassEntry::new("Not cat")]),
            load: RwSignal::new(LoadState::Device),
            backend: RwSignal::new(None),
            backbone: RwSignal::new(BackboneKind::default()),
            train: RwSignal::new(TrainStatus::Idle),
            stop_requested: RwSignal::new(false),
            settings: SettingsForm::default(),
            history: RwSignal::new(Vec::new()),
            planned_epochs: RwSignal::new(0),
            report: RwSignal::new(None),
            trained_on: RwSignal::new(None),
            predictions: RwSignal::new(Vec::new()),
            model: RwSignal::new(None),
            notice: RwSignal::new(None),
            preview: RwSignal::new(Preview::Unknown),
            feature_map: RwSignal::new(MapView::default()),
            comparisons: RwSignal::new(Comparisons::none()),
        }
    }

    /// Whether the model was trained here on other classes or photos than there are now (an
    /// opened model is never out of date: it was not trained on these photos).
    pub fn model_is_stale(&self) -> bool {
        let trained_here = self
            .model
            .with(|m| m.as_ref().is_some_and(|m| m.origin == ModelOrigin::Trained));
        trained_here && {
            let now = self.snapshot();
            self.trained_on
                .with(|t| t.as_ref().is_some_and(|t| *t != now))
        }
    }

    /// Whether every class is empty (no photos, none being read).
    pub fn has_no_photos(&self) -> bool {
        self.classes.with_untracked(|c| {
            c.iter()
                .all(|c| c.photos.with_untracked(Vec::is_empty) && c.pending.get_untracked() == 0)
        })
    }

    /// Class names and photo ids as they are now.
    pub fn snapshot(&self) -> Snapshot {
        self.classes.with(|classes| {
            classes
                .iter()
                .map(|c| {
                    (
                        c.name.get().trim().to_string(),
                        c.photos.with(|p| p.iter().map(|p| p.id).collect()),
                    )
                })
                .collect()
        })
    }

    /// Whether training is running.
    pub fn is_training(&self) -> bool {
        matches!(self.train.get(), TrainStatus::Running(_))
    }

    /// Total photos still being decoded.
    pub fn pending_photos(&self) -> usize {
        self.classes
            .with(|c| c.iter().map(|c| c.pending.get()).sum())
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}
