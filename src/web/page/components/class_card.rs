//! A class: its name, its photos (picked, dropped or recorded with the camera), a count and a
//! delete button.

use super::file_picker::FilePicker;
use super::photo_grid::PhotoGrid;
use super::webcam::ClassWebcam;
use crate::web::page::actions::add_photos;
use crate::web::page::state::{AppState, ClassEntry, ClassId};
use crate::web::page::words;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn ClassCard(
    class: ClassEntry,
    /// Called with the class's id when its delete button is pressed.
    #[prop(into)]
    on_delete: Callback<ClassId>,
    /// Whether the class may be deleted (not the last two).
    #[prop(into)]
    can_delete: Signal<bool>,
    /// When true (training), nothing can change.
    #[prop(into, optional)]
    locked: Signal<bool>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let count = move || class.photos.with(Vec::len);
    let pending = move || class.pending.get();
    let delete_label = move || format!("Delete the class “{}”", class.name.get());
    view! {
        <article class="card class-card" data-testid="class-card">
            <header class="class-head">
                <input
                    class="class-name"
                    data-testid="class-name"
                    type="text"
                    maxlength="40"
                    placeholder="Name this class"
                    aria-label="Class name"
                    prop:value=move || class.name.get()
                    disabled=move || locked.get()
                    on:input=move |ev| class.name.set(event_target_value(&ev))
                />
                <span class="count" data-testid="class-count">
                    {move || words::photos(count())}
                </span>
                <button
                    class="icon-button"
                    type="button"
                    data-testid="delete-class"
                    title=delete_label
                    aria-label=delete_label
                    disabled=move || !can_delete.get() || locked.get()
                    on:click=move |_| on_delete.run(class.id)
                >
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                        <path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 002 2h6a2 2 0 002-2l1-12M9 7V4h6v3"></path>
                    </svg>
                </button>
            </header>
            <FilePicker
                testid="class-photos"
                label="Add photos"
                hint="Click to choose, or drop them here"
                disabled=locked
                on_files=move |files| spawn_local(add_photos(state, class, files))
            />
            <ClassWebcam class=class locked=locked />
            <Show when=move || { pending() > 0 }>
                <p class="pending" data-testid="class-pending">
                    <span class="spinner" aria-hidden="true"></span>
                    {move || format!("Reading {}…", words::photos(pending()))}
                </p>
            </Show>
            <ul class="problems" role="status">
                {move || {
                    class
                        .problems
                        .get()
                        .into_iter()
                        .map(|p| view! { <li class="problem">{p}</li> })
                        .collect_view()
                }}
            </ul>
            <PhotoGrid photos=class.photos on_remove=move |id| class.remove_photo(id) locked=locked />
        </article>
    }
}
