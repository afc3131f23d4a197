//! The trained model file: one safetensors file holding the [`Classifier`] (head, and the
//! fine-tuned backbone stages if any) plus metadata saying what it needs to run.
//!
//! The frozen backbone is not stored: it is the pretrained record, identified by
//! [`ModelMeta::backbone`] and [`ModelMeta::weights_sha256`], or, for the random-backbone
//! baseline, regenerated from [`ModelMeta::random_backbone_seed`]. Every reason to refuse a file
//! is a [`ModelFileProblem`]: not ours, damaged or cut short, from a newer format, for a backbone
//! or weights this build does not have, or for the other backbone than the one loaded.

use super::backbone::{Backbone, BackboneKind};
use super::classifier::Classifier;
use super::error::{MlError, ModelFileProblem};
use super::head::HeadConfig;
use crate::core::preprocess::Preprocess;
use crate::core::rng::Rng;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, bridge};
use burn::tensor::{DType, TensorData};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Value of the `format` metadata key in every Whisker model file.
pub const FORMAT: &str = "whisker-model";
/// Newest version of the layout below that this build reads and writes; bumped on any
/// incompatible change. Version 2 added [`ModelMeta::cut_stage`]: a head at an earlier stage,
/// which a version-1 reader would build 1280 values wide. Files without it are still written as
/// version 1, which every Whisker reads.
pub const FORMAT_VERSION: u32 = 2;

/// The version of files whose head takes the last stage (no [`ModelMeta::cut_stage`]).
const LAST_STAGE_FORMAT_VERSION: u32 = 1;

/// What a model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Layout version, [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// Class names, in output order.
    pub classes: Vec<String>,
    /// The backbone the head was trained on ([`BackboneKind::model_id`]).
    pub backbone: String,
    /// sha256 of the pretrained weights the backbone records come from.
    pub weights_sha256: String,
    /// `Some(seed)` when the backbone was randomly initialised (the transfer baseline).
    pub random_backbone_seed: Option<u64>,
    /// Fine-tuned backbone blocks stored in the file.
    pub fine_tune_blocks: usize,
    /// Hidden units of the head, if it has a hidden layer.
    pub hidden: Option<usize>,
    /// The earlier stage whose pooled output the head takes; `None` (and absent, in files
    /// written before it existed) for the last stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_stage: Option<usize>,
    /// Input preprocessing: resize, crop (input size) and normalisation.
    pub preprocess: Preprocess,
}

impl ModelMeta {
    /// Metadata for a model trained on the pretrained `backbone` (with its preprocessing).
    pub fn new(
        backbone: BackboneKind,
        classes: Vec<String>,
        fine_tune_blocks: usize,
        hidden: Option<usize>,
    ) -> Self {
        Self {
            format_version: LAST_STAGE_FORMAT_VERSION,
            classes,
            backbone: backbone.model_id().into(),
            weights_sha256: backbone.source_sha256().into(),
            random_backbone_seed: None,
            fine_tune_blocks,
            hidden,
            cut_stage: None,
            preprocess: backbone.preprocess(),
        }
    }

    /// The same metadata for a head at the earlier stage `cut_stage` (`None`: the last stage, see
    /// [`Classifier::earlier_cut`]). Such a file is format version 2, so an older Whisker says it
    /// was made by a newer one rather than failing on the head's width.
    pub fn with_cut_stage(mut self, cut_stage: Option<usize>) -> Self {
        self.cut_stage = cut_stage;
        self.format_version = if cut_stage.is_some() {
            FORMAT_VERSION
        } else {
            LAST_STAGE_FORMAT_VERSION
        };
        self
    }

    /// The backbone the metadata names, if this build has it with the same weights.
    pub fn backbone_kind(&self) -> Option<BackboneKind> {
        BackboneKind::from_model_id(&self.backbone)
            .filter(|k| k.source_sha256() == self.weights_sha256)
    }

    /// Refuses to run the model `name` on a `loaded` backbone it was not trained on.
    pub fn check_backbone(&self, name: &str, loaded: BackboneKind) -> Result<(), MlError> {
        match self.backbone_kind() {
            Some(model) if model == loaded => Ok(()),
            Some(model) => Err(MlError::model_file(
                name,
                ModelFileProblem::OtherBackbone { model, loaded },
            )),
            None => Err(self.unknown_backbone(name)),
        }
    }

