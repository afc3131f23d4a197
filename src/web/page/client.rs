//! The page's side of the [`protocol`](crate::web::protocol): starts the engine's Web Worker and
//! routes its answers to whoever asked. Where no worker can start (no module workers in this
//! browser, or a test page without the app's loader) the page is handed another [`Link`] to an
//! engine, one on its own thread: the messages are the same either way.

use crate::web::glue::js;
#[cfg(not(feature = "engine"))]
use crate::web::protocol::ENGINE_OFFER;
use crate::web::protocol::{Reply, Request, RequestId, decode_fatal, decode_reply, encode_request};
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// Where the engine runs, and how request envelopes reach it.
pub enum Link {
    /// In a dedicated worker.
    Worker(Worker),
    /// On this thread: the engine's message handler, which answers through [`receive`].
    Local(Rc<dyn Fn(&JsValue)>),
}

/// A reply and what it carries (a model file's bytes, see [`Reply::ModelFile`]).
pub type Answer = (Reply, Option<JsValue>);

/// The replies to one request, ending after the final one (see [`Client::call`]).
pub type Replies = futures::stream::Map<UnboundedReceiver<Answer>, fn(Answer) -> Reply>;

/// The page's connection to the engine.
pub struct Client {
    link: RefCell<Link>,
    next_id: Cell<u64>,
    /// Requests still expecting replies.
    waiting: RefCell<HashMap<RequestId, UnboundedSender<Answer>>>,
    /// Set once the engine died: every later request is answered with it, until a restart.
    crashed: RefCell<Option<String>>,
    /// Told when the engine dies (after the waiting requests were answered).
    on_crash: RefCell<Option<CrashHandler>>,
}

/// Called with the reason when the engine dies.
pub type CrashHandler = Rc<dyn Fn(String)>;

thread_local! {
    static CLIENT: RefCell<Option<Rc<Client>>> = const { RefCell::new(None) };
}

/// Connects the page to its engine, once: a worker if one starts, else `fallback()`'s link.
pub fn connect(fallback: impl FnOnce() -> Link) {
    if CLIENT.with(|c| c.borrow().is_some()) {
        return;
    }
    let link = match start_worker() {
        Ok(worker) => Link::Worker(worker),
        Err(why) => {
            log::info!("the engine runs on the page's thread: {why}");
            fallback()
        }
    };
    let client = Rc::new(Client {
        link: RefCell::new(link),
        next_id: Cell::new(1),
        waiting: RefCell::new(HashMap::new()),
        crashed: RefCell::new(None),
        on_crash: RefCell::new(None),
    });
    CLIENT.with(|c| *c.borrow_mut() = Some(client));
}

/// The page's client. [`connect`] must have run (`crate::web::start_page` does it).
pub fn client() -> Rc<Client> {
    CLIENT
        .with(|c| c.borrow().clone())
        .expect("the page connects to its engine before using it")
}

/// Whether the engine runs in a worker (`false`: on the page's thread).
pub fn in_worker() -> bool {
    matches!(*client().link.borrow(), Link::Worker(_))
}

impl Client {
    /// Sends `request` (with an attachment: a photo's `File`, a camera frame's `ImageBitmap`,
    /// the weights' `Uint8Array`) and
    /// returns its replies, ending after the final one.
    pub fn call(&self, request: Request, attachment: Option<&JsValue>) -> Replies {
        fn reply(answer: Answer) -> Reply {
            answer.0
        }
        self.call_for_attachments(request, attachment)
            .map(reply as fn(Answer) -> Reply)
    }

    /// [`Client::call`], for requests whose replies carry attachments.
    pub fn call_for_attachments(
        &self,
        request: Request,
        attachment: Option<&JsValue>,
    ) -> UnboundedReceiver<Answer> {
        let (sender, receiver) = unbounded();
        if let Some(message) = self.crashed.borrow().clone() {
            let _ = sender.unbounded_send((Reply::Crashed(message), None));
            return receiver;
        }
        let id = RequestId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        self.waiting.borrow_mut().insert(id, sender);
        self.post(id, request, attachment);
        receiver
    }

