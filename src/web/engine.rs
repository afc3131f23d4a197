//! The machine-learning side of the page: the burn device, the pretrained backbone, the feature
//! cache and the trained model. One engine per page, created once the weights are loaded.

use super::glue::fetch::FetchError;
use super::glue::gpu::{AdapterInfo, GpuProbe, probe};
use super::glue::yield_now::yield_now;
use super::photos::{self, PhotoId};
use crate::core::dataset::{DatasetError, validate_classes};
use crate::core::metrics::{ConfusionMatrix, softmax};
use crate::ml::MlError;
use crate::ml::backbone::{Backbone, BackboneKind};
use crate::ml::classifier::Classifier;
use crate::ml::features::{FeatureCache, cached_shape, extract};
use crate::ml::pipeline::{Progress, TrainOutcome, TrainSettings, fit};
use crate::ml::trainer::read_rows;
use crate::ml::weights::{Precision, load_record};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

/// Where the f16 backbone record is served, relative to the page.
pub fn weights_url() -> String {
    format!(
        "models/{}",
        BackboneKind::MobileNetV2.record_file(Precision::F16)
    )
}

/// Which backend runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendKind {
    /// burn-wgpu on the browser's WebGPU.
    WebGpu,
    /// burn's CPU backend (flex) compiled to wasm, in the engine's thread.
    Cpu,
}

impl BackendKind {
    /// The value of the badge's `data-backend`.
    pub fn id(self) -> &'static str {
        match self {
            BackendKind::WebGpu => "webgpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

/// What the page's address asks for (`?backend=cpu|webgpu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendRequest {
    /// WebGPU on a real GPU, else the CPU.
    Auto,
    /// Always the CPU.
    Cpu,
    /// WebGPU even on a software adapter.
    WebGpu,
}

impl BackendRequest {
    /// Reads `backend=` from a query string such as `?backend=cpu&x=1`.
    pub fn from_query(query: &str) -> Self {
        let query = query.trim_start_matches('?');
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == "backend" {
                return match v.to_ascii_lowercase().as_str() {
                    "cpu" | "wasm" => BackendRequest::Cpu,
                    "webgpu" | "gpu" | "wgpu" => BackendRequest::WebGpu,
                    _ => BackendRequest::Auto,
                };
            }
        }
        BackendRequest::Auto
    }

    /// The request in the current page's address.
    pub fn from_location() -> Self {
        let search = super::glue::js::window()
            .location()
            .search()
            .unwrap_or_default();
        Self::from_query(&search)
    }
}

/// Why the CPU runs the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuReason {
    /// `?backend=cpu`.
    Asked,
    /// The browser has no WebGPU at all.
    NoWebGpu,
    /// WebGPU exists but gave no adapter.
    NoAdapter,
    /// The only adapter is a software one, slower than the CPU path.
    SoftwareAdapter(String),
    /// WebGPU was there but burn could not start on it.
    InitFailed(String),
}

/// The backend in use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// Which backend.
    pub kind: BackendKind,
    /// The WebGPU adapter, when there is one (even if unused).
    pub adapter: Option<AdapterInfo>,
    /// Set when the CPU runs.
    pub cpu_reason: Option<CpuReason>,
}

/// Loading steps, for the loading banner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LoadStep {
    /// Looking for WebGPU and starting the device.
    Device,
    /// Building the network from the weights.
    Building,
    /// A first pass through the network, so kernels are compiled before the user waits on them.
    WarmingUp,
}

/// Why the engine could not be loaded.
#[derive(Debug, Error, Serialize, Deserialize)]
pub enum LoadError {
    /// The weights could not be downloaded.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The weights are damaged or do not fit the network.
    #[error("the weights could not be used: {0}")]
    Weights(MlError),
    /// The first pass through the network failed.
    #[error("the network failed its first run: {0}")]
    Warmup(MlError),
}

/// Why training did not finish.
#[derive(Debug, Error, Serialize, Deserialize)]
pub enum TrainError {
    /// The classes or photos cannot be trained on.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A class has no name.
    #[error("class {0} has no name")]
    UnnamedClass(usize),
    /// Training or extraction failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// A photo's input was dropped (it was removed while training started).
    #[error("photo {0} is gone")]
    MissingPhoto(PhotoId),
    /// The user pressed Stop before training started.
    #[error("stopped")]
    Stopped,
    /// The network is not loaded yet.
    #[error("the network is still loading")]
    NotLoaded,
}