    fn unknown_backbone(&self, name: &str) -> MlError {
        MlError::model_file(
            name,
            ModelFileProblem::UnknownBackbone {
                backbone: self.backbone.clone(),
                weights_sha256: self.weights_sha256.clone(),
            },
        )
    }
}

/// Serialises a trained classifier and its metadata to safetensors bytes. The metadata must name
/// the classifier's backbone.
pub fn to_bytes(classifier: &Classifier, meta: &ModelMeta) -> Result<Vec<u8>, MlError> {
    meta.check_backbone("model", classifier.backbone)?;
    if meta.cut_stage != classifier.earlier_cut() {
        return Err(MlError::invalid_model(
            "model",
            format!(
                "the metadata names cut stage {:?}, the head takes stage {}",
                meta.cut_stage, classifier.head_stage
            ),
        ));
    }
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for t in classifier.collect(None, None, false) {
        let name = t.name.clone();
        let data =
            bridge::into_data(t).map_err(|e| MlError::invalid_model("model", format!("{e:?}")))?;
        let shape = data.shape().to_vec();
        let values = data
            .try_into_vec_as::<f32>()
            .map_err(|e| MlError::invalid_model("model", format!("{e:?}")))?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((name, shape, bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MlError::invalid_model("model", e))?;
    let info = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        (
            "whisker".to_string(),
            serde_json::to_string(meta).map_err(|e| MlError::invalid_model("model", e))?,
        ),
    ]);
    safetensors::serialize(views, Some(info)).map_err(|e| MlError::invalid_model("model", e))
}

/// Reads only the metadata of a model file; `name` is used in errors.
pub fn read_meta(name: &str, bytes: &[u8]) -> Result<ModelMeta, MlError> {
    let problem = |p: ModelFileProblem| MlError::model_file(name, p);
    let header = match safetensors::SafeTensors::read_metadata(bytes) {
        Ok((_, header)) => header,
        Err(_) if looks_cut_short(bytes) => {
            return Err(problem(ModelFileProblem::Damaged("cut short".into())));
        }
        Err(_) => return Err(problem(ModelFileProblem::NotOurs)),
    };
    let info = header
        .metadata()
        .as_ref()
        .ok_or_else(|| problem(ModelFileProblem::NotOurs))?;
    if info.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(problem(ModelFileProblem::NotOurs));
    }
    let text = info
        .get("whisker")
        .ok_or_else(|| problem(ModelFileProblem::Damaged("no metadata".into())))?;
    // Check the version before the layout: a newer file may not parse as this one's.
    let version = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("format_version")?.as_u64());
    if let Some(found) = version.filter(|&v| v > u64::from(FORMAT_VERSION)) {
        return Err(problem(ModelFileProblem::NewerFormat {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        }));
    }
    let meta: ModelMeta = serde_json::from_str(text)
        .map_err(|e| problem(ModelFileProblem::Damaged(format!("metadata: {e}"))))?;
    if meta.classes.len() < 2 {
        return Err(MlError::invalid_model(name, "fewer than two classes"));
    }
    if meta.backbone_kind().is_none() {
        return Err(meta.unknown_backbone(name));
    }
    Ok(meta)
}

/// Whether `bytes` start like one of our model files (a safetensors header length, then a
/// header with our metadata keys, `"format"`'s value or `"whisker"`) although safetensors refused
/// them: the file was cut short, in its header or in its tensors.
fn looks_cut_short(bytes: &[u8]) -> bool {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    else {
        return false;
    };
    let header_end = usize::try_from(len.saturating_add(8)).unwrap_or(usize::MAX);
    let header = &bytes[8..header_end.min(bytes.len())];
    let needle = b"\"whisker";
    len < 100_000_000 && header.windows(needle.len()).any(|w| w == needle)
}

