//! Training the head alone on pooled features of any width: the same recipe as
//! [`super::pipeline::fit`] without fine-tuning (held-out run with early stopping, then a refit on
//! every photo for the epochs validation chose), for the cut points of
//! [`super::layers`] whose features are not 1280 wide.

use super::classifier::Classifier;
use super::error::MlError;
use super::head::HeadConfig;
use super::progress::{EpochStats, Phase, Progress};
use super::settings::{PhaseConfig, TrainSettings};
use super::trainer::{EVAL_BATCH, Evaluation, Trainer, evaluate};
use crate::core::dataset::Split;
use crate::core::rng::Rng;
use burn::prelude::*;
use burn::tensor::TensorData;

/// The result of [`fit_head`].
pub struct HeadOutcome {
    /// The trained classifier (head only), off the autodiff device.
    pub classifier: Classifier,
    /// Per-epoch statistics of the held-out run.
    pub history: Vec<EpochStats>,
    /// The held-out run's classifier on `split.val`, if there are validation photos.
    pub validation: Option<Evaluation>,
    /// True if the observer asked to stop.
    pub stopped: bool,
}

/// Stacks pooled feature rows (`N` rows of `C` values) as `[N, C, 1, 1]`, the input of a
/// head-only [`Classifier`].
pub fn stack_pooled(rows: &[Vec<f32>], device: &Device) -> Result<Tensor<4>, MlError> {
    let width = rows.first().map_or(0, Vec::len);
    if let Some(bad) = rows.iter().find(|r| r.len() != width) {
        return Err(MlError::BadSetting(format!(
            "feature rows of {} and {width} values cannot be stacked",
            bad.len()
        )));
    }
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_data(
        TensorData::new(flat, [rows.len(), width, 1, 1]),
        device,
    ))
}

