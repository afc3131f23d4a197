//! The pretrained backbones, one block per file: MobileNetV2 (the faster) and
//! EfficientNet-Lite0 (the more accurate). Both are built from the same two blocks
//! ([`conv_norm::ConvNorm`], [`inverted_residual::InvertedResidual`]: EfficientNet-Lite's MBConv
//! is MobileNetV2's inverted residual) and number their stages alike: stage 0 is the stem, stages
//! `1..=n` the `n` blocks, stage `n + 1` the 1x1 convolution to 1280 channels, whose global
//! average is the feature vector.
//!
//! [`BackboneKind`] says what each one is before it is loaded (files, sizes, preprocessing,
//! stage tables); [`Backbone`] holds a loaded network of either kind.

//!
//! Without the `engine` feature only the burn-free part is here: [`BackboneKind`], the stage
//! tables and [`padding`], which the page reads.

pub mod efficientnet_lite_stages;
pub mod kind;
pub mod mobilenet_stages;
pub mod padding;

#[cfg(feature = "engine")]
pub mod conv_norm;
#[cfg(feature = "engine")]
pub mod cpu_kernels;
#[cfg(feature = "engine")]
pub mod efficientnet_lite;
#[cfg(feature = "engine")]
pub mod folded_conv;
#[cfg(feature = "engine")]
pub mod inverted_residual;
#[cfg(feature = "engine")]
pub mod mobilenet;

#[cfg(feature = "engine")]
mod network;
#[cfg(feature = "engine")]
pub use network::*;

pub use kind::{BackboneKind, Precision};

/// Width of the pooled feature vector, the same for both backbones.
pub const FEATURE_DIM: usize = 1280;
