//! The ML layer: everything that runs on a burn device, written once for CPU, native GPU and
//! WebGPU in the browser (burn 0.22 picks the backend from the `Device` value at run time).
//!
//! Two halves. The plain types the page shares with the engine (settings, progress, reports,
//! errors, what each backbone is and where it can be cut) need no burn and are always here; the
//! network, training and model files need burn and come with the `engine` feature (on by
//! default; the page compiles without it, see `Cargo.toml`).

pub mod backbone;
pub mod batch;
pub mod cut;
pub mod error;
pub mod file_name;
pub mod progress;
pub mod reports;
pub mod settings;

#[cfg(feature = "engine")]
pub mod baseline;
#[cfg(feature = "engine")]
pub mod classifier;
#[cfg(feature = "engine")]
pub mod features;
#[cfg(feature = "engine")]
pub mod head;
#[cfg(feature = "engine")]
pub mod int8_record;
#[cfg(feature = "engine")]
pub mod layers;
#[cfg(feature = "engine")]
pub mod model_file;
#[cfg(feature = "engine")]
pub mod pipeline;
#[cfg(feature = "engine")]
pub mod probe;
#[cfg(feature = "engine")]
pub mod session;
#[cfg(feature = "engine")]
pub mod trainer;
#[cfg(feature = "engine")]
pub mod transfer;
#[cfg(feature = "engine")]
pub mod weights;

pub use error::{MlError, ModelFileProblem};
