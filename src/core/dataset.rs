//! Labelled photo sets: validation of what the user gave us, and seeded train/validation splits.

use super::rng::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A photo's identity, stable while it exists: the CLI numbers its files, the page its uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhotoId(pub u64);

impl std::fmt::Display for PhotoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a set of labelled photos cannot be trained on.
#[derive(Debug, Clone, Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatasetError {
    /// Training needs at least two classes to tell apart.
    #[error("at least two classes are needed, found {0}")]
    TooFewClasses(usize),
    /// A class has no name (0-based position).
    #[error("class {} has no name", .0 + 1)]
    UnnamedClass(usize),
    /// A class without photos cannot be learned.
    #[error("class \"{0}\" has no photos")]
    EmptyClass(String),
    /// Two classes share a name (ignoring case and surrounding spaces), so predictions would be
    /// ambiguous.
    #[error("two classes are both named \"{0}\"")]
    DuplicateClass(String),
}

/// Checks class names and per-class photo counts (`counts[i]` photos for `names[i]`).
pub fn validate_classes(names: &[String], counts: &[usize]) -> Result<(), DatasetError> {
    if names.len() < 2 {
        return Err(DatasetError::TooFewClasses(names.len()));
    }
    if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
        return Err(DatasetError::UnnamedClass(i));
    }
    // "Cat" and "cat " would read as one class in every prediction.
    let key = |n: &str| n.trim().to_lowercase();
    for (i, name) in names.iter().enumerate() {
        if names[..i].iter().any(|n| key(n) == key(name)) {
            return Err(DatasetError::DuplicateClass(name.trim().to_string()));
        }
    }
    if let Some((name, _)) = names.iter().zip(counts).find(|(_, c)| **c == 0) {
        return Err(DatasetError::EmptyClass(name.clone()));
    }
    Ok(())
}

/// Indices of the training and validation samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Sample indices used to fit the head.
    pub train: Vec<usize>,
    /// Held-out sample indices, for validation accuracy and early stopping.
    pub val: Vec<usize>,
}

/// Splits samples by class so each class keeps `val_share` of its photos for validation.
///
/// `labels[i]` is sample `i`'s class. Each class with at least two photos gives at least one to
/// validation (when `val_share > 0`) and keeps at least one for training, so a class is never
/// missing from training. The result depends only on `labels`, `val_share` and `seed`.
pub fn stratified_split(labels: &[usize], val_share: f32, seed: u64) -> Split {
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut rng = Rng::new(seed);
    let mut split = Split {
        train: Vec::new(),
        val: Vec::new(),
    };
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        let n = members.len();
        let mut n_val = (n as f32 * val_share.clamp(0.0, 1.0)).round() as usize;
        if val_share > 0.0 && n >= 2 {
            n_val = n_val.clamp(1, n - 1);
        } else {
            n_val = n_val.min(n.saturating_sub(1));
        }
        split.val.extend_from_slice(&members[..n_val]);
        split.train.extend_from_slice(&members[n_val..]);
    }
    split.train.sort_unstable();
    split.val.sort_unstable();
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn validation_catches_bad_class_sets() {
        assert_eq!(
            validate_classes(&names(&["cat"]), &[3]),
            Err(DatasetError::TooFewClasses(1))
        );
        assert_eq!(
            validate_classes(&names(&["cat", "dog"]), &[3, 0]),
            Err(DatasetError::EmptyClass("dog".into()))
        );
        assert_eq!(
            validate_classes(&names(&["cat", "cat"]), &[3, 3]),
            Err(DatasetError::DuplicateClass("cat".into()))
        );
        assert_eq!(
            validate_classes(&names(&["cat", "Cat "]), &[3, 3]),
            Err(DatasetError::DuplicateClass("Cat".into()))
        );
        assert_eq!(
            validate_classes(&names(&["cat", " "]), &[3, 3]),
            Err(DatasetError::UnnamedClass(1))
        );
        assert_eq!(validate_classes(&names(&["cat", "dog"]), &[1, 2]), Ok(()));
    }

    #[test]
    fn split_is_stratified_and_seeded() {
        let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
        let a = stratified_split(&labels, 0.25, 42);
        assert_eq!(a, stratified_split(&labels, 0.25, 42));
        assert_ne!(a, stratified_split(&labels, 0.25, 43));
        assert_eq!(a.val.len(), 10);
        assert_eq!(a.val.iter().filter(|&&i| labels[i] == 0).count(), 5);
        let mut all: Vec<usize> = a.train.iter().chain(&a.val).copied().collect();
        all.sort();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn tiny_classes_keep_a_training_photo() {
        let labels = vec![0, 1, 1];
        let s = stratified_split(&labels, 0.5, 1);
        assert!(s.train.contains(&0));
        assert_eq!(s.val.len(), 1);
        assert_eq!(stratified_split(&labels, 0.0, 1).val.len(), 0);
    }
}
