//! A class's thumbnails.

use super::photo_thumb::PhotoThumb;
use crate::core::dataset::PhotoId;
use crate::web::page::state::Photo;
use leptos::prelude::*;

#[component]
pub fn PhotoGrid(
    photos: RwSignal<Vec<Photo>>,
    #[prop(into)] on_remove: Callback<PhotoId>,
    #[prop(into, optional)] locked: Signal<bool>,
) -> impl IntoView {
    view! {
        <ul class="thumbs">
            <For each=move || photos.get() key=|p| p.id let:photo>
                <PhotoThumb photo=photo on_remove=on_remove locked=locked />
            </For>
        </ul>
    }
}
