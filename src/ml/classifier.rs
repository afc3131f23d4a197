//! The trainable part of a Whisker model: the unfrozen last stages of the backbone (if any) and
//! the head. Training only ever touches this module; the frozen stages before it run once per
//! photo and their output is cached.

use super::backbone::conv_norm::ConvNorm;
use super::backbone::inverted_residual::InvertedResidual;
use super::backbone::mobilenet::{LAST_STAGE, MobileNetV2, global_pool};
use super::head::Head;
use burn::prelude::*;

/// Fine-tuned backbone stages followed by the head.
#[derive(Module, Debug)]
pub struct Classifier {
    /// Fine-tuned inverted residual blocks, stages `cut + 1 ..= 17` (empty without fine-tuning).
    pub blocks: Vec<InvertedResidual>,
    /// The fine-tuned final 1x1 convolution (stage 18), when any stage is fine-tuned.
    pub last: Option<ConvNorm>,
    /// The classifier head on the pooled 1280-d features.
    pub head: Head,
}

/// The frozen stage whose output a [`Classifier`] fine-tuning its last `blocks` inverted residual
/// blocks takes as input. Fine-tuning `n >= 1` blocks also fine-tunes stage 18 (the 1x1
/// convolution to 1280 channels), which every block's output passes through.
pub fn cut_stage(fine_tune_blocks: usize) -> usize {
    if fine_tune_blocks == 0 {
        LAST_STAGE
    } else {
        LAST_STAGE - 1 - fine_tune_blocks
    }
}

/// Most inverted residual blocks that can be fine-tuned (stages 2..=17; the cached activations of
/// stage 1 would take 800 kB a photo).
pub const MAX_FINE_TUNE_BLOCKS: usize = 16;

impl Classifier {
    /// A classifier that fine-tunes the backbone's last `fine_tune_blocks` blocks, starting from
    /// the backbone's weights, with `head` on top. Batch normalisation stays in inference mode.
    pub fn new(backbone: &MobileNetV2, fine_tune_blocks: usize, head: Head) -> Self {
        assert!(fine_tune_blocks <= MAX_FINE_TUNE_BLOCKS);
        let cut = cut_stage(fine_tune_blocks);
        let blocks = if fine_tune_blocks == 0 {
            Vec::new()
        } else {
            // Stage k is blocks[k - 1].
            backbone.blocks[cut..]
                .iter()
                .cloned()
                .map(InvertedResidual::freeze_norm_stats)
                .collect()
        };
        let last = (fine_tune_blocks > 0).then(|| backbone.last.clone().freeze_norm_stats());
        Classifier { blocks, last, head }
    }

    /// Number of fine-tuned inverted residual blocks.
    pub fn fine_tune_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The backbone stage whose output this classifier takes.
    pub fn input_stage(&self) -> usize {
        cut_stage(self.blocks.len())
    }

    /// Class logits from the cut stage's activations, with an optional dropout mask for the
    /// head's hidden layer: `[B, C_cut, H, W] -> [B, classes]`. Without fine-tuning the input is
    /// the pooled features as `[B, 1280, 1, 1]`.
    pub fn forward_masked(&self, x: Tensor<4>, mask: Option<Tensor<2>>) -> Tensor<2> {
        let features = self.features(x);
        self.head.forward_masked(features, mask)
    }

    /// Class logits: `[B, C_cut, H, W] -> [B, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_masked(x, None)
    }

    /// Pooled features after the fine-tuned stages: `[B, C_cut, H, W] -> [B, 1280]`.
    pub fn features(&self, mut x: Tensor<4>) -> Tensor<2> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        if let Some(last) = &self.last {
            x = last.forward(x);
        }
        global_pool(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::Rng;
    use crate::ml::backbone::MobileNetV2Config;
    use crate::ml::head::HeadConfig;
    use burn::optim::{AdamWConfig, GradientsParams};

    fn running_mean(c: &Classifier) -> Vec<f32> {
        c.last
            .as_ref()
            .unwrap()
            .norm
            .running_mean
            .value()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap()
    }

    #[test]
    fn cut_stages() {
        assert_eq!(cut_stage(0), 18);
        assert_eq!(cut_stage(1), 16);
        assert_eq!(cut_stage(3), 14);
    }

    /// Fine-tuning updates weights but never the BatchNorm running statistics, also when the
    /// backbone's batch norms are folded for extraction (as loaded records are).
    #[test]
    fn fine_tuning_keeps_batchnorm_statistics() {
        let device = Device::flex();
        let backbone = MobileNetV2Config::new().init(&device).fold_norm();
        let head = HeadConfig::new(1280, 2).init(&mut Rng::new(0), &device);
        let ad = device.clone().autodiff();
        let model = Classifier::new(&backbone, 1, head).fork(&ad).train();
        assert_eq!(model.fine_tune_blocks(), 1);
        assert!(
            model.blocks[0].project.folded.is_none(),
            "fine-tuned blocks train unfolded"
        );
        assert_eq!(model.input_stage(), 16);
        let before = running_mean(&model);
        let weight_before = model.blocks[0].project.conv.weight.val().into_data();

        let x = Tensor::<4>::random([4, 160, 7, 7], burn::tensor::Distribution::Default, &ad);
        let loss = model.forward(x).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = AdamWConfig::new().init().step(1e-2, model, grads);

        assert_eq!(running_mean(&model), before);
        assert_ne!(
            model.blocks[0].project.conv.weight.val().into_data(),
            weight_before
        );
    }
}