    /// Sends a request that has no reply (`Stop`, `Forget`, `Weights`).
    pub fn send(&self, request: Request, attachment: Option<&JsValue>) {
        if self.crashed.borrow().is_none() {
            self.post(RequestId(0), request, attachment);
        }
    }

    /// Calls `f` with the reason whenever the engine dies.
    pub fn on_crash(&self, f: CrashHandler) {
        *self.on_crash.borrow_mut() = Some(f);
    }

    /// Replaces a dead engine's worker with a new one (which must be loaded again). An engine on
    /// the page's own thread cannot be restarted.
    pub fn restart(&self) -> Result<(), String> {
        let mut link = self.link.borrow_mut();
        let Link::Worker(old) = &*link else {
            return Err("the engine runs on the page's thread".into());
        };
        old.terminate();
        *link = Link::Worker(start_worker()?);
        *self.crashed.borrow_mut() = None;
        Ok(())
    }

    fn post(&self, id: RequestId, request: Request, attachment: Option<&JsValue>) {
        let message = encode_request(id, &request, attachment);
        // Cloned out, so nothing stays borrowed while the engine (or a crash handler) runs.
        let (worker, local) = match &*self.link.borrow() {
            Link::Worker(worker) => (Some(worker.clone()), None),
            Link::Local(handle) => (None, Some(handle.clone())),
        };
        if let Some(handle) = local {
            handle(&message);
        }
        let Some(worker) = worker else { return };
        // Bytes and frames move to the worker instead of being copied.
        let sent = match attachment.and_then(transferable) {
            Some(moved) => worker.post_message_with_transfer(&message, &js_sys::Array::of1(&moved)),
            None => worker.post_message(&message),
        };
        if let Err(e) = sent {
            self.crash(format!("could not reach the engine: {}", js::describe(&e)));
        }
    }

    fn deliver(&self, id: RequestId, reply: Reply, attachment: Option<JsValue>) {
        let last = reply.is_final();
        let sender = if last {
            self.waiting.borrow_mut().remove(&id)
        } else {
            self.waiting.borrow().get(&id).cloned()
        };
        if let Some(sender) = sender {
            let _ = sender.unbounded_send((reply, attachment));
        }
    }

    fn crash(&self, message: String) {
        if self.crashed.borrow().is_some() {
            return;
        }
        log::error!("the engine stopped: {message}");
        *self.crashed.borrow_mut() = Some(message.clone());
        let waiting: Vec<_> = self.waiting.borrow_mut().drain().collect();
        for (_, sender) in waiting {
            let _ = sender.unbounded_send((Reply::Crashed(message.clone()), None));
        }
        let on_crash = self.on_crash.borrow().clone();
        if let Some(f) = on_crash {
            f(message);
        }
    }
}

/// What of an attachment moves to the worker rather than being copied: a `Uint8Array`'s buffer,
/// an `ImageBitmap` (unusable on the page afterwards).
fn transferable(attachment: &JsValue) -> Option<JsValue> {
    if let Some(bytes) = attachment.dyn_ref::<js_sys::Uint8Array>() {
        return Some(bytes.buffer().into());
    }
    attachment
        .is_instance_of::<web_sys::ImageBitmap>()
        .then(|| attachment.clone())
}

/// Takes a message from the engine (a reply envelope, or the fatal message of a dying worker)
/// and hands it to whoever waits for it.
pub fn receive(data: &JsValue) {
    let Some(client) = CLIENT.with(|c| c.borrow().clone()) else {
        return;
    };
    if let Some(message) = decode_fatal(data) {
        client.crash(message);
        return;
    }
    match decode_reply(data) {
        Ok((id, reply, attachment)) => client.deliver(id, reply, attachment),
        Err(e) => log::error!("{e}"),
    }
}

fn crash(message: String) {
    if let Some(client) = CLIENT.with(|c| c.borrow().clone()) {
        client.crash(message);
    }
}

/// The engine's JS glue, as Trunk names a worker binary's output (`index.html`): next to the
/// page's loader, whose URL is the page's base.
const ENGINE_JS: &str = "whisker-engine.js";

