//! Results: validation accuracy, per-class accuracy and the confusion matrix.

use crate::web::page::state::{AppState, Report, TrainStatus};
use crate::web::page::words;
use leptos::prelude::*;

fn shade(count: usize, row_total: usize) -> String {
    let f = if row_total == 0 {
        0.0
    } else {
        count as f64 / row_total as f64
    };
    format!("rgba(79, 70, 229, {:.2})", 0.08 + 0.72 * f)
}

#[component]
fn ReportView(report: Report) -> impl IntoView {
    let state = expect_context::<AppState>();
    let stale = move || state.model_is_stale();
    let accuracy_text = report
        .val_accuracy
        .map(words::percent)
        .unwrap_or_else(|| "n/a".into());
    let accuracy_note = if report.stats.val_count > 0 {
        format!(
            "of {} held-out photos recognised by a model trained on the other {}; the final model then learned from all {}",
            report.stats.val_count,
            report.stats.train_count,
            words::photos(report.stats.train_count + report.stats.val_count)
        )
    } else {
        "no photos were held out to check the model: raise the validation share in the settings"
            .into()
    };
    let timing = format!(
        "{} through {} in {}, training took {} ({}).{}",
        words::photos(report.stats.extracted),
        report.backbone.name(),
        words::seconds(report.stats.extract_seconds),
        words::seconds(report.stats.train_seconds),
        if report.backend == "webgpu" {
            "WebGPU"
        } else {
            "CPU"
        },
        // The batch size fine-tuning really used: a GPU that binds less than the setting asks
        // lowers it (see `crate::ml::batch`).
        report
            .stats
            .fine_tune_batch_size
            .map(|b| format!(" Fine-tuning took {} at a time.", words::photos(b)))
            .unwrap_or_default(),
    );
    let per_class = report
        .classes
        .iter()
        .zip(&report.per_class)
        .map(|(name, acc)| {
            let width = format!("{:.1}%", acc.unwrap_or(0.0) * 100.0);
            view! {
                <li class="class-accuracy" data-testid="class-accuracy">
                    <span class="name">{name.clone()}</span>
                    <span class="bar">
                        <span class="bar-fill" style:width=width></span>
                    </span>
                    <span class="value">{acc.map(words::percent).unwrap_or_else(|| "n/a".into())}</span>
                </li>
            }
        })
        .collect_view();
    let header = report
        .classes
        .iter()
        .map(|c| view! { <th scope="col">{c.clone()}</th> })
        .collect_view();
    let rows = report
        .classes
        .iter()
        .zip(&report.confusion)
        .enumerate()
        .map(|(t, (name, row))| {
            let total: usize = row.iter().sum();
            let cells = row
                .iter()
                .enumerate()
                .map(|(p, &n)| {
                    view! {
                        <td class:diagonal=t == p style:background-color=shade(n, total)>
                            {n}
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th scope="row">{name.clone()}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section
            class="card results"
            data-testid="train-done"
            data-backend=report.backend.clone()
            data-backbone=report.backbone.id()
            data-extract-seconds=format!("{:.3}", report.stats.extract_seconds)
            data-train-seconds=format!("{:.3}", report.stats.train_seconds)
            data-extracted=report.stats.extracted
        >
            <div class="score">
                <span class="score-value" data-testid="val-accuracy">
                    {accuracy_text}
                </span>
                <span class="score-note">{accuracy_note}</span>
            </div>
            {report
                .stats
                .stopped
                .then(|| {
                    view! {
                        <p class="note" data-testid="stopped-early">
                            "Stopped early: this is the best model found until then."
                        </p>
                    }
                })}
            {words::fine_tuning(&report.stats.fine_tuning)
                .map(|text| view! { <p class="note" data-testid="fine-tuning">{text}</p> })}
            <Show when=stale>
                <p class="note" data-testid="stale">
                    "Your classes or photos changed since this training. Train again to use them."
                </p>
            </Show>
            <div class="results-grid">
                <div>
                    <h3>"Accuracy per class"</h3>
                    <ul class="per-class">{per_class}</ul>
                </div>
                <div>
                    <h3>"Confusion matrix"</h3>
                    <table class="confusion" data-testid="confusion">
                        <caption>"Rows: the true class. Columns: what the model said."</caption>
                        <thead>
                            <tr>
                                <th></th>
                                {header}
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </div>
            <p class="timing">{timing}</p>
        </section>
    }
}

#[component]
pub fn Results() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        if state.train.get() != TrainStatus::Finished {
            return None;
        }
        state
            .report
            .get()
            .map(|report| view! { <ReportView report=report /> })
    }
}
