//! The "without transfer" baseline: the backbone with random convolutions whose batch
//! normalisation uses statistics of the user's own photos.
//!
//! [`super::weights::random_backbone`] alone leaves every BatchNorm at its initial running
//! statistics (mean 0, variance 1), i.e. the identity. Random convolutions then shift and scale
//! activations arbitrarily from layer to layer, and by the last stage the features of any two
//! photos point almost the same way (mean cosine similarity 0.99 on the pets photos, against 0.59
//! for the pretrained backbone). A head trained on them answers one class for every photo for
//! some seeds (0.50 on cat/dog, 0.44 on cat/dog/other: the first class's share).
//!
//! A randomly initialised network is never used like that. Trained from scratch, its BatchNorm
//! layers normalise with batch statistics from the first step; data-dependent initialisation
//! (Krähenbühl et al., "Data-dependent Initializations of Convolutional Neural Networks", ICLR
//! 2016; Mishkin & Matas, "All you need is a good init", ICLR 2016) does the same once, before
//! training. Here: layer by layer, from the input up, each BatchNorm's running mean and variance
//! are set to the per-channel mean and variance of its input over the calibration photos (the
//! training photos, never the validation ones), with the earlier layers already calibrated; then
//! everything is frozen. Every channel of every layer is then zero-mean and unit-variance on the
//! user's photos before its ReLU6, as in a freshly initialised network in training mode.
//!
//! That makes the comparison fair: the head, its training and the split are the same, the
//! architecture and the normalisation are the same, and the baseline's features adapt to the
//! user's photos as far as statistics alone can. The only thing it lacks is what ImageNet taught
//! the pretrained weights, which is what the gap measures.
//!
//! Measured (examples/transfer_report.rs): its features are no longer degenerate (mean cosine
//! similarity 0.92, outputs finite and varied for most seeds), but on the pets photos with 20 a
//! class it still does not beat chance at any cut point, and neither does a 7x7 thumbnail of the
//! pixels: without learned features, 20 photos a class do not separate cats from dogs. A head
//! can still collapse onto one class for some seeds; check its outputs with
//! [`crate::core::output_check::check_outputs`] before showing its accuracy.

use super::backbone::conv_norm::ConvNorm;
use super::backbone::inverted_residual::InvertedResidual;
use super::backbone::{Backbone, BackboneKind};
use super::error::MlError;
use super::features::{EXTRACT_BATCH, input_batch};
use super::weights::random_backbone;
use burn::module::RunningState;
use burn::prelude::*;

/// Photos the statistics are estimated from, at most. Each photo gives thousands of positions per
/// channel (12,544 at stage 1, 49 at the last stage), so 64 photos pin the statistics down well;
/// more would only cost time and memory (the stage boundary activations of every calibration
/// photo are held at once: 1.6 MB a photo at the widest).
pub const CALIBRATION_PHOTOS: usize = 64;

/// The random `kind` backbone of `seed` ([`random_backbone`]) with its batch normalisation
/// calibrated on `inputs` (see [`calibrate_norms`]). Same `seed` and photos: the same network.
pub async fn calibrated_random_backbone(
    kind: BackboneKind,
    seed: u64,
    inputs: &[&[f32]],
    batch: usize,
    device: &Device,
    pause: &mut impl AsyncFnMut(),
) -> Result<Backbone, MlError> {
    calibrate_norms(
        random_backbone(kind, seed, device),
        inputs,
        batch,
        device,
        pause,
    )
    .await
}

/// Sets every BatchNorm's running statistics of `net` to those of its input over the first
/// [`CALIBRATION_PHOTOS`] of `inputs` (each a preprocessed photo `[3, 224, 224]`), layer by
/// layer from the input up; `batch` photos go through at a time. Weights, `gamma` and `beta` are
/// unchanged. `pause` is awaited after every layer (the browser yields there, see
/// [`super::features::extract`]).
pub async fn calibrate_norms(
    net: Backbone,
    inputs: &[&[f32]],
    batch: usize,
    device: &Device,
    pause: &mut impl AsyncFnMut(),
) -> Result<Backbone, MlError> {
    let photos = &inputs[..inputs.len().min(CALIBRATION_PHOTOS)];
    if photos.is_empty() {
        return Err(MlError::BadSetting(
            "the baseline needs at least one photo to calibrate on".into(),
        ));
    }
    let mut batches = Vec::new();
    for chunk in photos.chunks(batch.clamp(1, EXTRACT_BATCH)) {
        batches.push(input_batch(chunk, device)?);
    }
    Ok(calibrate_batches(net, batches, pause).await)
}

