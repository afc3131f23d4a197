//! "What does transfer bring, and from which layer?" for one set of labelled photos: the figures
//! of `whisker report`, also used over seeds and tasks by examples/transfer_report.rs.
//!
//! Three measures, each on pooled features of the photos:
//! - the expected accuracy: leave-one-out k-NN ([`crate::core::knn`]) on the training photos,
//!   before any head is trained;
//! - the validation accuracy of a head trained as `whisker train` trains it
//!   ([`super::probe::fit_head`]: same settings, seeds and split), on the pretrained backbone and
//!   on the BatchNorm-calibrated random backbone ([`super::baseline`]), whose outputs are checked
//!   ([`crate::core::output_check`]) before its accuracy is believed;
//! - both per cut point ([`super::cut::cut_points`]) of the pretrained backbone.

use super::backbone::{Backbone, BackboneKind};
use super::baseline::calibrated_random_backbone;
use super::cut::cut_points;
use super::error::MlError;
use super::features::EXTRACT_BATCH;
use super::layers::extract_pooled;
use super::probe::fit_head;
use super::settings::TrainSettings;
use super::trainer::Evaluation;
use crate::core::dataset::Split;
use crate::core::knn::{KnnError, KnnEstimate, leave_one_out};
use crate::core::output_check::{OutputFault, chance_accuracy, chance_bar, check_outputs};
use crate::core::similarity::{SimilarityError, SimilarityIndex};
use burn::prelude::*;
use thiserror::Error;

