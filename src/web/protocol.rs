//! What the page and the engine say to each other. The engine (network, photos' inputs, feature
//! cache) runs in a Web Worker so no computation ever blocks the page; these messages cross the
//! thread boundary as JSON, with an attachment alongside (a photo's file, the weights' bytes).
//!
//! The page does every network request itself (the weights, the app's own files), so the
//! Content-Security-Policy of `index.html` governs all of them; the worker fetches nothing.
//!
//! Every [`Request`] carries an id; the engine answers with zero or more [`Reply`]s under that
//! id, the last of which is [`Reply::is_final`].

use super::engine::{
    BackendInfo, BackendRequest, ClassJob, LoadError, LoadStep, TrainError, TrainEvent, TrainReport,
};
use super::glue::js;
use super::photos::{PhotoError, PhotoId};
use crate::ml::MlError;
use crate::ml::pipeline::TrainSettings;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use wasm_bindgen::JsValue;

/// From the page to the engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Start the backend, wait for [`Request::Weights`], build and warm up the network.
    /// Answered by [`Reply::Backend`], [`Reply::Loading`]s, then [`Reply::Loaded`] or
    /// [`Reply::LoadFailed`].
    Load {
        backend: BackendRequest,
        /// Timing traces in the console.
        trace: bool,
    },
    /// The backbone record's bytes, attached as a `Uint8Array` (transferred, not copied). No
    /// answer: the `Load` request answers.
    Weights,
    /// Decode and preprocess the attached file and keep it as photo `id`. Answered by
    /// [`Reply::PhotoAdded`] or [`Reply::PhotoFailed`].
    AddPhoto { id: PhotoId, name: String },
    /// Forget a photo and its cached features. No answer.
    Forget { id: PhotoId },
    /// Extract what is missing and train. Answered by [`Reply::Training`]s, then
    /// [`Reply::Trained`] or [`Reply::TrainFailed`].
    Train {
        classes: Vec<ClassJob>,
        settings: TrainSettings,
    },
    /// Stop the running training (it keeps the best epoch so far). No answer.
    Stop,
    /// Predict the class of the attached file under the trained model. Answered by
    /// [`Reply::Predicted`].
    Predict { name: String },
}

/// Why a prediction has no result.
#[derive(Debug, Error, Serialize, Deserialize)]
pub enum PredictError {
    /// The network is not loaded yet.
    #[error("the network is still loading")]
    NotLoaded,
    /// Nothing was trained yet.
    #[error("no model has been trained yet")]
    NotTrained,
    /// The photo could not be read.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// The network failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}

/// Class names in output order and their probabilities for one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub classes: Vec<String>,
    pub probabilities: Vec<f32>,
}

/// From the engine to the page.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The backend chosen, and why.
    Backend(BackendInfo),
    /// A loading step (with the download's bytes).
    Loading(LoadStep),
    /// The network is ready.
    Loaded,
    /// The network could not be loaded.
    LoadFailed(LoadError),
    /// The photo is kept and ready to train on.
    PhotoAdded,
    /// The photo cannot be used.
    PhotoFailed(PhotoError),
    /// Training progress.
    Training(TrainEvent),
    /// Training finished (possibly stopped early, see the report's stats).
    Trained(TrainReport),
    /// Training could not run or failed.
    TrainFailed(TrainError),
    /// A prediction's result.
    Predicted(Result<Prediction, PredictError>),
    /// The engine panicked or could not start; nothing more will come from it.
    Crashed(String),
}

impl Reply {
    /// Whether this is the last answer to its request.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Reply::Backend(_) | Reply::Loading(_) | Reply::Training(_)
        )
    }
}

/// The JavaScript object that carries a request: `{ id, request: <JSON>, attachment? }`.
pub fn encode_request(id: u64, request: &Request, attachment: Option<&JsValue>) -> JsValue {
    envelope(id, "request", &serde_json::to_string(request), attachment)
}

/// Reads a request envelope made by [`encode_request`].
pub fn decode_request(data: &JsValue) -> Result<(u64, Request, Option<JsValue>), String> {
    let (id, json) = open(data, "request")?;
    let request = serde_json::from_str(&json).map_err(|e| format!("bad request: {e}"))?;
    let attachment = Some(js::get(data, "attachment")).filter(|a| !a.is_undefined());
    Ok((id, request, attachment))
}

/// The JavaScript object that carries a reply: `{ id, reply: <JSON> }`.
pub fn encode_reply(id: u64, reply: &Reply) -> JsValue {
    envelope(id, "reply", &serde_json::to_string(reply), None)
}

/// Reads a reply envelope made by [`encode_reply`].
pub fn decode_reply(data: &JsValue) -> Result<(u64, Reply), String> {
    let (id, json) = open(data, "reply")?;
    let reply = serde_json::from_str(&json).map_err(|e| format!("bad reply: {e}"))?;
    Ok((id, reply))
}

/// The envelope a dying worker sends: `{ fatal: <message> }`.
pub fn encode_fatal(message: &str) -> JsValue {
    let object = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&object, &"fatal".into(), &message.into());
    object.into()
}

/// The message of a [`encode_fatal`] envelope, if `data` is one.
pub fn decode_fatal(data: &JsValue) -> Option<String> {
    js::get(data, "fatal").as_string()
}

fn envelope(
    id: u64,
    key: &str,
    json: &serde_json::Result<String>,
    attachment: Option<&JsValue>,
) -> JsValue {
    let object = js_sys::Object::new();
    // Every message type serialises (no maps with non-string keys), so this cannot fail.
    let json = json.as_deref().unwrap_or("null");
    let _ = js_sys::Reflect::set(&object, &"id".into(), &JsValue::from_f64(id as f64));
    let _ = js_sys::Reflect::set(&object, &key.into(), &JsValue::from_str(json));
    if let Some(attachment) = attachment {
        let _ = js_sys::Reflect::set(&object, &"attachment".into(), attachment);
    }
    object.into()
}

fn open(data: &JsValue, key: &str) -> Result<(u64, String), String> {
    let id = js::get(data, "id")
        .as_f64()
        .ok_or_else(|| format!("a message without an id: {}", js::describe(data)))?;
    let json = js::get(data, key)
        .as_string()
        .ok_or_else(|| format!("a message without a {key}"))?;
    Ok((id as u64, json))
}
