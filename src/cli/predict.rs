//! `whisker predict`: a model file and photos -> one line per photo.

use super::args::PredictArgs;
use super::error::CliError;
use super::images::load_input;
use super::output::{self, bar};
use super::runtime::open_model;
use crate::core::metrics::argmax;
use crate::core::preprocess::Preprocess;
use crate::ml::features::EXTRACT_BATCH;
use crate::ml::session::Session;
use std::path::PathBuf;

/// Prints the class of each photo of `args.images`.
pub fn predict(args: PredictArgs) -> Result<(), CliError> {
    let (session, meta) = open_model(&args.model, &args.run)?;
    let probs = probabilities(&session, &args.images, &meta.preprocess)?;
    for (path, p) in args.images.iter().zip(probs) {
        output::prediction(path, &meta.classes, &p, argmax(&p), args.json);
    }
    Ok(())
}

/// Class probabilities of each photo under the session's model, one row per path, loading
/// photos a batch at a time.
pub fn probabilities(
    session: &Session,
    paths: &[PathBuf],
    preprocess: &Preprocess,
) -> Result<Vec<Vec<f32>>, CliError> {
    let pb = bar(paths.len(), "extracting");
    let mut rows = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(EXTRACT_BATCH) {
        let inputs = chunk
            .iter()
            .map(|p| load_input(p, preprocess))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        rows.extend(crate::block_on(session.predict::<CliError>(&refs))?);
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    Ok(rows)
}
