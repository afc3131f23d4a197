//! A progress bar with its value in `aria-valuenow` (0–100).

use leptos::prelude::*;

#[component]
pub fn ProgressBar(
    /// Progress in percent.
    #[prop(into)]
    percent: Signal<f64>,
    /// What is progressing, for assistive technology.
    #[prop(into)]
    label: Signal<String>,
    /// `data-testid` of the bar.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView {
    let value = move || percent.get().clamp(0.0, 100.0);
    view! {
        <div
            class="progress"
            role="progressbar"
            data-testid=testid
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.0}", value())
            aria-label=move || label.get()
        >
            <div class="progress-fill" style:width=move || format!("{:.2}%", value())></div>
        </div>
    }
}
