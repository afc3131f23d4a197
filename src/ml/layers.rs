//! "Which layer transfers": pooled features of several cut points from one backbone pass.
//!
//! Early stages of an ImageNet network respond to edges and textures, late ones to object parts
//! and classes (Yosinski et al., "How transferable are features in deep neural networks?",
//! NeurIPS 2014). Which is best for a user's photos is an empirical question; this extracts the
//! globally pooled output of each cut point so the expected accuracy
//! ([`crate::core::knn`]) and a head ([`super::probe::fit_head`]) can be compared per cut point.

use super::backbone::{Backbone, global_pool};
use super::error::MlError;
use super::features::{EXTRACT_BATCH, input_batch};
use super::trainer::read_rows;
use burn::prelude::*;

/// Globally pooled outputs of the stages `cuts` (ascending, each a stage of `backbone`) for
/// preprocessed photos (`inputs`, each `[3, 224, 224]`), `batch` photos per pass, in one pass up
/// to the last cut. Returns `out[c][i]`: photo `i`'s pooled output of stage `cuts[c]`,
/// `stage_channels(cuts[c])` values. `pause` is awaited after every stage (see
/// [`super::features::extract`]).
pub async fn extract_pooled(
    backbone: &Backbone,
    inputs: &[&[f32]],
    cuts: &[usize],
    batch: usize,
    device: &Device,
    pause: &mut impl AsyncFnMut(),
) -> Result<Vec<Vec<Vec<f32>>>, MlError> {
    let Some(&deepest) = cuts.last() else {
        return Err(MlError::BadSetting("no cut point to extract".into()));
    };
    let stages = backbone.kind().stages();
    if deepest >= stages || cuts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(MlError::BadSetting(format!(
            "cut points must be distinct stages below {stages}, in order, not {cuts:?}"
        )));
    }
    let mut out: Vec<Vec<Vec<f32>>> = vec![Vec::with_capacity(inputs.len()); cuts.len()];
    for chunk in inputs.chunks(batch.clamp(1, EXTRACT_BATCH)) {
        // [B, 3, 224, 224]
        let mut x = input_batch(chunk, device)?;
        for stage in 0..=deepest {
            x = backbone.forward_stages(x, stage, stage);
            if let Some(c) = cuts.iter().position(|&s| s == stage) {
                // [B, C_stage, H, W] -> [B, C_stage]
                out[c].extend(read_rows(global_pool(x.clone())).await?);
            }
            pause().await;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::backbone::BackboneKind;
    use crate::ml::cut::cut_points;

    #[test]
    fn pooled_cuts_match_features_until() {
        let device = Device::flex();
        let kind = BackboneKind::MobileNetV2;
        let net = Backbone::init(kind, &device);
        let cuts = cut_points(kind);
        let a: Vec<f32> = (0..3 * 224 * 224).map(|i| (i % 7) as f32 / 7.0).collect();
        let b: Vec<f32> = (0..3 * 224 * 224).map(|i| (i % 5) as f32 / 5.0).collect();
        let out = crate::block_on(extract_pooled(
            &net,
            &[&a, &b],
            &cuts,
            1,
            &device,
            &mut async || {},
        ))
        .unwrap();
        assert_eq!(out.len(), 3);
        let x = Tensor::<4>::from_data(TensorData::new(b.clone(), [1, 3, 224, 224]), &device);
        for (c, &cut) in cuts.iter().enumerate() {
            assert_eq!(out[c].len(), 2);
            assert_eq!(out[c][1].len(), kind.stage_channels(cut));
            let direct = net
                .features_until(x.clone(), cut)
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap();
            let diff = direct
                .iter()
                .zip(&out[c][1])
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-4, "stage {cut} differs by {diff}");
        }
    }

    #[test]
    fn bad_cut_lists_are_errors() {
        let device = Device::flex();
        let net = Backbone::init(BackboneKind::MobileNetV2, &device);
        for cuts in [&[][..], &[14, 7][..], &[7, 19][..]] {
            let r = crate::block_on(extract_pooled(
                &net,
                &[],
                cuts,
                1,
                &device,
                &mut async || {},
            ));
            assert!(r.is_err(), "{cuts:?}");
        }
    }
}
