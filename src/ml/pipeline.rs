//! The transfer-learning recipe end to end, after feature extraction: train the head on the
//! frozen backbone's features, then optionally fine-tune the last blocks with the head, at a
//! smaller learning rate, BatchNorm in inference mode. Shared by the CLI and the web app; the
//! caller extracts (decoding photos is platform-specific) and observes progress.

use super::backbone::{Backbone, FEATURE_DIM, global_pool};
use super::batch::BatchLimits;
use super::classifier::Classifier;
use super::error::MlError;
use super::head::HeadConfig;
use super::progress::{EpochStats, FineTuning, Phase, Progress};
use super::settings::{PhaseConfig, TrainSettings};
use super::trainer::{EVAL_BATCH, Evaluation, Trainer, evaluate};
use crate::core::dataset::Split;
use crate::core::rng::Rng;
use burn::prelude::*;

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
    /// Whether fine-tuning was kept.
    pub fine_tuning: FineTuning,
    /// Photos per fine-tuning step actually used: the settings' batch size, capped by what the
    /// device allows ([`BatchLimits::classifier`]); `None` without fine-tuning.
    pub fine_tune_batch_size: Option<usize>,
}

/// Trains a classifier on `activations` `[N, C, H, W]` taken at [`TrainSettings::input`] of
/// `backbone` (see [`crate::ml::features`]; without fine-tuning, the pooled output of the head's
/// stage as `[N, C_stage, 1, 1]`) for photos with `labels`, fitting on `split.train`
/// and validating on `split.val` (usually [`TrainSettings::split`]).
///
/// `observer` sees every step; returning `false` stops training, keeping the best epoch so far.
/// It is async so a browser caller can yield to the event loop there.
///
/// Batches are as the settings say: [`fit_within`] caps them for a device with bounded buffers.
pub async fn fit(
    backbone: &Backbone,
    activations: Tensor<4>,
    labels: &[usize],
    classes: usize,
    split: Split,
    settings: &TrainSettings,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<TrainOutcome, MlError> {
    let limits = BatchLimits::UNLIMITED;
    fit_within(
        backbone,
        activations,
        labels,
        classes,
        split,
        settings,
        limits,
        observer,
    )
    .await
}

/// [`fit`] with every batch that reaches the device capped by `limits`: fine-tuning steps (the
/// effective size is [`TrainOutcome::fine_tune_batch_size`]), evaluation passes and the frozen
/// stages' pass above the cut.
#[allow(clippy::too_many_arguments)]
pub async fn fit_within(
    backbone: &Backbone,
    activations: Tensor<4>,
    labels: &[usize],
    classes: usize,
    split: Split,
    settings: &TrainSettings,
    limits: BatchLimits,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<TrainOutcome, MlError> {
    settings.validate_for(backbone.kind())?;
    let most = backbone.kind().max_fine_tune_blocks();
    if settings.fine_tune_blocks > most {
        return Err(MlError::BadSetting(format!(
            "at most {most} blocks of {} can be fine-tuned, not {}",
            backbone.kind(),
            settings.fine_tune_blocks
        )));
    }
    let n = labels.len();
    let fine_tune = settings.fine_tune_blocks;
    // A mismatch would otherwise surface as a shape panic deep in the first training step.
    let kind = backbone.kind();
    let expected = settings.input(kind).shape(kind);
    let [_, c, h, w] = activations.dims();
    if [c, h, w] != expected {
        return Err(MlError::BadSetting(format!(
            "activations of shape {:?} a photo do not fit this run, which takes {expected:?} \
             (stage {} of {kind})",
            [c, h, w],
            settings.cut_stage(kind)
        )));
    }

    // Head phase on pooled features (1280-d at the last stage): the stages above the cut are
    // still frozen then, so their output is computed once, in chunks that keep each pass's memory
    // bounded. Without fine-tuning the activations are already the head stage's, pooled.
    let pooled = if fine_tune == 0 {
        activations.clone()
    } else {
        let kind = backbone.kind();
        let from = kind.cut_stage(fine_tune) + 1;
        let chunk_size = BatchLimits::cap(32, limits.stages(kind, from, kind.last_stage()));
        let mut rows = Vec::new();
        for start in (0..n).step_by(chunk_size) {
            let end = (start + chunk_size).min(n);
            let chunk = activations.clone().narrow(0, start, end - start);
            // [B, C_cut, H, W] -> [B, 1280]
            rows.push(global_pool(backbone.forward_stages(
                chunk,
                from,
                kind.last_stage(),
            )));
        }
        Tensor::cat(rows, 0).reshape([n, FEATURE_DIM, 1, 1])
    };
    let data = PhaseData {
        backbone,
        pooled,
        activations: activations.clone(),
        labels,
        classes,
        limits,
    };
    // A batch the device cannot hold would fail on its first step: take the most it can.
    let fine_tune_cfg = PhaseConfig {
        batch_size: BatchLimits::cap(
            settings.fine_tune.batch_size,
            limits.classifier(kind, settings.input(kind)),
        ),
        ..settings.fine_tune.clone()
    };
    let fine_tune_batch_size = (fine_tune > 0).then_some(fine_tune_cfg.batch_size);

    let held_out = train_phases(
        &data,
        &split,
        settings,
        fine_tune,
        [settings.head.clone(), fine_tune_cfg.clone()],
        [Phase::Training, Phase::FineTuning],
        observer,
    )
    .await?;
    let fine_tuning = decide(&held_out, fine_tune, held_out.stopped);
    let (held_out_model, fine_tune) = match (fine_tuning, held_out.head_only) {
        (FineTuning::Dropped { .. }, Some(head_only)) => (head_only, 0),
        _ => (held_out.classifier, fine_tune),
    };
    let validation = if split.val.is_empty() {
        None
    } else {
        Some(
            evaluate(
                &held_out_model,
                data.inputs_of(&held_out_model),
                &split.val,
                labels,
                classes,
                data.eval_batch(&held_out_model),
            )
            .await?,
        )
    };

    // Refit on every photo for the epochs validation chose: a user's few photos are too precious
    // to leave a fifth of them out of the final model. The reported validation stays the
    // held-out run's, an honest estimate.
    let mut classifier = held_out_model;
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
            fine_tune,
            [
                fixed(&settings.head, held_out.best_epochs[0]),
                fixed(&fine_tune_cfg, held_out.best_epochs[1]),
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
        fine_tuning,
        fine_tune_batch_size,
    })
}

/// Whether the held-out run's fine-tuning is kept (see [`FineTuning`]).
fn decide(run: &PhasesResult, fine_tune: usize, stopped: bool) -> FineTuning {
    if fine_tune == 0 {
        return FineTuning::NotAsked;
    }
    let best = |h: &[EpochStats]| {
        h.iter()
            .filter_map(|e| e.val_loss)
            .min_by(|a, b| a.total_cmp(b))
    };
    match (best(&run.histories[0]), best(&run.histories[1])) {
        (Some(head_loss), Some(tuned_loss)) if !stopped => {
            if tuned_loss < head_loss {
                FineTuning::Kept {
                    head_loss,
                    tuned_loss,
                }
            } else {
                FineTuning::Dropped {
                    head_loss,
                    tuned_loss,
                }
            }
        }
        _ => FineTuning::Unchecked,
    }
}

/// What both training runs (held-out and refit) share.
struct PhaseData<'a> {
    backbone: &'a Backbone,
    /// `[N, C_stage, 1, 1]` pooled features of the head's stage for the head phase.
    pooled: Tensor<4>,
    /// `[N, C, H, W]` cut-stage activations for fine-tuning.
    activations: Tensor<4>,
    labels: &'a [usize],
    classes: usize,
    /// What the device allows per pass.
    limits: BatchLimits,
}

