//! Feature extraction with the frozen backbone, and a per-photo cache so each photo goes through
//! the backbone once: adding a photo later costs one photo, and head epochs never re-run it.

use super::backbone::{Backbone, BackboneKind, global_pool};
use super::cut::Cut;
use super::error::MlError;
use crate::core::dataset::PhotoId;
use burn::prelude::*;
use burn::tensor::TensorData;
use std::collections::HashMap;

/// Most photos per backbone pass, on any device: bounds the host memory a pass takes and how long
/// it runs. Every WebGPU device holds it: the least storage-buffer limit (128 MiB) allows 24
/// (MobileNetV2) or 23 (EfficientNet-Lite0) photos per pass, stage 2's expanded
/// `[96, 112, 112]` f32 activation being the largest tensor (see [`crate::ml::batch`], whose
/// tests check it). A session caps its own batch by its device's limits too.
pub const EXTRACT_BATCH: usize = 16;

/// Runs the frozen backbone up to stage `cut` on preprocessed photos, `batch` photos at a time:
/// [`extract_cut`] at [`Cut::of`]`(cut)`, pooled at the last stage, whole before it.
pub async fn extract(
    backbone: &Backbone,
    inputs: &[&[f32]],
    cut: usize,
    batch: usize,
    device: &Device,
    pause: &mut impl AsyncFnMut(),
) -> Result<Vec<Vec<f32>>, MlError> {
    let cut = Cut::of(backbone.kind(), cut);
    extract_cut(backbone, inputs, cut, batch, device, pause).await
}

/// Runs the frozen backbone up to `cut.stage` on preprocessed photos, `batch` photos at a time,
/// pooling its output if `cut.pooled`. No stage after the cut runs.
///
/// `inputs`: each `[3, 224, 224]`, preprocessed for this backbone (see
/// [`BackboneKind::preprocess`] and [`crate::core::preprocess::Preprocess::apply`]).
/// Returns one flattened `cut.shape()` buffer per photo. `pause` is awaited after every
/// stage: the browser yields to its event loop there, so that on the CPU backend (which computes
/// each stage eagerly on the main thread) no task runs long; natively it does nothing.
pub async fn extract_cut(
    backbone: &Backbone,
    inputs: &[&[f32]],
    cut: Cut,
    batch: usize,
    device: &Device,
    pause: &mut impl AsyncFnMut(),
) -> Result<Vec<Vec<f32>>, MlError> {
    let stages = backbone.kind().stages();
    if cut.stage >= stages {
        return Err(MlError::BadSetting(format!(
            "{} has stages 0 to {}, not {}",
            backbone.kind(),
            stages - 1,
            cut.stage
        )));
    }
    let per_output: usize = cut.shape(backbone.kind()).iter().product();
    let mut out = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(batch.clamp(1, EXTRACT_BATCH)) {
        let mut x = input_batch(chunk, device)?;
        for stage in 0..=cut.stage {
            x = backbone.forward_stages(x, stage, stage);
            pause().await;
        }
        let y = if cut.pooled {
            global_pool(x).reshape([chunk.len(), per_output])
        } else {
            x.reshape([chunk.len(), per_output])
        };
        out.extend(super::trainer::read_rows(y).await?);
    }
    Ok(out)
}

/// Cached activations per photo, for one backbone and one [`Cut`].
#[derive(Debug, Default, Clone)]
pub struct FeatureCache {
    backbone: BackboneKind,
    cut: Cut,
    entries: HashMap<PhotoId, Vec<f32>>,
}

impl FeatureCache {
    /// An empty cache for activations of `stage` of `backbone`, as [`cached_shape`] has them
    /// (pooled at the last stage, whole before it).
    pub fn new(backbone: BackboneKind, stage: usize) -> Self {
        Self::at(backbone, Cut::of(backbone, stage))
    }

    /// An empty cache for the values of `backbone` at `cut`.
    pub fn at(backbone: BackboneKind, cut: Cut) -> Self {
        Self {
            backbone,
            cut,
            entries: HashMap::new(),
        }
    }

    /// The backbone whose activations are cached.
    pub fn backbone(&self) -> BackboneKind {
        self.backbone
    }

    /// The stage whose activations are cached.
    pub fn stage(&self) -> usize {
        self.cut.stage
    }

    /// Where the cached values are taken from.
    pub fn cut(&self) -> Cut {
        self.cut
    }

    /// Whether this cache holds the values of `backbone` at `cut` (otherwise start a new one).
    pub fn holds(&self, backbone: BackboneKind, cut: Cut) -> bool {
        self.backbone == backbone && self.cut == cut
    }

    /// Cached activations of a photo.
    pub fn get(&self, id: PhotoId) -> Option<&[f32]> {
        self.entries.get(&id).map(Vec::as_slice)
    }

