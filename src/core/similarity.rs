//! How alike the photos are to the backbone: cosine similarities of their mean-centred feature
//! vectors, kept up to date one photo at a time.
//!
//! Both the expected accuracy ([`super::knn`]) and the feature map ([`super::pca`]) work on these
//! similarities, so the map shows the geometry the estimate uses.
//!
//! Centring first: pooled ReLU features of all photos share a large common component (their
//! plain cosine similarity is ~0.5–0.6 for any two photos at MobileNetV2's last stage), which
//! drowns the differences that tell classes apart. Subtracting the photos' mean removes it, as
//! PCA does. On the pets photos (20 a class) leave-one-out k-NN at the last stage rose from 0.85
//! to 0.98 on cat/dog/other with centring, where a trained head reaches 0.97 (examples/
//! transfer_report.rs prints both).
//!
//! Cost: the index keeps the raw dot products (`N² · D / 2` multiply-adds in all: 160 M for 500
//! photos of 1280 values), one photo at a time ([`SimilarityIndex::push`], `N · D`), so a
//! browser worker can grow it as photos are embedded and never run one long task. Centring
//! changes every similarity when a photo comes or goes, but needs only the dot products:
//! `(x_i - m)·(x_j - m) = G_ij - a_i - a_j + b` with `a_i = mean_k G_ik` and `b = mean_i a_i`,
//! so [`SimilarityIndex::similarities`] is `O(N²)`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a feature vector cannot join an index.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum SimilarityError {
    /// Every vector of an index must have the same length.
    #[error("a feature vector has {found} values, the others {expected}")]
    DimensionMismatch {
        /// Length of the vectors already in the index.
        expected: usize,
        /// Length of the rejected vector.
        found: usize,
    },
    /// A NaN or infinite feature: the backbone's output is broken.
    #[error("a feature vector holds a value that is not a finite number")]
    NonFinite,
}

/// Feature vectors and their pairwise dot products. Photo `i` is the `i`-th vector pushed
/// (minus removed ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimilarityIndex {
    dim: usize,
    /// `[N, dim]`, row-major.
    rows: Vec<f32>,
    /// `[N][N]` dot products, symmetric.
    gram: Vec<Vec<f32>>,
}

