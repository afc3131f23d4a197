//! CLI errors: each one line, naming the file at fault.

use crate::core::dataset::DatasetError;
use crate::ml::MlError;
use crate::ml::reports::SessionError;
use crate::ml::transfer::TransferError;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Everything the CLI reports to the user.
#[derive(Debug, Error)]
pub enum CliError {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A photo could not be decoded.
    #[error("{}: cannot read this image: {reason}", path.display())]
    Image {
        /// The photo at fault.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A data folder is not laid out as one sub-folder of photos per class.
    #[error("{}: {reason}", path.display())]
    Data {
        /// The folder at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The classes cannot be trained on.
    #[error("{}: {source}", path.display())]
    Dataset {
        /// The data folder.
        path: PathBuf,
        /// What is wrong.
        source: DatasetError,
    },
    /// The backbone record is missing.
    #[error(
        "{}: backbone weights not found; run scripts/setup-weights.sh (or pass --weights)",
        path.display()
    )]
    MissingWeights {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The requested backend is not available in this build or on this machine.
    #[error("{0}")]
    Backend(String),
    /// Loading, training or predicting failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// `whisker report` could not measure these photos.
    #[error("{}: {source}", path.display())]
    Report {
        /// The data folder.
        path: PathBuf,
        /// What went wrong.
        source: TransferError,
    },
}

impl From<SessionError<CliError>> for CliError {
    fn from(e: SessionError<CliError>) -> Self {
        match e {
            SessionError::Photo(e) => e,
            SessionError::Ml(e) => CliError::Ml(e),
            // Class folders are checked when read, so this names no folder.
            SessionError::Dataset(source) => CliError::Dataset {
                path: std::path::PathBuf::from("."),
                source,
            },
            // The CLI never stops a run and runs one at a time.
            SessionError::Stopped | SessionError::Busy => {
                CliError::Backend(format!("training did not run: {e}"))
            }
            SessionError::NoModel => CliError::Ml(MlError::BadSetting(e.to_string())),
        }
    }
}

impl CliError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn data(path: &Path, reason: impl Into<String>) -> Self {
        CliError::Data {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