    /// Whether a photo's activations are cached.
    pub fn contains(&self, id: PhotoId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Stores a photo's activations.
    pub fn insert(&mut self, id: PhotoId, activations: Vec<f32>) {
        self.entries.insert(id, activations);
    }

    /// Forgets a photo (it was removed).
    pub fn remove(&mut self, id: PhotoId) {
        self.entries.remove(&id);
    }

    /// Number of cached photos.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Stacks the activations of `ids` into one `[N, C, H, W]` tensor. Every photo must be
    /// cached.
    pub fn stack(&self, ids: &[PhotoId], device: &Device) -> Result<Tensor<4>, MlError> {
        let shape = self.cut.shape(self.backbone);
        let mut flat = Vec::with_capacity(ids.len() * shape.iter().product::<usize>());
        for &id in ids {
            let v = self
                .get(id)
                .ok_or_else(|| MlError::BadSetting(format!("photo {id} was never extracted")))?;
            flat.extend_from_slice(v);
        }
        Ok(Tensor::from_data(
            TensorData::new(flat, [ids.len(), shape[0], shape[1], shape[2]]),
            device,
        ))
    }
}

/// Preprocessed photos (`[3, 224, 224]` each, see [`crate::core::preprocess`]) as one batch:
/// `B x [3, 224, 224] -> [B, 3, 224, 224]`. Refuses an input of another size.
pub(crate) fn input_batch(inputs: &[&[f32]], device: &Device) -> Result<Tensor<4>, MlError> {
    let per_input = 3 * 224 * 224;
    let mut flat = Vec::with_capacity(inputs.len() * per_input);
    for input in inputs {
        if input.len() != per_input {
            return Err(MlError::BadSetting(format!(
                "a preprocessed photo holds {} values, expected {per_input}",
                input.len()
            )));
        }
        flat.extend_from_slice(input);
    }
    Ok(Tensor::<4>::from_data(
        TensorData::new(flat, [inputs.len(), 3, 224, 224]),
        device,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_matches_direct_features_and_caches() {
        let device = Device::flex();
        let a: Vec<f32> = (0..3 * 224 * 224).map(|i| (i % 7) as f32 / 7.0).collect();
        let b: Vec<f32> = (0..3 * 224 * 224).map(|i| (i % 5) as f32 / 5.0).collect();
        for kind in BackboneKind::ALL {
            let net = Backbone::init(kind, &device);
            let last = kind.last_stage();
            let out = crate::block_on(extract(&net, &[&a, &b], last, 8, &device, &mut async || {}))
                .unwrap();
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].len(), 1280);
            let x = Tensor::<4>::from_data(TensorData::new(b.clone(), [1, 3, 224, 224]), &device);
            let direct: Vec<f32> = net
                .features(x)
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap();
            let diff = direct
                .iter()
                .zip(&out[1])
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-4, "{kind}: batching changed features by {diff}");

            let mut cache = FeatureCache::new(kind, last);
            assert!(cache.holds(kind, Cut::pooled(last)));
            cache.insert(PhotoId(1), out[0].clone());
            cache.insert(PhotoId(2), out[1].clone());
            assert_eq!(
                cache
                    .stack(&[PhotoId(2), PhotoId(1)], &device)
                    .unwrap()
                    .dims(),
                [2, 1280, 1, 1]
            );
            assert!(cache.stack(&[PhotoId(3)], &device).is_err());
        }
        let cache = FeatureCache::new(BackboneKind::MobileNetV2, 18);
        assert!(!cache.holds(BackboneKind::EfficientNetLite0, Cut::pooled(18)));
        // A stage wanted pooled (a head's cut point) and whole (fine-tuning's input) is two caches.
        let whole = FeatureCache::new(BackboneKind::MobileNetV2, 14);
        assert!(whole.holds(BackboneKind::MobileNetV2, Cut::whole(14)));
        assert!(!whole.holds(BackboneKind::MobileNetV2, Cut::pooled(14)));
    }

    /// An earlier cut, pooled, is the pooled output of that stage, for both backbones.
    #[test]
    fn pooled_earlier_cuts_match_features_until() {
        let device = Device::flex();
        let a: Vec<f32> = (0..3 * 224 * 224).map(|i| (i % 11) as f32 / 11.0).collect();
        for kind in BackboneKind::ALL {
            let net = Backbone::init(kind, &device);
            let stage = crate::ml::cut::cut_points(kind)[1];
            let cut = Cut::pooled(stage);
            assert_eq!(cut.shape(kind), [kind.stage_channels(stage), 1, 1]);
            let out = crate::block_on(extract_cut(&net, &[&a], cut, 1, &device, &mut async || {}))
                .unwrap();
            assert_eq!(out[0].len(), kind.stage_channels(stage));
            let x = Tensor::<4>::from_data(TensorData::new(a.clone(), [1, 3, 224, 224]), &device);
            let direct = net
                .features_until(x, stage)
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap();
            let diff = direct
                .iter()
                .zip(&out[0])
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-4, "{kind} stage {stage}: {diff}");
            let beyond = Cut::pooled(kind.stages());
            assert!(
                crate::block_on(extract_cut(
                    &net,
                    &[&a],
                    beyond,
                    1,
                    &device,
                    &mut async || {}
                ))
                .is_err()
            );
        }
    }
}
