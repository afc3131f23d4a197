//! What WebGPU adapter (if any) this browser offers, asked of `navigator.gpu` directly: burn
//! initialises its own device, but does not say which adapter it got or whether it is a software
//! fallback.

use super::js;
use crate::web::protocol::AdapterInfo;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The result of looking for WebGPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuProbe {
    /// The browser has no `navigator.gpu` (no WebGPU, or not a secure context).
    NoApi,
    /// WebGPU exists but offered no adapter (blocklisted GPU, disabled, headless without flags).
    NoAdapter,
    /// An adapter is available.
    Adapter(AdapterInfo),
}

/// Asks the browser for its default WebGPU adapter.
pub async fn probe() -> GpuProbe {
    // `navigator.gpu` exists on windows and on workers alike.
    let navigator = js::get(&js_sys::global(), "navigator");
    let gpu = js::get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return GpuProbe::NoApi;
    }
    let Some(promise) =
        js::call0(&gpu, "requestAdapter").and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return GpuProbe::NoAdapter;
    };
    let adapter = match JsFuture::from(promise).await {
        Ok(a) if !a.is_null() && !a.is_undefined() => a,
        _ => return GpuProbe::NoAdapter,
    };
    let info = js::get(&adapter, "info");
    let is_fallback = js::get_bool(&info, "isFallbackAdapter")
        .or_else(|| js::get_bool(&adapter, "isFallbackAdapter"))
        .unwrap_or(false);
    GpuProbe::Adapter(AdapterInfo {
        name: adapter_name(
            js::get_string(&info, "description"),
            js::get_string(&info, "vendor"),
            js::get_string(&info, "architecture"),
            js::get_string(&info, "device"),
        ),
        is_fallback,
    })
}

/// A display name from the adapter's info fields (any of which may be empty for privacy).
pub fn adapter_name(
    description: Option<String>,
    vendor: Option<String>,
    architecture: Option<String>,
    device: Option<String>,
) -> String {
    if let Some(d) = description {
        return d;
    }
    let parts: Vec<String> = [vendor, architecture, device]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "unnamed GPU".to_string()
    } else {
        parts.join(" ")
    }
}
