//! The training loop, written by us because burn-train does not run on wasm.
//!
//! Step-wise and async: [`Trainer::step`] runs one mini-batch and returns; the caller decides when
//! to yield to the browser and when to stop. Tensor reads go through `into_data_async`, so the
//! same code runs natively (under a trivial executor) and in the browser, where blocking reads
//! panic. Seeded: the same photos, settings and seed give the same model on a given backend.

use super::classifier::Classifier;
use super::error::MlError;
use super::head::dropout_mask;
use super::progress::EpochStats;
use super::settings::PhaseConfig;
use crate::core::dataset::Split;
use crate::core::metrics::{ConfusionMatrix, argmax};
use crate::core::rng::Rng;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, TensorData};

/// Trains a [`Classifier`] on cached inputs (the cut stage's activations of every photo).
pub struct Trainer {
    model: Classifier,
    optim: ModuleOptimizer,
    config: PhaseConfig,
    inputs: Tensor<4>,
    labels: Vec<usize>,
    classes: usize,
    split: Split,
    rng: Rng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    best: Option<(f32, usize, Classifier)>,
    stale_epochs: usize,
    history: Vec<EpochStats>,
    eval_batch: usize,
}

impl Trainer {
    /// Sets up training of `model` (on any device) on `inputs` `[N, C, H, W]` with class
    /// `labels` (`N` of them, each `< classes`), fitting on `split.train` and validating on
    /// `split.val`. Training runs on the autodiff flavour of `inputs`' device.
    pub fn new(
        model: Classifier,
        inputs: Tensor<4>,
        labels: Vec<usize>,
        classes: usize,
        split: Split,
        config: PhaseConfig,
        seed: u64,
    ) -> Result<Self, MlError> {
        if split.train.is_empty() {
            return Err(MlError::NoTrainingPhotos);
        }
        if config.batch_size == 0 {
            return Err(MlError::BadSetting("batch size must be at least 1".into()));
        }
        let device = inputs.device().autodiff();
        let model = model.fork(&device).train();
        let optim = AdamWConfig::new()
            .with_weight_decay(config.weight_decay)
            .init();
        Ok(Self {
            model,
            optim,
            inputs: inputs.to_device(&device),
            labels,
            classes,
            split,
            rng: Rng::new(seed),
            order: Vec::new(),
            cursor: 0,
            epoch: 0,
            best: None,
            stale_epochs: 0,
            history: Vec::new(),
            config,
            eval_batch: EVAL_BATCH,
        })
    }

    /// Evaluates at most `batch` photos per pass at the end of each epoch (default
    /// [`EVAL_BATCH`]): a device's buffer limit may allow fewer (see [`crate::ml::batch`]).
    pub fn with_eval_batch(mut self, batch: usize) -> Self {
        self.eval_batch = batch.max(1);
        self
    }

    /// True once all epochs ran or early stopping fired.
    pub fn finished(&self) -> bool {
        self.epoch >= self.config.epochs
            || (self.config.patience > 0 && self.stale_epochs >= self.config.patience)
    }

    /// Epochs planned (early stopping may end sooner).
    pub fn planned_epochs(&self) -> usize {
        self.config.epochs
    }