/// Reads a model file back: the classifier (on `device`, for the backbone its metadata names)
/// and its metadata.
pub fn from_bytes(
    name: &str,
    bytes: &[u8],
    device: &Device,
) -> Result<(Classifier, ModelMeta), MlError> {
    let meta = read_meta(name, bytes)?;
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| MlError::model_file(name, ModelFileProblem::Damaged(e.to_string())))?;
    let kind = meta
        .backbone_kind()
        .ok_or_else(|| meta.unknown_backbone(name))?;
    if meta.fine_tune_blocks > kind.max_fine_tune_blocks() {
        return Err(MlError::invalid_model(
            name,
            format!(
                "{} fine-tuned blocks, {kind} has {}",
                meta.fine_tune_blocks,
                kind.max_fine_tune_blocks()
            ),
        ));
    }
    let last = kind.last_stage();
    let head_stage = match meta.cut_stage {
        None => last,
        Some(stage) if stage == last => last,
        Some(stage) if stage < last && meta.fine_tune_blocks == 0 => stage,
        Some(stage) if stage < last => {
            return Err(MlError::invalid_model(
                name,
                format!(
                    "a head at stage {stage} with {} fine-tuned blocks",
                    meta.fine_tune_blocks
                ),
            ));
        }
        Some(stage) => {
            return Err(MlError::invalid_model(
                name,
                format!("cut stage {stage}, {kind}'s stages end at {last}"),
            ));
        }
    };
    // A skeleton of the right shape; every value is then overwritten from the file.
    let head = HeadConfig::new(kind.stage_channels(head_stage), meta.classes.len())
        .with_hidden(meta.hidden)
        .init(&mut Rng::new(0), device);
    let mut classifier = if meta.fine_tune_blocks == 0 {
        // No backbone weights are needed for a head alone.
        Classifier::head_at(kind, head_stage, head)
    } else {
        Classifier::new(&Backbone::init(kind, device), meta.fine_tune_blocks, head)
    };
    let mut tensors = Vec::new();
    for (key, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(MlError::invalid_model(
                name,
                format!("tensor {key} is not f32"),
            ));
        }
        let data =
            TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), DType::F32);
        tensors.push(bridge::from_data(data, key, None));
    }
    let result = classifier.apply(tensors, None, None, false);
    if let Some(e) = result.errors.first() {
        return Err(MlError::invalid_model(name, format!("{e:?}")));
    }
    if let Some((missing, _)) = result.missing.first() {
        return Err(MlError::invalid_model(
            name,
            format!("tensor {missing} is missing"),
        ));
    }
    Ok((classifier, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trained(kind: BackboneKind, device: &Device) -> (Backbone, Classifier, ModelMeta) {
        let backbone = Backbone::init(kind, device);
        let head = HeadConfig::new(1280, 3)
            .with_hidden(Some(8))
            .init(&mut Rng::new(4), device);
        let classifier = Classifier::new(&backbone, 1, head);
        let meta = ModelMeta::new(kind, vec!["a".into(), "b".into(), "c".into()], 1, Some(8));
        (backbone, classifier, meta)
    }

    #[test]
    fn round_trip_keeps_predictions_and_meta() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let (backbone, classifier, meta) = trained(kind, &device);
            assert_eq!(meta.preprocess, kind.preprocess());
            let bytes = to_bytes(&classifier, &meta).unwrap();
            let (back, meta2) = from_bytes("m.safetensors", &bytes, &device).unwrap();
            assert_eq!(meta, meta2);
            assert_eq!(back.backbone, kind);
            let cut = kind.cut_stage(1);
            let x = backbone.forward_stages(Tensor::<4>::ones([2, 3, 224, 224], &device), 0, cut);
            let a = classifier.forward(x.clone()).into_data();
            let b = back.forward(x).into_data();
            a.assert_eq(&b, true);
        }
    }

    #[test]
    fn a_model_of_the_other_backbone_is_refused() {
        let device = Device::flex();
        let (_, classifier, meta) = trained(BackboneKind::EfficientNetLite0, &device);
        let bytes = to_bytes(&classifier, &meta).unwrap();
        let (_, meta) = from_bytes("lite.safetensors", &bytes, &device).unwrap();
        meta.check_backbone("lite.safetensors", BackboneKind::EfficientNetLite0)
            .unwrap();
        let err = meta
            .check_backbone("lite.safetensors", BackboneKind::MobileNetV2)
            .unwrap_err();
        assert!(
            matches!(
                err,
                MlError::ModelFile {
                    problem: ModelFileProblem::OtherBackbone {
                        model: BackboneKind::EfficientNetLite0,
                        loaded: BackboneKind::MobileNetV2,
                    },
                    ..
                }
            ),
            "{err}"
        );
        // Metadata naming one backbone over the other's classifier is never written.
        let wrong = ModelMeta::new(BackboneKind::MobileNetV2, meta.classes.clone(), 1, Some(8));
        assert!(to_bytes(&classifier, &wrong).is_err());
    }

    #[test]
    fn unknown_backbones_and_other_weights_are_refused() {
        let device = Device::flex();
        let (_, classifier, meta) = trained(BackboneKind::MobileNetV2, &device);
        let bytes = to_bytes(&classifier, &meta).unwrap();
        for (field, value) in [
            ("backbone", "torchvision/resnet50/IMAGENET1K_V2"),
            ("weights_sha256", "0000"),
        ] {
            let text = serde_json::to_string(&meta).unwrap();
            let old = match field {
                "backbone" => meta.backbone.clone(),
                _ => meta.weights_sha256.clone(),
            };
            let other = text.replace(&old, value);
            let info = HashMap::from([
                ("format".to_string(), FORMAT.to_string()),
                ("whisker".to_string(), other),
            ]);
            let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
            let edited = safetensors::serialize(file.tensors(), Some(info)).unwrap();
            let err = from_bytes("other.safetensors", &edited, &device).unwrap_err();
            assert!(
                matches!(
                    err,
                    MlError::ModelFile {
                        problem: ModelFileProblem::UnknownBackbone { .. },
                        ..
                    }
                ),
                "{err}"
            );
        }
    }

    #[test]
    fn foreign_files_are_refused() {
        let device = Device::flex();
        let err = from_bytes("x.bin", b"hello", &device).unwrap_err();
        assert!(err.to_string().contains("not a Whisker model"), "{err}");
        // A valid safetensors file that is not ours.
        let other = safetensors::serialize(
            [(
                "w",
                TensorView::new(Dtype::F32, vec![1], &[0u8; 4]).unwrap(),
            )],
            None,
        )
        .unwrap();
        let err = from_bytes("other.safetensors", &other, &device).unwrap_err();
        assert!(err.to_string().contains("not a Whisker model"), "{err}");
    }

    /// Each way a file can be wrong has its own problem, so the UI and the CLI can say which.
    #[test]
    fn truncated_newer_and_random_files_each_say_what_they_are() {
        let device = Device::flex();
        let (_, classifier, meta) = trained(BackboneKind::MobileNetV2, &device);
        let bytes = to_bytes(&classifier, &meta).unwrap();
        let problem = |bytes: &[u8]| match from_bytes("m.safetensors", bytes, &device) {
            Err(MlError::ModelFile { problem, .. }) => problem,
            other => panic!("{:?}", other.map(|(_, m)| m)),
        };
        // Cut in the tensor data, and cut inside the header.
        assert!(matches!(
            problem(&bytes[..bytes.len() - 100]),
            ModelFileProblem::Damaged(_)
        ));
        assert!(matches!(
            problem(&bytes[..60]),
            ModelFileProblem::Damaged(_)
        ));
        // Random bytes.
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(problem(&noise), ModelFileProblem::NotOurs);
        assert_eq!(problem(b""), ModelFileProblem::NotOurs);
        // A newer format version, even with fields this build does not know.
        let mut future = serde_json::to_value(&meta).unwrap();
        future["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        future["classes"] = serde_json::json!({"layout": "changed"});
        let info = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("whisker".to_string(), future.to_string()),
        ]);
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let newer = safetensors::serialize(file.tensors(), Some(info)).unwrap();
        assert_eq!(
            problem(&newer),
            ModelFileProblem::NewerFormat {
                found: FORMAT_VERSION + 1,
                supported: FORMAT_VERSION
            }
        );
    }

    /// A file claiming more fine-tuned blocks than the backbone has is refused, not a panic.
    #[test]
    fn impossible_fine_tuning_depth_is_refused() {
        let device = Device::flex();
        let (_, classifier, meta) = trained(BackboneKind::MobileNetV2, &device);
        let bytes = to_bytes(&classifier, &meta).unwrap();
        let mut bad = serde_json::to_value(&meta).unwrap();
        bad["fine_tune_blocks"] = serde_json::json!(99);
        let info = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("whisker".to_string(), bad.to_string()),
        ]);
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let edited = safetensors::serialize(file.tensors(), Some(info)).unwrap();
        let err = from_bytes("deep.safetensors", &edited, &device).unwrap_err();
        assert!(
            matches!(
                err,
                MlError::ModelFile {
                    problem: ModelFileProblem::Invalid(_),
                    ..
                }
            ),
            "{err}"
        );
    }

    /// Rewrites the metadata of `bytes` with `edit`, keeping the tensors.
    fn with_meta(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
        let text = &header.metadata().as_ref().unwrap()["whisker"];
        let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
        edit(&mut value);
        let info = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("whisker".to_string(), value.to_string()),
        ]);
        safetensors::serialize(file.tensors(), Some(info)).unwrap()
    }

    /// A head at an earlier cut point is saved with its stage and opens as the same head: the
    /// same predictions from that stage's pooled output, on either backbone.
    #[test]
    fn an_earlier_cut_round_trips_and_predicts_the_same() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let backbone = Backbone::init(kind, &device);
            let stage = crate::ml::cut::cut_points(kind)[1];
            let width = kind.stage_channels(stage);
            let head = HeadConfig::new(width, 2).init(&mut Rng::new(5), &device);
            let classifier = Classifier::head_at(kind, stage, head);
            let classes = vec!["a".to_string(), "b".to_string()];
            // Metadata that forgets the cut is never written.
            let forgetful = ModelMeta::new(kind, classes.clone(), 0, None);
            assert!(to_bytes(&classifier, &forgetful).is_err());

            let meta = forgetful.with_cut_stage(Some(stage));
            let bytes = to_bytes(&classifier, &meta).unwrap();
            let (back, read) = from_bytes("early.safetensors", &bytes, &device).unwrap();
            assert_eq!(read, meta);
            assert_eq!(read.cut_stage, Some(stage));
            assert_eq!(read.format_version, FORMAT_VERSION);
            assert_eq!(back.input(), crate::ml::cut::Cut::pooled(stage));
            assert_eq!(back.earlier_cut(), Some(stage));

            let images = Tensor::<4>::ones([2, 3, 224, 224], &device);
            // [2, C_stage] -> [2, C_stage, 1, 1]
            let x = backbone
                .features_until(images, stage)
                .reshape([2, width, 1, 1]);
            let a = classifier.forward(x.clone()).into_data();
            let b = back.forward(x).into_data();
            a.assert_eq(&b, true);
        }
    }

    /// Files written before the cut stage existed have no such field (and nor do last-stage
    /// files now, still version 1): they open with the head on the last stage.
    #[test]
    fn a_file_without_a_cut_stage_reads_as_the_last_stage() {
        let device = Device::flex();
        let kind = BackboneKind::MobileNetV2;
        let head = HeadConfig::new(1280, 2).init(&mut Rng::new(5), &device);
        let classifier = Classifier::head_only(kind, head);
        let meta = ModelMeta::new(kind, vec!["a".into(), "b".into()], 0, None);
        let bytes = to_bytes(&classifier, &meta).unwrap();
        let old = with_meta(&bytes, |v| {
            assert!(
                v.get("cut_stage").is_none(),
                "last-stage files stay as they were"
            );
            assert_eq!(v["format_version"], 1);
            v.as_object_mut().unwrap().remove("cut_stage");
        });
        let (back, read) = from_bytes("old.safetensors", &old, &device).unwrap();
        assert_eq!(read.cut_stage, None);
        assert_eq!(back.input_stage(), kind.last_stage());
        assert_eq!(back.earlier_cut(), None);
        let x = Tensor::<4>::ones([1, 1280, 1, 1], &device);
        classifier
            .forward(x.clone())
            .into_data()
            .assert_eq(&back.forward(x).into_data(), true);
    }

    /// A cut stage past the backbone's last, or together with fine-tuned blocks, is refused.
    #[test]
    fn impossible_cut_stages_are_refused() {
        let device = Device::flex();
        let (_, classifier, meta) = trained(BackboneKind::MobileNetV2, &device);
        let bytes = to_bytes(&classifier, &meta).unwrap();
        for stage in [14, 19] {
            let edited = with_meta(&bytes, |v| v["cut_stage"] = serde_json::json!(stage));
            let err = from_bytes("cut.safetensors", &edited, &device).unwrap_err();
            assert!(
                matches!(
                    err,
                    MlError::ModelFile {
                        problem: ModelFileProblem::Invalid(_),
                        ..
                    }
                ),
                "{stage}: {err}"
            );
        }
    }
}
