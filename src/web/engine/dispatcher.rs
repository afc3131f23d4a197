//! The engine's side of the [`protocol`](crate::web::protocol): runs each request against the
//! session and the photo store it owns, and answers through a reply function. The same code
//! serves the Web Worker (`worker`) and, where workers are unavailable, the page's own thread.

use super::backend::start_backend;
use super::load::build_session;
use super::photos::{PhotoStore, prepare, prepare_with_copy};
use crate::core::dataset::PhotoId;
use crate::ml::backbone::BackboneKind;
use crate::ml::progress::Progress;
use crate::ml::reports::{LabelledPhoto, PhotoPreview, SessionError};
use crate::ml::session::Session;
use crate::ml::settings::TrainSettings;
use crate::ml::{MlError, ModelFileProblem};
use crate::web::glue::decode::ImageSource;
use crate::web::glue::js::{self, now_ms};
use crate::web::glue::yield_now::{yield_now, yield_task};
use crate::web::protocol::{
    BackendInfo, BackendRequest, ClassJob, DecodeError, EngineError, EngineStatus, LoadError,
    LoadStep, ModelSummary, PhotoError, Prediction, Reply, Request, RequestId, decode_request,
    encode_reply,
};
use burn::prelude::*;
use futures::channel::oneshot;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;

/// Sends an encoded reply envelope (see [`encode_reply`]) to the page, transferring the bytes
/// it carries (see [`crate::web::protocol::attached_buffer`]).
pub type Post = Rc<dyn Fn(JsValue)>;

/// Serves requests. Cheap to clone; clones share the engine.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Rc<Engine>,
}

/// Everything the engine owns.
struct Engine {
    post: Post,
    photos: PhotoStore,
    /// The device and what it is, once the first `Load` started it (later loads reuse it).
    device: RefCell<Option<(Device, BackendInfo)>>,
    /// One session per backbone loaded, each with its own feature cache.
    sessions: RefCell<HashMap<BackboneKind, Rc<Session>>>,
    /// The backbone training and prediction use.
    current: Cell<Option<BackboneKind>>,
    /// Set by [`Request::Stop`], read by the running training at every step.
    stop: Cell<bool>,
    /// Bumped by every `Preview`, `Train` and `Reset`: a preview goes on only while it is the
    /// latest thing asked for.
    preview_turn: Cell<u64>,
    /// Timing traces in the console (`?trace` in the page's address).
    trace: Cell<bool>,
    /// Where [`Request::Weights`] puts the bytes of the backbone the latest `Load` waits for.
    weights_in: RefCell<Option<(BackboneKind, oneshot::Sender<Vec<u8>>)>>,
}

impl Dispatcher {
    /// An engine answering through `post`.
    pub fn new(post: Post) -> Self {
        Self {
            inner: Rc::new(Engine {
                post,
                photos: PhotoStore::default(),
                device: RefCell::new(None),
                sessions: RefCell::new(HashMap::new()),
                current: Cell::new(None),
                stop: Cell::new(false),
                preview_turn: Cell::new(0),
                trace: Cell::new(false),
                weights_in: RefCell::new(None),
            }),
        }
    }

    /// Serves one message from the page (a request envelope, see
    /// [`crate::web::protocol::encode_request`]).
    pub fn handle_message(&self, data: &JsValue) {
        match decode_request(data) {
            Ok((id, request, attachment)) => self.handle(id, request, attachment),
            Err(e) => log::error!("{e}"),
        }
    }

