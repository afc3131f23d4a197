//! MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", 2018),
//! laid out exactly as torchvision's `mobilenet_v2` so its ImageNet weights load one to one.
//!
//! torchvision numbers the feature extractor's stages `features.0` to `features.18`: stage 0 is
//! the stem convolution, stages 1–17 the inverted residual blocks, stage 18 the final 1x1
//! convolution to 1280 channels. Every method here that takes a stage index uses that numbering,
//! so "features up to stage k" means the output of `features[..=k]`.

use super::conv_norm::{ConvNorm, ConvNormConfig};
use super::global_pool;
use super::inverted_residual::{InvertedResidual, InvertedResidualConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::mobilenet_stages::SETTINGS;
pub use super::mobilenet_stages::{
    FEATURE_DIM, LAST_STAGE, STAGES, stage_channels, stage_peak_elements, stage_resolution,
};

/// MobileNetV2 with its ImageNet classifier.
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    /// `features.0`: 3x3 stride-2 convolution, 3 -> 32 channels.
    pub stem: ConvNorm,
    /// `features.1` to `features.17`.
    pub blocks: Vec<InvertedResidual>,
    /// `features.18`: 1x1 convolution, 320 -> 1280 channels.
    pub last: ConvNorm,
    /// `classifier.1`: 1280 -> `num_classes` (the dropout before it is a no-op at inference);
    /// `None` once left out (the browser's int8 record does not ship it: see [`Self::without_top`]).
    pub classifier: Option<Linear>,
}

/// Shape of a [`MobileNetV2`].
#[derive(Config, Debug)]
pub struct MobileNetV2Config {
    /// Classes of the classifier (1000 for ImageNet).
    #[config(default = 1000)]
    pub num_classes: usize,
}

impl MobileNetV2Config {
    /// Builds the network with randomly initialised weights on `device`; load a record to make
    /// it the pretrained backbone.
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        let mut blocks = Vec::with_capacity(STAGES - 2);
        let mut channels_in = 32;
        for (t, c, n, s) in SETTINGS {
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                blocks.push(InvertedResidualConfig::new(channels_in, c, stride, t).init(device));
                channels_in = c;
            }
        }
        MobileNetV2 {
            stem: ConvNormConfig::new(3, 32).with_stride(2).init(device),
            blocks,
            last: ConvNormConfig::new(channels_in, FEATURE_DIM)
                .with_kernel(1)
                .init(device),
            classifier: Some(LinearConfig::new(FEATURE_DIM, self.num_classes).init(device)),
        }
    }
}

impl MobileNetV2 {
    /// Applies stages `from..=to` (torchvision numbering).
    ///
    /// `[B, C_{from-1}, H, W] -> [B, C_to, H', W']`; with `from == 0` the input is the normalised
    /// image `[B, 3, 224, 224]`.
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
        MobileNetV2 {
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
    /// frozen backbone's inference form, about a third faster on the CPU. Blocks taken for
    /// fine-tuning ([`Self::freeze_norm_stats`], `Classifier::new`) train the unfolded form.
    pub fn fold_norm(self) -> Self {
        MobileNetV2 {
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
    fn stage_table_matches_torchvision() {
        let c = stage_channels();
        assert_eq!(c[0], 32);
        assert_eq!(c[1], 16);
        assert_eq!(c[13], 96);
        assert_eq!(c[17], 320);
        assert_eq!(c[18], 1280);
        assert_eq!(stage_resolution(0), 112);
        assert_eq!(stage_resolution(13), 14);
        assert_eq!(stage_resolution(18), 7);
    }

    /// The peaks by hand: stage 2 expands 16 channels to 96 at 112x112, the largest tensor of the
    /// network; the stem's output and the last stage's are the largest of theirs.
    #[test]
    fn stage_peaks() {
        assert_eq!(stage_peak_elements(0), 32 * 112 * 112);
        assert_eq!(stage_peak_elements(1), 32 * 112 * 112);
        assert_eq!(stage_peak_elements(2), 96 * 112 * 112);
        assert_eq!(stage_peak_elements(14), 576 * 14 * 14);
        assert_eq!(stage_peak_elements(17), 960 * 7 * 7);
        assert_eq!(stage_peak_elements(18), 1280 * 7 * 7);
        let peak = (0..STAGES).map(stage_peak_elements).max();
        assert_eq!(peak, Some(96 * 112 * 112));
    }

    #[test]
    fn shapes_through_the_network() {
        let device = Device::flex();
        let net = MobileNetV2Config::new().with_num_classes(5).init(&device);
        assert_eq!(net.blocks.len(), 17);
        let x = Tensor::<4>::zeros([2, 3, 224, 224], &device);
        let cut = net.forward_stages(x.clone(), 0, 13);
        assert_eq!(cut.dims(), [2, 96, 14, 14]);
        assert_eq!(
            net.forward_stages(cut, 14, LAST_STAGE).dims(),
            [2, 1280, 7, 7]
        );
        assert_eq!(net.forward(x).unwrap().dims(), [2, 5]);
    }
}
