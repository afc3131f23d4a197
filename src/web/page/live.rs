//! Live prediction: the trained model on what the camera sees, continuously.
//!
//! One frame at a time: the next frame is taken only once the engine has answered the previous
//! one, so a slow device shows fewer updates instead of ever-older ones (frames are dropped, never
//! queued). The page's thread only takes the frame (`createImageBitmap`, done by the browser off
//! the thread) and draws the answer.

use super::camera::{CameraState, CameraUser};
use super::client::client;
use super::state::{AppState, TrainStatus};
use super::words;
use crate::web::glue::camera;
use crate::web::glue::js::now_ms;
use crate::web::glue::yield_now::sleep;
use crate::web::protocol::{Prediction, Reply, Request};
use futures::StreamExt;
use leptos::html::Video;
use leptos::prelude::*;
use std::collections::VecDeque;

/// Answers the update rate is averaged over.
const RATE_WINDOW: usize = 10;

/// The live view's state.
#[derive(Debug, Clone, Copy)]
pub struct LiveState {
    /// Whether live prediction runs.
    pub on: RwSignal<bool>,
    /// The latest answer.
    pub result: RwSignal<Option<Prediction>>,
    /// Answers since live prediction started.
    pub updates: RwSignal<u64>,
    /// Answers per second over the last few.
    pub rate: RwSignal<Option<f64>>,
    /// What went wrong, in plain words.
    pub problem: RwSignal<Option<String>>,
    /// Bumped at every start, so a run left over from an earlier start stops.
    run: RwSignal<u64>,
}

impl LiveState {
    /// Not running.
    pub fn new() -> Self {
        Self {
            on: RwSignal::new(false),
            result: RwSignal::new(None),
            updates: RwSignal::new(0),
            rate: RwSignal::new(None),
            problem: RwSignal::new(None),
            run: RwSignal::new(0),
        }
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs live prediction on the camera shown in `video` until [`stop`], training starts, or a
/// class card takes the camera.
pub async fn run(state: AppState, camera: CameraState, live: LiveState, video: NodeRef<Video>) {
    let run = live.run.get_untracked() + 1;
    live.run.set(run);
    live.on.set(true);
    live.problem.set(None);
    live.result.set(None);
    live.updates.set(0);
    live.rate.set(None);
    if !camera.open_for(CameraUser::Live, None).await {
        live.on.set(false);
        return;
    }
    let mut answered: VecDeque<f64> = VecDeque::with_capacity(RATE_WINDOW);
    let going = || {
        live.run.get_untracked() == run
            && live.on.get_untracked()
            && camera.user.get_untracked() == Some(CameraUser::Live)
            && !matches!(state.train.get_untracked(), TrainStatus::Running(_))
    };
    while going() {
        let Some(video) = video.get_untracked().filter(camera::has_frame) else {
            // Not showing a frame yet (the camera is starting).
            sleep(30).await;
            continue;
        };
        let frame = match camera::grab(&video).await {
            Ok(frame) => frame,
            Err(e) => {
                live.problem.set(Some(words::camera_error(&e)));
                break;
            }
        };
        let mut replies = client().call(
            Request::Predict {
                name: words::live_frame().into(),
            },
            Some(frame.as_ref()),
        );
        match replies.next().await {
            Some(Reply::Predicted(Ok(prediction))) if live.run.get_untracked() == run => {
                live.result.set(Some(prediction));
                live.updates.update(|n| *n += 1);
                if answered.len() == RATE_WINDOW {
                    answered.pop_front();
                }
                answered.push_back(now_ms());
                live.rate.set(rate(&answered));
            }
            Some(Reply::Predicted(Ok(_))) => {}
            Some(Reply::Predicted(Err(e))) => {
                live.problem.set(Some(words::predict_error(&e)));
                break;
            }
            Some(Reply::Crashed(m)) => {
                live.problem.set(Some(words::crashed(&m)));
                break;
            }
            other => {
                log::warn!("unexpected answer to a live frame: {other:?}");
                break;
            }
        }
    }
    if live.run.get_untracked() == run {
        live.on.set(false);
        if camera.user.get_untracked() == Some(CameraUser::Live) {
            camera.close();
        }
    }
}

/// Stops live prediction and switches the camera off.
pub fn stop(camera: CameraState, live: LiveState) {
    live.on.set(false);
    if camera.user.get_untracked() == Some(CameraUser::Live) {
        camera.close();
    }
}

/// Answers per second, from the times (ms) of the last few.
fn rate(times: &VecDeque<f64>) -> Option<f64> {
    let (first, last) = (times.front()?, times.back()?);
    (times.len() > 1 && last > first).then(|| (times.len() - 1) as f64 * 1000.0 / (last - first))
}
