//! [`Backbone`]: a loaded network of either kind, and what both share.

pub use super::efficientnet_lite::{EfficientNetLite0, EfficientNetLite0Config};
pub use super::mobilenet::{MobileNetV2, MobileNetV2Config};

use super::BackboneKind;
use super::conv_norm::ConvNorm;
use super::inverted_residual::InvertedResidual;
use burn::prelude::*;

/// Mean over the spatial axes: `[B, C, H, W] -> [B, C]`.
pub fn global_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([b, c])
}

/// A loaded backbone of either kind, with its ImageNet classifier.
#[derive(Debug, Clone)]
pub enum Backbone {
    /// See [`MobileNetV2`].
    MobileNetV2(MobileNetV2),
    /// See [`EfficientNetLite0`].
    EfficientNetLite0(EfficientNetLite0),
}

impl Backbone {
    /// A randomly initialised network of `kind` (a skeleton to load a record into).
    pub fn init(kind: BackboneKind, device: &Device) -> Self {
        match kind {
            BackboneKind::MobileNetV2 => MobileNetV2Config::new().init(device).into(),
            BackboneKind::EfficientNetLite0 => EfficientNetLite0Config::new().init(device).into(),
        }
    }

    /// Which network this is.
    pub fn kind(&self) -> BackboneKind {
        match self {
            Backbone::MobileNetV2(_) => BackboneKind::MobileNetV2,
            Backbone::EfficientNetLite0(_) => BackboneKind::EfficientNetLite0,
        }
    }

    /// Applies stages `from..=to` (numbering in the module docs):
    /// `[B, C_{from-1}, H, W] -> [B, C_to, H', W']`; with `from == 0` the input is the
    /// preprocessed image `[B, 3, 224, 224]` ([`BackboneKind::preprocess`]).
    pub fn forward_stages(&self, x: Tensor<4>, from: usize, to: usize) -> Tensor<4> {
        match self {
            Backbone::MobileNetV2(net) => net.forward_stages(x, from, to),
            Backbone::EfficientNetLite0(net) => net.forward_stages(x, from, to),
        }
    }

    /// Globally pooled features of stage `to`: `[B, 3, 224, 224] -> [B, C_to]`.
    pub fn features_until(&self, images: Tensor<4>, to: usize) -> Tensor<2> {
        global_pool(self.forward_stages(images, 0, to))
    }

    /// The 1280-d pooled features the head is trained on: `[B, 3, 224, 224] -> [B, 1280]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        self.features_until(images, self.kind().last_stage())
    }

    /// ImageNet logits: `[B, 3, 224, 224] -> [B, 1000]`; `None` for a backbone loaded without
    /// its ImageNet classifier (the browser's int8 record).
    pub fn forward(&self, images: Tensor<4>) -> Option<Tensor<2>> {
        self.imagenet_logits(self.features(images))
    }

    /// ImageNet logits from the pooled features: `[B, 1280] -> [B, 1000]`; `None` without the
    /// classifier.
    pub fn imagenet_logits(&self, features: Tensor<2>) -> Option<Tensor<2>> {
        let top = match self {
            Backbone::MobileNetV2(net) => net.classifier.as_ref(),
            Backbone::EfficientNetLite0(net) => net.classifier.as_ref(),
        }?;
        Some(top.forward(features))
    }

    /// The backbone without its ImageNet classifier, which transfer learning never uses: the
    /// browser's record leaves its 1.28 M parameters out (a third of MobileNetV2's).
    pub fn without_top(mut self) -> Self {
        match &mut self {
            Backbone::MobileNetV2(net) => net.classifier = None,
            Backbone::EfficientNetLite0(net) => net.classifier = None,
        }
        self
    }

    /// The stem, stage 0: 3x3 stride-2 convolution, 3 -> 32 channels.
    pub fn stem(&self) -> &ConvNorm {
        match self {
            Backbone::MobileNetV2(net) => &net.stem,
            Backbone::EfficientNetLite0(net) => &net.stem,
        }
    }

    /// The blocks, stages `1..=n` (stage `k` is `blocks()[k - 1]`).
    pub fn blocks(&self) -> &[InvertedResidual] {
        match self {
            Backbone::MobileNetV2(net) => &net.blocks,
            Backbone::EfficientNetLite0(net) => &net.blocks,
        }
    }

    /// The last stage: the 1x1 convolution to 1280 channels.
    pub fn last(&self) -> &ConvNorm {
        match self {
            Backbone::MobileNetV2(net) => &net.last,
            Backbone::EfficientNetLite0(net) => &net.last,
        }
    }

    /// Keeps every batch normalisation in inference mode, even on an autodiff device (and drops
    /// the folded form, which would not follow trained weights).
    pub fn freeze_norm_stats(self) -> Self {
        match self {
            Backbone::MobileNetV2(net) => net.freeze_norm_stats().into(),
            Backbone::EfficientNetLite0(net) => net.freeze_norm_stats().into(),
        }
    }

    /// Every batch normalisation folded into its convolution: the frozen backbone's fast form for
    /// extraction (see [`conv_norm::ConvNorm::fold_norm`]).
    pub fn fold_norm(self) -> Self {
        match self {
            Backbone::MobileNetV2(net) => net.fold_norm().into(),
            Backbone::EfficientNetLite0(net) => net.fold_norm().into(),
        }
    }
}

