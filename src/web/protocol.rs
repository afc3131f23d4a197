//! What the page and the engine say to each other, and every type that crosses between them.
//! The engine (network, photos' inputs, feature cache) runs in a Web Worker so no computation
//! ever blocks the page; messages cross the thread boundary as JSON, with an attachment alongside
//! (a photo's file, a camera frame's `ImageBitmap`, the weights' bytes).
//!
//! This module imports nothing else from `web`: the page side (`page`) and the engine side
//! (`engine`) both build on it, and never on each other.
//!
//! The page does every network request itself (the weights, the app's own files), so the
//! Content-Security-Policy of `index.html` governs all of them; the worker fetches nothing.
//!
//! Every [`Request`] carries a [`RequestId`]; the engine answers with zero or more [`Reply`]s
//! under that id, the last of which is [`Reply::is_final`].

use crate::core::dataset::PhotoId;
use crate::core::preprocess::PreprocessError;
use crate::ml::MlError;
use crate::ml::backbone::BackboneKind;
use crate::ml::progress::Progress;
use crate::ml::reports::{BaselineReport, LayerRow, PhotoPreview, SessionError, TrainReport};
use crate::ml::settings::TrainSettings;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};

/// Identifies a request and the replies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// From the page to the engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Make `backbone` the network the engine trains and predicts with: start the backend (the
    /// first time only; later loads keep the device and ignore `backend`), wait for
    /// [`Request::Weights`], build and warm up the network. A backbone loaded before is made
    /// current again with its feature cache (features are per backbone), its bytes dropped, and
    /// without a model: the page shows one model at a time. Answered by [`Reply::Backend`],
    /// [`Reply::Loading`]s, then [`Reply::Loaded`] or [`Reply::LoadFailed`].
    Load {
        backend: BackendRequest,
        backbone: BackboneKind,
        /// Timing traces in the console.
        trace: bool,
    },
    /// The `backbone` record's bytes, attached as a `Uint8Array` (transferred, not copied), for
    /// the latest `Load` if it asked for that backbone (a download that ends after the user chose
    /// again is dropped). No answer: the `Load` request answers.
    Weights { backbone: BackboneKind },
    /// Decode and preprocess the attached file (or camera frame, an `ImageBitmap`) and keep it
    /// as `photo`. Answered by
    /// [`Reply::PhotoAdded`] (with the photo's compact copy) or [`Reply::PhotoFailed`].
    AddPhoto { photo: PhotoId, name: String },
    /// Forget a photo and its cached features. No answer.
    Forget { photo: PhotoId },
    /// Extract what is missing and train. Answered by [`Reply::Training`]s, then
    /// [`Reply::Trained`] or [`Reply::TrainFailed`].
    Train {
        classes: Vec<ClassJob>,
        settings: TrainSettings,
    },
    /// Stop the running training (it keeps the best epoch so far). No answer.
    Stop,
    /// What these photos' pretrained features promise before any training (leave-one-out k-NN
    /// and the feature map, see [`crate::ml::session::Session::preview`]), embedding the photos
    /// not embedded yet (training later reuses them). Answered by [`Reply::Previewed`]. A newer `Preview`, a
    /// `Train` or a `Reset` ends it early, answered [`SessionError::Stopped`].
    Preview { classes: Vec<ClassJob> },
    /// "Without transfer": the last training's head trained again, the same way on the same
    /// split, on a random backbone (see [`crate::ml::session::Session::baseline`]). Answered by
    /// [`Reply::Comparing`]s, then [`Reply::Baselined`]. `Stop` ends it.
    Baseline,
    /// "Compare layers": the last training's head on each cut point of the backbone (see
    /// [`crate::ml::session::Session::compare_layers`]). Answered by [`Reply::Comparing`]s,
    /// then [`Reply::LayersCompared`]. `Stop` ends it.
    CompareLayers,
    /// Predict the class of the attached file (or camera frame, an `ImageBitmap`) under the
    /// trained model. Answered by [`Reply::Predicted`].
    Predict { name: String },
    /// What the engine holds. Answered by [`Reply::Status`].
    Inspect,
    /// The trained (or opened) model as a model file (see [`crate::ml::model_file`]). Answered
    /// by [`Reply::ModelFile`] with the file's bytes attached as a `Uint8Array`, or
    /// [`Reply::ModelFailed`].
    ExportModel,
    /// Open the attached model file as the engine's model; `name` is the file's name, for
    /// messages. Answered by [`Reply::ModelOpened`] or [`Reply::ModelFailed`].
    OpenModel { name: String },
    /// Forget every photo, every cached feature and the model (the user started over). No
    /// answer.
    Reset,
}

/// One class to train: its name and its photos.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassJob {
    pub name: String,
    pub photos: Vec<PhotoId>,
}

