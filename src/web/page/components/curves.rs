//! Live loss and accuracy curves, plain SVG.

use crate::ml::progress::Phase;
use crate::web::page::state::EpochPoint;
use leptos::prelude::*;

const W: f32 = 320.0;
const H: f32 = 150.0;
const LEFT: f32 = 38.0;
const RIGHT: f32 = 10.0;
const TOP: f32 = 10.0;
const BOTTOM: f32 = 22.0;

/// A named line of `(epoch, value)` points.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    class: &'static str,
    points: Vec<(f32, f32)>,
}

fn x_of(epoch: f32, x_max: f32) -> f32 {
    LEFT + (epoch - 1.0).max(0.0) / (x_max - 1.0).max(1.0) * (W - LEFT - RIGHT)
}

fn y_of(value: f32, y_max: f32) -> f32 {
    TOP + (1.0 - (value / y_max).clamp(0.0, 1.0)) * (H - TOP - BOTTOM)
}

fn polyline(points: &[(f32, f32)], x_max: f32, y_max: f32) -> String {
    points
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", x_of(x, x_max), y_of(y, y_max)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One chart: axes, grid, and a line per series.
#[component]
fn Chart(
    title: &'static str,
    #[prop(into)] series: Signal<Vec<Series>>,
    #[prop(into)] x_max: Signal<f32>,
    #[prop(into)] y_max: Signal<f32>,
    /// Epoch at which fine-tuning starts (a marker), if it does.
    #[prop(into)]
    boundary: Signal<Option<f32>>,
    percent: bool,
) -> impl IntoView {
    let label = move |v: f32| {
        if percent {
            format!("{:.0}%", v * 100.0)
        } else {
            format!("{v:.2}")
        }
    };
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title>
                {move || {
                    let y_max = y_max.get();
                    [0.0f32, 0.5, 1.0]
                        .into_iter()
                        .map(|f| {
                            let y = y_of(f * y_max, y_max);
                            view! {
                                <line class="grid" x1=LEFT x2=W - RIGHT y1=y y2=y></line>
                                <text class="tick" x=LEFT - 4.0 y=y + 3.0 text-anchor="end">
                                    {label(f * y_max)}
                                </text>
                            }
                        })
                        .collect_view()
                }}
                {move || {
                    let x_max = x_max.get();
                    view! {
                        <text class="tick" x=LEFT y=H - 6.0 text-anchor="start">
                            "1"
                        </text>
                        <text class="tick" x=W - RIGHT y=H - 6.0 text-anchor="end">
                            {format!("{x_max:.0}")}
                        </text>
                        <text class="tick" x=(LEFT + W - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle">
                            "epoch"
                        </text>
                    }
                }}
                {move || {
                    boundary
                        .get()
                        .map(|b| {
                            let x = x_of(b, x_max.get());
                            view! {
                                <line class="boundary" x1=x x2=x y1=TOP y2=H - BOTTOM></line>
                            }
                        })
                }}
                {move || {
                    let (x_max, y_max) = (x_max.get(), y_max.get());
                    series
                        .get()
                        .into_iter()
                        .map(|s| {
                            let last = s.points.last().copied();
                            view! {
                                <polyline
                                    class=format!("line {}", s.class)
                                    points=polyline(&s.points, x_max, y_max)
                                ></polyline>
                                {last
                                    .map(|(x, y)| {
                                        view! {
                                            <circle
                                                class=format!("dot {}", s.class)
                                                cx=x_of(x, x_max)
                                                cy=y_of(y, y_max)
                                                r="2.5"
                                            ></circle>
                                        }
                                    })}
                            }
                        })
                        .collect_view()
                }}
            </svg>
        </figure>
    }
}

/// Loss and accuracy per epoch, for the training photos and the held-out ones.
#[component]
pub fn Curves(
    #[prop(into)] points: Signal<Vec<EpochPoint>>,
    /// Epochs planned in total (the x axis).
    #[prop(into)]
    planned: Signal<usize>,
) -> impl IntoView {
    // Fine-tuning epochs continue the head's numbering.
    let numbered = Memo::new(move |_| {
        points.with(|p| {
            p.iter()
                .enumerate()
                .map(|(i, e)| ((i + 1) as f32, e.clone()))
                .collect::<Vec<_>>()
        })
    });
    let x_max =
        Signal::derive(move || (planned.get().max(numbered.with(Vec::len)) as f32).max(2.0));
    let boundary = Signal::derive(move || {
        numbered.with(|n| {
            n.iter()
                .find(|(_, e)| e.phase == Phase::FineTuning)
                .map(|(x, _)| *x - 0.5)
        })
    });
    let loss = Signal::derive(move || {
        numbered.with(|n| {
            vec![
                Series {
                    class: "train",
                    points: n.iter().map(|(x, e)| (*x, e.train_loss)).collect(),
                },
                Series {
                    class: "val",
                    points: n
                        .iter()
                        .filter_map(|(x, e)| e.val_loss.map(|v| (*x, v)))
                        .collect(),
                },
            ]
        })
    });
    let loss_max = Signal::derive(move || {
        let m = loss.with(|s| {
            s.iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0f32, f32::max)
        });
        if m.is_finite() && m > 0.0 {
            (m * 1.1).max(0.1)
        } else {
            1.0
        }
    });
    let accuracy = Signal::derive(move || {
        numbered.with(|n| {
            vec![
                Series {
                    class: "train",
                    points: n.iter().map(|(x, e)| (*x, e.train_accuracy)).collect(),
                },
                Series {
                    class: "val",
                    points: n
                        .iter()
                        .filter_map(|(x, e)| e.val_accuracy.map(|v| (*x, v)))
                        .collect(),
                },
            ]
        })
    });
    view! {
        <div class="curves" data-testid="curves">
            <Chart title="Loss" series=loss x_max=x_max y_max=loss_max boundary=boundary percent=false />
            <Chart
                title="Accuracy"
                series=accuracy
                x_max=x_max
                y_max=Signal::derive(|| 1.0f32)
                boundary=boundary
                percent=true
            />
            <p class="legend">
                <span class="key train"></span>
                "your training photos"
                <span class="key val"></span>
                "held-out photos"
            </p>
        </div>
    }
}
