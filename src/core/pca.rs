//! The feature map: the photos' features projected on their first two principal components.
//!
//! With fewer photos than feature dimensions (500 photos, 1280 values), the components come
//! cheapest from the `N x N` Gram matrix of the photos rather than the `D x D` covariance: the
//! eigenvectors `u` of the centred Gram `J G J` (with `J = I - 11ᵀ/N`) are the photos'
//! coordinates up to scale (`Xc = U S Vᵀ`, so `Xc Xcᵀ = U S² Uᵀ` and the coordinates are
//! `U S`). The map of a [`SimilarityIndex`] projects its photos' centred unit vectors, whose Gram
//! matrix is the similarity matrix the expected accuracy already needs, so the map shows the same
//! geometry and costs no second `N² · D` pass.
//!
//! The top eigenvectors come from subspace iteration with Rayleigh–Ritz (Golub & Van Loan,
//! "Matrix Computations", 4th ed., §8.2.4 and §8.1.3): a block of [`BLOCK`] vectors is multiplied by the
//! centred Gram, orthonormalised and rotated onto the Ritz vectors of the block, until the first
//! two have converged. Each step costs `BLOCK · N²` multiply-adds. The block is wider than two so
//! that the second component converges at the rate `θ₅/θ₂` instead of `θ₃/θ₂`, which is slow
//! when the third eigenvalue is close to the second.
//!
//! Stability as photos come and go: pass the previous [`Projection`]. Its axes (in feature space)
//! seed the iteration, and the new axes are ordered and signed to agree with them, so the map
//! keeps its orientation and points do not jump to the mirror side. Without one, each axis is
//! signed so that the sum of its entries is positive (deterministic for given data).
//!

use super::rng::Rng;
use super::similarity::{SimilarityIndex, dot};
use serde::{Deserialize, Serialize};

/// Vectors iterated together.
pub const BLOCK: usize = 4;
/// Iterations at most; the result is still a usable map if it has not converged by then.
pub const MAX_ITERATIONS: usize = 200;
/// Converged once `|G u - θ u| <= TOLERANCE · θ₁` for both leading Ritz pairs: far below what a
/// map can show. Tighter only buys iterations when the second and third variances are close,
/// where the second axis is ill-defined anyway (on 500 noisy photos, 1e-6 took 154 iterations,
/// 1e-4 73).
pub const TOLERANCE: f64 = 1e-4;

/// A 2-D projection of feature vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// Each photo's coordinates on the two axes, in feature units.
    pub points: Vec<[f32; 2]>,
    /// The axes, unit vectors in feature space (`D` values each); all zeros for an axis along
    /// which the photos do not vary (fewer than three photos, or identical ones).
    pub axes: [Vec<f32>; 2],
    /// Mean feature vector (`D` values): the map's origin.
    pub mean: Vec<f32>,
    /// Variance of the photos along each axis (population variance, feature units squared).
    pub variance: [f32; 2],
    /// Share of the photos' total variance along each axis, `[0, 1]`.
    pub explained: [f32; 2],
    /// Subspace iterations run.
    pub iterations: usize,
}

impl Projection {
    /// Where a new photo's features (`D` values, prepared like the projected ones: see
    /// [`feature_map`]) fall on the map, without recomputing it.
    pub fn place(&self, features: &[f32]) -> [f32; 2] {
        let centred: Vec<f32> = features
            .iter()
            .zip(&self.mean)
            .map(|(x, m)| x - m)
            .collect();
        [dot(&centred, &self.axes[0]), dot(&centred, &self.axes[1])]
    }
}

/// Pairwise dot products of `rows`: `[N][N]`, `N² · D / 2` multiply-adds.
pub fn gram(rows: &[&[f32]]) -> Vec<Vec<f32>> {
    let n = rows.len();
    let mut g = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s = dot(rows[i], rows[j]);
            g[i][j] = s;
            g[j][i] = s;
        }
    }
    g
}

