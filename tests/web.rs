//! Component tests in a real browser (wasm-bindgen-test, headless Chromium; see webdriver.json):
//! class cards (add, rename, delete), uploading photos (count, thumbnails, a bad file), the
//! progress bar. Run by scripts/test-browser.sh:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target wasm32-unknown-unknown --test web`.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};
use whisker::web::page::components::class_card::ClassCard;
use whisker::web::page::components::progress_bar::ProgressBar;
use whisker::web::page::state::{AppState, ClassEntry, ClassId};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh container for one test's component.
fn container() -> HtmlElement {
    whisker::web::prepare_page();
    let div: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&div).unwrap();
    div
}

/// Lets effects and spawned tasks run.
async fn settle(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        settle(20).await;
    }
    panic!("timed out waiting for {what}");
}

fn by_testid(root: &Element, id: &str) -> Vec<Element> {
    let list = root
        .query_selector_all(&format!("[data-testid=\"{id}\"]"))
        .unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn one(root: &Element, id: &str) -> Element {
    let mut all = by_testid(root, id);
    assert_eq!(all.len(), 1, "expected one [data-testid={id}]");
    all.remove(0)
}

/// A small PNG of one colour, made by the browser.
async fn png(width: u32, height: u32, name: &str) -> web_sys::File {
    let canvas = web_sys::OffscreenCanvas::new(width, height).unwrap();
    let ctx: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.set_fill_style_str("#c86432");
    ctx.fill_rect(0.0, 0.0, width as f64, height as f64);
    let blob: web_sys::Blob = JsFuture::from(canvas.convert_to_blob().unwrap())
        .await
        .unwrap()
        .unchecked_into();
    let parts = js_sys::Array::of1(&blob);
    let options = web_sys::FilePropertyBag::new();
    options.set_type("image/png");
    web_sys::File::new_with_blob_sequence_and_options(&parts, name, &options).unwrap()
}

/// What the page's engine holds now.
async fn engine_status() -> whisker::web::protocol::EngineStatus {
    use futures::StreamExt;
    use whisker::web::protocol::{Reply, Request};
    let mut replies = whisker::web::page::client::client().call(Request::Inspect, None);
    match replies.next().await {
        Some(Reply::Status(status)) => status,
        other => panic!("unexpected answer to Inspect: {other:?}"),
    }
}

fn text_file(name: &str) -> web_sys::File {
    let parts = js_sys::Array::of1(&JsValue::from_str("not a picture"));
    web_sys::File::new_with_str_sequence(&parts, name).unwrap()
}

/// Puts `files` into a file input and fires `change`, as a user picking them would.
fn pick(input: &HtmlInputElement, files: &[web_sys::File]) {
    let transfer = web_sys::DataTransfer::new().unwrap();
    for f in files {
        transfer.items().add_with_file(f).unwrap();
    }
    input.set_files(transfer.files().as_ref());
    input
        .dispatch_event(
            &web_sys::Event::new_with_event_init_dict("change", &{
                let init = web_sys::EventInit::new();
                init.set_bubbles(true);
                init
            })
            .unwrap(),
        )
        .unwrap();
}

#[wasm_bindgen_test]
async fn class_card_renames_and_counts_uploads() {
    let root = container();
    let class = ClassEntry::new("Cat");
    let deleted = RwSignal::new(None::<ClassId>);
    let handle = leptos::mount::mount_to(root.clone(), move || {
        // A card saves the photos it is given through the app's state.
        provide_context(AppState::new());
        view! {
            <ClassCard
                class=class
                on_delete=move |id| deleted.set(Some(id))
                can_delete=Signal::derive(|| true)
            />
        }
    });
    settle(10).await;
    let root: Element = root.unchecked_into();
    let card = one(&root, "class-card");
    let name: HtmlInputElement = one(&card, "class-name").unchecked_into();
    assert_eq!(name.value(), "Cat");

    // Rename by typing.
    name.set_value("Kittens");
    name.dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    settle(10).await;
    assert_eq!(class.name.get_untracked(), "Kittens");
    // And the other way round.
    class.name.set("Tabbies".into());
    settle(10).await;
    assert_eq!(name.value(), "Tabbies");

    // Upload two photos and a text file.
    let input: HtmlInputElement = one(&card, "class-photos").unchecked_into();
    assert!(input.multiple());
    let files = vec![
        png(640, 480, "a.png").await,
        text_file("notes.txt"),
        png(300, 900, "b.png").await,
    ];
    pick(&input, &files);
    wait_until("two thumbnails", || {
        by_testid(&card, "photo-thumb").len() == 2
    })
    .await;
    wait_until("decoding to finish", || class.pending.get_untracked() == 0).await;
    assert_eq!(class.photos.with_untracked(Vec::len), 2);
    assert_eq!(
        one(&card, "class-count").text_content().unwrap(),
        "2 photos"
    );
    let problems = class.problems.get_untracked();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("notes.txt"), "{problems:?}");
    assert!(card.text_content().unwrap().contains("isn't a photo"));
    // The engine keeps exactly the two photos.
    assert_eq!(engine_status().await.photos, 2);

    // Remove one by its button.
    let first = &by_testid(&card, "photo-thumb")[0];
    let button: HtmlElement = first
        .query_selector("button")
        .unwrap()
        .unwrap()
        .unchecked_into();
    button.click();
    settle(10).await;
    assert_eq!(by_testid(&card, "photo-thumb").len(), 1);
    assert_eq!(one(&card, "class-count").text_content().unwrap(), "1 photo");
    // ... and the engine forgot the removed one.
    assert_eq!(engine_status().await.photos, 1);

    // Delete asks the owner, with the class's id.
    let delete: HtmlElement = one(&card, "delete-class").unchecked_into();
    delete.click();
    settle(10).await;
    assert_eq!(deleted.get_untracked(), Some(class.id));
    drop(handle);
}

