//! With vs without transfer: after training, one click trains the same head the same way on the
//! same split, on a network that learned nothing (random weights, BatchNorm calibrated on the
//! training photos: see `ml::baseline` for why that is the fair baseline), and shows both
//! validation accuracies and both runs' curves side by side.

use super::compare_card::CompareCard;
use super::curves::Curves;
use crate::ml::progress::Phase;
use crate::ml::reports::BaselineReport;
use crate::web::page::compare::Which;
use crate::web::page::state::{AppState, EpochPoint, TrainStatus};
use crate::web::page::words;
use leptos::prelude::*;

/// The baseline's epochs as curve points.
fn points(report: &BaselineReport) -> Vec<EpochPoint> {
    report
        .history
        .iter()
        .map(|e| EpochPoint {
            phase: Phase::Training,
            epoch: e.epoch,
            train_loss: e.train_loss,
            val_loss: e.val_loss,
            train_accuracy: e.train_accuracy,
            val_accuracy: e.val_accuracy,
        })
        .collect()
}

#[component]
fn BaselineView(report: BaselineReport, with: Option<f32>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let learned = report.beats_chance();
    let sentence = with.map(|w| words::transfer_gap(w, report.accuracy, learned));
    let classes = state
        .report
        .with_untracked(|r| r.as_ref().map(|r| r.classes.clone()).unwrap_or_default());
    let fault = report
        .fault
        .as_ref()
        .map(|f| words::output_fault(f, &classes));
    let too_few = report.chance_bar >= 1.0;
    let baseline_points = points(&report);
    let planned = baseline_points.len();
    view! {
        <div class="compare-scores">
            <div class="compare-score">
                <span class="score-value">{with.map(words::percent)}</span>
                <span>"with transfer (pretrained network)"</span>
            </div>
            <div class="compare-score">
                <span
                    class="score-value without"
                    data-testid="baseline-accuracy"
                    data-value=format!("{:.4}", report.accuracy)
                    data-beats-chance=learned.to_string()
                >
                    {words::percent(report.accuracy)}
                </span>
                <span>
                    {if too_few {
                        format!(
                            "without transfer (random network) · chance is {}",
                            words::percent(report.chance),
                        )
                    } else {
                        format!(
                            "without transfer (random network) · chance is {}, learning shows above {}",
                            words::percent(report.chance),
                            words::percent(report.chance_bar),
                        )
                    }}
                </span>
            </div>
        </div>
        {sentence.map(|s| view! { <p class="compare-sentence" data-testid="baseline-sentence">{s}</p> })}
        {fault.map(|f| view! { <p class="note">{f}</p> })}
        {too_few
            .then(|| {
                view! {
                    <p class="note" data-testid="baseline-too-few">
                        {words::too_few_to_tell(report.val_count)}
                    </p>
                }
            })}
        <div class="compare-curves">
            <div>
                <h4>"With transfer"</h4>
                <Curves points=state.history planned=state.planned_epochs />
            </div>
            <div>
                <h4>"Without transfer"</h4>
                <Curves points=Signal::derive(move || baseline_points.clone()) planned=planned />
            </div>
        </div>
        <p class="timing">
            {format!(
                "Both heads were trained the same way on the same split and checked on the same {} held out (without transfer: the head only, {}).",
                words::photos(report.val_count),
                words::seconds(report.seconds),
            )}
        </p>
    }
}

#[component]
pub fn TransferCompare() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        if state.train.get() != TrainStatus::Finished {
            return None;
        }
        let with = state.report.with(|r| r.as_ref().map(|r| r.val_accuracy))?;
        let comparisons = state.comparisons.get();
        if !comparisons.available {
            // Results restored after a reload (or a restarted engine): the run they came from is
            // gone from the engine, so there is nothing to compare with until the next training.
            return Some(
                view! {
                    <p class="note" data-testid="compare-unavailable">
                        "Train again to see what transfer brought and which layer suits your photos."
                    </p>
                }
                .into_any(),
            );
        }
        Some(view! {
            <CompareCard
                which=Which::Baseline
                testid="transfer-compare"
                title="What did transfer bring?"
                hint="Train the same head the same way on the same photos, but on a network that never learned anything (random weights). The gap is what ImageNet taught it."
                button="Compare with no transfer"
                button_testid="baseline-run"
                state=comparisons.baseline
                done=move |report| view! { <BaselineView report=report with=with /> }.into_any()
            />
        }
        .into_any())
    }
}
