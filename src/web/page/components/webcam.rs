//! A class card's camera: hold the button (mouse, finger or Space) to record a few photos a
//! second into the class; the preview shows above it while the card has the camera.

use super::camera_view::CameraView;
use crate::web::page::camera::{CameraState, CameraUser, FRAMES_PER_SECOND};
use crate::web::page::state::{AppState, ClassEntry};
use crate::web::page::words;
use leptos::html::Video;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

#[component]
pub fn ClassWebcam(
    class: ClassEntry,
    /// When true (training), nothing can be recorded.
    #[prop(into, optional)]
    locked: Signal<bool>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let camera = CameraState::from_context();
    let me = CameraUser::Class(class.id);
    let video = NodeRef::<Video>::new();
    let shown = move || camera.user.get() == Some(me);
    let recording = move || camera.recording.get() == Some(class.id);
    let press = move || {
        if !locked.get_untracked() && camera.recording.get_untracked().is_none() {
            spawn_local(camera.hold(state, class, video));
        }
    };
    let release = move || camera.release(class.id);
    let is_hold_key = |ev: &web_sys::KeyboardEvent| matches!(ev.key().as_str(), " " | "Enter");
    // A deleted class lets its camera go.
    on_cleanup(move || {
        if camera.user.get_untracked() == Some(me) {
            camera.close();
        }
    });
    let label = move || {
        if recording() {
            "Recording…"
        } else if shown() {
            "Hold to record"
        } else {
            "Camera"
        }
    };
    view! {
        <div class="webcam">
            <Show when=shown>
                <CameraView user=me video=video />
            </Show>
            <div class="webcam-actions">
                <button
                    class="button webcam-button"
                    class:recording=recording
                    type="button"
                    data-testid="class-webcam"
                    title=format!("Hold to record {FRAMES_PER_SECOND} photos a second")
                    aria-pressed=move || recording().to_string()
                    disabled=move || locked.get()
                    on:pointerdown=move |ev: web_sys::PointerEvent| {
                        if ev.button() != 0 {
                            return;
                        }
                        ev.prevent_default();
                        // Keeps the release coming here even if the finger slides off.
                        if let Some(button) = ev
                            .current_target()
                            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        {
                            let _ = button.set_pointer_capture(ev.pointer_id());
                        }
                        press();
                    }
                    on:pointerup=move |_| release()
                    on:pointercancel=move |_| release()
                    on:lostpointercapture=move |_| release()
                    on:contextmenu=move |ev| ev.prevent_default()
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        if is_hold_key(&ev) {
                            ev.prevent_default();
                            if !ev.repeat() {
                                press();
                            }
                        }
                    }
                    on:keyup=move |ev: web_sys::KeyboardEvent| {
                        if is_hold_key(&ev) {
                            release();
                        }
                    }
                >
                    <svg class="camera-icon" viewBox="0 0 24 24" aria-hidden="true">
                        <path d="M4 8h3l2-3h6l2 3h3a1 1 0 011 1v9a1 1 0 01-1 1H4a1 1 0 01-1-1V9a1 1 0 011-1z"></path>
                        <circle cx="12" cy="13" r="3.5"></circle>
                    </svg>
                    <span>{label}</span>
                </button>
                <Show when=shown>
                    <button
                        class="button webcam-close"
                        type="button"
                        data-testid="webcam-close"
                        on:click=move |_| camera.close()
                    >
                        "Close camera"
                    </button>
                </Show>
            </div>
            {move || {
                camera
                    .problem_for(me)
                    .map(|text| {
                        view! {
                            <p class="problem camera-problem" role="alert" data-testid="camera-problem">
                                {text}
                            </p>
                        }
                    })
            }}
            <Show when=shown>
                <p class="hint">{words::camera_hint()}</p>
            </Show>
        </div>
    }
}