/// One class to train: its name and its photos.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassJob {
    pub name: String,
    pub photos: Vec<PhotoId>,
}

/// Progress of a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TrainEvent {
    /// `done` of `total` photos have their features (cached ones count as done).
    Extracting { done: usize, total: usize },
    /// A training step (see [`Progress`]).
    Step(Progress),
}

/// Counts and timings of a training run, shown with its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Photos the held-out run trained on.
    pub train_count: usize,
    /// Photos held out for validation.
    pub val_count: usize,
    /// Whether the user stopped the run early.
    pub stopped: bool,
    /// Photos that went through the backbone in this run (the others were cached).
    pub extracted: usize,
    /// Seconds spent extracting features.
    pub extract_seconds: f64,
    /// Seconds spent training (head and fine-tuning, with validation).
    pub train_seconds: f64,
}

/// What a training run produced (the classifier stays in the engine, for predictions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Class names, in output order.
    pub class_names: Vec<String>,
    /// How the held-out run's classifier did on the held-out photos, if any were held out.
    pub validation: Option<ConfusionMatrix>,
    /// Counts and timings.
    pub stats: RunStats,
}

/// A trained classifier and the names of its classes.
pub struct TrainedModel {
    pub classifier: Classifier,
    pub class_names: Vec<String>,
}

/// The loaded network and everything computed with it.
pub struct Engine {
    device: Device,
    backbone: Backbone,
    batch: usize,
    cache: RefCell<FeatureCache>,
    model: RefCell<Option<Rc<TrainedModel>>>,
}

thread_local! {
    static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
}

/// The page's engine, once loaded.
pub fn engine() -> Option<Rc<Engine>> {
    ENGINE.with(|e| e.borrow().clone())
}

static TRACE: AtomicBool = AtomicBool::new(false);

/// Whether timing traces go to the console (`?trace` in the page's address), to find long tasks.
pub fn trace() -> bool {
    TRACE.load(Ordering::Relaxed)
}

/// Turns timing traces on or off, on this thread.
pub fn set_trace(on: bool) {
    TRACE.store(on, Ordering::Relaxed);
}

fn now_seconds() -> f64 {
    super::glue::js::now_ms() / 1000.0
}

/// Chooses and starts the backend for `request`.
pub async fn start_backend(request: BackendRequest) -> (Device, BackendInfo) {
    let found = probe().await;
    let adapter = match &found {
        GpuProbe::Adapter(a) => Some(a.clone()),
        _ => None,
    };
    let cpu = |reason: CpuReason, adapter: Option<AdapterInfo>| {
        (
            Device::flex(),
            BackendInfo {
                kind: BackendKind::Cpu,
                adapter,
                cpu_reason: Some(reason),
            },
        )
    };
    let wanted = match (request, &found) {
        (BackendRequest::Cpu, _) => return cpu(CpuReason::Asked, adapter),
        (_, GpuProbe::NoApi) => return cpu(CpuReason::NoWebGpu, None),
        (_, GpuProbe::NoAdapter) => return cpu(CpuReason::NoAdapter, None),
        (BackendRequest::Auto, GpuProbe::Adapter(a)) if a.is_fallback => {
            return cpu(CpuReason::SoftwareAdapter(a.name.clone()), adapter);
        }
        _ => adapter,
    };
    match Device::wgpu_options().init_async().await {
        Ok(device) => (
            device,
            BackendInfo {
                kind: BackendKind::WebGpu,
                adapter: wanted,
                cpu_reason: None,
            },
        ),
        Err(e) => {
            log::warn!("WebGPU could not start, using the CPU: {e}");
            cpu(CpuReason::InitFailed(e.to_string()), wanted)
        }
    }
}

