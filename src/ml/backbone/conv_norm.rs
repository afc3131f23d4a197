//! `Conv2d -> BatchNorm -> ReLU6`: torchvision's `Conv2dNormActivation` as MobileNetV2 uses it,
//! and the same triple in EfficientNet-Lite (which pads like TensorFlow and uses another epsilon).

use super::folded_conv::FoldedConv;
pub use super::padding::Padding;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::ops::PadMode;

/// Convolution without bias, batch normalisation, then ReLU6 (unless `activation` is false).
#[derive(Module, Debug)]
pub struct ConvNorm {
    /// `[C_out, C_in / groups, k, k]` weights.
    pub conv: Conv2d,
    /// Per-channel affine normalisation with running statistics.
    pub norm: BatchNorm,
    /// Whether ReLU6 follows (false for the inverted residual's linear bottleneck).
    pub activation: bool,
    /// How the input is padded; lopsided (TensorFlow) padding is applied before `conv`.
    #[module(skip)]
    pub padding: Padding,
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
    /// Square kernel side (1, 3 or 5).
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
    /// Where the zero padding goes.
    #[config(default = "Padding::Symmetric")]
    pub padding: Padding,
    /// BatchNorm's epsilon: PyTorch's default 1e-5 (torchvision); EfficientNet uses 1e-3.
    #[config(default = 1e-5)]
    pub epsilon: f64,
}

impl ConvNormConfig {
    /// Builds the block with randomly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> ConvNorm {
        let conv_padding = if self.padding.is_explicit(self.stride) {
            PaddingConfig2d::Valid
        } else {
            let pad = (self.kernel - 1) / 2;
            PaddingConfig2d::Explicit(pad, pad, pad, pad)
        };
        let conv = Conv2dConfig::new(
            [self.channels_in, self.channels_out],
            [self.kernel, self.kernel],
        )
        .with_stride([self.stride, self.stride])
        .with_groups(self.groups)
        .with_padding(conv_padding)
        .with_bias(false)
        .init(device);
        let norm = BatchNormConfig::new(self.channels_out)
            .with_epsilon(self.epsilon)
            .init(device);
        ConvNorm {
            conv,
            norm,
            activation: self.activation,
            padding: self.padding,
            folded: None,
        }
    }
}

impl ConvNorm {
    /// `[B, C_in, H, W] -> [B, C_out, ceil(H / stride), ceil(W / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.pad(x);
        if let Some(folded) = &self.folded {
            return folded.forward(x);
        }
        let x = self.norm.forward(self.conv.forward(x));
        if self.activation { relu6(x) } else { x }
    }

    /// The padded convolution alone, before normalisation:
    /// `[B, C_in, H, W] -> [B, C_out, ceil(H / stride), ceil(W / stride)]`.
    pub fn convolve(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(self.pad(x))
    }

    /// The lopsided (TensorFlow) padding, where the convolution itself pads nothing:
    /// `[B, C, H, W] -> [B, C, H + top + bottom, W + left + right]`; otherwise `x` unchanged.
    fn pad(&self, x: Tensor<4>) -> Tensor<4> {
        let [stride, _] = self.conv.stride;
        if !self.padding.is_explicit(stride) {
            return x;
        }
        let [_, _, h, w] = x.dims();
        let [kernel, _] = self.conv.kernel_size;
        let (top, bottom) = self.padding.amounts(h, kernel, stride);
        let (left, right) = self.padding.amounts(w, kernel, stride);
        x.pad((left, right, top, bottom), PadMode::Constant(0.0))
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
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn tf_same_amounts_at_224() {
        // The facts a port of EfficientNet-Lite depends on (see the module docs).
        assert_eq!(Padding::TfSame.amounts(224, 3, 2), (0, 1));
        assert_eq!(Padding::TfSame.amounts(112, 5, 2), (1, 2));
        assert_eq!(Padding::TfSame.amounts(14, 5, 1), (2, 2));
        assert_eq!(Padding::TfSame.amounts(7, 1, 1), (0, 0));
        // Odd sides: TensorFlow pads less at stride 2.
        assert_eq!(Padding::TfSame.amounts(7, 3, 2), (1, 1));
        assert_eq!(Padding::Symmetric.amounts(224, 3, 2), (1, 1));
    }

    /// A 3x3 stride-2 convolution summing its window, on a ramp: with TensorFlow padding the
    /// first output sees rows/columns 0..=2 and the last one the zero row/column after the end.
    #[test]
    fn tf_same_pads_after_not_before() {
        let device = Device::flex();
        let mut block = ConvNormConfig::new(1, 1)
            .with_stride(2)
            .with_activation(false)
            .with_padding(Padding::TfSame)
            .init(&device);
        block.conv.weight = burn::module::Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
        let x: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, [1, 1, 4, 4]), &device);
        let y = block
            .forward(x)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        // BatchNorm at init: mean 0, var 1, so y = sum / sqrt(1 + 1e-5).
        let scale = (1.0f32 + 1e-5).sqrt();
        let sums = [
            0. + 1. + 2. + 4. + 5. + 6. + 8. + 9. + 10.,
            2. + 3. + 6. + 7. + 10. + 11.,
            8. + 9. + 10. + 12. + 13. + 14.,
            10. + 11. + 14. + 15.,
        ];
        for (got, sum) in y.iter().zip(sums) {
            assert!((got - sum / scale).abs() < 1e-4, "{y:?}");
        }
    }

    /// A block with non-trivial batch-norm statistics (a fresh one is the identity).
    fn block(
        channels_in: usize,
        kernel: usize,
        groups: usize,
        stride: usize,
        padding: Padding,
        device: &Device,
    ) -> ConvNorm {
        let c = 8;
        let mut b = ConvNormConfig::new(channels_in, c)
            .with_kernel(kernel)
            .with_groups(groups)
            .with_stride(stride)
            .with_padding(padding)
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
        // 1x1 (the CPU kernels), and EfficientNet-Lite's lopsided padding with 3x3 and 5x5.
        let symmetric = Padding::Symmetric;
        for (channels_in, kernel, groups, stride, padding) in [
            (3, 3, 1, 2, symmetric),
            (8, 3, 8, 1, symmetric),
            (8, 3, 8, 2, symmetric),
            (5, 1, 1, 1, symmetric),
            (3, 3, 1, 2, Padding::TfSame),
            (8, 3, 8, 2, Padding::TfSame),
            (8, 5, 8, 2, Padding::TfSame),
            (8, 5, 8, 1, Padding::TfSame),
        ] {
            let b = block(channels_in, kernel, groups, stride, padding, &device);
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
