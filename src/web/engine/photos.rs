//! The user's photos: decoded and preprocessed once when added, kept by a stable id. The
//! preprocessed network input stays here (it is needed again only if the fine-tuning depth
//! changes); the backbone's features are cached by the engine under the same id.

use super::glue::decode::{self, DecodeError};
use crate::core::preprocess::{ImageView, Preprocess, PreprocessError};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use thiserror::Error;

/// A photo's stable id, unique for the page's lifetime.
pub type PhotoId = u64;

/// Why a photo cannot be used.
#[derive(Debug, Error, PartialEq, serde::Serialize, serde::Deserialize)]
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
}

thread_local! {
    static NEXT_ID: Cell<PhotoId> = const { Cell::new(1) };
    static INPUTS: RefCell<HashMap<PhotoId, Rc<Vec<f32>>>> = RefCell::new(HashMap::new());
}

/// A new id for a photo.
pub fn next_id() -> PhotoId {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// Decodes a file and preprocesses it into the network's `[3, 224, 224]` input.
pub async fn prepare(blob: &web_sys::Blob, name: &str) -> Result<Vec<f32>, PhotoError> {
    let rgba = decode::decode_blob(blob, name).await?;
    let view = ImageView::new(rgba.width as usize, rgba.height as usize, 4, &rgba.pixels).map_err(
        |source| PhotoError::Preprocess {
            name: name.to_string(),
            source,
        },
    )?;
    Ok(Preprocess::default().apply(&view))
}

/// Keeps a photo's preprocessed input under `id`.
pub fn keep(id: PhotoId, input: Vec<f32>) {
    INPUTS.with(|m| m.borrow_mut().insert(id, Rc::new(input)));
}

/// A kept photo's preprocessed input.
pub fn input(id: PhotoId) -> Option<Rc<Vec<f32>>> {
    INPUTS.with(|m| m.borrow().get(&id).cloned())
}

/// Forgets a photo: its input, and its cached features if the engine is loaded.
pub fn forget(id: PhotoId) {
    INPUTS.with(|m| m.borrow_mut().remove(&id));
    if let Some(engine) = super::engine::engine() {
        engine.forget(id);
    }
}

/// An object URL showing `blob` (for thumbnails; revoke with [`revoke_url`]).
pub fn object_url(blob: &web_sys::Blob) -> String {
    web_sys::Url::create_object_url_with_blob(blob).unwrap_or_default()
}

/// Releases an object URL made by [`object_url`].
pub fn revoke_url(url: &str) {
    if url.starts_with("blob:") {
        let _ = web_sys::Url::revoke_object_url(url);
    }
}