    /// Epochs completed so far.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Mini-batches per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.split.train.len().div_ceil(self.config.batch_size)
    }

    /// Statistics of every completed epoch.
    pub fn history(&self) -> &[EpochStats] {
        &self.history
    }

    /// Runs one optimisation step on the next mini-batch. Returns the epoch's statistics when
    /// that step completed an epoch, `None` otherwise.
    pub async fn step(&mut self) -> Result<Option<EpochStats>, MlError> {
        if self.finished() {
            return Ok(None);
        }
        if self.cursor == 0 {
            self.order = self.split.train.clone();
            self.rng.shuffle(&mut self.order);
        }
        let end = (self.cursor + self.config.batch_size).min(self.order.len());
        let batch: Vec<usize> = self.order[self.cursor..end].to_vec();
        self.cursor = end;

        let device = self.inputs.device();
        let x = select_rows(&self.inputs, &batch);
        let targets = one_hot(&batch, &self.labels, self.classes, &device);
        let mask = self
            .model
            .head
            .hidden_units()
            .map(|h| dropout_mask(batch.len(), h, self.config.dropout, &mut self.rng, &device));
        let logits = self.model.forward_masked(x, mask);
        let loss = cross_entropy(logits, targets);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let model = self.model.clone();
        self.model = self.optim.step(self.config.learning_rate, model, grads);

        if self.cursor < self.order.len() {
            return Ok(None);
        }
        self.cursor = 0;
        self.epoch += 1;
        let stats = self.end_epoch().await?;
        Ok(Some(stats))
    }

    async fn end_epoch(&mut self) -> Result<EpochStats, MlError> {
        let model = self.model.valid();
        let inner = self.inputs.clone().inner();
        let train = evaluate(
            &model,
            &inner,
            &self.split.train,
            &self.labels,
            self.classes,
            self.eval_batch,
        )
        .await?;
        let val = if self.split.val.is_empty() {
            None
        } else {
            Some(
                evaluate(
                    &model,
                    &inner,
                    &self.split.val,
                    &self.labels,
                    self.classes,
                    self.eval_batch,
                )
                .await?,
            )
        };
        let stats = EpochStats {
            epoch: self.epoch,
            train_loss: train.loss,
            train_accuracy: train.confusion.accuracy(),
            val_loss: val.as_ref().map(|v| v.loss),
            val_accuracy: val.as_ref().map(|v| v.confusion.accuracy()),
        };
        // Early stopping on validation loss; without validation photos, the last epoch wins.
        let score = stats.val_loss.unwrap_or(-(self.epoch as f32));
        match &self.best {
            Some((best, _, _)) if score >= *best => self.stale_epochs += 1,
            _ => {
                self.best = Some((score, self.epoch, model));
                self.stale_epochs = 0;
            }
        }
        self.history.push(stats.clone());
        Ok(stats)
    }

    /// The best epoch's model (lowest validation loss), off the autodiff device, and that
    /// epoch's number (0 if no epoch ran).
    pub fn into_best(self) -> (Classifier, usize) {
        match self.best {
            Some((_, epoch, model)) => (model, epoch),
            None => (self.model.valid(), 0),
        }
    }
}

/// Loss and confusion matrix of a classifier on some photos.
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f32,
    /// Rows: true class, columns: predicted class.
    pub confusion: ConfusionMatrix,
    /// Softmax probabilities, one row per photo, in the order given.
    pub probabilities: Vec<Vec<f32>>,
}

/// Largest number of photos sent through the model at once when evaluating, unless the device
/// allows fewer (see [`crate::ml::batch::BatchLimits::classifier`]).
pub const EVAL_BATCH: usize = 64;

/// Evaluates `model` on rows `indices` of `inputs` `[N, C, H, W]` (no autodiff), `batch` photos
/// per pass.
pub async fn evaluate(
    model: &Classifier,
    inputs: &Tensor<4>,
    indices: &[usize],
    labels: &[usize],
    classes: usize,
    batch: usize,
) -> Result<Evaluation, MlError> {
    let mut confusion = ConfusionMatrix::new(classes);
    let mut probabilities = Vec::with_capacity(indices.len());
    let mut loss = 0.0f64;
    for chunk in indices.chunks(batch.max(1)) {
        let logits = model.forward(select_rows(inputs, chunk));
        let rows = read_rows(logits).await?;
        for (&i, row) in chunk.iter().zip(rows) {
            let p = crate::core::metrics::softmax(&row);
            loss -= (p[labels[i]].max(1e-12) as f64).ln();
            confusion.add(labels[i], argmax(&p));
            probabilities.push(p);
        }
    }
    Ok(Evaluation {
        loss: (loss / indices.len().max(1) as f64) as f32,
        confusion,
        probabilities,
    })
}

/// Reads a `[B, K]` tensor back as `B` rows, without blocking (works on wasm).
pub async fn read_rows(t: Tensor<2>) -> Result<Vec<Vec<f32>>, MlError> {
    let [_, k] = t.dims();
    let data = t.into_data_async().await.map_err(MlError::read)?;
    let values = data.try_into_vec_as::<f32>().map_err(MlError::read)?;
    Ok(values.chunks(k.max(1)).map(<[f32]>::to_vec).collect())
}

/// Rows `indices` of `x` along the batch axis: `[N, ...] -> [len(indices), ...]`.
fn select_rows(x: &Tensor<4>, indices: &[usize]) -> Tensor<4> {
    let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [indices.len()]), &x.device());
    x.clone().select(0, idx)
}

