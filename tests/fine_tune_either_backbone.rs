//! The training pipeline fine-tunes the last blocks of either backbone and the result survives a
//! model file, on small random inputs (the shapes and the bookkeeping, not accuracy).

use burn::prelude::*;
use whisker::core::dataset::Split;
use whisker::ml::backbone::BackboneKind;
use whisker::ml::backbone::{Backbone, global_pool};
use whisker::ml::model_file::{self, ModelMeta};
use whisker::ml::pipeline::fit;
use whisker::ml::progress::FineTuning;
use whisker::ml::settings::TrainSettings;
use whisker::ml::weights::random_backbone;

#[test]
fn fine_tunes_and_saves_on_either_backbone() {
    let device = Device::flex();
    for kind in BackboneKind::ALL {
        let backbone = random_backbone(kind, 7, &device);
        let mut settings = TrainSettings {
            fine_tune_blocks: 1,
            refit: false,
            ..TrainSettings::default()
        };
        settings.head.epochs = 2;
        settings.fine_tune.epochs = 2;
        let cut = settings.cut_stage(kind);
        let r = kind.stage_resolution(cut);
        let activations = Tensor::<4>::random(
            [8, kind.stage_channels(cut), r, r],
            burn::tensor::Distribution::Default,
            &device,
        );
        let labels = [0, 1, 0, 1, 0, 1, 0, 1];
        let split = Split {
            train: (0..6).collect(),
            val: vec![6, 7],
        };
        let outcome = whisker::block_on(fit(
            &backbone,
            activations.clone(),
            &labels,
            2,
            split,
            &settings,
            &mut async |_| true,
        ))
        .unwrap();
        assert!(!outcome.fine_tune_history.is_empty(), "{kind}");
        let classifier = outcome.classifier;
        assert_eq!(classifier.backbone, kind);
        // Kept or dropped on the validation loss (see the test below); either way it is one of
        // the two shapes.
        let blocks = match outcome.fine_tuning {
            FineTuning::Kept { .. } => 1,
            FineTuning::Dropped { .. } => 0,
            other => panic!("{kind}: {other:?}"),
        };
        assert_eq!(classifier.fine_tune_blocks(), blocks);
        let input = if blocks == 1 {
            assert_eq!(classifier.input_stage(), cut);
            activations.clone()
        } else {
            assert_eq!(classifier.input_stage(), kind.last_stage());
            pooled(&backbone, activations.clone(), cut)
        };
        let activations = input;

        let meta = ModelMeta::new(kind, vec!["a".into(), "b".into()], blocks, None);
        let bytes = model_file::to_bytes(&classifier, &meta).unwrap();
        let (back, _) = model_file::from_bytes("m", &bytes, &device).unwrap();
        let a = classifier.forward(activations.clone()).into_data();
        let b = back.forward(activations).into_data();
        a.assert_approx_eq::<f32>(&b, burn::tensor::Tolerance::default());
    }
}

/// `[N, C, H, W]` activations of stage `cut` -> `[N, 1280, 1, 1]` pooled features of the last.
fn pooled(backbone: &Backbone, x: Tensor<4>, cut: usize) -> Tensor<4> {
    let kind = backbone.kind();
    let n = x.dims()[0];
    global_pool(backbone.forward_stages(x, cut + 1, kind.last_stage())).reshape([n, 1280, 1, 1])
}

