//! Expected accuracy before training: leave-one-out k-nearest-neighbour classification of the
//! photos' features under cosine similarity.
//!
//! Each photo is classified by the majority class among its `k` most similar *other* photos;
//! the share classified right estimates how well the features separate the classes, before any
//! head is trained. Works on the similarities of a [`super::similarity::SimilarityIndex`]
//! (cosine of mean-centred features), in `O(N² · k)` for `N` photos. On the pets photos (20 a
//! class, examples/transfer_report.rs) it came within 0.05 of a trained linear head's validation
//! accuracy at MobileNetV2's stages 13 to 18 (0.98–1.00 against 0.97–0.98 at the last stage),
//! and overestimated the weak early-stage features (0.65–0.75 against 0.5–0.65).
//!
//! Choice of `k`: `min(5, n_min - 1)`, with `n_min` the smallest class's photo count. Leaving a
//! photo out leaves its class `n - 1` others; with `k` above that, a photo of the smallest class
//! can be outvoted even when all its classmates are its nearest neighbours, so the estimate
//! would punish small classes rather than look-alike ones. 5 caps it: with the few dozen photos a
//! class a user brings, larger neighbourhoods reach into other classes' regions and smooth the
//! estimate towards the class shares, while `k = 1` alone is noisy (one odd photo decides).
//!
//! Vote: plain majority; a tie goes to the tied class whose member is nearest (neighbours are
//! ordered by similarity, then by photo index, so the result is deterministic). Weighting votes
//! by similarity would barely change anything here: the `k` similarities of pooled CNN features
//! lie in a narrow band, and a count is easier to explain.

use super::metrics::ConfusionMatrix;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use thiserror::Error;

/// Largest neighbourhood used.
pub const MAX_K: usize = 5;
/// Below this expected accuracy, [`KnnEstimate::hints`] says what may be wrong.
pub const LOW_ACCURACY: f32 = 0.9;
/// A class with fewer photos than this is called "few photos" by [`KnnEstimate::hints`].
pub const FEW_PHOTOS: usize = 10;

/// Why no estimate can be made (yet).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum KnnError {
    /// Fewer than two classes.
    #[error("at least two classes are needed, found {0}")]
    TooFewClasses(usize),
    /// A class has fewer than two photos, so leaving one out leaves no classmate to find.
    #[error("class {class} has {photos} photo(s); each class needs at least 2")]
    TooFewPhotos {
        /// Index of the (first) class short of photos.
        class: usize,
        /// Its photo count.
        photos: usize,
    },
    /// Labels and similarity matrix disagree on the number of photos.
    #[error("{labels} labels for {photos} photos")]
    LabelCount {
        /// Rows of the similarity matrix.
        photos: usize,
        /// Labels given.
        labels: usize,
    },
    /// A label is not below the class count.
    #[error("label {label} is not one of the {classes} classes")]
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// Number of classes.
        classes: usize,
    },
}

/// Two classes the neighbours mix up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusedPair {
    /// The lower class index.
    pub a: usize,
    /// The higher class index.
    pub b: usize,
    /// Photos of `a` taken for `b` plus photos of `b` taken for `a`.
    pub errors: usize,
}

/// Something a user can do about a low expected accuracy (the UI words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hint {
    /// The smallest class has few photos: add more.
    FewPhotos {
        /// The class.
        class: usize,
        /// Its photo count.
        photos: usize,
    },
    /// These two classes look alike to the backbone: the pair most often confused.
    LookAlike {
        /// The lower class index.
        a: usize,
        /// The higher class index.
        b: usize,
    },
}

/// The leave-one-out result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnEstimate {
    /// Neighbours consulted per photo.
    pub k: usize,
    /// Share of photos whose neighbours vote for their own class, `[0, 1]`.
    pub accuracy: f32,
    /// The neighbours' vote for each photo, a class index.
    pub predictions: Vec<usize>,
    /// Rows: true class, columns: the neighbours' vote.
    pub confusion: ConfusionMatrix,
    /// The pair of classes with the most errors between them (ties: lowest indices); `None`
    /// without errors.
    pub most_confused: Option<ConfusedPair>,
    /// The class with the fewest photos (lowest index on ties) and its count.
    pub smallest_class: (usize, usize),
}