/// One-hot targets `[B, classes]` for the photos `batch`.
fn one_hot(batch: &[usize], labels: &[usize], classes: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0f32; batch.len() * classes];
    for (row, &i) in batch.iter().enumerate() {
        v[row * classes + labels[i]] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [batch.len(), classes]), device)
}

/// Mean softmax cross-entropy: `logits [B, K]`, one-hot `targets [B, K]` -> scalar `[1]`.
fn cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let [b, _] = logits.dims();
    (log_softmax(logits, 1) * targets)
        .sum()
        .mul_scalar(-1.0 / b as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::head::HeadConfig;

    /// Two linearly separable classes of "pooled features" `[N, 8, 1, 1]`.
    fn toy(n: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
        let mut rng = Rng::new(9);
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let values: Vec<f32> = labels
            .iter()
            .flat_map(|&l| {
                let sign = if l == 0 { 1.0 } else { -1.0 };
                (0..8)
                    .map(|j| if j == 0 { sign } else { 0.3 * rng.normal() })
                    .collect::<Vec<_>>()
            })
            .collect();
        (
            Tensor::from_data(TensorData::new(values, [n, 8, 1, 1]), device),
            labels,
        )
    }

    fn classifier(hidden: Option<usize>, device: &Device) -> Classifier {
        let head = HeadConfig::new(8, 2)
            .with_hidden(hidden)
            .init(&mut Rng::new(1), device);
        Classifier::head_only(Default::default(), head)
    }

    fn train(config: PhaseConfig, hidden: Option<usize>) -> (Vec<EpochStats>, usize) {
        let device = Device::flex();
        let (x, labels) = toy(40, &device);
        let split = crate::core::dataset::stratified_split(&labels, 0.25, 3);
        let mut t =
            Trainer::new(classifier(hidden, &device), x, labels, 2, split, config, 5).unwrap();
        while !t.finished() {
            crate::block_on(t.step()).unwrap();
        }
        let history = t.history().to_vec();
        let (_, best) = t.into_best();
        (history, best)
    }

    #[test]
    fn learns_a_separable_problem() {
        let config = PhaseConfig {
            epochs: 40,
            learning_rate: 1e-2,
            batch_size: 8,
            patience: 0,
            ..PhaseConfig::default()
        };
        let (history, best) = train(config, Some(16));
        let last = history.last().unwrap();
        assert_eq!(history.len(), 40);
        assert!(last.train_loss < history[0].train_loss / 2.0, "{history:?}");
        assert_eq!(last.val_accuracy, Some(1.0));
        assert!(best >= 1);
    }

    #[test]
    fn same_seed_same_training() {
        let config = PhaseConfig {
            epochs: 5,
            ..PhaseConfig::default()
        };
        assert_eq!(train(config.clone(), Some(4)).0, train(config, Some(4)).0);
    }

    #[test]
    fn early_stopping_ends_and_keeps_the_best_epoch() {
        // Validation photos carry the opposite labels: the better the fit, the worse the
        // validation loss, so patience 2 must stop training at epoch 3 and keep epoch 1.
        let device = Device::flex();
        let (x, mut labels) = toy(40, &device);
        let split = crate::core::dataset::stratified_split(&labels, 0.25, 3);
        for &i in &split.val {
            labels[i] = 1 - labels[i];
        }
        let config = PhaseConfig {
            epochs: 50,
            learning_rate: 1e-2,
            batch_size: 8,
            patience: 2,
            ..PhaseConfig::default()
        };
        let mut t =
            Trainer::new(classifier(None, &device), x, labels, 2, split, config, 5).unwrap();
        while !t.finished() {
            crate::block_on(t.step()).unwrap();
        }
        assert_eq!(t.history().len(), 3);
        let (_, best) = t.into_best();
        assert_eq!(best, 1);
    }

    #[test]
    fn empty_training_set_is_an_error() {
        let device = Device::flex();
        let (x, labels) = toy(4, &device);
        let split = Split {
            train: vec![],
            val: vec![0, 1, 2, 3],
        };
        let err = Trainer::new(
            classifier(None, &device),
            x,
            labels,
            2,
            split,
            PhaseConfig::default(),
            0,
        );
        assert!(matches!(err, Err(MlError::NoTrainingPhotos)));
    }
}
