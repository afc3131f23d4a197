//! The feature map: every photo where the pretrained network puts it (its features projected on
//! their two main directions, see `core::pca`), coloured by class. Photos it finds alike sit
//! close together, so classes that form their own clusters are easy to learn. After training,
//! the held-out photos the model got wrong are ringed. Hovering, focusing or tapping a point
//! shows the photo.

use crate::core::dataset::PhotoId;
use crate::web::page::state::{AppState, MapView};
use crate::web::page::words;
use leptos::prelude::*;

const W: f32 = 320.0;
const H: f32 = 220.0;
/// Room around the points, in SVG units (a ringed point's radius and a little).
const PAD: f32 = 12.0;
const RADIUS: f32 = 5.0;

/// Class colours, by class index (repeating past eight classes). Distinct for common colour
/// blindness (Okabe & Ito's palette).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// Where each point goes in the SVG: one scale for both axes (distances mean the same in every
/// direction), the points' bounding box centred.
pub fn layout(map: &MapView) -> Vec<(f32, f32)> {
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in &map.points {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        y0 = y0.min(p.y);
        y1 = y1.max(p.y);
    }
    let span_x = (x1 - x0).max(1e-6);
    let span_y = (y1 - y0).max(1e-6);
    let scale = ((W - 2.0 * PAD) / span_x).min((H - 2.0 * PAD) / span_y);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    map.points
        .iter()
        // SVG's y grows downwards; the map's upwards.
        .map(|p| (W / 2.0 + (p.x - cx) * scale, H / 2.0 - (p.y - cy) * scale))
        .collect()
}

#[component]
pub fn FeatureMap() -> impl IntoView {
    let state = expect_context::<AppState>();
    let selected = RwSignal::new(None::<PhotoId>);
    let mistakes = Memo::new(move |_| {
        state
            .report
            .with(|r| r.as_ref().map(|r| r.mistakes.clone()).unwrap_or_default())
    });
    // The photo shown under the map: its thumbnail, file name and class.
    let shown = move || {
        let id = selected.get()?;
        state.classes.with(|classes| {
            classes.iter().find_map(|c| {
                c.photos.with(|photos| {
                    photos
                        .iter()
                        .find(|p| p.id == id)
                        .map(|p| (p.thumb.to_string(), p.file_name.clone(), c.name.get()))
                })
            })
        })
    };
    move || {
        let map = state.feature_map.get();
        if map.points.len() < 2 {
            return ().into_any();
        }
        let placed = layout(&map);
        let wrong = mistakes.get();
        let points = map
            .points
            .iter()
            .zip(placed)
            .map(|(p, (x, y))| {
                let class = map.classes.get(p.label).cloned().unwrap_or_default();
                let colour = PALETTE[p.label % PALETTE.len()];
                let id = p.id;
                let ringed = wrong.contains(&id);
                let label = if ringed {
                    format!("{class}: the model got this one wrong")
                } else {
                    class.clone()
                };
                view! {
                    <circle
                        class="feature-point"
                        class:mistake=ringed
                        data-testid="feature-point"
                        data-class=class
                        data-photo=id.0
                        data-mistake=ringed.then_some("true")
                        cx=format!("{x:.1}")
                        cy=format!("{y:.1}")
                        r=RADIUS
                        fill=colour
                        tabindex="0"
                        on:pointerenter=move |_| selected.set(Some(id))
                        on:focus=move |_| selected.set(Some(id))
                        on:click=move |_| selected.set(Some(id))
                    >
                        <title>{label}</title>
                    </circle>
                }
            })
            .collect_view();
        let legend = map
            .classes
            .iter()
            .enumerate()
            .map(|(i, name)| {
                view! {
                    <li>
                        <span class="swatch" style:background-color=PALETTE[i % PALETTE.len()]></span>
                        {name.clone()}
                    </li>
                }
            })
            .collect_view();
        let explained = map.explained[0] + map.explained[1];
        view! {
            <figure class="card feature-map">
                <figcaption>
                    <strong>"Feature map"</strong>
                    " · each dot is one of your photos, placed by what the pretrained network sees in it: photos it finds alike sit close together. Classes in clusters of their own are easy to learn."
                </figcaption>
                <svg
                    data-testid="feature-map"
                    viewBox=format!("0 0 {W} {H}")
                    role="img"
                    aria-label=format!("Feature map of {}", words::photos(map.points.len()))
                    on:pointerleave=move |_| selected.set(None)
                >
                    {points}
                </svg>
                <ul class="map-legend">
                    {legend}
                    {(!wrong.is_empty())
                        .then(|| {
                            view! {
                                <li>
                                    <span class="swatch swatch-ring"></span>
                                    "held-out photo the model got wrong"
                                </li>
                            }
                        })}
                </ul>
                <p class="map-note">
                    {format!(
                        "The two directions shown hold {} of how your photos differ.",
                        words::percent(explained),
                    )}
                </p>
                {move || {
                    shown()
                        .map(|(src, name, class)| {
                            view! {
                                <div class="map-photo" data-testid="feature-map-photo">
                                    <img src=src alt=name.clone() />
                                    <span>{name}</span>
                                    <span class="map-photo-class">{class}</span>
                                </div>
                            }
                        })
                }}
            </figure>
        }
        .into_any()
    }
}
