//! `whisker eval`: a model file and labelled photo folders -> accuracy and confusion matrix.

use super::args::EvalArgs;
use super::data;
use super::error::CliError;
use super::output;
use super::predict::probabilities;
use super::runtime::open_model;
use crate::core::metrics::{ConfusionMatrix, argmax};

/// Prints how the model does on `args.dir`.
pub fn eval(args: EvalArgs) -> Result<(), CliError> {
    let (session, meta) = open_model(&args.model, &args.run)?;
    let photos = data::read_known_classes(&args.dir, &meta.classes)?;
    let probs = probabilities(&session, &photos.paths, &meta.preprocess)?;
    let predicted: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
    let m = ConfusionMatrix::from_predictions(meta.classes.len(), &photos.labels, &predicted);
    output::evaluation(&meta.classes, &m, args.json);
    Ok(())
}