impl KnnEstimate {
    /// What may explain a low estimate (below [`LOW_ACCURACY`]): a class with fewer than
    /// [`FEW_PHOTOS`] photos, then the most confused pair. Empty when the estimate is good.
    pub fn hints(&self) -> Vec<Hint> {
        let mut hints = Vec::new();
        if self.accuracy >= LOW_ACCURACY {
            return hints;
        }
        let (class, photos) = self.smallest_class;
        if photos < FEW_PHOTOS {
            hints.push(Hint::FewPhotos { class, photos });
        }
        if let Some(p) = self.most_confused {
            hints.push(Hint::LookAlike { a: p.a, b: p.b });
        }
        hints
    }
}

/// The neighbourhood size for a smallest class of `smallest` photos (at least 2).
pub fn choose_k(smallest: usize) -> usize {
    MAX_K.min(smallest.saturating_sub(1)).max(1)
}

/// Leave-one-out k-NN accuracy of photos with `labels` (each `< classes`), from their pairwise
/// similarities `sims` (`[N][N]`, larger = more alike; e.g. [`SimilarityIndex::similarities`]).
///
/// [`SimilarityIndex::similarities`]: super::similarity::SimilarityIndex::similarities
pub fn leave_one_out(
    sims: &[Vec<f32>],
    labels: &[usize],
    classes: usize,
) -> Result<KnnEstimate, KnnError> {
    if labels.len() != sims.len() {
        return Err(KnnError::LabelCount {
            photos: sims.len(),
            labels: labels.len(),
        });
    }
    if classes < 2 {
        return Err(KnnError::TooFewClasses(classes));
    }
    let mut counts = vec![0usize; classes];
    for &label in labels {
        if label >= classes {
            return Err(KnnError::LabelOutOfRange { label, classes });
        }
        counts[label] += 1;
    }
    let smallest = (0..classes).fold(0, |m, c| if counts[c] < counts[m] { c } else { m });
    if counts[smallest] < 2 {
        return Err(KnnError::TooFewPhotos {
            class: smallest,
            photos: counts[smallest],
        });
    }
    let k = choose_k(counts[smallest]);

    let mut confusion = ConfusionMatrix::new(classes);
    let mut predictions = Vec::with_capacity(labels.len());
    let mut scratch = Scratch::new(k, classes);
    for (i, row) in sims.iter().enumerate() {
        let vote = scratch.vote(row, labels, Some(i));
        confusion.add(labels[i], vote);
        predictions.push(vote);
    }
    Ok(KnnEstimate {
        k,
        accuracy: confusion.accuracy(),
        predictions,
        most_confused: most_confused(&confusion),
        confusion,
        smallest_class: (smallest, counts[smallest]),
    })
}

/// The class a photo's `k` nearest reference photos vote for (rule as in [`leave_one_out`]):
/// `similarities[j]` is its similarity to reference photo `j`, whose class is `labels[j]`
/// (each `< classes`). Use the same `k` as the estimate ([`KnnEstimate::k`]). Class 0 when
/// there is no reference photo.
pub fn classify(similarities: &[f32], labels: &[usize], k: usize, classes: usize) -> usize {
    Scratch::new(k.max(1), classes).vote(similarities, labels, None)
}

/// Buffers reused from photo to photo.
struct Scratch {
    k: usize,
    /// The `k` nearest so far: (similarity, photo), most similar first.
    nearest: Vec<(f32, usize)>,
    votes: Vec<usize>,
}

impl Scratch {
    fn new(k: usize, classes: usize) -> Self {
        Self {
            k,
            nearest: Vec::with_capacity(k + 1),
            votes: vec![0; classes],
        }
    }

