//! `Conv2d -> BatchNorm -> ReLU6`, torchvision's `Conv2dNormActivation` as MobileNetV2 uses it.

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
        }
    }
}

impl ConvNorm {
    /// `[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.norm.forward(self.conv.forward(x));
        if self.activation { relu6(x) } else { x }
    }

    /// Keeps batch normalisation in inference mode (running statistics, never updated) even on
    /// an autodiff device, as fine-tuning a pretrained network on a few photos needs.
    pub fn freeze_norm_stats(mut self) -> Self {
        self.norm.training = self.norm.training.with_value(false);
        self
    }
}

/// `min(max(x, 0), 6)`, elementwise.
pub fn relu6(x: Tensor<4>) -> Tensor<4> {
    x.clamp(0.0, 6.0)
}
