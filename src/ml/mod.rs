//! The ML layer: everything that runs on a burn device, written once for CPU, native GPU and
//! WebGPU in the browser (burn 0.22 picks the backend from the `Device` value at run time).

pub mod backbone;
pub mod baseline;
pub mod batch;
pub mod classifier;
pub mod error;
pub mod features;
pub mod head;
pub mod int8_record;
pub mod layers;
pub mod model_file;
pub mod pipeline;
pub mod probe;
pub mod session;
pub mod settings;
pub mod trainer;
pub mod transfer;
pub mod weights;

pub use error::{MlError, ModelFileProblem};
