//! Backbone weights: PyTorch's `.pth` state dicts (native converter only) and our burnpack
//! records.
//!
//! The records are made once per backbone by `whisker-convert`: an f32 one for native use, an
//! f16 one (half the bytes) and an int8 one without the ImageNet classifier (a third of f16's,
//! [`super::int8_record`]), which the browser downloads. BatchNorm stays f32 in all of them.
//! What each backbone's files are called and where they come from is in [`BackboneKind`].

use super::backbone::{Backbone, BackboneKind, Precision};
use super::error::MlError;
use super::int8_record;
use burn::prelude::*;
use burn::store::{ApplyResult, BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot, ModuleStore};
use burn::tensor::Bytes;

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

/// Regex rules mapping the state-dict keys of `efficientnet-lite-pytorch` (lukemelas's
/// EfficientNet-PyTorch layout) onto our module tree.
///
/// Theirs: `_conv_stem` + `_bn0` stem, `_blocks.{i}` with `_expand_conv`/`_bn0`,
/// `_depthwise_conv`/`_bn1`, `_project_conv`/`_bn2`, then `_conv_head` + `_bn1` and `_fc`. Ours:
/// `stem`, `blocks.{i}.{expand,depthwise,project}`, `last`, `classifier`. Anchored, so the
/// network's `_bn0`/`_bn1` never match a block's.
pub fn efficientnet_lite_key_patterns() -> Vec<(String, String)> {
    [
        (r"^_conv_stem\.(.+)$", "stem.conv.$1"),
        (r"^_bn0\.(.+)$", "stem.norm.$1"),
        (
            r"^_blocks\.(\d+)\._expand_conv\.(.+)$",
            "blocks.$1.expand.conv.$2",
        ),
        (r"^_blocks\.(\d+)\._bn0\.(.+)$", "blocks.$1.expand.norm.$2"),
        (
            r"^_blocks\.(\d+)\._depthwise_conv\.(.+)$",
            "blocks.$1.depthwise.conv.$2",
        ),
        (
            r"^_blocks\.(\d+)\._bn1\.(.+)$",
            "blocks.$1.depthwise.norm.$2",
        ),
        (
            r"^_blocks\.(\d+)\._project_conv\.(.+)$",
            "blocks.$1.project.conv.$2",
        ),
        (r"^_blocks\.(\d+)\._bn2\.(.+)$", "blocks.$1.project.norm.$2"),
        (r"^_conv_head\.(.+)$", "last.conv.$1"),
        (r"^_bn1\.(.+)$", "last.norm.$1"),
        (r"^_fc\.(.+)$", "classifier.$1"),
    ]
    .into_iter()
    .map(|(from, to)| (from.to_string(), to.to_string()))
    .collect()
}

/// The key rules for `kind`'s PyTorch state dict.
pub fn pytorch_key_patterns(kind: BackboneKind) -> Vec<(String, String)> {
    match kind {
        BackboneKind::MobileNetV2 => torchvision_key_patterns(),
        BackboneKind::EfficientNetLite0 => efficientnet_lite_key_patterns(),
    }
}

/// Loads `kind`'s PyTorch state dict (`.pth`, [`BackboneKind::source_file`]) through
/// burn-store's PyTorch reader. Every tensor of the network must be in it, and nothing else.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_pytorch(
    kind: BackboneKind,
    path: &std::path::Path,
    device: &Device,
) -> Result<Backbone, MlError> {
    use burn::store::{KeyRemapper, PytorchStore};
    let name = path.display().to_string();
    let remapper = KeyRemapper::from_patterns(pytorch_key_patterns(kind))
        .map_err(|e| MlError::weights(&name, e.to_string()))?;
    let mut store = PytorchStore::from_file(path)
        .remap(remapper)
        .map_indices_contiguous(false)
        .allow_partial(true);
    load_from_store(kind, &name, &mut store, device)
}