    /// Majority class among the `k` most similar entries of `row`, skipping entry `skip`.
    fn vote(&mut self, row: &[f32], labels: &[usize], skip: Option<usize>) -> usize {
        let k = self.k;
        let nearest = &mut self.nearest;
        nearest.clear();
        for (j, &s) in row.iter().enumerate() {
            if Some(j) == skip {
                continue;
            }
            // NaN compares as "not more similar" to everything, so it is never chosen.
            if nearest.len() == k && s.partial_cmp(&nearest[k - 1].0) != Some(Ordering::Greater) {
                continue;
            }
            // After the equally similar ones already kept: earlier photos win ties.
            let at = nearest
                .iter()
                .position(|&(t, _)| s > t)
                .unwrap_or(nearest.len());
            nearest.insert(at, (s, j));
            nearest.truncate(k);
        }
        self.votes.iter_mut().for_each(|v| *v = 0);
        for &(_, j) in nearest.iter() {
            self.votes[labels[j]] += 1;
        }
        let top = self.votes.iter().copied().max().unwrap_or(0);
        // The nearest neighbour whose class has the top count decides.
        nearest
            .iter()
            .map(|&(_, j)| labels[j])
            .find(|&c| self.votes[c] == top)
            .unwrap_or(0)
    }
}

/// The unordered pair of classes with the most errors between them (lowest indices on ties).
pub fn most_confused(confusion: &ConfusionMatrix) -> Option<ConfusedPair> {
    let c = &confusion.counts;
    let mut best: Option<ConfusedPair> = None;
    for (a, row) in c.iter().enumerate() {
        for (b, &a_as_b) in row.iter().enumerate().skip(a + 1) {
            let errors = a_as_b + c[b][a];
            if errors > best.map_or(0, |p| p.errors) {
                best = Some(ConfusedPair { a, b, errors });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::similarity::SimilarityIndex;

    /// Symmetric matrix from its upper triangle, diagonal 1.
    fn sym(n: usize, upper: &[(usize, usize, f32)]) -> Vec<Vec<f32>> {
        let mut m = vec![vec![0.0; n]; n];
        for (i, row) in m.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for &(i, j, s) in upper {
            m[i][j] = s;
            m[j][i] = s;
        }
        m
    }

    #[test]
    fn k_follows_the_smallest_class() {
        assert_eq!(choose_k(2), 1);
        assert_eq!(choose_k(3), 2);
        assert_eq!(choose_k(6), 5);
        assert_eq!(choose_k(40), 5);
    }

    #[test]
    fn separated_clusters_score_one() {
        // Class 0 near the x axis, class 1 near the y axis.
        let rows: [&[f32]; 6] = [
            &[1.0, 0.1],
            &[1.0, 0.0],
            &[1.0, 0.2],
            &[0.1, 1.0],
            &[0.0, 1.0],
            &[0.2, 1.0],
        ];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        let e = leave_one_out(&index.similarities(), &[0, 0, 0, 1, 1, 1], 2).unwrap();
        assert_eq!(e.k, 2);
        assert_eq!(e.accuracy, 1.0);
        assert_eq!(e.predictions, vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(e.most_confused, None);
        assert!(e.hints().is_empty());
    }

    #[test]
    fn one_photo_in_the_wrong_place() {
        // Labels 0,0,1,1 so k = 1. Photo 2 is closest to photo 1 (0.95), and photo 1 is then
        // closest to photo 2: both are misclassified, photos 0 and 3 are right.
        let sims = sym(
            4,
            &[
                (0, 1, 0.9),
                (0, 2, 0.1),
                (0, 3, 0.2),
                (1, 2, 0.95),
                (1, 3, 0.3),
                (2, 3, 0.8),
            ],
        );
        let e = leave_one_out(&sims, &[0, 0, 1, 1], 2).unwrap();
        assert_eq!(e.k, 1);
        assert_eq!(e.predictions, vec![0, 1, 0, 1]);
        assert_eq!(e.accuracy, 0.5);
        assert_eq!(e.confusion.counts, vec![vec![1, 1], vec![1, 1]]);
        assert_eq!(
            e.most_confused,
            Some(ConfusedPair {
                a: 0,
                b: 1,
                errors: 2
            })
        );
        assert_eq!(e.smallest_class, (0, 2));
        assert_eq!(
            e.hints(),
            vec![
                Hint::FewPhotos {
                    class: 0,
                    photos: 2
                },
                Hint::LookAlike { a: 0, b: 1 }
            ]
        );
    }

    #[test]
    fn ties_go_to_the_nearest_neighbour() {
        // Three photos a class, so k = 2. Photo 0's two nearest are photo 3 (class 1, 0.9) and
        // photo 1 (class 0, 0.8): one vote each, and the nearer one, class 1, wins.
        let mut upper = vec![(0, 3, 0.9), (0, 1, 0.8)];
        // Everyone else is clearly with their own class.
        upper.extend([
            (1, 2, 0.9),
            (0, 2, 0.1),
            (3, 4, 0.95),
            (4, 5, 0.9),
            (3, 5, 0.92),
        ]);
        let sims = sym(6, &upper);
        let e = leave_one_out(&sims, &[0, 0, 0, 1, 1, 1], 2).unwrap();
        assert_eq!(e.k, 2);
        assert_eq!(e.predictions[0], 1);
        assert_eq!(&e.predictions[1..], &[0, 0, 1, 1, 1]);

        // Equal similarities (here with k = 1): the lower photo index is the nearer neighbour.
        let sims = sym(4, &[(0, 1, 0.5), (0, 2, 0.5), (1, 3, 0.9), (2, 3, 0.1)]);
        let e = leave_one_out(&sims, &[0, 1, 0, 1], 2).unwrap();
        assert_eq!(e.predictions[0], 1);
    }

    #[test]
    fn three_classes_name_the_worst_pair() {
        // k = 1. Classes 1 and 2 trade one photo each way, class 0 is clean.
        let sims = sym(
            6,
            &[
                (0, 1, 0.9),
                (2, 3, 0.5),
                (2, 4, 0.7),
                (3, 5, 0.6),
                (4, 5, 0.4),
            ],
        );
        let e = leave_one_out(&sims, &[0, 0, 1, 1, 2, 2], 3).unwrap();
        // Photo 2 -> 4 (class 2), 3 -> 5 (class 2), 4 -> 2 (class 1), 5 -> 3 (class 1).
        assert_eq!(e.predictions, vec![0, 0, 2, 2, 1, 1]);
        assert_eq!(
            e.most_confused,
            Some(ConfusedPair {
                a: 1,
                b: 2,
                errors: 4
            })
        );
    }

    #[test]
    fn classify_a_new_photo() {
        // References: classes 0, 0, 1. The new photo is most like reference 2, then 0, then 1.
        let labels = [0, 0, 1];
        assert_eq!(classify(&[0.5, 0.1, 0.9], &labels, 1, 2), 1);
        assert_eq!(classify(&[0.5, 0.1, 0.9], &labels, 3, 2), 0);
        // k = 2: one vote each, the nearest (class 1) wins.
        assert_eq!(classify(&[0.5, 0.1, 0.9], &labels, 2, 2), 1);
        assert_eq!(classify(&[], &[], 5, 2), 0);
    }

    #[test]
    fn too_few_photos_or_classes() {
        let sims = sym(3, &[]);
        assert_eq!(
            leave_one_out(&sims, &[0, 0, 1], 2),
            Err(KnnError::TooFewPhotos {
                class: 1,
                photos: 1
            })
        );
        assert_eq!(
            leave_one_out(&sims, &[0, 0, 0], 2),
            Err(KnnError::TooFewPhotos {
                class: 1,
                photos: 0
            })
        );
        assert_eq!(
            leave_one_out(&sims, &[0, 0, 0], 1),
            Err(KnnError::TooFewClasses(1))
        );
        assert!(matches!(
            leave_one_out(&sims, &[0, 1], 2),
            Err(KnnError::LabelCount { .. })
        ));
        assert!(matches!(
            leave_one_out(&sims, &[0, 1, 5], 2),
            Err(KnnError::LabelOutOfRange { .. })
        ));
    }
}
