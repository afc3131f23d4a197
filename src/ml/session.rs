//! A training session: the one place that owns a photo set's feature cache, trains (head,
//! fine-tuning, refit) and predicts. The `whisker` CLI and the web engine both drive it; they only
//! differ in how photos are loaded (files vs the browser's decoders) and how progress is shown.
//!
//! Methods take `&self` and never hold a borrow of the session's state across an `.await`, so a
//! browser engine can serve a prediction or forget a photo while a training run is waiting for its
//! next step. A second training run while one is going on is refused ([`SessionError::Busy`]).

use super::backbone::{Backbone, BackboneKind};
use super::batch::BatchLimits;
use super::classifier::{Classifier, to_host};
use super::cut::{Cut, cached_shape};
use super::error::{MlError, ModelFileProblem};
use super::features::{FeatureCache, extract_cut};
use super::model_file::{self, ModelMeta};
use super::pipeline::fit_within;
use super::progress::{Phase, Progress};
use super::reports::{LabelledPhoto, RunStats, SessionError, TrainReport};
use super::settings::TrainSettings;
use super::trainer::{self, read_rows};
use crate::core::dataset::{PhotoId, Split, validate_classes};
use crate::core::metrics::{softmax, try_argmax};
use crate::core::pca::Projection;
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use web_time::Instant;

mod compare;
mod preview;

/// Where the session's frozen backbone comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackboneSource {
    /// The pretrained ImageNet weights.
    Pretrained,
    /// Randomly initialised with this seed: the baseline that shows what transfer brings.
    Random {
        /// Seed of [`crate::ml::weights::random_backbone`].
        seed: u64,
    },
}

/// Awaited between backbone stages and around long synchronous steps. The browser yields to its
/// event loop there, so a Stop or a new request gets in; natively it does nothing.
pub type Pause = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

/// What the last training run trained on, so that the comparisons made after it
/// ([`Session::baseline`], [`Session::compare_layers`]) use the same photos, split and settings.
#[derive(Debug, Clone)]
struct LastRun {
    /// Number of classes.
    classes: usize,
    /// The photos, in the order `split` indexes.
    photos: Vec<LabelledPhoto>,
    /// The held-out split it used.
    split: Split,
    /// Its settings.
    settings: TrainSettings,
}

/// A trained classifier and the names of its classes.
pub struct TrainedModel {
    /// Fine-tuned blocks (if any) and the head.
    pub classifier: Classifier,
    /// Class names, in output order.
    pub classes: Vec<String>,
}

/// One backbone on one device, the feature caches of the photos it has seen, and the model.
///
/// Two caches: every photo's pooled features of the last stage (its "embedding": what the head
/// trains on by default, and what the expected accuracy and the feature map are computed from),
/// kept as long as the photo; and, while fine-tuning or an earlier cut point is chosen, what that
/// run takes (the cut stage's activations, or an earlier stage's pooled output).
pub struct Session {
    device: Device,
    backbone: Backbone,
    source: BackboneSource,
    extract_batch: usize,
    limits: BatchLimits,
    pause: Pause,
    pooled: RefCell<FeatureCache>,
    cut: RefCell<Option<FeatureCache>>,
    model: RefCell<Option<Rc<TrainedModel>>>,
    training: Cell<bool>,
    /// The last feature map, so the next one keeps its orientation ([`crate::core::pca`]).
    map: RefCell<Option<Projection>>,
    last_run: RefCell<Option<Rc<LastRun>>>,
}

/// Marks the session busy while a run is alive, whichever way it ends.
struct TrainingGuard<'a>(&'a Cell<bool>);

impl Drop for TrainingGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl Session {
    /// A session over `backbone` (on `device`), extracting `extract_batch` photos per backbone
    /// pass (1 keeps each step short in a browser; 16 is the most WebGPU's default buffer limit
    /// allows, see [`crate::ml::features::EXTRACT_BATCH`]).
    pub fn new(
        backbone: Backbone,
        source: BackboneSource,
        device: Device,
        extract_batch: usize,
    ) -> Self {
        let kind = backbone.kind();
        Self {
            device,
            backbone,
            source,
            extract_batch: extract_batch.max(1),
            limits: BatchLimits::UNLIMITED,
            pause: Rc::new(|| Box::pin(std::future::ready(()))),
            pooled: RefCell::new(FeatureCache::new(kind, kind.last_stage())),
            cut: RefCell::new(None),
            model: RefCell::new(None),
            training: Cell::new(false),
            map: RefCell::new(None),
            last_run: RefCell::new(None),
        }
    }

    /// Awaits `pause` between backbone stages and around long synchronous steps.
    pub fn with_pause(mut self, pause: Pause) -> Self {
        self.pause = pause;
        self
    }

    /// Caps every batch that reaches the device by `limits` (a WebGPU device's buffer limit;
    /// the default, [`BatchLimits::UNLIMITED`], suits the CPU): extraction, training steps and
    /// evaluation passes. A fine-tuning batch size the device cannot hold is lowered, and the one
    /// used is reported in [`RunStats::fine_tune_batch_size`].
    pub fn with_batch_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// What the device allows per pass.
    pub fn batch_limits(&self) -> BatchLimits {
        self.limits
    }