/// The absolute URL of `path`, next to the page's loader (`boot.js`).
fn beside_loader(path: &str) -> Result<web_sys::Url, String> {
    let document = js::window().document().ok_or("no document")?;
    let script = document
        .query_selector("script[data-whisker-js]")
        .ok()
        .flatten()
        .ok_or("no app loader on this page")?;
    let base = js::get(&script, "src")
        .as_string()
        .ok_or("the loader has no src")?;
    web_sys::Url::new_with_base(path, &base).map_err(|e| js::describe(&e))
}

/// Starts `worker.js` next to the page's loader, telling it where the engine's JS glue is; the
/// worker loads the engine's wasm while the page draws.
fn start_worker() -> Result<Worker, String> {
    let url = beside_loader("worker.js")?;
    url.search_params()
        .set("js", &beside_loader(ENGINE_JS)?.href());
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name("whisker-engine");
    let worker = Worker::new_with_options(&url.href(), &options).map_err(|e| js::describe(&e))?;

    let on_message =
        Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| receive(&event.data()));
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // A worker that throws outside our code ends here with an `ErrorEvent`; one whose script
    // cannot be fetched, with a plain `Event`.
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        let detail = match event.dyn_ref::<ErrorEvent>() {
            Some(e) => format!("{} ({}:{})", e.message(), e.filename(), e.lineno()),
            None => "its script could not be loaded".to_string(),
        };
        crash(detail);
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    Ok(worker)
}

/// The engine on the page's own thread, where no worker starts: its wasm loaded here, beside the
/// page's (see `crate::web::engine::worker::offer_here`). Requests sent while it loads wait in
/// order; if it cannot load, the engine is reported dead with the reason.
#[cfg(not(feature = "engine"))]
pub fn load_engine_here() -> Link {
    let handler: Rc<RefCell<Option<js_sys::Function>>> = Rc::new(RefCell::new(None));
    let queued: Rc<RefCell<Vec<JsValue>>> = Rc::new(RefCell::new(Vec::new()));
    {
        let (handler, queued) = (handler.clone(), queued.clone());
        wasm_bindgen_futures::spawn_local(async move {
            match engine_module_here().await {
                Ok(handle) => {
                    for request in queued.borrow_mut().drain(..) {
                        let _ = handle.call1(&JsValue::NULL, &request);
                    }
                    *handler.borrow_mut() = Some(handle);
                }
                Err(why) => crash(format!("the engine could not start on this page: {why}")),
            }
        });
    }
    Link::Local(Rc::new(move |request: &JsValue| {
        match handler.borrow().as_ref() {
            Some(handle) => {
                let _ = handle.call1(&JsValue::NULL, request);
            }
            None => queued.borrow_mut().push(request.clone()),
        }
    }))
}

/// Imports the engine's JS glue, starts its wasm, and takes the engine it offers.
#[cfg(not(feature = "engine"))]
async fn engine_module_here() -> Result<js_sys::Function, String> {
    use wasm_bindgen_futures::JsFuture;
    let url = beside_loader(ENGINE_JS)?.href();
    let glue = JsFuture::from(js::import_module(&url))
        .await
        .map_err(|e| js::describe(&e))?;
    let init = js::get(&glue, "default")
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "the engine's glue has no init")?;
    let started = init.call0(&JsValue::NULL).map_err(|e| js::describe(&e))?;
    JsFuture::from(js_sys::Promise::resolve(&started))
        .await
        .map_err(|e| js::describe(&e))?;
    let offer = js::get(&js_sys::global(), ENGINE_OFFER)
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "the engine did not offer itself")?;
    let on_reply = Closure::<dyn Fn(JsValue)>::new(|envelope: JsValue| receive(&envelope));
    let handle = offer
        .call1(&JsValue::NULL, on_reply.as_ref())
        .map_err(|e| js::describe(&e))?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "the engine gave no request handler")?;
    // The engine answers through it for as long as the page lives.
    on_reply.forget();
    Ok(handle)
}
