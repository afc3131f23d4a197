//! Backbone weights: torchvision's `.pth` (native converter only) and our burnpack records.
//!
//! The records are made once by `whisker-convert` and shipped as static files: an f32 one for
//! native use and an f16 one (half the bytes) for the browser. BatchNorm stays f32 in both.

use super::backbone::{MobileNetV2, MobileNetV2Config};
use super::error::MlError;
use burn::prelude::*;
use burn::store::{ApplyResult, BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::Bytes;

/// Identifies the pretrained backbone in model files.
pub const BACKBONE_ID: &str = "torchvision/mobilenet_v2/IMAGENET1K_V1";
/// sha256 of torchvision's `mobilenet_v2-b0353104.pth`, the source of every record.
pub const TORCHVISION_SHA256: &str =
    "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889";
/// Default file name of the f32 record, in `static/models/`.
pub const RECORD_F32: &str = "mobilenet_v2.f32.bpk";
/// Default file name of the f16 record, in `static/models/`.
pub const RECORD_F16: &str = "mobilenet_v2.f16.bpk";
/// Parameters and buffers of MobileNetV2 with its classifier, as torchvision counts state-dict
/// entries minus the 52 `num_batches_tracked` counters.
pub const TENSOR_COUNT: usize = 262;

/// Storage precision of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Full precision.
    F32,
    /// Convolution and linear weights in f16; BatchNorm in f32.
    F16,
}

/// Regex rules mapping torchvision's state-dict keys onto our module tree.
///
/// torchvision: `features.0` stem, `features.1..=17` inverted residuals (`conv.*`), `features.18`
/// final conv, `classifier.1` linear. Ours: `stem`, `blocks.0..=16`, `last`, `classifier`.
pub fn torchvision_key_patterns() -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = vec![
        (r"^features\.0\.0\.(.+)$".into(), "stem.conv.$1".into()),
        (r"^features\.0\.1\.(.+)$".into(), "stem.norm.$1".into()),
        (r"^features\.18\.0\.(.+)$".into(), "last.conv.$1".into()),
        (r"^features\.18\.1\.(.+)$".into(), "last.norm.$1".into()),
        (r"^classifier\.1\.(.+)$".into(), "classifier.$1".into()),
        // Block 1 has no expansion layer, so its sub-indices are shifted by one.
        (
            r"^features\.1\.conv\.0\.0\.(.+)$".into(),
            "blocks.0.depthwise.conv.$1".into(),
        ),
        (
            r"^features\.1\.conv\.0\.1\.(.+)$".into(),
            "blocks.0.depthwise.norm.$1".into(),
        ),
        (
            r"^features\.1\.conv\.1\.(.+)$".into(),
            "blocks.0.project.conv.$1".into(),
        ),
        (
            r"^features\.1\.conv\.2\.(.+)$".into(),
            "blocks.0.project.norm.$1".into(),
        ),
    ];
    for stage in 2..=17 {
        let b = stage - 1;
        for (from, to) in [
            ("conv.0.0", "expand.conv"),
            ("conv.0.1", "expand.norm"),
            ("conv.1.0", "depthwise.conv"),
            ("conv.1.1", "depthwise.norm"),
            ("conv.2", "project.conv"),
            ("conv.3", "project.norm"),
        ] {
            p.push((
                format!(r"^features\.{stage}\.{}\.(.+)$", from.replace('.', r"\.")),
                format!("blocks.{b}.{to}.$1"),
            ));
        }
    }
    p
}

/// Loads torchvision's MobileNetV2 state dict (`.pth`) through burn-store's PyTorch reader.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_torchvision(path: &std::path::Path, device: &Device) -> Result<MobileNetV2, MlError> {
    use burn::store::{KeyRemapper, PytorchStore};
    let name = path.display().to_string();
    let remapper = KeyRemapper::from_patterns(torchvision_key_patterns())
        .map_err(|e| MlError::weights(&name, e.to_string()))?;
    let mut store = PytorchStore::from_file(path)
        .remap(remapper)
        .map_indices_contiguous(false)
        .allow_partial(true);
    let mut model = MobileNetV2Config::new().init(device);
    let result = model
        .load_from(&mut store)
        .map_err(|e| MlError::weights(&name, e))?;
    check_complete(&name, &result)?;
    Ok(model)
}

/// Serialises the network as a burnpack record in memory.
pub fn record_bytes(model: &MobileNetV2, precision: Precision) -> Result<Vec<u8>, MlError> {
    let mut store = BurnpackStore::from_bytes(None);
    if precision == Precision::F16 {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model
        .save_into(&mut store)
        .map_err(|e| MlError::weights("record", e))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| MlError::weights("record", e))?;
    Ok(bytes.to_vec())
}

/// Builds the pretrained backbone from a burnpack record's bytes (f32 or f16; f16 is detected by
/// the caller's `precision`). Every tensor of the network must be in the record.
///
/// The backbone comes back with batch normalisation folded into its convolutions
/// ([`MobileNetV2::fold_norm`]), the fast form for extracting features; blocks taken from it for
/// fine-tuning train the batch-norm form.
pub fn load_record(
    name: &str,
    bytes: Vec<u8>,
    precision: Precision,
    device: &Device,
) -> Result<MobileNetV2, MlError> {
    let mut store =
        BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes))).allow_partial(true);
    if precision == Precision::F16 {
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    let mut model = MobileNetV2Config::new().init(device);
    let result = model
        .load_from(&mut store)
        .map_err(|e| MlError::weights(name, e))?;
    check_complete(name, &result)?;
    Ok(model.fold_norm())
}