/// Two classes a random backbone still tells apart: the second's activations are shifted.
/// Drawn from a fixed-seed generator so every run sees the same numbers (burn's own random
/// tensors are unseeded here, and the outcome below must not depend on the draw).
fn separable(kind: BackboneKind, cut: usize, n: usize, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let r = kind.stage_resolution(cut);
    let c = kind.stage_channels(cut);
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut uniform = move || {
        // xorshift64*: enough for test noise.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    };
    let per_photo = c * r * r;
    let values: Vec<f32> = (0..n * per_photo)
        .map(|k| {
            // Box-Muller: a standard normal draw, shifted by 1.5 for the second class.
            let (u, v) = (uniform(), uniform());
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos();
            z + labels[k / per_photo] as f32 * 1.5
        })
        .collect();
    let x = Tensor::<1>::from_floats(values.as_slice(), device).reshape([n, c, r, r]);
    (x, labels)
}

#[test]
fn fine_tuning_is_kept_only_when_it_lowers_the_validation_loss() {
    let device = Device::flex();
    let kind = BackboneKind::MobileNetV2;
    let backbone = random_backbone(kind, 3, &device);
    let base = |head_lr: f64, tune_lr: f64| {
        let mut s = TrainSettings {
            fine_tune_blocks: 1,
            refit: false,
            ..TrainSettings::default()
        };
        s.head.epochs = 3;
        s.head.learning_rate = head_lr;
        s.head.patience = 0;
        s.fine_tune.epochs = 4;
        s.fine_tune.learning_rate = tune_lr;
        s.fine_tune.patience = 0;
        s
    };
    let cut = base(1e-3, 1e-3).cut_stage(kind);
    let (activations, labels) = separable(kind, cut, 16, &device);
    let split = Split {
        train: (0..12).collect(),
        val: (12..16).collect(),
    };
    let run = |settings: &TrainSettings| {
        whisker::block_on(fit(
            &backbone,
            activations.clone(),
            &labels,
            2,
            split.clone(),
            settings,
            &mut async |_| true,
        ))
        .unwrap()
    };

    // A head that barely learned (tiny rate) then a useful fine-tuning: kept, and it changed
    // the blocks' weights.
    let kept = run(&base(1e-7, 1e-3));
    let FineTuning::Kept {
        head_loss,
        tuned_loss,
    } = kept.fine_tuning
    else {
        panic!("{:?}", kept.fine_tuning);
    };
    assert!(tuned_loss < head_loss);
    assert_eq!(kept.classifier.fine_tune_blocks(), 1);
    let untouched =
        whisker::ml::classifier::Classifier::new(&backbone, 1, kept.classifier.head.clone());
    let x = activations.clone().narrow(0, 0, 4);
    let moved: f32 = (kept.classifier.features(x.clone()) - untouched.features(x))
        .abs()
        .max()
        .into_scalar();
    assert!(
        moved > 1e-6,
        "the fine-tuned blocks did not change ({moved})"
    );
    let validation = kept.validation.as_ref().unwrap();
    assert!(
        validation.loss <= head_loss + 1e-4,
        "{} vs {head_loss}",
        validation.loss
    );

    // The same run, but the held-out photos carry the other label: whatever fine-tuning learns
    // from the training photos makes the validation loss worse, so it is dropped, and the head
    // alone is what remains, no worse on validation than it was. (A wild learning rate is not a
    // reliable way to wreck it: on separable inputs it can just as well fit perfectly.)
    let flipped: Vec<usize> = (0..labels.len())
        .map(|i| {
            if split.val.contains(&i) {
                1 - labels[i]
            } else {
                labels[i]
            }
        })
        .collect();
    let dropped = whisker::block_on(fit(
        &backbone,
        activations.clone(),
        &flipped,
        2,
        split.clone(),
        &base(1e-7, 1e-3),
        &mut async |_| true,
    ))
    .unwrap();
    let FineTuning::Dropped {
        head_loss,
        tuned_loss,
    } = dropped.fine_tuning
    else {
        panic!("{:?}", dropped.fine_tuning);
    };
    assert!(tuned_loss >= head_loss);
    assert_eq!(dropped.classifier.fine_tune_blocks(), 0);
    assert_eq!(dropped.classifier.input_stage(), kind.last_stage());
    let validation = dropped.validation.as_ref().unwrap();
    assert!(
        validation.loss <= head_loss + 1e-4,
        "{} vs {head_loss}",
        validation.loss
    );
}

#[test]
fn too_many_blocks_for_the_backbone_is_a_setting_error() {
    let device = Device::flex();
    let kind = BackboneKind::EfficientNetLite0;
    let backbone = random_backbone(kind, 7, &device);
    let settings = TrainSettings {
        fine_tune_blocks: kind.max_fine_tune_blocks() + 1,
        ..TrainSettings::default()
    };
    settings.validate().unwrap();
    let err = whisker::block_on(fit(
        &backbone,
        Tensor::<4>::zeros([2, 1280, 1, 1], &device),
        &[0, 1],
        2,
        Split {
            train: vec![0, 1],
            val: vec![],
        },
        &settings,
        &mut async |_| true,
    ))
    .err()
    .unwrap();
    assert!(err.to_string().contains("at most 15 blocks"), "{err}");
}
