//! A convolution with inference-mode batch normalisation folded into its weights and bias, and
//! the ReLU6 after it: the frozen backbone's form of a [`super::conv_norm::ConvNorm`].
//!
//! On burn's CPU device the 1x1 and depthwise layers (all but the stem of MobileNetV2) run
//! through [`super::cpu_kernels`], one fused pass each; elsewhere (WebGPU, other shapes) burn's
//! convolution and clamp run.

use super::conv_norm::relu6;
use super::cpu_kernels::{self, Activation, Geometry};
use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::TensorData;
use std::sync::Arc;

/// `relu6?(conv(x))` with batch normalisation folded in. Inference only.
#[derive(Debug, Clone)]
pub struct FoldedConv {
    /// The folded convolution (with bias) as a burn module.
    pub conv: Conv2d,
    /// Whether ReLU6 follows.
    pub activation: bool,
    /// The same weights on the host, for the CPU kernels: set when the network is on the CPU
    /// device and the layer is a 1x1 or depthwise convolution.
    host: Option<Arc<HostConv>>,
}

/// Weights of a layer the CPU kernels run.
#[derive(Debug)]
struct HostConv {
    kind: Kind,
    /// `[C_out, C_in]` (1x1) or `[C, k, k]` (depthwise).
    weight: Vec<f32>,
    /// `[C_out]`
    bias: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pointwise,
    /// Padding `[top, left, bottom, right]`.
    Depthwise([usize; 4]),
}

impl FoldedConv {
    /// Folds `norm` (inference mode) into `conv`: `γ (conv(x) + b − μ) / √(σ² + ε) + β` is the
    /// convolution with weights `W·s` and bias `(b − μ)·s + β`, `s = γ / √(σ² + ε)` per output
    /// channel. Same outputs up to f32 rounding.
    pub fn new(conv: &Conv2d, norm: &BatchNorm, activation: bool) -> Self {
        // [C_out]
        let scale = norm.gamma.val() / norm.running_var.value().add_scalar(norm.epsilon).sqrt();
        let [channels] = scale.dims();
        let shift = match &conv.bias {
            Some(bias) => bias.val() - norm.running_mean.value(),
            None => norm.running_mean.value().neg(),
        };
        let mut folded = conv.clone();
        // [C_out, C_in / groups, k, k] * [C_out, 1, 1, 1]
        folded.weight =
            Param::from_tensor(conv.weight.val() * scale.clone().reshape([channels, 1, 1, 1]));
        folded.bias = Some(Param::from_tensor(shift * scale + norm.beta.val()));
        let host = host_conv(&folded).map(Arc::new);
        FoldedConv {
            conv: folded,
            activation,
            host,
        }
    }

    /// `[B, C_in, H, W] -> [B, C_out, H', W']`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match &self.host {
            Some(host) if x.device() == Device::flex() => self.forward_host(host, x),
            _ => {
                let y = self.conv.forward(x);
                if self.activation { relu6(y) } else { y }
            }
        }
    }

    fn forward_host(&self, host: &HostConv, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let [b, c_in, h, w] = x.dims();
        let c_out = host.bias.len();
        // Zero-copy when `x` is not shared.
        let input = x
            .into_data()
            .try_into_vec::<f32>()
            .expect("the backbone runs in f32");
        let activation = if self.activation {
            Activation::Relu6
        } else {
            Activation::None
        };
        let (oh, ow, output) = match host.kind {
            Kind::Pointwise => {
                let mut out = vec![0.0; b * c_out * h * w];
                cpu_kernels::pointwise(
                    &input,
                    &host.weight,
                    &host.bias,
                    h * w,
                    activation,
                    &mut out,
                );
                (h, w, out)
            }
            Kind::Depthwise([top, left, bottom, right]) => {
                let [k, _] = self.conv.kernel_size;
                let s = self.conv.stride[0];
                let geometry = Geometry {
                    input: [h, w],
                    output: [
                        (h + top + bottom - k) / s + 1,
                        (w + left + right - k) / s + 1,
                    ],
                    kernel: k,
                    stride: s,
                    pad: [top, left],
                };
                let [oh, ow] = geometry.output;
                let mut out = vec![0.0; b * c_in * oh * ow];
                cpu_kernels::depthwise(
                    &input,
                    &host.weight,
                    &host.bias,
                    &geometry,
                    activation,
                    &mut out,
                );
                (oh, ow, out)
            }
        };
        Tensor::from_data(TensorData::new(output, [b, c_out, oh, ow]), &device)
    }
}

/// The host copy of a folded convolution the CPU kernels cover, if it is on the CPU device.
fn host_conv(conv: &Conv2d) -> Option<HostConv> {
    let weight = conv.weight.val();
    if weight.device() != Device::flex() || conv.dilation != [1, 1] {
        return None;
    }
    let [c_out, c_per_group, kh, kw] = weight.dims();
    let kind = match conv.padding {
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
            if kh == 1 && kw == 1 && conv.stride == [1, 1] && conv.groups == 1 =>
        {
            Kind::Pointwise
        }
        // Valid: a lopsided (TensorFlow) padding the block applies before the convolution.
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(..)
            if c_per_group == 1
                && conv.groups == c_out
                && kh == kw
                && conv.stride[0] == conv.stride[1]
                && conv.stride[0] <= 2 =>
        {
            Kind::Depthwise(match conv.padding {
                PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
                _ => [0; 4],
            })
        }
        _ => return None,
    };
    let values = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().ok();
    Some(HostConv {
        kind,
        weight: values(weight.flatten(0, 3))?,
        bias: values(conv.bias.as_ref()?.val())?,
    })
}
