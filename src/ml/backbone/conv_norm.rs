//! `Conv2d -> BatchNorm -> ReLU6`, torchvision's `Conv2dNormActivation` as MobileNetV2 uses it.

use super::folded_conv::FoldedConv;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// Convolution without bias, batch normalisation, then ReLU6 (unless `activation` is false).
#[derive(Module, Debug)]
pub struct ConvNorm {
    /// `[C_out, C_in / groups, k, k]` weights.
    pub conv: Conv2d,
    /// Per-channel affine normalisation with running statistics.
    pub norm: BatchNorm,
    /// Whether ReLU6 follows (false for the inverted residual's linear bottleneck).
    pub activation: bool,
    /// `conv` with `norm` folded into its weights and a bias, and the activation (see
    /// [`ConvNorm::fold_norm`]): one convolution instead of a convolution and four broadcast
    /// ops. Inference only; derived from the fields above, so never saved in a record.
    #[module(skip)]
    pub folded: Option<FoldedConv>,
}

/// Shape of a [`ConvNorm`].
#[derive(Config, Debug)]
pub struct ConvNormConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Square kernel side (1 or 3).
    #[config(default = 3)]
    pub kernel: usize,
    /// Stride (1 or 2).
    #[config(default = 1)]
    pub stride: usize,
    /// Channel groups: `channels_in` for a depthwise convolution.
    #[config(default = 1)]
    pub groups: usize,
    /// ReLU6 after the normalisation.
    #[config(default = true)]
    pub activation: bool,
}

impl ConvNormConfig {
    /// Builds the block with randomly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> ConvNorm {
        // torchvision pads `(k - 1) / 2` on each side.
        let pad = (self.kernel - 1) / 2;
        let conv = Conv2dConfig::new(
            [self.channels_in, self.channels_out],
            [self.kernel, self.kernel],
        )
        .with_stride([self.stride, self.stride])
        .with_groups(self.groups)
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device);
        // torchvision's BatchNorm2d defaults: eps 1e-5.
        let norm = BatchNormConfig::new(self.channels_out)
            .with_epsilon(1e-5)
            .init(device);
        ConvNorm {
            conv,
            norm,
            activation: self.activation,
            folded: None,
        }
    }
}

impl ConvNorm {
    /// `[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if let Some(folded) = &self.folded {
            return folded.forward(x);
        }
        let x = self.norm.forward(self.conv.forward(x));
        if self.activation { relu6(x) } else { x }
    }

    /// Keeps batch normalisation in inference mode (running statistics, never updated) even on
    /// an autodiff device, as fine-tuning a pretrained network on a few photos needs. Drops the
    /// folded convolution: it would not follow the weights as they train.
    pub fn freeze_norm_stats(mut self) -> Self {
        self.norm.training = self.norm.training.with_value(false);
        self.folded = None;
        self
    }

    /// Folds inference-mode batch normalisation into the convolution, for a frozen network
    /// (see [`FoldedConv::new`]). Same outputs up to f32 rounding; the batch-norm form stays in
    /// `conv` and `norm` for [`Self::freeze_norm_stats`].
    pub fn fold_norm(mut self) -> Self {
        self.folded = Some(FoldedConv::new(&self.conv, &self.norm, self.activation));
        self
    }
}

/// `min(max(x, 0), 6)`, elementwise.
pub fn relu6(x: Tensor<4>) -> Tensor<4> {
    x.clamp(0.0, 6.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Param, RunningState};
    use burn::tensor::Distribution;

    /// A block with non-trivial batch-norm statistics (a fresh one is the identity).
    fn block(
        channels_in: usize,
        kernel: usize,
        groups: usize,
        stride: usize,
        device: &Device,
    ) -> ConvNorm {
        let c = 8;
        let mut b = ConvNormConfig::new(channels_in, c)
            .with_kernel(kernel)
            .with_groups(groups)
            .with_stride(stride)
            .init(device);
        let random = |d| Tensor::<1>::random([c], d, device);
        b.norm.gamma = Param::from_tensor(random(Distribution::Uniform(0.5, 1.5)));
        b.norm.beta = Param::from_tensor(random(Distribution::Normal(0.0, 1.0)));
        b.norm.running_mean = RunningState::new(random(Distribution::Normal(0.0, 1.0)));
        b.norm.running_var = RunningState::new(random(Distribution::Uniform(0.1, 2.0)));
        b
    }

    #[test]
    fn folding_the_norm_keeps_the_outputs() {
        let device = Device::flex();
        // The stem's full 3x3 stride 2 (burn's convolution), depthwise 3x3 stride 1 and 2 and
        // 1x1 (the CPU kernels).
        for (channels_in, kernel, groups, stride) in
            [(3, 3, 1, 2), (8, 3, 8, 1), (8, 3, 8, 2), (5, 1, 1, 1)]
        {
            let b = block(channels_in, kernel, groups, stride, &device);
            let x = Tensor::<4>::random(
                [2, channels_in, 9, 9],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let expected = b.forward(x.clone());
            let folded = b.fold_norm();
            assert!(folded.folded.is_some());
            let diff: f32 = (folded.forward(x.clone()) - expected.clone())
                .abs()
                .max()
                .into_scalar();
            assert!(diff < 1e-5, "folding changed the outputs by {diff}");
            // Fine-tuning trains the batch-norm form, unchanged.
            let unfolded = folded.freeze_norm_stats();
            assert!(unfolded.folded.is_none());
            let diff: f32 = (unfolded.forward(x) - expected).abs().max().into_scalar();
            assert_eq!(diff, 0.0);
        }
    }
}