/// From the engine to the page.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The backend chosen, and why.
    Backend(BackendInfo),
    /// A loading step.
    Loading(LoadStep),
    /// The network is ready.
    Loaded,
    /// The network could not be loaded.
    LoadFailed(LoadError),
    /// The photo is kept and ready to train on. Its compact copy (a JPEG `Blob`, shorter side
    /// at most 512 pixels) is attached when the browser could encode one.
    PhotoAdded,
    /// The photo cannot be used.
    PhotoFailed(PhotoError),
    /// Training progress: extraction, then training steps.
    Training(Progress),
    /// Training finished (possibly stopped early, see the report's stats).
    Trained(TrainReport),
    /// Training could not run or failed.
    TrainFailed(EngineError),
    /// A prediction's result.
    Predicted(Result<Prediction, EngineError>),
    /// The expected accuracy (`None` until every class has two photos) and the feature map.
    Previewed(Result<PhotoPreview, EngineError>),
    /// Progress of a `Baseline` or `CompareLayers`.
    Comparing(Progress),
    /// The "without transfer" run.
    Baselined(Result<BaselineReport, EngineError>),
    /// One row per cut point, shallow to deep.
    LayersCompared(Result<Vec<LayerRow>, EngineError>),
    /// What the engine holds.
    Status(EngineStatus),
    /// The model file's bytes are attached (a `Uint8Array`).
    ModelFile,
    /// A model file was opened and is now the model.
    ModelOpened(ModelSummary),
    /// The model could not be exported or opened.
    ModelFailed(EngineError),
    /// The engine panicked or could not start; nothing more will come from it.
    Crashed(String),
}

impl Reply {
    /// Whether this is the last answer to its request.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Reply::Backend(_) | Reply::Loading(_) | Reply::Training(_) | Reply::Comparing(_)
        )
    }
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
    /// The request for a `backend=` value (`None`: not given).
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("cpu" | "wasm") => BackendRequest::Cpu,
            Some("webgpu" | "gpu" | "wgpu") => BackendRequest::WebGpu,
            _ => BackendRequest::Auto,
        }
    }
}

/// A WebGPU adapter, as the browser describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterInfo {
    /// Something a person recognises: the description, or vendor and architecture.
    pub name: String,
    /// True for software adapters (SwiftShader): slower than the CPU path.
    pub is_fallback: bool,
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
    /// The WebGPU device's storage-buffer binding limit in bytes (`maxStorageBufferBindingSize`,
    /// at most `maxBufferSize`), which bounds every batch (see [`crate::ml::batch`]); `None` on
    /// the CPU.
    #[serde(default)]
    pub max_binding_bytes: Option<u64>,
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

/// Why the engine could not build the network.
#[derive(Debug, Clone, Error, Serialize, Deserialize)]
pub enum LoadError {
    /// The weights are damaged or do not fit the network.
    #[error("the weights could not be used: {0}")]
    Weights(MlError),
    /// The first pass through the network failed.
    #[error("the network failed its first run: {0}")]
    Warmup(MlError),
    /// Another network was asked for while a training runs on this one.
    #[error("a training is running")]
    Busy,
}

/// Why a photo could not be read by the browser.
#[derive(Debug, Clone, Error, PartialEq, Serialize, Deserialize)]
pub enum DecodeError {
    /// Not an image, or a format this browser cannot decode.
    #[error("{name} is not an image this browser can read")]
    NotAnImage { name: String },
    /// The file is too large to be a sensible photo.
    #[error("{name} is too large ({megabytes:.0} MB)")]
    TooLarge { name: String, megabytes: f64 },
    /// Decoding worked but reading the pixels failed (e.g. out of memory).
    #[error("could not read the pixels of {name}: {detail}")]
    Pixels { name: String, detail: String },
}

/// Why a photo cannot be used.
#[derive(Debug, Clone, Error, PartialEq, Serialize, Deserialize)]
pub enum PhotoError {
    /// The browser could not decode it.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The decoded pixels do not form an image (should not happen with browser output).
    #[error("{name}: {source}")]
    Preprocess {
        name: String,
        source: PreprocessError,
    },
    /// The photo was removed (while training started, say).
    #[error("photo {0} is gone")]
    Gone(PhotoId),
}

/// Why the engine could not train or predict.
#[derive(Debug, Clone, Error, Serialize, Deserialize)]
pub enum EngineError {
    /// The network is not loaded yet.
    #[error("the network is still loading")]
    NotLoaded,
    /// The session refused or failed.
    #[error(transparent)]
    Session(#[from] SessionError<PhotoError>),
}

impl From<MlError> for EngineError {
    fn from(e: MlError) -> Self {
        EngineError::Session(SessionError::Ml(e))
    }
}

impl From<PhotoError> for EngineError {
    fn from(e: PhotoError) -> Self {
        EngineError::Session(SessionError::Photo(e))
    }
}

/// Class names in output order and their probabilities for one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub classes: Vec<String>,
    pub probabilities: Vec<f32>,
}

