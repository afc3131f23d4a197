//! The photos as the pretrained network sees them, before any training: the expected accuracy
//! (leave-one-out k-NN, [`crate::core::knn`]) and the feature map (2-D PCA, [`crate::core::pca`]),
//! both from one similarity matrix of the photos' pooled features.

use super::{LabelledPhoto, Session, SessionError};
use crate::core::dataset::PhotoId;
use crate::core::knn::{KnnError, leave_one_out};
use crate::core::pca::feature_map;
use crate::core::similarity::SimilarityIndex;
use crate::ml::cut::cached_shape;
use crate::ml::error::MlError;
use crate::ml::reports::{MapPoint, PhotoPreview};

impl Session {
    /// What the pretrained features promise before any training, after embedding the photos not
    /// cached yet (`load` gives a photo's `[3, 224, 224]` input): leave-one-out k-NN on the
    /// photos' pooled features (mean-centred cosine, see [`crate::core::knn`]) and their feature
    /// map, oriented like the previous one so points do not jump as photos come in. The features
    /// stay cached, so a training afterwards extracts nothing again. `keep_going` is asked
    /// before each photo goes through the backbone; `false` (a training started, the photos
    /// changed) ends with [`SessionError::Stopped`].
    pub async fn preview<P>(
        &self,
        photos: &[LabelledPhoto],
        classes: usize,
        load: &mut impl AsyncFnMut(PhotoId) -> Result<Vec<f32>, P>,
        keep_going: &mut impl FnMut() -> bool,
    ) -> Result<PhotoPreview, SessionError<P>> {
        for p in photos {
            if self.pooled.borrow().contains(p.id) {
                continue;
            }
            if !keep_going() {
                return Err(SessionError::Stopped);
            }
            let input = load(p.id).await.map_err(SessionError::Photo)?;
            self.embed(p.id, &input).await?;
        }
        // A photo forgotten while others were embedded is left out.
        let (kept, rows): (Vec<LabelledPhoto>, Vec<Vec<f32>>) = photos
            .iter()
            .filter_map(|p| Some((*p, self.embedding(p.id)?)))
            .unzip();
        if kept.is_empty() {
            *self.map.borrow_mut() = None;
            return Ok(PhotoPreview {
                estimate: None,
                map: Vec::new(),
                explained: [0.0; 2],
            });
        }
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let width = cached_shape(self.backbone.kind(), self.backbone.kind().last_stage())[0];
        let index = SimilarityIndex::from_rows(width, &refs)
            .map_err(|e| MlError::BadSetting(e.to_string()))?;
        let similarities = index.similarities();
        (self.pause)().await;
        let labels: Vec<usize> = kept.iter().map(|p| p.label).collect();
        let estimate = match leave_one_out(&similarities, &labels, classes) {
            Ok(estimate) => Some(estimate),
            Err(KnnError::TooFewPhotos { .. } | KnnError::TooFewClasses(_)) => None,
            Err(e) => return Err(MlError::BadSetting(e.to_string()).into()),
        };
        (self.pause)().await;
        let previous = self.map.borrow_mut().take();
        let projection = feature_map(&index, &similarities, previous.as_ref());
        let map = kept
            .iter()
            .zip(&projection.points)
            .map(|(p, &[x, y])| MapPoint {
                id: p.id,
                label: p.label,
                x,
                y,
            })
            .collect();
        let explained = projection.explained;
        *self.map.borrow_mut() = Some(projection);
        Ok(PhotoPreview {
            estimate,
            map,
            explained,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{classes, labelled, photo, session, settings};
    use super::*;
    use std::cell::Cell;
    use std::convert::Infallible;

    #[test]
    fn preview_embeds_once_and_tells_the_classes_apart() {
        let session = session();
        let photos = labelled(8);
        let loads = Cell::new(0);
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> {
            loads.set(loads.get() + 1);
            Ok(photo(id.0))
        };
        let preview =
            crate::block_on(session.preview(&photos, 2, &mut load, &mut || true)).unwrap();
        let estimate = preview.estimate.expect("4 photos a class give an estimate");
        // Ramps and checkerboards are far apart even for a random network.
        assert_eq!(estimate.accuracy, 1.0);
        assert_eq!(estimate.predictions.len(), 8);
        assert_eq!(session.cached_photos(), 8);
        // Asked again with one more photo: only that one goes through the backbone, and training
        // afterwards extracts nothing.
        let more = labelled(9);
        crate::block_on(session.preview(&more, 2, &mut load, &mut || true)).unwrap();
        assert_eq!(loads.get(), 9);
        let report = crate::block_on(session.train(
            &classes(),
            &more,
            None,
            &settings(2),
            &mut load,
            &mut async |_| true,
        ))
        .unwrap();
        assert_eq!(report.stats.extracted, 0);
        assert_eq!(loads.get(), 9);
    }

    #[test]
    fn preview_needs_two_photos_a_class_for_an_estimate_and_stops_when_asked() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        // Photo 0 (class 0), 1 and 3 (class 1): class 0 has one photo, but the map has all three.
        let few = [0u64, 1, 3].map(|i| LabelledPhoto {
            id: PhotoId(i),
            label: (i % 2) as usize,
        });
        let preview = crate::block_on(session.preview(&few, 2, &mut load, &mut || true)).unwrap();
        assert!(preview.estimate.is_none());
        let ids: Vec<u64> = preview.map.iter().map(|p| p.id.0).collect();
        assert_eq!(ids, [0, 1, 3]);
        // A caller that stops it before the next photo: nothing more is embedded.
        let cached = session.cached_photos();
        let stopped = crate::block_on(session.preview(&labelled(6), 2, &mut load, &mut || false));
        assert!(matches!(stopped, Err(SessionError::Stopped)));
        assert_eq!(session.cached_photos(), cached);
    }

    /// The map separates the two patterns along its first axis, and a photo added later leaves
    /// the others where they were (the previous map orients the next).
    #[test]
    fn the_map_separates_the_classes_and_stays_put_as_photos_come() {
        let session = session();
        let mut load = async |id: PhotoId| -> Result<Vec<f32>, Infallible> { Ok(photo(id.0)) };
        let first = crate::block_on(session.preview(&labelled(8), 2, &mut load, &mut || true))
            .unwrap()
            .map;
        assert_eq!(first.len(), 8);
        assert!(first.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
        let side = |label: usize| -> Vec<bool> {
            first
                .iter()
                .filter(|p| p.label == label)
                .map(|p| p.x > 0.0)
                .collect()
        };
        let (a, b) = (side(0), side(1));
        assert!(
            a.iter().all(|&s| s == a[0]) && b.iter().all(|&s| s != a[0]),
            "{first:?}"
        );

        let second = crate::block_on(session.preview(&labelled(9), 2, &mut load, &mut || true))
            .unwrap()
            .map;
        assert_eq!(second.len(), 9);
        for (p, q) in first.iter().zip(&second) {
            assert_eq!(p.id, q.id);
            // Same side of the first axis: no mirror flip.
            assert_eq!(p.x > 0.0, q.x > 0.0, "{p:?} -> {q:?}");
        }
        // Starting over forgets the orientation too.
        session.reset();
        assert!(session.map.borrow().is_none());
    }
}