/// Trains a head (`settings.hidden`, `settings.head`, `settings.seed`, `settings.refit`) on
/// `features` (one pooled row per photo, any width) with `labels`, fitting on `split.train` and
/// validating on `split.val`. `settings.fine_tune_blocks` must be 0: fine-tuning needs the
/// backbone, see [`super::pipeline::fit`]. With 1280-d features this trains exactly what `fit`
/// trains (same seeds, same steps).
pub async fn fit_head(
    features: &[Vec<f32>],
    labels: &[usize],
    classes: usize,
    split: Split,
    settings: &TrainSettings,
    device: &Device,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<HeadOutcome, MlError> {
    settings.validate()?;
    if settings.fine_tune_blocks > 0 {
        return Err(MlError::BadSetting(
            "a head-only fit cannot fine-tune backbone blocks".into(),
        ));
    }
    let x = stack_pooled(features, device)?; // [N, C, 1, 1]
    let n = labels.len();
    let (classifier, history, best, stopped) = train(
        &x,
        labels,
        classes,
        split.clone(),
        settings,
        settings.head.clone(),
        Phase::Training,
        observer,
    )
    .await?;
    let validation = if split.val.is_empty() {
        None
    } else {
        Some(evaluate(&classifier, &x, &split.val, labels, classes, EVAL_BATCH).await?)
    };
    let mut out = HeadOutcome {
        classifier,
        history,
        validation,
        stopped,
    };
    if settings.refit && !split.val.is_empty() && !stopped {
        let all = Split {
            train: (0..n).collect(),
            val: Vec::new(),
        };
        let fixed = PhaseConfig {
            epochs: best.max(1),
            patience: 0,
            ..settings.head.clone()
        };
        let (refit, _, _, stopped) = train(
            &x,
            labels,
            classes,
            all,
            settings,
            fixed,
            Phase::Refitting,
            observer,
        )
        .await?;
        if !stopped {
            out.classifier = refit;
        }
        out.stopped = stopped;
    }
    Ok(out)
}

/// One run: a fresh head seeded like `fit`'s, trained to the end or until the observer stops.
#[allow(clippy::too_many_arguments)]
async fn train(
    x: &Tensor<4>,
    labels: &[usize],
    classes: usize,
    split: Split,
    settings: &TrainSettings,
    config: PhaseConfig,
    phase: Phase,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<(Classifier, Vec<EpochStats>, usize, bool), MlError> {
    let [_, width, _, _] = x.dims();
    let head = HeadConfig::new(width, classes)
        .with_hidden(settings.hidden)
        .init(&mut Rng::new(settings.seed), &x.device());
    // A head alone: it is only evaluated on these features, never saved nor run on a backbone's
    // activations, so the backbone it names does not matter.
    let start = Classifier::head_only(Default::default(), head);
    let mut trainer = Trainer::new(
        start,
        x.clone(),
        labels.to_vec(),
        classes,
        split,
        config,
        settings.seed,
    )?;
    let total = trainer.steps_per_epoch() * trainer.planned_epochs();
    let (mut done, mut stopped) = (0, false);
    while !trainer.finished() {
        let epoch = trainer.step().await?;
        done += 1;
        let progress = Progress {
            phase,
            done: if trainer.finished() { total } else { done },
            total,
            epoch,
        };
        if !observer(progress).await {
            stopped = true;
            break;
        }
    }
    let history = trainer.history().to_vec();
    let (model, best) = trainer.into_best();
    Ok((model, history, best, stopped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::backbone::mobilenet::FEATURE_DIM;
    use crate::ml::backbone::{Backbone, BackboneKind};
    use crate::ml::pipeline::fit;

    /// Two classes of `width`-d features that differ in their first value.
    fn toy(n: usize, width: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = Rng::new(4);
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let rows = labels
            .iter()
            .map(|&l| {
                (0..width)
                    .map(|j| {
                        let signal = if j == 0 { 2.0 * l as f32 - 1.0 } else { 0.0 };
                        signal + 0.1 * rng.normal()
                    })
                    .collect()
            })
            .collect();
        (rows, labels)
    }

    fn settings() -> TrainSettings {
        let mut s = TrainSettings::default();
        s.head.epochs = 4;
        s.head.learning_rate = 1e-2;
        s
    }

    #[test]
    fn same_training_as_fit_on_final_features() {
        let device = Device::flex();
        let (rows, labels) = toy(20, FEATURE_DIM);
        let s = settings();
        let split = s.split(&labels);
        let ours = crate::block_on(fit_head(
            &rows,
            &labels,
            2,
            split.clone(),
            &s,
            &device,
            &mut async |_| true,
        ))
        .unwrap();
        let backbone = Backbone::init(BackboneKind::MobileNetV2, &device);
        let x = stack_pooled(&rows, &device).unwrap();
        let theirs = crate::block_on(fit(
            &backbone,
            x.clone(),
            &labels,
            2,
            split,
            &s,
            &mut async |_| true,
        ))
        .unwrap();
        assert_eq!(ours.history, theirs.head_history);
        let logits = |c: &Classifier| {
            c.forward(x.clone())
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap()
        };
        assert_eq!(logits(&ours.classifier), logits(&theirs.classifier));
    }

    #[test]
    fn narrow_features_train() {
        let device = Device::flex();
        let (rows, labels) = toy(40, 64);
        let mut s = settings();
        s.head.epochs = 20;
        let out = crate::block_on(fit_head(
            &rows,
            &labels,
            2,
            s.split(&labels),
            &s,
            &device,
            &mut async |_| true,
        ))
        .unwrap();
        assert_eq!(out.validation.unwrap().confusion.accuracy(), 1.0);
        let mut s = settings();
        s.fine_tune_blocks = 1;
        let err = crate::block_on(fit_head(
            &rows,
            &labels,
            2,
            s.split(&labels),
            &s,
            &device,
            &mut async |_| true,
        ));
        assert!(err.is_err());
    }
}