/// What a model opened from a file can tell apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Class names, in output order.
    pub classes: Vec<String>,
    /// Backbone blocks the model fine-tuned (0: only the head was trained).
    pub fine_tune_blocks: usize,
}

/// What the engine holds (for tests, and to report memory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStatus {
    /// Photos kept, ready to train on.
    pub photos: usize,
    /// Photos whose backbone features are cached.
    pub cached_features: usize,
    /// Whether a model is trained.
    pub trained: bool,
    /// The backbone training and prediction use, once one is loaded.
    pub backbone: Option<BackboneKind>,
    /// Backbones loaded in this engine (each keeps its own feature cache).
    pub backbones_loaded: usize,
}

/// The JavaScript object that carries a request: `{ id, request: <JSON>, attachment? }`.
pub fn encode_request(id: RequestId, request: &Request, attachment: Option<&JsValue>) -> JsValue {
    envelope(id, "request", &serde_json::to_string(request), attachment)
}

/// Reads a request envelope made by [`encode_request`].
pub fn decode_request(data: &JsValue) -> Result<(RequestId, Request, Option<JsValue>), String> {
    let (id, json) = open(data, "request")?;
    let request = serde_json::from_str(&json).map_err(|e| format!("bad request: {e}"))?;
    let attachment = Some(get(data, "attachment")).filter(|a| !a.is_undefined());
    Ok((id, request, attachment))
}

/// The JavaScript object that carries a reply: `{ id, reply: <JSON>, attachment? }` (the
/// attachment: a [`Reply::ModelFile`]'s bytes).
pub fn encode_reply(id: RequestId, reply: &Reply, attachment: Option<&JsValue>) -> JsValue {
    envelope(id, "reply", &serde_json::to_string(reply), attachment)
}

/// Reads a reply envelope made by [`encode_reply`].
pub fn decode_reply(data: &JsValue) -> Result<(RequestId, Reply, Option<JsValue>), String> {
    let (id, json) = open(data, "reply")?;
    let reply = serde_json::from_str(&json).map_err(|e| format!("bad reply: {e}"))?;
    let attachment = Some(get(data, "attachment")).filter(|a| !a.is_undefined());
    Ok((id, reply, attachment))
}

/// The bytes attached to an envelope, if they are a `Uint8Array`: the buffer to transfer (move)
/// rather than copy when posting it to another thread.
pub fn attached_buffer(envelope: &JsValue) -> Option<js_sys::ArrayBuffer> {
    get(envelope, "attachment")
        .dyn_into::<js_sys::Uint8Array>()
        .ok()
        .map(|bytes| bytes.buffer())
}

/// Where no worker starts, the engine's wasm runs on the page's thread and sets this global
/// function: `(onReply) => onRequest`, the engine's replies going to `onReply` and the page's
/// requests to the function it returns (see `engine::worker::offer_here`).
pub const ENGINE_OFFER: &str = "__whiskerEngine";

/// The envelope a dying worker sends: `{ fatal: <message> }`.
pub fn encode_fatal(message: &str) -> JsValue {
    let object = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&object, &"fatal".into(), &message.into());
    object.into()
}

/// The message of a [`encode_fatal`] envelope, if `data` is one.
pub fn decode_fatal(data: &JsValue) -> Option<String> {
    get(data, "fatal").as_string()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn envelope(
    id: RequestId,
    key: &str,
    json: &serde_json::Result<String>,
    attachment: Option<&JsValue>,
) -> JsValue {
    let object = js_sys::Object::new();
    // Every message type serialises (no maps with non-string keys), so this cannot fail.
    let json = json.as_deref().unwrap_or("null");
    let _ = js_sys::Reflect::set(&object, &"id".into(), &JsValue::from_f64(id.0 as f64));
    let _ = js_sys::Reflect::set(&object, &key.into(), &JsValue::from_str(json));
    if let Some(attachment) = attachment {
        let _ = js_sys::Reflect::set(&object, &"attachment".into(), attachment);
    }
    object.into()
}

fn open(data: &JsValue, key: &str) -> Result<(RequestId, String), String> {
    let id = get(data, "id")
        .as_f64()
        .ok_or_else(|| format!("a message without an id: {data:?}"))?;
    let json = get(data, key)
        .as_string()
        .ok_or_else(|| format!("a message without a {key}"))?;
    Ok((RequestId(id as u64), json))
}