impl SimilarityIndex {
    /// An empty index for vectors of `dim` values.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            rows: Vec::new(),
            gram: Vec::new(),
        }
    }

    /// Builds the index from `rows` (each `dim` values): `N² · D / 2` multiply-adds.
    pub fn from_rows(dim: usize, rows: &[&[f32]]) -> Result<Self, SimilarityError> {
        let mut index = Self::new(dim);
        for row in rows {
            index.push(row)?;
        }
        Ok(index)
    }

    /// Adds a photo's features and returns its index; costs `N · D` multiply-adds.
    pub fn push(&mut self, features: &[f32]) -> Result<usize, SimilarityError> {
        self.check(features)?;
        let n = self.len();
        let mut row: Vec<f32> = (0..n).map(|i| dot(features, self.row(i))).collect();
        for (others, &g) in self.gram.iter_mut().zip(&row) {
            others.push(g);
        }
        row.push(dot(features, features));
        self.gram.push(row);
        self.rows.extend_from_slice(features);
        Ok(n)
    }

    /// Removes photo `i`; later photos move down by one. Panics if `i >= len()`.
    pub fn remove(&mut self, i: usize) {
        self.gram.remove(i);
        for row in &mut self.gram {
            row.remove(i);
        }
        self.rows.drain(i * self.dim..(i + 1) * self.dim);
    }

    /// Number of photos.
    pub fn len(&self) -> usize {
        self.gram.len()
    }

    /// Whether the index holds no photo.
    pub fn is_empty(&self) -> bool {
        self.gram.is_empty()
    }

    /// Length of the feature vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Photo `i`'s features as pushed (`dim` values).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.dim..(i + 1) * self.dim]
    }

    /// Pairwise dot products of the features as pushed, `[N][N]`.
    pub fn gram(&self) -> &[Vec<f32>] {
        &self.gram
    }

    /// Mean feature vector of the photos (`dim` values; zeros when empty).
    pub fn mean(&self) -> Vec<f32> {
        let mut mean = vec![0.0f64; self.dim];
        for i in 0..self.len() {
            for (m, &x) in mean.iter_mut().zip(self.row(i)) {
                *m += x as f64;
            }
        }
        let n = self.len().max(1) as f64;
        mean.into_iter().map(|m| (m / n) as f32).collect()
    }

    /// Cosine similarities of the mean-centred features, `[N][N]`, in `[-1, 1]`; `O(N²)`.
    /// A photo equal to the mean (e.g. the only one) has similarity 0 to every photo, itself
    /// included.
    pub fn similarities(&self) -> Vec<Vec<f32>> {
        let c = self.centred_gram();
        let norms: Vec<f64> = (0..c.len()).map(|i| c[i][i].max(0.0).sqrt()).collect();
        c.iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, &v)| cosine(v, norms[i] * norms[j]))
                    .collect()
            })
            .collect()
    }

    /// Similarity (as in [`Self::similarities`], centred on the index's mean) of a photo that is
    /// not in the index to every photo of it, without adding it: `N · D` multiply-adds.
    pub fn similarities_to(&self, features: &[f32]) -> Result<Vec<f32>, SimilarityError> {
        let z = self.centred_unit(features)?;
        Ok(self.centred_units().iter().map(|u| dot(&z, u)).collect())
    }

    /// `(x - m) / |x - m|` for features `x` and the index's mean `m`; zeros when `x` is the
    /// mean. The photos' own ones are [`Self::centred_units`]; their Gram matrix is
    /// [`Self::similarities`].
    pub fn centred_unit(&self, features: &[f32]) -> Result<Vec<f32>, SimilarityError> {
        self.check(features)?;
        let centred: Vec<f32> = features
            .iter()
            .zip(self.mean())
            .map(|(x, m)| x - m)
            .collect();
        Ok(unit(centred))
    }

    /// [`Self::centred_unit`] of every photo of the index, in order: `N · D`.
    pub fn centred_units(&self) -> Vec<Vec<f32>> {
        let mean = self.mean();
        (0..self.len())
            .map(|i| unit(self.row(i).iter().zip(&mean).map(|(x, m)| x - m).collect()))
            .collect()
    }

    /// `G_ij - a_i - a_j + b`: dot products of the mean-centred features, in f64 because the
    /// common part that cancels can be much larger than what remains.
    fn centred_gram(&self) -> Vec<Vec<f64>> {
        let n = self.len().max(1) as f64;
        let a: Vec<f64> = self
            .gram
            .iter()
            .map(|r| r.iter().map(|&g| g as f64).sum::<f64>() / n)
            .collect();
        let b = a.iter().sum::<f64>() / n;
        self.gram
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.iter()
                    .enumerate()
                    .map(|(j, &g)| g as f64 - a[i] - a[j] + b)
                    .collect()
            })
            .collect()
    }

    fn check(&self, features: &[f32]) -> Result<(), SimilarityError> {
        if features.len() != self.dim {
            return Err(SimilarityError::DimensionMismatch {
                expected: self.dim,
                found: features.len(),
            });
        }
        if features.iter().any(|x| !x.is_finite()) {
            return Err(SimilarityError::NonFinite);
        }
        Ok(())
    }
}

/// `dot / norms`, clamped to `[-1, 1]`; 0 when a vector is (numerically) zero.
fn cosine(dot: f64, norms: f64) -> f32 {
    if norms > 1e-12 {
        (dot / norms).clamp(-1.0, 1.0) as f32
    } else {
        0.0
    }
}

/// `v / |v|`, or zeros when `v` is zero.
fn unit(v: Vec<f32>) -> Vec<f32> {
    let norm = dot(&v, &v).sqrt();
    if norm > 0.0 {
        v.into_iter().map(|x| x / norm).collect()
    } else {
        v
    }
}

