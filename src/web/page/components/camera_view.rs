//! What the open camera sees: the `<video>` preview (mirrored for a camera facing the person, as
//! a mirror would show them; the photos taken are not), and a camera picker when the device has
//! several.

use crate::web::page::camera::{CameraState, CameraUser};
use leptos::html::Video;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn CameraView(
    /// Who shows the camera here.
    user: CameraUser,
    /// The `<video>`, for whoever takes frames from it.
    video: NodeRef<Video>,
) -> impl IntoView {
    let camera = CameraState::from_context();
    // Shows the open camera's stream whenever it (or the `<video>`) changes.
    Effect::new(move |_| {
        let stream = camera
            .camera
            .with(|c| c.as_ref().map(|c| c.stream().clone()));
        let Some(element) = video.get() else { return };
        element.set_src_object(stream.as_ref());
        if stream.is_some() {
            // Autoplay starts it too; an explicit play() covers browsers that wait for a gesture.
            let _ = element.play();
        }
    });
    let mirrored = move || {
        camera
            .camera
            .with(|c| c.as_ref().is_some_and(|c| c.faces_user))
    };
    let chosen = move || {
        camera
            .camera
            .with(|c| c.as_ref().and_then(|c| c.device_id.clone()))
            .unwrap_or_default()
    };
    let choose = move |ev: web_sys::Event| {
        let id = event_target_value(&ev);
        if camera.user.get_untracked() == Some(user) && !id.is_empty() {
            spawn_local(camera.switch(id));
        }
    };
    let options = move || {
        camera
            .cameras
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let label = if c.label.is_empty() {
                    format!("Camera {}", i + 1)
                } else {
                    c.label
                };
                let selected = c.id == chosen();
                view! {
                    <option value=c.id selected=selected>
                        {label}
                    </option>
                }
            })
            .collect_view()
    };
    view! {
        <div class="camera-view">
            <video
                node_ref=video
                data-testid="webcam-view"
                class:mirrored=mirrored
                autoplay
                playsinline
                prop:muted=true
                aria-label="Camera preview"
            ></video>
            <Show when=move || camera.opening.get()>
                <p class="camera-status">
                    <span class="spinner" aria-hidden="true"></span>
                    "Starting the camera…"
                </p>
            </Show>
            <Show when=move || { camera.cameras.with(Vec::len) > 1 }>
                <label class="camera-picker">
                    <span>"Camera"</span>
                    <select data-testid="camera-picker" on:change=choose>
                        {options}
                    </select>
                </label>
            </Show>
        </div>
    }
}
