//! Which layer transfers: after training, the same head trained on the pooled output of earlier
//! stages of the backbone as well as the last one, each with its expected (k-NN) and validation
//! accuracy. Early stages see edges and textures, late ones object parts (see `ml::layers`).

use super::compare_card::CompareCard;
use crate::ml::reports::LayerRow;
use crate::web::page::compare::Which;
use crate::web::page::state::{AppState, TrainStatus};
use crate::web::page::words;
use leptos::prelude::*;

/// The best row by validation accuracy, then expected accuracy, then depth (the last stage
/// wins ties: it is what training uses).
pub fn best(rows: &[LayerRow]) -> Option<usize> {
    (0..rows.len()).max_by(|&a, &b| {
        let key = |r: &LayerRow| (r.accuracy, r.expected, r.stage);
        key(&rows[a])
            .partial_cmp(&key(&rows[b]))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

#[component]
fn LayerTable(rows: Vec<LayerRow>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let layer = state.settings.layer;
    let last = rows.last().map_or(0, |r| r.stage);
    let last_index = rows.len().saturating_sub(1);
    let best = best(&rows);
    let verdict = match best.map(|b| &rows[b]) {
        Some(b) if b.stage == last => {
            "The last layer, which training uses, does best on your photos.".to_string()
        }
        Some(b) => format!(
            "On these photos stage {} did as well or better than the last layer. With so few held-out photos a difference of one or two photos is luck; the last layer is usually the best for everyday photos.",
            b.stage
        ),
        None => String::new(),
    };
    let body = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // The settings' value for this row: `None` is the last stage.
            let choice = (i != last_index).then_some(i);
            let chosen = move || layer.get() == choice;
            view! {
                <tr
                    data-testid="layer-row"
                    data-stage=r.stage
                    data-expected=format!("{:.4}", r.expected)
                    data-accuracy=format!("{:.4}", r.accuracy)
                    class:best=Some(i) == best
                >
                    <th scope="row">{words::layer_name(r.stage, last, r.width)}</th>
                    <td>{words::percent(r.expected)}</td>
                    <td>
                        {words::percent(r.accuracy)}
                        {(!r.beats_chance).then_some(" (could be luck)")}
                    </td>
                    <td>
                        <button
                            class="button link"
                            type="button"
                            data-testid="use-layer"
                            disabled=chosen
                            on:click=move |_| layer.set(choice)
                        >
                            {move || if chosen() { "Chosen" } else { "Train on this" }}
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="layers" data-testid="layer-table">
            <thead>
                <tr>
                    <th scope="col">"Features from"</th>
                    <th scope="col">"Expected"</th>
                    <th scope="col">"Held-out accuracy"</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
        <p class="compare-sentence">{verdict}</p>
        <Show when=move || layer.get().is_some()>
            <p class="note" data-testid="layer-chosen">
                "The next training learns from the layer chosen (Settings → Features from). Press Train again to use it."
            </p>
        </Show>
    }
}

#[component]
pub fn LayerCompare() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        if state.train.get() != TrainStatus::Finished || state.report.with(Option::is_none) {
            return None;
        }
        let comparisons = state.comparisons.get();
        if !comparisons.available {
            return None;
        }
        Some(view! {
            <CompareCard
                which=Which::Layers
                testid="layer-compare"
                title="Which layer transfers?"
                hint="Early layers of the network see edges and textures, later ones object parts. Train the same head on each and see which suits your photos."
                button="Compare layers"
                button_testid="compare-layers"
                state=comparisons.layers
                done=|rows| view! { <LayerTable rows=rows /> }.into_any()
            />
        })
    }
}
