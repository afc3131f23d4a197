//! The user's photos, as the engine keeps them: decoded and preprocessed once when added, kept by
//! id. The preprocessed input stays here (it is needed again only if the fine-tuning depth
//! changes); the backbone's features are cached by the session under the same id.

use crate::core::dataset::PhotoId;
use crate::core::preprocess::{ImageView, Preprocess};
use crate::web::glue::decode;
use crate::web::protocol::PhotoError;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Decodes a file and preprocesses it into the network's `[3, 224, 224]` input.
pub async fn prepare(blob: &web_sys::Blob, name: &str) -> Result<Vec<f32>, PhotoError> {
    let decoded = decode::decode_blob(blob, name).await?;
    preprocess(&decoded, name)
}

/// [`prepare`], and the photo's compact JPEG copy (see [`decode::Decoded::jpeg`]); `None` if
/// this browser cannot encode one.
pub async fn prepare_with_copy(
    blob: &web_sys::Blob,
    name: &str,
) -> Result<(Vec<f32>, Option<web_sys::Blob>), PhotoError> {
    let decoded = decode::decode_blob(blob, name).await?;
    let input = preprocess(&decoded, name)?;
    let copy = match decoded.jpeg().await {
        Ok(copy) => Some(copy),
        Err(e) => {
            log::warn!(
                "no compact copy of {name}: {}",
                crate::web::glue::js::describe(&e)
            );
            None
        }
    };
    Ok((input, copy))
}

fn preprocess(decoded: &decode::Decoded, name: &str) -> Result<Vec<f32>, PhotoError> {
    let rgba = &decoded.rgba;
    let view = ImageView::new(rgba.width as usize, rgba.height as usize, 4, &rgba.pixels).map_err(
        |source| PhotoError::Preprocess {
            name: name.to_string(),
            source,
        },
    )?;
    Ok(Preprocess::default().apply(&view))
}

/// The engine's photos: each one's preprocessed input, by id.
#[derive(Default)]
pub struct PhotoStore {
    inputs: RefCell<HashMap<PhotoId, Rc<Vec<f32>>>>,
}

impl PhotoStore {
    /// Keeps a photo's preprocessed input.
    pub fn keep(&self, id: PhotoId, input: Vec<f32>) {
        self.inputs.borrow_mut().insert(id, Rc::new(input));
    }

    /// A kept photo's preprocessed input.
    pub fn input(&self, id: PhotoId) -> Result<Rc<Vec<f32>>, PhotoError> {
        self.inputs
            .borrow()
            .get(&id)
            .cloned()
            .ok_or(PhotoError::Gone(id))
    }

    /// Forgets a photo.
    pub fn forget(&self, id: PhotoId) {
        self.inputs.borrow_mut().remove(&id);
    }

    /// Forgets every photo.
    pub fn clear(&self) {
        self.inputs.borrow_mut().clear();
    }

    /// Photos kept.
    pub fn len(&self) -> usize {
        self.inputs.borrow().len()
    }

    /// Whether no photo is kept.
    pub fn is_empty(&self) -> bool {
        self.inputs.borrow().is_empty()
    }
}