/// [`calibrate_norms`] on input batches `[B, 3, H, W]` already on the device.
pub async fn calibrate_batches(
    net: Backbone,
    xs: Vec<Tensor<4>>,
    pause: &mut impl AsyncFnMut(),
) -> Backbone {
    // Both networks are a stem, inverted residual blocks and a last 1x1 convolution.
    match net {
        Backbone::MobileNetV2(mut n) => {
            let layers = (n.stem, std::mem::take(&mut n.blocks), n.last);
            (n.stem, n.blocks, n.last) = calibrate_layers(layers, xs, pause).await;
            Backbone::MobileNetV2(n)
        }
        Backbone::EfficientNetLite0(mut n) => {
            let layers = (n.stem, std::mem::take(&mut n.blocks), n.last);
            (n.stem, n.blocks, n.last) = calibrate_layers(layers, xs, pause).await;
            Backbone::EfficientNetLite0(n)
        }
    }
}

/// A stem, blocks and last convolution, in the order the input goes through them.
type Layers = (ConvNorm, Vec<InvertedResidual>, ConvNorm);

async fn calibrate_layers(
    (stem, blocks, last): Layers,
    mut xs: Vec<Tensor<4>>,
    pause: &mut impl AsyncFnMut(),
) -> Layers {
    let stem = fit_norm(stem, xs.iter().cloned());
    pause().await;
    xs = xs.into_iter().map(|x| stem.forward(x)).collect();

    let mut calibrated = Vec::with_capacity(blocks.len());
    for mut block in blocks {
        // Each layer's input runs through the block's layers calibrated before it.
        if let Some(expand) = block.expand.take() {
            block.expand = Some(fit_norm(expand, xs.iter().cloned()));
            pause().await;
        }
        let expanded = |b: &InvertedResidual, x: Tensor<4>| match &b.expand {
            Some(e) => e.forward(x),
            None => x,
        };
        let inputs: Vec<Tensor<4>> = xs.iter().map(|x| expanded(&block, x.clone())).collect();
        block.depthwise = fit_norm(block.depthwise, inputs.into_iter());
        pause().await;
        let inputs: Vec<Tensor<4>> = xs
            .iter()
            .map(|x| block.depthwise.forward(expanded(&block, x.clone())))
            .collect();
        block.project = fit_norm(block.project, inputs.into_iter());
        pause().await;
        xs = xs.into_iter().map(|x| block.forward(x)).collect();
        calibrated.push(block);
    }

    let last = fit_norm(last, xs.into_iter());
    pause().await;
    (stem, calibrated, last)
}