/// Why a transfer report cannot be made.
#[derive(Debug, Clone, Error)]
pub enum TransferError {
    /// The training photos cannot give an expected accuracy (e.g. a class with one photo).
    #[error("no expected accuracy: {0}")]
    Knn(#[from] KnnError),
    /// The features cannot be compared (ragged or not finite: a broken backbone).
    #[error("no expected accuracy: {0}")]
    Similarity(#[from] SimilarityError),
    /// There is no validation photo to measure a head on.
    #[error("no validation photos")]
    NoValidationPhotos,
    /// Extraction, calibration or training failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}

/// The figures of one set of pooled features (one backbone, one cut point).
pub struct LayerProbe {
    /// The training photos' features (`split.train` order), for further measures such as k-NN
    /// on other photos ([`SimilarityIndex::similarities_to`]).
    pub index: SimilarityIndex,
    /// Leave-one-out k-NN on the training photos; `expected.accuracy` in `[0, 1]`.
    pub expected: KnnEstimate,
    /// The head's held-out run on the validation photos (`split.val` order): what
    /// `whisker train` prints as validation accuracy.
    pub validation: Evaluation,
    /// Whether the head's validation outputs are a real model's (finite, varied).
    pub outputs: Result<(), OutputFault>,
    /// The accuracy of always answering the validation photos' most common class, `[0, 1]`.
    pub chance: f32,
}

impl LayerProbe {
    /// The head's validation accuracy, `[0, 1]`.
    pub fn accuracy(&self) -> f32 {
        self.validation.confusion.accuracy()
    }

    /// The accuracy the head must exceed to have beaten chance by more than luck
    /// ([`chance_bar`] of the validation photos), `[0, 1]`.
    pub fn chance_bar(&self) -> f32 {
        chance_bar(self.chance, self.validation.confusion.total())
    }

    /// Whether the head learned something: real outputs and an accuracy above
    /// [`Self::chance_bar`].
    pub fn beats_chance(&self) -> bool {
        self.outputs.is_ok() && self.accuracy() > self.chance_bar()
    }
}

/// Measures pooled `features` (one row per photo, any width; `labels[i]` the class of row `i`,
/// each `< classes`): k-NN over `split.train`, and a head fitted on `split.train` and validated
/// on `split.val` with `settings` (see [`fit_head`]; only the held-out run counts, so
/// `settings.refit` only costs time here).
pub async fn probe_layer(
    features: &[Vec<f32>],
    labels: &[usize],
    classes: usize,
    split: &Split,
    settings: &TrainSettings,
    device: &Device,
) -> Result<LayerProbe, TransferError> {
    if split.val.is_empty() {
        return Err(TransferError::NoValidationPhotos);
    }
    let train_rows: Vec<&[f32]> = split
        .train
        .iter()
        .map(|&i| features[i].as_slice())
        .collect();
    let train_labels: Vec<usize> = split.train.iter().map(|&i| labels[i]).collect();
    let width = train_rows.first().map_or(0, |r| r.len());
    let index = SimilarityIndex::from_rows(width, &train_rows)?;
    let expected = leave_one_out(&index.similarities(), &train_labels, classes)?;

    let outcome = fit_head(
        features,
        labels,
        classes,
        split.clone(),
        settings,
        device,
        &mut async |_| true,
    )
    .await?;
    let validation = outcome
        .validation
        .ok_or(TransferError::NoValidationPhotos)?;
    let val_labels: Vec<usize> = split.val.iter().map(|&i| labels[i]).collect();
    let outputs = check_outputs(&validation.probabilities, &val_labels);
    Ok(LayerProbe {
        index,
        expected,
        validation,
        outputs,
        chance: chance_accuracy(&val_labels, classes),
    })
}

/// One row of the per-layer table.
pub struct Layer {
    /// The backbone stage whose pooled output was measured.
    pub stage: usize,
    /// Its figures.
    pub probe: LayerProbe,
}

/// The whole report for one set of photos.
pub struct TransferReport {
    /// The backbone measured.
    pub kind: BackboneKind,
    /// The pretrained backbone at each cut point of [`cut_points`], ascending; the last is the
    /// final features, the ones `whisker train` trains on.
    pub layers: Vec<Layer>,
    /// The random backbone of seed `baseline_seed`, BatchNorm calibrated on the training photos,
    /// final features.
    pub baseline: LayerProbe,
    /// The random backbone's seed (`settings.seed`, as `whisker train --random-backbone`).
    pub baseline_seed: u64,
}

impl TransferReport {
    /// The pretrained backbone's final features: the expected accuracy and the head a user gets.
    pub fn pretrained(&self) -> &LayerProbe {
        &self.layers.last().expect("at least one cut point").probe
    }
}

/// Measures `pretrained` (and a calibrated random backbone of its kind) on preprocessed photos
/// (`inputs`, each `[3, 224, 224]`, with `labels` each `< classes`), training on `split.train`
/// and validating on `split.val`. The random backbone is calibrated on the training photos only.
/// `pause` is awaited after every stage of every pass (see [`super::features::extract`]).
#[allow(clippy::too_many_arguments)]
pub async fn transfer_report(
    pretrained: &Backbone,
    inputs: &[&[f32]],
    labels: &[usize],
    classes: usize,
    split: &Split,
    settings: &TrainSettings,
    device: &Device,
    pause: &mut impl AsyncFnMut(),
) -> Result<TransferReport, TransferError> {
    let kind = pretrained.kind();
    let cuts = cut_points(kind);
    // Every cut point of the pretrained backbone in one pass: `[cut][photo][channel]`.
    let pooled = extract_pooled(pretrained, inputs, &cuts, EXTRACT_BATCH, device, pause).await?;
    let mut layers = Vec::with_capacity(cuts.len());
    for (&stage, features) in cuts.iter().zip(&pooled) {
        let probe = probe_layer(features, labels, classes, split, settings, device).await?;
        layers.push(Layer { stage, probe });
    }

    let train_inputs: Vec<&[f32]> = split.train.iter().map(|&i| inputs[i]).collect();
    let random = calibrated_random_backbone(
        kind,
        settings.seed,
        &train_inputs,
        EXTRACT_BATCH,
        device,
        pause,
    )
    .await?;
    let last = [kind.last_stage()];
    let features = extract_pooled(&random, inputs, &last, EXTRACT_BATCH, device, pause).await?;
    let baseline = probe_layer(&features[0], labels, classes, split, settings, device).await?;
    Ok(TransferReport {
        kind,
        layers,
        baseline,
        baseline_seed: settings.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::Rng;

    /// Two classes of 8-d features that differ in their first value, alternating labels.
    fn toy(n: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = Rng::new(7);
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let rows = labels
            .iter()
            .map(|&l| {
                (0..8)
                    .map(|j| if j == 0 { 2.0 * l as f32 - 1.0 } else { 0.0 } + 0.1 * rng.normal())
                    .collect()
            })
            .collect();
        (rows, labels)
    }

    #[test]
    fn separable_features_are_expected_and_learned() {
        let device = Device::flex();
        // 8 validation photos: enough for a perfect head to clear the chance bar.
        let (rows, labels) = toy(40);
        let mut settings = TrainSettings::default();
        settings.head.learning_rate = 1e-2;
        let split = settings.split(&labels);
        let p =
            crate::block_on(probe_layer(&rows, &labels, 2, &split, &settings, &device)).unwrap();
        assert_eq!(p.expected.accuracy, 1.0);
        assert_eq!(p.index.len(), split.train.len());
        assert_eq!(p.validation.probabilities.len(), split.val.len());
        assert_eq!(p.chance, 0.5);
        assert!(p.beats_chance(), "accuracy {}", p.accuracy());
    }

    #[test]
    fn constant_features_cannot_beat_chance() {
        let device = Device::flex();
        let (_, labels) = toy(24);
        let rows = vec![vec![1.0; 8]; labels.len()];
        let settings = TrainSettings::default();
        let split = settings.split(&labels);
        let p =
            crate::block_on(probe_layer(&rows, &labels, 2, &split, &settings, &device)).unwrap();
        assert!(p.outputs.is_err());
        assert!(!p.beats_chance());
    }

    #[test]
    fn no_validation_photos_is_an_error() {
        let device = Device::flex();
        let (rows, labels) = toy(8);
        let split = Split {
            train: (0..8).collect(),
            val: Vec::new(),
        };
        let r = crate::block_on(probe_layer(
            &rows,
            &labels,
            2,
            &split,
            &TrainSettings::default(),
            &device,
        ));
        assert!(matches!(r, Err(TransferError::NoValidationPhotos)));
    }
}