/// The map of an index's photos: PCA of their centred unit vectors
/// ([`SimilarityIndex::centred_units`]), whose Gram matrix is `similarities`, the index's
/// [`SimilarityIndex::similarities`] (computed once for the expected accuracy and the map).
/// Place a new photo with `map.place(&index.centred_unit(features)?)`.
pub fn feature_map(
    index: &SimilarityIndex,
    similarities: &[Vec<f32>],
    previous: Option<&Projection>,
) -> Projection {
    let units = index.centred_units();
    let rows: Vec<&[f32]> = units.iter().map(Vec::as_slice).collect();
    project(&rows, similarities, previous)
}

/// PCA of `rows` (each `D` values) onto two axes. See [`project`] for `previous`.
pub fn pca_2d(rows: &[&[f32]], previous: Option<&Projection>) -> Projection {
    project(rows, &gram(rows), previous)
}

/// PCA of `rows` (each `D` values) onto two axes, given their Gram matrix `gram` (`[N][N]`,
/// `gram[i][j] = rows[i] · rows[j]`). `previous`, a projection of (mostly) the same photos,
/// seeds the iteration and fixes the axes' order and signs; ignored if its `D` differs.
pub fn project(rows: &[&[f32]], gram: &[Vec<f32>], previous: Option<&Projection>) -> Projection {
    let n = rows.len();
    let d = rows
        .first()
        .map_or_else(|| previous.map_or(0, |p| p.mean.len()), |r| r.len());
    let previous = previous.filter(|p| p.mean.len() == d && p.axes[0].len() == d);
    let mut mean = vec![0.0f32; d];
    for row in rows {
        for (m, x) in mean.iter_mut().zip(*row) {
            *m += x / n as f32;
        }
    }
    let centred_gram = CentredGram::new(gram);

    // Starting block: the photos' coordinates on the previous axes, then seeded noise.
    let mut start: Vec<Vec<f64>> = Vec::with_capacity(BLOCK);
    if let Some(p) = previous {
        for axis in &p.axes {
            start.push(rows.iter().map(|r| dot(r, axis) as f64).collect());
        }
    }
    let mut rng = Rng::new(0x9CA);
    while start.len() < BLOCK.min(n) {
        start.push((0..n).map(|_| rng.normal() as f64).collect());
    }
    let mut q = orthonormal(start.into_iter().map(|v| centred(&v)).collect());

    let mut theta: Vec<f64> = Vec::new();
    let mut iterations = 0;
    while !q.is_empty() && iterations < MAX_ITERATIONS {
        iterations += 1;
        let z: Vec<Vec<f64>> = q.iter().map(|v| centred_gram.apply(v)).collect();
        // Rayleigh–Ritz: the best approximations to eigenvectors within span(q).
        let b = q.len();
        let h: Vec<Vec<f64>> = (0..b)
            .map(|i| {
                (0..b)
                    .map(|j| 0.5 * (dot64(&q[i], &z[j]) + dot64(&q[j], &z[i])))
                    .collect()
            })
            .collect();
        let (values, vectors) = symmetric_eigen(h);
        q = rotate(&q, &vectors);
        let z = rotate(&z, &vectors);
        theta = values;
        let scale = theta[0].abs().max(f64::MIN_POSITIVE);
        let converged = (0..b.min(2)).all(|k| {
            let r: f64 = z[k]
                .iter()
                .zip(&q[k])
                .map(|(zi, qi)| (zi - theta[k] * qi).powi(2))
                .sum();
            r.sqrt() <= TOLERANCE * scale
        });
        if converged {
            break;
        }
        q = orthonormal(z);
    }

    // Components with (numerically) no variance get a zero axis and zero coordinates.
    let floor = centred_gram.trace * 1e-9;
    let mut axes = [vec![0.0f32; d], vec![0.0f32; d]];
    let mut coords = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut variance_sum = [0.0f64; 2];
    for k in 0..2.min(q.len()) {
        let t = theta[k];
        if t.is_nan() || t <= floor {
            continue;
        }
        let s = t.sqrt();
        for (row, &qi) in rows.iter().zip(&q[k]) {
            for (a, x) in axes[k].iter_mut().zip(*row) {
                *a += (qi / s) as f32 * x;
            }
        }
        coords[k] = q[k].iter().map(|&qi| (qi * s) as f32).collect();
        variance_sum[k] = t;
    }

    // Order and signs: agree with the previous axes, else positive sum of entries.
    let mut order = [0, 1];
    let mut signs = [1.0f32; 2];
    let default_sign = |a: &[f32]| {
        let s: f32 = a.iter().sum();
        if s < 0.0 { -1.0 } else { 1.0 }
    };
    match previous {
        Some(p) => {
            let m: Vec<Vec<f32>> = (0..2)
                .map(|k| (0..2).map(|l| dot(&axes[k], &p.axes[l])).collect())
                .collect();
            if m[0][1].abs() + m[1][0].abs() > m[0][0].abs() + m[1][1].abs() {
                order = [1, 0];
            }
            for (slot, &k) in order.iter().enumerate() {
                let agreement = m[k][slot];
                signs[slot] = if agreement < 0.0 {
                    -1.0
                } else if agreement > 0.0 {
                    1.0
                } else {
                    default_sign(&axes[k])
                };
            }
        }
        None => {
            for k in 0..2 {
                signs[k] = default_sign(&axes[k]);
            }
        }
    }

    let total = centred_gram.trace.max(f64::MIN_POSITIVE);
    let pick = |k: usize| {
        let (i, s) = (order[k], signs[k]);
        (
            axes[i].iter().map(|a| a * s).collect::<Vec<f32>>(),
            coords[i].iter().map(|c| c * s).collect::<Vec<f32>>(),
            variance_sum[i],
        )
    };
    let (axis_x, x, var_x) = pick(0);
    let (axis_y, y, var_y) = pick(1);
    Projection {
        points: x.into_iter().zip(y).map(|(a, b)| [a, b]).collect(),
        axes: [axis_x, axis_y],
        mean,
        variance: [
            (var_x / n.max(1) as f64) as f32,
            (var_y / n.max(1) as f64) as f32,
        ],
        explained: [(var_x / total) as f32, (var_y / total) as f32],
        iterations,
    }
}

