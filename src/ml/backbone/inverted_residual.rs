//! MobileNetV2's inverted residual block (Sandler et al. 2018, fig. 3b; torchvision's
//! `InvertedResidual`): 1x1 expansion, 3x3 depthwise, 1x1 linear projection, and a skip
//! connection when the shape allows.

use super::conv_norm::{ConvNorm, ConvNormConfig};
use burn::prelude::*;

/// One inverted residual block.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    /// 1x1 expansion to `expand_ratio * C_in` channels; absent when the ratio is 1.
    pub expand: Option<ConvNorm>,
    /// 3x3 depthwise convolution, carries the stride.
    pub depthwise: ConvNorm,
    /// 1x1 linear bottleneck back to `C_out` channels (no activation).
    pub project: ConvNorm,
    /// Whether the input is added to the output (stride 1 and `C_in == C_out`).
    pub residual: bool,
}

/// Shape of an [`InvertedResidual`].
#[derive(Config, Debug)]
pub struct InvertedResidualConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Stride of the depthwise convolution (1 or 2).
    pub stride: usize,
    /// Expansion factor `t` of the hidden layer.
    pub expand_ratio: usize,
}

impl InvertedResidualConfig {
    /// Builds the block with randomly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> InvertedResidual {
        let hidden = self.channels_in * self.expand_ratio;
        let expand = (self.expand_ratio != 1).then(|| {
            ConvNormConfig::new(self.channels_in, hidden)
                .with_kernel(1)
                .init(device)
        });
        InvertedResidual {
            expand,
            depthwise: ConvNormConfig::new(hidden, hidden)
                .with_stride(self.stride)
                .with_groups(hidden)
                .init(device),
            project: ConvNormConfig::new(hidden, self.channels_out)
                .with_kernel(1)
                .with_activation(false)
                .init(device),
            residual: self.stride == 1 && self.channels_in == self.channels_out,
        }
    }
}

impl InvertedResidual {
    /// `[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = match &self.expand {
            Some(expand) => expand.forward(input.clone()),
            None => input.clone(),
        };
        let x = self.project.forward(self.depthwise.forward(x));
        if self.residual { x + input } else { x }
    }

    /// Batch normalisation of every layer kept in inference mode (see
    /// [`ConvNorm::freeze_norm_stats`]).
    pub fn freeze_norm_stats(self) -> Self {
        InvertedResidual {
            expand: self.expand.map(ConvNorm::freeze_norm_stats),
            depthwise: self.depthwise.freeze_norm_stats(),
            project: self.project.freeze_norm_stats(),
            residual: self.residual,
        }
    }

    /// Every layer's batch normalisation folded into its convolution, for inference (see
    /// [`ConvNorm::fold_norm`]).
    pub fn fold_norm(self) -> Self {
        InvertedResidual {
            expand: self.expand.map(ConvNorm::fold_norm),
            depthwise: self.depthwise.fold_norm(),
            project: self.project.fold_norm(),
            residual: self.residual,
        }
    }
}
