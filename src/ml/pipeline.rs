//! The transfer-learning recipe end to end, after feature extraction: train the head on the
//! frozen backbone's features, then optionally fine-tune the last blocks with the head, at a
//! smaller learning rate, BatchNorm in inference mode. Shared by the CLI and the web app; the
//! caller extracts (decoding photos is platform-specific) and observes progress.

use super::backbone::{Backbone, BackboneKind, FEATURE_DIM};
use super::classifier::{Classifier, MAX_FINE_TUNE_BLOCKS};
use super::error::MlError;
use super::head::HeadConfig;
use super::trainer::{EpochStats, Evaluation, PhaseConfig, Trainer, evaluate};
use crate::core::dataset::{Split, stratified_split};
use crate::core::rng::Rng;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Everything the user can set about training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Training the head on frozen features.
    pub head: PhaseConfig,
    /// Fine-tuning the last blocks together with the head (only if `fine_tune_blocks > 0`).
    pub fine_tune: PhaseConfig,
    /// Inverted residual blocks to unfreeze, counted from the top (0 = head only).
    pub fine_tune_blocks: usize,
    /// Hidden units of the head; `None` for a linear softmax head.
    pub hidden: Option<usize>,
    /// Share of each class's photos held out for validation, `[0, 1)`.
    pub val_share: f32,
    /// Seed of the split, the head's initialisation, shuffling and dropout.
    pub seed: u64,
    /// After validating, train again on all photos for the best epoch counts (the final model
    /// then uses every photo; the reported validation is the held-out run's).
    pub refit: bool,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            head: PhaseConfig::default(),
            // Fine-tuning pretrained weights wants a learning rate ~10x below the head's.
            fine_tune: PhaseConfig {
                epochs: 10,
                learning_rate: 1e-4,
                patience: 4,
                ..PhaseConfig::default()
            },
            fine_tune_blocks: 0,
            hidden: None,
            val_share: 0.2,
            seed: 42,
            refit: true,
        }
    }
}

impl TrainSettings {
    /// Checks the settings, in words a user can act on.
    pub fn validate(&self) -> Result<(), MlError> {
        let bad = |m: String| Err(MlError::BadSetting(m));
        if self.head.epochs == 0 {
            return bad("train for at least one epoch".into());
        }
        if !(0.0..0.9).contains(&self.val_share) {
            return bad(format!(
                "the validation share must be between 0 and 0.9, not {}",
                self.val_share
            ));
        }
        if self.fine_tune_blocks > MAX_FINE_TUNE_BLOCKS {
            return bad(format!(
                "at most {MAX_FINE_TUNE_BLOCKS} blocks can be fine-tuned, not {}",
                self.fine_tune_blocks
            ));
        }
        for (name, p) in [
            ("learning rate", &self.head),
            ("fine-tuning rate", &self.fine_tune),
        ] {
            if !(p.learning_rate > 0.0 && p.learning_rate < 1.0) {
                return bad(format!("the {name} must be between 0 and 1"));
            }
            if p.batch_size == 0 {
                return bad("the batch size must be at least 1".into());
            }
            if !(0.0..1.0).contains(&p.dropout) {
                return bad("dropout must be between 0 and 1".into());
            }
        }
        Ok(())
    }

    /// The seeded, stratified train/validation split of photos with `labels`.
    pub fn split(&self, labels: &[usize]) -> Split {
        stratified_split(labels, self.val_share, self.seed)
    }

    /// The stage of `backbone` whose activations must be extracted and cached.
    pub fn cut_stage(&self, backbone: BackboneKind) -> usize {
        backbone.cut_stage(self.fine_tune_blocks)
    }
}

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

/// The result of [`fit`].
pub struct TrainOutcome {
    /// The trained classifier (best epoch), off the autodiff device.
    pub classifier: Classifier,
    /// Per-epoch statistics of the head phase.
    pub head_history: Vec<EpochStats>,
    /// Per-epoch statistics of the fine-tuning phase (empty without fine-tuning).
    pub fine_tune_history: Vec<EpochStats>,
    /// The split used.
    pub split: Split,
    /// The final classifier on the validation photos, if there are any.
    pub validation: Option<Evaluation>,
    /// True if the observer asked to stop early.
    pub stopped: bool,
}

