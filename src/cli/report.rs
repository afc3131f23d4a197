//! `whisker report`: photos in class folders -> what transfer brings on them (expected accuracy,
//! pretrained against random backbone, per layer). The figures are
//! [`crate::ml::transfer::transfer_report`]'s; this reads the photos and prints them.

use super::args::ReportArgs;
use super::data;
use super::error::CliError;
use super::images::load_input;
use super::output::{self, ValidationPhotos, bar};
use super::runtime::{device, pretrained_backbone};
use crate::core::knn::KnnError;
use crate::ml::transfer::{TransferError, transfer_report};

/// Measures `args.data_dir` (validated on `args.val`, or on a held-out share of it) and prints
/// the report, as text or one JSON object.
pub fn report(args: ReportArgs) -> Result<(), CliError> {
    let settings = args.choices().settings()?;
    let mut photos = data::read_classes(&args.data_dir)?;
    let counts: Vec<usize> = (0..photos.classes.len()).map(|c| photos.count(c)).collect();
    // The same split as `whisker train`: an explicit folder after the training photos, else the
    // seeded stratified share of DATA_DIR.
    let (split, source) = match &args.val {
        Some(dir) => (
            data::append_validation(&mut photos, dir)?,
            ValidationPhotos::Folder(dir.clone()),
        ),
        None => (
            settings.split(&photos.labels),
            ValidationPhotos::HeldOut {
                share: settings.val_share,
                seed: settings.seed,
            },
        ),
    };

    let device = device(args.run.backend)?;
    let backbone = pretrained_backbone(&args.run, args.backbone, &device)?;
    // Each backbone expects its own input scaling (EfficientNet-Lite: TF-Lite's, not ImageNet's).
    let preprocess = args.backbone.preprocess();
    let pb = bar(photos.paths.len(), "reading");
    let mut inputs = Vec::with_capacity(photos.paths.len());
    for path in &photos.paths {
        inputs.push(load_input(path, &preprocess)?); // [3, 224, 224]
        pb.inc(1);
    }
    pb.finish_and_clear();
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();

    let report = crate::block_on(transfer_report(
        &backbone,
        &refs,
        &photos.labels,
        photos.classes.len(),
        &split,
        &settings,
        &device,
        &mut async || {},
    ))
    .map_err(|e| match e {
        // Name the class folder that is short of photos rather than its index.
        TransferError::Knn(KnnError::TooFewPhotos { class, photos: n }) => CliError::data(
            &args.data_dir.join(&photos.classes[class]),
            format!("{n} training photo(s); the expected accuracy needs at least 2 in each class"),
        ),
        TransferError::Ml(e) => CliError::Ml(e),
        source => CliError::Report {
            path: args.data_dir.clone(),
            source,
        },
    })?;
    output::transfer(
        &photos.classes,
        &counts,
        &split,
        &source,
        &report,
        args.json,
    );
    Ok(())
}