#[wasm_bindgen_test]
async fn app_adds_and_deletes_classes() {
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), whisker::web::page::app::App);
    settle(20).await;
    let root: Element = root.unchecked_into();
    let cards = || by_testid(&root, "class-card");
    assert_eq!(cards().len(), 2);
    let names = |cards: &[Element]| -> Vec<String> {
        cards
            .iter()
            .map(|c| {
                one(c, "class-name")
                    .unchecked_into::<HtmlInputElement>()
                    .value()
            })
            .collect()
    };
    assert_eq!(names(&cards()), ["Cat", "Not cat"]);
    // The last two classes cannot be deleted.
    for c in cards() {
        assert!(
            one(&c, "delete-class")
                .unchecked_into::<web_sys::HtmlButtonElement>()
                .disabled()
        );
    }

    one(&root, "add-class")
        .unchecked_into::<HtmlElement>()
        .click();
    settle(20).await;
    assert_eq!(names(&cards()), ["Cat", "Not cat", "Class 3"]);

    let second = &cards()[1];
    let delete: web_sys::HtmlButtonElement = one(second, "delete-class").unchecked_into();
    assert!(!delete.disabled());
    delete.click();
    settle(20).await;
    assert_eq!(names(&cards()), ["Cat", "Class 3"]);

    // Training with an empty class says so in plain words (or that the network is loading:
    // the test server has no weights).
    let train: web_sys::HtmlButtonElement = one(&root, "train").unchecked_into();
    assert!(train.disabled(), "Train must wait for the network");
    // The network choice: the faster one by default, each with its download size, locked
    // until a network is loaded (the test server has no weights).
    let radio = |id: &str| -> HtmlInputElement { one(&root, id).unchecked_into() };
    let (fast, accurate) = (
        radio("backbone-mobilenet-v2"),
        radio("backbone-efficientnet-lite0"),
    );
    assert!(fast.checked() && !accurate.checked());
    assert!(fast.disabled() && accurate.disabled());
    let choice = one(&root, "backbone-choice").text_content().unwrap();
    assert!(
        choice.contains("Faster")
            && choice.contains("MobileNetV2 · 2.6 MB download")
            && choice.contains("More accurate")
            && choice.contains("EfficientNet-Lite0 · 3.9 MB download"),
        "{choice}"
    );
    // The badge says which backend runs once the device is chosen.
    wait_until("the backend badge", || {
        one(&root, "backend")
            .get_attribute("data-backend")
            .is_some()
    })
    .await;
    let backend = one(&root, "backend").get_attribute("data-backend").unwrap();
    assert!(backend == "cpu" || backend == "webgpu", "{backend}");
    drop(handle);
}