/// Trains a classifier on `activations` `[N, C, H, W]` of stage [`TrainSettings::cut_stage`] of
/// `backbone` (see [`crate::ml::features`]) for photos with `labels`, fitting on `split.train`
/// and validating on `split.val` (usually [`TrainSettings::split`]).
///
/// `observer` sees every step; returning `false` stops training, keeping the best epoch so far.
/// It is async so a browser caller can yield to the event loop there.
pub async fn fit(
    backbone: &Backbone,
    activations: Tensor<4>,
    labels: &[usize],
    classes: usize,
    split: Split,
    settings: &TrainSettings,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<TrainOutcome, MlError> {
    settings.validate()?;
    let most = backbone.kind().max_fine_tune_blocks();
    if settings.fine_tune_blocks > most {
        return Err(MlError::BadSetting(format!(
            "at most {most} blocks of {} can be fine-tuned, not {}",
            backbone.kind(),
            settings.fine_tune_blocks
        )));
    }
    let n = labels.len();
    let device = activations.device();
    let fine_tune = settings.fine_tune_blocks;

    // Head phase on pooled 1280-d features, computed once through the frozen top stages.
    let pooled = if fine_tune == 0 {
        activations.clone()
    } else {
        let frozen = Classifier::new(backbone, fine_tune, dummy_head(classes, &device));
        let mut rows = Vec::new();
        for start in (0..n).step_by(32) {
            let end = (start + 32).min(n);
            rows.push(frozen.features(activations.clone().narrow(0, start, end - start)));
        }
        Tensor::cat(rows, 0).reshape([n, FEATURE_DIM, 1, 1])
    };
    let data = PhaseData {
        backbone,
        pooled,
        activations: activations.clone(),
        labels,
        classes,
    };

    let held_out = train_phases(
        &data,
        &split,
        settings,
        [settings.head.clone(), settings.fine_tune.clone()],
        [Phase::Training, Phase::FineTuning],
        observer,
    )
    .await?;
    let validation = if split.val.is_empty() {
        None
    } else {
        Some(
            evaluate(
                &held_out.classifier,
                &activations,
                &split.val,
                labels,
                classes,
            )
            .await?,
        )
    };

    // Refit on every photo for the epochs validation chose: a user's few photos are too precious
    // to leave a fifth of them out of the final model. The reported validation stays the
    // held-out run's, an honest estimate.
    let mut classifier = held_out.classifier;
    let mut stopped = held_out.stopped;
    if settings.refit && !split.val.is_empty() && !stopped {
        let all = Split {
            train: (0..n).collect(),
            val: Vec::new(),
        };
        let fixed = |cfg: &PhaseConfig, epochs: usize| PhaseConfig {
            epochs: epochs.max(1),
            patience: 0,
            ..cfg.clone()
        };
        let refit = train_phases(
            &data,
            &all,
            settings,
            [
                fixed(&settings.head, held_out.best_epochs[0]),
                fixed(&settings.fine_tune, held_out.best_epochs[1]),
            ],
            [Phase::Refitting, Phase::Refitting],
            observer,
        )
        .await?;
        if !refit.stopped {
            classifier = refit.classifier;
        }
        stopped = refit.stopped;
    }
    Ok(TrainOutcome {
        classifier,
        head_history: held_out.histories[0].clone(),
        fine_tune_history: held_out.histories[1].clone(),
        split,
        validation,
        stopped,
    })
}

/// What both training runs (held-out and refit) share.
struct PhaseData<'a> {
    backbone: &'a Backbone,
    /// `[N, 1280, 1, 1]` pooled features for the head phase.
    pooled: Tensor<4>,
    /// `[N, C, H, W]` cut-stage activations for fine-tuning.
    activations: Tensor<4>,
    labels: &'a [usize],
    classes: usize,
}

struct PhasesResult {
    classifier: Classifier,
    histories: [Vec<EpochStats>; 2],
    best_epochs: [usize; 2],
    stopped: bool,
}

/// The head phase, then (with `fine_tune_blocks > 0`) the fine-tuning phase.
async fn train_phases(
    data: &PhaseData<'_>,
    split: &Split,
    settings: &TrainSettings,
    configs: [PhaseConfig; 2],
    phases: [Phase; 2],
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<PhasesResult, MlError> {
    let [head_cfg, ft_cfg] = configs;
    let device = data.pooled.device();
    let head = HeadConfig::new(FEATURE_DIM, data.classes)
        .with_hidden(settings.hidden)
        .init(&mut Rng::new(settings.seed), &device);
    let start = Classifier::head_only(data.backbone.kind(), head);
    let trainer = Trainer::new(
        start,
        data.pooled.clone(),
        data.labels.to_vec(),
        data.classes,
        split.clone(),
        head_cfg,
        settings.seed,
    )?;
    let (trained, head_history, head_best, stopped) =
        run_phase(trainer, phases[0], observer).await?;

    let fine_tune = settings.fine_tune_blocks;
    if fine_tune == 0 {
        return Ok(PhasesResult {
            classifier: trained,
            histories: [head_history, Vec::new()],
            best_epochs: [head_best, 0],
            stopped,
        });
    }
    let start = Classifier::new(data.backbone, fine_tune, trained.head);
    if stopped {
        // Stopped before fine-tuning: the classifier still takes the cut stage's activations.
        return Ok(PhasesResult {
            classifier: start,
            histories: [head_history, Vec::new()],
            best_epochs: [head_best, 0],
            stopped,
        });
    }
    let trainer = Trainer::new(
        start,
        data.activations.clone(),
        data.labels.to_vec(),
        data.classes,
        split.clone(),
        ft_cfg,
        settings.seed.wrapping_add(1),
    )?;
    let (tuned, ft_history, ft_best, stopped) = run_phase(trainer, phases[1], observer).await?;
    Ok(PhasesResult {
        classifier: tuned,
        histories: [head_history, ft_history],
        best_epochs: [head_best, ft_best],
        stopped,
    })
}

async fn run_phase(
    mut trainer: Trainer,
    phase: Phase,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<(Classifier, Vec<EpochStats>, usize, bool), MlError> {
    let per_epoch = trainer.steps_per_epoch();
    let total = per_epoch * trainer.planned_epochs();
    let mut done = 0;
    let mut stopped = false;
    while !trainer.finished() {
        let epoch = trainer.step().await?;
        done += 1;
        let keep_going = observer(Progress {
            phase,
            done: if trainer.finished() { total } else { done },
            total,
            epoch,
        })
        .await;
        if !keep_going {
            stopped = true;
            break;
        }
    }
    let history = trainer.history().to_vec();
    let (model, best_epoch) = trainer.into_best();
    Ok((model, history, best_epoch, stopped))
}

fn dummy_head(classes: usize, device: &Device) -> super::head::Head {
    HeadConfig::new(FEATURE_DIM, classes).init(&mut Rng::new(0), device)
}