impl Engine {
    /// Starts the backend, waits for the weights' bytes, builds the network and warms it up,
    /// reporting each step to `on_step`. Installs the engine for [`engine`].
    pub async fn load(
        request: BackendRequest,
        weights: impl Future<Output = Vec<u8>>,
        mut on_backend: impl FnMut(&BackendInfo),
        mut on_step: impl FnMut(LoadStep),
    ) -> Result<Rc<Engine>, LoadError> {
        on_step(LoadStep::Device);
        let (device, backend) = start_backend(request).await;
        log::info!("backend: {backend:?}");
        on_backend(&backend);

        let bytes = weights.await;
        on_step(LoadStep::Building);
        yield_now().await;
        let backbone = load_record(
            BackboneKind::MobileNetV2,
            BackboneKind::MobileNetV2.record_file(Precision::F16),
            bytes,
            Precision::F16,
            &device,
        )
        .map_err(LoadError::Weights)?;
        // Batch 1 on the CPU and on software adapters keeps each task short (the engine may run on
        // the page's thread where no worker starts), Stop prompt and the progress fine-grained; a
        // real GPU wants bigger batches.
        let batch = match (&backend.kind, &backend.adapter) {
            (BackendKind::WebGpu, Some(a)) if !a.is_fallback => 8,
            _ => 1,
        };
        let engine = Engine {
            device,
            backbone,
            batch,
            cache: RefCell::new(FeatureCache::new(
                BackboneKind::MobileNetV2,
                crate::ml::backbone::mobilenet::LAST_STAGE,
            )),
            model: RefCell::new(None),
        };
        on_step(LoadStep::WarmingUp);
        let started = now_seconds();
        let zeros = vec![0f32; 3 * 224 * 224];
        engine
            .extract_inputs(
                &[zeros.as_slice()],
                crate::ml::backbone::mobilenet::LAST_STAGE,
            )
            .await
            .map_err(LoadError::Warmup)?;
        log::info!("warm-up pass: {:.2} s", now_seconds() - started);
        // A tiny training run, so the training code is compiled (V8 compiles wasm functions on
        // first call) before the user trains and waits on it.
        if let Err(e) = engine.warm_up_training().await {
            log::warn!("training warm-up failed: {e}");
        }
        let engine = Rc::new(engine);
        ENGINE.with(|e| *e.borrow_mut() = Some(engine.clone()));
        Ok(engine)
    }

    async fn warm_up_training(&self) -> Result<(), MlError> {
        use crate::core::dataset::Split;
        let started = now_seconds();
        let features = Tensor::<4>::zeros(
            [2, crate::ml::backbone::mobilenet::FEATURE_DIM, 1, 1],
            &self.device,
        );
        let mut settings = TrainSettings {
            refit: false,
            ..TrainSettings::default()
        };
        settings.head.epochs = 1;
        let split = Split {
            train: vec![0, 1],
            val: vec![0],
        };
        fit(
            &self.backbone,
            features,
            &[0, 1],
            2,
            split,
            &settings,
            &mut async |_| {
                yield_now().await;
                true
            },
        )
        .await?;
        log::info!("training warm-up: {:.2} s", now_seconds() - started);
        Ok(())
    }

    /// The current trained model, if any.
    pub fn model(&self) -> Option<Rc<TrainedModel>> {
        self.model.borrow().clone()
    }

    /// Drops a removed photo's cached features.
    pub fn forget(&self, id: PhotoId) {
        self.cache.borrow_mut().remove(&id.to_string());
    }

    async fn extract_inputs(
        &self,
        inputs: &[&[f32]],
        stage: usize,
    ) -> Result<Vec<Vec<f32>>, MlError> {
        let mut stage_index = 0usize;
        let mut last = now_seconds();
        extract(
            &self.backbone,
            inputs,
            stage,
            self.batch,
            &self.device,
            &mut async || {
                if trace() {
                    let now = now_seconds();
                    log::info!("trace: stage {stage_index} {:.1} ms", (now - last) * 1000.0);
                    stage_index += 1;
                    yield_now().await;
                    last = now_seconds();
                } else {
                    yield_now().await;
                }
            },
        )
        .await
    }

    /// Extracts what is missing, trains on `classes`, keeps the classifier for predictions.
    /// `stop` is read at every step: set it to stop (the best epoch so far is kept).
    pub async fn train(
        &self,
        classes: &[ClassJob],
        settings: &TrainSettings,
        stop: &Cell<bool>,
        mut on_event: impl FnMut(TrainEvent),
    ) -> Result<TrainReport, TrainError> {
        let names: Vec<String> = classes.iter().map(|c| c.name.trim().to_string()).collect();
        if let Some(i) = names.iter().position(String::is_empty) {
            return Err(TrainError::UnnamedClass(i));
        }
        let counts: Vec<usize> = classes.iter().map(|c| c.photos.len()).collect();
        validate_classes(&names, &counts)?;
        settings.validate()?;
        self.train_inner(classes, names, settings, stop, &mut on_event)
            .await
    }