/// `J G J` without forming it: multiplying centres, applies `G`, centres again.
struct CentredGram<'a> {
    gram: &'a [Vec<f32>],
    /// Trace of `J G J`: the photos' summed squared distance to their mean.
    trace: f64,
}

impl<'a> CentredGram<'a> {
    fn new(gram: &'a [Vec<f32>]) -> Self {
        let n = gram.len().max(1) as f64;
        let diagonal: f64 = gram.iter().enumerate().map(|(i, r)| r[i] as f64).sum();
        let all: f64 = gram.iter().flatten().map(|&g| g as f64).sum();
        Self {
            gram,
            trace: (diagonal - all / n).max(0.0),
        }
    }

    /// `[N] -> [N]`
    fn apply(&self, v: &[f64]) -> Vec<f64> {
        let v = centred(v);
        let y: Vec<f64> = self
            .gram
            .iter()
            .map(|row| row.iter().zip(&v).map(|(&g, x)| g as f64 * x).sum())
            .collect();
        centred(&y)
    }
}

fn centred(v: &[f64]) -> Vec<f64> {
    let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
    v.iter().map(|x| x - m).collect()
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Modified Gram–Schmidt; vectors that are (numerically) in the span of earlier ones are dropped.
fn orthonormal(vectors: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(vectors.len());
    let biggest = vectors
        .iter()
        .map(|v| dot64(v, v).sqrt())
        .fold(0.0, f64::max);
    for mut v in vectors {
        for u in &out {
            let p = dot64(&v, u);
            v.iter_mut().zip(u).for_each(|(x, y)| *x -= p * y);
        }
        let norm = dot64(&v, &v).sqrt();
        if norm > 1e-10 * biggest && norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
            out.push(v);
        }
    }
    out
}

