//! The trainable part of a Whisker model: the unfrozen last stages of the backbone (if any) and
//! the head. Training only ever touches this module; the frozen stages before it run once per
//! photo and their output is cached.
//!
//! Both backbones end the same way (blocks, a 1x1 convolution to 1280 channels, global pooling),
//! so one classifier serves both; it remembers which backbone's stages it holds.
//!
//! A head alone may also sit on the pooled output of an earlier stage (a cut point of
//! [`super::cut::cut_points`]); its input width is then that stage's channel count. Fine-tuned
//! blocks always end in the last stage.

use super::backbone::conv_norm::ConvNorm;
use super::backbone::inverted_residual::InvertedResidual;
use super::backbone::{Backbone, BackboneKind, global_pool};
use super::cut::Cut;
use super::error::MlError;
use super::head::Head;
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::TensorData;

/// Fine-tuned backbone stages followed by the head.
#[derive(Module, Debug)]
pub struct Classifier {
    /// Fine-tuned blocks, stages `cut + 1 ..= last - 1` (empty without fine-tuning).
    pub blocks: Vec<InvertedResidual>,
    /// The fine-tuned final 1x1 convolution (the last stage), when any stage is fine-tuned.
    pub last: Option<ConvNorm>,
    /// The classifier head on the pooled features of [`Classifier::head_stage`] (1280-d at the
    /// last stage).
    pub head: Head,
    /// The backbone whose stages these are (and whose cut-stage activations the input is).
    #[module(skip)]
    pub backbone: BackboneKind,
    /// The stage whose globally pooled output the head takes: the last stage, unless a head alone
    /// sits at an earlier cut point.
    #[module(skip)]
    pub head_stage: usize,
}

impl Classifier {
    /// A classifier that fine-tunes the backbone's last `fine_tune_blocks` blocks, starting from
    /// the backbone's weights, with `head` on top. Batch normalisation stays in inference mode.
    ///
    /// Panics if the backbone has fewer blocks to fine-tune
    /// ([`BackboneKind::max_fine_tune_blocks`]).
    pub fn new(backbone: &Backbone, fine_tune_blocks: usize, head: Head) -> Self {
        let kind = backbone.kind();
        assert!(fine_tune_blocks <= kind.max_fine_tune_blocks());
        if fine_tune_blocks == 0 {
            return Self::head_only(kind, head);
        }
        // Stage k is blocks[k - 1].
        let cut = kind.cut_stage(fine_tune_blocks);
        Classifier {
            blocks: backbone.blocks()[cut..]
                .iter()
                .cloned()
                .map(InvertedResidual::freeze_norm_stats)
                .collect(),
            last: Some(backbone.last().clone().freeze_norm_stats()),
            head,
            backbone: kind,
            head_stage: kind.last_stage(),
        }
    }

    /// A classifier without fine-tuned stages: `head` on the pooled features of `backbone`'s
    /// last stage.
    pub fn head_only(backbone: BackboneKind, head: Head) -> Self {
        Self::head_at(backbone, backbone.last_stage(), head)
    }

    /// A classifier without fine-tuned stages: `head` on the globally pooled output of `stage`
    /// of `backbone` (`head` takes `backbone.stage_channels(stage)` values).
    pub fn head_at(backbone: BackboneKind, stage: usize, head: Head) -> Self {
        Classifier {
            blocks: Vec::new(),
            last: None,
            head,
            backbone,
            head_stage: stage,
        }
    }

    /// Number of fine-tuned blocks.
    pub fn fine_tune_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The backbone stage whose output this classifier takes (pooled or whole, see
    /// [`Classifier::input`]): the frozen stage below the fine-tuned blocks, else the head's
    /// stage. The backbone runs only up to it.
    pub fn input_stage(&self) -> usize {
        self.input().stage
    }

    /// What this classifier takes from the frozen backbone: the whole activations of the stage
    /// below the fine-tuned blocks, or, for a head alone, the pooled output of its stage.
    pub fn input(&self) -> Cut {
        if self.blocks.is_empty() {
            Cut::pooled(self.head_stage)
        } else {
            Cut::whole(self.backbone.cut_stage(self.blocks.len()))
        }
    }

    /// The earlier stage a head alone sits on, `None` at the last stage (the default). What a
    /// model file records.
    pub fn earlier_cut(&self) -> Option<usize> {
        (self.head_stage != self.backbone.last_stage()).then_some(self.head_stage)
    }

    /// Class logits from the cut stage's activations, with an optional dropout mask for the
    /// head's hidden layer: `[B, C_cut, H, W] -> [B, classes]`. Without fine-tuning the input is
    /// the pooled features of the head's stage as `[B, C_stage, 1, 1]`.
    pub fn forward_masked(&self, x: Tensor<4>, mask: Option<Tensor<2>>) -> Tensor<2> {
        let features = self.features(x);
        self.head.forward_masked(features, mask)
    }

    /// Class logits: `[B, C_cut, H, W] -> [B, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_masked(x, None)
    }

