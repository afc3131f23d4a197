//! Yielding to the event loop, so long computations let other messages in (Stop, new photos)
//! and, when they run on the page's thread, never block input and rendering for long.

use super::js;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Lets the browser handle input and paint, then resumes.
///
/// Uses `scheduler.yield()` where the browser has it (it resumes ahead of other queued tasks),
/// else a `MessageChannel` message: a fresh task without `setTimeout`'s 4 ms clamping.
pub async fn yield_now() {
    let scheduler = js::get(&js_sys::global(), "scheduler");
    if !scheduler.is_undefined()
        && let Some(promise) =
            js::call0(&scheduler, "yield").and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    {
        let _ = JsFuture::from(promise).await;
        return;
    }
    yield_task().await;
}

/// Resumes in a fresh task queued behind the messages already waiting, such as a Stop.
///
/// The engine's long loops yield with this, not [`yield_now`]: `scheduler.yield()` resumes
/// *ahead* of queued tasks, so a loop that yields only that way never lets the page's next
/// message in (a Stop pressed during extraction was served only once extraction had ended).
pub async fn yield_task() {
    let promise = js_sys::Promise::new(
        &mut |resolve, _reject| match web_sys::MessageChannel::new() {
            Ok(channel) => {
                channel.port1().set_onmessage(Some(resolve.unchecked_ref()));
                if channel.port2().post_message(&JsValue::NULL).is_err() {
                    let _ = resolve.call0(&JsValue::NULL);
                }
            }
            Err(_) => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        },
    );
    let _ = JsFuture::from(promise).await;
}

/// Waits `ms` milliseconds without blocking.
pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}
