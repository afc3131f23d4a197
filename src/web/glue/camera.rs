//! The device's cameras: opening one (`getUserMedia`), listing them, and taking frames from a
//! `<video>` that shows one. Runs on the page's thread (workers have no camera).
//!
//! A frame is taken as an `ImageBitmap` (`createImageBitmap(video)`): decoded pixels the engine
//! reads as it reads a decoded upload (see [`super::decode`]), with no JPEG encoding on the way.

use super::js;
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    HtmlVideoElement, ImageBitmap, ImageBitmapOptions, MediaDeviceInfo, MediaDeviceKind,
    MediaDevices, MediaStream, MediaStreamConstraints, MediaStreamTrack, MediaStreamTrackState,
    MediaTrackConstraints,
};

/// Why a camera could not be used. Built from the `DOMException` the browser throws (see
/// [`CameraError::from_dom`]); the page says it in plain words.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CameraError {
    /// No camera API: an old browser, or a page not served over HTTPS (or from localhost).
    #[error("this browser offers no camera here")]
    Unavailable,
    /// The person or the browser's settings refused access.
    #[error("camera access was denied")]
    Denied,
    /// No camera is connected, or none matches the request.
    #[error("no camera found")]
    NotFound,
    /// The camera exists but could not start: another application (or tab) holds it.
    #[error("the camera is in use or could not start: {0}")]
    Busy(String),
    /// The camera stopped (unplugged, or switched off by the system).
    #[error("the camera stopped")]
    Stopped,
    /// Anything else the browser reported.
    #[error("the camera failed: {0}")]
    Failed(String),
}

impl CameraError {
    /// The error for a `DOMException`'s `name` (and message, kept for the console). Names from
    /// the Media Capture spec, plus the older ones Chrome and Firefox used before it settled.
    pub fn from_dom(name: &str, message: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => CameraError::Denied,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => {
                CameraError::NotFound
            }
            "NotReadableError" | "AbortError" | "TrackStartError" => {
                CameraError::Busy(message.to_string())
            }
            _ => CameraError::Failed(format!("{name}: {message}")),
        }
    }

    fn from_js(value: &JsValue) -> Self {
        match value.dyn_ref::<js_sys::Error>() {
            Some(e) => Self::from_dom(&String::from(e.name()), &String::from(e.message())),
            None => CameraError::Failed(js::describe(value)),
        }
    }
}

/// Which camera to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraChoice {
    /// The back camera where there is one (phones), else the only one.
    Default,
    /// This device (`deviceId`, from [`cameras`]).
    Device(String),
}

/// A camera the device has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// The browser's id for it (stable for this origin).
    pub id: String,
    /// Its name, e.g. "FaceTime HD Camera" (empty before access is granted).
    pub label: String,
}

/// An open camera.
#[derive(Debug, Clone)]
pub struct Camera {
    stream: MediaStream,
    /// The device's id, where the browser says.
    pub device_id: Option<String>,
    /// Whether it faces the person using it (laptop webcams, phones' front cameras): its preview
    /// is shown mirrored, as people expect of a camera that films them.
    pub faces_user: bool,
}

fn media_devices() -> Result<MediaDevices, CameraError> {
    // `navigator.mediaDevices` is missing outside secure contexts, and `media_devices()` throws.
    let devices = js::get(&js::window().navigator(), "mediaDevices");
    if devices.is_undefined() || devices.is_null() {
        return Err(CameraError::Unavailable);
    }
    Ok(devices.unchecked_into())
}

impl Camera {
    /// Asks for the camera `choice` names (the browser asks the person the first time), at about
    /// 640x480: more than the network's 224x224 needs, little to move per frame.
    pub async fn open(choice: &CameraChoice) -> Result<Camera, CameraError> {
        let devices = media_devices()?;
        let video = MediaTrackConstraints::new();
        video.set_width(&ideal(640.0));
        video.set_height(&ideal(480.0));
        match choice {
            CameraChoice::Default => video.set_facing_mode(&ideal("environment")),
            CameraChoice::Device(id) => video.set_device_id(&exact(id)),
        }
        let constraints = MediaStreamConstraints::new();
        constraints.set_video(&video);
        constraints.set_audio(&JsValue::FALSE);
        let promise = devices
            .get_user_media_with_constraints(&constraints)
            .map_err(|e| CameraError::from_js(&e))?;
        let stream: MediaStream = JsFuture::from(promise)
            .await
            .map_err(|e| CameraError::from_js(&e))?
            .unchecked_into();
        let settings = video_track(&stream).map(|t| t.get_settings());
        Ok(Camera {
            device_id: settings.as_ref().and_then(|s| s.get_device_id()),
            // Only a camera known to face away is shown as is; webcams rarely say.
            faces_user: settings.and_then(|s| s.get_facing_mode()).as_deref()
                != Some("environment"),
            stream,
        })
    }

    /// The stream, for a `<video>`'s `srcObject`.
    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// Whether the camera still delivers frames.
    pub fn is_live(&self) -> bool {
        video_track(&self.stream).is_some_and(|t| t.ready_state() == MediaStreamTrackState::Live)
    }

    /// Switches the camera off (its light goes out).
    pub fn stop(&self) {
        for track in self.stream.get_tracks().iter() {
            track.unchecked_into::<MediaStreamTrack>().stop();
        }
    }
}

fn video_track(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream
        .get_video_tracks()
        .iter()
        .next()
        .map(|t| t.unchecked_into())
}

/// `{ ideal: value }`: a preference the browser may not meet.
fn ideal(value: impl Into<JsValue>) -> JsValue {
    constraint("ideal", value.into())
}

/// `{ exact: value }`: a requirement (the browser fails rather than pick another).
fn exact(value: &str) -> JsValue {
    constraint("exact", value.into())
}

fn constraint(key: &str, value: JsValue) -> JsValue {
    let object = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&object, &key.into(), &value);
    object.into()
}

/// The device's cameras. Their labels are empty until the person allowed a camera once.
pub async fn cameras() -> Result<Vec<CameraInfo>, CameraError> {
    let promise = media_devices()?
        .enumerate_devices()
        .map_err(|e| CameraError::from_js(&e))?;
    let list = JsFuture::from(promise)
        .await
        .map_err(|e| CameraError::from_js(&e))?;
    Ok(js_sys::Array::from(&list)
        .iter()
        .map(|d| d.unchecked_into::<MediaDeviceInfo>())
        .filter(|d| d.kind() == MediaDeviceKind::Videoinput && !d.device_id().is_empty())
        .map(|d| CameraInfo {
            id: d.device_id(),
            label: d.label(),
        })
        .collect())
}

/// Whether `video` shows a frame that can be taken.
pub fn has_frame(video: &HtmlVideoElement) -> bool {
    // HAVE_CURRENT_DATA: the current frame is decoded.
    video.ready_state() >= 2 && video.video_width() > 0
}

/// The frame `video` shows now, at the camera's resolution and never mirrored (the preview's
/// mirroring is only CSS). The bitmap is the caller's: transfer it, or `close()` it.
pub async fn grab(video: &HtmlVideoElement) -> Result<ImageBitmap, CameraError> {
    if !has_frame(video) {
        return Err(CameraError::Stopped);
    }
    let promise = js::create_image_bitmap(video.as_ref(), &ImageBitmapOptions::new())
        .map_err(|e| CameraError::Failed(js::describe(&e)))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| CameraError::from_js(&e))?
        .dyn_into()
        .map_err(|e| CameraError::Failed(js::describe(&e)))
}