    /// Starts serving request `id`. Returns at once: the work runs as its own task, so a `Stop`
    /// (or a new photo) is served while training runs.
    fn handle(&self, id: RequestId, request: Request, attachment: Option<JsValue>) {
        let engine = &self.inner;
        match request {
            Request::Stop => engine.stop.set(true),
            Request::Forget { photo } => engine.forget(photo),
            Request::Reset => {
                engine.next_preview_turn();
                engine.reset()
            }
            Request::Weights { backbone } => {
                let bytes = attachment
                    .and_then(|a| a.dyn_into::<js_sys::Uint8Array>().ok())
                    .map(|a| a.to_vec());
                let mut slot = engine.weights_in.borrow_mut();
                match (bytes, slot.take()) {
                    (Some(bytes), Some((wanted, sender))) if wanted == backbone => {
                        // Dropped if that load no longer waits (the engine held the network).
                        let _ = sender.send(bytes);
                    }
                    (_, waiting) => {
                        log::info!("{backbone} weights not waited for: dropped");
                        *slot = waiting;
                    }
                }
            }
            Request::Inspect => engine.send(id, Reply::Status(engine.status())),
            Request::Load {
                backend,
                backbone,
                trace,
            } => {
                // The slot for this load's weights is made now, before any later message is
                // served: the page sends them as soon as its download ends.
                let (sender, receiver) = oneshot::channel();
                *engine.weights_in.borrow_mut() = Some((backbone, sender));
                engine.trace.set(trace);
                let engine = self.inner.clone();
                spawn_local(async move {
                    // Never cancelled: the page sends the bytes, or tells the user why it cannot.
                    let weights = async move { receiver.await.unwrap_or_default() };
                    match engine.load(id, backend, backbone, weights).await {
                        Ok(()) => engine.send(id, Reply::Loaded),
                        Err(e) => {
                            log::error!("loading {backbone} failed: {e}");
                            engine.send(id, Reply::LoadFailed(e));
                        }
                    }
                });
            }
            request => {
                let file = attachment.and_then(ImageSource::from_attachment);
                let engine = self.inner.clone();
                spawn_local(async move { engine.serve(id, request, file).await });
            }
        }
    }
}

impl Engine {
    fn send(&self, id: RequestId, reply: Reply) {
        (self.post)(encode_reply(id, &reply, None));
    }

    fn send_with(&self, id: RequestId, reply: Reply, attachment: &JsValue) {
        (self.post)(encode_reply(id, &reply, Some(attachment)));
    }

    /// The current backbone's session.
    fn session(&self) -> Result<Rc<Session>, EngineError> {
        self.current
            .get()
            .and_then(|kind| self.sessions.borrow().get(&kind).cloned())
            .ok_or(EngineError::NotLoaded)
    }

    /// Every backbone's session.
    fn all_sessions(&self) -> Vec<Rc<Session>> {
        self.sessions.borrow().values().cloned().collect()
    }

    fn forget(&self, photo: PhotoId) {
        self.photos.forget(photo);
        for session in self.all_sessions() {
            session.forget(photo);
        }
    }

    fn reset(&self) {
        // A running training stops at its next step; its result is dropped by the page.
        self.stop.set(true);
        self.photos.clear();
        for session in self.all_sessions() {
            session.reset();
        }
    }

    fn status(&self) -> EngineStatus {
        let session = self.session().ok();
        EngineStatus {
            photos: self.photos.len(),
            cached_features: session.as_ref().map_or(0, |s| s.cached_photos()),
            trained: session.as_ref().is_some_and(|s| s.model().is_some()),
            backbone: session.map(|s| s.backbone_kind()),
            backbones_loaded: self.sessions.borrow().len(),
        }
    }

    /// Serves [`Request::Load`]: starts the device the first time, then makes `backbone`
    /// current, building its session from `weights` unless it was loaded before.
    async fn load(
        &self,
        id: RequestId,
        backend: BackendRequest,
        backbone: BackboneKind,
        weights: impl Future<Output = Vec<u8>>,
    ) -> Result<(), LoadError> {
        if self.all_sessions().iter().any(|s| s.is_training()) {
            return Err(LoadError::Busy);
        }
        let started = self.device.borrow().clone();
        let (device, info) = match started {
            Some(started) => started,
            None => {
                self.send(id, Reply::Loading(LoadStep::Device));
                let started = start_backend(backend).await;
                log::info!("backend: {:?}", started.1);
                *self.device.borrow_mut() = Some(started.clone());
                started
            }
        };
        self.send(id, Reply::Backend(info.clone()));
        let loaded = self.sessions.borrow().get(&backbone).cloned();
        match loaded {
            Some(session) => {
                // Its bytes are not needed again; the page shows one model at a time.
                drop(weights);
                session.drop_model();
            }
            None => {
                let session = build_session(backbone, device, &info, weights, |step| {
                    self.send(id, Reply::Loading(step))
                })
                .await?;
                self.sessions
                    .borrow_mut()
                    .insert(backbone, Rc::new(session));
            }
        }
        self.current.set(Some(backbone));
        Ok(())
    }

