//! The training pipeline fine-tunes the last blocks of either backbone and the result survives a
//! model file, on small random inputs (the shapes and the bookkeeping, not accuracy).

use burn::prelude::*;
use whisker::core::dataset::Split;
use whisker::ml::backbone::BackboneKind;
use whisker::ml::model_file::{self, ModelMeta};
use whisker::ml::pipeline::fit;
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
        assert_eq!(classifier.input_stage(), cut);

        let meta = ModelMeta::new(kind, vec!["a".into(), "b".into()], 1, None);
        let bytes = model_file::to_bytes(&classifier, &meta).unwrap();
        let (back, _) = model_file::from_bytes("m", &bytes, &device).unwrap();
        let a = classifier.forward(activations.clone()).into_data();
        let b = back.forward(activations).into_data();
        a.assert_approx_eq::<f32>(&b, burn::tensor::Tolerance::default());
    }
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