impl PhaseData<'_> {
    /// Photos per evaluation pass of `model`: [`EVAL_BATCH`], or fewer if the device needs.
    fn eval_batch(&self, model: &Classifier) -> usize {
        BatchLimits::cap(
            EVAL_BATCH,
            self.limits.classifier(model.backbone, model.input()),
        )
    }

    /// What `model` takes: pooled features for a head-only model, else the cut stage's.
    fn inputs_of(&self, model: &Classifier) -> &Tensor<4> {
        if model.input().pooled {
            &self.pooled
        } else {
            &self.activations
        }
    }
}

struct PhasesResult {
    classifier: Classifier,
    /// The head phase's model alone (taking pooled features), when fine-tuning followed it.
    head_only: Option<Classifier>,
    histories: [Vec<EpochStats>; 2],
    best_epochs: [usize; 2],
    stopped: bool,
}

/// The head phase, then (with `fine_tune_blocks > 0`) the fine-tuning phase.
async fn train_phases(
    data: &PhaseData<'_>,
    split: &Split,
    settings: &TrainSettings,
    fine_tune: usize,
    configs: [PhaseConfig; 2],
    phases: [Phase; 2],
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<PhasesResult, MlError> {
    let [head_cfg, ft_cfg] = configs;
    // Two parts of the same phase (the refit) report as one, so progress never moves backwards.
    let steps = |cfg: &PhaseConfig| cfg.epochs * split.train.len().div_ceil(cfg.batch_size.max(1));
    let spans = if phases[0] == phases[1] && fine_tune > 0 {
        let total = steps(&head_cfg) + steps(&ft_cfg);
        [Some((0, total)), Some((steps(&head_cfg), total))]
    } else {
        [None, None]
    };
    let device = data.pooled.device();
    let kind = data.backbone.kind();
    let head_stage = settings.head_stage(kind);
    let head = HeadConfig::new(kind.stage_channels(head_stage), data.classes)
        .with_hidden(settings.hidden)
        .init(&mut Rng::new(settings.seed), &device);
    let start = Classifier::head_at(kind, head_stage, head);
    let eval_batch = data.eval_batch(&start);
    let trainer = Trainer::new(
        start,
        data.pooled.clone(),
        data.labels.to_vec(),
        data.classes,
        split.clone(),
        head_cfg,
        settings.seed,
    )?
    .with_eval_batch(eval_batch);
    let (trained, head_history, head_best, stopped) =
        run_phase(trainer, phases[0], spans[0], observer).await?;

    if fine_tune == 0 {
        return Ok(PhasesResult {
            classifier: trained,
            head_only: None,
            histories: [head_history, Vec::new()],
            best_epochs: [head_best, 0],
            stopped,
        });
    }
    let start = Classifier::new(data.backbone, fine_tune, trained.head.clone());
    let eval_batch = data.eval_batch(&start);
    if stopped {
        // Stopped before fine-tuning: the classifier still takes the cut stage's activations.
        return Ok(PhasesResult {
            classifier: start,
            head_only: Some(trained),
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
    )?
    .with_eval_batch(eval_batch);
    let (tuned, ft_history, ft_best, stopped) =
        run_phase(trainer, phases[1], spans[1], observer).await?;
    Ok(PhasesResult {
        classifier: tuned,
        head_only: Some(trained),
        histories: [head_history, ft_history],
        best_epochs: [head_best, ft_best],
        stopped,
    })
}

/// Runs `trainer` to the end, reporting each step as `phase`. `span` `(offset, total)` reports the
/// steps as part of a larger whole (the refit's two parts); by default they are their own.
async fn run_phase(
    mut trainer: Trainer,
    phase: Phase,
    span: Option<(usize, usize)>,
    observer: &mut impl AsyncFnMut(Progress) -> bool,
) -> Result<(Classifier, Vec<EpochStats>, usize, bool), MlError> {
    let own = trainer.steps_per_epoch() * trainer.planned_epochs();
    let (offset, total) = span.unwrap_or((0, own));
    let mut done = 0;
    let mut stopped = false;
    while !trainer.finished() {
        let epoch = trainer.step().await?;
        done += 1;
        // Early stopping ends a phase before its planned steps: it then counts as complete.
        let done_here = if trainer.finished() { own } else { done };
        let keep_going = observer(Progress {
            phase,
            done: offset + done_here,
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
