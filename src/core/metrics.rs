//! Classification metrics: accuracy, per-class accuracy and the confusion matrix.

use serde::{Deserialize, Serialize};

/// Counts of (true class, predicted class) pairs. `counts[t][p]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Row `t`, column `p`: photos of class `t` predicted as class `p`.
    pub counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// An all-zero matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            counts: vec![vec![0; classes]; classes],
        }
    }

    /// Builds the matrix from parallel slices of true and predicted class indices.
    pub fn from_predictions(classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        let mut m = Self::new(classes);
        for (&t, &p) in truth.iter().zip(predicted) {
            m.add(t, p);
        }
        m
    }

    /// Records one prediction.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Number of predictions recorded.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Fraction of correct predictions in `[0, 1]`; 0 when empty.
    pub fn accuracy(&self) -> f32 {
        let correct: usize = (0..self.classes()).map(|i| self.counts[i][i]).sum();
        ratio(correct, self.total())
    }

    /// Recall of each class in `[0, 1]`; `None` for a class with no photos.
    pub fn per_class_accuracy(&self) -> Vec<Option<f32>> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let n: usize = row.iter().sum();
                (n > 0).then(|| ratio(row[i], n))
            })
            .collect()
    }
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 { 0.0 } else { a as f32 / b as f32 }
}

/// Index of the largest value (first one on ties); 0 for an empty slice.
///
/// A NaN never wins (every comparison with it is false), so a row that is all NaN also gives 0:
/// a broken model would look like one that always answers class 0. Where that matters, use
/// [`try_argmax`] or [`crate::core::output_check::check_outputs`].
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Index of the largest value (first one on ties), or `None` when there is no answer: the slice
/// is empty or holds a NaN (a NaN logit makes the whole softmax row NaN, so no class is chosen).
pub fn try_argmax(values: &[f32]) -> Option<usize> {
    (!values.is_empty() && !values.iter().any(|v| v.is_nan())).then(|| argmax(values))
}

/// Numerically stable softmax of one row of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_metrics() {
        let m = ConfusionMatrix::from_predictions(3, &[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0]);
        assert_eq!(m.counts, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]);
        assert_eq!(m.total(), 5);
        assert!((m.accuracy() - 0.6).abs() < 1e-6);
        assert_eq!(
            m.per_class_accuracy(),
            vec![Some(0.5), Some(1.0), Some(0.0)]
        );
        assert_eq!(
            ConfusionMatrix::new(2).per_class_accuracy(),
            vec![None, None]
        );
        assert_eq!(ConfusionMatrix::new(2).accuracy(), 0.0);
    }

    #[test]
    fn argmax_and_softmax() {
        assert_eq!(argmax(&[0.1, 3.0, 3.0, -1.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0, f32::NAN, 2.0]), 3);
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), 0);
        assert_eq!(try_argmax(&[0.1, 3.0, 3.0]), Some(1));
        assert_eq!(try_argmax(&[f32::NAN, f32::NAN]), None);
        assert_eq!(try_argmax(&[1.0, f32::NAN]), None);
        assert_eq!(try_argmax(&[]), None);
        assert_eq!(try_argmax(&[f32::NEG_INFINITY, f32::INFINITY]), Some(1));
        let p = softmax(&[1000.0, 1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6);
        let p = softmax(&[0.0, 1.0, 2.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[2] > p[1] && p[1] > p[0]);
    }
}