#[wasm_bindgen_test]
async fn progress_bar_reports_its_value() {
    let root = container();
    let percent = RwSignal::new(0.0f64);
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <ProgressBar percent=percent label="Training".to_string() testid="train-progress" /> }
    });
    settle(10).await;
    let root: Element = root.unchecked_into();
    let bar = one(&root, "train-progress");
    assert_eq!(bar.get_attribute("role").as_deref(), Some("progressbar"));
    assert_eq!(bar.get_attribute("aria-valuenow").as_deref(), Some("0"));
    percent.set(42.4);
    settle(10).await;
    assert_eq!(bar.get_attribute("aria-valuenow").as_deref(), Some("42"));
    let fill: HtmlElement = bar.first_element_child().unwrap().unchecked_into();
    assert_eq!(fill.style().get_property_value("width").unwrap(), "42.4%");
    percent.set(250.0);
    settle(10).await;
    assert_eq!(bar.get_attribute("aria-valuenow").as_deref(), Some("100"));
    drop(handle);
}

#[wasm_bindgen_test]
fn backend_and_backbone_requests_read_the_query() {
    use whisker::web::page::actions::backend_request;
    use whisker::web::protocol::BackendRequest;
    assert_eq!(backend_request("?backend=cpu"), BackendRequest::Cpu);
    assert_eq!(
        backend_request("?x=1&backend=WebGPU"),
        BackendRequest::WebGpu
    );
    assert_eq!(backend_request("?backend=nonsense"), BackendRequest::Auto);
    assert_eq!(backend_request(""), BackendRequest::Auto);
    use whisker::ml::backbone::BackboneKind;
    use whisker::web::page::backbone::{asked_for, weights_url};
    assert_eq!(
        asked_for("?backend=cpu&backbone=efficientnet-lite0"),
        Some(BackboneKind::EfficientNetLite0)
    );
    assert_eq!(asked_for("?backbone=resnet"), None);
    assert_eq!(asked_for(""), None);
    // Each network downloads only its own record (the int8 one).
    assert_eq!(
        weights_url(BackboneKind::MobileNetV2),
        "models/mobilenet_v2.i8.bpk"
    );
    assert_eq!(
        weights_url(BackboneKind::EfficientNetLite0),
        "models/efficientnet_lite0.i8.bpk"
    );
    assert_eq!(
        whisker::web::glue::decode::downscaled(4000, 3000, 512),
        (683, 512)
    );
    assert_eq!(
        whisker::web::glue::decode::downscaled(300, 200, 512),
        (300, 200)
    );
}

#[wasm_bindgen_test]
async fn protocol_messages_cross_the_thread_boundary() {
    use whisker::core::dataset::PhotoId;
    use whisker::ml::progress::{Phase, Progress};
    use whisker::web::protocol::*;
    // A request with a file, as the page posts it to the worker.
    let file = png(8, 8, "tiny.png").await;
    let request = Request::AddPhoto {
        photo: PhotoId(7),
        name: "tiny.png".into(),
    };
    let message = encode_request(RequestId(42), &request, Some(file.as_ref()));
    let (id, back, attached) = decode_request(&message).unwrap();
    assert_eq!(id, RequestId(42));
    assert!(matches!(back, Request::AddPhoto { photo: PhotoId(7), name } if name == "tiny.png"));
    let attached: web_sys::Blob = attached.unwrap().unchecked_into();
    assert_eq!(attached.size(), file.size());

    // A reply, as the worker posts it back; only the last reply of a request is final.
    let reply = Reply::Predicted(Ok(Prediction {
        classes: vec!["Cat".into(), "Dog".into()],
        probabilities: vec![0.25, 0.75],
    }));
    let (id, back, attached) = decode_reply(&encode_reply(RequestId(3), &reply, None)).unwrap();
    assert_eq!(id, RequestId(3));
    assert!(back.is_final());
    assert!(attached.is_none());
    assert!(matches!(back, Reply::Predicted(Ok(p)) if p.probabilities == [0.25, 0.75]));

    // A model file's bytes travel as an attachment, whose buffer the sender transfers.
    let bytes = js_sys::Uint8Array::from(&[1u8, 2, 3][..]);
    let message = encode_reply(RequestId(4), &Reply::ModelFile, Some(bytes.as_ref()));
    assert_eq!(attached_buffer(&message).map(|b| b.byte_length()), Some(3));
    let (_, back, attached) = decode_reply(&message).unwrap();
    assert!(matches!(back, Reply::ModelFile) && back.is_final());
    let attached: js_sys::Uint8Array = attached.unwrap().unchecked_into();
    assert_eq!(attached.to_vec(), [1, 2, 3]);
    assert!(
        !Reply::Training(Progress {
            phase: Phase::Extracting,
            done: 1,
            total: 2,
            epoch: None
        })
        .is_final()
    );

    // A dying worker's message is recognised as such, and nothing else is.
    assert_eq!(decode_fatal(&encode_fatal("boom")).as_deref(), Some("boom"));
    assert_eq!(decode_fatal(&message), None);
    assert!(decode_reply(&JsValue::from_str("junk")).is_err());
}

