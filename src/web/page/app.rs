//! The page: three steps (collect photos, train, try it), a header with the backend badge.

use super::actions::load_engine;
use super::camera::CameraState;
use super::components::backbone_choice::BackboneChoice;
use super::components::backend_badge::BackendBadge;
use super::components::class_card::ClassCard;
use super::components::feature_map::FeatureMap;
use super::components::layer_compare::LayerCompare;
use super::components::load_banner::LoadBanner;
use super::components::notice::NoticeBar;
use super::components::predict_panel::PredictPanel;
use super::components::project_actions::ProjectActions;
use super::components::results::Results;
use super::components::train_panel::TrainPanel;
use super::components::transfer_compare::TransferCompare;
use super::components::transfer_preview::TransferPreview;
use super::preview;
use super::project;
use super::recovery;
use super::state::{AppState, ClassEntry, ClassId};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The first free "Class N" name.
fn new_class_name(classes: &[ClassEntry]) -> String {
    let taken: Vec<String> = classes.iter().map(|c| c.name.get_untracked()).collect();
    (classes.len() + 1..)
        .map(|n| format!("Class {n}"))
        .find(|name| !taken.contains(name))
        .unwrap_or_default()
}

#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    // One camera for the whole page: the class cards and the live view hand it over.
    provide_context(CameraState::new());
    spawn_local(load_engine(state));
    project::keep_saved(state);
    preview::watch(state);
    recovery::watch(state);

    let add_class = move |_| {
        state.classes.update(|c| {
            let name = new_class_name(c);
            c.push(ClassEntry::new(&name));
        })
    };
    let delete_class = Callback::new(move |id: ClassId| {
        let mut removed = None;
        state.classes.update(|c| {
            if c.len() > 2
                && let Some(i) = c.iter().position(|e| e.id == id)
            {
                removed = Some(c.remove(i));
            }
        });
        if let Some(class) = removed {
            class.clear();
        }
    });
    let can_delete = Signal::derive(move || state.classes.with(|c| c.len() > 2));
    let locked = Signal::derive(move || state.is_training());

    view! {
        <header class="topbar">
            <div class="brand">
                <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
                    <path d="M6 26V9l6 5h8l6-5v17a4 4 0 01-4 4H10a4 4 0 01-4-4z"></path>
                    <circle cx="12.5" cy="20" r="1.6"></circle>
                    <circle cx="19.5" cy="20" r="1.6"></circle>
                </svg>
                <div>
                    <h1>"Whisker"</h1>
                    <p class="tagline">"Teach your browser to tell photos apart."</p>
                </div>
            </div>
            <BackendBadge />
        </header>
        <LoadBanner />
        <NoticeBar />
        <main class="steps">
            <section class="step step-collect" aria-labelledby="step-1">
                <h2 id="step-1">
                    <span class="step-num">"1"</span>
                    "Collect photos"
                </h2>
                <p class="step-hint">
                    "Make a class for each kind of thing to recognise, and give each a few photos: 5 or more per class works well."
                </p>
                <div class="classes">
                    <For each=move || state.classes.get() key=|c| c.id let:class>
                        <ClassCard
                            class=class
                            on_delete=delete_class
                            can_delete=can_delete
                            locked=locked
                        />
                    </For>
                </div>
                <button
                    class="button add-class"
                    type="button"
                    data-testid="add-class"
                    disabled=move || locked.get()
                    on:click=add_class
                >
                    "+ Add a class"
                </button>
                <ProjectActions />
            </section>
            <section class="step step-train" aria-labelledby="step-2">
                <h2 id="step-2">
                    <span class="step-num">"2"</span>
                    "Train"
                </h2>
                <p class="step-hint">
                    "Whisker reuses a network that already knows a lot about images and teaches it your classes."
                </p>
                <BackboneChoice />
                <TransferPreview />
                <FeatureMap />
                <TrainPanel />
                <Results />
                <TransferCompare />
                <LayerCompare />
            </section>
            <section class="step step-predict" aria-labelledby="step-3">
                <h2 id="step-3">
                    <span class="step-num">"3"</span>
                    "Try it"
                </h2>
                <p class="step-hint">"Give your model photos it has never seen."</p>
                <PredictPanel />
            </section>
        </main>
        <footer class="footer">
            <svg class="lock" viewBox="0 0 24 24" aria-hidden="true">
                <rect x="5" y="11" width="14" height="10" rx="2"></rect>
                <path d="M8 11V8a4 4 0 018 0v3"></path>
            </svg>
            "Everything runs in this browser tab. Your photos never leave your computer."
        </footer>
    }
}
