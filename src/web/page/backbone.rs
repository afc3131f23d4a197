//! Which pretrained network the page trains on: "faster" (MobileNetV2, the default) or "more
//! accurate" (EfficientNet-Lite0). Only the chosen network's weights are downloaded; the engine
//! keeps each network it loaded, with its own features, so going back costs no new extraction.
//! The choice is saved with the project, and a model or project made on the other network
//! switches to it when opened.
//!
//! Why MobileNetV2 is the default: it is the smaller first download (the int8 records are 2.6 vs
//! 3.9 MB; 2.3 vs 3.4 MB compressed), and the faster one (natively about three
//! quarters of Lite0's time a photo); with the 5-20 photos a class people start with, both tell
//! cats from dogs well (0.967 vs 0.985 on the shared pets photos, mean of 5 seeds; README). The
//! accurate one is one click away.

use super::actions::load_network;
use super::project;
use super::state::{AppState, LoadState, Notice};
use super::words;
use crate::ml::backbone::BackboneKind;
use crate::ml::backbone::Precision;
use crate::ml::reports::SessionError;
use crate::ml::{MlError, ModelFileProblem};
use crate::web::glue::js;
use crate::web::protocol::EngineError;
use leptos::prelude::*;

/// Where the `kind` backbone's record ([`Precision::BROWSER`]) is served, relative to the page.
pub fn weights_url(kind: BackboneKind) -> String {
    format!("models/{}", kind.record_file(Precision::BROWSER))
}

/// The backbone the address asks for (`?backbone=efficientnet-lite0`), if any.
pub fn asked_for(search: &str) -> Option<BackboneKind> {
    web_sys::UrlSearchParams::new_with_str(search)
        .ok()
        .and_then(|p| p.get("backbone"))
        .and_then(|id| BackboneKind::from_id(&id))
}

/// The user picked `kind`: switches to it, after asking when that sets the current model aside.
/// Nothing happens while a training runs or the network is loading.
pub async fn choose(state: AppState, kind: BackboneKind) {
    let can_switch = kind != state.backbone.get_untracked()
        && state.load.get_untracked() == LoadState::Ready
        && !state.is_training();
    let sure = can_switch
        && (state.model.with_untracked(Option::is_none)
            || js::window()
                .confirm_with_message(&words::switch_question(kind))
                .unwrap_or(false));
    if sure {
        switch(state, kind).await;
    } else {
        // Puts the radio buttons back on the network in use.
        state.backbone.update(|_| {});
    }
}

/// Makes `kind` the network, downloading it if the engine does not hold it yet; the model and
/// its results (made on the other network) are set aside. Returns whether `kind` is now in use;
/// if it could not be loaded, the previous network stays and the user is told why.
pub async fn switch(state: AppState, kind: BackboneKind) -> bool {
    let previous = state.backbone.get_untracked();
    if kind == previous {
        return true;
    }
    state.backbone.set(kind);
    if load_network(state, None).await {
        project::forget_model(state);
        return true;
    }
    let why = match state.load.get_untracked() {
        LoadState::Failed(why) => why,
        _ => String::new(),
    };
    log::warn!("{kind} could not be loaded: {why}");
    // The engine still runs the previous network (it changes only once the new one is ready).
    state.backbone.set(previous);
    state.load.set(LoadState::Ready);
    state
        .notice
        .set(Some(Notice::problem(words::switch_failed(kind, &why))));
    false
}

/// The network a model file needs, when it failed to open only because another one is loaded.
pub fn needed_by(e: &EngineError) -> Option<BackboneKind> {
    match e {
        EngineError::Session(SessionError::Ml(MlError::ModelFile {
            problem: ModelFileProblem::OtherBackbone { model, .. },
            ..
        })) => Some(*model),
        _ => None,
    }
}
