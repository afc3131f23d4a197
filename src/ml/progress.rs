//! What a training run reports as it goes: its phase, steps done, each epoch's statistics and
//! what became of fine-tuning. Plain data (no burn): the engine sends it, the page draws it.

use serde::{Deserialize, Serialize};

/// Which part of training is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Photos going through the frozen backbone.
    Extracting,
    /// Training the head on cached features.
    Training,
    /// Fine-tuning the last blocks with the head.
    FineTuning,
    /// Training again on every photo, validation included, for the epochs validation chose.
    Refitting,
}

/// A progress report: `done` of `total` units of `phase`, with the statistics of an epoch that
/// just ended, if one did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The running phase.
    pub phase: Phase,
    /// Units done (photos while extracting, optimisation steps while training).
    pub done: usize,
    /// Units planned.
    pub total: usize,
    /// Set when this step ended an epoch.
    pub epoch: Option<EpochStats>,
}

/// What became of fine-tuning in a run: it is kept only if it lowered the held-out validation
/// loss below the head-only model's (fine-tuning on a few photos can overfit and make things
/// worse).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub enum FineTuning {
    /// No blocks were to be fine-tuned.
    #[default]
    NotAsked,
    /// Fine-tuned, and kept: its best validation loss beat the head-only model's.
    Kept {
        /// Best validation loss of the head-only model.
        head_loss: f32,
        /// Best validation loss of the fine-tuned model.
        tuned_loss: f32,
    },
    /// Fine-tuned, but dropped for the head-only model, whose validation loss was as low.
    Dropped {
        /// Best validation loss of the head-only model.
        head_loss: f32,
        /// Best validation loss of the fine-tuned model.
        tuned_loss: f32,
    },
    /// Fine-tuned and kept without a check: no photos were held out, or the run was stopped.
    Unchecked,
}

/// Loss and accuracy after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean cross-entropy over the training photos (weights at the end of the epoch).
    pub train_loss: f32,
    /// Accuracy over the training photos, `[0, 1]`.
    pub train_accuracy: f32,
    /// Mean cross-entropy over the validation photos, if there are any.
    pub val_loss: Option<f32>,
    /// Accuracy over the validation photos, `[0, 1]`, if there are any.
    pub val_accuracy: Option<f32>,
}
