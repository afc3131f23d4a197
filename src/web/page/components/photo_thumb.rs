//! One photo's thumbnail, with a remove button.

use crate::core::dataset::PhotoId;
use crate::web::page::state::Photo;
use leptos::prelude::*;

#[component]
pub fn PhotoThumb(
    photo: Photo,
    #[prop(into)] on_remove: Callback<PhotoId>,
    #[prop(into, optional)] locked: Signal<bool>,
) -> impl IntoView {
    let id = photo.id;
    let remove_label = format!("Remove {}", photo.file_name);
    let title = photo.file_name.clone();
    view! {
        <li class="thumb" data-testid="photo-thumb" title=title>
            <img src=photo.thumb.to_string() alt=photo.file_name decoding="async" loading="lazy" />
            <button
                class="thumb-remove"
                type="button"
                aria-label=remove_label.clone()
                title=remove_label
                disabled=move || locked.get()
                on:click=move |_| on_remove.run(id)
            >
                "×"
            </button>
        </li>
    }
}
