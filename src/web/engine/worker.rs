//! The engine's thread. `static/worker.js` starts a dedicated module Worker that loads the same
//! wasm as the page; `main` finds itself without a `window` and lands here. Everything heavy
//! (decoding, preprocessing, the backbone, training) runs in this worker, so the page's thread
//! only draws: it never blocks for the ~100-900 ms a training step or a WebGPU kernel
//! compilation can take.

use super::dispatcher::Dispatcher;
use crate::web::glue::js;
use crate::web::protocol::{attached_buffer, encode_fatal};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Serves the page's requests from this worker: installs the message handler, then serves the
/// messages `worker.js` queued while the wasm was loading (in order).
pub fn start(scope: DedicatedWorkerGlobalScope) {
    let _ = console_log::init_with_level(log::Level::Info);
    let fatal_scope = scope.clone();
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        // The wasm instance is unusable after a panic: tell the page, which says so.
        let _ = fatal_scope.post_message(&encode_fatal(&info.to_string()));
    }));

    let reply_scope = scope.clone();
    let dispatcher = Dispatcher::new(Rc::new(move |envelope| {
        // Attached bytes (a model file) move to the page instead of being copied.
        let sent = match attached_buffer(&envelope) {
            Some(buffer) => {
                reply_scope.post_message_with_transfer(&envelope, &js_sys::Array::of1(&buffer))
            }
            None => reply_scope.post_message(&envelope),
        };
        if let Err(e) = sent {
            log::error!("could not answer the page: {}", js::describe(&e));
        }
    }));
    let queued = js::get(&scope, "__whiskerQueued");
    let on_message = {
        let dispatcher = dispatcher.clone();
        Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            dispatcher.handle_message(&event.data())
        })
    };
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    if let Some(queued) = queued.dyn_ref::<js_sys::Array>() {
        for event in queued.iter() {
            dispatcher.handle_message(&js::get(&event, "data"));
        }
        queued.set_length(0);
    }
}
