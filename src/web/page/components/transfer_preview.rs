//! The expected accuracy before training: how well the photos' classes separate in the
//! pretrained network's features, with a hint when it is low.

use crate::web::page::state::{AppState, Preview};
use crate::web::page::words;
use leptos::prelude::*;

#[component]
pub fn TransferPreview() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || match state.preview.get() {
        Preview::Unknown => ().into_any(),
        Preview::TooFewPhotos => view! {
            <p class="preview preview-empty" data-testid="transfer-preview">
                "Give each class at least 2 photos to see the accuracy to expect."
            </p>
        }
        .into_any(),
        Preview::Expected {
            accuracy,
            photos,
            hint,
        } => view! {
            <div
                class="preview"
                data-testid="transfer-preview"
                data-value=format!("{accuracy:.4}")
                data-photos=photos
            >
                <span class="preview-value">{words::percent(accuracy)}</span>
                <span class="preview-text">
                    <strong>"Expected accuracy"</strong>
                    " before training: each of your "
                    {words::photos(photos)}
                    " judged by the photos the pretrained network finds most alike."
                </span>
                {hint.map(|h| view! { <span class="preview-hint">{h}</span> })}
            </div>
        }
        .into_any(),
    }
}