/// Builds a `kind` skeleton and loads `store` into it, checking the load is complete.
fn load_from_store<S: ModuleStore>(
    kind: BackboneKind,
    name: &str,
    store: &mut S,
    device: &Device,
) -> Result<Backbone, MlError> {
    let mut model = Backbone::init(kind, device);
    let result = match &mut model {
        Backbone::MobileNetV2(net) => net.load_from(store),
        Backbone::EfficientNetLite0(net) => net.load_from(store),
    }
    .map_err(|e| {
        // burn lists every mismatching tensor: the start says enough.
        let mut reason = e.to_string();
        if reason.len() > 300 {
            let end = reason.floor_char_boundary(300);
            reason.truncate(end);
            reason.push('…');
        }
        MlError::weights(name, format!("not a record of {kind}: {reason}"))
    })?;
    check_complete(kind, name, &result, Top::Kept)?;
    Ok(model)
}

/// Metadata key of a record: the sha256 of the PyTorch weights it was converted from. Model files
/// name the same checksum, so a model is only ever run on the weights it was trained on.
pub const SOURCE_SHA256_KEY: &str = "whisker.source_sha256";

/// Serialises the network as a burnpack record in memory: the network's own tensors, and
/// `source_sha256` (the checksum of the weights it was converted from, see
/// [`SOURCE_SHA256_KEY`]). A record does not say which kind it is: the file name does.
pub fn record_bytes(
    model: &Backbone,
    precision: Precision,
    source_sha256: &str,
) -> Result<Vec<u8>, MlError> {
    if precision == Precision::I8 {
        return int8_record::record_bytes(model, &[(SOURCE_SHA256_KEY, source_sha256)]);
    }
    let mut store = BurnpackStore::from_bytes(None).metadata(SOURCE_SHA256_KEY, source_sha256);
    if precision == Precision::F16 {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    match model {
        Backbone::MobileNetV2(net) => net.save_into(&mut store),
        Backbone::EfficientNetLite0(net) => net.save_into(&mut store),
    }
    .map_err(|e| MlError::weights("record", e))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| MlError::weights("record", e))?;
    Ok(bytes.to_vec())
}

/// The source checksum a record carries (see [`SOURCE_SHA256_KEY`]), if it is a burnpack record
/// with one.
pub fn record_source(bytes: &[u8]) -> Option<String> {
    // The reader parses the header and metadata only; the copy is the price of its owned input.
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).ok()?;
    reader.metadata().get(SOURCE_SHA256_KEY).cloned()
}

/// Builds the pretrained `kind` backbone from a burnpack record's bytes (f32 or f16, as the
/// caller's `precision` says). Every tensor of the network must be in the record, and nothing
/// else: a record of the other backbone is an error. So is a record converted from other
/// weights than `kind`'s ([`BackboneKind::source_sha256`]).
///
/// The backbone comes back with batch normalisation folded into its convolutions
/// ([`Backbone::fold_norm`]), the fast form for extracting features; blocks taken from it for
/// fine-tuning train the batch-norm form.
pub fn load_record(
    kind: BackboneKind,
    name: &str,
    bytes: Vec<u8>,
    precision: Precision,
    device: &Device,
) -> Result<Backbone, MlError> {
    match record_source(&bytes) {
        Some(source) if source == kind.source_sha256() => {}
        Some(source) => {
            return Err(MlError::weights(
                name,
                format!(
                    "converted from other weights (sha256 {source}) than {kind}'s ({})",
                    kind.source_sha256()
                ),
            ));
        }
        None => {
            return Err(MlError::weights(
                name,
                "not a record of this Whisker (or made by an older whisker-convert: run scripts/setup-weights.sh again)",
            ));
        }
    }
    if precision == Precision::I8 {
        let tensors = int8_record::read_tensors(name, bytes)?;
        let mut model = Backbone::init(kind, device);
        let result = match &mut model {
            Backbone::MobileNetV2(net) => net.apply(tensors, None, None, false),
            Backbone::EfficientNetLite0(net) => net.apply(tensors, None, None, false),
        };
        check_complete(kind, name, &result, Top::LeftOut)?;
        return Ok(model.without_top().fold_norm());
    }
    let mut store =
        BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes))).allow_partial(true);
    if precision == Precision::F16 {
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    Ok(load_from_store(kind, name, &mut store, device)?.fold_norm())
}

