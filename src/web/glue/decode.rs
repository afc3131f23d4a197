//! Decoding a user's photo with the browser's own decoders: `createImageBitmap` (EXIF orientation
//! applied, downscaled with high quality so the shorter side is about [`SHORT_SIDE`] pixels),
//! then the pixels through an `OffscreenCanvas`. A camera frame arrives already decoded (an
//! `ImageBitmap`, see [`ImageSource`]) and takes the same path from the downscaling on.

use super::js;
use crate::web::protocol::DecodeError;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ImageBitmap, ImageBitmapOptions, ImageOrientation, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d, PremultiplyAlpha, ResizeQuality,
};

/// Shorter side, in pixels, photos are downscaled to before preprocessing (which resizes to 256
/// with an antialiased filter: starting from ~2x that keeps the result faithful and cheap).
pub const SHORT_SIDE: u32 = 512;

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// Decoded RGBA pixels, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// The size `(w, h)` scaled down so the shorter side is `short` (never scaled up).
pub fn downscaled(width: u32, height: u32, short: u32) -> (u32, u32) {
    let s = width.min(height);
    if s <= short || s == 0 {
        return (width, height);
    }
    let scale = short as f64 / s as f64;
    let w = ((width as f64 * scale).round() as u32).max(1);
    let h = ((height as f64 * scale).round() as u32).max(1);
    (w, h)
}

/// JPEG quality of the compact copy (see [`Decoded::jpeg`]): at [`SHORT_SIDE`] pixels this
/// keeps a photo at ~50-100 kB, and its preprocessed input within a few 1/255 of the original's.
pub const COPY_QUALITY: f64 = 0.9;

/// A decoded photo: its pixels, and the canvas that holds them.
pub struct Decoded {
    pub rgba: Rgba,
    canvas: OffscreenCanvas,
}

impl Decoded {
    /// The photo as a JPEG at its decoded size (upright, shorter side at most [`SHORT_SIDE`]):
    /// the bounded copy Whisker keeps and shows instead of the user's original, which can be
    /// many megabytes. Decoding the copy again gives the same size, so it preprocesses alike.
    pub async fn jpeg(&self) -> Result<web_sys::Blob, JsValue> {
        let options = web_sys::ImageEncodeOptions::new();
        options.set_type("image/jpeg");
        options.set_quality(COPY_QUALITY);
        let promise = self.canvas.convert_to_blob_with_options(&options)?;
        Ok(JsFuture::from(promise).await?.unchecked_into())
    }
}

/// A photo as it reaches the engine: a file to decode, or a camera frame the page took as
/// pixels (no JPEG round trip on the way).
#[derive(Debug, Clone)]
pub enum ImageSource {
    /// An uploaded file (or any blob).
    File(web_sys::Blob),
    /// A camera frame (`createImageBitmap(video)` on the page), already decoded.
    Frame(ImageBitmap),
}

impl ImageSource {
    /// The source a request's attachment carries, if it is one.
    pub fn from_attachment(attachment: JsValue) -> Option<Self> {
        if attachment.is_instance_of::<ImageBitmap>() {
            return Some(ImageSource::Frame(attachment.unchecked_into()));
        }
        attachment.dyn_into().ok().map(ImageSource::File)
    }

    /// The file, if this is one (a frame has no file to fall back on).
    pub fn file(&self) -> Option<&web_sys::Blob> {
        match self {
            ImageSource::File(blob) => Some(blob),
            ImageSource::Frame(_) => None,
        }
    }
}

/// Decodes a file or a camera frame into RGBA pixels, upright, shorter side at most
/// [`SHORT_SIDE`]. A frame's bitmap is closed (its memory freed) once read.
pub async fn decode(source: &ImageSource, name: &str) -> Result<Decoded, DecodeError> {
    match source {
        ImageSource::File(blob) => decode_blob(blob, name).await,
        ImageSource::Frame(bitmap) => {
            let result = decode_image(bitmap.as_ref(), name).await;
            bitmap.close();
            result
        }
    }
}

/// Decodes an image file (or any blob) into RGBA pixels, upright, shorter side at most
/// [`SHORT_SIDE`].
pub async fn decode_blob(blob: &web_sys::Blob, name: &str) -> Result<Decoded, DecodeError> {
    if blob.size() > MAX_FILE_BYTES {
        return Err(DecodeError::TooLarge {
            name: name.to_string(),
            megabytes: blob.size() / 1024.0 / 1024.0,
        });
    }
    decode_image(blob.as_ref(), name).await
}

/// Decodes anything `createImageBitmap` takes (a blob, an `ImageBitmap`) into RGBA pixels.
async fn decode_image(source: &JsValue, name: &str) -> Result<Decoded, DecodeError> {
    let not_an_image = |_e: JsValue| DecodeError::NotAnImage {
        name: name.to_string(),
    };
    let pixels_error = |e: JsValue| DecodeError::Pixels {
        name: name.to_string(),
        detail: js::describe(&e),
    };
    let options = ImageBitmapOptions::new();
    options.set_image_orientation(ImageOrientation::FromImage);
    options.set_premultiply_alpha(PremultiplyAlpha::None);
    let promise = js::create_image_bitmap(source, &options).map_err(not_an_image)?;
    let bitmap: ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(not_an_image)?
        .dyn_into()
        .map_err(not_an_image)?;
    let (w, h) = (bitmap.width(), bitmap.height());
    if w == 0 || h == 0 {
        bitmap.close();
        return Err(DecodeError::NotAnImage {
            name: name.to_string(),
        });
    }
    let (tw, th) = downscaled(w, h, SHORT_SIDE);
    let bitmap = if (tw, th) != (w, h) {
        options.set_resize_width(tw);
        options.set_resize_height(th);
        options.set_resize_quality(ResizeQuality::High);
        let promise = js::create_image_bitmap(bitmap.as_ref(), &options).map_err(pixels_error)?;
        let small: ImageBitmap = JsFuture::from(promise)
            .await
            .map_err(pixels_error)?
            .dyn_into()
            .map_err(pixels_error)?;
        bitmap.close();
        small
    } else {
        bitmap
    };
    let result = read_pixels(&bitmap, tw, th).map_err(pixels_error);
    bitmap.close();
    result
}

fn read_pixels(bitmap: &ImageBitmap, width: u32, height: u32) -> Result<Decoded, JsValue> {
    let canvas = OffscreenCanvas::new(width, height)?;
    let context: OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()?;
    context.draw_image_with_image_bitmap(bitmap, 0.0, 0.0)?;
    let data = context.get_image_data(0.0, 0.0, width as f64, height as f64)?;
    Ok(Decoded {
        rgba: Rgba {
            width,
            height,
            pixels: data.data().0,
        },
        canvas,
    })
}