    /// Photos per extraction pass up to `stage`: the session's choice, capped by the device.
    fn extract_batch_to(&self, stage: usize) -> usize {
        BatchLimits::cap(
            self.extract_batch,
            self.limits.extract(self.backbone.kind(), stage),
        )
    }

    /// Which backbone the session runs.
    pub fn backbone_kind(&self) -> BackboneKind {
        self.backbone.kind()
    }

    /// The device everything runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether a training run is going on.
    pub fn is_training(&self) -> bool {
        self.training.get()
    }

    /// Photos whose pooled features are cached.
    pub fn cached_photos(&self) -> usize {
        self.pooled.borrow().len()
    }

    /// A photo's pooled features (`[1280]`), if cached.
    pub fn embedding(&self, id: PhotoId) -> Option<Vec<f32>> {
        self.pooled.borrow().get(id).map(<[f32]>::to_vec)
    }

    /// Runs a preprocessed photo (`[3, 224, 224]`) through the backbone and caches its pooled
    /// features (`[1280]`, returned too), so training on it later costs nothing more.
    pub async fn embed(&self, id: PhotoId, input: &[f32]) -> Result<Vec<f32>, MlError> {
        let kind = self.backbone.kind();
        let features = self.extract_inputs(&[input], kind.last_stage()).await?;
        let features = features.into_iter().next().unwrap_or_default();
        self.pooled.borrow_mut().insert(id, features.clone());
        Ok(features)
    }

    /// Caches pooled features computed earlier (by this backbone, e.g. before the page reloaded).
    pub fn insert_embedding(&self, id: PhotoId, features: Vec<f32>) -> Result<(), MlError> {
        let kind = self.backbone.kind();
        let width = cached_shape(kind, kind.last_stage())[0];
        if features.len() != width || features.iter().any(|v| !v.is_finite()) {
            return Err(MlError::BadSetting(format!(
                "features of photo {id} hold {} values, not {width} finite ones",
                features.len()
            )));
        }
        self.pooled.borrow_mut().insert(id, features);
        Ok(())
    }

    /// Forgets every photo and the model: a fresh start on the same backbone.
    pub fn reset(&self) {
        let kind = self.backbone.kind();
        *self.pooled.borrow_mut() = FeatureCache::new(kind, kind.last_stage());
        *self.cut.borrow_mut() = None;
        *self.model.borrow_mut() = None;
        *self.map.borrow_mut() = None;
        *self.last_run.borrow_mut() = None;
    }

    /// Forgets the model, keeping the photos' features (another backbone's model is shown
    /// instead; this one is trained again when chosen again).
    pub fn drop_model(&self) {
        *self.model.borrow_mut() = None;
    }

    /// Makes the opened or trained `model` (with its class names) the session's model.
    fn keep_model(&self, classifier: Classifier, classes: Vec<String>) {
        *self.model.borrow_mut() = Some(Rc::new(TrainedModel {
            classifier,
            classes,
        }));
    }

    /// The trained (or opened) model, if any.
    pub fn model(&self) -> Option<Rc<TrainedModel>> {
        self.model.borrow().clone()
    }

    /// Drops a removed photo's cached features.
    pub fn forget(&self, id: PhotoId) {
        self.pooled.borrow_mut().remove(id);
        if let Some(cut) = self.cut.borrow_mut().as_mut() {
            cut.remove(id);
        }
    }

    /// A first pass through the network and a tiny training run, so kernels (WebGPU) and
    /// functions (V8 compiles wasm lazily) are compiled before a user waits on them.
    ///
    /// On a GPU ([`BatchLimits::is_bounded`]) kernels are compiled per shape, so the pass takes
    /// as many photos as a real extraction's first pass, and the head trains on a full default
    /// batch. The CPU compiles nothing per shape: one photo and two rows keep its start quick.
    pub async fn warm_up(&self) -> Result<(), MlError> {
        let kind = self.backbone.kind();
        let gpu = self.limits.is_bounded();
        let photos = if gpu {
            self.extract_batch_to(kind.last_stage())
        } else {
            1
        };
        let zeros = vec![0f32; 3 * 224 * 224];
        let inputs = vec![zeros.as_slice(); photos];
        self.extract_inputs(&inputs, kind.last_stage()).await?;
        let mut settings = TrainSettings {
            refit: false,
            ..TrainSettings::default()
        };
        settings.head.epochs = 1;
        // One full training batch and one held-out row (the first is validated too).
        let rows = if gpu { settings.head.batch_size } else { 2 };
        let width = cached_shape(kind, kind.last_stage())[0];
        let features = Tensor::<4>::zeros([rows, width, 1, 1], &self.device);
        let labels: Vec<usize> = (0..rows).map(|i| i % 2).collect();
        let split = Split {
            train: (0..rows).collect(),
            val: vec![0],
        };
        let pause = self.pause.clone();
        fit_within(
            &self.backbone,
            features,
            &labels,
            2,
            split,
            &settings,
            self.limits,
            &mut async |_| {
                pause().await;
                true
            },
        )
        .await?;
        Ok(())
    }

