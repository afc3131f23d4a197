//! The pure core: preprocessing maths, datasets and splits, metrics, a seeded RNG.
//!
//! Nothing here knows about burn or the browser, so it is tested natively and reused unchanged by
//! the CLI and the web app.

pub mod archive;
pub mod dataset;
pub mod knn;
pub mod metrics;
pub mod output_check;
pub mod pca;
pub mod preprocess;
pub mod rng;
pub mod similarity;
