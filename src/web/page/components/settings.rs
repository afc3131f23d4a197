//! The training settings, folded away with sensible defaults.

use crate::ml::cut::cut_points;
use crate::web::page::state::AppState;
use crate::web::page::words;
use leptos::prelude::*;

#[component]
fn Field(
    label: &'static str,
    help: &'static str,
    value: RwSignal<String>,
    testid: &'static str,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(default = "any")] step: &'static str,
    #[prop(default = "0")] min: &'static str,
    #[prop(optional)] max: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input
                type="number"
                inputmode="decimal"
                step=step
                min=min
                max=max
                data-testid=testid
                prop:value=move || value.get()
                disabled=move || disabled.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <span class="field-help">{help}</span>
        </label>
    }
}

/// Which layer's features the head learns from: the last (default) or an earlier cut point.
#[component]
fn LayerField(#[prop(into)] disabled: Signal<bool>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let layer = state.settings.layer;
    let options = move || {
        let kind = state.backbone.get();
        let points = cut_points(kind);
        let last = kind.last_stage();
        let chosen = layer.get();
        let mut options = vec![view! {
            <option value="last".to_string() selected=chosen.is_none()>
                {words::layer_name(last, last, kind.stage_channels(last))}
            </option>
        }];
        for (i, &stage) in points.iter().enumerate().filter(|&(_, &s)| s != last) {
            options.push(view! {
                <option value=i.to_string() selected=chosen == Some(i)>
                    {words::layer_name(stage, last, kind.stage_channels(stage))}
                </option>
            });
        }
        options
    };
    view! {
        <label class="field">
            <span class="field-label">"Features from"</span>
            <select
                data-testid="setting-layer"
                disabled=move || disabled.get()
                on:change=move |ev| layer.set(event_target_value(&ev).parse().ok())
            >
                {options}
            </select>
            <span class="field-help">
                "The last layer suits everyday photos best; “Compare layers” after training shows yours."
            </span>
        </label>
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    let state = expect_context::<AppState>();
    let s = state.settings;
    let locked = Signal::derive(move || state.is_training());
    view! {
        <details class="settings" data-testid="settings">
            <summary>"Settings"</summary>
            <div class="fields">
                <Field
                    label="Epochs"
                    help="Passes over your photos."
                    value=s.epochs
                    testid="setting-epochs"
                    step="1"
                    min="1"
                    disabled=locked
                />
                <Field
                    label="Learning rate"
                    help="How big each learning step is."
                    value=s.learning_rate
                    testid="setting-learning-rate"
                    disabled=locked
                />
                <Field
                    label="Batch size"
                    help="Photos per learning step."
                    value=s.batch_size
                    testid="setting-batch-size"
                    step="1"
                    min="1"
                    disabled=locked
                />
                <Field
                    label="Validation share (%)"
                    help="Photos of each class kept aside to check the model."
                    value=s.val_percent
                    testid="setting-val-percent"
                    step="1"
                    max="80"
                    disabled=locked
                />
                <LayerField disabled=locked />
                <Field
                    label="Fine-tune last blocks"
                    help="0 trains only the new layer; more adapts the network too (slower)."
                    value=s.fine_tune_blocks
                    testid="setting-fine-tune-blocks"
                    step="1"
                    max="16"
                    disabled=locked
                />
                <Field
                    label="Fine-tuning epochs"
                    help="Used when fine-tuning blocks."
                    value=s.fine_tune_epochs
                    testid="setting-fine-tune-epochs"
                    step="1"
                    min="1"
                    disabled=locked
                />
            </div>
        </details>
    }
}