/// Dot product of two equally long slices.
///
/// Eight independent partial sums: floating-point addition is not associative, so the compiler
/// will not split one running sum into vector lanes itself; with eight it can (and without SIMD
/// the independent sums still overlap in the pipeline).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn centred_cosine_by_hand() {
        // Mean (0, 0): plain cosines. (1,0) vs (2,2): 1/√2; (1,0) vs (-3,0): -1.
        let rows: [&[f32]; 4] = [&[1.0, 0.0], &[2.0, 2.0], &[-3.0, 0.0], &[0.0, -2.0]];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        let s = index.similarities();
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(close(s[0][1], h));
        assert!(close(s[0][2], -1.0));
        assert!(close(s[0][3], 0.0));
        assert!(close(s[1][3], -h));
        assert!(close(s[2][2], 1.0));
        for (i, row) in s.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert_eq!(v, s[j][i]);
            }
        }
        assert_eq!(index.gram()[1][2], -6.0);
    }

    #[test]
    fn a_common_offset_changes_nothing() {
        let rows: [&[f32]; 4] = [&[1.0, 0.0], &[2.0, 2.0], &[-3.0, 0.0], &[0.0, -2.0]];
        let shifted: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| r.iter().map(|x| x + 100.0).collect())
            .collect();
        let shifted: Vec<&[f32]> = shifted.iter().map(Vec::as_slice).collect();
        let a = SimilarityIndex::from_rows(2, &rows).unwrap().similarities();
        let b = SimilarityIndex::from_rows(2, &shifted)
            .unwrap()
            .similarities();
        for (ra, rb) in a.iter().zip(&b) {
            for (x, y) in ra.iter().zip(rb) {
                assert!((x - y).abs() < 1e-4, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_photo_at_the_mean_is_nobodys_neighbour() {
        // Mean (2, 2): photo 2 sits on it; photos 0 and 1 are opposite.
        let rows: [&[f32]; 3] = [&[1.0, 1.0], &[3.0, 3.0], &[2.0, 2.0]];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        let s = index.similarities();
        assert!(close(s[0][1], -1.0));
        assert_eq!(s[2], vec![0.0, 0.0, 0.0]);
        assert_eq!(index.mean(), vec![2.0, 2.0]);
        let one = SimilarityIndex::from_rows(2, &rows[..1]).unwrap();
        assert_eq!(one.similarities(), vec![vec![0.0]]);
    }

    #[test]
    fn similarities_to_an_outside_photo() {
        let rows: [&[f32]; 2] = [&[1.0, 1.0], &[3.0, 3.0]];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        // Centred on (2, 2): (4, 4) points like photo 1, away from photo 0.
        let s = index.similarities_to(&[4.0, 4.0]).unwrap();
        assert!(close(s[0], -1.0) && close(s[1], 1.0));
        assert_eq!(
            index.centred_units()[1],
            index.centred_unit(&[3.0, 3.0]).unwrap()
        );
    }

    #[test]
    fn remove_matches_rebuilding() {
        let rows: [&[f32]; 4] = [
            &[1.0, 2.0, 0.5],
            &[0.0, 1.0, 1.0],
            &[3.0, 0.0, 1.0],
            &[1.0, 1.0, 1.0],
        ];
        let mut index = SimilarityIndex::from_rows(3, &rows).unwrap();
        index.remove(1);
        let rebuilt = SimilarityIndex::from_rows(3, &[rows[0], rows[2], rows[3]]).unwrap();
        assert_eq!(index, rebuilt);
    }

    #[test]
    fn bad_vectors_are_errors() {
        let mut index = SimilarityIndex::new(3);
        assert_eq!(
            index.push(&[1.0, 2.0]),
            Err(SimilarityError::DimensionMismatch {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            index.push(&[1.0, f32::NAN, 0.0]),
            Err(SimilarityError::NonFinite)
        );
        assert!(index.is_empty());
    }

    #[test]
    fn dot_handles_the_tail() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b = vec![1.0f32; 19];
        assert_eq!(dot(&a, &b), (0..19).sum::<i32>() as f32);
    }
}