    /// Runs preprocessed photos (`[3, 224, 224]` each) through the frozen backbone up to `stage`
    /// (pooled at the last stage, see [`Cut::of`]).
    async fn extract_inputs(
        &self,
        inputs: &[&[f32]],
        stage: usize,
    ) -> Result<Vec<Vec<f32>>, MlError> {
        self.extract_at(inputs, Cut::of(self.backbone.kind(), stage))
            .await
    }

    /// Runs preprocessed photos (`[3, 224, 224]` each) through the frozen backbone up to `cut`.
    async fn extract_at(&self, inputs: &[&[f32]], cut: Cut) -> Result<Vec<Vec<f32>>, MlError> {
        let pause = self.pause.clone();
        extract_cut(
            &self.backbone,
            inputs,
            cut,
            self.extract_batch_to(cut.stage),
            &self.device,
            &mut async || pause().await,
        )
        .await
    }

    /// Extracts what the cache lacks, then trains a classifier of `classes` on `photos` with
    /// `settings`, and keeps it as the session's model.
    ///
    /// `split` holds indices into `photos`; `None` takes [`TrainSettings::split`]. `load` gives a
    /// photo's preprocessed input (`[3, 224, 224]`, see [`crate::core::preprocess`]) when its
    /// features are not cached. `observer` sees every extracted batch and training step; returning
    /// `false` stops: before training that is [`SessionError::Stopped`], during training the run
    /// ends with the best epoch so far and says so in [`RunStats::stopped`].
    pub async fn train<P>(
        &self,
        classes: &[String],
        photos: &[LabelledPhoto],
        split: Option<Split>,
        settings: &TrainSettings,
        load: &mut impl AsyncFnMut(PhotoId) -> Result<Vec<f32>, P>,
        observer: &mut impl AsyncFnMut(Progress) -> bool,
    ) -> Result<TrainReport, SessionError<P>> {
        if self.training.replace(true) {
            return Err(SessionError::Busy);
        }
        let _guard = TrainingGuard(&self.training);
        let counts: Vec<usize> = (0..classes.len())
            .map(|c| photos.iter().filter(|p| p.label == c).count())
            .collect();
        validate_classes(classes, &counts)?;
        settings.validate_for(self.backbone.kind())?;
        // Refused before any photo goes through the backbone: the stacked activations of every
        // photo would not fit one of the device's buffers.
        let input = settings.input(self.backbone.kind());
        let most = self.limits.stacked(self.backbone.kind(), input);
        if photos.len() > most {
            return Err(MlError::TooManyPhotosForDevice {
                photos: photos.len(),
                most,
                stage: input.stage,
            }
            .into());
        }

        let ids: Vec<PhotoId> = photos.iter().map(|p| p.id).collect();
        let labels: Vec<usize> = photos.iter().map(|p| p.label).collect();
        let started = Instant::now();
        let cut = settings.input(self.backbone.kind());
        let extracted = self.fill_cache(&ids, cut, load, observer).await?;
        let extract_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let activations = self.with_cache(cut, |cache| cache.stack(&ids, &self.device))?;
        (self.pause)().await;
        let split = split.unwrap_or_else(|| settings.split(&labels));
        let (train_count, val_count) = (split.train.len(), split.val.len());
        let run = Rc::new(LastRun {
            classes: classes.len(),
            photos: photos.to_vec(),
            split: split.clone(),
            settings: settings.clone(),
        });
        let outcome = fit_within(
            &self.backbone,
            activations,
            &labels,
            classes.len(),
            split,
            settings,
            self.limits,
            observer,
        )
        .await?;
        let train_seconds = started.elapsed().as_secs_f64();
        self.keep_model(outcome.classifier, classes.to_vec());
        let mistakes = outcome
            .validation
            .as_ref()
            .map(|v| mistaken(&run, &v.probabilities))
            .unwrap_or_default();
        *self.last_run.borrow_mut() = Some(run);
        (self.pause)().await;
        Ok(TrainReport {
            classes: classes.to_vec(),
            validation: outcome.validation.map(|v| v.confusion),
            mistakes,
            stats: RunStats {
                train_count,
                val_count,
                stopped: outcome.stopped,
                fine_tuning: outcome.fine_tuning,
                extracted,
                extract_seconds,
                train_seconds,
                fine_tune_batch_size: outcome.fine_tune_batch_size,
            },
        })
    }

    /// Runs `f` on the cache of `at`: the pooled one for the last stage's pooled output, else the
    /// other one (started afresh when the cut changes).
    fn with_cache<T>(&self, at: Cut, f: impl FnOnce(&mut FeatureCache) -> T) -> T {
        let kind = self.backbone.kind();
        if at == Cut::pooled(kind.last_stage()) {
            return f(&mut self.pooled.borrow_mut());
        }
        let mut cut = self.cut.borrow_mut();
        if !cut.as_ref().is_some_and(|c| c.holds(kind, at)) {
            *cut = Some(FeatureCache::at(kind, at));
        }
        f(cut.as_mut().expect("just set"))
    }

