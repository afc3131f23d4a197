//! Our MobileNetV2 and preprocessing against PyTorch/torchvision, on the committed fixture made
//! by `scripts/make-fixture.sh` (torchvision's model with the same weights, on real photos).

mod common;
mod reference;

use reference::{Fixture, argmax_rows, max_abs_diff, pil_pixels, run, worst_input_diff};
use whisker::cli::images::load_input;
use whisker::core::preprocess::{IMAGENET_STD, ImageView, Preprocess};
use whisker::ml::backbone::BackboneKind::MobileNetV2;
use whisker::ml::backbone::Precision;

fn fixture() -> Fixture {
    reference::fixture("torchvision_reference.safetensors")
}

#[test]
fn f32_record_matches_torchvision() {
    let fx = fixture();
    let net = common::backbone(MobileNetV2, Precision::F32);
    let (logits, features, cut) = run(&net, &fx);
    let d_logits = max_abs_diff(&logits, &fx.logits);
    let d_features = max_abs_diff(&features, &fx.features);
    let d_cut = max_abs_diff(&cut, &fx.cut_pooled);
    println!(
        "f32: max abs diff logits {d_logits:.2e}, features {d_features:.2e}, block {} {d_cut:.2e}",
        fx.cut_stage
    );
    assert!(d_logits <= 1e-3, "logits differ by {d_logits}");
    assert!(d_features <= 1e-3, "features differ by {d_features}");
    assert!(d_cut <= 1e-3, "block {} differs by {d_cut}", fx.cut_stage);
}

/// The f16 record (the browser's) is half the bytes; its rounding moves logits by a few
/// hundredths, never the top class.
#[test]
fn f16_record_stays_within_tolerance() {
    const F16_LOGIT_TOLERANCE: f32 = 0.1;
    let fx = fixture();
    let net = common::backbone(MobileNetV2, Precision::F16);
    let (logits, features, _) = run(&net, &fx);
    let d_logits = max_abs_diff(&logits, &fx.logits);
    let d_features = max_abs_diff(&features, &fx.features);
    println!("f16: max abs diff logits {d_logits:.2e}, features {d_features:.2e}");
    assert!(
        d_logits <= F16_LOGIT_TOLERANCE,
        "f16 logits differ by {d_logits}"
    );
    assert!(
        d_features <= F16_LOGIT_TOLERANCE,
        "f16 features differ by {d_features}"
    );
    assert_eq!(argmax_rows(&logits, 1000), argmax_rows(&fx.logits, 1000));
}

/// The int8 record (the browser's, a third of f16's bytes, without the ImageNet classifier):
/// per-channel int8 weights move the features by a few hundredths of their scale, never the
/// top class (logits from the f32 classifier on them, see `reference::run_with_top`).
#[test]
fn i8_record_stays_within_tolerance() {
    reference::check_int8_record(MobileNetV2, &fixture());
}

/// Our pure preprocessing against torchvision's eval transform, on the same (PIL-decoded)
/// pixels: within 2/255 per pixel. Covers upscaling, downscaling, portrait and landscape.
#[test]
fn preprocessing_matches_torchvision() {
    let fx = fixture();
    let pre = Preprocess::torchvision();
    for (i, (photo, (w, h, px))) in fx.photos.iter().zip(&pil_pixels()).enumerate() {
        let ours = pre.apply(&ImageView::new(*w, *h, 3, px).unwrap());
        let worst = worst_input_diff(&fx, i, &ours, IMAGENET_STD);
        println!("{photo} ({w}x{h}): max pixel diff {:.2}/255", worst * 255.0);
        assert!(worst <= 2.0 / 255.0, "{photo}: {:.2}/255", worst * 255.0);
    }
}

/// Decoding natively (the `image` crate) and preprocessing, against PIL + torchvision. JPEG
/// decoders legitimately differ by a few grey levels (IDCT and chroma upsampling: up to 4 seen
/// on these photos), so the bound here is looser than the transform's own.
#[test]
fn native_decoding_stays_close_to_pil() {
    let fx = fixture();
    let pets = common::pets();
    let pre = Preprocess::torchvision();
    for (i, photo) in fx.photos.iter().enumerate() {
        let ours = load_input(&pets.join(photo), &pre).unwrap();
        let worst = worst_input_diff(&fx, i, &ours, IMAGENET_STD);
        println!(
            "{photo}: decoded natively, max pixel diff {:.2}/255",
            worst * 255.0
        );
        assert!(worst <= 6.0 / 255.0, "{photo}: {:.2}/255", worst * 255.0);
    }
}

/// Real cat photos get an ImageNet cat class (281 tabby ..= 285 Egyptian cat) in their top 5:
/// all 100 of `val/cat`, run in batches of 16.
#[test]
fn cats_are_cats_to_imagenet() {
    let net = common::backbone(MobileNetV2, Precision::F32);
    let int8 = common::backbone(MobileNetV2, Precision::I8);
    let misses = reference::cats_without_a_cat_class(&net, &net);
    println!(
        "f32: cats without a cat class in the top 5: {} of 100 {misses:?}",
        misses.len()
    );
    assert!(misses.len() <= 5, "{misses:?}");
    // The browser's record, through the same classifier: at most one borderline photo more.
    let int8_misses = reference::cats_without_a_cat_class(&int8, &net);
    println!(
        "int8: cats without a cat class in the top 5: {} of 100 {int8_misses:?}",
        int8_misses.len()
    );
    assert!(int8_misses.len() <= misses.len() + 1, "{int8_misses:?}");
}
