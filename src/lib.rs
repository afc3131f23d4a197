//! Whisker: train your own image classifier on top of a pretrained backbone (MobileNetV2 or
//! EfficientNet-Lite0).
//!
//! Layers, from the bottom:
//! - [`core`]: pure maths and data handling (preprocessing, splits, metrics); no burn, no browser.
//! - [`ml`]: the network, feature cache, trainer and model files, on any burn device.
//! - `cli` (native) and `web` (wasm32): the two front ends over the same core.

pub mod core;
pub mod ml;
#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(all(not(target_arch = "wasm32"), feature = "engine"))]
pub mod cli;

/// Runs a future to completion on the current thread (native only; the browser awaits instead).
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}