    async fn serve(&self, id: RequestId, request: Request, file: Option<ImageSource>) {
        match request {
            Request::AddPhoto { photo, name } => match file {
                Some(file) => match self.add_photo(photo, &file, &name).await {
                    Ok(Some(copy)) => self.send_with(id, Reply::PhotoAdded, copy.as_ref()),
                    Ok(None) => self.send(id, Reply::PhotoAdded),
                    Err(e) => self.send(id, Reply::PhotoFailed(e)),
                },
                None => self.send(id, Reply::PhotoFailed(missing_file(&name))),
            },
            Request::Train { classes, settings } => {
                self.next_preview_turn();
                let reply = match self.train(id, &classes, &settings).await {
                    Ok(report) => Reply::Trained(report),
                    Err(e) => {
                        log::warn!("training: {e}");
                        Reply::TrainFailed(e)
                    }
                };
                self.send(id, reply);
            }
            Request::Preview { classes } => {
                let turn = self.next_preview_turn();
                let result = self.preview(&classes, turn).await;
                self.send(id, Reply::Previewed(result));
            }
            Request::Baseline => {
                let reply = self.compare(id, false).await;
                self.send(id, reply);
            }
            Request::CompareLayers => {
                let reply = self.compare(id, true).await;
                self.send(id, reply);
            }
            Request::Predict { name } => {
                let result = match file {
                    Some(file) => self.predict(&file, &name).await,
                    None => Err(missing_file(&name).into()),
                };
                self.send(id, Reply::Predicted(result));
            }
            Request::ExportModel => match self.export_model().await {
                Ok(bytes) => {
                    let bytes = js_sys::Uint8Array::from(bytes.as_slice());
                    self.send_with(id, Reply::ModelFile, bytes.as_ref());
                }
                Err(e) => self.send(id, Reply::ModelFailed(e)),
            },
            Request::OpenModel { name } => {
                let reply = match file.as_ref().and_then(ImageSource::file) {
                    Some(file) => match self.open_model(file, &name).await {
                        Ok(summary) => Reply::ModelOpened(summary),
                        Err(e) => Reply::ModelFailed(e),
                    },
                    None => Reply::ModelFailed(unreadable_model(&name, "no file attached")),
                };
                self.send(id, reply);
            }
            Request::Load { .. }
            | Request::Stop
            | Request::Forget { .. }
            | Request::Reset
            | Request::Weights { .. }
            | Request::Inspect => {}
        }
    }

    /// A new preview turn: the ones before it stop at their next photo.
    fn next_preview_turn(&self) -> u64 {
        self.preview_turn.set(self.preview_turn.get() + 1);
        self.preview_turn.get()
    }

    /// Serves [`Request::Preview`] as turn `turn`.
    async fn preview(&self, classes: &[ClassJob], turn: u64) -> Result<PhotoPreview, EngineError> {
        let session = self.session()?;
        let photos = labelled(classes);
        let how = session.backbone_kind().preprocess();
        let preview = session
            .preview(
                &photos,
                classes.len(),
                &mut async |photo| {
                    // One photo at a time, each its own task: a Train, Stop or newer preview
                    // gets in between.
                    yield_task().await;
                    self.photos.input(photo, &how).await
                },
                &mut || self.preview_turn.get() == turn && !session.is_training(),
            )
            .await?;
        Ok(preview)
    }

    /// Serves [`Request::Baseline`] or [`Request::CompareLayers`] (`layers`): progress as
    /// [`Reply::Comparing`], ended early by `Stop` or `Reset`. The session counts it as a
    /// training run, so a `Train` meanwhile is refused as busy (the page waits anyway).
    async fn compare(&self, id: RequestId, layers: bool) -> Reply {
        let session = match self.session() {
            Ok(session) => session,
            Err(e) if layers => return Reply::LayersCompared(Err(e)),
            Err(e) => return Reply::Baselined(Err(e)),
        };
        self.stop.set(false);
        let how = session.backbone_kind().preprocess();
        let mut load = async |photo| self.photos.input(photo, &how).await;
        let mut observer = async |p: Progress| {
            // As in training: short tasks, so a Stop and the page's other requests get in.
            yield_task().await;
            self.send(id, Reply::Comparing(p));
            yield_task().await;
            !self.stop.get()
        };
        if layers {
            let rows = session.compare_layers(&mut load, &mut observer).await;
            Reply::LayersCompared(rows.map_err(EngineError::from))
        } else {
            let report = session.baseline(&mut load, &mut observer).await;
            Reply::Baselined(report.map_err(EngineError::from))
        }
    }

    async fn export_model(&self) -> Result<Vec<u8>, EngineError> {
        Ok(self.session()?.export_model::<PhotoError>().await?)
    }

