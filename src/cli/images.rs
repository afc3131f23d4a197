//! Native photo loading: decode with the `image` crate (EXIF orientation applied), then the
//! core's pure preprocessing.

use super::error::CliError;
use crate::core::preprocess::{ImageView, Preprocess};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// File extensions treated as photos when scanning folders (lower case).
pub const PHOTO_EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "jfif"];

/// Whether a path looks like a photo by its extension.
pub fn is_photo(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PHOTO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Decodes a photo to 8-bit RGB, upright.
pub fn decode(path: &Path) -> Result<image::RgbImage, CliError> {
    let bad = |reason: String| CliError::Image {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    let reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| CliError::io(path, e))?;
    match reader.format() {
        None => return Err(bad("not an image file (unknown format)".into())),
        // The JPEG decoder fills a truncated file's missing rows with grey instead of failing;
        // a photo cut short (interrupted copy or download) must not be trained on silently.
        Some(ImageFormat::Jpeg) if !has_jpeg_end(&bytes) => {
            return Err(bad("the file is truncated (no JPEG end marker)".into()));
        }
        Some(_) => {}
    }
    let mut decoder = reader.into_decoder().map_err(|e| bad(e.to_string()))?;
    let orientation = decoder.orientation().map_err(|e| bad(e.to_string()))?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| bad(e.to_string()))?;
    img.apply_orientation(orientation);
    Ok(img.to_rgb8())
}

/// Whether a JPEG file contains its end-of-image marker (`FF D9`) near its end; some writers
/// pad after it, so look at the last few kilobytes.
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Decodes and preprocesses a photo: `[3, 224, 224]` normalised, planar.
pub fn load_input(path: &Path, preprocess: &Preprocess) -> Result<Vec<f32>, CliError> {
    let rgb = decode(path)?;
    let (w, h) = rgb.dimensions();
    let view =
        ImageView::new(w as usize, h as usize, 3, rgb.as_raw()).map_err(|e| CliError::Image {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(preprocess.apply(&view))
}

/// Photos directly inside `dir`, sorted by name.
pub fn photos_in(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_photo(p))
        .collect();
    photos.sort();
    Ok(photos)
}