/// Sets `layer`'s BatchNorm running statistics to the per-channel mean and (population)
/// variance of its convolution's output over all `inputs` batches, combined exactly across
/// batches (Chan, Golub & LeVeque, "Updating formulae and a pairwise algorithm for computing
/// sample variances", 1979). Stays on the device: nothing is read back.
fn fit_norm(mut layer: ConvNorm, inputs: impl Iterator<Item = Tensor<4>>) -> ConvNorm {
    // Per batch: positions counted, channel means [C], channel sums of squared deviations [C].
    let mut parts: Vec<(f32, Tensor<1>, Tensor<1>)> = Vec::new();
    for x in inputs {
        let y = layer.convolve(x); // [B, C, H, W]
        let [b, c, h, w] = y.dims();
        let mean = y.clone().mean_dim(0).mean_dim(2).mean_dim(3); // [1, C, 1, 1]
        let dev = y - mean.clone();
        let m2 = (dev.clone() * dev).sum_dim(0).sum_dim(2).sum_dim(3); // [1, C, 1, 1]
        parts.push(((b * h * w) as f32, mean.reshape([c]), m2.reshape([c])));
    }
    let total: f32 = parts.iter().map(|p| p.0).sum();
    let mean = parts
        .iter()
        .map(|(n, m, _)| m.clone().mul_scalar(*n / total))
        .reduce(|a, b| a + b)
        .expect("at least one batch");
    let m2 = parts
        .into_iter()
        .map(|(n, m, m2)| {
            let shift = m - mean.clone();
            m2 + (shift.clone() * shift).mul_scalar(n)
        })
        .reduce(|a, b| a + b)
        .expect("at least one batch");
    layer.norm.running_mean = RunningState::new(mean);
    layer.norm.running_var = RunningState::new(m2.div_scalar(total));
    layer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::backbone::global_pool;
    use burn::tensor::Distribution;

    /// Per-channel mean and variance of `[B, C, H, W]`, read back.
    fn channel_stats(y: Tensor<4>) -> (Vec<f32>, Vec<f32>) {
        let [_, c, _, _] = y.dims();
        let mean = y.clone().mean_dim(0).mean_dim(2).mean_dim(3);
        let dev = y - mean.clone();
        let var = (dev.clone() * dev).mean_dim(0).mean_dim(2).mean_dim(3);
        let read = |t: Tensor<4>| t.reshape([c]).into_data().try_into_vec_as::<f32>().unwrap();
        (read(mean), read(var))
    }

    /// Small inputs keep the test fast: the network is fully convolutional up to the pool.
    fn inputs(device: &Device) -> Vec<Tensor<4>> {
        (0..3)
            .map(|_| Tensor::<4>::random([2, 3, 64, 64], Distribution::Normal(0.5, 1.0), device))
            .collect()
    }

    #[test]
    fn every_norm_standardises_its_input_over_the_photos() {
        let device = Device::flex();
        let xs = inputs(&device);
        for kind in BackboneKind::ALL {
            let net = crate::block_on(calibrate_batches(
                random_backbone(kind, 3, &device),
                xs.clone(),
                &mut async || {},
            ));
            let x = Tensor::cat(xs.clone(), 0);
            let last_stage = kind.last_stage();
            // The stem: BatchNorm output before ReLU6 is zero-mean, unit-variance per channel.
            let stem = net.stem().norm.forward(net.stem().convolve(x.clone()));
            // The last stage, through all calibrated stages before it.
            let before_last = net.forward_stages(x, 0, last_stage - 1);
            let last = net.last().norm.forward(net.last().convolve(before_last));
            for y in [stem, last] {
                let (mean, var) = channel_stats(y);
                assert!(
                    mean.iter().all(|m| m.abs() < 1e-3),
                    "{kind}: means {mean:?}"
                );
                // Dead channels (all-zero input) stay at zero variance.
                assert!(
                    var.iter().all(|v| (v - 1.0).abs() < 1e-2 || *v < 1e-6),
                    "{kind}: variances {var:?}"
                );
            }
        }
    }

    /// Mean over channels of the pooled features' standard deviation across photos.
    fn spread(net: &Backbone, x: Tensor<4>) -> f32 {
        let last_stage = net.kind().last_stage();
        let f = global_pool(net.forward_stages(x, 0, last_stage)); // [N, 1280]
        let values = f.into_data().try_into_vec_as::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()));
        let rows: Vec<&[f32]> = values.chunks(1280).collect();
        let n = rows.len() as f32;
        (0..1280)
            .map(|c| {
                let m = rows.iter().map(|r| r[c]).sum::<f32>() / n;
                (rows.iter().map(|r| (r[c] - m).powi(2)).sum::<f32>() / n).sqrt()
            })
            .sum::<f32>()
            / 1280.0
    }

    #[test]
    fn calibrated_features_vary_between_photos() {
        let device = Device::flex();
        let xs = inputs(&device);
        let x = Tensor::cat(xs.clone(), 0);
        let plain = random_backbone(BackboneKind::MobileNetV2, 3, &device);
        let calibrated = crate::block_on(calibrate_batches(plain.clone(), xs, &mut async || {}));
        let (before, after) = (spread(&plain, x.clone()), spread(&calibrated, x));
        println!("feature spread across photos: {before} uncalibrated, {after} calibrated");
        assert!(after > 0.05, "{before} -> {after}");
    }

    #[test]
    fn no_photos_is_an_error() {
        let device = Device::flex();
        let out = crate::block_on(calibrated_random_backbone(
            BackboneKind::MobileNetV2,
            1,
            &[],
            8,
            &device,
            &mut async || {},
        ));
        assert!(matches!(out, Err(MlError::BadSetting(_))));
    }
}