    /// Reads the model file `file` and makes it the session's model. Refused while training:
    /// the run would replace it when it ends.
    async fn open_model(
        &self,
        file: &web_sys::Blob,
        name: &str,
    ) -> Result<ModelSummary, EngineError> {
        let session = self.session()?;
        if session.is_training() {
            return Err(SessionError::Busy.into());
        }
        let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
            .await
            .map_err(|e| unreadable_model(name, &js::describe(&e)))?;
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        let meta = session.import_model::<PhotoError>(name, &bytes)?;
        Ok(ModelSummary {
            classes: meta.classes,
            fine_tune_blocks: meta.fine_tune_blocks,
        })
    }

    /// Decodes, preprocesses and keeps a photo; returns its compact copy (if the browser could
    /// encode one) for the page to show and save.
    async fn add_photo(
        &self,
        photo: PhotoId,
        file: &ImageSource,
        name: &str,
    ) -> Result<Option<web_sys::Blob>, PhotoError> {
        // The input is computed now only to refuse a photo that cannot be used at once; the
        // store keeps the copy, and decodes it again when the backbone needs it.
        let how = self
            .current
            .get()
            .map(BackboneKind::preprocess)
            .unwrap_or_default();
        let result = prepare_with_copy(file, name, &how)
            .await
            .and_then(|(_input, copy)| {
                // A camera frame has no file to keep instead of the copy.
                let kept = copy
                    .clone()
                    .or_else(|| file.file().cloned())
                    .ok_or_else(|| no_copy(name))?;
                self.photos.keep(photo, name, kept);
                Ok(copy)
            });
        if let Err(e) = &result {
            log::warn!("{e}");
        }
        // Decoding is the browser's; preprocessing is ours and takes a few ms: let other
        // requests in between photos.
        yield_now().await;
        result
    }

    async fn train(
        &self,
        id: RequestId,
        classes: &[ClassJob],
        settings: &TrainSettings,
    ) -> Result<crate::ml::reports::TrainReport, EngineError> {
        let session = self.session()?;
        self.stop.set(false);
        let names: Vec<String> = classes.iter().map(|c| c.name.trim().to_string()).collect();
        let photos = labelled(classes);
        let how = session.backbone_kind().preprocess();
        let last_step = Cell::new(now_ms());
        let report = session
            .train(
                &names,
                &photos,
                None,
                settings,
                &mut async |photo| self.photos.input(photo, &how).await,
                &mut async |p: Progress| {
                    if self.trace.get() {
                        log::info!(
                            "trace: {:?} {}/{} took {:.1} ms",
                            p.phase,
                            p.done,
                            p.total,
                            now_ms() - last_step.get()
                        );
                    }
                    // Compute and the progress report run as separate tasks, each short (this
                    // matters when the engine shares the page's thread), queued behind the
                    // page's messages so a Stop is seen at the next step.
                    yield_task().await;
                    self.send(id, Reply::Training(p));
                    yield_task().await;
                    last_step.set(now_ms());
                    !self.stop.get()
                },
            )
            .await?;
        Ok(report)
    }

    async fn predict(&self, file: &ImageSource, name: &str) -> Result<Prediction, EngineError> {
        let session = self.session()?;
        let classes = session
            .model()
            .map(|m| m.classes.clone())
            .ok_or(SessionError::NoModel)?;
        let input = prepare(file, name, &session.backbone_kind().preprocess()).await?;
        let probabilities = session
            .predict::<PhotoError>(&[&input])
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(Prediction {
            classes,
            probabilities,
        })
    }
}

/// Every photo of `classes`, labelled with its class's index.
fn labelled(classes: &[ClassJob]) -> Vec<LabelledPhoto> {
    classes
        .iter()
        .enumerate()
        .flat_map(|(label, c)| c.photos.iter().map(move |&id| LabelledPhoto { id, label }))
        .collect()
}

/// A model file whose bytes could not be read.
fn unreadable_model(name: &str, detail: &str) -> EngineError {
    SessionError::Ml(MlError::model_file(
        name,
        ModelFileProblem::Damaged(detail.to_string()),
    ))
    .into()
}

/// A camera frame this browser could not keep as a JPEG: without a copy it cannot be saved.
fn no_copy(name: &str) -> PhotoError {
    PhotoError::Decode(DecodeError::Pixels {
        name: name.to_string(),
        detail: "this browser could not keep a copy of the camera's picture".into(),
    })
}

fn missing_file(name: &str) -> PhotoError {
    PhotoError::Decode(DecodeError::NotAnImage {
        name: name.to_string(),
    })
}
