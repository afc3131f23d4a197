//! Cosine similarities between photos' feature vectors, kept up to date one photo at a time.
//!
//! Both the expected accuracy ([`super::knn`]) and the feature map ([`super::pca`]) work on the
//! same matrix of pairwise cosine similarities, so the map shows the geometry the estimate uses.
//! Building it is the only expensive part (`N² · D / 2` multiply-adds: 160 M for 500 photos of
//! 1280 values); [`SimilarityIndex::push`] adds one photo in `N · D`, so a browser worker can
//! grow the index as photos are embedded and never run one long task.

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
}

/// L2-normalised feature vectors and their pairwise cosine similarities.
///
/// Photo `i` is the `i`-th vector pushed (minus removed ones). A vector whose norm is zero or
/// that holds a non-finite value is stored as all zeros: its similarity to every photo is 0, so
/// it is nobody's near neighbour and sits at the centre of the map, instead of poisoning every
/// result with NaN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimilarityIndex {
    dim: usize,
    /// `[N, dim]`, row-major, unit rows (or zero rows, see above).
    units: Vec<f32>,
    /// `[N][N]` cosine similarities, symmetric; the diagonal is 1 (0 for a zero row).
    sims: Vec<Vec<f32>>,
}

impl SimilarityIndex {
    /// An empty index for vectors of `dim` values.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            units: Vec::new(),
            sims: Vec::new(),
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
        if features.len() != self.dim {
            return Err(SimilarityError::DimensionMismatch {
                expected: self.dim,
                found: features.len(),
            });
        }
        let unit = normalised(features);
        let n = self.len();
        let mut row: Vec<f32> = (0..n).map(|i| dot(&unit, self.unit(i))).collect();
        for (others, &s) in self.sims.iter_mut().zip(&row) {
            others.push(s);
        }
        row.push(dot(&unit, &unit));
        self.sims.push(row);
        self.units.extend_from_slice(&unit);
        Ok(n)
    }

    /// Cosine similarity of `features` (a photo not in the index, `dim` values) to every photo
    /// of the index, without adding it: `N · D` multiply-adds.
    pub fn similarities_to(&self, features: &[f32]) -> Result<Vec<f32>, SimilarityError> {
        if features.len() != self.dim {
            return Err(SimilarityError::DimensionMismatch {
                expected: self.dim,
                found: features.len(),
            });
        }
        let unit = normalised(features);
        Ok((0..self.len()).map(|i| dot(&unit, self.unit(i))).collect())
    }

    /// Removes photo `i`; later photos move down by one. Panics if `i >= len()`.
    pub fn remove(&mut self, i: usize) {
        self.sims.remove(i);
        for row in &mut self.sims {
            row.remove(i);
        }
        self.units.drain(i * self.dim..(i + 1) * self.dim);
    }

    /// Number of photos.
    pub fn len(&self) -> usize {
        self.sims.len()
    }

    /// Whether the index holds no photo.
    pub fn is_empty(&self) -> bool {
        self.sims.is_empty()
    }

    /// Length of the feature vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Cosine similarity of photos `i` and `j`, in `[-1, 1]`.
    pub fn similarity(&self, i: usize, j: usize) -> f32 {
        self.sims[i][j]
    }

    /// All similarities, `[N][N]`: row `i` holds photo `i`'s similarity to every photo.
    pub fn matrix(&self) -> &[Vec<f32>] {
        &self.sims
    }

    /// Photo `i`'s normalised feature vector (`dim` values).
    pub fn unit(&self, i: usize) -> &[f32] {
        &self.units[i * self.dim..(i + 1) * self.dim]
    }

    /// Every photo's normalised feature vector, in order.
    pub fn units(&self) -> Vec<&[f32]> {
        (0..self.len()).map(|i| self.unit(i)).collect()
    }
}

/// `v / |v|`, or zeros when `v` is zero or holds a non-finite value.
fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = dot(v, v).sqrt();
    if norm.is_finite() && norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        vec![0.0; v.len()]
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
    fn cosine_similarities_by_hand() {
        // (1,0), (1,1)/√2 after normalising (2,2), (0,3), and (-1,0).
        let rows: [&[f32]; 4] = [&[1.0, 0.0], &[2.0, 2.0], &[0.0, 3.0], &[-1.0, 0.0]];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        assert_eq!(index.len(), 4);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(close(index.similarity(0, 1), h));
        assert!(close(index.similarity(1, 2), h));
        assert!(close(index.similarity(0, 2), 0.0));
        assert!(close(index.similarity(0, 3), -1.0));
        assert!(close(index.similarity(2, 2), 1.0));
        for i in 0..4 {
            for j in 0..4 {
                assert_eq!(index.similarity(i, j), index.similarity(j, i));
            }
        }
        assert!(close(index.unit(2)[1], 1.0));
        let outside = index.similarities_to(&[0.0, -2.0]).unwrap();
        assert!(close(outside[1], -h) && close(outside[2], -1.0) && close(outside[0], 0.0));
    }

    #[test]
    fn degenerate_vectors_are_nobodys_neighbour() {
        let rows: [&[f32]; 3] = [&[1.0, 0.0], &[0.0, 0.0], &[f32::NAN, 1.0]];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                assert!(index.similarity(i, j).is_finite());
            }
        }
        assert_eq!(index.similarity(0, 1), 0.0);
        assert_eq!(index.similarity(0, 2), 0.0);
        assert_eq!(index.similarity(1, 1), 0.0);
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
    fn wrong_length_is_an_error() {
        let mut index = SimilarityIndex::new(3);
        assert_eq!(
            index.push(&[1.0, 2.0]),
            Err(SimilarityError::DimensionMismatch {
                expected: 3,
                found: 2
            })
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
