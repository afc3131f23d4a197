//! The small trainable classifier on top of the frozen backbone's features.

use crate::core::rng::Rng;
use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::TensorData;

/// A softmax classifier: linear, or one hidden ReLU layer with dropout then linear.
#[derive(Module, Debug)]
pub struct Head {
    /// Optional hidden layer, `[D_in] -> [H]`.
    pub hidden: Option<Linear>,
    /// Output layer, `[D_in or H] -> [classes]`.
    pub output: Linear,
}

/// Shape of a [`Head`].
#[derive(Config, Debug, PartialEq)]
pub struct HeadConfig {
    /// Width of the input features (1280 for MobileNetV2).
    pub inputs: usize,
    /// Number of classes.
    pub classes: usize,
    /// Units of the hidden layer; `None` for a plain linear classifier.
    #[config(default = "None")]
    pub hidden: Option<usize>,
}

impl HeadConfig {
    /// Builds the head with weights drawn from `rng`, PyTorch's `nn.Linear` default
    /// (uniform in `±1/sqrt(fan_in)`), so the same seed gives the same head on every backend.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Head {
        let (hidden, last_in) = match self.hidden {
            Some(h) => (Some(seeded_linear(self.inputs, h, rng, device)), h),
            None => (None, self.inputs),
        };
        Head {
            hidden,
            output: seeded_linear(last_in, self.classes, rng, device),
        }
    }
}

impl Head {
    /// Class logits: `[B, D_in] -> [B, classes]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward_masked(features, None)
    }

    /// Like [`Head::forward`], with a dropout mask `[B, H]` (entries 0 or `1 / (1 - p)`) applied
    /// to the hidden activations. The mask is ignored by a head without a hidden layer.
    pub fn forward_masked(&self, features: Tensor<2>, mask: Option<Tensor<2>>) -> Tensor<2> {
        let x = match &self.hidden {
            Some(hidden) => {
                let h = burn::tensor::activation::relu(hidden.forward(features));
                match mask {
                    Some(m) => h * m,
                    None => h,
                }
            }
            None => features,
        };
        self.output.forward(x)
    }

    /// Units of the hidden layer, if any.
    pub fn hidden_units(&self) -> Option<usize> {
        self.hidden.as_ref().map(|h| h.weight.dims()[1])
    }
}

/// Inverted dropout mask `[rows, cols]`: each entry is 0 with probability `p`, else `1 / (1 - p)`.
pub fn dropout_mask(rows: usize, cols: usize, p: f32, rng: &mut Rng, device: &Device) -> Tensor<2> {
    let keep = 1.0 / (1.0 - p);
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| if rng.uniform() < p { 0.0 } else { keep })
        .collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

fn seeded_linear(inputs: usize, outputs: usize, rng: &mut Rng, device: &Device) -> Linear {
    let bound = 1.0 / (inputs as f32).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
            .collect()
    };
    let weight = draw(inputs * outputs);
    let bias = draw(outputs);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(weight, [inputs, outputs]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [outputs]),
            device,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_seeding() {
        let device = Device::flex();
        let cfg = HeadConfig::new(8, 3).with_hidden(Some(4));
        let a = cfg.init(&mut Rng::new(1), &device);
        let b = cfg.init(&mut Rng::new(1), &device);
        assert_eq!(a.hidden_units(), Some(4));
        let x = Tensor::<2>::ones([2, 8], &device);
        let ya = a
            .forward(x.clone())
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let yb = b.forward(x).into_data().try_into_vec_as::<f32>().unwrap();
        assert_eq!(ya.len(), 6);
        assert_eq!(ya, yb);
    }

    #[test]
    fn dropout_mask_keeps_expectation() {
        let device = Device::flex();
        let m = dropout_mask(100, 100, 0.2, &mut Rng::new(2), &device);
        let v = m.into_data().try_into_vec_as::<f32>().unwrap();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        assert!(v.iter().all(|&x| x == 0.0 || (x - 1.25).abs() < 1e-6));
    }
}