/// A randomly initialised backbone, the same for a given seed on every platform: the baseline
/// that shows how much the pretrained weights help (positive or negative transfer).
///
/// Convolutions are Kaiming-normal in `fan_in` mode (per group), BatchNorm is identity (running
/// mean 0, variance 1), the classifier normal with std 0.01. torchvision's own `fan_out` mode
/// relies on BatchNorm in training mode to rescale: with inference-mode BatchNorm its depthwise
/// layers shrink activations by their channel count each, and the features vanish to zero by
/// stage 10, which would make the baseline meaningless. `fan_in` keeps their scale.
pub fn random_backbone(seed: u64, device: &Device) -> MobileNetV2 {
    use crate::core::rng::Rng;
    use burn::store::bridge;
    use burn::tensor::TensorData;
    let mut model = MobileNetV2Config::new().init(device);
    let mut rng = Rng::new(seed);
    let tensors = model
        .collect(None, None, false)
        .into_iter()
        .filter(|t| t.name.ends_with("conv.weight") || t.name == "classifier.weight")
        .map(|t| {
            let shape = t.shape.to_vec();
            let n: usize = shape.iter().product();
            let std = if t.name == "classifier.weight" {
                0.01
            } else {
                (2.0 / (shape[1] * shape[2] * shape[3]) as f32).sqrt()
            };
            let values: Vec<f32> = (0..n).map(|_| rng.normal() * std).collect();
            bridge::from_data(TensorData::new(values, shape), t.name, None)
        })
        .collect();
    let result = model.apply(tensors, None, None, false);
    debug_assert!(result.errors.is_empty(), "{result:?}");
    model
}

/// Precision of a record, from its file name (`*.f16.bpk` is half precision).
pub fn precision_of(name: &str) -> Precision {
    if name.contains(".f16.") {
        Precision::F16
    } else {
        Precision::F32
    }
}

/// Reads a record file (native).
#[cfg(not(target_arch = "wasm32"))]
pub fn load_record_file(path: &std::path::Path, device: &Device) -> Result<MobileNetV2, MlError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| MlError::weights(&name, e))?;
    let precision = precision_of(&name);
    load_record(&name, bytes, precision, device)
}

/// Missing tensors or shape errors mean the record is not this network: never run half-loaded.
fn check_complete(name: &str, result: &ApplyResult) -> Result<(), MlError> {
    if let Some(e) = result.errors.first() {
        return Err(MlError::weights(name, format!("{e:?}")));
    }
    if !result.missing.is_empty() {
        let first: Vec<&str> = result
            .missing
            .iter()
            .take(3)
            .map(|m| m.0.as_str())
            .collect();
        return Err(MlError::weights(
            name,
            format!(
                "{} tensors missing (first: {}); not a MobileNetV2 record",
                result.missing.len(),
                first.join(", ")
            ),
        ));
    }
    // torchvision's BatchNorm `num_batches_tracked` counters have no burn counterpart.
    if let Some(u) = result
        .unused
        .iter()
        .find(|u| !u.ends_with("num_batches_tracked"))
    {
        return Err(MlError::weights(name, format!("unexpected tensor {u}")));
    }
    if result.applied.len() != TENSOR_COUNT {
        return Err(MlError::weights(
            name,
            format!(
                "{} tensors applied, expected {TENSOR_COUNT}",
                result.applied.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_every_stage() {
        let p = torchvision_key_patterns();
        assert_eq!(p.len(), 5 + 4 + 16 * 6);
        let remap = burn::store::KeyRemapper::from_patterns(p).unwrap();
        let _ = remap;
    }

    #[test]
    fn record_round_trip_in_memory() {
        let device = Device::flex();
        let net = MobileNetV2Config::new().init(&device);
        let bytes = record_bytes(&net, Precision::F32).unwrap();
        // Unfolded, to compare exactly (the folded form is checked in `conv_norm`).
        let back = load_record("mem", bytes, Precision::F32, &device)
            .unwrap()
            .freeze_norm_stats();
        let x = Tensor::<4>::ones([1, 3, 224, 224], &device);
        let a = net.features(x.clone()).into_data();
        let b = back.features(x).into_data();
        a.assert_eq(&b, true);
    }

    #[test]
    fn random_backbone_is_seeded() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 3, 224, 224], &device);
        let a = random_backbone(1, &device).features(x.clone()).into_data();
        let b = random_backbone(1, &device).features(x.clone()).into_data();
        let c = random_backbone(2, &device).features(x).into_data();
        a.assert_eq(&b, true);
        assert_ne!(a, c);
    }

    /// The baseline's features must still tell inputs apart (they vanished with fan_out init).
    #[test]
    fn random_backbone_features_do_not_vanish() {
        let device = Device::flex();
        let net = random_backbone(42, &device);
        let x = Tensor::<4>::random(
            [2, 3, 224, 224],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let f = net
            .features(x)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let (a, b) = f.split_at(1280);
        let diff = a.iter().zip(b).map(|(p, q)| (p - q).abs()).sum::<f32>() / 1280.0;
        assert!(
            diff > 0.01,
            "features of different inputs differ by only {diff}"
        );
    }

    #[test]
    fn garbage_record_is_an_error() {
        let device = Device::flex();
        let err = load_record(
            "junk.bpk",
            b"not a record".to_vec(),
            Precision::F32,
            &device,
        );
        assert!(err.is_err());
    }
}