    async fn train_inner(
        &self,
        classes: &[ClassJob],
        names: Vec<String>,
        settings: &TrainSettings,
        stop: &Cell<bool>,
        on_event: &mut impl FnMut(TrainEvent),
    ) -> Result<TrainReport, TrainError> {
        let mut ids = Vec::new();
        let mut labels = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            for &id in &class.photos {
                ids.push(id);
                labels.push(label);
            }
        }
        let kind = self.backbone.kind();
        let stage = settings.cut_stage(kind);
        if !self.cache.borrow().holds(kind, stage) {
            *self.cache.borrow_mut() = FeatureCache::new(kind, stage);
        }
        let keys: Vec<String> = ids.iter().map(PhotoId::to_string).collect();
        let missing: Vec<usize> = (0..ids.len())
            .filter(|&i| !self.cache.borrow().contains(&keys[i]))
            .collect();
        let total = ids.len();
        let mut done = total - missing.len();
        let started = now_seconds();
        on_event(TrainEvent::Extracting { done, total });
        for chunk in missing.chunks(self.batch) {
            if stop.get() {
                return Err(TrainError::Stopped);
            }
            let mut inputs = Vec::with_capacity(chunk.len());
            for &i in chunk {
                inputs.push(photos::input(ids[i]).ok_or(TrainError::MissingPhoto(ids[i]))?);
            }
            let slices: Vec<&[f32]> = inputs.iter().map(|v| v.as_slice()).collect();
            let features = self.extract_inputs(&slices, stage).await?;
            {
                let mut cache = self.cache.borrow_mut();
                for (&i, f) in chunk.iter().zip(features) {
                    cache.insert(keys[i].clone(), f);
                }
            }
            done += chunk.len();
            on_event(TrainEvent::Extracting { done, total });
            yield_now().await;
        }
        let extract_seconds = now_seconds() - started;
        if stop.get() {
            return Err(TrainError::Stopped);
        }

        let started = now_seconds();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let activations = self.cache.borrow().stack(&key_refs, &self.device)?;
        yield_now().await;
        let split = settings.split(&labels);
        let last_step = Cell::new(now_seconds());
        let (train_count, val_count) = (split.train.len(), split.val.len());
        let outcome: TrainOutcome = fit(
            &self.backbone,
            activations,
            &labels,
            names.len(),
            split,
            settings,
            &mut async |p: Progress| {
                if trace() {
                    log::info!(
                        "trace: {:?} step {}/{} took {:.1} ms",
                        p.phase,
                        p.done,
                        p.total,
                        (now_seconds() - last_step.get()) * 1000.0
                    );
                }
                // Compute and the progress report run as separate tasks, each short (this matters
                // when the engine shares the page's thread).
                yield_now().await;
                on_event(TrainEvent::Step(p));
                yield_now().await;
                last_step.set(now_seconds());
                !stop.get()
            },
        )
        .await?;
        let train_seconds = now_seconds() - started;
        if trace() {
            log::info!("trace: fit returned");
        }
        yield_now().await;
        *self.model.borrow_mut() = Some(Rc::new(TrainedModel {
            classifier: outcome.classifier,
            class_names: names.clone(),
        }));
        Ok(TrainReport {
            class_names: names,
            validation: outcome.validation.map(|v| v.confusion),
            stats: RunStats {
                train_count,
                val_count,
                stopped: outcome.stopped,
                extracted: missing.len(),
                extract_seconds,
                train_seconds,
            },
        })
    }

    /// Class probabilities of one preprocessed photo under the trained model, with the class
    /// names. `None` if nothing was trained yet.
    pub async fn predict(&self, input: &[f32]) -> Result<Option<(Vec<String>, Vec<f32>)>, MlError> {
        let Some(model) = self.model() else {
            return Ok(None);
        };
        let stage = model.classifier.input_stage();
        let features = self.extract_inputs(&[input], stage).await?;
        let [c, h, w] = cached_shape(self.backbone.kind(), stage);
        let flat = features.into_iter().next().unwrap_or_default();
        let x = Tensor::<4>::from_data(TensorData::new(flat, [1, c, h, w]), &self.device);
        let rows = read_rows(model.classifier.forward(x)).await?;
        let logits = rows.into_iter().next().unwrap_or_default();
        Ok(Some((model.class_names.clone(), softmax(&logits))))
    }
}
