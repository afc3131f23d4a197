//! What a session answers: a training run's report, the "without transfer" baseline, the layer
//! comparison, the photos' preview, and what can go wrong. Plain data (no burn): the engine
//! sends it, the page shows it, the CLI prints it.

use super::error::MlError;
use super::progress::{EpochStats, FineTuning};
use crate::core::dataset::{DatasetError, PhotoId};
use crate::core::knn::KnnEstimate;
use crate::core::metrics::ConfusionMatrix;
use crate::core::output_check::OutputFault;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What can go wrong in a session. `P` is the caller's error for a photo that cannot be loaded
/// (a file that does not decode, a photo removed meanwhile).
#[derive(Debug, Clone, Error, Serialize, Deserialize)]
pub enum SessionError<P> {
    /// The classes or photos cannot be trained on.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Extraction, training or prediction failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// A photo could not be loaded.
    #[error("{0}")]
    Photo(P),
    /// A training run is already going on in this session.
    #[error("a training run is already going on")]
    Busy,
    /// The observer asked to stop before training began: nothing was trained.
    #[error("stopped before training began")]
    Stopped,
    /// Nothing was trained (or opened) yet.
    #[error("no model has been trained yet")]
    NoModel,
}

/// A photo to train on: its id and its class (an index into the class names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledPhoto {
    /// The photo.
    pub id: PhotoId,
    /// Its class.
    pub label: usize,
}

/// Counts and timings of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Photos the held-out run trained on.
    pub train_count: usize,
    /// Photos held out for validation.
    pub val_count: usize,
    /// Whether the run was stopped early (it kept the best epoch until then).
    pub stopped: bool,
    /// Whether fine-tuning (if asked for) was kept, or dropped for the head-only model.
    #[serde(default)]
    pub fine_tuning: FineTuning,
    /// Photos that went through the backbone in this run (the others were cached).
    pub extracted: usize,
    /// Seconds spent extracting features.
    pub extract_seconds: f64,
    /// Seconds spent training (head and fine-tuning, with validation and refit).
    pub train_seconds: f64,
    /// Photos per fine-tuning step actually used: the settings' batch size, or fewer where the
    /// device's buffers could not hold it (see [`crate::ml::batch`]); `None` without fine-tuning.
    #[serde(default)]
    pub fine_tune_batch_size: Option<usize>,
}

/// What a training run produced; the trained model stays in the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Class names, in output order.
    pub classes: Vec<String>,
    /// How the held-out run's classifier did on the held-out photos, if any were held out.
    pub validation: Option<ConfusionMatrix>,
    /// The held-out photos the held-out run's classifier got wrong (the ones the feature map
    /// rings); empty without validation photos.
    #[serde(default)]
    pub mistakes: Vec<PhotoId>,
    /// Counts and timings.
    pub stats: RunStats,
}

/// The "without transfer" run: the head trained on a BatchNorm-calibrated random backbone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineReport {
    /// Validation accuracy of its held-out run, `[0, 1]`.
    pub accuracy: f32,
    /// Its per-epoch statistics (the curves).
    pub history: Vec<EpochStats>,
    /// Why its outputs are not a real model's, if they are not (then its accuracy means nothing).
    pub fault: Option<OutputFault>,
    /// Accuracy of always answering the validation photos' most common class, `[0, 1]`.
    pub chance: f32,
    /// The accuracy above which it learned more than luck
    /// ([`crate::core::output_check::chance_bar`]), `[0, 1]`.
    pub chance_bar: f32,
    /// Validation photos.
    pub val_count: usize,
    /// The random backbone's seed (the run's seed).
    pub seed: u64,
    /// The stage whose pooled output the head learned from: the run's.
    pub stage: usize,
    /// Seconds it took (calibration, extraction and training).
    pub seconds: f64,
}

impl BaselineReport {
    /// Whether it learned something: real outputs and an accuracy above the chance bar.
    pub fn beats_chance(&self) -> bool {
        self.fault.is_none() && self.accuracy > self.chance_bar
    }
}

/// One cut point in "compare layers".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    /// The backbone stage whose pooled output the head trained on.
    pub stage: usize,
    /// Its width (channels).
    pub width: usize,
    /// Leave-one-out k-NN accuracy on the training photos, `[0, 1]`.
    pub expected: f32,
    /// The head's validation accuracy, `[0, 1]`.
    pub accuracy: f32,
    /// Whether the head learned more than luck (see [`BaselineReport::beats_chance`]).
    pub beats_chance: bool,
}

/// One photo on the feature map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    /// The photo.
    pub id: PhotoId,
    /// Its class (an index into the classes asked about).
    pub label: usize,
    /// Its coordinates on the first and second principal axes, in feature units (centred unit
    /// vectors, so within `[-1, 1]`; only their relative placement means anything).
    pub x: f32,
    pub y: f32,
}

/// What a session's preview (`Session::preview`) found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoPreview {
    /// The expected accuracy; `None` until there are two classes with two photos each.
    pub estimate: Option<KnnEstimate>,
    /// Every photo embedded, in the order asked (a photo forgotten meanwhile is left out).
    pub map: Vec<MapPoint>,
    /// Share of the photos' variance along each axis, `[0, 1]`.
    pub explained: [f32; 2],
}