/// A randomly initialised `kind` backbone, the same for a given seed on every platform: the
/// baseline that shows how much the pretrained weights help (positive or negative transfer).
///
/// Convolutions are Kaiming-normal in `fan_in` mode (per group), BatchNorm is identity (running
/// mean 0, variance 1), the classifier normal with std 0.01. torchvision's own `fan_out` mode
/// relies on BatchNorm in training mode to rescale: with inference-mode BatchNorm its depthwise
/// layers shrink activations by their channel count each, and the features vanish to zero by
/// stage 10, which would make the baseline meaningless. `fan_in` keeps their scale.
pub fn random_backbone(kind: BackboneKind, seed: u64, device: &Device) -> Backbone {
    let mut model = Backbone::init(kind, device);
    match &mut model {
        Backbone::MobileNetV2(net) => randomise(net, seed),
        Backbone::EfficientNetLite0(net) => randomise(net, seed),
    }
    model
}

/// Draws `net`'s convolution and classifier weights as [`random_backbone`] says.
fn randomise(net: &mut impl ModuleSnapshot, seed: u64) {
    use crate::core::rng::Rng;
    use burn::store::bridge;
    use burn::tensor::TensorData;
    let mut rng = Rng::new(seed);
    let tensors = net
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
    let result = net.apply(tensors, None, None, false);
    debug_assert!(result.errors.is_empty(), "{result:?}");
}

/// Precision of a record, from its file name (`*.f16.bpk` is half precision, `*.i8.bpk` int8).
pub fn precision_of(name: &str) -> Precision {
    if name.contains(".f16.") {
        Precision::F16
    } else if name.contains(".i8.") {
        Precision::I8
    } else {
        Precision::F32
    }
}

/// Whether a record holds the ImageNet classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    Kept,
    LeftOut,
}

/// Reads a `kind` record file (native); its precision comes from its name.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_record_file(
    kind: BackboneKind,
    path: &std::path::Path,
    device: &Device,
) -> Result<Backbone, MlError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| MlError::weights(&name, e))?;
    let precision = precision_of(&name);
    load_record(kind, &name, bytes, precision, device)
}