    /// Pooled features after the fine-tuned stages: `[B, C_cut, H, W] -> [B, 1280]` (a head
    /// alone: `[B, C_stage, 1, 1] -> [B, C_stage]`).
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

/// A copy of `classifier` whose values live on the CPU, read back from its device without
/// blocking. Writing a model file reads every value synchronously, which WebGPU in the browser
/// cannot do (the engine's worker died on the first "Download model" after training on WebGPU).
pub async fn to_host(classifier: &Classifier) -> Result<Classifier, MlError> {
    /// Every float value of a module, flattened, in visiting order.
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.0.push(t.reshape([n]));
        }
    }
    /// Puts the values back, in the same order, on `device`.
    struct Fill {
        values: std::collections::VecDeque<TensorData>,
        device: Device,
    }
    impl ModuleMapper for Fill {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(data) = self.values.pop_front() else {
                return param;
            };
            let device = self.device.clone();
            param.map(|t| Tensor::<1>::from_data(data, &device).reshape(t.dims()))
        }
    }

    let mut collect = Collect(Vec::new());
    classifier.visit(&mut collect);
    let mut values = std::collections::VecDeque::with_capacity(collect.0.len());
    for t in collect.0 {
        values.push_back(t.into_data_async().await.map_err(MlError::read)?);
    }
    Ok(classifier.clone().map(&mut Fill {
        values,
        device: Device::flex(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::Rng;
    use crate::ml::head::HeadConfig;
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::Distribution;

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

    /// Fine-tuning updates weights but never the BatchNorm running statistics, on either
    /// backbone (EfficientNet-Lite's blocks also carry its lopsided padding through the fork),
    /// also when the backbone's batch norms are folded for extraction (as loaded records are).
    #[test]
    fn fine_tuning_keeps_batchnorm_statistics() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            // Loaded records are folded for extraction; fine-tuned blocks train unfolded.
            let backbone = Backbone::init(kind, &device).fold_norm();
            let head = HeadConfig::new(1280, 2).init(&mut Rng::new(0), &device);
            let ad = device.clone().autodiff();
            let model = Classifier::new(&backbone, 2, head).fork(&ad).train();
            assert_eq!(model.fine_tune_blocks(), 2);
            assert!(
                model.blocks[0].project.folded.is_none(),
                "fine-tuned blocks train unfolded"
            );
            let cut = kind.cut_stage(2);
            assert_eq!(model.input_stage(), cut);
            let before = running_mean(&model);
            let weight_before = model.blocks[0].project.conv.weight.val().into_data();

            let r = kind.stage_resolution(cut);
            let x = Tensor::<4>::random(
                [4, kind.stage_channels(cut), r, r],
                burn::tensor::Distribution::Default,
                &ad,
            );
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

    /// A head alone at an earlier cut point takes that stage's pooled output (its channel count
    /// wide) and says so; the default takes the last stage's 1280 values; fine-tuned blocks take
    /// whole activations.
    #[test]
    fn a_head_at_an_earlier_cut_takes_that_stages_pooled_output() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let stage = crate::ml::cut::cut_points(kind)[1];
            let width = kind.stage_channels(stage);
            assert_ne!(width, 1280);
            let head = HeadConfig::new(width, 3).init(&mut Rng::new(1), &device);
            let early = Classifier::head_at(kind, stage, head);
            assert_eq!(early.input(), Cut::pooled(stage));
            assert_eq!(early.input_stage(), stage);
            assert_eq!(early.earlier_cut(), Some(stage));
            assert_eq!(early.input().shape(kind), [width, 1, 1]);
            let x = Tensor::<4>::random([2, width, 1, 1], Distribution::Default, &device);
            assert_eq!(early.forward(x).dims(), [2, 3]);

            let head = HeadConfig::new(1280, 3).init(&mut Rng::new(1), &device);
            let last = Classifier::head_only(kind, head.clone());
            assert_eq!(last.input(), Cut::pooled(kind.last_stage()));
            assert_eq!(last.earlier_cut(), None);
            let tuned = Classifier::new(&Backbone::init(kind, &device), 1, head);
            assert_eq!(tuned.input(), Cut::whole(kind.cut_stage(1)));
            assert_eq!(tuned.earlier_cut(), None);
        }
    }

    #[test]
    fn a_host_copy_computes_the_same() {
        let device = Device::flex();
        let backbone = Backbone::init(BackboneKind::MobileNetV2, &device);
        let head = crate::ml::head::HeadConfig::new(1280, 3)
            .init(&mut crate::core::rng::Rng::new(2), &device);
        let classifier = Classifier::new(&backbone, 1, head);
        let host = crate::block_on(to_host(&classifier)).unwrap();
        let [c, h, w] =
            crate::ml::cut::cached_shape(BackboneKind::MobileNetV2, classifier.input_stage());
        let x = Tensor::<4>::random([2, c, h, w], burn::tensor::Distribution::Default, &device);
        classifier
            .forward(x.clone())
            .into_data()
            .assert_approx_eq::<f32>(
                &host.forward(x).into_data(),
                burn::tensor::Tolerance::default(),
            );
    }
}
