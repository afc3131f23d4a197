//! The engine's side of the [`protocol`](super::protocol): runs each request against the
//! [`Engine`] and the photo store of this thread, and answers through a reply function. The same
//! code serves the Web Worker (`worker`) and, where workers are unavailable, the page's own thread.

use super::engine::{Engine, engine, set_trace};
use super::glue::yield_now::yield_now;
use super::photos::{self, PhotoId};
use super::protocol::{PredictError, Prediction, Reply, Request};
use futures::channel::oneshot;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;

/// Sends `reply` as an answer to request `id`.
pub type ReplyFn = Rc<dyn Fn(u64, Reply)>;

/// Serves requests. Cheap to clone; all clones share the stop flag.
#[derive(Clone)]
pub struct Host {
    reply: ReplyFn,
    /// Set by [`Request::Stop`], read by the running training at every step.
    stop: Rc<Cell<bool>>,
    /// Where [`Request::Weights`] puts the weights' bytes, and where `Load` waits for them
    /// (each taken once).
    weights_in: Rc<RefCell<Option<oneshot::Sender<Vec<u8>>>>>,
    weights_out: Rc<RefCell<Option<oneshot::Receiver<Vec<u8>>>>>,
}

impl Host {
    /// A host answering through `reply`.
    pub fn new(reply: ReplyFn) -> Self {
        let (sender, receiver) = oneshot::channel();
        Self {
            reply,
            stop: Rc::new(Cell::new(false)),
            weights_in: Rc::new(RefCell::new(Some(sender))),
            weights_out: Rc::new(RefCell::new(Some(receiver))),
        }
    }

    /// Starts serving request `id`. Returns at once: the work runs as its own task, so a `Stop`
    /// (or a new photo) is served while training runs.
    pub fn handle(&self, id: u64, request: Request, attachment: Option<JsValue>) {
        match request {
            Request::Stop => self.stop.set(true),
            Request::Forget { id: photo } => photos::forget(photo),
            Request::Weights => {
                let bytes = attachment
                    .and_then(|a| a.dyn_into::<js_sys::Uint8Array>().ok())
                    .map(|a| a.to_vec());
                match (bytes, self.weights_in.borrow_mut().take()) {
                    (Some(bytes), Some(slot)) => {
                        let _ = slot.send(bytes);
                    }
                    _ => log::error!("weights without bytes, or sent twice"),
                }
            }
            request => {
                let file = attachment.and_then(|a| a.dyn_into::<web_sys::Blob>().ok());
                let host = self.clone();
                spawn_local(async move { host.serve(id, request, file).await });
            }
        }
    }

    fn send(&self, id: u64, reply: Reply) {
        (self.reply)(id, reply);
    }

    async fn serve(&self, id: u64, request: Request, file: Option<web_sys::Blob>) {
        match request {
            Request::Load { backend, trace } => {
                set_trace(trace);
                let Some(weights) = self.weights_out.borrow_mut().take() else {
                    log::error!("the engine is loaded only once");
                    return;
                };
                let result = Engine::load(
                    backend,
                    // Never cancelled: the page sends the bytes, or tells the user why it cannot.
                    async move { weights.await.unwrap_or_default() },
                    |info| self.send(id, Reply::Backend(info.clone())),
                    |step| self.send(id, Reply::Loading(step)),
                )
                .await;
                match result {
                    Ok(_) => self.send(id, Reply::Loaded),
                    Err(e) => {
                        log::error!("loading failed: {e}");
                        self.send(id, Reply::LoadFailed(e));
                    }
                }
            }
            Request::AddPhoto { id: photo, name } => {
                let reply = match file {
                    Some(file) => self.add_photo(photo, &file, &name).await,
                    None => Reply::PhotoFailed(missing_file(&name)),
                };
                self.send(id, reply);
            }
            Request::Train { classes, settings } => {
                self.stop.set(false);
                let Some(engine) = engine() else {
                    self.send(id, Reply::TrainFailed(super::engine::TrainError::NotLoaded));
                    return;
                };
                let result = engine
                    .train(&classes, &settings, &self.stop, |event| {
                        self.send(id, Reply::Training(event))
                    })
                    .await;
                self.send(
                    id,
                    match result {
                        Ok(report) => Reply::Trained(report),
                        Err(e) => {
                            log::warn!("training: {e}");
                            Reply::TrainFailed(e)
                        }
                    },
                );
            }
            Request::Predict { name } => {
                let result = match file {
                    Some(file) => predict(&file, &name).await,
                    None => Err(missing_file(&name).into()),
                };
                self.send(id, Reply::Predicted(result));
            }
            Request::Stop | Request::Forget { .. } | Request::Weights => {}
        }
    }

    async fn add_photo(&self, photo: PhotoId, file: &web_sys::Blob, name: &str) -> Reply {
        let reply = match photos::prepare(file, name).await {
            Ok(input) => {
                photos::keep(photo, input);
                Reply::PhotoAdded
            }
            Err(e) => {
                log::warn!("{e}");
                Reply::PhotoFailed(e)
            }
        };
        // Decoding is the browser's; preprocessing is ours and takes a few ms: let other
        // requests in between photos.
        yield_now().await;
        reply
    }
}

fn missing_file(name: &str) -> photos::PhotoError {
    photos::PhotoError::Decode(super::glue::decode::DecodeError::NotAnImage {
        name: name.to_string(),
    })
}

async fn predict(file: &web_sys::Blob, name: &str) -> Result<Prediction, PredictError> {
    let engine = engine().ok_or(PredictError::NotLoaded)?;
    let input = photos::prepare(file, name).await?;
    match engine.predict(&input).await? {
        Some((classes, probabilities)) => Ok(Prediction {
            classes,
            probabilities,
        }),
        None => Err(PredictError::NotTrained),
    }
}
