//! The MobileNetV2 backbone, one block per file.

pub mod conv_norm;
pub mod cpu_kernels;
pub mod folded_conv;
pub mod inverted_residual;
pub mod mobilenet;

pub use mobilenet::{FEATURE_DIM, LAST_STAGE, MobileNetV2, MobileNetV2Config, STAGES};