    /// Puts the values at `cut` of every photo of `ids` into its cache. Returns how many photos
    /// went through the backbone.
    async fn fill_cache<P>(
        &self,
        ids: &[PhotoId],
        cut: Cut,
        load: &mut impl AsyncFnMut(PhotoId) -> Result<Vec<f32>, P>,
        observer: &mut impl AsyncFnMut(Progress) -> bool,
    ) -> Result<usize, SessionError<P>> {
        let missing: Vec<PhotoId> = self.with_cache(cut, |cache| {
            ids.iter()
                .copied()
                .filter(|&id| !cache.contains(id))
                .collect()
        });
        let total = ids.len();
        let mut done = total - missing.len();
        let report = |done| Progress {
            phase: Phase::Extracting,
            done,
            total,
            epoch: None,
        };
        if !observer(report(done)).await {
            return Err(SessionError::Stopped);
        }
        for chunk in missing.chunks(self.extract_batch) {
            let mut inputs = Vec::with_capacity(chunk.len());
            for &id in chunk {
                inputs.push(load(id).await.map_err(SessionError::Photo)?);
            }
            let slices: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
            let features = self.extract_at(&slices, cut).await?;
            self.with_cache(cut, |cache| {
                for (&id, f) in chunk.iter().zip(features) {
                    cache.insert(id, f);
                }
            });
            done += chunk.len();
            if !observer(report(done)).await {
                return Err(SessionError::Stopped);
            }
        }
        Ok(missing.len())
    }

    /// Class probabilities of preprocessed photos (`[3, 224, 224]` each) under the model: one
    /// row per input, in the model's class order (see [`Session::model`]).
    pub async fn predict<P>(&self, inputs: &[&[f32]]) -> Result<Vec<Vec<f32>>, SessionError<P>> {
        let model = self.model().ok_or(SessionError::NoModel)?;
        // Only up to the model's stage: an earlier cut point runs fewer stages.
        let cut = model.classifier.input();
        let features = self.extract_at(inputs, cut).await?;
        let kind = self.backbone.kind();
        let [c, h, w] = cut.shape(kind);
        // Fine-tuned blocks from an early stage hold large activations: as many photos per pass
        // as the device allows.
        let batch = BatchLimits::cap(trainer::EVAL_BATCH, self.limits.classifier(kind, cut));
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in features.chunks(batch) {
            let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
            // [B, C, H, W] -> [B, classes]
            let x =
                Tensor::<4>::from_data(TensorData::new(flat, [chunk.len(), c, h, w]), &self.device);
            let logits = read_rows(model.classifier.forward(x)).await?;
            out.extend(logits.iter().map(|l| softmax(l)));
        }
        Ok(out)
    }

    /// The model as a model file's bytes (see [`crate::ml::model_file`]).
    pub async fn export_model<P>(&self) -> Result<Vec<u8>, SessionError<P>> {
        let model = self.model().ok_or(SessionError::NoModel)?;
        let classifier = to_host(&model.classifier).await?;
        let mut meta = ModelMeta::new(
            self.backbone.kind(),
            model.classes.clone(),
            model.classifier.fine_tune_blocks(),
            model.classifier.head.hidden_units(),
        );
        if let BackboneSource::Random { seed } = self.source {
            meta.random_backbone_seed = Some(seed);
        }
        let meta = meta.with_cut_stage(model.classifier.earlier_cut());
        Ok(model_file::to_bytes(&classifier, &meta)?)
    }

    /// Opens a model file (`name` is used in errors) as the session's model. It must have been
    /// trained on this session's backbone.
    pub fn import_model<P>(&self, name: &str, bytes: &[u8]) -> Result<ModelMeta, SessionError<P>> {
        // The metadata first: a model of the other backbone would otherwise be refused for its
        // tensors' shapes rather than for what it is.
        let meta = model_file::read_meta(name, bytes)?;
        meta.check_backbone(name, self.backbone.kind())?;
        let expected = match self.source {
            BackboneSource::Pretrained => None,
            BackboneSource::Random { seed } => Some(seed),
        };
        if meta.random_backbone_seed != expected {
            return Err(MlError::model_file(
                name,
                ModelFileProblem::OtherInitialisation {
                    model: meta.random_backbone_seed,
                    loaded: expected,
                },
            )
            .into());
        }
        let (classifier, meta) = model_file::from_bytes(name, bytes, &self.device)?;
        self.keep_model(classifier, meta.classes.clone());
        Ok(meta)
    }
}