impl From<MobileNetV2> for Backbone {
    fn from(net: MobileNetV2) -> Self {
        Backbone::MobileNetV2(net)
    }
}

impl From<EfficientNetLite0> for Backbone {
    fn from(net: EfficientNetLite0) -> Self {
        Backbone::EfficientNetLite0(net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::backbone::FEATURE_DIM;

    #[test]
    fn either_kind_runs_through_the_same_interface() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let net = Backbone::init(kind, &device);
            assert_eq!(net.kind(), kind);
            assert_eq!(net.blocks().len(), kind.stages() - 2);
            let x = Tensor::<4>::zeros([1, 3, 224, 224], &device);
            let cut = kind.cut_stage(2);
            let mid = net.forward_stages(x.clone(), 0, cut);
            let r = kind.stage_resolution(cut);
            assert_eq!(mid.dims(), [1, kind.stage_channels(cut), r, r]);
            assert_eq!(
                net.forward_stages(mid, cut + 1, kind.last_stage()).dims(),
                [1, FEATURE_DIM, 7, 7]
            );
            assert_eq!(net.features(x).dims(), [1, FEATURE_DIM]);
        }
    }

    /// The stage tables' peaks ([`BackboneKind::stage_peak_elements`]) hold every tensor a real
    /// forward pass makes: each stage's input, expansion, depthwise output and output (and are
    /// exactly the largest of them on MobileNetV2, which pads inside its convolutions).
    #[test]
    fn stage_peaks_hold_every_tensor_of_a_pass() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let net = Backbone::init(kind, &device);
            let mut x = Tensor::<4>::zeros([1, 3, 224, 224], &device);
            for stage in 0..kind.stages() {
                let mut seen = x.shape().num_elements();
                if let Some(block) = stage.checked_sub(1).and_then(|k| net.blocks().get(k)) {
                    let hidden = match &block.expand {
                        Some(e) => e.forward(x.clone()),
                        None => x.clone(),
                    };
                    seen = seen.max(hidden.shape().num_elements());
                    let depthwise = block.depthwise.forward(hidden);
                    seen = seen.max(depthwise.shape().num_elements());
                }
                x = net.forward_stages(x, stage, stage);
                seen = seen.max(x.shape().num_elements());
                let peak = kind.stage_peak_elements(stage);
                assert!(peak >= seen, "{kind} stage {stage}: {peak} < {seen}");
                if kind == BackboneKind::MobileNetV2 {
                    assert_eq!(peak, seen, "{kind} stage {stage}");
                }
            }
        }
    }
}