/// The feature map: one point per photo with its class, ringed mistakes after training, nothing
/// for fewer than two photos, and every point inside the drawing at one scale for both axes.
#[wasm_bindgen_test]
async fn feature_map_draws_every_photo_by_class() {
    use whisker::core::dataset::PhotoId;
    use whisker::ml::reports::MapPoint;
    use whisker::web::page::components::feature_map::{FeatureMap, layout};
    use whisker::web::page::state::MapView;

    let root = container();
    let state = AppState::new();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        provide_context(state);
        view! { <FeatureMap /> }
    });
    let root: Element = root.unchecked_into();
    let point = |id: u64, label: usize, x: f32, y: f32| MapPoint {
        id: PhotoId(id),
        label,
        x,
        y,
    };
    state.feature_map.set(MapView {
        classes: vec!["Cat".into(), "Dog".into()],
        points: vec![point(1, 0, 0.0, 0.0)],
        explained: [1.0, 0.0],
    });
    settle(10).await;
    assert!(
        by_testid(&root, "feature-map").is_empty(),
        "one photo: no map"
    );

    let map = MapView {
        classes: vec!["Cat".into(), "Dog".into()],
        points: vec![
            point(1, 0, -0.5, 0.1),
            point(2, 0, -0.4, -0.1),
            point(3, 1, 0.6, 0.0),
        ],
        explained: [0.7, 0.2],
    };
    state.feature_map.set(map.clone());
    settle(10).await;
    let svg = one(&root, "feature-map");
    let points = by_testid(&svg, "feature-point");
    let classes: Vec<String> = points
        .iter()
        .map(|p| p.get_attribute("data-class").unwrap())
        .collect();
    assert_eq!(classes, ["Cat", "Cat", "Dog"]);
    assert!(
        points
            .iter()
            .all(|p| p.get_attribute("data-mistake").is_none())
    );
    assert!(
        root.text_content().unwrap().contains("90%"),
        "explained variance"
    );

    // After training, the held-out photo the model got wrong is ringed.
    state.report.set(Some(whisker::web::page::state::Report {
        classes: map.classes.clone(),
        val_accuracy: Some(0.5),
        per_class: vec![Some(1.0), Some(0.0)],
        confusion: vec![vec![1, 0], vec![1, 0]],
        stats: whisker::ml::reports::RunStats {
            train_count: 1,
            val_count: 2,
            stopped: false,
            fine_tuning: Default::default(),
            extracted: 3,
            extract_seconds: 0.1,
            train_seconds: 0.1,
            fine_tune_batch_size: None,
        },
        backend: "cpu".into(),
        backbone: Default::default(),
        mistakes: vec![PhotoId(3)],
    }));
    settle(10).await;
    let ringed: Vec<String> = by_testid(&root, "feature-point")
        .iter()
        .filter(|p| p.get_attribute("data-mistake").is_some())
        .map(|p| p.get_attribute("data-photo").unwrap())
        .collect();
    assert_eq!(ringed, ["3"]);

    // Inside the 320 x 220 drawing; the x spread (1.1) and y spread (0.2) keep their ratio.
    let placed = layout(&map);
    assert!(
        placed
            .iter()
            .all(|&(x, y)| (0.0..=320.0).contains(&x) && (0.0..=220.0).contains(&y))
    );
    let dx = placed[2].0 - placed[0].0;
    // SVG's y grows downwards: the higher photo (y 0.1) is drawn above the lower (-0.1).
    let dy = placed[1].1 - placed[0].1;
    assert!((dx / dy - 1.1 / 0.2).abs() < 1e-3, "{dx} {dy}");

    drop(handle);
}