/// The validation photos of `run` whose `probabilities` (one row per photo of `run.split.val`)
/// do not put their own class first.
fn mistaken(run: &LastRun, probabilities: &[Vec<f32>]) -> Vec<PhotoId> {
    run.split
        .val
        .iter()
        .zip(probabilities)
        .filter(|(i, p)| try_argmax(p) != Some(run.photos[**i].label))
        .map(|(&i, _)| run.photos[i].id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dataset::DatasetError;

    #[test]
    fn mistakes_are_the_held_out_photos_not_put_first() {
        let run = LastRun {
            classes: 2,
            photos: (0..4)
                .map(|i| LabelledPhoto {
                    id: PhotoId(10 + i),
                    label: (i % 2) as usize,
                })
                .collect(),
            split: Split {
                train: vec![0, 1],
                val: vec![2, 3],
            },
            settings: TrainSettings::default(),
        };
        // Photo 12 (class 0) right; photo 13 (class 1) taken for class 0.
        let probabilities = vec![vec![0.9, 0.1], vec![0.7, 0.3]];
        assert_eq!(mistaken(&run, &probabilities), [PhotoId(13)]);
        // A NaN row is never right.
        let probabilities = vec![vec![f32::NAN, 0.1], vec![0.2, 0.8]];
        assert_eq!(mistaken(&run, &probabilities), [PhotoId(12)]);
    }
    use std::convert::Infallible;

    /// A tiny, fast session: a random network, photos made of two distinct patterns.
    pub(super) fn session() -> Session {
        let device = Device::flex();
        let backbone = crate::ml::weights::random_backbone(BackboneKind::MobileNetV2, 7, &device);
        Session::new(backbone, BackboneSource::Random { seed: 7 }, device, 4)
    }

    pub(super) fn photo(id: u64) -> Vec<f32> {
        // Two classes that a random backbone still tells apart: smooth ramps vs a checkerboard.
        (0..3 * 224 * 224)
            .map(|i| {
                let (x, y) = (i % 224, (i / 224) % 224);
                if id.is_multiple_of(2) {
                    (x + y) as f32 / 448.0 - 0.5 + id as f32 * 0.01
                } else {
                    (((x / 8 + y / 8) % 2) as f32 - 0.5) * 2.0 + id as f32 * 0.01
                }
            })
            .collect()
    }

    pub(super) fn labelled(n: u64) -> Vec<LabelledPhoto> {
        (0..n)
            .map(|i| LabelledPhoto {
                id: PhotoId(i),
                label: (i % 2) as usize,
            })
            .collect()
    }

    pub(super) fn classes() -> Vec<String> {
        vec!["ramp".into(), "checks".into()]
    }

    pub(super) fn settings(epochs: usize) -> TrainSettings {
        let mut s = TrainSettings::default();
        s.head.epochs = epochs;
        s.head.batch_size = 4;
        s
    }

    #[test]
    fn trains_predicts_and_reuses_the_cache() {
        let session = session();
        let photos = labelled(8);
        let mut loads = 0;
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> {
            loads += 1;
            Ok(photo(id.0))
        };
        let mut phases = Vec::new();
        let report = crate::block_on(session.train(
            &classes(),
            &photos,
            None,
            &settings(15),
            &mut load,
            &mut async |p: Progress| {
                phases.push(p.phase);
                true
            },
        ))
        .unwrap();
        assert_eq!(loads, 8);
        assert_eq!(report.stats.extracted, 8);
        assert!(!report.stats.stopped);
        assert_eq!(report.stats.train_count + report.stats.val_count, 8);
        assert!(phases.contains(&Phase::Extracting) && phases.contains(&Phase::Training));
        assert!(phases.contains(&Phase::Refitting));
        assert_eq!(session.cached_photos(), 8);
        // Every mistake named is a held-out photo.
        assert!(report.mistakes.len() <= report.stats.val_count);

        // Predictions: one probability row per photo, on the model's two classes.
        let a = photo(20);
        let b = photo(21);
        let probs = crate::block_on(session.predict::<Infallible>(&[&a, &b])).unwrap();
        assert_eq!(probs.len(), 2);
        for p in &probs {
            assert_eq!(p.len(), 2);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        assert!(probs[0][0] > 0.5 && probs[1][1] > 0.5, "{probs:?}");

        // A second run with one more photo goes through the backbone for that photo only.
        let mut more = photos.clone();
        more.push(LabelledPhoto {
            id: PhotoId(8),
            label: 0,
        });
        loads = 0;
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> {
            loads += 1;
            Ok(photo(id.0))
        };
        let report = crate::block_on(session.train(
            &classes(),
            &more,
            None,
            &settings(2),
            &mut load,
            &mut async |_| true,
        ))
        .unwrap();
        assert_eq!((loads, report.stats.extracted), (1, 1));

        // A forgotten photo is extracted again if it comes back.
        session.forget(PhotoId(3));
        assert_eq!(session.cached_photos(), 8);
    }

    /// A head at an earlier cut point trains on that stage's pooled output and predicts from it
    /// (the backbone run only that far), leaves the last-stage embeddings alone, keeps its own
    /// cache apart from fine-tuning's whole activations of the same stage, and survives a file.
    #[test]
    fn trains_and_predicts_at_an_earlier_cut_point() {
        let session = session();
        let kind = BackboneKind::MobileNetV2;
        let stage = crate::ml::cut::cut_points(kind)[1];
        assert_eq!(stage, 14);
        let photos = labelled(8);
        let run = |settings: &TrainSettings| {
            crate::block_on(session.train(
                &classes(),
                &photos,
                None,
                settings,
                &mut async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) },
                &mut async |_| true,
            ))
            .unwrap()
            .stats
            .extracted
        };
        let mut early = settings(30);
        early.cut_stage = Some(stage);
        // A random network's stage-14 features are less apart than its last stage's: a faster
        // rate lets 30 epochs tell ramps from checks.
        early.head.learning_rate = 1e-2;
        assert_eq!(run(&early), 8);
        // The embeddings (the expected accuracy's) are last-stage features: none came from this.
        assert_eq!(session.cached_photos(), 0);
        let model = session.model().unwrap();
        assert_eq!(model.classifier.input(), Cut::pooled(stage));
        assert_eq!(model.classifier.head.output.weight.dims(), [160, 2]);

        // Predictions are the head on stage 14's pooled output.
        let (a, b) = (photo(20), photo(21));
        let probs = crate::block_on(session.predict::<Infallible>(&[&a, &b])).unwrap();
        assert!(probs[0][0] > 0.5 && probs[1][1] > 0.5, "{probs:?}");
        let device = Device::flex();
        let flat: Vec<f32> = a.iter().chain(&b).copied().collect();
        let x = Tensor::<4>::from_data(TensorData::new(flat, [2, 3, 224, 224]), &device);
        let pooled = session
            .backbone
            .features_until(x, stage)
            .reshape([2, 160, 1, 1]);
        let direct = read_rows_blocking(model.classifier.forward(pooled));
        for (p, logits) in probs.iter().zip(&direct) {
            let q = softmax(logits);
            let diff = p
                .iter()
                .zip(&q)
                .map(|(u, v)| (u - v).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-5, "{p:?} vs {q:?}");
        }

        // Cached: nothing goes through the backbone again, not even after a default run.
        assert_eq!(run(&early), 0);
        assert_eq!(run(&settings(2)), 8);
        assert_eq!(session.cached_photos(), 8);
        assert_eq!(run(&early), 0);
        // Fine-tuning 3 blocks takes stage 14 whole: another cache, not the pooled one.
        let mut tuned = settings(1);
        tuned.fine_tune_blocks = 3;
        tuned.fine_tune.epochs = 1;
        assert_eq!(tuned.cut_stage(kind), stage);
        assert_eq!(run(&tuned), 8);
        assert_eq!(run(&early), 8);

        // Through a model file into a fresh session: the same predictions.
        let bytes = crate::block_on(session.export_model::<Infallible>()).unwrap();
        let before = crate::block_on(session.predict::<Infallible>(&[&a])).unwrap();
        let other = self::session();
        let meta = other
            .import_model::<Infallible>("early.safetensors", &bytes)
            .unwrap();
        assert_eq!(meta.cut_stage, Some(stage));
        assert_eq!(
            other.model().unwrap().classifier.input(),
            Cut::pooled(stage)
        );
        let after = crate::block_on(other.predict::<Infallible>(&[&a])).unwrap();
        assert_eq!(before, after);

        // Fine-tuning on top of an earlier cut point is refused before anything runs.
        let mut both = early.clone();
        both.fine_tune_blocks = 1;
        let err = crate::block_on(session.train(
            &classes(),
            &photos,
            None,
            &both,
            &mut async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) },
            &mut async |_| true,
        ))
        .unwrap_err();
        assert!(
            matches!(err, SessionError::Ml(MlError::BadSetting(_))),
            "{err:?}"
        );
    }

    /// On a device with bounded buffers, fine-tuning every block at batch 32 trains at the most
    /// photos the device holds and says so; predictions through those blocks go in passes that
    /// fit. Unbounded, the batch is the settings'.
    #[test]
    fn batch_limits_cap_deep_fine_tuning_and_say_so() {
        use crate::ml::batch::peak_bytes;
        let kind = BackboneKind::MobileNetV2;
        let blocks = kind.max_fine_tune_blocks();
        // Room for 2 photos of the fine-tuned stages' largest tensor (7/8 of 2.5 photos).
        let per_photo = peak_bytes(kind, kind.cut_stage(blocks) + 1, kind.last_stage());
        let limits = BatchLimits::binding(per_photo * 5 / 2);
        let mut tuned = settings(1);
        tuned.fine_tune_blocks = blocks;
        tuned.fine_tune.epochs = 1;
        tuned.fine_tune.batch_size = 32;
        tuned.refit = false;
        let run = |session: &Session, settings: &TrainSettings| {
            crate::block_on(session.train(
                &classes(),
                &labelled(6),
                None,
                settings,
                &mut async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) },
                &mut async |_| true,
            ))
            .unwrap()
            .stats
            .fine_tune_batch_size
        };
        let bounded = session().with_batch_limits(limits);
        assert_eq!(bounded.batch_limits(), limits);
        assert_eq!(run(&bounded, &tuned), Some(2));
        let (a, b) = (photo(20), photo(21));
        let probs = crate::block_on(bounded.predict::<Infallible>(&[&a, &b, &a])).unwrap();
        assert_eq!(probs.len(), 3);
        // The same photo in another pass: the same probabilities, up to summation order.
        let diff = probs[0]
            .iter()
            .zip(&probs[2])
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-5, "{probs:?}");
        assert_eq!(run(&session(), &tuned), Some(32));
        tuned.fine_tune_blocks = 0;
        assert_eq!(run(&bounded, &tuned), None);
    }

    /// Training stacks every photo's activations in one tensor: more photos than one buffer of
    /// the device holds is refused before anything is extracted.
    #[test]
    fn too_many_photos_for_the_device_is_a_typed_error() {
        let kind = BackboneKind::MobileNetV2;
        let cut = Cut::whole(1);
        let per_photo = cut.shape(kind).iter().product::<usize>() as u64 * 4;
        let session = session().with_batch_limits(BatchLimits::binding(per_photo * 4));
        let mut tuned = settings(1);
        tuned.fine_tune_blocks = kind.max_fine_tune_blocks();
        let mut loads = 0;
        let err = crate::block_on(session.train(
            &classes(),
            &labelled(6),
            None,
            &tuned,
            &mut async |id: PhotoId| -> Result<Vec<f32>, Infallible> {
                loads += 1;
                Ok(photo(id.0))
            },
            &mut async |_| true,
        ))
        .unwrap_err();
        assert!(
            matches!(
                err,
                SessionError::Ml(MlError::TooManyPhotosForDevice {
                    photos: 6,
                    most: 3,
                    stage: 1
                })
            ),
            "{err:?}"
        );
        assert_eq!(loads, 0);
    }

    /// Warm-up runs on either kind of device: one photo on the CPU, the first extraction's batch
    /// where kernels are compiled per shape.
    #[test]
    fn warms_up_at_the_batch_used() {
        let started = Instant::now();
        crate::block_on(session().warm_up()).unwrap();
        let cpu = started.elapsed();
        let bounded = session().with_batch_limits(BatchLimits::binding(
            crate::ml::batch::WEBGPU_DEFAULT_BINDING_BYTES,
        ));
        assert_eq!(bounded.extract_batch_to(18), 4);
        crate::block_on(bounded.warm_up()).unwrap();
        // Nothing is kept: a warm-up trains no model and caches no photo.
        assert!(bounded.model().is_none());
        assert_eq!(bounded.cached_photos(), 0);
        eprintln!("CPU warm-up: {cpu:?}");
    }

    fn read_rows_blocking(t: Tensor<2>) -> Vec<Vec<f32>> {
        crate::block_on(read_rows(t)).unwrap()
    }

    /// Photos embedded as they come in are never extracted again for head training, even after a
    /// fine-tuning run needed another stage; reset forgets everything.
    #[test]
    fn embeddings_outlive_fine_tuning_and_go_with_reset() {
        let session = session();
        let photos = labelled(8);
        for p in &photos {
            let f = crate::block_on(session.embed(p.id, &photo(p.id.0))).unwrap();
            assert_eq!(f.len(), 1280);
        }
        assert_eq!(session.embedding(PhotoId(3)).map(|f| f.len()), Some(1280));
        let run = |settings: &TrainSettings| {
            let mut loads = 0;
            let report = crate::block_on(session.train(
                &classes(),
                &photos,
                None,
                settings,
                &mut async |id: PhotoId| -> Result<Vec<f32>, Infallible> {
                    loads += 1;
                    Ok(photo(id.0))
                },
                &mut async |_| true,
            ))
            .unwrap();
            (loads, report.stats.extracted)
        };
        let head = settings(2);
        let mut tuned = settings(2);
        tuned.fine_tune_blocks = 1;
        tuned.fine_tune.epochs = 1;
        assert_eq!(run(&head), (0, 0));
        assert_eq!(run(&tuned), (8, 8));
        assert_eq!(run(&tuned), (0, 0));
        assert_eq!(run(&head), (0, 0));

        assert!(session.insert_embedding(PhotoId(99), vec![0.0; 3]).is_err());
        assert!(
            session
                .insert_embedding(PhotoId(99), vec![f32::NAN; 1280])
                .is_err()
        );
        session
            .insert_embedding(PhotoId(99), vec![0.5; 1280])
            .unwrap();
        assert_eq!(session.cached_photos(), 9);
        session.reset();
        assert_eq!(session.cached_photos(), 0);
        assert!(session.model().is_none());
    }

    /// Within each phase, progress only grows, also across the refit's head and fine-tuning parts.
    #[test]
    fn progress_never_moves_backwards() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let mut settings = settings(3);
        settings.fine_tune_blocks = 1;
        settings.fine_tune.epochs = 2;
        let mut seen: Vec<Progress> = Vec::new();
        crate::block_on(session.train(
            &classes(),
            &labelled(8),
            None,
            &settings,
            &mut load,
            &mut async |p: Progress| {
                seen.push(p);
                true
            },
        ))
        .unwrap();
        for phase in [
            Phase::Extracting,
            Phase::Training,
            Phase::FineTuning,
            Phase::Refitting,
        ] {
            let steps: Vec<(usize, usize)> = seen
                .iter()
                .filter(|p| p.phase == phase)
                .map(|p| (p.done, p.total))
                .collect();
            assert!(!steps.is_empty(), "{phase:?} never reported");
            assert!(
                steps
                    .windows(2)
                    .all(|w| w[0].0 <= w[1].0 && w[0].1 == w[1].1),
                "{phase:?}: {steps:?}"
            );
            let (done, total) = *steps.last().unwrap();
            assert_eq!(done, total, "{phase:?} ends complete");
        }
    }

    #[test]
    fn stopping_keeps_the_best_epoch_or_trains_nothing() {
        let session = session();
        let photos = labelled(8);
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };

        // Stopped while extracting: nothing is trained.
        let mut seen = 0;
        let err = crate::block_on(session.train(
            &classes(),
            &photos,
            None,
            &settings(5),
            &mut load,
            &mut async |p: Progress| {
                seen += 1;
                !(p.phase == Phase::Extracting && p.done >= 4)
            },
        ))
        .unwrap_err();
        assert!(matches!(err, SessionError::Stopped), "{err:?}");
        assert!(session.model().is_none());
        assert!(!session.is_training());

        // Stopped after the first training step: a model, marked stopped.
        let report = crate::block_on(session.train(
            &classes(),
            &photos,
            None,
            &settings(30),
            &mut load,
            &mut async |p: Progress| p.phase == Phase::Extracting,
        ))
        .unwrap();
        assert!(report.stats.stopped);
        assert!(session.model().is_some());
    }

    #[test]
    fn a_second_run_is_refused_while_one_runs() {
        let session = session();
        let photos = labelled(4);
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let mut inner: Option<SessionError<Infallible>> = None;
        crate::block_on(session.train(
            &classes(),
            &photos,
            None,
            &settings(1),
            &mut load,
            &mut async |_| {
                if inner.is_none() {
                    // The observer runs inside the first run: start another one from there.
                    let mut load2 =
                        async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
                    inner = session
                        .train(
                            &classes(),
                            &photos,
                            None,
                            &settings(1),
                            &mut load2,
                            &mut async |_| true,
                        )
                        .await
                        .err();
                }
                true
            },
        ))
        .unwrap();
        assert!(matches!(inner, Some(SessionError::Busy)), "{inner:?}");
        assert!(!session.is_training());
    }

    #[test]
    fn bad_photos_and_classes_are_typed_errors() {
        let session = session();
        let mut failing =
            async |id: PhotoId| -> Result<Vec<f32>, String> { Err(format!("photo {id} is gone")) };
        let err = crate::block_on(session.train(
            &classes(),
            &labelled(4),
            None,
            &settings(1),
            &mut failing,
            &mut async |_| true,
        ))
        .unwrap_err();
        assert!(
            matches!(&err, SessionError::Photo(m) if m == "photo 0 is gone"),
            "{err:?}"
        );

        let one_class: Vec<LabelledPhoto> = labelled(4)
            .into_iter()
            .map(|p| LabelledPhoto { label: 0, ..p })
            .collect();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let err = crate::block_on(session.train(
            &classes(),
            &one_class,
            None,
            &settings(1),
            &mut load,
            &mut async |_| true,
        ))
        .unwrap_err();
        assert!(
            matches!(err, SessionError::Dataset(DatasetError::EmptyClass(ref c)) if c == "checks"),
            "{err:?}"
        );
        let err = crate::block_on(session.predict::<Infallible>(&[&photo(1)])).unwrap_err();
        assert!(matches!(err, SessionError::NoModel));
    }

    #[test]
    fn models_round_trip_through_files() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        crate::block_on(session.train(
            &classes(),
            &labelled(6),
            None,
            &settings(3),
            &mut load,
            &mut async |_| true,
        ))
        .unwrap();
        let bytes = crate::block_on(session.export_model::<Infallible>()).unwrap();
        let x = photo(11);
        let before = crate::block_on(session.predict::<Infallible>(&[&x])).unwrap();

        let other = self::session();
        let meta = other
            .import_model::<Infallible>("m.safetensors", &bytes)
            .unwrap();
        assert_eq!(meta.classes, classes());
        assert_eq!(meta.random_backbone_seed, Some(7));
        let after = crate::block_on(other.predict::<Infallible>(&[&x])).unwrap();
        assert_eq!(before, after);

        // A model trained on the random backbone does not open on the pretrained one.
        let device = Device::flex();
        let pretrained = Session::new(
            Backbone::init(BackboneKind::MobileNetV2, &device),
            BackboneSource::Pretrained,
            device,
            1,
        );
        let err = pretrained
            .import_model::<Infallible>("m.safetensors", &bytes)
            .unwrap_err();
        assert!(
            matches!(
                err,
                SessionError::Ml(MlError::ModelFile {
                    problem: ModelFileProblem::OtherInitialisation {
                        model: Some(7),
                        loaded: None
                    },
                    ..
                })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_model_of_the_other_backbone_is_refused_as_such() {
        let device = Device::flex();
        let lite0 = Backbone::init(BackboneKind::EfficientNetLite0, &device);
        let head = crate::ml::head::HeadConfig::new(crate::ml::backbone::FEATURE_DIM, 2)
            .init(&mut crate::core::rng::Rng::new(1), &device);
        let classifier = Classifier::new(&lite0, 0, head);
        let meta = ModelMeta::new(BackboneKind::EfficientNetLite0, classes(), 0, None);
        let bytes = model_file::to_bytes(&classifier, &meta).unwrap();

        let session = Session::new(
            Backbone::init(BackboneKind::MobileNetV2, &device),
            BackboneSource::Pretrained,
            device,
            1,
        );
        let err = session
            .import_model::<Infallible>("lite0.safetensors", &bytes)
            .unwrap_err();
        assert!(
            matches!(
                err,
                SessionError::Ml(MlError::ModelFile {
                    problem: ModelFileProblem::OtherBackbone {
                        model: BackboneKind::EfficientNetLite0,
                        loaded: BackboneKind::MobileNetV2
                    },
                    ..
                })
            ),
            "{err}"
        );
        assert!(session.model().is_none());
    }
}