/// Columns of `vectors` (each `N` long, `b` of them) combined by `r` (`b x b`):
/// `out[k] = Σ_j vectors[j] · r[j][k]`.
fn rotate(vectors: &[Vec<f64>], r: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = vectors.first().map_or(0, Vec::len);
    (0..r.len())
        .map(|k| {
            let mut out = vec![0.0; n];
            for (j, v) in vectors.iter().enumerate() {
                out.iter_mut().zip(v).for_each(|(o, x)| *o += r[j][k] * x);
            }
            out
        })
        .collect()
}

/// Eigenvalues (descending) and eigenvectors (columns: `vectors[i][k]` is entry `i` of the
/// `k`-th) of a small symmetric matrix, by cyclic Jacobi rotations (Golub & Van Loan §8.5.2).
fn symmetric_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let b = a.len();
    let mut v: Vec<Vec<f64>> = (0..b)
        .map(|i| (0..b).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for _sweep in 0..50 {
        let off: f64 = (0..b)
            .flat_map(|i| (0..b).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let scale: f64 = (0..b).map(|i| a[i][i] * a[i][i]).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..b {
            for q in p + 1..b {
                if a[p][q] == 0.0 {
                    continue;
                }
                let tau = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
                let (upper, lower) = a.split_at_mut(q);
                for (x, y) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    (*x, *y) = (c * *x - s * *y, s * *x + c * *y);
                }
                for row in v.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..b).collect();
    order.sort_by(|&i, &j| a[j][j].total_cmp(&a[i][i]));
    let values = order.iter().map(|&i| a[i][i]).collect();
    let vectors = (0..b)
        .map(|i| order.iter().map(|&k| v[i][k]).collect())
        .collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six photos in four dimensions with known principal components: `x_i = m + Σ s_k u_k[i] v_k`,
    /// with `u_k` orthonormal Helmert contrasts (orthogonal to the all-ones vector, so the data
    /// is centred on `m`) and `v_k` orthonormal axes.
    /// Rows, singular values `s`, left vectors `u` (over photos), axes `v` (over features).
    type Known = (Vec<Vec<f32>>, [f32; 3], [[f32; 6]; 3], [[f32; 4]; 3]);

    fn known() -> Known {
        let r2 = 2f32.sqrt();
        let (r6, r12, r3) = (6f32.sqrt(), 12f32.sqrt(), 3f32.sqrt());
        let u = [
            [1.0 / r2, -1.0 / r2, 0.0, 0.0, 0.0, 0.0],
            [1.0 / r6, 1.0 / r6, -2.0 / r6, 0.0, 0.0, 0.0],
            [1.0 / r12, 1.0 / r12, 1.0 / r12, -3.0 / r12, 0.0, 0.0],
        ];
        let v = [
            [1.0 / r3, 1.0 / r3, 1.0 / r3, 0.0],
            [1.0 / r3, -1.0 / r3, 0.0, 1.0 / r3],
            [1.0 / r3, 0.0, -1.0 / r3, -1.0 / r3],
        ];
        let s = [6.0, 3.0, 1.0];
        let m = [1.0, 2.0, 3.0, 4.0];
        let rows = (0..6)
            .map(|i| {
                (0..4)
                    .map(|d| m[d] + (0..3).map(|k| s[k] * u[k][i] * v[k][d]).sum::<f32>())
                    .collect()
            })
            .collect();
        (rows, s, u, v)
    }

    fn refs(rows: &[Vec<f32>]) -> Vec<&[f32]> {
        rows.iter().map(Vec::as_slice).collect()
    }

    fn assert_close(a: &[f32], b: &[f32], tol: f32) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < tol, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn recovers_a_known_decomposition() {
        let (rows, s, u, v) = known();
        let p = pca_2d(&refs(&rows), None);
        // Both axes have a positive entry sum, so no sign flips: axes are v1, v2 exactly.
        assert_close(&p.axes[0], &v[0], 1e-5);
        assert_close(&p.axes[1], &v[1], 1e-5);
        assert_close(&p.mean, &[1.0, 2.0, 3.0, 4.0], 1e-5);
        for (i, point) in p.points.iter().enumerate() {
            assert_close(point, &[s[0] * u[0][i], s[1] * u[1][i]], 1e-4);
        }
        // Variance along axis k is s_k² / N; the total is Σ s².
        assert_close(&p.variance, &[36.0 / 6.0, 9.0 / 6.0], 1e-4);
        assert_close(&p.explained, &[36.0 / 46.0, 9.0 / 46.0], 1e-5);
        // Placing a photo again gives its point.
        assert_close(&p.place(&rows[2]), &p.points[2], 1e-4);
    }

    #[test]
    fn gram_is_the_dot_products() {
        let rows: [&[f32]; 2] = [&[1.0, 2.0], &[3.0, -1.0]];
        assert_eq!(gram(&rows), vec![vec![5.0, 1.0], vec![1.0, 10.0]]);
    }

    #[test]
    fn previous_axes_fix_order_and_signs() {
        let (rows, _, _, v) = known();
        let cold = pca_2d(&refs(&rows), None);
        // A previous map with the axes swapped and the first flipped: the new one follows it.
        let mut previous = cold.clone();
        previous.axes = [v[1].map(|x| -x).to_vec(), v[0].to_vec()];
        let p = pca_2d(&refs(&rows), Some(&previous));
        assert_close(&p.axes[0], &previous.axes[0], 1e-5);
        assert_close(&p.axes[1], &previous.axes[1], 1e-5);
        assert_close(&p.variance, &[cold.variance[1], cold.variance[0]], 1e-4);
        for (a, b) in p.points.iter().zip(&cold.points) {
            assert_close(a, &[-b[1], b[0]], 1e-4);
        }
    }

    #[test]
    fn adding_a_photo_keeps_the_orientation() {
        let (mut rows, _, _, _) = known();
        let before = pca_2d(&refs(&rows), None);
        // A new photo turns the axes a little; with the previous map passed, they keep
        // pointing the same way.
        rows.push(vec![-4.0, 2.0, 1.0, 2.5]);
        let after = pca_2d(&refs(&rows), Some(&before));
        for k in 0..2 {
            assert!(
                dot(&after.axes[k], &before.axes[k]) > 0.5,
                "axis {k} turned"
            );
        }
        // Same answer as a cold start up to sign.
        let cold = pca_2d(&refs(&rows), None);
        for k in 0..2 {
            assert!((dot(&after.axes[k], &cold.axes[k]).abs() - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn tiny_sets() {
        let empty = pca_2d(&[], None);
        assert!(empty.points.is_empty());
        let one = pca_2d(&[&[1.0, 2.0]], None);
        assert_eq!(one.points, vec![[0.0, 0.0]]);
        // Two photos vary along one direction only: the second axis is zero.
        let two = pca_2d(&[&[0.0, 0.0], &[3.0, 4.0]], None);
        assert_close(&two.axes[0], &[0.6, 0.8], 1e-5);
        assert_eq!(two.axes[1], vec![0.0, 0.0]);
        assert_close(&two.points[0], &[-2.5, 0.0], 1e-5);
        assert_close(&two.points[1], &[2.5, 0.0], 1e-5);
        assert_close(&two.explained, &[1.0, 0.0], 1e-5);
        // Identical photos: nothing to show, but no NaN.
        let same = pca_2d(&[&[1.0, 1.0], &[1.0, 1.0], &[1.0, 1.0]], None);
        assert!(same.points.iter().flatten().all(|&c| c == 0.0));
    }

    #[test]
    fn map_of_an_index_uses_centred_unit_vectors() {
        let rows: [&[f32]; 4] = [&[2.0, 0.0], &[0.0, 5.0], &[1.0, 1.0], &[3.0, 0.1]];
        let index = SimilarityIndex::from_rows(2, &rows).unwrap();
        let units = index.centred_units();
        let direct = pca_2d(&refs(&units), None);
        let map = feature_map(&index, &index.similarities(), None);
        assert_eq!(map.points.len(), 4);
        for (a, b) in map.points.iter().zip(&direct.points) {
            assert_close(a, b, 1e-5);
        }
        let placed = map.place(&index.centred_unit(rows[1]).unwrap());
        assert_close(&placed, &map.points[1], 1e-5);
    }
}
