//! The network to train on: "faster" or "more accurate", with what each downloads. Locked while
//! a training runs or a network loads.

use crate::ml::backbone::BackboneKind;
use crate::web::page::backbone::choose;
use crate::web::page::state::{AppState, LoadState};
use crate::web::page::words;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn BackboneChoice() -> impl IntoView {
    let state = expect_context::<AppState>();
    let locked =
        Signal::derive(move || state.is_training() || state.load.get() != LoadState::Ready);
    let options = BackboneKind::ALL
        .into_iter()
        .map(|kind| {
            let (title, detail) = words::backbone_choice(kind);
            view! {
                <label class="choice">
                    <input
                        type="radio"
                        name="backbone"
                        value=kind.id()
                        data-testid=format!("backbone-{}", kind.id())
                        prop:checked=move || state.backbone.get() == kind
                        disabled=move || locked.get()
                        on:change=move |_| spawn_local(choose(state, kind))
                    />
                    <span class="choice-text">
                        <span class="choice-title">{title}</span>
                        <span class="choice-detail">{detail}</span>
                    </span>
                </label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="backbone-choice" data-testid="backbone-choice">
            <legend>"Pretrained network"</legend>
            {options}
        </fieldset>
    }
}
