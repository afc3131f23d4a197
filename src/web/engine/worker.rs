//! The engine's thread. `static/worker.js` starts a dedicated module Worker that loads the
//! engine's wasm (`whisker-engine`), whose `main` lands here. Everything heavy (decoding,
//! preprocessing, the backbone, training) runs in this worker, so the page's thread only draws:
//! it never blocks for the ~100-900 ms a training step or a WebGPU kernel compilation can take.
//!
//! Where the browser starts no module worker, the page loads the same wasm on its own thread
//! instead, and [`offer_here`] hands it the engine.

use super::dispatcher::Dispatcher;
use crate::web::glue::js;
use crate::web::protocol::{ENGINE_OFFER, attached_buffer, encode_fatal};
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
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

/// On the page's own thread (no worker): sets `globalThis.__whiskerEngine(onReply)`, which
/// starts the engine, sends its replies to `onReply` and returns the function that takes the
/// page's requests. The page and the engine are two wasm instances: what crosses between them is
/// the same plain JavaScript objects a worker would be posted.
pub fn offer_here() {
    let _ = console_log::init_with_level(log::Level::Info);
    let offer =
        Closure::<dyn Fn(js_sys::Function) -> JsValue>::new(|on_reply: js_sys::Function| {
            let fatal = on_reply.clone();
            std::panic::set_hook(Box::new(move |info| {
                console_error_panic_hook::hook(info);
                let _ = fatal.call1(&JsValue::NULL, &encode_fatal(&info.to_string()));
            }));
            let dispatcher = Dispatcher::new(Rc::new(move |envelope| {
                if let Err(e) = on_reply.call1(&JsValue::NULL, &envelope) {
                    log::error!("could not answer the page: {}", js::describe(&e));
                }
            }));
            Closure::<dyn Fn(JsValue)>::new(move |request: JsValue| {
                dispatcher.handle_message(&request)
            })
            .into_js_value()
        });
    if let Err(e) = js_sys::Reflect::set(
        &js_sys::global(),
        &ENGINE_OFFER.into(),
        &offer.into_js_value(),
    ) {
        log::error!(
            "could not offer the engine to the page: {}",
            js::describe(&e)
        );
    }
}
