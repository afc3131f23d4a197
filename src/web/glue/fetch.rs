//! Fetching a static file from our own origin, with byte progress.

use super::js;
use thiserror::Error;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why a download failed.
#[derive(Debug, Clone, Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FetchError {
    /// The request did not complete (offline, server stopped, blocked).
    #[error("could not download {url}: {detail}")]
    Network { url: String, detail: String },
    /// The server answered with an error status.
    #[error("downloading {url} failed with HTTP status {status}")]
    Status { url: String, status: u16 },
    /// The connection broke while the body was arriving.
    #[error("the download of {url} broke off after {received} bytes: {detail}")]
    Body {
        url: String,
        received: u64,
        detail: String,
    },
}

/// Downloads `url` into memory, calling `on_progress(received, total)` as bytes arrive (`total`
/// from `Content-Length`, when the server sends it and the body is not re-encoded).
pub async fn fetch_bytes(
    url: &str,
    mut on_progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, FetchError> {
    let network = |e: wasm_bindgen::JsValue| FetchError::Network {
        url: url.to_string(),
        detail: js::describe(&e),
    };
    let response = JsFuture::from(js::fetch(url).map_err(network)?)
        .await
        .map_err(network)?;
    let response: web_sys::Response = response.dyn_into().map_err(network)?;
    if !response.ok() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: response.status(),
        });
    }
    let headers = response.headers();
    let encoded = headers
        .get("content-encoding")
        .ok()
        .flatten()
        .is_some_and(|e| !e.is_empty() && e != "identity");
    let total = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|_| !encoded);
    let mut bytes: Vec<u8> = Vec::with_capacity(total.unwrap_or(0) as usize);
    on_progress(0, total);
    let Some(body) = response.body() else {
        return Ok(bytes);
    };
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|e| network(e.into()))?;
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| FetchError::Body {
                url: url.to_string(),
                received: bytes.len() as u64,
                detail: js::describe(&e),
            })?;
        if js::get_bool(&chunk, "done").unwrap_or(true) {
            break;
        }
        let value = js::get(&chunk, "value");
        if let Some(array) = value.dyn_ref::<js_sys::Uint8Array>() {
            let start = bytes.len();
            bytes.resize(start + array.length() as usize, 0);
            array.copy_to(&mut bytes[start..]);
        }
        on_progress(bytes.len() as u64, total.map(|t| t.max(bytes.len() as u64)));
    }
    Ok(bytes)
}
