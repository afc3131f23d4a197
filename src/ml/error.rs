//! Errors of the ML layer. Plain words for users are chosen by the UI and the CLI, not here.

use super::backbone::BackboneKind;
use thiserror::Error;

/// Why a model file cannot be used: each case gets its own sentence in the UI and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
pub enum ModelFileProblem {
    /// Not a safetensors file with Whisker's metadata.
    #[error("not a Whisker model file")]
    NotOurs,
    /// A Whisker model file cut short or otherwise damaged.
    #[error("the file is damaged or incomplete ({0})")]
    Damaged(String),
    /// Written by a newer Whisker, in a layout this one does not know.
    #[error("made by a newer Whisker (format {found}, this one reads up to {supported})")]
    NewerFormat {
        /// The file's format version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// Needs a backbone, or pretrained weights, that this build does not have.
    #[error(
        "needs backbone {backbone} with weights sha256 {weights_sha256}, which this Whisker does not have"
    )]
    UnknownBackbone {
        /// The file's `backbone` metadata.
        backbone: String,
        /// The file's `weights_sha256` metadata.
        weights_sha256: String,
    },
    /// Trained on another backbone than the one it is to run on.
    #[error("trained on {model}, not on {loaded}")]
    OtherBackbone {
        /// The backbone the model was trained on.
        model: BackboneKind,
        /// The backbone loaded.
        loaded: BackboneKind,
    },
    /// Trained on a randomly initialised backbone (the baseline) where the pretrained one is
    /// loaded, or the other way round, or with another seed.
    #[error("trained on {} but {} is loaded", seed_words(*.model), seed_words(*.loaded))]
    OtherInitialisation {
        /// `Some(seed)` when the model's backbone was random.
        model: Option<u64>,
        /// `Some(seed)` when the loaded backbone is random.
        loaded: Option<u64>,
    },
    /// The content does not describe a classifier this build can build.
    #[error("{0}")]
    Invalid(String),
}

fn seed_words(seed: Option<u64>) -> String {
    match seed {
        Some(seed) => format!("a random backbone (seed {seed})"),
        None => "the pretrained backbone".to_string(),
    }
}

/// What can go wrong loading weights, extracting features, training or predicting.
#[derive(Debug, Clone, Error, serde::Serialize, serde::Deserialize)]
pub enum MlError {
    /// A weights record could not be read or does not fit the network.
    #[error("weights record {name}: {reason}")]
    Weights {
        /// File name or other description of the record.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A model file cannot be used (see [`ModelFileProblem`]).
    #[error("model file {name}: {problem}")]
    ModelFile {
        /// File name or other description of the model.
        name: String,
        /// What is wrong with it.
        problem: ModelFileProblem,
    },
    /// Reading a tensor back from the device failed.
    #[error("could not read results back from the device: {0}")]
    Read(String),
    /// The validation split left no photo to train on.
    #[error("no photos left to train on")]
    NoTrainingPhotos,
    /// A training setting is out of range.
    #[error("{0}")]
    BadSetting(String),
    /// The device cannot hold every photo's cached activations in one buffer, as training
    /// stacks them (see [`crate::ml::batch::BatchLimits::stacked`]).
    #[error(
        "this device holds the stage {stage} activations of at most {most} photos, not {photos}: \
         fine-tune fewer blocks, or train on fewer photos"
    )]
    TooManyPhotosForDevice {
        /// Photos asked for.
        photos: usize,
        /// Most photos the device holds.
        most: usize,
        /// The stage whose activations are stacked.
        stage: usize,
    },
}

// Constructors for the engine's code (burn's errors, records, model files).
#[cfg(feature = "engine")]
impl MlError {
    pub(crate) fn read(e: impl std::fmt::Debug) -> Self {
        MlError::Read(format!("{e:?}"))
    }

    pub(crate) fn weights(name: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        MlError::Weights {
            name: name.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn model_file(name: impl Into<String>, problem: ModelFileProblem) -> Self {
        MlError::ModelFile {
            name: name.into(),
            problem,
        }
    }

    /// A model file whose content does not fit (see [`ModelFileProblem::Invalid`]).
    pub(crate) fn invalid_model(name: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::model_file(name, ModelFileProblem::Invalid(reason.to_string()))
    }
}
