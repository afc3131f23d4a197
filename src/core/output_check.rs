//! Is a predictor a real model? Checks on its outputs before its accuracy is shown to anyone.
//!
//! A model that gives every photo the same scores, or NaN, still gets an accuracy: the share of
//! whichever class `argmax` falls on (class 0 for NaN, see [`super::metrics::argmax`]). On a
//! balanced two-class set that reads as 50%, which looks like "learned nothing" but is really
//! "computed nothing". These checks tell the two apart; [`chance_accuracy`] is the bar a real
//! model has to clear to have learned something.

use super::metrics::argmax;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a predictor's outputs are not a real model's.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum OutputFault {
    /// There is nothing to check.
    #[error("no outputs")]
    Empty,
    /// Output rows differ in length.
    #[error("output row {row} has {found} values, the first {expected}")]
    Ragged {
        /// The offending row.
        row: usize,
        /// Its length.
        found: usize,
        /// The first row's length.
        expected: usize,
    },
    /// A score is NaN or infinite.
    #[error("output row {row} holds a value that is not a finite number")]
    NonFinite {
        /// The first offending row.
        row: usize,
    },
    /// Every photo gets the same scores (within [`SAME_SCORES`]).
    #[error("every photo gets the same scores")]
    Constant,
    /// Photos of several classes, all predicted as one.
    #[error("every photo is predicted as class {0}")]
    SingleClass(usize),
}

/// Scores closer than this (relative to the largest score) count as equal for
/// [`OutputFault::Constant`].
pub const SAME_SCORES: f32 = 1e-6;

/// Checks one output row per photo (logits or probabilities, one value per class): all finite,
/// not the same for every photo, and, when `labels` (the photos' true classes, same order) hold
/// at least two classes, not the same predicted class for every photo.
pub fn check_outputs(rows: &[Vec<f32>], labels: &[usize]) -> Result<(), OutputFault> {
    let first = rows.first().ok_or(OutputFault::Empty)?;
    for (row, r) in rows.iter().enumerate() {
        if r.len() != first.len() {
            return Err(OutputFault::Ragged {
                row,
                found: r.len(),
                expected: first.len(),
            });
        }
        if r.iter().any(|v| !v.is_finite()) {
            return Err(OutputFault::NonFinite { row });
        }
    }
    if rows.len() > 1 {
        let scale = rows
            .iter()
            .flatten()
            .fold(0.0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        let same = rows.iter().all(|r| {
            r.iter()
                .zip(first)
                .all(|(a, b)| (a - b).abs() <= SAME_SCORES * scale)
        });
        if same {
            return Err(OutputFault::Constant);
        }
    }
    let several_classes = labels.iter().any(|&l| Some(&l) != labels.first());
    if several_classes {
        let class = argmax(first);
        if rows.iter().all(|r| argmax(r) == class) {
            return Err(OutputFault::SingleClass(class));
        }
    }
    Ok(())
}

/// The accuracy of always answering the most common class among `labels` (each `< classes`): the
/// best a model that learned nothing can score on these photos. 0 for no photos.
pub fn chance_accuracy(labels: &[usize], classes: usize) -> f32 {
    let mut counts = vec![0usize; classes];
    for &l in labels {
        counts[l] += 1;
    }
    let top = counts.into_iter().max().unwrap_or(0);
    if labels.is_empty() {
        0.0
    } else {
        top as f32 / labels.len() as f32
    }
}

/// Standard errors above chance an accuracy must be to count as learned (see [`chance_bar`]).
pub const CHANCE_MARGIN: f32 = 2.0;

/// The accuracy above which a model on `photos` photos has beaten `chance` (see
/// [`chance_accuracy`]) by more than luck: `chance` plus [`CHANCE_MARGIN`] standard errors of a
/// guesser right with probability `chance` on each photo, `√(chance · (1 − chance) / photos)`
/// (binomial; in the normal approximation, a guesser clears it about 2% of the time). With
/// 227 photos and chance 0.44, one photo more than chance is noise; 0.51 is not. 1 for no photos.
pub fn chance_bar(chance: f32, photos: usize) -> f32 {
    if photos == 0 {
        return 1.0;
    }
    let spread = (chance * (1.0 - chance) / photos as f32).sqrt();
    (chance + CHANCE_MARGIN * spread).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_model_passes() {
        let rows = vec![vec![2.0, -1.0], vec![-0.5, 1.5], vec![1.0, 0.9]];
        assert_eq!(check_outputs(&rows, &[0, 1, 1]), Ok(()));
    }

    #[test]
    fn constant_and_non_finite_models_fail() {
        let constant = vec![vec![0.3, 0.7]; 4];
        assert_eq!(
            check_outputs(&constant, &[0, 0, 1, 1]),
            Err(OutputFault::Constant)
        );
        let nan = vec![vec![0.1, 0.9], vec![f32::NAN, f32::NAN]];
        assert_eq!(
            check_outputs(&nan, &[0, 1]),
            Err(OutputFault::NonFinite { row: 1 })
        );
        let inf = vec![vec![f32::INFINITY, 0.0], vec![0.0, 1.0]];
        assert_eq!(
            check_outputs(&inf, &[0, 1]),
            Err(OutputFault::NonFinite { row: 0 })
        );
        assert_eq!(check_outputs(&[], &[]), Err(OutputFault::Empty));
        assert!(matches!(
            check_outputs(&[vec![1.0, 2.0], vec![1.0]], &[0, 1]),
            Err(OutputFault::Ragged { row: 1, .. })
        ));
    }

    #[test]
    fn one_answer_for_everything_fails() {
        // Scores differ, but "cat" wins for every photo: the old random baseline's failure.
        let rows = vec![vec![0.9, 0.1], vec![0.6, 0.4], vec![0.55, 0.45]];
        assert_eq!(
            check_outputs(&rows, &[0, 1, 1]),
            Err(OutputFault::SingleClass(0))
        );
        // The same outputs are fine when every photo is a cat.
        assert_eq!(check_outputs(&rows, &[0, 0, 0]), Ok(()));
    }

    #[test]
    fn chance_is_the_majority_share() {
        assert_eq!(chance_accuracy(&[0, 0, 1, 2], 3), 0.5);
        assert_eq!(chance_accuracy(&[1, 1, 1, 0], 2), 0.75);
        assert_eq!(chance_accuracy(&[], 2), 0.0);
    }

    #[test]
    fn luck_does_not_beat_chance() {
        // 227 photos at chance 0.44: one photo more than chance is not enough, 0.51 is.
        let bar = chance_bar(0.4405, 227);
        assert!(bar > 0.4405 + 1.0 / 227.0 && bar < 0.51, "{bar}");
        // Fewer photos, a higher bar; never above 1.
        assert!(chance_bar(0.5, 10) > chance_bar(0.5, 100));
        assert_eq!(chance_bar(1.0, 5), 1.0);
        assert_eq!(chance_bar(0.5, 0), 1.0);
    }
}
