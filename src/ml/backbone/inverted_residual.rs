//! The inverted residual block of MobileNetV2 (Sandler et al. 2018, fig. 3b; torchvision's
//! `InvertedResidual`): 1x1 expansion, depthwise convolution, 1x1 linear projection, and a skip
//! connection when the shape allows.
//!
//! EfficientNet's MBConv block (Tan & Le 2019) is this block with squeeze-and-excitation and
//! swish; EfficientNet-Lite drops both and goes back to ReLU6, so it is this block again, with
//! 3x3 or 5x5 depthwise kernels, TensorFlow padding and BatchNorm epsilon 1e-3.

use super::conv_norm::{ConvNorm, ConvNormConfig, Padding};
use burn::prelude::*;

/// One inverted residual block.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    /// 1x1 expansion to `expand_ratio * C_in` channels; absent when the ratio is 1.
    pub expand: Option<ConvNorm>,
    /// kxk depthwise convolution, carries the stride.
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
    /// Side of the depthwise kernel (3 for MobileNetV2; 3 or 5 for EfficientNet-Lite).
    #[config(default = 3)]
    pub kernel: usize,
    /// Padding of the depthwise convolution (the 1x1 ones need none).
    #[config(default = "Padding::Symmetric")]
    pub padding: Padding,
    /// BatchNorm's epsilon.
    #[config(default = 1e-5)]
    pub epsilon: f64,
}

impl InvertedResidualConfig {
    /// Builds the block with randomly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> InvertedResidual {
        let hidden = self.channels_in * self.expand_ratio;
        let pointwise = |c_in, c_out| {
            ConvNormConfig::new(c_in, c_out)
                .with_kernel(1)
                .with_epsilon(self.epsilon)
        };
        let expand =
            (self.expand_ratio != 1).then(|| pointwise(self.channels_in, hidden).init(device));
        InvertedResidual {
            expand,
            depthwise: ConvNormConfig::new(hidden, hidden)
                .with_kernel(self.kernel)
                .with_stride(self.stride)
                .with_groups(hidden)
                .with_padding(self.padding)
                .with_epsilon(self.epsilon)
                .init(device),
            project: pointwise(hidden, self.channels_out)
                .with_activation(false)
                .init(device),
            residual: self.stride == 1 && self.channels_in == self.channels_out,
        }
    }
}

impl InvertedResidual {
    /// `[B, C_in, H, W] -> [B, C_out, ceil(H / stride), ceil(W / stride)]`
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_by_five_tf_same_halves_the_side() {
        let device = Device::flex();
        let block = InvertedResidualConfig::new(24, 40, 2, 6)
            .with_kernel(5)
            .with_padding(Padding::TfSame)
            .with_epsilon(1e-3)
            .init(&device);
        assert!(!block.residual);
        assert_eq!(block.depthwise.conv.weight.dims(), [144, 1, 5, 5]);
        let x = Tensor::<4>::zeros([1, 24, 56, 56], &device);
        assert_eq!(block.forward(x).dims(), [1, 40, 28, 28]);
    }
}
