//! The user's photos, as the engine keeps them: decoded and checked when added, then kept by id
//! as a compact JPEG copy that is decoded again whenever the backbone needs the photo (its first
//! training, or a new fine-tuning depth); the backbone's features are cached by the session under
//! the same id.

use crate::core::dataset::PhotoId;
use crate::core::preprocess::{ImageView, Preprocess};
use crate::web::glue::decode::{self, ImageSource};
use crate::web::protocol::PhotoError;
use std::cell::RefCell;
use std::collections::HashMap;

/// Decodes a file (or reads a camera frame) and preprocesses it into a backbone's
/// `[3, 224, 224]` input (each backbone has its own scaling, see
/// [`crate::ml::backbone::BackboneKind::preprocess`]).
pub async fn prepare(
    source: &ImageSource,
    name: &str,
    how: &Preprocess,
) -> Result<Vec<f32>, PhotoError> {
    let decoded = decode::decode(source, name).await?;
    preprocess(&decoded, name, how)
}

/// [`prepare`], and the photo's compact JPEG copy (see [`decode::Decoded::jpeg`]); `None` if
/// this browser cannot encode one.
pub async fn prepare_with_copy(
    source: &ImageSource,
    name: &str,
    how: &Preprocess,
) -> Result<(Vec<f32>, Option<web_sys::Blob>), PhotoError> {
    let decoded = decode::decode(source, name).await?;
    let input = preprocess(&decoded, name, how)?;
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

fn preprocess(
    decoded: &decode::Decoded,
    name: &str,
    how: &Preprocess,
) -> Result<Vec<f32>, PhotoError> {
    let rgba = &decoded.rgba;
    let view = ImageView::new(rgba.width as usize, rgba.height as usize, 4, &rgba.pixels).map_err(
        |source| PhotoError::Preprocess {
            name: name.to_string(),
            source,
        },
    )?;
    Ok(how.apply(&view))
}

/// The engine's photos, by id: each one's compact copy (a JPEG of ~50-100 kB that the browser
/// holds outside the wasm memory), decoded again when the backbone needs its input. Keeping the
/// preprocessed input instead would cost 600 kB of wasm memory per photo (`[3, 224, 224]` f32),
/// 300 MB for 500 photos; it is needed only for photos whose features are not cached yet.
#[derive(Default)]
pub struct PhotoStore {
    photos: RefCell<HashMap<PhotoId, Kept>>,
}

struct Kept {
    name: String,
    copy: web_sys::Blob,
}

impl PhotoStore {
    /// Keeps a photo's compact copy (or its file, where the browser made no copy).
    pub fn keep(&self, id: PhotoId, name: &str, copy: web_sys::Blob) {
        let kept = Kept {
            name: name.to_string(),
            copy,
        };
        self.photos.borrow_mut().insert(id, kept);
    }

    /// A kept photo's input preprocessed `how`, decoded from its copy.
    pub async fn input(&self, id: PhotoId, how: &Preprocess) -> Result<Vec<f32>, PhotoError> {
        let (name, copy) = self
            .photos
            .borrow()
            .get(&id)
            .map(|k| (k.name.clone(), k.copy.clone()))
            .ok_or(PhotoError::Gone(id))?;
        prepare(&ImageSource::File(copy), &name, how).await
    }

    /// Forgets a photo.
    pub fn forget(&self, id: PhotoId) {
        self.photos.borrow_mut().remove(&id);
    }

    /// Forgets every photo.
    pub fn clear(&self) {
        self.photos.borrow_mut().clear();
    }

    /// Photos kept.
    pub fn len(&self) -> usize {
        self.photos.borrow().len()
    }

    /// Whether no photo is kept.
    pub fn is_empty(&self) -> bool {
        self.photos.borrow().is_empty()
    }
}
