//! Labelled photo folders: `DIR/<class name>/<photos>`.

use super::error::CliError;
use super::images::photos_in;
use crate::core::dataset::{Split, validate_classes};
use std::path::{Path, PathBuf};

/// Photos and their class indices, with the class names.
#[derive(Debug, Clone)]
pub struct LabelledPhotos {
    /// Class names, sorted (folder names).
    pub classes: Vec<String>,
    /// Every photo's path.
    pub paths: Vec<PathBuf>,
    /// Every photo's class index into `classes`.
    pub labels: Vec<usize>,
}

impl LabelledPhotos {
    /// Photos of class `label`.
    pub fn count(&self, label: usize) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }
}

/// Reads a training folder: each sub-folder is a class. At least two classes, none empty.
pub fn read_classes(dir: &Path) -> Result<LabelledPhotos, CliError> {
    let folders = class_folders(dir)?;
    let classes: Vec<String> = folders.iter().map(|(n, _)| n.clone()).collect();
    let mut out = LabelledPhotos {
        classes,
        paths: Vec::new(),
        labels: Vec::new(),
    };
    let mut counts = Vec::new();
    for (label, (_, folder)) in folders.iter().enumerate() {
        let photos = photos_in(folder)?;
        if photos.is_empty() {
            return Err(CliError::data(folder, "class folder has no images"));
        }
        counts.push(photos.len());
        out.labels.extend(std::iter::repeat_n(label, photos.len()));
        out.paths.extend(photos);
    }
    validate_classes(&out.classes, &counts).map_err(|source| CliError::Dataset {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(out)
}

/// Reads an evaluation folder whose sub-folders must be classes of `classes`. Classes without a
/// folder are fine (they are simply not evaluated); an unknown folder is an error.
pub fn read_known_classes(dir: &Path, classes: &[String]) -> Result<LabelledPhotos, CliError> {
    let mut out = LabelledPhotos {
        classes: classes.to_vec(),
        paths: Vec::new(),
        labels: Vec::new(),
    };
    for (name, folder) in class_folders(dir)? {
        let label = classes.iter().position(|c| *c == name).ok_or_else(|| {
            CliError::data(
                &folder,
                format!(
                    "unknown class \"{name}\" (the model knows: {})",
                    classes.join(", ")
                ),
            )
        })?;
        let photos = photos_in(&folder)?;
        out.labels.extend(std::iter::repeat_n(label, photos.len()));
        out.paths.extend(photos);
    }
    if out.paths.is_empty() {
        return Err(CliError::data(dir, "no images found in its class folders"));
    }
    Ok(out)
}

/// Appends the photos of `val_dir` (classes of `photos`) and returns the split: the training
/// photos first, then these.
pub fn append_validation(photos: &mut LabelledPhotos, val_dir: &Path) -> Result<Split, CliError> {
    let n_train = photos.paths.len();
    let val = read_known_classes(val_dir, &photos.classes)?;
    photos.paths.extend(val.paths);
    photos.labels.extend(val.labels);
    Ok(Split {
        train: (0..n_train).collect(),
        val: (n_train..photos.paths.len()).collect(),
    })
}

fn class_folders(dir: &Path) -> Result<Vec<(String, PathBuf)>, CliError> {
    if !dir.is_dir() {
        return Err(CliError::data(dir, "not a folder"));
    }
    let mut folders: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| CliError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            (!name.starts_with('.')).then_some((name, p))
        })
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(CliError::data(
            dir,
            "no class folders (expected one sub-folder of photos per class)",
        ));
    }
    Ok(folders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn reads_sorted_classes_and_rejects_bad_layouts() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("dog/b.jpg"));
        touch(&d.path().join("dog/a.JPG"));
        touch(&d.path().join("cat/c.png"));
        touch(&d.path().join("cat/notes.txt"));
        let set = read_classes(d.path()).unwrap();
        assert_eq!(set.classes, vec!["cat", "dog"]);
        assert_eq!(set.labels, vec![0, 1, 1]);
        assert!(set.paths[1].ends_with("dog/a.JPG"));

        std::fs::create_dir_all(d.path().join("empty")).unwrap();
        let err = read_classes(d.path()).unwrap_err().to_string();
        assert!(err.contains("empty") && err.contains("no images"), "{err}");

        let one = tempfile::tempdir().unwrap();
        touch(&one.path().join("cat/c.png"));
        let err = read_classes(one.path()).unwrap_err().to_string();
        assert!(err.contains("at least two classes"), "{err}");

        let err = read_known_classes(d.path(), &["cat".into(), "dog".into()]).unwrap_err();
        assert!(err.to_string().contains("unknown class \"empty\""), "{err}");
    }
}
