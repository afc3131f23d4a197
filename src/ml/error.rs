//! Errors of the ML layer. Plain words for users are chosen by the UI and the CLI, not here.

use super::backbone::BackboneKind;
use thiserror::Error;

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
    /// A model file is not a Whisker model, or is damaged.
    #[error("model file {name}: {reason}")]
    ModelFile {
        /// File name or other description of the model.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A model file needs a backbone, or pretrained weights, that this build does not have.
    #[error(
        "model file {name} needs backbone {backbone} with weights sha256 {weights_sha256}, which this Whisker does not have"
    )]
    UnknownBackbone {
        /// File name or other description of the model.
        name: String,
        /// The model file's `backbone` metadata.
        backbone: String,
        /// The model file's `weights_sha256` metadata.
        weights_sha256: String,
    },
    /// A model file was trained on another backbone than the one it is used with.
    #[error("model file {name} was trained on {model}, not on {loaded}")]
    BackboneMismatch {
        /// File name or other description of the model.
        name: String,
        /// The backbone the model was trained on.
        model: BackboneKind,
        /// The backbone it was to run on.
        loaded: BackboneKind,
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
}

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

    pub(crate) fn model_file(name: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        MlError::ModelFile {
            name: name.into(),
            reason: reason.to_string(),
        }
    }
}
