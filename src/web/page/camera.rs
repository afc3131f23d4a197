//! The camera, as the page uses it: at most one open at a time, shown by whoever uses it (a class
//! card recording photos, or the live view), what went wrong in plain words, and recording frames
//! into a class while its camera button is held.
//!
//! A recorded frame reaches the engine as an `ImageBitmap` (transferred, not copied, and never
//! encoded on the way there); the engine answers with the photo's compact JPEG copy, which the
//! page shows and saves with the project like an uploaded photo's.

use super::actions::add_photo;
use super::state::{AppState, ClassEntry, ClassId};
use super::words;
use crate::web::glue::camera::{self, Camera, CameraChoice, CameraError, CameraInfo};
use crate::web::glue::js::now_ms;
use crate::web::glue::yield_now::sleep;
use leptos::html::Video;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Photos a second recorded while a camera button is held: a few seconds of holding make a
/// training set, without hundreds of near-identical photos to run through the network.
pub const FRAMES_PER_SECOND: f64 = 4.0;

/// Frames of one class still with the engine beyond which the next ones are skipped rather than
/// queued (a slow device records fewer photos instead of falling behind).
const MAX_PENDING_FRAMES: usize = 4;

/// Who shows and uses the open camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraUser {
    /// A class card, recording photos into its class.
    Class(ClassId),
    /// The live view, predicting what the camera sees.
    Live,
}

/// The camera's state, shared by the class cards and the live view (context, see
/// [`CameraState::from_context`]).
#[derive(Debug, Clone, Copy)]
pub struct CameraState {
    /// The open camera, if any.
    pub camera: RwSignal<Option<Camera>, LocalStorage>,
    /// Who shows it (set while it opens, too).
    pub user: RwSignal<Option<CameraUser>>,
    /// Waiting for the browser (or the person) to open it.
    pub opening: RwSignal<bool>,
    /// The device's cameras, listed once one is open (their names need the permission).
    pub cameras: RwSignal<Vec<CameraInfo>>,
    /// The class whose camera button is held.
    pub recording: RwSignal<Option<ClassId>>,
    /// What went wrong, for whom, in plain words.
    pub problem: RwSignal<Option<(CameraUser, String)>>,
    /// Photos taken since the page opened, to name them.
    taken: RwSignal<u64>,
}

impl CameraState {
    /// A closed camera.
    pub fn new() -> Self {
        Self {
            camera: RwSignal::new_local(None),
            user: RwSignal::new(None),
            opening: RwSignal::new(false),
            cameras: RwSignal::new(Vec::new()),
            recording: RwSignal::new(None),
            problem: RwSignal::new(None),
            taken: RwSignal::new(0),
        }
    }

    /// The page's camera state (the app provides it); a component mounted on its own gets its
    /// own.
    pub fn from_context() -> Self {
        use_context::<Self>().unwrap_or_else(|| {
            let state = Self::new();
            provide_context(state);
            state
        })
    }

    /// The problem to show to `user`, if any.
    pub fn problem_for(&self, user: CameraUser) -> Option<String> {
        self.problem.with(|p| {
            p.as_ref()
                .filter(|(u, _)| *u == user)
                .map(|(_, m)| m.clone())
        })
    }

    /// Hands the camera to `user`, opening it if none is open (`choice`: a given device, else the
    /// default one). Returns whether it is open for `user`; if not, the problem says why.
    pub async fn open_for(self, user: CameraUser, choice: Option<CameraChoice>) -> bool {
        self.problem.set(None);
        self.user.set(Some(user));
        let open = self
            .camera
            .with_untracked(|c| c.as_ref().is_some_and(Camera::is_live));
        if open && choice.is_none() {
            return true;
        }
        if let Some(old) = self.camera.try_update(Option::take).flatten() {
            old.stop();
        }
        self.opening.set(true);
        let result = Camera::open(&choice.unwrap_or(CameraChoice::Default)).await;
        self.opening.set(false);
        match result {
            // Closed or handed to someone else meanwhile: nobody wants this one any more.
            Ok(camera) if self.user.get_untracked() != Some(user) => {
                camera.stop();
                false
            }
            Ok(camera) => {
                self.camera.set(Some(camera));
                // The labels are readable now that access is granted.
                match camera::cameras().await {
                    Ok(list) => self.cameras.set(list),
                    Err(e) => log::warn!("listing cameras: {e}"),
                }
                true
            }
            Err(e) => {
                log::warn!("camera: {e}");
                self.fail(user, &e);
                false
            }
        }
    }

    /// Switches the open camera to device `id`, for the same user.
    pub async fn switch(self, id: String) {
        if let Some(user) = self.user.get_untracked() {
            self.open_for(user, Some(CameraChoice::Device(id))).await;
        }
    }

    /// Switches the camera off.
    pub fn close(self) {
        if let Some(camera) = self.camera.try_update(Option::take).flatten() {
            camera.stop();
        }
        self.user.set(None);
        self.recording.set(None);
    }

    /// Closes the camera and tells `user` why.
    fn fail(self, user: CameraUser, e: &CameraError) {
        self.close();
        self.problem.set(Some((user, words::camera_error(e))));
    }

    /// The camera button of `class` is pressed: opens the camera for it if needed, then records
    /// [`FRAMES_PER_SECOND`] photos a second from `video` into the class until [`Self::release`].
    /// A press too short to see a frame only opens the camera.
    pub async fn hold(self, state: AppState, class: ClassEntry, video: NodeRef<Video>) {
        let me = CameraUser::Class(class.id);
        self.recording.set(Some(class.id));
        let shown = self.user.get_untracked() == Some(me)
            && self
                .camera
                .with_untracked(|c| c.as_ref().is_some_and(Camera::is_live));
        if !shown && !self.open_for(me, None).await {
            self.recording.set(None);
            return;
        }
        let interval = 1000.0 / FRAMES_PER_SECOND;
        while self.recording.get_untracked() == Some(class.id) {
            let Some(video) = video.get_untracked().filter(camera::has_frame) else {
                // Not showing a frame yet (the camera is starting).
                sleep(30).await;
                continue;
            };
            let started = now_ms();
            if class.pending.get_untracked() < MAX_PENDING_FRAMES {
                match camera::grab(&video).await {
                    Ok(frame) => {
                        let n = self.taken.get_untracked() + 1;
                        self.taken.set(n);
                        spawn_local(add_frame(state, class, frame, words::camera_photo(n)));
                    }
                    Err(e) => {
                        self.fail(me, &e);
                        return;
                    }
                }
            }
            sleep((interval - (now_ms() - started)).max(0.0) as u32).await;
        }
    }

    /// The camera button of `class` is let go (or the pointer left it): recording stops.
    pub fn release(self, class: ClassId) {
        if self.recording.get_untracked() == Some(class) {
            self.recording.set(None);
        }
    }
}

impl Default for CameraState {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends a camera frame to the engine as a new photo of `class`; like an uploaded photo, it
/// appears once the engine has it, is saved with the project, and a failure is listed in the
/// class's problems.
pub async fn add_frame(
    state: AppState,
    class: ClassEntry,
    frame: web_sys::ImageBitmap,
    name: String,
) {
    class.pending.update(|p| *p += 1);
    add_photo(state, class, frame.as_ref(), &name, None).await;
}