/// "Compare layers" names the best cut point, the last stage on ties.
#[wasm_bindgen_test]
fn the_best_layer_prefers_the_last_on_ties() {
    use whisker::ml::reports::LayerRow;
    use whisker::web::page::components::layer_compare::best;
    let row = |stage, expected, accuracy| LayerRow {
        stage,
        width: 8,
        expected,
        accuracy,
        beats_chance: true,
    };
    assert_eq!(
        best(&[row(7, 0.6, 0.9), row(14, 0.8, 0.9), row(18, 0.9, 0.9)]),
        Some(2)
    );
    assert_eq!(
        best(&[row(7, 0.6, 0.9), row(14, 0.8, 1.0), row(18, 1.0, 0.9)]),
        Some(1)
    );
    assert_eq!(best(&[]), None);
}

#[wasm_bindgen_test]
fn camera_errors_are_told_in_plain_words() {
    use std::collections::HashSet;
    use whisker::web::glue::camera::CameraError;
    use whisker::web::page::words::camera_error;
    let from = CameraError::from_dom;
    assert_eq!(
        from("NotAllowedError", "Permission denied"),
        CameraError::Denied
    );
    assert_eq!(from("SecurityError", ""), CameraError::Denied);
    assert_eq!(from("NotFoundError", ""), CameraError::NotFound);
    assert_eq!(from("OverconstrainedError", ""), CameraError::NotFound);
    assert!(matches!(from("NotReadableError", "in use"), CameraError::Busy(m) if m == "in use"));
    assert!(matches!(from("TypeError", "bad"), CameraError::Failed(_)));
    let all = [
        CameraError::Unavailable,
        CameraError::Denied,
        CameraError::NotFound,
        CameraError::Busy("x".into()),
        CameraError::Stopped,
        CameraError::Failed("x".into()),
    ];
    let sentences: HashSet<String> = all.iter().map(camera_error).collect();
    assert_eq!(
        sentences.len(),
        all.len(),
        "each problem has its own sentence"
    );
    for s in &sentences {
        assert!(s.ends_with('.') && !s.contains("Error"), "{s}");
    }
}

#[wasm_bindgen_test]
async fn a_camera_frame_becomes_a_photo_with_a_saved_copy() {
    use futures::StreamExt;
    use whisker::core::dataset::PhotoId;
    use whisker::web::protocol::{Reply, Request};
    whisker::web::prepare_page();
    // A frame as the camera gives it: decoded pixels in an ImageBitmap, not a file.
    let canvas = web_sys::OffscreenCanvas::new(640, 480).unwrap();
    let ctx: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.set_fill_style_str("#3264c8");
    ctx.fill_rect(0.0, 0.0, 640.0, 480.0);
    let frame = canvas.transfer_to_image_bitmap().unwrap();

    // The engine takes the bitmap itself as a photo, and answers with the JPEG copy the page
    // shows and saves (a frame has no file of its own to save).
    let before = engine_status().await.photos;
    let photo = PhotoId(9_001);
    let client = whisker::web::page::client::client();
    let mut replies = client.call_for_attachments(
        Request::AddPhoto {
            photo,
            name: "Camera photo 1".into(),
        },
        Some(frame.as_ref()),
    );
    let Some((Reply::PhotoAdded, Some(copy))) = replies.next().await else {
        panic!("the frame was not added with a copy");
    };
    let copy: web_sys::Blob = copy.unchecked_into();
    assert_eq!(copy.type_(), "image/jpeg");
    assert!(copy.size() > 0.0);
    // Moved to the engine, not copied: the page's bitmap is emptied.
    assert_eq!(frame.width(), 0);
    assert_eq!(engine_status().await.photos, before + 1);
    client.send(Request::Forget { photo }, None);
    assert_eq!(engine_status().await.photos, before);
}