/// Missing tensors or shape errors mean the record is not this network: never run half-loaded.
fn check_complete(
    kind: BackboneKind,
    name: &str,
    result: &ApplyResult,
    top: Top,
) -> Result<(), MlError> {
    if let Some(e) = result.errors.first() {
        return Err(MlError::weights(name, format!("{e:?}")));
    }
    // A record without the classifier misses exactly its weight and bias.
    let missing: Vec<&str> = result
        .missing
        .iter()
        .map(|m| m.0.as_str())
        .filter(|m| top == Top::Kept || !m.starts_with("classifier."))
        .collect();
    if !missing.is_empty() {
        let first: Vec<&str> = missing.iter().take(3).copied().collect();
        return Err(MlError::weights(
            name,
            format!(
                "{} tensors missing (first: {}); not a record of {kind}",
                missing.len(),
                first.join(", ")
            ),
        ));
    }
    // PyTorch's BatchNorm `num_batches_tracked` counters have no burn counterpart.
    if let Some(u) = result
        .unused
        .iter()
        .find(|u| !u.ends_with("num_batches_tracked"))
    {
        return Err(MlError::weights(
            name,
            format!("unexpected tensor {u}; not a record of {kind}"),
        ));
    }
    let expected = match top {
        Top::Kept => kind.tensor_count(),
        Top::LeftOut => kind.tensor_count() - 2,
    };
    if result.applied.len() != expected {
        return Err(MlError::weights(
            name,
            format!(
                "{} tensors applied, expected {expected}",
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
        for kind in BackboneKind::ALL {
            burn::store::KeyRemapper::from_patterns(pytorch_key_patterns(kind)).unwrap();
        }
    }

    #[test]
    fn record_round_trip_in_memory() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let net = random_backbone(kind, 3, &device);
            let bytes = record_bytes(&net, Precision::F32, kind.source_sha256()).unwrap();
            assert_eq!(record_source(&bytes).as_deref(), Some(kind.source_sha256()));
            // Unfolded, to compare exactly (the folded form is checked in `conv_norm`).
            let back = load_record(kind, "mem", bytes, Precision::F32, &device)
                .unwrap()
                .freeze_norm_stats();
            assert_eq!(back.kind(), kind);
            let x = Tensor::<4>::ones([1, 3, 224, 224], &device);
            let a = net.features(x.clone()).into_data();
            let b = back.features(x).into_data();
            a.assert_eq(&b, true);
        }
    }

    /// The int8 record: under half of f16's bytes (a third for MobileNetV2), no classifier, the
    /// features close (the PyTorch reference tests hold the pretrained ones to tolerances).
    #[test]
    fn int8_record_round_trip_in_memory() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let net = random_backbone(kind, 3, &device);
            let f16 = record_bytes(&net, Precision::F16, kind.source_sha256()).unwrap();
            let bytes = record_bytes(&net, Precision::I8, kind.source_sha256()).unwrap();
            assert!(
                bytes.len() * 2 < f16.len(),
                "{} vs {}",
                bytes.len(),
                f16.len()
            );
            assert_eq!(record_source(&bytes).as_deref(), Some(kind.source_sha256()));
            let back = load_record(kind, "mem", bytes, Precision::I8, &device).unwrap();
            assert_eq!(back.kind(), kind);
            let x = Tensor::<4>::ones([1, 3, 224, 224], &device);
            assert!(
                back.forward(x.clone()).is_none(),
                "the classifier is left out"
            );
            let a: Vec<f32> = net
                .features(x.clone())
                .into_data()
                .try_into_vec_as()
                .unwrap();
            let b: Vec<f32> = back.features(x).into_data().try_into_vec_as().unwrap();
            let dot: f32 = a.iter().zip(&b).map(|(p, q)| p * q).sum();
            let norm = |v: &[f32]| v.iter().map(|p| p * p).sum::<f32>().sqrt();
            let cosine = dot / (norm(&a) * norm(&b));
            assert!(cosine > 0.99, "{kind}: cosine {cosine}");
        }
    }

    /// A record of one backbone never loads as the other.
    #[test]
    fn record_of_the_other_backbone_is_refused() {
        let device = Device::flex();
        let mobilenet = Backbone::init(BackboneKind::MobileNetV2, &device);
        let lite = BackboneKind::EfficientNetLite0;
        // Stamped as the other backbone's, or as its own: refused either way.
        for stamp in [
            lite.source_sha256(),
            BackboneKind::MobileNetV2.source_sha256(),
        ] {
            let bytes = record_bytes(&mobilenet, Precision::F32, stamp).unwrap();
            let err = load_record(lite, "mobilenet_v2.f32.bpk", bytes, Precision::F32, &device)
                .unwrap_err();
            assert!(matches!(err, MlError::Weights { .. }), "{err}");
        }
    }

    /// A record must say which weights it was converted from, and they must be the backbone's.
    #[test]
    fn record_of_other_weights_is_refused() {
        let device = Device::flex();
        let kind = BackboneKind::MobileNetV2;
        let net = Backbone::init(kind, &device);
        let bytes = record_bytes(&net, Precision::F16, "0123abcd").unwrap();
        let err = load_record(kind, "other.bpk", bytes, Precision::F16, &device).unwrap_err();
        assert!(err.to_string().contains("other weights"), "{err}");
    }

    #[test]
    fn random_backbone_is_seeded() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 3, 224, 224], &device);
        let kind = BackboneKind::MobileNetV2;
        let a = random_backbone(kind, 1, &device)
            .features(x.clone())
            .into_data();
        let b = random_backbone(kind, 1, &device)
            .features(x.clone())
            .into_data();
        let c = random_backbone(kind, 2, &device).features(x).into_data();
        a.assert_eq(&b, true);
        assert_ne!(a, c);
    }

    /// The baseline's features must still tell inputs apart (they vanished with fan_out init).
    #[test]
    fn random_backbone_features_do_not_vanish() {
        let device = Device::flex();
        let x = Tensor::<4>::random(
            [2, 3, 224, 224],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        for kind in BackboneKind::ALL {
            let f = random_backbone(kind, 42, &device)
                .features(x.clone())
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap();
            let (a, b) = f.split_at(1280);
            let diff = a.iter().zip(b).map(|(p, q)| (p - q).abs()).sum::<f32>() / 1280.0;
            assert!(
                diff > 0.01,
                "{kind}: features of different inputs differ by only {diff}"
            );
        }
    }

    #[test]
    fn garbage_record_is_an_error() {
        let device = Device::flex();
        for kind in BackboneKind::ALL {
            let err = load_record(
                kind,
                "junk.bpk",
                b"not a record".to_vec(),
                Precision::F32,
                &device,
            );
            assert!(err.is_err());
        }
    }
}