/// Fine-tuning the most blocks at batch 32 on WebGPU finishes, and so do its warm-up and a
/// prediction: every batch that reaches the device (extraction, the frozen stages above the cut,
/// training steps, evaluation) stays within what it binds. Skipped without a WebGPU adapter.
///
/// SwiftShader binds 1 GiB, where 32 photos would fit, and it is too slow for the 28 photos that
/// overflow WebGPU's 128 MiB default; so the session gets a limit that holds 3 photos of deep
/// fine-tuning's largest tensor, and 6 photos make every cap bite as 128 MiB does at 28.
#[wasm_bindgen_test]
async fn fine_tunes_deep_on_webgpu_within_the_buffer_limit() {
    use std::convert::Infallible;
    use whisker::core::dataset::PhotoId;
    use whisker::ml::backbone::BackboneKind;
    use whisker::ml::batch::{BatchLimits, peak_bytes};
    use whisker::ml::reports::LabelledPhoto;
    use whisker::ml::session::{BackboneSource, Session};
    use whisker::ml::settings::TrainSettings;
    use whisker::web::engine::backend::{batch_limits, start_backend};
    use whisker::web::protocol::{BackendKind, BackendRequest};

    let (device, info) = start_backend(BackendRequest::WebGpu).await;
    if info.kind != BackendKind::WebGpu {
        web_sys::console::log_1(&format!("no WebGPU here, skipped: {:?}", info.cpu_reason).into());
        return;
    }
    let binding = info.max_binding_bytes.expect("WebGPU reports its limit");
    assert!(binding >= 128 << 20, "{binding}");
    assert!(batch_limits(&info).is_bounded());

    let kind = BackboneKind::MobileNetV2;
    let blocks = kind.max_fine_tune_blocks();
    let per_photo = peak_bytes(kind, kind.cut_stage(blocks) + 1, kind.last_stage());
    let limits = BatchLimits::binding((4 * per_photo).min(binding));
    let backbone = whisker::ml::weights::random_backbone(kind, 3, &device);
    let session = Session::new(backbone, BackboneSource::Random { seed: 3 }, device, 8)
        .with_batch_limits(limits);
    session.warm_up().await.unwrap();

    // Ramps and checkerboards, `[3, 224, 224]` each.
    let photo = |id: u64| -> Vec<f32> {
        (0..3 * 224 * 224)
            .map(|i| {
                let (x, y) = (i % 224, (i / 224) % 224);
                if id.is_multiple_of(2) {
                    (x + y) as f32 / 448.0 - 0.5
                } else {
                    ((x / 8 + y / 8) % 2) as f32 - 0.5
                }
            })
            .collect()
    };
    let photos: Vec<LabelledPhoto> = (0..6)
        .map(|i| LabelledPhoto {
            id: PhotoId(i),
            label: (i % 2) as usize,
        })
        .collect();
    let mut settings = TrainSettings {
        fine_tune_blocks: blocks,
        val_share: 0.34,
        refit: false,
        ..TrainSettings::default()
    };
    settings.head.epochs = 1;
    settings.head.batch_size = 32;
    settings.fine_tune.epochs = 1;
    settings.fine_tune.batch_size = 32;
    let report = session
        .train(
            &["ramp".to_string(), "checks".to_string()],
            &photos,
            None,
            &settings,
            &mut async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) },
            &mut async |_| true,
        )
        .await
        .unwrap();
    assert_eq!(report.stats.fine_tune_batch_size, Some(3));
    assert_eq!(report.stats.train_count + report.stats.val_count, 6);
    assert!(report.validation.is_some());

    let (a, b) = (photo(10), photo(11));
    let probs = session
        .predict::<Infallible>(&[&a, &b, &a, &b])
        .await
        .unwrap();
    assert_eq!(probs.len(), 4);
    assert!(probs.iter().flatten().all(|p| p.is_finite()));
}
